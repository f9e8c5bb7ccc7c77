//! `mixed`: 10% creates, 50% details, 30% list page 1, 10% revoke/reactivate.

use anyhow::Context;
use hyper::Method;
use serde_json::json;

use super::common::{
    LoadArgs, ServerArgs, certificates_url, idle_rss, memory_line, p256_csr, precreate,
    print_report, secs, start_server,
};
use crate::load::{self, Call};

#[derive(Debug, clap::Args)]
pub(crate) struct MixedArgs {
    #[command(flatten)]
    load: LoadArgs,
    #[command(flatten)]
    server: ServerArgs,
}

pub(crate) async fn run(MixedArgs { load, server }: MixedArgs) -> anyhow::Result<()> {
    let (server, _dir) = start_server(&server, &["--publish-interval", "1h"])?;
    let idle = idle_rss(server.pid()).await;
    let ids = precreate(&server, 1000).await?;
    let base = certificates_url(&server)?;
    let auth = format!("Bearer {}", server.token.clone().context("token")?);
    let create_body = serde_json::to_vec(&json!({"csr": p256_csr(), "validity_days": 30}))?;
    let report = load::run(
        load.concurrency,
        secs(load.warmup),
        secs(load.seconds),
        move |worker, n| {
            let id = &ids[(worker * 31 + n * 17) % ids.len()];
            let call = match n % 10 {
                0 => Call::new(Method::POST, base.clone()).json(create_body.clone()),
                1..=5 => Call::new(Method::GET, format!("{base}/{id}")),
                6..=8 => Call::new(Method::GET, format!("{base}?per_page=50")),
                // Revoke on even rounds, reactivate on odd ones: always the same certificate pair.
                _ if (n / 10) % 2 == 0 => Call::new(
                    Method::DELETE,
                    format!("{base}/{}", ids[worker % ids.len()]),
                ),
                _ => Call::new(Method::PATCH, format!("{base}/{}", ids[worker % ids.len()]))
                    .json(b"{}".to_vec()),
            };
            call.header("authorization", &auth)
        },
    )
    .await;
    print_report(
        "mixed",
        load.concurrency,
        &report,
        &memory_line(server.pid(), idle),
    );
    Ok(())
}
