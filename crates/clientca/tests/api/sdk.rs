//! The official Cloudflare SDKs against the server: Python (cloudflare==5.9.0, strict response
//! validation) and TypeScript (npm cloudflare 7.3.0, from tests/sdk/package-lock.json).

use std::path::PathBuf;
use std::process::Command;

use test_support::{TestDatabase, backend_tests, skip_notice, strict};

use crate::helpers::TestApp;

backend_tests!(
    official_python_sdk_drives_every_operation,
    official_typescript_sdk_drives_every_operation,
);

/// `CLIENTCA_TEST_PYTHON`, else the workspace's `.venv` (made by `scripts/test`).
pub(crate) fn python() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("CLIENTCA_TEST_PYTHON") {
        return Some(PathBuf::from(path));
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    venv.exists().then_some(venv)
}

/// Run an SDK script against `app` with the server, token, zone and account in `CLIENTCA_*`
/// variables (plus `extra`), and check it passed.
pub(crate) async fn run_sdk_script(
    app: &TestApp,
    mut command: Command,
    extra: Vec<(&'static str, String)>,
) {
    let zone_name = app
        .store
        .get_zone(&app.zone_id)
        .await
        .unwrap()
        .expect("the bootstrap zone")
        .name;
    command
        .env("CLIENTCA_BASE_URL", app.server.api_base_url())
        .env("CLIENTCA_TOKEN", &app.token)
        .env("CLIENTCA_ZONE", app.zone_id.as_str())
        .env("CLIENTCA_ZONE_NAME", zone_name)
        .env("CLIENTCA_ACCOUNT", app.account_id.as_str())
        .envs(extra);
    let output =
        tokio::task::spawn_blocking(move || command.output().expect("the SDK script runs"))
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
    let mut command = Command::new(python);
    command
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/official_sdk.py"))
        // The script checks with `assert`, which -O would strip.
        .env_remove("PYTHONOPTIMIZE");
    run_sdk_script(&app, command, Vec::new()).await;
}

/// `node` with tests/sdk/node_modules (made by `scripts/test` with `npm ci`), or `None`.
fn node_with_sdk() -> Option<(PathBuf, PathBuf)> {
    let sdk = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk");
    if !sdk.join("node_modules/cloudflare/package.json").exists() {
        return None;
    }
    let node = std::env::var("CLIENTCA_TEST_NODE").unwrap_or_else(|_| "node".into());
    Some((PathBuf::from(node), sdk))
}

async fn official_typescript_sdk_drives_every_operation(db: TestDatabase) {
    let Some((node, sdk)) = node_with_sdk() else {
        if strict() {
            panic!(
                "CLIENTCA_TEST_STRICT=1 but the TypeScript SDK is not installed: run scripts/test \
                 (npm ci in crates/clientca/tests/sdk)"
            );
        }
        skip_notice(
            "the TypeScript SDK test",
            "run scripts/test (it runs npm ci in crates/clientca/tests/sdk)",
        );
        return;
    };
    let app = TestApp::spawn(db).await;
    let more_csrs: Vec<String> = (0..6)
        .map(|i| crate::helpers::p256_csr(&format!("ts-bulk-{i}")))
        .collect();
    let corporate = test_support::ForeignCa::root("TypeScript Corporate Root");
    let mut command = Command::new(node);
    command.arg(sdk.join("official_sdk.mjs")).current_dir(&sdk);
    let extra = vec![
        ("CLIENTCA_CSR", crate::helpers::p256_csr("ts-client")),
        ("CLIENTCA_MORE_CSRS", more_csrs.join("\n--\n")),
        ("CLIENTCA_CA_PEM", corporate.pem),
    ];
    run_sdk_script(&app, command, extra).await;
}
