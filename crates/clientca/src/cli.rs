//! Command-line interface: `serve` plus administration of zones and credentials.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use authority::{
    Authority, Config, NewTokenRequest, Permission, Policy, Publication, TokenScope, TokenTarget,
};
use clap::{Args, Parser, Subcommand, ValueEnum};
use store::{Actor, ActorKind};

use crate::duration::parse_duration;
use crate::{ServeOptions, master_key_file, open_database};

#[derive(Debug, Parser)]
#[command(
    name = "clientca",
    version,
    about = "A client-certificate authority speaking the Cloudflare v4 Client Certificates API"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Directory for the default SQLite database and the generated master key.
    #[arg(long, env = "CLIENTCA_DATA_DIR", default_value = "data", global = true)]
    pub data_dir: PathBuf,
    /// Database URL: sqlite:///abs/path.db, sqlite://relative.db or postgres://user@host/db.
    /// Defaults to sqlite://<data-dir>/clientca.db.
    #[arg(long, env = "CLIENTCA_DATABASE_URL", global = true)]
    pub database: Option<String>,
    /// Log format.
    #[arg(long, env = "CLIENTCA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

impl GlobalArgs {
    pub fn database_url(&self) -> String {
        self.database
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("clientca.db").display()))
    }

    pub fn default_master_key_file(&self) -> PathBuf {
        self.data_dir.join("master.key")
    }
}

/// `path` with `suffix` appended to its file name (`master.key` → `master.key.old`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API server and the publication worker.
    Serve(ServeArgs),
    /// Manage zones.
    #[command(subcommand)]
    Zone(ZoneCommand),
    /// Manage API tokens and legacy keys.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Apply database migrations and report the schema version (serve also migrates on start).
    Migrate,
    /// Inspect the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Manage the master key that seals CA private keys.
    #[command(subcommand)]
    MasterKey(MasterKeyCommand),
    /// Copy a whole deployment into an empty database, e.g. from SQLite to PostgreSQL.
    Copy {
        /// Source database URL (stop servers writing to it first).
        #[arg(long)]
        from: String,
        /// Target database URL; must be empty.
        #[arg(long)]
        to: String,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CLIENTCA_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
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
    /// Time a client has to send a request's headers (slowloris protection).
    #[arg(long, env = "CLIENTCA_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_read_timeout: Duration,
    /// Time a whole request, body included, may take (else 408).
    #[arg(long, env = "CLIENTCA_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: Duration,
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

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Seal pending events, then recompute the whole hash chain; exits non-zero if any event was
    /// edited or deleted. Prints the chain head: record it elsewhere to detect truncation later.
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum MasterKeyCommand {
    /// Re-seal every CA key under a new master key. Stop the servers first; start them again with
    /// the new key. The current key comes from CLIENTCA_MASTER_KEY or --master-key-file.
    Rotate {
        /// Current key file (default <data-dir>/master.key).
        #[arg(long, env = "CLIENTCA_MASTER_KEY_FILE")]
        master_key_file: Option<PathBuf>,
        /// Where to write the new key (mode 0600). Default: replace the current key file, keeping
        /// the old one next to it as `<file>.old`.
        #[arg(long)]
        new_key_file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ZoneCommand {
    /// Create a zone; prints only its id.
    Create {
        /// Zone name, e.g. example.com.
        name: String,
        /// Account to create it in (32 hex); defaults to the only account, created if none exists.
        #[arg(long)]
        account: Option<String>,
    },
    /// List zones.
    List,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a credential; prints only its secret (shown once).
    Create(TokenCreateArgs),
    /// List credentials (never their secrets).
    List,
    /// Revoke a credential by id.
    Revoke {
        /// Token id (32 hex).
        id: String,
    },
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["zone", "account"])))]
pub struct TokenCreateArgs {
    /// Zone the token may use (repeat for several zones of one account).
    #[arg(long)]
    pub zone: Vec<String>,
    /// Account whose every zone the token may use.
    #[arg(long)]
    pub account: Option<String>,
    /// read = ssl:read, edit = ssl:read + ssl:edit.
    #[arg(long, value_enum)]
    pub permission: PermissionArg,
    /// A label for listings.
    #[arg(long)]
    pub name: Option<String>,
    /// Lifetime, e.g. 90d or 12h; no expiry when omitted.
    #[arg(long, value_parser = parse_duration)]
    pub expires_in: Option<Duration>,
    /// Create a legacy X-Auth-Key for this X-Auth-Email instead of a Bearer token.
    #[arg(long)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PermissionArg {
    Read,
    Edit,
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        let database_url = self.global.database_url();
        match self.command {
            Command::Serve(args) => serve(&self.global, database_url, args).await,
            Command::Zone(command) => zone(&database_url, command).await,
            Command::Token(command) => token(&database_url, command).await,
            Command::Migrate => migrate(&database_url).await,
            Command::Audit(AuditCommand::Verify) => audit_verify(&database_url).await,
            Command::MasterKey(MasterKeyCommand::Rotate {
                master_key_file,
                new_key_file,
            }) => {
                let current_file =
                    master_key_file.unwrap_or_else(|| self.global.default_master_key_file());
                rotate_master_key(&database_url, &current_file, new_key_file).await
            }
            Command::Copy { from, to } => copy(&from, &to).await,
        }
    }
}

