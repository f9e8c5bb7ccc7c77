//! `clientca ca list|rotate|import|csr|install`: an account's issuing CAs. A rotation or an import makes a
//! new CA current; the one it replaces is retired, not deleted — it keeps publishing CRLs and
//! answering OCSP for the certificates it issued, and the gateway keeps trusting it.

use std::path::{Path, PathBuf};

use anyhow::Context;
use authority::{CaKeyAlgorithm, NewCa};
use clap::Subcommand;
use time::format_description::well_known::Rfc3339;

use super::{GlobalArgs, admin_authority, cli_actor, keyed_authority};

#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// The account's CAs, oldest first: id, current|retired, generation, not-after, name.
    List {
        #[arg(long)]
        account: String,
    },
    /// Make a newly generated CA the account's issuing CA; prints its id.
    Rotate {
        #[arg(long)]
        account: String,
        /// Its key type: p256, p384 or ed25519.
        #[arg(long, default_value_t = CaKeyAlgorithm::P256)]
        ca_key: CaKeyAlgorithm,
    },
    /// Make your own CA — an intermediate under your root, and its key — the account's issuing
    /// CA; prints its id. Leaves then verify up to your root.
    Import {
        #[arg(long)]
        account: String,
        /// The CA certificate (PEM): CA:TRUE, keyCertSign and cRLSign, valid now.
        #[arg(long)]
        cert: PathBuf,
        /// Its private key: unencrypted PKCS#8 PEM (P-256, P-384, Ed25519 or RSA). Stored only
        /// sealed under the master key.
        #[arg(long)]
        key: PathBuf,
        /// The certificates above it up to the root (PEM, issuer first); required unless the
        /// certificate is self-signed.
        #[arg(long)]
        chain: Option<PathBuf>,
    },
    /// The other way round: generate the CA key here (it never leaves, sealed under the master
    /// key) and print a CSR for your root to sign; then `ca install`.
    Csr {
        #[arg(long)]
        account: String,
        /// The key type: p256, p384 or ed25519.
        #[arg(long, default_value_t = CaKeyAlgorithm::P256)]
        ca_key: CaKeyAlgorithm,
        /// The CSR's common name (default: "Issuing CA for account <id>").
        #[arg(long)]
        common_name: Option<String>,
    },
    /// Make the certificate your root signed for a `ca csr` key the account's issuing CA;
    /// prints its id.
    Install {
        #[arg(long)]
        account: String,
        /// The signed CA certificate (PEM).
        #[arg(long)]
        cert: PathBuf,
        /// The certificates above it up to the root (PEM, issuer first).
        #[arg(long)]
        chain: Option<PathBuf>,
    },
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

pub(super) async fn run(global: &GlobalArgs, command: CaCommand) -> anyhow::Result<()> {
    let (account, source) = match command {
        CaCommand::List { account } => return list(global, &account).await,
        CaCommand::Csr {
            account,
            ca_key,
            common_name,
        } => {
            let authority = keyed_authority(global).await?;
            let csr = authority
                .ca_csr(&account.parse()?, ca_key, common_name.as_deref())
                .await?;
            print!("{csr}");
            return Ok(());
        }
        CaCommand::Install {
            account,
            cert,
            chain,
        } => {
            let authority = keyed_authority(global).await?;
            let chain = chain.as_deref().map(read).transpose()?;
            let (ca, _) = authority
                .install_ca(&account.parse()?, &read(&cert)?, chain, cli_actor())
                .await?;
            println!("{}", ca.id);
            return Ok(());
        }
        CaCommand::Rotate { account, ca_key } => (account, NewCa::Generate(ca_key)),
        CaCommand::Import {
            account,
            cert,
            key,
            chain,
        } => {
            let source = NewCa::Import {
                certificate_pem: read(&cert)?,
                private_key_pem: read(&key)?,
                chain_pem: chain.as_deref().map(read).transpose()?,
            };
            (account, source)
        }
    };
    let authority = keyed_authority(global).await?;
    let (ca, _) = authority
        .rotate_ca(&account.parse()?, source, cli_actor())
        .await?;
    println!("{}", ca.id);
    Ok(())
}

/// Listing touches no key: no master key needed.
async fn list(global: &GlobalArgs, account: &str) -> anyhow::Result<()> {
    let authority = admin_authority(global).await?;
    for ca in authority.account_cas(&account.parse()?).await? {
        println!(
            "{}\t{}\t{}\t{}\t{}",
            ca.id,
            if ca.retired_at.is_some() {
                "retired"
            } else {
                "current"
            },
            ca.generation,
            ca.not_after.format(&Rfc3339)?,
            ca.name
        );
    }
    Ok(())
}
