//! `clientca account create|list`: tenants. Each account has its own CA, zones and tokens.

use clap::Subcommand;
use time::format_description::well_known::Rfc3339;

use super::{GlobalArgs, admin_authority, cli_actor};

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account; prints only its id.
    Create {
        /// A label for listings.
        #[arg(long, default_value = "account")]
        name: String,
    },
    /// List accounts: id, creation time, name.
    List,
}

pub(super) async fn run(global: &GlobalArgs, command: AccountCommand) -> anyhow::Result<()> {
    let authority = admin_authority(global).await?;
    match command {
        AccountCommand::Create { name } => {
            let account = authority.create_account(&name, None, cli_actor()).await?;
            println!("{}", account.id);
        }
        AccountCommand::List => {
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
