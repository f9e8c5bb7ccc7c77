//! `clientca token create|list|revoke`.

use std::time::Duration;

use anyhow::Context;
use authority::{AccountId, NewTokenRequest, Permission, TokenId, TokenScope, TokenTarget, ZoneId};
use clap::{Args, Subcommand, ValueEnum};
use time::format_description::well_known::Rfc3339;

use super::{GlobalArgs, admin_authority, cli_actor};
use crate::duration::parse_duration;

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

pub(super) async fn run(global: &GlobalArgs, command: TokenCommand) -> anyhow::Result<()> {
    let authority = admin_authority(global).await?;
    match command {
        TokenCommand::Create(args) => {
            let target = match args.account {
                Some(account) => {
                    TokenTarget::Account(account.parse::<AccountId>().context("--account")?)
                }
                None => TokenTarget::Zones(
                    args.zone
                        .iter()
                        .map(|zone| zone.parse::<ZoneId>())
                        .collect::<Result<_, _>>()
                        .context("--zone")?,
                ),
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
            let (_, secret) = authority.create_token(request, cli_actor()).await?;
            println!("{secret}");
        }
        TokenCommand::List => {
            for token in authority.tokens().await? {
                let scope = match &token.scope {
                    TokenScope::Account => format!("account:{}", token.account_id),
                    TokenScope::Zones(zones) => {
                        let zones: Vec<&str> = zones.iter().map(ZoneId::as_str).collect();
                        format!("zones:{}", zones.join(","))
                    }
                };
                let state = match (token.revoked_at, token.expires_at) {
                    (Some(_), _) => "revoked".to_string(),
                    (None, Some(at)) => format!("expires {}", at.format(&Rfc3339)?),
                    (None, None) => "active".to_string(),
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
            let id: TokenId = id.parse()?;
            authority.revoke_token(&id, cli_actor()).await?;
            eprintln!("revoked token {id}");
        }
    }
    Ok(())
}
