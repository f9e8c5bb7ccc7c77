//! `handshakes`: full mTLS handshakes per second against a TLS server (the gateway, or nginx as
//! the peer) — each connection: TCP connect, a TLS 1.3 handshake without resumption presenting
//! the client certificate, `GET /` (so the server's verdict on the certificate is in), close.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

use super::common::{LoadArgs, drive_and_report};
use crate::load::{Gate, Tally};
use crate::rss;
use crate::tls::{self, Target};

#[derive(Debug, clap::Args)]
pub(crate) struct HandshakesArgs {
    /// host:port to connect to.
    #[arg(long)]
    address: SocketAddr,
    /// The TLS server name (and Host header).
    #[arg(long)]
    sni: String,
    /// PEM of the CA the server's certificate chains to.
    #[arg(long)]
    server_ca: PathBuf,
    /// Client certificate (PEM chain) and key (PEM).
    #[arg(long)]
    cert: PathBuf,
    #[arg(long)]
    key: PathBuf,
    /// The server's processes, to report their memory (summed).
    #[arg(long)]
    pid: Vec<u32>,
    #[arg(long, default_value = "handshakes")]
    label: String,
    #[command(flatten)]
    load: LoadArgs,
}

pub(crate) async fn run(args: HandshakesArgs) -> anyhow::Result<()> {
    let target = Target::new(args.address, &args.sni)?;
    let chain = std::fs::read(&args.cert).context("--cert")?;
    let key = std::fs::read(&args.key).context("--key")?;
    let config = tls::client_config(&args.server_ca, Some((&chain, &key)), false)?;
    let idle = rss::of_processes(&args.pid).0;
    let gate = Gate::default();
    let workers = (0..args.load.concurrency)
        .map(|_| {
            let (gate, target, config) = (gate.clone(), target.clone(), Arc::clone(&config));
            tokio::spawn(async move {
                let mut tally = Tally::default();
                while !gate.stopped() {
                    let started = Instant::now();
                    let result = async {
                        let mut stream = tls::connect(&target, &config).await?;
                        tls::get(&mut stream, &target.host, true).await
                    }
                    .await;
                    let result = match result {
                        Ok(200) => Ok(()),
                        Ok(status) => Err(format!("status {status}")),
                        Err(error) => Err(error.to_string()),
                    };
                    tally.record(&gate, started.elapsed(), result);
                }
                tally
            })
        })
        .collect();
    drive_and_report(&args.label, &args.load, &args.pid, idle, gate, workers).await;
    Ok(())
}