async fn serve(global: &GlobalArgs, database_url: String, args: ServeArgs) -> anyhow::Result<()> {
    let key_path = args
        .master_key_file
        .clone()
        .unwrap_or_else(|| global.default_master_key_file());
    let master_key = master_key_file::load(&key_path, true)?.context("no master key")?;
    let options = ServeOptions {
        database_url,
        listen: args.listen,
        master_key,
        publish_interval: args.publish_interval,
        policy: Policy {
            max_validity_days: args.max_validity_days,
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
        api: api::ApiConfig {
            rate_limits: api::RateLimitConfig {
                per_token: args.rate_limit_token,
                anonymous: args.rate_limit_anonymous,
            },
            request_timeout: args.request_timeout,
        },
        limits: api::ServerLimits {
            max_connections: args.max_connections,
            header_read_timeout: args.header_read_timeout,
            ..api::ServerLimits::default()
        },
    };
    let mut server = crate::start(options).await?;
    if let Some(bootstrap) = &server.bootstrap {
        print_bootstrap(bootstrap, &server.api_base_url());
    }
    println!("listening on http://{}", server.addr);
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

fn print_bootstrap(bootstrap: &authority::Bootstrap, base_url: &str) {
    println!(
        "First start: created account {account}, zone {zone_name} ({zone}) and an edit API token.\n\
         The token is shown only this once:\n\n    \
         export CLOUDFLARE_API_TOKEN={secret}\n\n\
         Python SDK:  Cloudflare(api_token=..., base_url=\"{base_url}\")\n\
         curl:        curl -H \"Authorization: Bearer $CLOUDFLARE_API_TOKEN\" {base_url}/zones/{zone}/client_certificates\n",
        account = bootstrap.account.id,
        zone_name = bootstrap.zone.name,
        zone = bootstrap.zone.id,
        secret = bootstrap.secret,
    );
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
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
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

async fn audit_verify(database_url: &str) -> anyhow::Result<()> {
    let authority = admin_authority(database_url).await?;
    let sealed_now = worker::seal_audit_log(&authority).await?;
    let report = store::verify_chain(authority.store().as_ref()).await?;
    let head = report
        .head
        .as_ref()
        .map_or("none".to_string(), |(seq, hash)| format!("#{seq} {hash}"));
    match report.problem {
        None => {
            println!(
                "audit log intact: {} events chained (sealed {sealed_now} just now, {} still unsealed); head {head}",
                report.sealed, report.unsealed
            );
            Ok(())
        }
        Some(problem) => anyhow::bail!(
            "audit log TAMPERED: {problem} ({} events before it verified)",
            report.sealed
        ),
    }
}

async fn rotate_master_key(
    database_url: &str,
    current_file: &Path,
    new_key_file: Option<PathBuf>,
) -> anyhow::Result<()> {
    let current = master_key_file::load(current_file, false)?
        .context("no current master key: set CLIENTCA_MASTER_KEY or --master-key-file")?;
    let from_env = std::env::var(master_key_file::ENV_VAR).is_ok();
    let target = match (&new_key_file, from_env) {
        (Some(path), _) => path.clone(),
        (None, true) => anyhow::bail!(
            "the current key comes from {}: say where the new one goes with --new-key-file",
            master_key_file::ENV_VAR
        ),
        (None, false) => with_suffix(current_file, ".new"),
    };
    // The new key is on disk before the database expects it, so a crash in between loses nothing.
    let new = master_key_file::create(&target)?;
    let store = open_database(database_url).await?;
    let config = Config {
        master_key: Some(current),
        ..Config::default()
    };
    let authority = Authority::new(store, config).await?;
    let count = authority
        .rotate_master_key(&new, Actor::new(ActorKind::Cli))
        .await?;
    if new_key_file.is_none() {
        let old = with_suffix(current_file, ".old");
        std::fs::rename(current_file, &old)?;
        std::fs::rename(&target, current_file)?;
        println!(
            "re-sealed {count} CA key(s); {} now holds the new key, the old one is in {}",
            current_file.display(),
            old.display()
        );
    } else {
        println!(
            "re-sealed {count} CA key(s); the new key is in {}",
            target.display()
        );
    }
    println!("restart every server with the new key");
    Ok(())
}

async fn migrate(database_url: &str) -> anyhow::Result<()> {
    let store = open_database(database_url).await?;
    println!(
        "{} schema at version {}",
        store.backend(),
        store.schema_version().await?
    );
    Ok(())
}

async fn copy(from: &str, to: &str) -> anyhow::Result<()> {
    let source = open_database(from).await?;
    let target = open_database(to).await?;
    let bars = indicatif::MultiProgress::new();
    let style =
        indicatif::ProgressStyle::with_template("{prefix:>24} {bar:40} {pos}/{len} rows {elapsed}")
            .context("progress template")?;
    let mut current: Option<(store::Table, indicatif::ProgressBar)> = None;
    let report = store::copy_deployment(source.as_ref(), target.as_ref(), |table, done, total| {
        if current.as_ref().is_none_or(|(t, _)| *t != table) {
            if let Some((_, bar)) = current.take() {
                bar.finish();
            }
            let bar = bars.add(indicatif::ProgressBar::new(total).with_style(style.clone()));
            bar.set_prefix(table.name());
            current = Some((table, bar));
        }
        if let Some((_, bar)) = &current {
            bar.set_length(total);
            bar.set_position(done);
        }
    })
    .await?;
    if let Some((_, bar)) = current {
        bar.finish();
    }
    let rows: u64 = report.tables.iter().map(|(_, n)| n).sum();
    println!(
        "copied {rows} rows from {} to {}; point --database at the target and start serve with the same master key",
        store::redact_url(from),
        store::redact_url(to)
    );
    Ok(())
}

/// Administration needs the database only: no master key, since no CA key is touched.
async fn admin_authority(database_url: &str) -> anyhow::Result<Arc<Authority>> {
    Ok(Authority::new(open_database(database_url).await?, Config::default()).await?)
}

async fn zone(database_url: &str, command: ZoneCommand) -> anyhow::Result<()> {
    let authority = admin_authority(database_url).await?;
    match command {
        ZoneCommand::Create { name, account } => {
            let zone = authority
                .create_zone(&name, account.as_deref(), Actor::new(ActorKind::Cli))
                .await?;
            println!("{}", zone.id);
        }
        ZoneCommand::List => {
            for zone in authority.store().list_zones().await? {
                println!("{}\t{}\t{}", zone.id, zone.account_id, zone.name);
            }
        }
    }
    Ok(())
}

async fn token(database_url: &str, command: TokenCommand) -> anyhow::Result<()> {
    let authority = admin_authority(database_url).await?;
    match command {
        TokenCommand::Create(args) => {
            let target = match args.account {
                Some(account) => TokenTarget::Account(account),
                None => TokenTarget::Zones(args.zone),
            };
            let request = NewTokenRequest {
                target,
                permission: match args.permission {
                    PermissionArg::Read => Permission::Read,
                    PermissionArg::Edit => Permission::Edit,
                },
                name: args.name,
                expires_in: args
                    .expires_in
                    .map(time::Duration::try_from)
                    .transpose()
                    .context("expiry too long")?,
                legacy_email: args.email,
            };
            let (_, secret) = authority
                .create_token(request, Actor::new(ActorKind::Cli))
                .await?;
            println!("{secret}");
        }
        TokenCommand::List => {
            for token in authority.store().list_tokens().await? {
                let scope = match &token.scope {
                    TokenScope::Account => format!("account:{}", token.account_id),
                    TokenScope::Zones(zones) => format!("zones:{}", zones.join(",")),
                };
                let state = if token.revoked_at.is_some() {
                    "revoked".to_string()
                } else {
                    token.expires_at.map_or("active".into(), |at| {
                        format!("expires {}", api::dto::timestamp(at))
                    })
                };
                let kind = token
                    .email
                    .as_deref()
                    .map_or("token".to_string(), |e| format!("key:{e}"));
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    token.id,
                    token.permission.as_str(),
                    scope,
                    kind,
                    state,
                    token.name
                );
            }
        }
        TokenCommand::Revoke { id } => {
            authority
                .revoke_token(&id, Actor::new(ActorKind::Cli))
                .await?;
            eprintln!("revoked token {id}");
        }
    }
    Ok(())
}
