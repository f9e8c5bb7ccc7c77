//! Crash safety: `clientca serve` is killed with SIGKILL at random moments while creates, revokes
//! and reactivations are in flight (and the worker publishes), then restarted on the same database.
//! Afterwards every acknowledged write is there unchanged, no serial repeats, every pending
//! transition completed exactly once, the newest CRL lists exactly the revoked serials, and (on
//! SQLite) `PRAGMA integrity_check` passes. Runs on SQLite and, when configured, PostgreSQL.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Serve, serve};
use reqwest::{Client, Method};
use serde_json::{Value, json};
use test_support::{Backend, TestDatabase, backend_tests};

backend_tests!(acknowledged_writes_survive_sigkill_and_transitions_complete_once);

const ROUNDS: usize = 6;
/// Concurrent clients per round.
const DRIVERS: usize = 4;

/// What the client was told: only these may be asserted on after the crashes.
#[derive(Default)]
struct Ledger {
    /// id → (serial, fingerprint) of every create that got a 200.
    created: HashMap<String, (String, String)>,
    /// Certificates some request about got no answer (the process died): their status is unknown.
    in_doubt: HashSet<String>,
    /// Certificates a driver has sent (or is sending) a revocation / reactivation for: each
    /// certificate is revoked at most once and reactivated at most once.
    revoke_claimed: HashSet<String>,
    reactivate_claimed: HashSet<String>,
    /// Certificates whose revocation was acknowledged (status pending_revocation).
    revoked: HashSet<String>,
    /// Certificates whose reactivation was acknowledged (status pending_reactivation).
    reactivated: HashSet<String>,
    /// Certificates whose reactivation was refused because the revocation was already published.
    published: HashSet<String>,
    requests: usize,
}

fn random(bound: u64) -> u64 {
    (uuid::Uuid::new_v4().as_u128() % u128::from(bound.max(1))) as u64
}

