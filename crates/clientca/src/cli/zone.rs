//! `clientca zone create|list`.

use anyhow::Context;
use authority::AccountId;
use clap::Subcommand;

use super::{GlobalArgs, admin_authority, cli_actor};

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

pub(super) async fn run(global: &GlobalArgs, command: ZoneCommand) -> anyhow::Result<()> {
    let authority = admin_authority(global).await?;
    match command {
        ZoneCommand::Create { name, account } => {
            let account = account
                .map(|id| id.parse::<AccountId>())
                .transpose()
                .context("--account")?;
            let zone = authority
                .create_zone(&name, account.as_ref(), cli_actor())
                .await?;
            println!("{}", zone.id);
        }
        ZoneCommand::List => {
            for zone in authority.zones().await? {
                println!("{}\t{}\t{}", zone.id, zone.account_id, zone.name);
            }
        }
    }
    Ok(())
}
