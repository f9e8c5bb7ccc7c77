//! `clientca audit verify`: check the audit log's hash chain.

use clap::Subcommand;

use super::{GlobalArgs, admin_authority};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Seal pending events, then recompute the whole hash chain; exits non-zero if any event was
    /// edited or deleted. Prints the chain head: record it elsewhere to detect truncation later.
    Verify,
}

pub(super) async fn run(global: &GlobalArgs, command: AuditCommand) -> anyhow::Result<()> {
    let AuditCommand::Verify = command;
    let authority = admin_authority(global).await?;
    let sealed_now = authority.seal_audit_log().await?;
    let report = authority.verify_audit_chain().await?;
    let head = report
        .head
        .as_ref()
        .map_or("none".to_string(), |(seq, hash)| format!("#{seq} {hash}"));
    match report.problem {
        None => {
            println!(
                "audit log intact: {} events chained (sealed {sealed_now} just now, {} still unsealed); head {head}",
                report.sealed, report.unsealed
            );
            Ok(())
        }
        Some(problem) => anyhow::bail!(
            "audit log TAMPERED: {problem} ({} events before it verified)",
            report.sealed
        ),
    }
}
