//! Faults from outside the server, as an unlucky operator meets them: a log reader that went
//! away, flags that make no sense, a disk that fills up.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

mod common;

use common::{Serve, serve_logging_to};
use serde_json::{Value, json};

/// A blocking HTTP call with the bootstrap token: (status, JSON body).
fn call(method: reqwest::Method, url: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut request = reqwest::Client::new()
            .request(method, url)
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .expect("an answer, not a dropped connection");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    })
}

fn zone_of(dir: &Path) -> String {
    let zones = common::stdout_of(&common::clientca(dir, &[], &["zone", "list"]));
    zones.split('\t').next().unwrap().to_string()
}

/// Poll `item` until its status is `want`, for at most ten seconds.
fn wait_for_status(item: &str, token: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = call(reqwest::Method::GET, item, token, None);
        assert_eq!(status, 200, "{body}");
        if body["result"]["status"] == want {
            return;
        }
        assert!(Instant::now() < deadline, "never became {want}: {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_log_reader_that_went_away_never_affects_serving() {
    let dir = tempfile::tempdir().unwrap();
    // Info-level lines on every create (the first one creates the CA) and every publication.
    let mut serve: Serve = serve_logging_to(
        dir.path(),
        &[("RUST_LOG", "info")],
        &["--publish-interval", "200ms"],
        Stdio::piped(),
    );
    // The log shipper dies: every later write to stderr fails with EPIPE.
    drop(serve.child.stderr.take());
    let token = serve.token.clone().unwrap();
    let certificates = format!(
        "{}/client/v4/zones/{}/client_certificates",
        serve.base_url,
        zone_of(dir.path())
    );
    for n in 0..3 {
        let csr = test_support::csr_with_common_name(&format!("device-{n}"));
        let (status, created) = call(
            reqwest::Method::POST,
            &certificates,
            &token,
            Some(json!({"csr": csr, "validity_days": 7})),
        );
        assert_eq!(status, 200, "{created}");
        let item = format!(
            "{certificates}/{}",
            created["result"]["id"].as_str().unwrap()
        );
        let (status, _) = call(reqwest::Method::DELETE, &item, &token, None);
        assert_eq!(status, 200);
        // The worker logs each pass that settles something: it must survive that.
        wait_for_status(&item, &token, "revoked");
    }
    let (status, health) = call(
        reqwest::Method::GET,
        &format!("{}/healthz", serve.base_url),
        &token,
        None,
    );
    assert_eq!(status, 200, "{health}");
    assert!(
        serve.child.try_wait().unwrap().is_none(),
        "serve is still running"
    );
}

/// Run `clientca args`; a process still running at `limit` (a server that started) is killed
/// and the test fails.
fn exits_within(dir: &Path, args: &[&str], limit: Duration) -> std::process::Output {
    let mut child = common::command(dir, &[])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "{args:?} started a server instead of refusing: {}",
                String::from_utf8_lossy(&output.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn nonsensical_flags_are_refused_at_start_with_the_flag_named() {
    let dir = tempfile::tempdir().unwrap();
    for (flags, named) in [
        (&["--publish-interval", "0s"][..], "--publish-interval"),
        (&["--crl-validity", "3000000d"], "--crl-validity"),
        (&["--crl-validity", "1000000000d"], "--crl-validity"),
        (
            &["--crl-validity", "1s", "--publish-interval", "5s"],
            "--crl-validity",
        ),
        (&["--ocsp-validity", "0s"], "--ocsp-validity"),
        (&["--max-validity-days", "0"], "--max-validity-days"),
        (&["--request-timeout", "0s"], "--request-timeout"),
        (&["--header-read-timeout", "0s"], "--header-read-timeout"),
        (&["--max-connections", "0"], "--max-connections"),
    ] {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(flags);
        let output = exits_within(dir.path(), &args, Duration::from_secs(20));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{flags:?} was accepted");
        assert!(stderr.contains(named), "{flags:?}: {stderr}");
        assert!(
            !String::from_utf8_lossy(&output.stdout).contains("listening"),
            "{flags:?}: the server started"
        );
    }
}

#[test]
fn a_token_lifetime_past_the_calendar_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let output = common::clientca(
        dir.path(),
        &[],
        &[
            "token",
            "create",
            "--account",
            &"a".repeat(32),
            "--permission",
            "read",
        ],
    );
    assert!(!output.status.success(), "no such account yet");
    common::stdout_of(&common::clientca(
        dir.path(),
        &[],
        &["zone", "create", "a.example"],
    ));
    let zone = zone_of(dir.path());
    let output = common::clientca(
        dir.path(),
        &[],
        &[
            "token",
            "create",
            "--zone",
            &zone,
            "--permission",
            "read",
            "--expires-in",
            "1000000000d",
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("too far in the future"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