async fn call(
    client: &Client,
    method: Method,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> Option<Value> {
    let mut request = client
        .request(method, url)
        .bearer_auth(token)
        .timeout(Duration::from_secs(5));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.ok()?;
    if response.status() != 200 {
        return Some(json!({"status": response.status().as_u16()}));
    }
    response.json().await.ok()
}

/// Drive the server until it stops answering, recording what was acknowledged.
async fn drive(client: Client, base: String, token: String, ledger: Arc<Mutex<Ledger>>) {
    loop {
        enum Op {
            Create,
            Revoke(String),
            Reactivate(String),
        }
        let op = {
            let mut ledger = ledger.lock().unwrap();
            ledger.requests += 1;
            let active: Vec<String> = ledger
                .created
                .keys()
                .filter(|id| !ledger.revoke_claimed.contains(*id))
                .cloned()
                .collect();
            let reactivatable = ledger
                .revoked
                .iter()
                .find(|id| !ledger.reactivate_claimed.contains(*id))
                .cloned();
            match (random(10), reactivatable) {
                (choice, _) if choice < 5 || active.is_empty() => Op::Create,
                (choice, Some(id)) if choice >= 8 => {
                    ledger.reactivate_claimed.insert(id.clone());
                    Op::Reactivate(id)
                }
                _ => {
                    let id = active[random(active.len() as u64) as usize].clone();
                    ledger.revoke_claimed.insert(id.clone());
                    Op::Revoke(id)
                }
            }
        };
        match op {
            Op::Create => {
                let csr = test_support::csr_with_common_name("crash-test");
                let body = json!({"csr": csr, "validity_days": 30});
                match call(&client, Method::POST, &base, &token, Some(body)).await {
                    Some(answer) if answer["success"] == true => {
                        let result = &answer["result"];
                        ledger.lock().unwrap().created.insert(
                            result["id"].as_str().unwrap().to_string(),
                            (
                                result["serial_number"].as_str().unwrap().to_string(),
                                result["fingerprint_sha256"].as_str().unwrap().to_string(),
                            ),
                        );
                    }
                    Some(other) => panic!("a create failed without a crash: {other}"),
                    None => return, // the process is gone; an unanswered create is unacknowledged
                }
            }
            Op::Revoke(id) => match call(
                &client,
                Method::DELETE,
                &format!("{base}/{id}"),
                &token,
                None,
            )
            .await
            {
                Some(answer) if answer["success"] == true => {
                    assert_eq!(answer["result"]["status"], "pending_revocation", "{answer}");
                    ledger.lock().unwrap().revoked.insert(id);
                }
                Some(other) => panic!("a revoke failed without a crash: {other}"),
                None => {
                    ledger.lock().unwrap().in_doubt.insert(id);
                    return;
                }
            },
            Op::Reactivate(id) => {
                match call(
                    &client,
                    Method::PATCH,
                    &format!("{base}/{id}"),
                    &token,
                    Some(json!({})),
                )
                .await
                {
                    Some(answer) if answer["success"] == true => {
                        assert_eq!(
                            answer["result"]["status"], "pending_reactivation",
                            "{answer}"
                        );
                        ledger.lock().unwrap().reactivated.insert(id);
                    }
                    // Published before the PATCH arrived: revocation is final, nothing changed.
                    Some(answer) if answer["status"] == 400 => {
                        ledger.lock().unwrap().published.insert(id);
                    }
                    Some(other) => panic!("a reactivation failed without a crash: {other}"),
                    None => {
                        ledger.lock().unwrap().in_doubt.insert(id);
                        return;
                    }
                }
            }
        }
    }
}

async fn acknowledged_writes_survive_sigkill_and_transitions_complete_once(db: TestDatabase) {
    let dir = tempfile::tempdir().unwrap();
    let key = authority::MasterKey::generate().unwrap().to_hex();
    let env = [
        ("CLIENTCA_DATABASE_URL", db.url.as_str()),
        ("CLIENTCA_MASTER_KEY", key.as_str()),
    ];
    let args = ["--publish-interval", "100ms"];
    let client = Client::new();
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut token = None;
    let mut zone = String::new();

    for round in 0..ROUNDS {
        let mut server: Serve = tokio::task::block_in_place(|| serve(dir.path(), &env, &args));
        if round == 0 {
            token = server.token.take();
            zone = common::first_zone(dir.path(), &env);
        }
        let token = token.clone().expect("bootstrap token");
        let base = format!(
            "{}/client/v4/zones/{zone}/client_certificates",
            server.base_url
        );
        let drivers: Vec<_> = (0..DRIVERS)
            .map(|_| {
                tokio::spawn(drive(
                    client.clone(),
                    base.clone(),
                    token.clone(),
                    Arc::clone(&ledger),
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(150 + random(600))).await;
        // SIGKILL while the drivers' requests and the worker's publications are in flight.
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        for driver in drivers {
            driver.await.unwrap();
        }
    }

    // Restart once more and let the worker finish whatever was left pending.
    let server = tokio::task::block_in_place(|| serve(dir.path(), &env, &args));
    let token = token.unwrap();
    let base = format!(
        "{}/client/v4/zones/{zone}/client_certificates",
        server.base_url
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let listed = loop {
        let mut all = Vec::new();
        for page in 1.. {
            let answer = call(
                &client,
                Method::GET,
                &format!("{base}?per_page=50&page={page}"),
                &token,
                None,
            )
            .await
            .expect("the restarted server answers");
            let items = answer["result"].as_array().unwrap().clone();
            if items.is_empty() {
                break;
            }
            all.extend(items);
        }
        if all
            .iter()
            .all(|c| c["status"] == "active" || c["status"] == "revoked")
        {
            break all;
        }
        assert!(
            Instant::now() < deadline,
            "pending transitions were not resumed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // Every driver has finished: the ledger is ours alone now.
    let ledger = Arc::try_unwrap(ledger)
        .ok()
        .expect("drivers are done")
        .into_inner()
        .unwrap();
    assert!(
        !ledger.created.is_empty() && !ledger.revoked.is_empty(),
        "the drivers got creates and revocations acknowledged between the kills"
    );
    let by_id: HashMap<&str, &Value> = listed
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c))
        .collect();
    let serials: HashSet<&str> = listed
        .iter()
        .map(|c| c["serial_number"].as_str().unwrap())
        .collect();
    assert_eq!(serials.len(), listed.len(), "a serial repeats");
    for (id, (serial, fingerprint)) in &ledger.created {
        let cert = by_id
            .get(id.as_str())
            .unwrap_or_else(|| panic!("acknowledged certificate {id} lost"));
        assert_eq!(cert["serial_number"], serial.as_str());
        assert_eq!(cert["fingerprint_sha256"], fingerprint.as_str());
        if ledger.in_doubt.contains(id) {
            continue;
        }
        if ledger.revoke_claimed.contains(id) && !ledger.revoked.contains(id) {
            continue; // its DELETE was never answered
        }
        let expected = match (ledger.revoked.contains(id), ledger.reactivated.contains(id)) {
            (true, false) => "revoked",
            _ => "active",
        };
        assert_eq!(cert["status"], expected, "certificate {id}");
    }

    // Audit: one settlement per pending episode, never two for one request.
    let store = store::connect(&db.url).await.unwrap();
    let events = store.audit_events(None, 0, 1_000_000).await.unwrap();
    let mut per_certificate: HashMap<&str, Vec<&str>> = HashMap::new();
    for event in &events {
        if event.entry.object_type == store::AuditObject::Certificate {
            per_certificate
                .entry(&event.entry.object_id)
                .or_default()
                .push(event.entry.action.as_str());
        }
    }
    for cert in &listed {
        let id = cert["id"].as_str().unwrap();
        let actions = per_certificate.get(id).cloned().unwrap_or_default();
        let count = |action: &str| actions.iter().filter(|a| **a == action).count();
        assert_eq!(count("certificate.created"), 1, "{id}: {actions:?}");
        assert!(
            count("certificate.revoked") <= 1,
            "{id} revoked twice: {actions:?}"
        );
        let requests =
            count("certificate.revocation_requested") + count("certificate.reactivation_requested");
        let settlements = count("certificate.revoked") + count("certificate.reactivated");
        assert!(
            settlements <= requests,
            "{id}: more settlements than requests: {actions:?}"
        );
        let last_request = actions.iter().rev().find(|a| a.ends_with("_requested"));
        match (cert["status"].as_str().unwrap(), last_request) {
            ("revoked", Some(&"certificate.revocation_requested")) => {
                assert_eq!(actions.last(), Some(&"certificate.revoked"));
            }
            ("active", Some(&"certificate.reactivation_requested")) => {
                assert_eq!(actions.last(), Some(&"certificate.reactivated"));
            }
            ("active", None) => {}
            (status, last) => panic!("{id} ended {status} after {last:?}: {actions:?}"),
        }
    }

    // The newest CRL lists exactly the revoked serials, and CRL numbers only ever went up.
    let ca_id = listed[0]["certificate_authority"]["id"].as_str().unwrap();
    let crl = store
        .latest_crl(&ca_id.parse().unwrap())
        .await
        .unwrap()
        .expect("a CRL");
    let (_, parsed) = <x509_parser::revocation_list::CertificateRevocationList<'_> as x509_parser::prelude::FromDer<_>>::from_der(&crl.der).unwrap();
    let on_crl: HashSet<String> = parsed
        .iter_revoked_certificates()
        .map(|r| r.serial().to_str_radix(10))
        .collect();
    let revoked: HashSet<String> = listed
        .iter()
        .filter(|c| c["status"] == "revoked")
        .map(|c| c["serial_number"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(on_crl, revoked);
    let numbers: Vec<i64> = events
        .iter()
        .filter_map(|e| {
            e.entry
                .details
                .as_deref()?
                .strip_prefix("crl_number=")?
                .parse()
                .ok()
        })
        .collect();
    assert!(
        numbers.windows(2).all(|w| w[0] <= w[1]),
        "CRL numbers went backwards: {numbers:?}"
    );

    if db.backend == Backend::Sqlite {
        drop(server);
        let sqlite = store::SqliteStore::connect(&db.url).await.unwrap();
        assert_eq!(sqlite.integrity_check().await.unwrap(), "ok");
    }
    eprintln!(
        "crash test ({:?}): {ROUNDS} SIGKILLs, {} requests, {} acknowledged creates, {} revocations, {} reactivations ({} refused as already published), {} in doubt",
        db.backend,
        ledger.requests,
        ledger.created.len(),
        ledger.revoked.len(),
        ledger.reactivated.len(),
        ledger.published.len(),
        ledger.in_doubt.len()
    );
}
