//! `clientca serve`: the API server and the publication worker.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use authority::{CaKeyAlgorithm, Policy, Publication};
use clap::Args;

use super::GlobalArgs;
use super::gateway::GatewayOptions;
use crate::duration::parse_duration;
use crate::{ServeOptions, master_key_file};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CLIENTCA_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Serve the API over TLS (HTTP/2 and HTTP/1.1) with this certificate chain, leaf first
    /// (PEM); re-read when it changes. Needs --tls-key.
    #[arg(long, env = "CLIENTCA_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, SEC1 or PKCS#1); re-read when it changes.
    #[arg(long, env = "CLIENTCA_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// How often pending revocations/reactivations are published (e.g. 500ms, 2s, 5s).
    #[arg(long, env = "CLIENTCA_PUBLISH_INTERVAL", default_value = "5s", value_parser = parse_duration)]
    pub publish_interval: Duration,
    /// Master key file (64 hex characters, mode 0600); generated on first start when missing.
    /// CLIENTCA_MASTER_KEY (hex) takes precedence. Defaults to <data-dir>/master.key.
    #[arg(long, env = "CLIENTCA_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// Largest validity_days a create may ask for.
    #[arg(long, env = "CLIENTCA_MAX_VALIDITY_DAYS", default_value_t = 3650)]
    pub max_validity_days: u32,
    /// Certificates that are not revoked a zone may hold (unlimited when unset); a create beyond
    /// it is refused with error 1110. `clientca zone quota` overrides it per zone.
    #[arg(long, env = "CLIENTCA_MAX_CERTIFICATES_PER_ZONE")]
    pub max_certificates_per_zone: Option<u64>,
    /// Key type of a managed CA created on an account's first use: p256, p384 or ed25519.
    #[arg(long, env = "CLIENTCA_CA_KEY", default_value_t = CaKeyAlgorithm::P256)]
    pub ca_key: CaKeyAlgorithm,
    /// How long a token lookup is cached: a token revoked elsewhere stops working here within it.
    #[arg(long, env = "CLIENTCA_TOKEN_CACHE_TTL", default_value = "5s", value_parser = parse_duration)]
    pub token_cache_ttl: Duration,
    /// Base URL relying parties reach this server at (e.g. https://ca.example.com); issued
    /// leaves then carry CRL Distribution Points and OCSP/caIssuers URLs under it.
    #[arg(long, env = "CLIENTCA_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// CRL lifetime (nextUpdate − thisUpdate); CRLs are re-signed when half of it is left.
    #[arg(long, env = "CLIENTCA_CRL_VALIDITY", default_value = "24h", value_parser = parse_duration)]
    pub crl_validity: Duration,
    /// OCSP answer lifetime (how long relying parties may cache one).
    #[arg(long, env = "CLIENTCA_OCSP_VALIDITY", default_value = "1h", value_parser = parse_duration)]
    pub ocsp_validity: Duration,
    /// Requests per second per API token, optionally `/burst` (0 = unlimited).
    #[arg(long, env = "CLIENTCA_RATE_LIMIT_TOKEN", default_value = "0", value_parser = parse_rate)]
    pub rate_limit_token: api::Rate,
    /// Requests per second per client address without valid credentials, `/burst` optional
    /// (0 = unlimited). Slows down token guessing.
    #[arg(long, env = "CLIENTCA_RATE_LIMIT_ANONYMOUS", default_value = "10/20", value_parser = parse_rate)]
    pub rate_limit_anonymous: api::Rate,
    /// Open connections at most; further clients wait until one closes.
    #[arg(long, env = "CLIENTCA_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,
    /// Open connections from one client address at most (0 = no cap); behind a reverse proxy,
    /// where every client shares its address, set it to --max-connections.
    #[arg(
        long,
        env = "CLIENTCA_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 256
    )]
    pub max_connections_per_address: usize,
    /// Time a client has to send a request's headers (slowloris protection).
    #[arg(long, env = "CLIENTCA_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_read_timeout: Duration,
    /// Time a whole request, body included, may take (else 408).
    #[arg(long, env = "CLIENTCA_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: Duration,
    /// Serve the API's Prometheus /metrics on this address only (e.g. 127.0.0.1:9090), not
    /// beside the API. (--metrics-listen is the in-process gateway's.)
    #[arg(
        long,
        env = "CLIENTCA_API_METRICS_LISTEN",
        conflicts_with = "no_api_metrics"
    )]
    pub api_metrics_listen: Option<SocketAddr>,
    /// Serve no /metrics for the API at all.
    #[arg(long, env = "CLIENTCA_NO_API_METRICS")]
    pub no_api_metrics: bool,
    /// Serve no dashboard: `/ui/` and `/` are then unknown routes, like any other.
    #[arg(long, env = "CLIENTCA_NO_DASHBOARD")]
    pub no_dashboard: bool,
    /// Also run the mTLS gateway, listening here (see `clientca gateway` for its options).
    #[arg(long, env = "CLIENTCA_GATEWAY_LISTEN")]
    pub gateway_listen: Option<SocketAddr>,
    #[command(flatten)]
    pub gateway: GatewayOptions,
}

