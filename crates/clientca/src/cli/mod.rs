//! Command-line interface: `serve`, plus administration of a database. One module per command.

pub mod account;
pub mod audit;
pub mod backup;
pub mod ca;
mod completions;
pub mod copy;
pub mod gateway;
pub mod master_key;
pub mod migrate;
pub mod serve;
pub mod token;
pub mod zone;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use authority::{Actor, ActorKind, Authority, Config};
use clap::{Args, Parser, Subcommand, ValueEnum};

pub use serve::ServeArgs;

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

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API server and the publication worker.
    Serve(Box<ServeArgs>),
    /// Run the mTLS gateway: enforce the client certificates on the hostnames zones associate.
    Gateway(gateway::GatewayArgs),
    /// Manage accounts (tenants): each has its own CA, zones and tokens.
    #[command(subcommand)]
    Account(account::AccountCommand),
    /// An account's issuing CAs: list, rotate, import your own (needs the master key).
    #[command(subcommand)]
    Ca(ca::CaCommand),
    /// Manage zones.
    #[command(subcommand)]
    Zone(zone::ZoneCommand),
    /// Manage API tokens and legacy keys.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Apply database migrations and report the schema version (serve also migrates on start).
    Migrate,
    /// Inspect the audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Manage the master key that seals CA private keys.
    #[command(subcommand)]
    MasterKey(master_key::MasterKeyCommand),
    /// Copy a whole deployment into an empty database, e.g. from SQLite to PostgreSQL.
    Copy(copy::CopyArgs),
    /// Write a consistent copy of the SQLite database to a new file, while `serve` keeps running.
    Backup(backup::BackupArgs),
    /// Print a shell completion script (e.g. `clientca completions bash > /etc/bash_completion.d/clientca`).
    Completions { shell: clap_complete::Shell },
    /// Print the manual page (roff), e.g. `clientca man > /usr/local/share/man/man1/clientca.1`.
    Man,
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        let global = self.global;
        match self.command {
            Command::Serve(args) => serve::run(&global, *args).await,
            Command::Gateway(args) => gateway::run(&global, args).await,
            Command::Account(command) => account::run(&global, command).await,
            Command::Ca(command) => ca::run(&global, command).await,
            Command::Zone(command) => zone::run(&global, command).await,
            Command::Token(command) => token::run(&global, command).await,
            Command::Migrate => migrate::run(&global).await,
            Command::Audit(command) => audit::run(&global, command).await,
            Command::MasterKey(command) => master_key::run(&global, command).await,
            Command::Copy(args) => copy::run(args).await,
            Command::Backup(args) => backup::run(&global, args).await,
            Command::Completions { shell } => completions::completions(shell),
            Command::Man => completions::man(),
        }
    }
}

/// For commands that create or load CA keys: the master key from CLIENTCA_MASTER_KEY or
/// <data-dir>/master.key, checked against the database before anything is written.
async fn keyed_authority(global: &GlobalArgs) -> anyhow::Result<Arc<Authority>> {
    let master_key = crate::master_key_file::load(&global.default_master_key_file(), false)?
        .context(
            "this command needs the master key: set CLIENTCA_MASTER_KEY or keep it in \
             <data-dir>/master.key",
        )?;
    let config = Config {
        master_key: Some(master_key),
        ..Config::default()
    };
    crate::open(&global.database_url(), config).await
}

/// Administration needs the database only: no master key, since no CA key is touched.
async fn admin_authority(global: &GlobalArgs) -> anyhow::Result<Arc<Authority>> {
    crate::open(&global.database_url(), Config::default()).await
}

/// Changes made from the command line are audited as the CLI's.
fn cli_actor() -> Actor {
    Actor::new(ActorKind::Cli)
}
