//! clientca's mTLS gateway: a TLS-terminating reverse proxy that asks for client certificates on
//! the hostnames a zone associated with its CA, checks them against that account's CAs and the
//! live revocation state, and forwards accepted requests with headers describing the
//! certificate. The contract is `shared/spec/gateway.md`.
//!
//! A connection's life: accept → read the ClientHello → choose the configuration by SNI (an
//! associated host's account configuration, the plain one for other routes, none for unknown
//! hosts or — failing closed — associated hosts while the state is stale) → handshake (the
//! verifier checks chain and revocation) → check revocation again (a resumed session skips the
//! verifier) → serve HTTP/1.1 or HTTP/2, re-checking revocation on every request.

mod certs;
mod headers;
mod metrics;
mod proxy;
mod routes;
mod state;
mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use authority::{Authority, PresentedCertificate};
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use rustls::server::ResolvesServerCert;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio_rustls::LazyConfigAcceptor;

pub use certs::{CertificateFiles, ServerCertificates};
pub use headers::HeaderFamily;
pub use routes::{HostPattern, Mode, Route, RouteOptions};

use crate::headers::Presented;
use crate::metrics::HandshakeOutcome;
use crate::proxy::{Connection, Shared};

/// How the gateway runs (`clientca gateway` flags, or `serve --gateway-listen`).
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub listen: SocketAddr,
    pub routes: Vec<Route>,
    /// More routes, re-read on SIGHUP and when the file changes (`--routes-file`).
    pub routes_file: Option<PathBuf>,
    /// The gateway's own certificates.
    pub certificates: ServerCertificates,
    /// How associated hostnames treat certificates, unless a route says otherwise.
    pub mode: Mode,
    /// Client-certificate header families sent upstream.
    pub headers: Vec<HeaderFamily>,
    /// How often the state is re-read from the database (sooner on an in-process publication).
    pub refresh_interval: Duration,
    /// Past this without a successful refresh, associated hostnames are refused.
    pub max_staleness: Duration,
    /// How long the upstream may take to start answering (else 504).
    pub upstream_timeout: Duration,
    /// Where `/metrics` and `/healthz` are served, if anywhere.
    pub metrics_listen: Option<SocketAddr>,
}

