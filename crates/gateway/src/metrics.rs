//! The gateway's Prometheus metrics and health, served on `--metrics-listen`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::state::LiveState;

/// How a TLS connection attempt ended.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)] // label values as Prometheus users write them
pub(crate) enum HandshakeOutcome {
    ok,
    no_cert,
    unknown_ca,
    expired,
    revoked,
    sni_unknown,
    /// A route pinned to mTLS whose hostname no zone associates.
    unassociated,
    stale,
    failed,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: HandshakeOutcome,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: u16,
}

pub(crate) struct Metrics {
    registry: Registry,
    handshakes: Family<OutcomeLabels, Counter>,
    requests: Family<StatusLabels, Counter>,
    misdirected: Counter,
    revoked_serials: Gauge,
    associated_hosts: Gauge,
    state_age: Gauge<f64, AtomicU64>,
    upstream_seconds: Histogram,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = <Registry>::with_prefix("clientca_gateway");
        let handshakes = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "handshakes",
            "TLS connection attempts by outcome",
            handshakes.clone(),
        );
        let requests = Family::<StatusLabels, Counter>::default();
        registry.register("requests", "Requests answered, by status", requests.clone());
        let misdirected = Counter::default();
        registry.register(
            "misdirected_requests",
            "Requests whose Host named another route or policy than the SNI (421)",
            misdirected.clone(),
        );
        let revoked_serials = Gauge::default();
        registry.register(
            "revoked_serials",
            "Published revoked serials held in memory",
            revoked_serials.clone(),
        );
        let associated_hosts = Gauge::default();
        registry.register(
            "associated_hosts",
            "Hostnames requiring client certificates",
            associated_hosts.clone(),
        );
        let state_age = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "revocation_state_age_seconds",
            "Time since the enforcement state was read from the database",
            state_age.clone(),
        );
        let upstream_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        registry.register(
            "upstream_seconds",
            "Time until the upstream's response head arrived",
            upstream_seconds.clone(),
        );
        Self {
            registry,
            handshakes,
            requests,
            misdirected,
            revoked_serials,
            associated_hosts,
            state_age,
            upstream_seconds,
        }
    }

    pub(crate) fn handshake(&self, outcome: HandshakeOutcome) {
        self.handshakes
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    pub(crate) fn request(&self, status: StatusCode) {
        self.requests
            .get_or_create(&StatusLabels {
                status: status.as_u16(),
            })
            .inc();
        if status == StatusCode::MISDIRECTED_REQUEST {
            self.misdirected.inc();
        }
    }

    pub(crate) fn upstream(&self, took: Duration) {
        self.upstream_seconds.observe(took.as_secs_f64());
    }

    fn render(&self, state: &LiveState) -> String {
        self.revoked_serials
            .set(i64::try_from(state.revoked_count()).unwrap_or(i64::MAX));
        self.associated_hosts
            .set(i64::try_from(state.associated_count()).unwrap_or(i64::MAX));
        self.state_age.set(state.age().as_secs_f64());
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// `/metrics` (Prometheus text) and `/healthz` (503 while the state is stale).
pub(crate) async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    state: Arc<LiveState>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
            () = crate::stopping(&mut stopped) => break,
        };
        let (metrics, state) = (Arc::clone(&metrics), Arc::clone(&state));
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                let answer = answer(request.uri().path(), &metrics, &state);
                async move { Ok::<_, Infallible>(answer) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn answer(path: &str, metrics: &Metrics, state: &LiveState) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match path {
        "/metrics" => (
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics.render(state),
        ),
        "/healthz" => {
            let fresh = state.is_fresh();
            let body = format!(
                "{{\"status\":\"{}\",\"state_age_ms\":{},\"associated_hosts\":{},\"revoked_serials\":{}}}",
                if fresh { "ok" } else { "stale" },
                state.age().as_millis(),
                state.associated_count(),
                state.revoked_count()
            );
            let status = if fresh {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            (status, "application/json", body)
        }
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found\n".to_string(),
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = hyper::header::HeaderValue::from_str(content_type) {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

/// The address `/metrics` and `/healthz` are served on, when asked for.
pub(crate) async fn bind(address: Option<SocketAddr>) -> std::io::Result<Option<TcpListener>> {
    match address {
        Some(address) => TcpListener::bind(address).await.map(Some),
        None => Ok(None),
    }
}
