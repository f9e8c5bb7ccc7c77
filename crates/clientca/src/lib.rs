//! The `clientca` binary's wiring, as a library so tests can start the real server in-process.

pub mod cli;
pub mod duration;
pub mod master_key_file;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use authority::{Authority, Bootstrap, Config, MasterKey, Policy, Publication};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use worker::WorkerConfig;

/// Everything `clientca serve` needs, resolved from flags and environment.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub database_url: String,
    pub listen: SocketAddr,
    pub master_key: MasterKey,
    pub publish_interval: Duration,
    pub policy: Policy,
    pub publication: Publication,
    pub token_cache_ttl: Duration,
    /// `/healthz` fails after this long without a completed publication pass; `None`: three
    /// publish intervals plus a minute (`publication_stale_after`).
    pub publication_stale_after: Option<Duration>,
    /// Rate limits and the per-request deadline.
    pub api: api::ApiConfig,
    /// Connection limits: open connections, header deadline and size.
    pub limits: api::ServerLimits,
    /// The mTLS gateway in the same process, sharing the authority and its publication signal.
    pub gateway: Option<gateway::GatewayConfig>,
    /// Serve the dashboard under `/ui/` beside the API.
    pub dashboard: bool,
    /// Serve `/metrics` on this address instead of beside the API.
    pub metrics_listen: Option<SocketAddr>,
    /// Serve the API over TLS with this certificate chain and key (PEM files, re-read when they
    /// change).
    pub tls: Option<TlsFiles>,
}

/// `serve --tls-cert --tls-key`.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub certificate: PathBuf,
    pub key: PathBuf,
}

/// How often the TLS files are checked for a change.
const TLS_RELOAD_CHECK: Duration = Duration::from_secs(2);

/// A running server: API and publication worker.
pub struct Server {
    pub addr: SocketAddr,
    /// `http`, or `https` when serving TLS.
    pub scheme: &'static str,
    pub authority: Arc<Authority>,
    /// Set when this start found an empty database and created the first credentials.
    pub bootstrap: Option<Bootstrap>,
    /// The gateway, when `--gateway-listen` asked for one.
    pub gateway: Option<gateway::Gateway>,
    /// Where `/metrics` is served when it has a listener of its own.
    pub metrics_addr: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    http: JoinHandle<std::io::Result<()>>,
    worker: JoinHandle<()>,
}

/// Open (and migrate) the database at `url` and build the authority on it; errors name the
/// database without its password.
pub async fn open(url: &str, config: Config) -> anyhow::Result<Arc<Authority>> {
    Ok(Authority::open(url, config).await?)
}

/// Whichever task ends first is an error: both should run until shutdown.
async fn supervise(
    http: &mut JoinHandle<std::io::Result<()>>,
    worker: &mut JoinHandle<()>,
) -> anyhow::Result<()> {
    tokio::select! {
        http = http => {
            http.context("the HTTP server panicked")??;
            anyhow::bail!("the HTTP server stopped")
        }
        worker = worker => {
            worker.context("the publication worker panicked")?;
            anyhow::bail!("the publication worker stopped")
        }
    }
}

/// How long without a completed publication pass `/healthz` tolerates: three intervals, plus a
/// minute for a pass that signs large CRLs.
pub fn publication_stale_after(publish_interval: Duration) -> Duration {
    publish_interval.saturating_mul(3) + Duration::from_secs(60)
}

