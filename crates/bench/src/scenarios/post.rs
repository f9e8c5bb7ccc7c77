//! `post`: POST fixed bodies to any URL — the peer benchmarks (cfssl's /api/v1/cfssl/sign, OCSP
//! responders).

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
    /// Repeatable: the calls go through the bodies in turn.
    #[arg(long, required = true)]
    body_file: Vec<PathBuf>,
    #[arg(long, default_value = "application/json")]
    content_type: String,
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
        content_type,
        header,
        pid,
        load,
    } = args;
    let mut call = Call::new(Method::POST, url).header("content-type", &content_type);
    for header in header {
        let (name, value) = header
            .split_once(':')
            .context("--header takes `Name: value`")?;
        call = call.header(name.trim(), value.trim());
    }
    let calls = body_file
        .iter()
        .map(|path| {
            let body = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
            Ok(call.clone().body(body))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let idle = pid
        .map(rss::of_process)
        .map(|(current, _)| current)
        .unwrap_or(0);
    let report = load::run(
        load.concurrency,
        secs(load.warmup),
        secs(load.seconds),
        // Workers start at different bodies and each walks through all of them.
        move |worker, n| calls[(worker * 7 + n) % calls.len()].clone(),
    )
    .await;
    let memory = pid.map(|pid| memory_line(pid, idle)).unwrap_or_default();
    print_report("post", load.concurrency, &report, &memory);
    Ok(())
}
