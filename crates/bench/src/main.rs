//! `clientca-bench`: the figures in BENCHMARKS.md come from here.
//!
//! Build and run in release mode: `cargo build --release -p bench -p clientca`, then
//! `target/release/clientca-bench <scenario> …`. Scenarios that need a server start
//! `target/release/clientca serve` themselves (next to this binary) and report its memory.
//! One module per scenario under `scenarios/`.

mod load;
mod rss;
mod scenarios;
mod server;
mod tls;

use clap::{Parser, Subcommand};

use crate::scenarios::{
    create, crl, handshakes, inprocess, mixed, post, proxied, publication, reads, revocation,
    revoke_cycle, seed,
};

#[derive(Debug, Parser)]
#[command(name = "clientca-bench", about = "Benchmarks for clientca")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// Sign one CRL with N revoked entries (P-256 CA); time and this process's peak RSS.
    Crl(crl::CrlArgs),
    /// The in-process issuance ceiling: CSR parse + verify + leaf signing on one thread.
    Inprocess(inprocess::InprocessArgs),
    /// POST creates against a freshly started server; throughput, latency, server RSS.
    Create(create::CreateArgs),
    /// POST a fixed body to any URL (the peer benchmark: cfssl's /api/v1/cfssl/sign).
    Post(post::PostArgs),
    /// Put N certificates into one zone of a database through the store (bulk import of real,
    /// signed leaves); writes what the read benchmarks need to a JSON file.
    Seed(seed::SeedArgs),
    /// Against a seeded database: startup time, list (first and deep pages, with and without a
    /// status filter) and details latency.
    Reads(reads::ReadsArgs),
    /// On a seeded database: request N revocations, then time the worker round that publishes
    /// them (CRLs signed, peak RSS).
    Publication(publication::PublicationArgs),
    /// Revoke then reactivate (inside the publication window) certificates, over and over.
    RevokeCycle(revoke_cycle::RevokeCycleArgs),
    /// 10% creates, 50% details, 30% list page 1, 10% revoke/reactivate.
    Mixed(mixed::MixedArgs),
    /// Full mTLS handshakes (TLS 1.3, no resumption) per second against the gateway or a peer.
    Handshakes(handshakes::HandshakesArgs),
    /// Keep-alive requests through the gateway or a peer (or, --plain, to the origin directly).
    Proxied(proxied::ProxiedArgs),
    /// Revocation → refusal latency of a TLS server: new handshakes, resumptions, open connections.
    Revocation(revocation::RevocationArgs),
}

fn main() -> anyhow::Result<()> {
    let scenario = Cli::parse().scenario;
    // In-process scenarios (publication) log through RUST_LOG, e.g. authority=debug.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match scenario {
            Scenario::Crl(args) => crl::run(args),
            Scenario::Inprocess(args) => inprocess::run(args),
            Scenario::Create(args) => create::run(args).await,
            Scenario::Post(args) => post::run(args).await,
            Scenario::Seed(args) => seed::run(args).await,
            Scenario::Reads(args) => reads::run(args).await,
            Scenario::Publication(args) => publication::run(args).await,
            Scenario::RevokeCycle(args) => revoke_cycle::run(args).await,
            Scenario::Mixed(args) => mixed::run(args).await,
            Scenario::Handshakes(args) => handshakes::run(args).await,
            Scenario::Proxied(args) => proxied::run(args).await,
            Scenario::Revocation(args) => revocation::run(args).await,
        }
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