impl GatewayConfig {
    pub fn new(listen: SocketAddr, routes: Vec<Route>) -> Self {
        Self {
            listen,
            routes,
            routes_file: None,
            certificates: ServerCertificates::SelfSigned,
            mode: Mode::Require,
            headers: vec![HeaderFamily::Rfc9440],
            refresh_interval: Duration::from_millis(250),
            max_staleness: Duration::from_secs(60),
            upstream_timeout: Duration::from_secs(30),
            metrics_listen: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("{0}")]
    Routes(String),
    #[error("cannot make the gateway's server certificate: {0}")]
    Certificate(String),
    #[error("cannot set up TLS: {0}")]
    Tls(#[from] rustls::Error),
    #[error("cannot listen on {address}: {error}")]
    Listen {
        address: SocketAddr,
        error: std::io::Error,
    },
}

/// A running gateway.
pub struct Gateway {
    pub addr: SocketAddr,
    /// Where `/metrics` and `/healthz` answer, when configured.
    pub metrics_addr: Option<SocketAddr>,
    /// The generated server certificate (DER) with `--self-signed`, for clients that pin it.
    pub self_signed_certificate: Option<Vec<u8>>,
    shutdown: watch::Sender<bool>,
    accept: JoinHandle<()>,
    refresh: JoinHandle<()>,
}

impl Gateway {
    /// Read the enforcement state, then listen. The master key is never needed.
    pub async fn start(
        authority: Arc<Authority>,
        config: GatewayConfig,
    ) -> Result<Self, GatewayError> {
        let routes = routes::all(&config.routes, config.routes_file.as_deref())
            .map_err(GatewayError::Routes)?;
        let (shutdown, stopped) = watch::channel(false);
        let (resolver, self_signed_certificate): (Arc<dyn ResolvesServerCert>, _) =
            match &config.certificates {
                ServerCertificates::SelfSigned => {
                    let single = certs::SingleCertificate::self_signed(&routes.hosts())
                        .map_err(GatewayError::Certificate)?;
                    let der = single.certificate_der();
                    (Arc::new(single), Some(der))
                }
                ServerCertificates::Directory(directory) => {
                    let patterns = routes.patterns();
                    let directory = Arc::new(
                        certs::DirectoryCertificates::load(directory, &patterns)
                            .map_err(GatewayError::Certificate)?,
                    );
                    tokio::spawn(Arc::clone(&directory).watch(CERT_DIR_POLL, stopped.clone()));
                    (directory, None)
                }
            };
        let (state, refresh) = state::start(
            authority,
            Arc::clone(&resolver),
            config.refresh_interval,
            config.max_staleness,
            stopped.clone(),
        )
        .await;
        let plain = tls::plain_config(resolver)?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|error| GatewayError::Listen {
                    address: config.listen,
                    error,
                })?;
        let addr = listener
            .local_addr()
            .map_err(|error| GatewayError::Listen {
                address: config.listen,
                error,
            })?;
        let metrics = Arc::new(metrics::Metrics::new());
        let metrics_listener = metrics::bind(config.metrics_listen)
            .await
            .map_err(|error| GatewayError::Listen {
                address: config.metrics_listen.unwrap_or(config.listen),
                error,
            })?;
        let metrics_addr = metrics_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok());
        if let Some(listener) = metrics_listener {
            tokio::spawn(metrics::serve(
                listener,
                Arc::clone(&metrics),
                Arc::clone(&state),
                stopped.clone(),
            ));
        }
        let shared = Arc::new(Shared {
            routes: ArcSwap::from_pointee(routes),
            state,
            families: config.headers.clone(),
            mode: config.mode,
            client: Client::builder(TokioExecutor::new()).build_http(),
            upstream_timeout: config.upstream_timeout,
            metrics,
        });
        if let Some(file) = config.routes_file.clone() {
            tokio::spawn(routes::watch(
                config.routes.clone(),
                file,
                Arc::clone(&shared),
                stopped.clone(),
            ));
        }
        let accept = tokio::spawn(accept_loop(listener, shared, plain, stopped));
        tracing::info!(%addr, "gateway listening");
        Ok(Self {
            addr,
            metrics_addr,
            self_signed_certificate,
            shutdown,
            accept,
            refresh,
        })
    }

    /// Stop accepting and refreshing.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.accept.await;
        let _ = self.refresh.await;
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    plain: Arc<rustls::ServerConfig>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "gateway: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stopping(&mut stopped) => break,
        };
        let _ = stream.set_nodelay(true);
        let (shared, plain) = (Arc::clone(&shared), Arc::clone(&plain));
        tokio::spawn(async move {
            if let Err(reason) = serve_connection(stream, remote, shared, plain).await {
                tracing::debug!(%remote, %reason, "gateway: connection refused");
            }
        });
    }
}

/// What a failed handshake says about the client's certificate.
fn classify(error: &std::io::Error) -> HandshakeOutcome {
    use rustls::CertificateError as C;
    match error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::NoCertificatesPresented) => HandshakeOutcome::no_cert,
        Some(rustls::Error::InvalidCertificate(C::Revoked)) => HandshakeOutcome::revoked,
        Some(rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. })) => {
            HandshakeOutcome::expired
        }
        Some(rustls::Error::InvalidCertificate(
            C::UnknownIssuer | C::BadSignature | C::UnknownRevocationStatus,
        )) => HandshakeOutcome::unknown_ca,
        _ => HandshakeOutcome::failed,
    }
}

