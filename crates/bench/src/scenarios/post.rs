//! `post`: POST a fixed body to any URL — the peer benchmark (cfssl's /api/v1/cfssl/sign).

use std::path::PathBuf;

use anyhow::Context;
use hyper::Method;

use super::common::{LoadArgs, memory_line, print_report, secs};
use crate::load::{self, Call};
use crate::rss;

#[derive(Debug, clap::Args)]
pub(crate) struct PostArgs {
    #[arg(long)]
    url: String,
    #[arg(long)]
    body_file: PathBuf,
    /// `Name: value`, repeatable.
    #[arg(long)]
    header: Vec<String>,
    /// The server's pid, to report its memory.
    #[arg(long)]
    pid: Option<u32>,
    #[command(flatten)]
    load: LoadArgs,
}

pub(crate) async fn run(args: PostArgs) -> anyhow::Result<()> {
    let PostArgs {
        url,
        body_file,
        header,
        pid,
        load,
    } = args;
    let body = std::fs::read(&body_file).with_context(|| format!("{}", body_file.display()))?;
    let mut call = Call::new(Method::POST, url).json(body);
    for header in header {
        let (name, value) = header
            .split_once(':')
            .context("--header takes `Name: value`")?;
        call = call.header(name.trim(), value.trim());
    }
    let idle = pid
        .map(rss::of_process)
        .map(|(current, _)| current)
        .unwrap_or(0);
    let report = load::run(
        load.concurrency,
        secs(load.warmup),
        secs(load.seconds),
        move |_, _| call.clone(),
    )
    .await;
    let memory = pid.map(|pid| memory_line(pid, idle)).unwrap_or_default();
    print_report("post", load.concurrency, &report, &memory);
    Ok(())
}
