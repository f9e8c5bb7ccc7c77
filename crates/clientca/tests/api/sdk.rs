//! The official Cloudflare Python SDK (cloudflare==5.9.0, strict validation) against the server.

use std::path::PathBuf;
use std::process::Command;

use test_support::{TestDatabase, backend_tests, skip_notice, strict};

use crate::helpers::TestApp;

backend_tests!(official_python_sdk_drives_every_operation);

/// `CLIENTCA_TEST_PYTHON`, else the workspace's `.venv` (made by `scripts/test`).
fn python() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("CLIENTCA_TEST_PYTHON") {
        return Some(PathBuf::from(path));
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    venv.exists().then_some(venv)
}

async fn official_python_sdk_drives_every_operation(db: TestDatabase) {
    let Some(python) = python() else {
        if strict() {
            panic!(
                "CLIENTCA_TEST_STRICT=1 but no Python with the SDK: run scripts/test or set CLIENTCA_TEST_PYTHON"
            );
        }
        skip_notice(
            "the official-SDK test",
            "run scripts/test (it creates .venv) or set CLIENTCA_TEST_PYTHON",
        );
        return;
    };
    let app = TestApp::spawn(db).await;
    let zone_name = app
        .store
        .get_zone(&app.zone_id)
        .await
        .unwrap()
        .expect("the bootstrap zone")
        .name;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/official_sdk.py");
    let output = tokio::task::spawn_blocking({
        let base_url = app.server.api_base_url();
        let token = app.token.clone();
        let zone = app.zone_id.clone();
        let account = app.account_id.clone();
        move || {
            Command::new(python)
                .arg(script)
                // The script checks with `assert`, which -O would strip.
                .env_remove("PYTHONOPTIMIZE")
                .env("CLIENTCA_BASE_URL", base_url)
                .env("CLIENTCA_TOKEN", token)
                .env("CLIENTCA_ZONE", zone.as_str())
                .env("CLIENTCA_ZONE_NAME", zone_name)
                .env("CLIENTCA_ACCOUNT", account.as_str())
                .output()
                .expect("python runs")
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "SDK script failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all operations passed"), "{stdout}");
}
