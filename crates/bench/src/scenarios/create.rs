//! `create`: POST creates against a freshly started server; throughput, latency, server RSS.

use std::path::PathBuf;

use anyhow::Context;
use hyper::Method;
use serde_json::json;

use super::common::{
    KeyType, LoadArgs, Seeded, ServerArgs, certificates_url, csr_for, idle_rss, memory_line,
    print_report, secs, start_server,
};
use crate::load::{self, Call};
use crate::server::Server;

#[derive(Debug, clap::Args)]
pub(crate) struct CreateArgs {
    #[arg(long, value_enum, default_value_t = KeyType::P256)]
    key: KeyType,
    #[command(flatten)]
    load: LoadArgs,
    #[command(flatten)]
    server: ServerArgs,
    /// Create into the zone of a seeded database (the JSON file `seed` wrote) instead of a fresh one.
    #[arg(long, conflicts_with = "database")]
    seed: Option<PathBuf>,
}

pub(crate) async fn run(args: CreateArgs) -> anyhow::Result<()> {
    let CreateArgs {
        key,
        load,
        server,
        seed,
    } = args;
    let (server, token, url, _dir) = match seed {
        Some(seed) => {
            let seeded = Seeded::read(&seed)?;
            let binary = server.server.unwrap_or_else(crate::server::default_binary);
            let mut started = Server::start(&binary, &seeded.env, &[])?;
            started.zone_id = Some(seeded.zone_id);
            let url = certificates_url(&started)?;
            (started, seeded.token, url, None)
        }
        None => {
            let (started, dir) = start_server(&server, &[])?;
            let token = started.token.clone().context("token")?;
            let url = certificates_url(&started)?;
            (started, token, url, dir)
        }
    };
    let idle = idle_rss(server.pid()).await;
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