/// Resolves once shutdown is asked for.
pub(crate) async fn stopping(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// How often `--cert-dir` is looked at for changed files.
const CERT_DIR_POLL: Duration = Duration::from_secs(1);

/// How long a refused connection is drained before it is dropped.
const LINGER: Duration = Duration::from_secs(1);

/// Close a refused connection so that what was sent (the alert) arrives: closing a socket with
/// unread input — the request a TLS 1.3 client sends right after its Finished — makes the kernel
/// answer with a reset, and clients then report a broken connection instead of the alert.
async fn linger(mut stream: impl AsyncRead + AsyncWrite + Unpin) {
    let drain = async {
        let _ = stream.shutdown().await;
        let mut sink = [0u8; 4096];
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

/// How long a client has to complete its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

async fn serve_connection(
    stream: TcpStream,
    remote: SocketAddr,
    shared: Arc<Shared>,
    plain: Arc<rustls::ServerConfig>,
) -> Result<(), String> {
    let acceptor = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream);
    // The connection of a refused handshake, to close so that its alert arrives.
    let mut refused = None;
    let handshake = async {
        let failed = |reason: String| (HandshakeOutcome::failed, reason);
        let start = acceptor.await.map_err(|e| failed(e.to_string()))?;
        let sni = start
            .client_hello()
            .server_name()
            .map(|name| name.trim_end_matches('.').to_ascii_lowercase());
        let unknown = || {
            (
                HandshakeOutcome::sni_unknown,
                "no route for the SNI".to_string(),
            )
        };
        let sni = sni.ok_or_else(unknown)?;
        let route = Arc::clone(shared.routes.load().find(&sni).ok_or_else(unknown)?);
        let account = shared.state.account_for(&sni);
        let mode = route.options.mode.unwrap_or(shared.mode);
        let (config, account_tls) = match &account {
            None if route.options.mtls_required => {
                return Err((
                    HandshakeOutcome::unassociated,
                    "the route requires mTLS but no zone associates its hostname".into(),
                ));
            }
            None => (plain, None),
            // Failing closed: without a trustworthy revocation state, no associated host.
            Some(_) if !shared.state.is_fresh() => {
                return Err((HandshakeOutcome::stale, "stale state".to_string()));
            }
            Some(account) => {
                let tls = shared
                    .state
                    .tls_for(account)
                    .ok_or_else(|| failed("no configuration for the account".into()))?;
                let config = match mode {
                    Mode::Require => Arc::clone(&tls.require),
                    Mode::Request => Arc::clone(&tls.request),
                };
                (config, Some(tls))
            }
        };
        let tls = match start.into_stream(config).into_fallible().await {
            Ok(tls) => tls,
            Err((error, stream)) => {
                refused = Some(stream);
                return Err((classify(&error), error.to_string()));
            }
        };
        Ok::<_, (HandshakeOutcome, String)>((tls, route, account, mode, account_tls))
    };
    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake)
        .await
        .unwrap_or_else(|_| Err((HandshakeOutcome::failed, "handshake timeout".into())));
    let (tls, route, account, mode, account_tls) = match handshake {
        Ok(done) => done,
        Err((outcome, reason)) => {
            shared.metrics.handshake(outcome);
            if let Some(stream) = refused {
                linger(stream).await;
            }
            return Err(reason);
        }
    };

    let presented = match tls.get_ref().1.peer_certificates() {
        Some([leaf, chain @ ..]) => Some(Arc::new(Presented {
            der: leaf.to_vec(),
            chain: chain.iter().map(|c| c.to_vec()).collect(),
            facts: PresentedCertificate::parse(leaf).map_err(|e| e.to_string())?,
        })),
        _ => None,
    };
    // In `require` mode the handshake verified the chain; in `request` mode it is checked here.
    let verified = match (&account_tls, &presented, mode) {
        (Some(_), Some(_), Mode::Require) => true,
        (Some(tls), Some(cert), Mode::Request) => tls.chains(&cert.der, &cert.chain),
        _ => false,
    };
    // A resumed session skips the verifier: check revocation again now.
    if mode == Mode::Require
        && let (Some(account), Some(cert)) = (&account, &presented)
        && cert
            .facts
            .serial
            .is_some_and(|serial| shared.state.is_revoked(account, serial.value()))
    {
        shared.metrics.handshake(HandshakeOutcome::revoked);
        linger(tls).await;
        return Err("revoked (resumed session)".into());
    }
    shared.metrics.handshake(HandshakeOutcome::ok);
    let connection = Arc::new(Connection {
        route,
        account,
        mode,
        verified,
        presented,
        remote,
        close: Arc::new(Notify::new()),
    });
    let close = Arc::clone(&connection.close);
    let service = service_fn(move |request| {
        proxy::handle(Arc::clone(&shared), Arc::clone(&connection), request)
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HANDSHAKE_TIMEOUT);
    let served = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
    tokio::pin!(served);
    tokio::select! {
        result = served.as_mut() => result.map_err(|e| e.to_string()),
        () = close.notified() => {
            served.as_mut().graceful_shutdown();
            served.await.map_err(|e| e.to_string())
        }
    }
}
