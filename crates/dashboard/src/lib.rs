//! clientca's dashboard: server-rendered pages under `/ui/` for the people who manage
//! certificates.
//!
//! Every page calls the [`authority::Authority`] exactly as the API does — the same rules, audit
//! events and errors — and renders HTML (askama templates, compiled in). htmx, vendored beside its
//! licence, makes lists refresh while revocations are pending; every form also works without
//! JavaScript. Sign-in is an API token pasted once, carried in a sealed cookie (see
//! [`authority::Session`]); writes need the session's CSRF token and a same-origin request.

mod assets;
mod error;
mod format;
mod pages;
mod security;
mod session;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::Redirect;
use axum::routing::get;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;

use authority::Authority;

/// Form bodies above this are refused (a pasted RSA-8192 CSR is about 3.5 KiB, a hostname list of
/// a thousand names about 64 KiB).
const MAX_FORM_BYTES: usize = 128 * 1024;

#[derive(Clone)]
struct AppState {
    authority: Arc<Authority>,
    config: DashboardConfig,
}

/// How the dashboard is reached.
#[derive(Debug, Clone, Copy, Default)]
pub struct DashboardConfig {
    /// The server speaks TLS: pages send HSTS, and sign-in is allowed from any address. Over
    /// plain HTTP only loopback names may sign in (elsewhere the pasted token would cross the
    /// network in clear, and the browser would drop the `Secure` cookie anyway).
    pub tls: bool,
}

/// The dashboard's pages and assets, with their own security headers and limits; any other path
/// under `/ui/` is its 404 page.
pub fn router(authority: Arc<Authority>, config: DashboardConfig) -> Router {
    let state = AppState { authority, config };
    Router::new()
        .route("/ui", get(|| async { Redirect::permanent("/ui/") }))
        .route("/ui/", get(pages::zones::index))
        .route(
            "/ui/login",
            get(pages::login::form).post(pages::login::submit),
        )
        .route("/ui/logout", axum::routing::post(pages::login::logout))
        .route("/ui/assets/{file}", get(assets::serve))
        .route("/ui/audit", get(pages::audit::page))
        .route("/ui/zones/{zone}", get(pages::overview::page))
        .route(
            "/ui/zones/{zone}/hostnames",
            get(pages::hostnames::form).post(pages::hostnames::submit),
        )
        .route(
            "/ui/zones/{zone}/certificates",
            get(pages::certificates::list).post(pages::new_certificate::submit),
        )
        .route("/ui/zones/{zone}/certificates.csv", get(pages::export::csv))
        .route(
            "/ui/zones/{zone}/certificates/new",
            get(pages::new_certificate::form),
        )
        .route(
            "/ui/zones/{zone}/certificates/{id}",
            get(pages::certificate::page),
        )
        .route(
            "/ui/zones/{zone}/certificates/{id}/certificate.pem",
            get(pages::certificate::pem),
        )
        .route(
            "/ui/zones/{zone}/certificates/{id}/revoke",
            get(pages::certificate::confirm_revoke).post(pages::certificate::revoke),
        )
        .route(
            "/ui/zones/{zone}/certificates/{id}/reactivate",
            axum::routing::post(pages::certificate::reactivate),
        )
        .route(
            "/ui/{*unknown}",
            get(error::not_found).post(error::not_found),
        )
        .layer(
            ServiceBuilder::new()
                // Pages, CSS and scripts gzip to a quarter (htmx 52 → 16 KB, PKI.js 392 → 85 KB).
                // No BREACH exposure: the session cookie is SameSite=Strict, so no other site can
                // make the browser fetch a page with its CSRF token and watch the sizes.
                .layer(tower_http::compression::CompressionLayer::new().gzip(true))
                .layer(axum::middleware::from_fn_with_state(
                    config.tls,
                    security::headers,
                ))
                // Inside the headers layer, so the panic page gets them too.
                .layer(CatchPanicLayer::custom(error::panic_page))
                .layer(tower_http::timeout::TimeoutLayer::with_status_code(
                    axum::http::StatusCode::REQUEST_TIMEOUT,
                    Duration::from_secs(30),
                ))
                .layer(DefaultBodyLimit::max(MAX_FORM_BYTES)),
        )
        .with_state(state)
}

/// `api` with the dashboard beside it: `/` and `/ui/…` are the dashboard's, everything else
/// (`/client/v4`, `/ca`, `/metrics`, …) reaches `api` untouched — its answers are the same
/// whether the dashboard is mounted or not.
pub fn mount(api: Router, authority: Arc<Authority>, config: DashboardConfig) -> Router {
    router(authority, config)
        .route("/", get(|| async { Redirect::to("/ui/") }))
        .fallback_service(api)
}
