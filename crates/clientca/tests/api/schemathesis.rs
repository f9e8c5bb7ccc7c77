//! Schemathesis against the served OpenAPI document: generated valid and invalid requests for
//! every operation must never get a 5xx, and every answer must match the documented schema,
//! status codes and content type. Bounded (examples per operation, fixed seed) for CI.

use std::process::Command;
use std::time::Duration;

use reqwest::Method;
use test_support::TestDatabase;

use crate::helpers::{TestApp, p256_csr, venv_tool};

const EXAMPLES_PER_OPERATION: &str = "40";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_requests_never_break_the_contract() {
    let Some(schemathesis) = venv_tool("schemathesis") else {
        return;
    };
    let app = TestApp::spawn_configured(TestDatabase::sqlite(), |options| {
        options.api.rate_limits.anonymous = api::Rate {
            per_second: 0,
            burst: 0,
        };
        options.publish_interval = Duration::from_millis(500);
    })
    .await;
    let cert = app.issue(&p256_csr("schemathesis")).await;
    app.call(Method::GET, "/user/tokens/verify", None)
        .await
        .assert_ok();
    let dir = tempfile::tempdir().unwrap();
    // Real ids for the path parameters, so requests reach past authorization.
    std::fs::write(
        dir.path().join("schemathesis.toml"),
        format!(
            "[parameters]\n\"path.zone_id\" = \"{}\"\n\"path.account_id\" = \"{}\"\n\"path.client_certificate_id\" = \"{}\"\n",
            app.zone_id,
            app.account_id,
            cert["id"].as_str().unwrap()
        ),
    )
    .unwrap();
    let schema = app.url("/openapi.json");
    let token = app.token.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(schemathesis)
            .current_dir(dir.path())
            .args(["run", &schema, "--header"])
            .arg(format!("Authorization: Bearer {token}"))
            .args([
                "--checks",
                "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance",
                "--max-examples",
                EXAMPLES_PER_OPERATION,
                "--seed",
                "20261128",
                "--no-shrink",
                "--workers",
                "2",
            ])
            .output()
            .expect("schemathesis runs")
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    let summary: Vec<&str> = report.lines().filter(|l| l.contains("generated")).collect();
    eprintln!("schemathesis: {}", summary.join(" "));
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("passed"), "{report}");
}
