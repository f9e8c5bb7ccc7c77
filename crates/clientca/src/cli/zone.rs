//! `clientca zone create|list|quota`.

use anyhow::Context;
use authority::{AccountId, UNLIMITED, ZoneId};
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
    /// Show a zone's certificate quota, or set it: a number of certificates that are not revoked,
    /// `unlimited` (even when the server has a default), or `default` (the server's
    /// --max-certificates-per-zone). Running servers apply it within --token-cache-ttl.
    Quota {
        /// Zone id (32 hex).
        zone: String,
        /// New quota: N, unlimited or default.
        #[arg(long, value_parser = parse_quota)]
        max_certificates: Option<QuotaSetting>,
    },
}

/// What `zone quota --max-certificates` sets.
#[derive(Debug, Clone, Copy)]
pub enum QuotaSetting {
    Limit(u64),
    Default,
}

fn parse_quota(text: &str) -> Result<QuotaSetting, String> {
    match text {
        "default" => Ok(QuotaSetting::Default),
        "unlimited" => Ok(QuotaSetting::Limit(UNLIMITED)),
        number => number
            .parse::<u64>()
            .ok()
            .filter(|limit| *limit < UNLIMITED)
            .map(QuotaSetting::Limit)
            .ok_or_else(|| format!("{text:?} is not a number, unlimited or default")),
    }
}

fn describe(quota: Option<u64>) -> String {
    match quota {
        None => "default".to_string(),
        Some(UNLIMITED) => "unlimited".to_string(),
        Some(limit) => limit.to_string(),
    }
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
        ZoneCommand::Quota {
            zone,
            max_certificates,
        } => {
            let zone = zone.parse::<ZoneId>().context("zone")?;
            if let Some(setting) = max_certificates {
                let limit = match setting {
                    QuotaSetting::Limit(limit) => Some(limit),
                    QuotaSetting::Default => None,
                };
                authority.set_zone_quota(&zone, limit, cli_actor()).await?;
            }
            let (own, unrevoked) = authority.zone_quota(&zone).await?;
            println!("max_certificates\t{}", describe(own));
            println!("unrevoked_certificates\t{unrevoked}");
        }
    }
    Ok(())
}
