//! Moving a deployment between databases (e.g. SQLite → PostgreSQL) without losing a row.

use crate::{DeploymentStore, StoreError, StoreResult, Table};

/// Rows per read/insert round trip.
const PAGE: u32 = 2_000;

/// CRLs can be tens of megabytes each: copy one CA's CRLs at a time.
fn page_size(table: Table) -> u32 {
    match table {
        Table::Crls => 1,
        _ => PAGE,
    }
}

/// Rows copied per table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    pub tables: Vec<(Table, u64)>,
}

/// Copy every table from `source` into the empty `target`, then check the counts match.
///
/// `progress(table, copied, total)` is called after each page. Rows keep their ids, secret
/// hashes, sealed keys and audit ids, so the target works with the same master key and tokens.
/// Each page is its own transaction: run it while no server writes to `source`.
pub async fn copy_deployment(
    source: &dyn DeploymentStore,
    target: &dyn DeploymentStore,
    mut progress: impl FnMut(Table, u64, u64),
) -> StoreResult<CopyReport> {
    for table in Table::ALL {
        if target.count_rows(table).await? > 0 {
            return Err(StoreError::Conflict(format!(
                "the target database already has {} rows; copy needs an empty target",
                table.name()
            )));
        }
    }
    let mut report = CopyReport::default();
    for table in Table::ALL {
        let total = source.count_rows(table).await?;
        let mut copied = 0;
        let mut after = String::new();
        progress(table, 0, total);
        loop {
            let (rows, cursor) = source.export_rows(table, &after, page_size(table)).await?;
            if rows.is_empty() {
                break;
            }
            target.import_rows(&rows).await?;
            copied += rows.len() as u64;
            progress(table, copied, total.max(copied));
            match cursor {
                Some(next) => after = next,
                None => break,
            }
        }
        let landed = target.count_rows(table).await?;
        if landed != copied {
            return Err(StoreError::Corrupt(format!(
                "{}: copied {copied} rows but the target holds {landed}",
                table.name()
            )));
        }
        report.tables.push((table, copied));
    }
    target.analyze().await?;
    Ok(report)
}
