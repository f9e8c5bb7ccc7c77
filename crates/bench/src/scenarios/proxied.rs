//! `proxied`: keep-alive `GET /` requests through a TLS proxy (the gateway, or nginx as the
//! peer) presenting a client certificate — or, with `--plain`, straight to the origin over HTTP,
//! the baseline the proxy's added latency is measured against. Closed loop by default; with
//! `--rate`, each worker sends on a fixed schedule and latency counts from the scheduled time
//! (a late send is waiting too).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use super::common::{LoadArgs, drive_and_report};
use crate::load::{Gate, Tally};
use crate::rss;
use crate::tls::{self, Target};

#[derive(Debug, clap::Args)]
pub(crate) struct ProxiedArgs {
    /// host:port to connect to.
    #[arg(long)]
    address: SocketAddr,
    /// The TLS server name (and Host header).
    #[arg(long)]
    sni: String,
    /// PEM of the CA the server's certificate chains to (not with --plain).
    #[arg(long)]
    server_ca: Option<PathBuf>,
    /// Client certificate (PEM chain) and key (PEM), if the host asks for one.
    #[arg(long)]
    cert: Option<PathBuf>,
    #[arg(long)]
    key: Option<PathBuf>,
    /// Plain HTTP (to the origin directly).
    #[arg(long)]
    plain: bool,
    /// Requests per second in all, spread over the connections (default: as fast as answered).
    #[arg(long)]
    rate: Option<f64>,
    /// The server's processes, to report their memory (summed).
    #[arg(long)]
    pid: Vec<u32>,
    #[arg(long, default_value = "proxied")]
    label: String,
    #[command(flatten)]
    load: LoadArgs,
}

/// A TLS or plain connection, one per worker.
enum Stream {
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    Plain(TcpStream),
}

pub(crate) async fn run(args: ProxiedArgs) -> anyhow::Result<()> {
    let target = Target::new(args.address, &args.sni)?;
    let config = match (&args.server_ca, args.plain) {
        (_, true) => None,
        (Some(ca), false) => {
            let identity = match (&args.cert, &args.key) {
                (Some(cert), Some(key)) => Some((std::fs::read(cert)?, std::fs::read(key)?)),
                _ => None,
            };
            let identity = identity.as_ref().map(|(c, k)| (c.as_slice(), k.as_slice()));
            Some(tls::client_config(ca, identity, true)?)
        }
        (None, false) => anyhow::bail!("--server-ca is needed unless --plain"),
    };
    let interval = args
        .rate
        .map(|rate| Duration::from_secs_f64(args.load.concurrency as f64 / rate));
    let idle = rss::of_processes(&args.pid).0;
    let gate = Gate::default();
    let mut workers = Vec::new();
    for worker in 0..args.load.concurrency {
        let mut stream = match &config {
            Some(config) => Stream::Tls(Box::new(tls::connect(&target, config).await?)),
            None => Stream::Plain(TcpStream::connect(target.address).await?),
        };
        let (gate, host) = (gate.clone(), target.host.clone());
        // Paced workers start spread over one interval, not in lockstep.
        let offset = interval.map_or(Duration::ZERO, |i| {
            i.mul_f64(worker as f64 / args.load.concurrency as f64)
        });
        workers.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut due = Instant::now() + offset;
            while !gate.stopped() {
                if interval.is_some() {
                    tokio::time::sleep_until(due.into()).await;
                }
                let started = if interval.is_some() {
                    due
                } else {
                    Instant::now()
                };
                let status = match &mut stream {
                    Stream::Tls(stream) => tls::get(stream.as_mut(), &host, false).await,
                    Stream::Plain(stream) => tls::get(stream, &host, false).await,
                };
                let result = match status {
                    Ok(200) => Ok(()),
                    Ok(status) => Err(format!("status {status}")),
                    Err(error) => Err(error.to_string()),
                };
                let broken = result.is_err();
                tally.record(&gate, started.elapsed(), result);
                if broken {
                    break;
                }
                if let Some(interval) = interval {
                    due += interval;
                }
            }
            tally
        }));
    }
    drive_and_report(&args.label, &args.load, &args.pid, idle, gate, workers).await;
    Ok(())
}
