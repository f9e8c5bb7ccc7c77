//! `revoke-cycle`: revoke then reactivate (inside the publication window), over and over.

use anyhow::Context;
use hyper::Method;

use super::common::{
    LoadArgs, ServerArgs, certificates_url, idle_rss, memory_line, precreate, print_report, secs,
    start_server,
};
use crate::load::{self, Call};

#[derive(Debug, clap::Args)]
pub(crate) struct RevokeCycleArgs {
    #[command(flatten)]
    load: LoadArgs,
    #[command(flatten)]
    server: ServerArgs,
}

pub(crate) async fn run(RevokeCycleArgs { load, server }: RevokeCycleArgs) -> anyhow::Result<()> {
    // A long publication interval: revocations stay undoable, so the cycle never hits "final".
    let (server, _dir) = start_server(&server, &["--publish-interval", "1h"])?;
    let idle = idle_rss(server.pid()).await;
    let ids = precreate(&server, load.concurrency * 8).await?;
    let base = certificates_url(&server)?;
    let auth = format!("Bearer {}", server.token.clone().context("token")?);
    let per_worker = 8;
    let report = load::run(
        load.concurrency,
        secs(load.warmup),
        secs(load.seconds),
        move |worker, n| {
            let id = &ids[worker * per_worker + (n / 2) % per_worker];
            let url = format!("{base}/{id}");
            if n % 2 == 0 {
                Call::new(Method::DELETE, url).header("authorization", &auth)
            } else {
                Call::new(Method::PATCH, url)
                    .header("authorization", &auth)
                    .json(b"{}".to_vec())
            }
        },
    )
    .await;
    print_report(
        "revoke+reactivate",
        load.concurrency,
        &report,
        &memory_line(server.pid(), idle),
    );
    Ok(())
}
