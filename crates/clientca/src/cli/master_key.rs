//! `clientca master-key rotate`: re-seal every CA key under a new master key.

use std::path::{Path, PathBuf};

use anyhow::Context;
use authority::Config;
use clap::Subcommand;

use super::{GlobalArgs, cli_actor};
use crate::master_key_file;

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

pub(super) async fn run(global: &GlobalArgs, command: MasterKeyCommand) -> anyhow::Result<()> {
    let MasterKeyCommand::Rotate {
        master_key_file,
        new_key_file,
    } = command;
    let current_file = master_key_file.unwrap_or_else(|| global.default_master_key_file());
    let current = master_key_file::load(&current_file, false)?
        .context("no current master key: set CLIENTCA_MASTER_KEY or --master-key-file")?;
    let from_env = std::env::var(master_key_file::ENV_VAR).is_ok();
    let target = match (&new_key_file, from_env) {
        (Some(path), _) => path.clone(),
        (None, true) => anyhow::bail!(
            "the current key comes from {}: say where the new one goes with --new-key-file",
            master_key_file::ENV_VAR
        ),
        (None, false) => with_suffix(&current_file, ".new"),
    };
    // The new key is on disk before the database expects it, so a crash in between loses nothing.
    let new = master_key_file::create(&target)?;
    let config = Config {
        master_key: Some(current),
        ..Config::default()
    };
    let authority = crate::open(&global.database_url(), config).await?;
    let count = authority.rotate_master_key(&new, cli_actor()).await?;
    if new_key_file.is_none() {
        let old = with_suffix(&current_file, ".old");
        std::fs::rename(&current_file, &old)?;
        std::fs::rename(&target, &current_file)?;
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

/// `path` with `suffix` appended to its file name (`master.key` → `master.key.old`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}
