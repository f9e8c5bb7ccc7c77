//! `clientca copy --from URL --to URL`: move a whole deployment into an empty database.

use anyhow::Context;
use authority::Table;
use clap::Args;

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// Source database URL (stop servers writing to it first).
    #[arg(long)]
    pub from: String,
    /// Target database URL; must be empty.
    #[arg(long)]
    pub to: String,
}

pub(super) async fn run(args: CopyArgs) -> anyhow::Result<()> {
    let bars = indicatif::MultiProgress::new();
    let style =
        indicatif::ProgressStyle::with_template("{prefix:>24} {bar:40} {pos}/{len} rows {elapsed}")
            .context("progress template")?;
    let mut current: Option<(Table, indicatif::ProgressBar)> = None;
    let report = authority::copy_deployment(&args.from, &args.to, |table, done, total| {
        if current.as_ref().is_none_or(|(t, _)| *t != table) {
            if let Some((_, bar)) = current.take() {
                bar.finish();
            }
            let bar = bars.add(indicatif::ProgressBar::new(total).with_style(style.clone()));
            bar.set_prefix(table.name());
            current = Some((table, bar));
        }
        if let Some((_, bar)) = &current {
            bar.set_length(total);
            bar.set_position(done);
        }
    })
    .await
    .context("copy failed")?;
    if let Some((_, bar)) = current {
        bar.finish();
    }
    let rows: u64 = report.tables.iter().map(|(_, n)| n).sum();
    println!(
        "copied {rows} rows from {} to {}; point --database at the target and start serve with the same master key",
        authority::redact_url(&args.from),
        authority::redact_url(&args.to)
    );
    Ok(())
}
