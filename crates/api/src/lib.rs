//! clientca's HTTP layer: the Cloudflare v4 Client Certificates API on axum.
//!
//! Only this crate knows HTTP, JSON and the envelope. Handlers extract, call the
//! [`authority::Authority`], and wrap the answer; errors are mapped once, in [`error`].

pub mod dto;
pub mod error;
mod extract;
mod metrics;
mod rate_limit;
mod request_id;
mod routes;
mod server;

pub use rate_limit::{Rate, RateLimitConfig};
pub use server::{ServerLimits, serve};

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::Uri;
use axum::http::header::{AUTHORIZATION, HeaderName};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower::ServiceBuilder;
use tower::timeout::TimeoutLayer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use authority::Authority;

use crate::error::{ApiError, ErrorCode};
use crate::routes::{
    audit_logs, ca, client_certificates, fallback, hostname_associations, meta, mtls_certificates,
    tokens,
};

/// Request bodies above this are refused with 413 (an RSA-8192 CSR is about 3.5 KiB of PEM).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Certificate lists: `per_page` when none is asked for, and the range a requested one is clamped
/// into (Cloudflare's; the dashboard pages the same way).
pub const CERTIFICATES_PER_PAGE: u64 = 20;
pub const CERTIFICATES_PER_PAGE_RANGE: std::ops::RangeInclusive<u64> = 5..=50;

/// Where the Cloudflare-compatible API is mounted: SDKs use `base_url=http://HOST:PORT/client/v4`.
pub const API_PREFIX: &str = "/client/v4";

#[derive(Clone)]
pub struct AppState {
    pub authority: Arc<Authority>,
    /// The OpenAPI document, serialised once.
    openapi: axum::body::Bytes,
    rate_limits: Arc<rate_limit::RateLimits>,
    http_metrics: Arc<metrics::HttpMetrics>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "clientca",
        description = "A self-hostable client-certificate authority speaking the Cloudflare v4 Client Certificates API.",
        license(name = "Apache-2.0")
    ),
    servers((url = "/client/v4")),
    modifiers(&SecuritySchemes),
    components(schemas(error::ErrorEnvelope, error::ErrorDetail))
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Auth-Key"))),
        );
        components.add_security_scheme(
            "api_email",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Auth-Email"))),
        );
    }
}

fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(
            client_certificates::create,
            client_certificates::list
        ))
        .routes(routes!(
            client_certificates::get,
            client_certificates::revoke,
            client_certificates::reactivate
        ))
        .routes(routes!(
            hostname_associations::get,
            hostname_associations::replace
        ))
        .routes(routes!(mtls_certificates::upload, mtls_certificates::list))
        .routes(routes!(mtls_certificates::get, mtls_certificates::delete))
        .routes(routes!(mtls_certificates::associations))
        .routes(routes!(tokens::verify))
        .routes(routes!(audit_logs::list))
}

/// The OpenAPI 3.1 document for the API (also served at `/client/v4/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_routes().into_openapi()
}

/// Request-level settings of the HTTP application.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub rate_limits: RateLimitConfig,
    /// A whole request, body included, must be handled within this time (else 408).
    pub request_timeout: Duration,
    /// Serve `GET /metrics` beside the API (off: no metrics, or on their own listener through
    /// [`metrics_router`]).
    pub metrics_route: bool,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            rate_limits: RateLimitConfig::default(),
            request_timeout: Duration::from_secs(30),
            metrics_route: true,
        }
    }
}

/// `GET /metrics` alone, for a listener of its own (`serve --metrics-listen`).
pub fn metrics_router(authority: Arc<Authority>) -> Router {
    Router::new().route(
        "/metrics",
        get(move || async move { metrics::exposition(&authority).await }),
    )
}

/// The whole HTTP application.
pub fn router(authority: Arc<Authority>, config: ApiConfig) -> Router {
    let (api, openapi) = api_routes().split_for_parts();
    let http_metrics = metrics::HttpMetrics::register(authority.metrics());
    let state = AppState {
        authority,
        openapi: serde_json::to_vec(&openapi)
            .expect("the OpenAPI document serialises")
            .into(),
        rate_limits: Arc::new(rate_limit::RateLimits::new(config.rate_limits)),
        http_metrics: Arc::clone(&http_metrics),
    };
    // A slow client (trickling a body) or a stuck handler ends with 408, in the envelope.
    // OCSP clients get an OCSP answer (tryLater), everyone else the envelope.
    let request_timeout = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(
            |uri: Uri, _: tower::BoxError| async move {
                if ca::is_ocsp_path(uri.path()) {
                    ca::ocsp_response(authority::OcspAnswer::try_later(), false)
                } else {
                    ApiError::new(ErrorCode::RequestTimeout, "the request took too long")
                        .into_response()
                }
            },
        ))
        .layer(TimeoutLayer::new(config.request_timeout));
    let api = api
        .route("/openapi.json", get(meta::openapi))
        .route_layer(axum::middleware::from_fn(metrics::tag_route))
        .fallback(fallback::no_route)
        .method_not_allowed_fallback(fallback::method_not_allowed);
    let mut public = Router::new();
    if config.metrics_route {
        public = public.route("/metrics", get(metrics::scrape));
    }
    public
        .route("/healthz", get(meta::healthz))
        .route("/ca/{file}", get(ca::certificate))
        .route("/ca/{ca_id}/chain.pem", get(ca::chain))
        .route("/ca/{ca_id}/crl", get(ca::crl))
        .route("/ca/{ca_id}/crl.pem", get(ca::crl_pem))
        .route("/ca/{ca_id}/ocsp", axum::routing::post(ca::ocsp_post))
        .route("/ca/{ca_id}/ocsp/{*request}", get(ca::ocsp_get))
        .route("/ca/{ca_id}/ocsp/", get(ca::ocsp_get_empty))
        .route_layer(axum::middleware::from_fn(metrics::tag_route))
        .nest(API_PREFIX, api)
        .fallback(fallback::no_route)
        .method_not_allowed_fallback(fallback::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(request_timeout)
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(
            // An INFO span per request: whatever a handler logs carries its request id.
            TraceLayer::new_for_http()
                .make_span_with(|request: &axum::http::Request<_>| {
                    tracing::info_span!(
                        "request",
                        request_id = request_id::of(request),
                        method = %request.method(),
                        path = %request.uri().path(),
                    )
                })
                .on_response(request_id::log_response),
        )
        .layer(SetSensitiveRequestHeadersLayer::new([
            AUTHORIZATION,
            HeaderName::from_static("x-auth-key"),
        ]))
        .layer(axum::middleware::from_fn(request_id::request_id))
        .layer(axum::middleware::from_fn_with_state(
            http_metrics,
            metrics::measure,
        ))
        .with_state(state)
}

fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::new(
        ErrorCode::Internal,
        "internal error; the server log has details",
    )
    .into_response()
}
