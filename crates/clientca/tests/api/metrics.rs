//! `/metrics`: the names and values after known operations, checked line by line and with
//! Prometheus's own OpenMetrics parser.

use std::collections::HashMap;
use std::process::Command;

use reqwest::Method;
use test_support::{TestDatabase, backend_tests};

use crate::helpers::{TestApp, p256_csr, venv_tool};
use crate::revocation::openssl_ocsp;

backend_tests!(
    metrics_count_what_the_server_did,
    metrics_can_move_to_their_own_listener_or_be_switched_off,
);

/// Sample lines (`name{labels} value`) by their name and labels.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (key, value) = line.rsplit_once(' ').expect("name and value");
            (key.to_string(), value.parse().expect("a number"))
        })
        .collect()
}

#[track_caller]
fn value(samples: &HashMap<String, f64>, key: &str) -> f64 {
    *samples
        .get(key)
        .unwrap_or_else(|| panic!("no sample {key}; have {:#?}", samples.keys()))
}

async fn scrape(app: &TestApp) -> String {
    let response = app
        .client
        .get(app.public_url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    response.text().await.unwrap()
}

async fn metrics_count_what_the_server_did(db: TestDatabase) {
    let backend = db.backend;
    let app = TestApp::spawn(db).await;
    // Two issued (expiring in 3 and in 10 days), one revoked and published, one undone. The
    // worker passes once at start; the test publishes once more.
    let soon = app.create(&p256_csr("soon"), 3).await.assert_ok().clone();
    let later = app.create(&p256_csr("later"), 10).await.assert_ok().clone();
    let item = |leaf: &serde_json::Value| {
        format!(
            "{}/{}",
            app.certificates_path(&app.zone_id),
            leaf["id"].as_str().unwrap()
        )
    };
    app.call(Method::DELETE, &item(&soon), None)
        .await
        .assert_ok();
    app.call(Method::DELETE, &item(&later), None)
        .await
        .assert_ok();
    app.call(Method::PATCH, &item(&later), None)
        .await
        .assert_ok();
    assert_eq!(app.publish().await, 2);
    let bad_token = app
        .client
        .get(app.url(&app.certificates_path(&app.zone_id)))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_token.status(), 401);
    let ca_pem = app.ca_pem().await;
    let ca_id = app.ca_id().await;
    let leaf = soon["certificate"].as_str().unwrap();
    assert!(
        openssl_ocsp(&app, &ca_pem, leaf, &ca_id)
            .await
            .contains("revoked")
    );
    let garbage = app
        .client
        .post(app.public_url(&format!("/ca/{ca_id}/ocsp")))
        .header("content-type", "application/ocsp-request")
        .body("not DER")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 200, "OCSP failures are OCSP answers");

    let text = scrape(&app).await;
    let all = samples(&text);
    for name in all.keys() {
        assert!(name.starts_with("clientca_"), "{name} lacks the prefix");
    }
    let zone = app.zone_id.to_string();
    let certificates = "/client/v4/zones/{zone_id}/client_certificates";
    let one = "/client/v4/zones/{zone_id}/client_certificates/{client_certificate_id}";
    for (key, want) in [
        ("clientca_build_info{version=\"0.1.0\"}", 1.0),
        ("clientca_certificates_issued_total", 2.0),
        (
            "clientca_certificate_changes_requested_total{change=\"revocation\"}",
            2.0,
        ),
        (
            "clientca_certificate_changes_requested_total{change=\"reactivation\"}",
            1.0,
        ),
        (
            "clientca_certificates_settled_total{status=\"revoked\"}",
            1.0,
        ),
        (
            "clientca_certificates_settled_total{status=\"active\"}",
            1.0,
        ),
        (
            "clientca_certificates_pending{status=\"pending_revocation\"}",
            0.0,
        ),
        (
            "clientca_certificates_pending{status=\"pending_reactivation\"}",
            0.0,
        ),
        ("clientca_publication_pass_duration_seconds_count", 2.0),
        ("clientca_ocsp_responses_total{outcome=\"revoked\"}", 1.0),
        (
            "clientca_ocsp_responses_total{outcome=\"malformed_request\"}",
            1.0,
        ),
        (
            &format!("clientca_zone_certificates_expiring{{zone_id=\"{zone}\",within=\"7d\"}}"),
            0.0,
        ),
        (
            &format!("clientca_zone_certificates_expiring{{zone_id=\"{zone}\",within=\"30d\"}}"),
            1.0,
        ),
        (
            &format!(
                "clientca_http_requests_total{{method=\"POST\",route=\"{certificates}\",status=\"200\"}}"
            ),
            2.0,
        ),
        (
            &format!(
                "clientca_http_requests_total{{method=\"DELETE\",route=\"{one}\",status=\"200\"}}"
            ),
            2.0,
        ),
        (
            &format!(
                "clientca_http_requests_total{{method=\"PATCH\",route=\"{one}\",status=\"200\"}}"
            ),
            1.0,
        ),
        (
            &format!(
                "clientca_http_requests_total{{method=\"GET\",route=\"{certificates}\",status=\"401\"}}"
            ),
            1.0,
        ),
        (
            &format!(
                "clientca_http_request_duration_seconds_count{{method=\"POST\",route=\"{certificates}\"}}"
            ),
            2.0,
        ),
    ] {
        assert_eq!(value(&all, key), want, "{key}");
    }
    // The worker's first pass and the test's: on PostgreSQL one may find the other holding the
    // publication lock and skip.
    let passes = |outcome: &str| {
        all.get(&format!(
            "clientca_publication_passes_total{{outcome=\"{outcome}\"}}"
        ))
        .copied()
        .unwrap_or(0.0)
    };
    assert!(passes("completed") >= 1.0);
    assert_eq!(passes("completed") + passes("skipped"), 2.0);
    // Every credential check went to the store: the test server caches nothing (TTL 0).
    assert!(value(&all, "clientca_token_cache_lookups_total{result=\"miss\"}") >= 6.0);
    assert!(
        value(
            &all,
            &format!("clientca_crl_size_bytes{{ca_id=\"{ca_id}\"}}")
        ) > 100.0
    );
    // Every pool has its gauges, the group committer's included (it committed the creates).
    let pools: std::collections::BTreeSet<&str> = all
        .keys()
        .filter_map(|key| key.strip_prefix("clientca_database_connections{pool=\""))
        .filter_map(|rest| rest.split('"').next())
        .collect();
    let (expected, committer) = match backend {
        test_support::Backend::Sqlite => (["sqlite_read", "sqlite_write"], "sqlite_write"),
        test_support::Backend::Postgres => (["postgres", "postgres_commit"], "postgres_commit"),
    };
    assert_eq!(pools, expected.into_iter().collect());
    let connections = |state: &str| {
        value(
            &all,
            &format!("clientca_database_connections{{pool=\"{committer}\",state=\"{state}\"}}"),
        )
    };
    assert!(connections("idle") + connections("in_use") >= 1.0);
    // A second scrape sees the first one counted under its own route.
    let again = samples(&scrape(&app).await);
    assert_eq!(
        value(
            &again,
            "clientca_http_requests_total{method=\"GET\",route=\"/metrics\",status=\"200\"}"
        ),
        1.0
    );

    // Prometheus's own parser accepts the whole exposition (types, units, suffixes, # EOF).
    let Some(python) = venv_tool("python") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("metrics.txt"), &text).unwrap();
    let parsed = Command::new(python)
        .current_dir(dir.path())
        .args([
            "-c",
            "from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse\n\
             families = list(parse(open('metrics.txt').read()))\n\
             print(len(families), sorted({f.type for f in families}))",
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&parsed.stdout).to_string()
        + &String::from_utf8_lossy(&parsed.stderr);
    assert!(
        parsed.status.success(),
        "the OpenMetrics parser refused it: {said}"
    );
    assert!(
        said.contains("'counter'") && said.contains("'histogram'") && said.contains("'info'"),
        "{said}"
    );
}

async fn metrics_can_move_to_their_own_listener_or_be_switched_off(db: TestDatabase) {
    let app = TestApp::spawn_configured(db, |options| {
        options.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
        options.api.metrics_route = false;
    })
    .await;
    let beside_api = app
        .client
        .get(app.public_url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(beside_api.status(), 404);
    let own = app.server.metrics_addr.expect("a metrics listener");
    let text = app
        .client
        .get(format!("http://{own}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("clientca_certificates_issued_total 0"),
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"));
}
