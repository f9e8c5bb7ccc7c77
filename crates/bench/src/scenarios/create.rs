//! `create`: POST creates against a freshly started server; throughput, latency, server RSS.

use anyhow::Context;
use hyper::Method;
use serde_json::json;

use super::common::{
    KeyType, LoadArgs, ServerArgs, certificates_url, csr_for, idle_rss, memory_line, print_report,
    secs, start_server,
};
use crate::load::{self, Call};

#[derive(Debug, clap::Args)]
pub(crate) struct CreateArgs {
    #[arg(long, value_enum, default_value_t = KeyType::P256)]
    key: KeyType,
    #[command(flatten)]
    load: LoadArgs,
    #[command(flatten)]
    server: ServerArgs,
}

pub(crate) async fn run(CreateArgs { key, load, server }: CreateArgs) -> anyhow::Result<()> {
    let (server, _dir) = start_server(&server, &[])?;
    let idle = idle_rss(server.pid()).await;
    let token = server.token.clone().context("token")?;
    let url = certificates_url(&server)?;
    let body = serde_json::to_vec(&json!({"csr": csr_for(key), "validity_days": 30}))?;
    let call = Call::new(Method::POST, url)
        .header("authorization", &format!("Bearer {token}"))
        .json(body);
    let report = load::run(
        load.concurrency,
        secs(load.warmup),
        secs(load.seconds),
        move |_, _| call.clone(),
    )
    .await;
    print_report(
        &format!("create key={key:?}"),
        load.concurrency,
        &report,
        &memory_line(server.pid(), idle),
    );
    Ok(())
}
