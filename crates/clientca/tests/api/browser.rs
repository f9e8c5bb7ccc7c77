//! The dashboard in a real browser: Debian's Chromium driven by Playwright for Python
//! (tests/browser/dashboard.py) — keys generated in the browser never leave it, the `.p12`
//! imports everywhere, a revocation shows up without a reload, no CSP violation.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use test_support::{TestDatabase, backend_tests, skip_notice, strict};

use crate::helpers::TestApp;
use crate::sdk::python;

backend_tests!(keys_made_in_the_browser_stay_there_and_the_dashboard_works_end_to_end);

const CHROMIUM: &str = "/usr/bin/chromium";

/// What the browser test needs besides the server; `None` (skip, unless strict) when missing.
fn tools() -> Option<PathBuf> {
    let missing: Vec<&str> = [CHROMIUM, "openssl", "keytool", "pk12util", "certutil"]
        .into_iter()
        .filter(|tool| {
            !(Path::new(tool).is_absolute() && Path::new(tool).exists()
                || Command::new("sh")
                    .args(["-c", &format!("command -v {tool}")])
                    .output()
                    .is_ok_and(|o| o.status.success()))
        })
        .collect();
    let python = python();
    if missing.is_empty() && python.is_some() {
        return python;
    }
    let what = format!(
        "the browser test (missing: {}{})",
        missing.join(", "),
        if python.is_none() { " .venv" } else { "" }
    );
    if strict() {
        panic!(
            "CLIENTCA_TEST_STRICT=1 but {what}: .ci/run installs chromium and libnss3-tools, scripts/test makes .venv"
        );
    }
    skip_notice(
        &what,
        "apt-get install chromium libnss3-tools openjdk-17-jre-headless; scripts/test",
    );
    None
}

async fn keys_made_in_the_browser_stay_there_and_the_dashboard_works_end_to_end(db: TestDatabase) {
    let Some(python) = tools() else { return };
    // Publication runs when the script asks for it, so "pending" lasts exactly as long as the
    // script needs it to.
    let app = TestApp::spawn_with(db, Duration::from_secs(3600)).await;
    let authority = std::sync::Arc::clone(&app.server.authority);
    // localhost, not 127.0.0.1: a secure context for WebCrypto and `Secure` cookies.
    let origin = format!("http://localhost:{}", app.server.addr.port());
    let mut child = Command::new(python)
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/dashboard.py"))
        .env_remove("PYTHONOPTIMIZE")
        .env("CLIENTCA_ORIGIN", &origin)
        .env("CLIENTCA_TOKEN", &app.token)
        .env("CLIENTCA_ZONE", app.zone_id.as_str())
        .env("CLIENTCA_CHROMIUM", CHROMIUM)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the browser script starts");
    let runtime = tokio::runtime::Handle::current();
    let (stdout, status, stderr) = tokio::task::spawn_blocking(move || {
        let mut stdin = child.stdin.take().unwrap();
        let mut printed = String::new();
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            if line == "publish" {
                runtime
                    .block_on(worker::publish_pending(
                        &authority,
                        &worker::WorkerConfig::default(),
                    ))
                    .expect("a publication pass");
                writeln!(stdin, "published").unwrap();
                stdin.flush().unwrap();
            }
            printed.push_str(&line);
            printed.push('\n');
        }
        let output = child.wait_with_output().unwrap();
        (
            printed,
            output.status,
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    })
    .await
    .unwrap();
    assert!(status.success(), "browser test failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("all browser checks passed"), "{stdout}");
    println!("{stdout}");
}
