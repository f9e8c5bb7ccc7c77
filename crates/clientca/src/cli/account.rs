//! `clientca account create|list`: tenants. Each account has its own CA, zones and tokens.

use authority::CaKeyAlgorithm;
use clap::Subcommand;
use time::format_description::well_known::Rfc3339;

use super::{GlobalArgs, admin_authority, cli_actor, keyed_authority};

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account; prints only its id.
    Create {
        /// A label for listings.
        #[arg(long, default_value = "account")]
        name: String,
        /// Create the account's managed CA now, with this key type (p256, p384 or ed25519),
        /// instead of on first use with the server's `--ca-key`. Needs the master key.
        #[arg(long)]
        ca_key: Option<CaKeyAlgorithm>,
    },
    /// List accounts: id, creation time, name.
    List,
}

pub(super) async fn run(global: &GlobalArgs, command: AccountCommand) -> anyhow::Result<()> {
    match command {
        AccountCommand::Create {
            name,
            ca_key: Some(algorithm),
        } => {
            // --ca-key creates the CA now: the key is checked before anything is written.
            let authority = keyed_authority(global).await?;
            let account = authority.create_account(&name, None, cli_actor()).await?;
            authority.create_account_ca(&account.id, algorithm).await?;
            println!("{}", account.id);
        }
        AccountCommand::Create { name, ca_key: None } => {
            let authority = admin_authority(global).await?;
            let account = authority.create_account(&name, None, cli_actor()).await?;
            println!("{}", account.id);
        }
        AccountCommand::List => {
            let authority = admin_authority(global).await?;
            for account in authority.accounts().await? {
                println!(
                    "{}\t{}\t{}",
                    account.id,
                    account.created_at.format(&Rfc3339)?,
                    account.name
                );
            }
        }
    }
    Ok(())
}
