//! `clientca gateway`: the mTLS gateway as its own process. It reads the database (a read-only
//! role is enough) and never needs the master key. `serve --gateway-listen` runs the same
//! gateway inside the API server, with the same options.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use authority::{Authority, Config};
use clap::Args;
use gateway::{Gateway, GatewayConfig, HeaderFamily, Mode, Route, ServerCertificates};

use super::GlobalArgs;
use super::serve::{say, shutdown_signal};
use crate::duration::parse_duration;

#[derive(Debug, Args)]
pub struct GatewayArgs {
    /// Where TLS clients connect.
    #[arg(
        long,
        env = "CLIENTCA_GATEWAY_LISTEN",
        default_value = "127.0.0.1:8443"
    )]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub options: GatewayOptions,
}

/// The gateway's options, shared by `gateway` and `serve --gateway-listen`.
#[derive(Debug, Clone, Args)]
pub struct GatewayOptions {
    /// Forward requests for HOST to URL (repeatable; `*.example.com` matches one label).
    #[arg(
        long = "route",
        value_name = "HOST=URL",
        env = "CLIENTCA_GATEWAY_ROUTES",
        value_delimiter = ','
    )]
    pub routes: Vec<Route>,
    /// More routes, as TOML with per-route options (mode, forward_unverified, headers, mtls);
    /// re-read on SIGHUP and when the file changes.
    #[arg(long, env = "CLIENTCA_GATEWAY_ROUTES_FILE")]
    pub routes_file: Option<PathBuf>,
    /// Server certificates: HOST.pem (chain then key) or HOST.crt + HOST.key, _wildcard.NAME.*
    /// for *.NAME; re-read when the files change.
    #[arg(long, env = "CLIENTCA_GATEWAY_CERT_DIR")]
    pub cert_dir: Option<PathBuf>,
    /// Generate a server certificate for the route hosts at start (tests, local use).
    #[arg(
        long,
        env = "CLIENTCA_GATEWAY_SELF_SIGNED",
        conflicts_with = "cert_dir"
    )]
    pub self_signed: bool,
    /// How associated hostnames treat client certificates: require (the handshake refuses) or
    /// request (the handshake accepts any, requests without a valid one get 403).
    #[arg(long, env = "CLIENTCA_GATEWAY_MODE", default_value = "require")]
    pub mode: Mode,
    /// Client-certificate header families sent upstream: rfc9440, cloudflare, xfcc.
    #[arg(
        long,
        env = "CLIENTCA_GATEWAY_HEADERS",
        value_delimiter = ',',
        default_value = "rfc9440"
    )]
    pub headers: Vec<HeaderFamily>,
    /// Where the gateway's Prometheus /metrics and /healthz are served.
    #[arg(long, env = "CLIENTCA_GATEWAY_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// How long associated hostnames are served while revocation state cannot be refreshed;
    /// after that they are refused (fail closed).
    #[arg(long, env = "CLIENTCA_GATEWAY_REVOCATION_MAX_STALENESS", default_value = "60s", value_parser = parse_duration)]
    pub revocation_max_staleness: Duration,
    /// How long the upstream may take to start answering (else 504).
    #[arg(long, env = "CLIENTCA_GATEWAY_UPSTREAM_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub upstream_timeout: Duration,
}

impl GatewayOptions {
    /// The gateway configuration, once the options make sense together.
    pub fn config(&self, listen: SocketAddr) -> anyhow::Result<GatewayConfig> {
        anyhow::ensure!(
            !self.routes.is_empty() || self.routes_file.is_some(),
            "the gateway needs at least one --route HOST=URL (or a --routes-file)"
        );
        let certificates = match (&self.cert_dir, self.self_signed) {
            (Some(directory), false) => ServerCertificates::Directory(directory.clone()),
            (None, true) => ServerCertificates::SelfSigned,
            _ => anyhow::bail!(
                "the gateway needs its server certificates: --cert-dir DIR, or --self-signed"
            ),
        };
        let within = |flag: &str, value: Duration, min: Duration, max: Duration| {
            anyhow::ensure!(
                (min..=max).contains(&value),
                "--{flag} must be from {min:?} to {max:?}, got {value:?}"
            );
            Ok(())
        };
        within(
            "revocation-max-staleness",
            self.revocation_max_staleness,
            Duration::from_secs(1),
            Duration::from_secs(86_400),
        )?;
        within(
            "upstream-timeout",
            self.upstream_timeout,
            Duration::from_millis(100),
            Duration::from_secs(3600),
        )?;
        let mut config = GatewayConfig::new(listen, self.routes.clone());
        config.certificates = certificates;
        config.routes_file = self.routes_file.clone();
        config.mode = self.mode;
        config.headers = self.headers.clone();
        config.metrics_listen = self.metrics_listen;
        config.max_staleness = self.revocation_max_staleness;
        config.upstream_timeout = self.upstream_timeout;
        Ok(config)
    }
}

pub(super) async fn run(global: &GlobalArgs, args: GatewayArgs) -> anyhow::Result<()> {
    let config = args.options.config(args.listen)?;
    // Reading only: no migration, no master key.
    let authority = Authority::open_for_reading(&global.database_url(), Config::default()).await?;
    let gateway = Gateway::start(authority, config)
        .await
        .context("cannot start the gateway")?;
    say(&format!("gateway listening on https://{}", gateway.addr));
    if let Some(metrics) = gateway.metrics_addr {
        say(&format!("gateway metrics on http://{metrics}/metrics"));
    }
    shutdown_signal().await;
    gateway.stop().await;
    Ok(())
}