impl ServeArgs {
    /// Ranges a running server depends on (a zero interval busy-loops, a zero deadline refuses
    /// everything); the authority checks its own settings (validities) when it starts.
    fn validate(&self) -> anyhow::Result<()> {
        let within = |flag: &str, value: Duration, min: Duration, max: Duration| {
            anyhow::ensure!(
                (min..=max).contains(&value),
                "--{flag} must be from {min:?} to {max:?}, got {value:?}"
            );
            Ok(())
        };
        let second = Duration::from_secs(1);
        let day = Duration::from_secs(86_400);
        within(
            "publish-interval",
            self.publish_interval,
            Duration::from_millis(100),
            day,
        )?;
        within(
            "header-read-timeout",
            self.header_read_timeout,
            Duration::from_millis(100),
            Duration::from_secs(600),
        )?;
        within(
            "request-timeout",
            self.request_timeout,
            Duration::from_millis(100),
            Duration::from_secs(3600),
        )?;
        within("token-cache-ttl", self.token_cache_ttl, Duration::ZERO, day)?;
        within("ocsp-validity", self.ocsp_validity, second, 366 * day)?;
        within("crl-validity", self.crl_validity, second, 366 * day)?;
        // CRLs are re-signed at half-life by a pass: one must run before the CRL expires.
        anyhow::ensure!(
            self.crl_validity >= self.publish_interval.saturating_mul(2),
            "--crl-validity ({:?}) must be at least twice --publish-interval ({:?}), so a CRL is \
             re-signed before it expires",
            self.crl_validity,
            self.publish_interval
        );
        anyhow::ensure!(
            self.max_connections >= 1,
            "--max-connections must be at least 1"
        );
        anyhow::ensure!(
            self.max_validity_days >= 1,
            "--max-validity-days must be at least 1"
        );
        Ok(())
    }
}

/// `10` or `10/20`: requests per second, then burst.
fn parse_rate(text: &str) -> Result<api::Rate, String> {
    let (rate, burst) = text.split_once('/').unwrap_or((text, text));
    let number = |part: &str| {
        part.trim()
            .parse::<u32>()
            .map_err(|_| format!("{text:?} is not RATE or RATE/BURST"))
    };
    Ok(api::Rate {
        per_second: number(rate)?,
        burst: number(burst)?,
    })
}

