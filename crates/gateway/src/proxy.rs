//! One request through the gateway: the connection's checks again (revocation, staleness, the
//! Host against the SNI), header rewriting, and forwarding to the route's upstream.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use authority::AccountId;
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HOST, HeaderValue};
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use tokio::sync::Notify;

use crate::headers::{self, HeaderFamily, Presented, Verdict};
use crate::routes::{Mode, Route, RouteTable, host_without_port};
use crate::state::LiveState;

pub(crate) type Body = BoxBody<Bytes, hyper::Error>;

/// What every connection shares.
pub(crate) struct Shared {
    /// Swapped whole when the routes file changes.
    pub(crate) routes: arc_swap::ArcSwap<RouteTable>,
    pub(crate) state: Arc<LiveState>,
    pub(crate) families: Vec<HeaderFamily>,
    pub(crate) mode: Mode,
    pub(crate) client: Client<HttpConnector, Incoming>,
    pub(crate) upstream_timeout: Duration,
    pub(crate) metrics: Arc<crate::metrics::Metrics>,
}

/// What the handshake decided for one connection.
pub(crate) struct Connection {
    pub(crate) route: Arc<Route>,
    /// The account whose certificate the handshake asked for (an associated host).
    pub(crate) account: Option<AccountId>,
    pub(crate) mode: Mode,
    /// The presented certificate chains to the account's CAs (and was valid at the handshake).
    pub(crate) verified: bool,
    pub(crate) presented: Option<Arc<Presented>>,
    pub(crate) remote: SocketAddr,
    /// Notified to close the connection once the current response is sent (h1 and h2).
    pub(crate) close: Arc<Notify>,
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut response = Response::new(
        Full::new(Bytes::from_static(text.as_bytes()))
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

pub(crate) async fn handle(
    shared: Arc<Shared>,
    connection: Arc<Connection>,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let response = answer(&shared, &connection, request).await;
    shared.metrics.request(response.status());
    Ok(response)
}

async fn answer(
    shared: &Shared,
    connection: &Connection,
    mut request: Request<Incoming>,
) -> Response<Body> {
    // The route and policy the request names must be the ones the handshake was made for.
    let named = request
        .headers()
        .get(HOST)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
        .or_else(|| request.uri().authority().map(|a| a.to_string()));
    let Some(named) = named.map(|host| host_without_port(&host)) else {
        return plain(StatusCode::BAD_REQUEST, "a Host is required\n");
    };
    let same_route = shared
        .routes
        .load()
        .find(&named)
        .is_some_and(|route| route.host == connection.route.host);
    if !same_route || shared.state.account_for(&named) != connection.account {
        return plain(
            StatusCode::MISDIRECTED_REQUEST,
            "this connection was not made for that host\n",
        );
    }
    let mut verdict = Verdict {
        presented: connection.presented.as_deref(),
        verified: connection.verified,
        revoked: false,
    };
    if let Some(account) = &connection.account {
        if !shared.state.is_fresh() {
            return plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "revocation state is stale; refusing until it can be refreshed\n",
            );
        }
        // Revoked since the handshake (or, in `request` mode, at all).
        verdict.revoked = connection.verified
            && verdict
                .presented
                .and_then(|cert| cert.facts.serial)
                .is_some_and(|serial| shared.state.is_revoked(account, serial.value()));
        let acceptable = verdict.verified && !verdict.revoked;
        let forwarded_anyway =
            connection.mode == Mode::Request && connection.route.options.forward_unverified;
        if !acceptable && !forwarded_anyway {
            let text = if verdict.revoked {
                // Nothing this connection sends can be trusted again: close it after this answer.
                connection.close.notify_one();
                "the client certificate is revoked\n"
            } else {
                "a valid client certificate is required\n"
            };
            let mut response = plain(StatusCode::FORBIDDEN, text);
            if verdict.revoked {
                response
                    .headers_mut()
                    .insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
            }
            return response;
        }
    } else {
        verdict.presented = None;
    }

    let route = &connection.route;
    let upstream = &route.upstream;
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let prefix = upstream.path().trim_end_matches('/');
    let target = format!(
        "{}://{}{prefix}{path}",
        upstream.scheme_str().unwrap_or("http"),
        upstream.authority().map(|a| a.as_str()).unwrap_or_default()
    );
    let Ok(target) = target.parse::<Uri>() else {
        return plain(StatusCode::BAD_REQUEST, "an unusable request target\n");
    };
    *request.uri_mut() = target;
    *request.version_mut() = hyper::Version::HTTP_11;
    let headers = request.headers_mut();
    headers::strip_inbound(headers);
    let families = route.options.headers.as_ref().unwrap_or(&shared.families);
    headers::add(headers, families, verdict);
    if let Ok(value) = HeaderValue::from_str(&connection.remote.ip().to_string()) {
        headers.insert("x-forwarded-for", value);
    }
    headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
    if let Ok(value) = HeaderValue::from_str(&named) {
        headers.insert("x-forwarded-host", value);
    }
    if let Some(authority) = upstream.authority()
        && let Ok(value) = HeaderValue::from_str(authority.as_str())
    {
        headers.insert(HOST, value);
    }

    let started = std::time::Instant::now();
    match tokio::time::timeout(shared.upstream_timeout, shared.client.request(request)).await {
        Ok(Ok(response)) => {
            shared.metrics.upstream(started.elapsed());
            response.map(BodyExt::boxed)
        }
        Ok(Err(error)) => {
            tracing::debug!(%error, "gateway: upstream failed");
            plain(StatusCode::BAD_GATEWAY, "the upstream is unreachable\n")
        }
        Err(_) => plain(
            StatusCode::GATEWAY_TIMEOUT,
            "the upstream did not answer in time\n",
        ),
    }
}
