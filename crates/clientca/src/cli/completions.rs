//! `clientca completions bash|zsh|fish|…` and `clientca man`: generated from the same clap
//! definitions as the parser, so they never disagree with it.

use clap::CommandFactory;
use clap_complete::Shell;

use super::Cli;

pub(super) fn completions(shell: Shell) -> anyhow::Result<()> {
    clap_complete::generate(
        shell,
        &mut Cli::command(),
        "clientca",
        &mut std::io::stdout(),
    );
    Ok(())
}

pub(super) fn man() -> anyhow::Result<()> {
    clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
    Ok(())
}
