//! `clientca migrate`: apply migrations and report the schema version.

use super::{GlobalArgs, admin_authority};

pub(super) async fn run(global: &GlobalArgs) -> anyhow::Result<()> {
    let authority = admin_authority(global).await?;
    println!(
        "{} schema at version {}",
        authority.database_kind(),
        authority.schema_version().await?
    );
    Ok(())
}
