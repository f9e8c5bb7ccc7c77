//! Two `clientca serve` processes on one PostgreSQL database: concurrent creates, revokes and
//! reactivations through both; afterwards every acknowledged certificate exists exactly once,
//! serials are unique, every transition completed once, and the audit log has one event per
//! mutation. Needs CLIENTCA_TEST_POSTGRES_URL (skipped without it unless CLIENTCA_TEST_STRICT=1).

mod common;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use common::{Serve, clientca, serve, stdout_of};
use reqwest::{Client, Method};
use serde_json::{Value, json};
use test_support::TestDatabase;
use tokio::task::JoinSet;

const CERTIFICATES: usize = 40;

async fn call(
    client: &Client,
    method: Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = client.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("replica answers");
    (
        response.status().as_u16(),
        response.json().await.expect("JSON"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_on_one_database_complete_every_transition_once() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key = authority::MasterKey::generate().unwrap().to_hex();
    let env = vec![
        ("CLIENTCA_DATABASE_URL".to_string(), db.url.clone()),
        ("CLIENTCA_MASTER_KEY".to_string(), key),
    ];
    let args = ["--publish-interval", "300ms", "--token-cache-ttl", "1s"];

    // Both start at once on an empty schema: migrations and bootstrap must each happen once.
    let starts: Vec<_> = (0..2)
        .map(|_| {
            let dir = dir.path().to_path_buf();
            let env = env.clone();
            std::thread::spawn(move || {
                let env: Vec<(&str, &str)> =
                    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                serve(&dir, &env, &args)
            })
        })
        .collect();
    let replicas: Vec<Serve> = starts.into_iter().map(|s| s.join().unwrap()).collect();
    let tokens: Vec<_> = replicas.iter().filter_map(|r| r.token.clone()).collect();
    assert_eq!(tokens.len(), 1, "exactly one replica bootstraps");
    let token = tokens[0].clone();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let zones = stdout_of(&clientca(dir.path(), &env, &["zone", "list"]));
    assert_eq!(zones.lines().count(), 1, "one bootstrap zone: {zones}");
    let zone = zones.split('\t').next().unwrap().to_string();
    let base: Vec<String> = replicas
        .iter()
        .map(|r| format!("{}/client/v4/zones/{zone}/client_certificates", r.base_url))
        .collect();
    let client = Client::new();

    // Concurrent creates, alternating replicas.
    let mut creates = JoinSet::new();
    for i in 0..CERTIFICATES {
        let (client, url, token) = (client.clone(), base[i % 2].clone(), token.clone());
        creates.spawn(async move {
            let csr = test_support::csr_with_common_name(&format!("device-{i}"));
            let body = json!({"csr": csr, "validity_days": 30});
            call(&client, Method::POST, url, &token, Some(body)).await
        });
    }
    let mut acknowledged = HashMap::new();
    while let Some(result) = creates.join_next().await {
        let (status, body) = result.unwrap();
        assert_eq!(status, 200, "{body}");
        let id = body["result"]["id"].as_str().unwrap().to_string();
        acknowledged.insert(
            id,
            body["result"]["serial_number"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(acknowledged.len(), CERTIFICATES);

    // Revoke each through one replica; for every third, race a reactivation through the other.
    let mut changes = JoinSet::new();
    for (i, id) in acknowledged.keys().enumerate() {
        let (client, token, id) = (client.clone(), token.clone(), id.clone());
        let (revoke_url, patch_url) = (
            format!("{}/{id}", base[i % 2]),
            format!("{}/{id}", base[(i + 1) % 2]),
        );
        changes.spawn(async move {
            let (status, body) = call(&client, Method::DELETE, revoke_url, &token, None).await;
            assert_eq!(
                (status, body["result"]["status"].as_str()),
                (200, Some("pending_revocation")),
                "{body}"
            );
            if i % 3 != 0 {
                return (id, false);
            }
            let (status, body) =
                call(&client, Method::PATCH, patch_url, &token, Some(json!({}))).await;
            match status {
                200 => {
                    assert_eq!(body["result"]["status"], "pending_reactivation", "{body}");
                    (id, true)
                }
                // The worker published the revocation first: final, nothing changed.
                400 => {
                    assert_eq!(body["errors"][0]["code"], 1103, "{body}");
                    (id, false)
                }
                other => panic!("PATCH answered {other}: {body}"),
            }
        });
    }
    let mut reactivated = HashSet::new();
    while let Some(result) = changes.join_next().await {
        let (id, was_reactivated) = result.unwrap();
        if was_reactivated {
            reactivated.insert(id);
        }
    }

    // Both workers publish until nothing is pending.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut pending = 0;
        for status in ["pending_revocation", "pending_reactivation"] {
            let (_, body) = call(
                &client,
                Method::GET,
                format!("{}?status={status}", base[0]),
                &token,
                None,
            )
            .await;
            pending += body["result_info"]["total_count"].as_u64().unwrap();
        }
        if pending == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{pending} transitions never completed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Every acknowledged certificate exactly once, with its serial, in its final state.
    let mut listed = Vec::new();
    for page in 1.. {
        let url = format!("{}?per_page=50&page={page}", base[1]);
        let (_, body) = call(&client, Method::GET, url, &token, None).await;
        let items = body["result"].as_array().unwrap().clone();
        if items.is_empty() {
            break;
        }
        listed.extend(items);
    }
    assert_eq!(listed.len(), CERTIFICATES);
    let mut serials = HashSet::new();
    for cert in &listed {
        let id = cert["id"].as_str().unwrap();
        assert_eq!(
            cert["serial_number"].as_str(),
            acknowledged.get(id).map(String::as_str),
            "{id}"
        );
        assert!(
            serials.insert(cert["serial_number"].as_str().unwrap().to_string()),
            "duplicate serial"
        );
        let expected = if reactivated.contains(id) {
            "active"
        } else {
            "revoked"
        };
        assert_eq!(cert["status"], expected, "{id}");
    }

    // One audit event per mutation, and one settlement per pending episode.
    let store = store::connect(&db.url).await.unwrap();
    let events = store.audit_events(None, 0, 100_000).await.unwrap();
    let count = |action: &str| {
        events
            .iter()
            .filter(|e| e.entry.action.as_str() == action)
            .count()
    };
    assert_eq!(count("certificate.created"), CERTIFICATES);
    assert_eq!(count("certificate.revocation_requested"), CERTIFICATES);
    assert_eq!(
        count("certificate.reactivation_requested"),
        reactivated.len()
    );
    assert_eq!(
        count("certificate.revoked"),
        CERTIFICATES - reactivated.len()
    );
    assert_eq!(count("certificate.reactivated"), reactivated.len());
    assert_eq!(
        count("certificate_authority.created"),
        1,
        "one CA for the account"
    );
    assert_eq!(count("account.created"), 1, "one bootstrap");
    for id in acknowledged.keys() {
        let settled = events
            .iter()
            .filter(|e| e.entry.object_id == *id && e.entry.actor.kind == store::ActorKind::Worker)
            .count();
        assert_eq!(settled, 1, "certificate {id} settled {settled} times");
    }

    // A token revoked through the CLI stops working on every replica within the cache TTL (1 s).
    let extra = stdout_of(&clientca(
        dir.path(),
        &env,
        &[
            "token",
            "create",
            "--zone",
            &zone,
            "--permission",
            "read",
            "--name",
            "short-lived",
        ],
    ));
    let extra = extra.trim().to_string();
    for url in &base {
        assert_eq!(
            call(&client, Method::GET, url.clone(), &extra, None)
                .await
                .0,
            200
        );
    }
    let listing = stdout_of(&clientca(dir.path(), &env, &["token", "list"]));
    let id = listing
        .lines()
        .find(|l| l.ends_with("short-lived"))
        .unwrap()
        .split('\t')
        .next()
        .unwrap();
    stdout_of(&clientca(dir.path(), &env, &["token", "revoke", id]));
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    for url in &base {
        assert_eq!(
            call(&client, Method::GET, url.clone(), &extra, None)
                .await
                .0,
            401,
            "revoked token still accepted"
        );
    }
}
