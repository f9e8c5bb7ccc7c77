//! `clientca completions bash|zsh|fish|…` and `clientca man`: generated from the same clap
//! definitions as the parser, so they never disagree with it.

use std::io::Write;

use clap::CommandFactory;
use clap_complete::Shell;

use super::Cli;

pub(super) fn completions(shell: Shell) -> anyhow::Result<()> {
    let mut text = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "clientca", &mut text);
    print_all(&text)
}

pub(super) fn man() -> anyhow::Result<()> {
    let mut text = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut text)?;
    print_all(&text)
}

/// Write to stdout; a reader that stopped early (`clientca man | head`) is not an error.
fn print_all(text: &[u8]) -> anyhow::Result<()> {
    match std::io::stdout().lock().write_all(text) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
