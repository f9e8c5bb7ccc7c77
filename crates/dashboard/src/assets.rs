//! Static files, compiled into the binary: no CDN, no third-party origin, no web fonts.

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::error::PageError;

/// (name, content type, bytes). Names are stable; pages add `?v=` with the crate version so a
/// new release is fetched again.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/app.js"),
    ),
    (
        "keygen.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/keygen.js"),
    ),
    (
        "pkijs.bundle.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/vendor/pkijs.bundle.js"),
    ),
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/vendor/htmx.min.js"),
    ),
];

/// The query string pages put after an asset's name.
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

pub(crate) async fn serve(Path(file): Path<String>) -> Result<Response, PageError> {
    let (_, content_type, bytes) = FILES
        .iter()
        .find(|(name, _, _)| *name == file)
        .ok_or_else(|| PageError::not_found("there is no such file"))?;
    let mut response = (*bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    Ok(response)
}
