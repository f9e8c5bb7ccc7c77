//! `clientca backup --to FILE`: a consistent copy of a live SQLite database (restore: see README,
//! Backups). PostgreSQL deployments use pg_dump or base backups instead.

use std::path::PathBuf;

use clap::Args;

use super::{GlobalArgs, admin_authority};

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The new backup file (must not exist; created mode 0600). Keep the master key apart from it.
    #[arg(long)]
    to: PathBuf,
}

pub(super) async fn run(global: &GlobalArgs, args: BackupArgs) -> anyhow::Result<()> {
    let authority = admin_authority(global).await?;
    let counts = authority.backup_to(&args.to).await?;
    let summary: Vec<String> = counts
        .iter()
        .map(|(table, rows)| format!("{rows} {}", table.name()))
        .collect();
    println!("backed up to {}: {}", args.to.display(), summary.join(", "));
    Ok(())
}