/// Open the database, check the master key, bootstrap if empty, and start serving.
pub async fn start(options: ServeOptions) -> anyhow::Result<Server> {
    let config = Config {
        master_key: Some(options.master_key),
        policy: options.policy,
        publication: options.publication,
        token_cache_ttl: options.token_cache_ttl,
        publication_stale_after: Some(
            options
                .publication_stale_after
                .unwrap_or_else(|| publication_stale_after(options.publish_interval)),
        ),
    };
    let authority = open(&options.database_url, config).await?;
    let bootstrap = authority.bootstrap_if_empty().await?;
    let gateway = match options.gateway {
        Some(config) => Some(
            gateway::Gateway::start(Arc::clone(&authority), config)
                .await
                .context("cannot start the gateway")?,
        ),
        None => None,
    };

    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("cannot listen on {}", options.listen))?;
    let addr = listener.local_addr()?;
    let (shutdown, stopped) = watch::channel(false);

    let worker_config = WorkerConfig {
        interval: options.publish_interval,
        ..WorkerConfig::default()
    };
    let worker = tokio::spawn(worker::run(
        Arc::clone(&authority),
        worker_config,
        stopped.clone(),
    ));
    let mut router = api::router(Arc::clone(&authority), options.api);
    if options.dashboard {
        let config = dashboard::DashboardConfig {
            tls: options.tls.is_some(),
        };
        router = dashboard::mount(router, Arc::clone(&authority), config);
    }
    let metrics_addr = match options.metrics_listen {
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen on {address} for metrics"))?;
            let addr = listener.local_addr()?;
            let mut metrics_stopped = stopped.clone();
            // Ends with the server (its shutdown signal); a scrape in flight is not waited for.
            tokio::spawn(api::serve(
                listener,
                api::metrics_router(Arc::clone(&authority)),
                api::ServerLimits::default(),
                None,
                async move {
                    let _ = metrics_stopped.wait_for(|stop| *stop).await;
                },
            ));
            Some(addr)
        }
        None => None,
    };
    let tls = match &options.tls {
        Some(files) => {
            let certificate = gateway::CertificateFiles::load(&files.certificate, &files.key)
                .map_err(|error| {
                    anyhow::anyhow!(
                        "cannot use {} and {} for TLS: {error}",
                        files.certificate.display(),
                        files.key.display()
                    )
                })?;
            let config = certificate
                .server_config()
                .map_err(|error| anyhow::anyhow!("TLS configuration: {error}"))?;
            tokio::spawn(certificate.watch(TLS_RELOAD_CHECK, stopped.clone()));
            Some(config)
        }
        None => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut http_stopped = stopped;
    let http = tokio::spawn(api::serve(
        listener,
        router,
        options.limits,
        tls,
        async move {
            let _ = http_stopped.wait_for(|stop| *stop).await;
        },
    ));
    tracing::info!(%addr, scheme, "clientca listening");
    Ok(Server {
        addr,
        scheme,
        authority,
        bootstrap,
        gateway,
        metrics_addr,
        shutdown,
        http,
        worker,
    })
}

impl Server {
    /// The base URL the official SDKs take.
    pub fn api_base_url(&self) -> String {
        format!("{}://{}{}", self.scheme, self.addr, api::API_PREFIX)
    }

    /// Stop accepting, give in-flight requests a grace period, let the worker end its current
    /// round, then return.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        if let Some(gateway) = self.gateway {
            gateway.stop().await;
        }
        self.http.await.context("HTTP task failed")??;
        self.worker.await.context("worker task failed")?;
        Ok(())
    }

    /// Wait until the HTTP server or the publication worker ends on its own — neither should:
    /// either is an error, and the process exits non-zero so a supervisor restarts it rather than
    /// keep answering while revocations stay pending forever.
    pub async fn wait(&mut self) -> anyhow::Result<()> {
        supervise(&mut self.http, &mut self.worker).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forever() -> JoinHandle<std::io::Result<()>> {
        tokio::spawn(std::future::pending())
    }

    #[tokio::test]
    async fn a_worker_that_ends_or_panics_stops_the_server() {
        let mut worker = tokio::spawn(async {});
        let error = supervise(&mut forever(), &mut worker).await.unwrap_err();
        assert_eq!(error.to_string(), "the publication worker stopped");

        let mut worker = tokio::spawn(async { panic!("a bug in a publication pass") });
        let error = supervise(&mut forever(), &mut worker).await.unwrap_err();
        assert_eq!(error.to_string(), "the publication worker panicked");

        let mut http = tokio::spawn(async { Err(std::io::Error::other("accept failed")) });
        let mut worker = tokio::spawn(std::future::pending());
        let error = supervise(&mut http, &mut worker).await.unwrap_err();
        assert_eq!(error.to_string(), "accept failed");
    }
}