pub(super) async fn run(global: &GlobalArgs, args: ServeArgs) -> anyhow::Result<()> {
    args.validate()?;
    let gateway = match args.gateway_listen {
        Some(listen) => Some(args.gateway.config(listen)?),
        None => {
            anyhow::ensure!(
                args.gateway.routes.is_empty() && args.gateway.routes_file.is_none(),
                "--route and --routes-file are for the gateway: add --gateway-listen ADDR"
            );
            None
        }
    };
    let key_path = args
        .master_key_file
        .clone()
        .unwrap_or_else(|| global.default_master_key_file());
    let master_key = master_key_file::load(&key_path, true)?.context("no master key")?;
    let args_no_dashboard = args.no_dashboard;
    let options = ServeOptions {
        database_url: global.database_url(),
        listen: args.listen,
        master_key,
        publish_interval: args.publish_interval,
        policy: Policy {
            max_validity_days: args.max_validity_days,
            ca_key: args.ca_key,
            max_certificates_per_zone: args.max_certificates_per_zone,
            ..Policy::default()
        },
        publication: Publication {
            public_url: args
                .public_url
                .map(|url| validate_public_url(&url))
                .transpose()?,
            crl_validity: time::Duration::try_from(args.crl_validity)
                .context("--crl-validity too long")?,
            ocsp_validity: time::Duration::try_from(args.ocsp_validity)
                .context("--ocsp-validity too long")?,
        },
        token_cache_ttl: args.token_cache_ttl,
        publication_stale_after: None,
        api: api::ApiConfig {
            rate_limits: api::RateLimitConfig {
                per_token: args.rate_limit_token,
                anonymous: args.rate_limit_anonymous,
            },
            request_timeout: args.request_timeout,
            metrics_route: !args.no_api_metrics && args.api_metrics_listen.is_none(),
        },
        limits: api::ServerLimits {
            max_connections: args.max_connections,
            max_connections_per_address: args.max_connections_per_address,
            header_read_timeout: args.header_read_timeout,
            // Silent longer than a request may take plus the time to send one: nobody's there.
            idle_timeout: args.header_read_timeout + args.request_timeout,
            ..api::ServerLimits::default()
        },
        gateway,
        dashboard: !args.no_dashboard,
        metrics_listen: args.api_metrics_listen,
        tls: args
            .tls_cert
            .zip(args.tls_key)
            .map(|(certificate, key)| crate::TlsFiles { certificate, key }),
    };
    let mut server = crate::start(options).await?;
    if let Some(bootstrap) = &server.bootstrap {
        print_bootstrap(bootstrap, &server.api_base_url());
    }
    if let Some(gateway) = &server.gateway {
        say(&format!("gateway listening on https://{}", gateway.addr));
    }
    if let Some(metrics) = server.metrics_addr {
        say(&format!("metrics on http://{metrics}/metrics"));
    }
    if !args_no_dashboard {
        say(&format!(
            "dashboard on {}://{}/ui/",
            server.scheme, server.addr
        ));
    }
    say(&format!("listening on {}://{}", server.scheme, server.addr));
    tokio::select! {
        result = server.wait() => result.context("the HTTP server stopped"),
        () = shutdown_signal() => {
            tracing::info!("shutting down: finishing in-flight requests");
            server.stop().await
        }
    }
}

/// An absolute http(s) URL without query or fragment, trailing slash removed.
fn validate_public_url(url: &str) -> anyhow::Result<String> {
    let trimmed = url.trim().trim_end_matches('/');
    let valid = (trimmed.starts_with("https://") || trimmed.starts_with("http://"))
        && trimmed.is_ascii()
        && !trimmed.contains(['?', '#', ' '])
        && trimmed
            .split("://")
            .nth(1)
            .is_some_and(|host| !host.is_empty());
    anyhow::ensure!(
        valid,
        "--public-url must be an absolute http(s) URL such as https://ca.example.com, got {url:?}"
    );
    Ok(trimmed.to_string())
}

/// A line on stdout; a closed stdout (the reader went away) must not stop the server.
pub(super) fn say(text: &str) {
    let _ = writeln!(std::io::stdout(), "{text}");
}

fn print_bootstrap(bootstrap: &authority::Bootstrap, base_url: &str) {
    say(&format!(
        "First start: created account {account}, zone {zone_name} ({zone}) and an edit API token.\n\
         The token is shown only this once:\n\n    \
         export CLOUDFLARE_API_TOKEN={secret}\n\n\
         Python SDK:  Cloudflare(api_token=..., base_url=\"{base_url}\")\n\
         curl:        curl -H \"Authorization: Bearer $CLOUDFLARE_API_TOKEN\" {base_url}/zones/{zone}/client_certificates\n",
        account = bootstrap.account.id,
        zone_name = bootstrap.zone.name,
        zone = bootstrap.zone.id,
        secret = bootstrap.secret,
    ));
}

pub(super) async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = ctrl_c.await;
        }
    }
}
