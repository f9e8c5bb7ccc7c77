//! HTTP metrics — requests by method, route and status, their latency, rate-limit refusals —
//! registered in the authority's registry, and `GET /metrics` serving all of it.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Unit;

use authority::Authority;

use crate::AppState;

/// The route label of a request no route matched (404s, and answers made before routing:
/// timeouts, panics, oversized heads).
const UNMATCHED: &str = "unmatched";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    /// The route template, e.g. `/client/v4/zones/{zone_id}/client_certificates`: ids never
    /// become label values.
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    /// `token` or `anonymous`.
    limit: &'static str,
}

pub(crate) struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    rate_limited: Family<LimitLabels, Counter>,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms … about 8 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

impl HttpMetrics {
    pub(crate) fn register(metrics: &authority::Metrics) -> Arc<Self> {
        let this = Self {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            rate_limited: Family::default(),
        };
        metrics.register(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            this.requests.clone(),
        );
        metrics.register_with_unit(
            "http_request_duration",
            "Time from a request's head to its answer's head, by method and route",
            Unit::Seconds,
            this.latency.clone(),
        );
        metrics.register(
            "rate_limited_requests",
            "Requests refused with 429, by the limit that refused them",
            this.rate_limited.clone(),
        );
        Arc::new(this)
    }

    pub(crate) fn rate_limited(&self, limit: &'static str) {
        self.rate_limited
            .get_or_create(&LimitLabels { limit })
            .inc();
    }
}

/// Label values are a closed set: an unknown method is `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The outermost layer: count and time every answer, labelled with the route the inner
/// [`tag_route`] left on the response.
pub(crate) async fn measure(
    State(metrics): State<Arc<HttpMetrics>>,
    request: Request,
    next: Next,
) -> Response {
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = RouteLabels {
        method,
        route: response
            .extensions()
            .get::<MatchedPath>()
            .map_or(UNMATCHED, MatchedPath::as_str)
            .to_string(),
    };
    metrics
        .latency
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route: labels.route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

/// A route layer: hands the matched route template out on the response, where [`measure`]
/// (which runs before routing) can read it.
pub(crate) async fn tag_route(matched: MatchedPath, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response.extensions_mut().insert(matched);
    response
}

/// `GET /metrics`: Prometheus text (OpenMetrics 1.0).
pub(crate) async fn scrape(State(state): State<AppState>) -> Response {
    exposition(&state.authority).await
}

pub(crate) async fn exposition(authority: &Authority) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        authority.render_metrics().await,
    )
        .into_response()
}
