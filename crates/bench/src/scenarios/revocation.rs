//! `revocation`: how long after a certificate becomes `revoked` a TLS server refuses it — a new
//! handshake, a resumption with a session from before, the next request on a keep-alive
//! connection opened before. Each trial issues a certificate through the API, opens those
//! connections, revokes it (DELETE), polls the API every 10 ms until the status reads `revoked`,
//! and from the last poll that still read `pending_revocation` (so a figure is never shortened
//! by the polling) probes every 10 ms until each refusal or `--give-up`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use hyper::Method;
use serde_json::{Value, json};

use crate::load::{self, Call, HttpClient};
use crate::tls::{self, Target};

#[derive(Debug, clap::Args)]
pub(crate) struct RevocationArgs {
    /// The API's base URL, e.g. http://127.0.0.1:8080/client/v4.
    #[arg(long)]
    api: String,
    #[arg(long)]
    token: String,
    #[arg(long)]
    zone: String,
    /// The TLS server enforcing the zone's certificates (host:port), and its name.
    #[arg(long)]
    address: SocketAddr,
    #[arg(long)]
    sni: String,
    #[arg(long)]
    server_ca: PathBuf,
    #[arg(long, default_value_t = 100)]
    trials: usize,
    /// Seconds after which a connection not refused yet counts as never refused.
    #[arg(long, default_value_t = 10)]
    give_up: u64,
    #[arg(long, default_value = "revocation")]
    label: String,
}

const POLL: Duration = Duration::from_millis(10);

/// When each kind of connection was refused, after the status became `revoked`.
#[derive(Default)]
struct Refusals {
    new: Vec<Option<Duration>>,
    resumed: Vec<Option<Duration>>,
    open: Vec<Option<Duration>>,
    resumption_worked: usize,
}

pub(crate) async fn run(args: RevocationArgs) -> anyhow::Result<()> {
    let api = load::client(2);
    let target = Target::new(args.address, &args.sni)?;
    let mut refusals = Refusals::default();
    for trial in 0..args.trials {
        trial_once(&args, &api, &target, &mut refusals)
            .await
            .with_context(|| format!("trial {trial}"))?;
    }
    let give_up = Duration::from_secs(args.give_up);
    for (kind, times) in [
        ("new_handshake", &refusals.new),
        ("resumption", &refusals.resumed),
        ("open_connection", &refusals.open),
    ] {
        println!("{} {kind} {}", args.label, distribution(times, give_up));
    }
    println!(
        "{} resumption_effective={}/{}",
        args.label, refusals.resumption_worked, args.trials
    );
    Ok(())
}

fn distribution(times: &[Option<Duration>], give_up: Duration) -> String {
    let mut refused: Vec<Duration> = times.iter().flatten().copied().collect();
    refused.sort();
    let never = times.len() - refused.len();
    let at = |p: f64| {
        refused
            .get(((refused.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .map_or("-".to_string(), |d| {
                format!("{:.0}ms", d.as_secs_f64() * 1000.0)
            })
    };
    format!(
        "trials={} refused={} not_refused_within_{}s={never} p50={} p99={} max={}",
        times.len(),
        refused.len(),
        give_up.as_secs(),
        at(0.5),
        at(0.99),
        at(1.0)
    )
}

async fn api_call(
    client: &HttpClient,
    args: &RevocationArgs,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let mut call = Call::new(method, format!("{}/zones/{}{path}", args.api, args.zone))
        .header("authorization", &format!("Bearer {}", args.token));
    if let Some(body) = body {
        call = call.json(serde_json::to_vec(&body)?);
    }
    Ok(serde_json::from_slice(&load::send(client, &call).await?)?)
}

async fn trial_once(
    args: &RevocationArgs,
    api: &HttpClient,
    target: &Target,
    refusals: &mut Refusals,
) -> anyhow::Result<()> {
    let key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "revocation-trial");
    let csr = params.serialize_request(&key)?.pem()?;
    let created = api_call(
        api,
        args,
        Method::POST,
        "/client_certificates",
        Some(json!({"csr": csr, "validity_days": 1})),
    )
    .await?;
    let id = created["result"]["id"].as_str().context("id")?.to_string();
    let chain = created["result"]["certificate"]
        .as_str()
        .context("certificate")?
        .to_string();
    let key = key.serialize_pem();
    let identity = Some((chain.as_bytes(), key.as_bytes()));
    let fresh = tls::client_config(&args.server_ca, identity, false)?;
    let resuming = tls::client_config(&args.server_ca, identity, true)?;

    // Before the revocation: a keep-alive connection, and a session to resume.
    let mut open = tls::connect(target, &resuming).await?;
    anyhow::ensure!(tls::get(&mut open, &target.host, false).await? == 200);
    let mut warm = tls::connect(target, &resuming).await?;
    anyhow::ensure!(tls::get(&mut warm, &target.host, true).await? == 200);
    let mut check = tls::connect(target, &resuming).await?;
    if check.get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Resumed) {
        refusals.resumption_worked += 1;
    }
    anyhow::ensure!(tls::get(&mut check, &target.host, true).await? == 200);

    api_call(
        api,
        args,
        Method::DELETE,
        &format!("/client_certificates/{id}"),
        None,
    )
    .await?;
    let mut last_pending = Instant::now();
    loop {
        let item = api_call(
            api,
            args,
            Method::GET,
            &format!("/client_certificates/{id}"),
            None,
        )
        .await?;
        match item["result"]["status"].as_str() {
            Some("revoked") => break,
            Some("pending_revocation") => last_pending = Instant::now(),
            other => anyhow::bail!("unexpected status {other:?}"),
        }
        tokio::time::sleep(POLL).await;
    }
    let since = last_pending;
    let give_up = Duration::from_secs(args.give_up);
    let (target, fresh, resuming) = (Arc::new(target.clone()), fresh, resuming);
    let new = probe(give_up, since, {
        let (target, config) = (Arc::clone(&target), fresh);
        move || {
            let (target, config) = (Arc::clone(&target), Arc::clone(&config));
            async move { refused_on_new_connection(&target, &config).await }
        }
    });
    let resumed = probe(give_up, since, {
        let (target, config) = (Arc::clone(&target), resuming);
        move || {
            let (target, config) = (Arc::clone(&target), Arc::clone(&config));
            async move { refused_on_new_connection(&target, &config).await }
        }
    });
    let open = async {
        let host = target.host.clone();
        loop {
            if !matches!(tls::get(&mut open, &host, false).await, Ok(200)) {
                break Some(since.elapsed());
            }
            if since.elapsed() > give_up {
                break None;
            }
            tokio::time::sleep(POLL).await;
        }
    };
    let (new, resumed, open) = tokio::join!(new, resumed, open);
    refusals.new.push(new);
    refusals.resumed.push(resumed);
    refusals.open.push(open);
    Ok(())
}

async fn refused_on_new_connection(target: &Target, config: &Arc<rustls::ClientConfig>) -> bool {
    match tls::connect(target, config).await {
        Ok(mut stream) => !matches!(tls::get(&mut stream, &target.host, true).await, Ok(200)),
        Err(_) => true,
    }
}

/// Try `attempt` every 10 ms until it reports a refusal: the time since `since`, or `None`.
async fn probe<F, Fut>(give_up: Duration, since: Instant, attempt: F) -> Option<Duration>
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    loop {
        if attempt().await {
            return Some(since.elapsed());
        }
        if since.elapsed() > give_up {
            return None;
        }
        tokio::time::sleep(POLL).await;
    }
}
