//! Faults from outside the server, as an unlucky operator meets them: a log reader that went
//! away, flags that make no sense, a disk that fills up.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

mod common;

use common::{Serve, call, serve_logging_to};
use serde_json::json;

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
    let certificates = serve.certificates_url(&common::first_zone(dir.path(), &[]));
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
        (&["--tls-cert", "cert.pem"], "--tls-key"),
        (&["--tls-key", "key.pem"], "--tls-cert"),
        // Files that cannot be read: named, and nothing served.
        (
            &["--tls-cert", "missing.pem", "--tls-key", "missing.key"],
            "missing.pem",
        ),
        (
            &["--api-metrics-listen", "127.0.0.1:0", "--no-api-metrics"],
            "--no-api-metrics",
        ),
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
    let zone = common::first_zone(dir.path(), &[]);
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

/// A tmpfs of `megabytes` mounted on `dir` for the test's life (root only, as in CI).
struct SmallDisk {
    dir: std::path::PathBuf,
}

impl SmallDisk {
    fn mount(dir: &Path, megabytes: u32) -> Option<Self> {
        std::fs::create_dir_all(dir).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        mounted.then(|| Self {
            dir: dir.to_path_buf(),
        })
    }

    /// Write zeros to `filler` until the disk refuses more.
    fn fill(&self, filler: &Path) {
        use std::io::Write;
        let mut file = std::fs::File::create(filler).unwrap();
        let chunk = vec![0u8; 16 * 1024];
        while file.write_all(&chunk).is_ok() {}
        // What still fits, byte by byte, so nothing is left at all.
        while file.write_all(&[0]).is_ok() {}
        let _ = file.sync_all();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.dir)
            .status();
    }
}

/// A full disk makes writes fail with 503 and the envelope (nothing written); once space is freed,
/// every kind of write works again without a restart, publication resumes, and nothing
/// acknowledged is lost. Before the fix, SQLite's own rollback on SQLITE_FULL left sqlx's
/// transaction bookkeeping "open" on the single writer connection, and every later revocation,
/// reactivation, hostname change and publication pass failed until a restart.
#[test]
fn a_full_disk_refuses_writes_and_recovers_when_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("disk");
    let Some(disk) = SmallDisk::mount(&data, 4) else {
        if test_support::strict() {
            panic!("cannot mount a tmpfs (needs root), and CLIENTCA_TEST_STRICT=1");
        }
        test_support::skip_notice("the full-disk test", "run as root (it mounts a tmpfs)");
        return;
    };
    let data_dir = data.to_str().unwrap();
    let serve = serve_logging_to(
        dir.path(),
        &[("CLIENTCA_DATA_DIR", data_dir)],
        &["--publish-interval", "200ms"],
        Stdio::null(),
    );
    let token = serve.token.clone().unwrap();
    let zone = common::first_zone(dir.path(), &[("CLIENTCA_DATA_DIR", data_dir)]);
    let base = format!("{}/client/v4/zones/{zone}", serve.base_url);
    let certificates = format!("{base}/client_certificates");
    let create = |n: usize| {
        let csr = test_support::csr_with_common_name(&format!("device-{n}"));
        call(
            reqwest::Method::POST,
            &certificates,
            &token,
            Some(json!({"csr": csr, "validity_days": 7})),
        )
    };
    let mut acknowledged = Vec::new();
    for n in 0..40 {
        let (status, body) = create(n);
        assert_eq!(status, 200, "{body}");
        acknowledged.push(body["result"]["id"].as_str().unwrap().to_string());
    }

    // Empty the log before the disk fills. The checkpointer lets the log start over in the space
    // it already holds, and revocations that fit there would never meet the full disk (1 run in
    // 3 did not); from an empty log, the first write must grow the file.
    let database = rusqlite::Connection::open(data.join("clientca.db")).unwrap();
    database.busy_timeout(Duration::from_secs(5)).unwrap();
    let emptied = (0..50).any(|_| {
        let blocked: i64 = database
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))
            .unwrap();
        blocked == 0 || {
            std::thread::sleep(Duration::from_millis(20));
            false
        }
    });
    assert!(emptied, "the log could not be emptied");
    drop(database);
    let filler = data.join("filler");
    disk.fill(&filler);
    // Revoke one certificate after another until the disk refuses: 503, in the envelope.
    let mut refused = None;
    for id in &acknowledged {
        let (status, body) = call(
            reqwest::Method::DELETE,
            &format!("{certificates}/{id}"),
            &token,
            None,
        );
        match status {
            200 => continue,
            503 => {
                refused = Some(body);
                break;
            }
            other => panic!("a full disk answered {other}: {body}"),
        }
    }
    let refused = refused.expect("some revocation must hit the full disk");
    assert_eq!(refused["success"], false, "{refused}");
    assert_eq!(refused["errors"][0]["code"], 1009, "{refused}");
    // Creates are refused alike, never acknowledged without their row.
    let mut created_when_full = 0;
    for n in 100..110 {
        let (status, body) = create(n);
        match status {
            200 => {
                created_when_full += 1;
                acknowledged.push(body["result"]["id"].as_str().unwrap().to_string());
            }
            503 => assert_eq!(body["errors"][0]["code"], 1009, "{body}"),
            other => panic!("a create on a full disk answered {other}: {body}"),
        }
    }
    assert!(created_when_full < 10, "no create hit the full disk");

    // Space returns: every kind of write works again, without a restart.
    std::fs::remove_file(&filler).unwrap();
    let (status, body) = create(200);
    assert_eq!(status, 200, "{body}");
    acknowledged.push(body["result"]["id"].as_str().unwrap().to_string());
    let last = acknowledged.last().unwrap();
    let item = format!("{certificates}/{last}");
    let (status, body) = call(reqwest::Method::DELETE, &item, &token, None);
    assert_eq!(status, 200, "revocation after space returned: {body}");
    let (status, body) = call(reqwest::Method::PATCH, &item, &token, Some(json!({})));
    assert_eq!(status, 200, "reactivation after space returned: {body}");
    assert_eq!(body["result"]["status"], "pending_reactivation");
    let (status, body) = call(
        reqwest::Method::PUT,
        &format!("{base}/certificate_authorities/hostname_associations"),
        &token,
        Some(json!({"hostnames": ["mtls.example.com"]})),
    );
    assert_eq!(
        status, 200,
        "hostname associations after space returned: {body}"
    );
    // Publication resumes: the pending revocations settle, the reactivation too.
    for id in &acknowledged[..3] {
        let (status, body) = call(
            reqwest::Method::DELETE,
            &format!("{certificates}/{id}"),
            &token,
            None,
        );
        assert_eq!(status, 200, "{body}");
        wait_for_status(&format!("{certificates}/{id}"), &token, "revoked");
    }
    wait_for_status(&item, &token, "active");

    // Nothing acknowledged is missing.
    let (status, listed) = call(
        reqwest::Method::GET,
        &format!("{certificates}?per_page=50&limit=1000"),
        &token,
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(
        listed["result_info"]["total_count"],
        acknowledged.len(),
        "every acknowledged create is there"
    );
    let (status, health) = call(
        reqwest::Method::GET,
        &format!("{}/healthz", serve.base_url),
        &token,
        None,
    );
    assert_eq!(status, 200, "{health}");
    drop(serve);
}

#[test]
fn zone_names_must_be_dns_names() {
    let dir = tempfile::tempdir().unwrap();
    for bad in [
        "a..b",
        "10.0.0.1",
        "localhost",
        "exa mple.com",
        "x-.example.com",
    ] {
        let output = common::clientca(dir.path(), &[], &["zone", "create", bad]);
        assert!(!output.status.success(), "{bad:?} was accepted");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("is not a zone name"),
            "{bad:?}"
        );
    }
    common::stdout_of(&common::clientca(
        dir.path(),
        &[],
        &["zone", "create", "Example.COM."],
    ));
    let zones = common::stdout_of(&common::clientca(dir.path(), &[], &["zone", "list"]));
    assert!(zones.trim_end().ends_with("\texample.com"), "{zones}");
}

/// Two servers started at the same moment on a fresh SQLite file: both come up (one migrates,
/// the other waits for it), and the first start bootstraps once.
#[test]
fn two_servers_starting_together_on_a_fresh_sqlite_file_both_come_up() {
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let key = "ab".repeat(32);
        let env = [("CLIENTCA_MASTER_KEY", key.as_str())];
        let start = || {
            common::command(dir.path(), &env)
                .args(["serve", "--listen", "127.0.0.1:0"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (first, second) = (start(), start());
        let mut tokens = 0;
        for mut child in [first, second] {
            let stdout = child.stdout.take().unwrap();
            let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
            let mut listening = false;
            for line in lines.by_ref() {
                let line = line.unwrap();
                tokens += usize::from(line.contains("export CLOUDFLARE_API_TOKEN="));
                if line.starts_with("listening on ") {
                    listening = true;
                    break;
                }
            }
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            assert!(
                listening,
                "round {round}: a server did not come up: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        assert_eq!(tokens, 1, "round {round}: bootstrapped once");
    }
}

#[test]
fn a_refused_request_is_found_in_the_log_by_its_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let log = std::fs::File::create(dir.path().join("serve.log")).unwrap();
    let serve = serve_logging_to(dir.path(), &[("RUST_LOG", "info")], &[], log.into());
    let url = format!(
        "{}/client/v4/zones/{}/client_certificates",
        serve.base_url,
        "f".repeat(32)
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let response = runtime.block_on(
        reqwest::Client::new()
            .get(&url)
            .bearer_auth(serve.token.clone().unwrap())
            .header("x-request-id", "support-ticket-4711")
            .send(),
    );
    let response = response.unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(response.headers()["x-request-id"], "support-ticket-4711");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = std::fs::read_to_string(dir.path().join("serve.log")).unwrap();
        let line = text
            .lines()
            .find(|line| line.contains("support-ticket-4711"));
        if let Some(line) = line {
            assert!(line.contains("status=403"), "{line}");
            assert!(!line.contains(&serve.token.clone().unwrap()), "{line}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no log line names the request id:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `clientca backup` while `serve` keeps issuing, then a restore into a fresh directory: every
/// certificate acknowledged before the backup began is there, the old token works, and the
/// audit chain verifies.
#[test]
fn a_backup_taken_under_load_restores_into_a_working_server() {
    let dir = tempfile::tempdir().unwrap();
    let serve = common::serve(dir.path(), &[], &["--publish-interval", "200ms"]);
    let token = serve.token.clone().unwrap();
    let zone = common::first_zone(dir.path(), &[]);
    let certificates = serve.certificates_url(&zone);
    let issue = |n: usize| {
        let csr = test_support::csr_with_common_name(&format!("device-{n}"));
        let (status, created) = call(
            reqwest::Method::POST,
            &certificates,
            &token,
            Some(json!({"csr": csr, "validity_days": 7})),
        );
        assert_eq!(status, 200, "{created}");
        created["result"]["id"].as_str().unwrap().to_string()
    };
    let before: Vec<String> = (0..5).map(issue).collect();
    // One revoked, so the backup holds a published CRL too.
    call(
        reqwest::Method::DELETE,
        &format!("{certificates}/{}", before[0]),
        &token,
        None,
    );
    wait_for_status(&format!("{certificates}/{}", before[0]), &token, "revoked");

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = std::thread::spawn({
        let stop = std::sync::Arc::clone(&stop);
        let (certificates, token) = (certificates.clone(), token.clone());
        move || {
            let mut n = 100;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let csr = test_support::csr_with_common_name(&format!("load-{n}"));
                let (status, _) = call(
                    reqwest::Method::POST,
                    &certificates,
                    &token,
                    Some(json!({"csr": csr, "validity_days": 7})),
                );
                assert_eq!(status, 200);
                n += 1;
            }
            n - 100
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    let backup = dir.path().join("backup.db");
    let report = common::stdout_of(&common::clientca(
        dir.path(),
        &[],
        &["backup", "--to", backup.to_str().unwrap()],
    ));
    assert!(report.contains("certificates"), "{report}");
    for leftover in ["backup.db-wal", "backup.db-shm", "backup.db.setup.lock"] {
        assert!(
            !dir.path().join(leftover).exists(),
            "reading the backup back left {leftover} beside it"
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let issued_under_load = load.join().unwrap();
    assert!(
        issued_under_load > 0,
        "the backup ran while creates went on"
    );
    drop(serve);

    // Restore: the backup as the database of a fresh data directory, with the same master key.
    let restored = tempfile::tempdir().unwrap();
    std::fs::create_dir(restored.path().join("data")).unwrap();
    std::fs::copy(&backup, restored.path().join("data/clientca.db")).unwrap();
    std::fs::copy(
        dir.path().join("data/master.key"),
        restored.path().join("data/master.key"),
    )
    .unwrap();
    let again = common::serve(restored.path(), &[], &[]);
    assert!(
        again.token.is_none(),
        "a restored database is not a first start"
    );
    let certificates = again.certificates_url(&zone);
    for id in &before {
        let (status, body) = call(
            reqwest::Method::GET,
            &format!("{certificates}/{id}"),
            &token,
            None,
        );
        assert_eq!(status, 200, "{id}: {body}");
    }
    let (_, revoked) = call(
        reqwest::Method::GET,
        &format!("{certificates}/{}", before[0]),
        &token,
        None,
    );
    assert_eq!(revoked["result"]["status"], "revoked");
    // It issues with the restored CA, and the audit chain is intact.
    let (status, created) = call(
        reqwest::Method::POST,
        &certificates,
        &token,
        Some(json!({"csr": test_support::csr_with_common_name("after"), "validity_days": 7})),
    );
    assert_eq!(status, 200, "{created}");
    drop(again);
    let verified = common::clientca(restored.path(), &[], &["audit", "verify"]);
    assert!(
        verified.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verified.stdout),
        String::from_utf8_lossy(&verified.stderr)
    );

    // The backup file is also a way to PostgreSQL: `copy` from it, then serve from there with
    // the same master key, and the audit chain still verifies.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(postgres) = runtime.block_on(test_support::TestDatabase::postgres()) else {
        return;
    };
    let from = format!("sqlite://{}", backup.display());
    let copied = common::clientca(
        restored.path(),
        &[],
        &["copy", "--from", &from, "--to", &postgres.url],
    );
    assert!(
        copied.status.success(),
        "{}",
        String::from_utf8_lossy(&copied.stderr)
    );
    let on_postgres = [("CLIENTCA_DATABASE_URL", postgres.url.as_str())];
    let moved = common::serve(restored.path(), &on_postgres, &[]);
    assert!(moved.token.is_none(), "the copy is not an empty database");
    for id in &before {
        let item = format!(
            "{}/client/v4/zones/{zone}/client_certificates/{id}",
            moved.base_url
        );
        let (status, body) = call(reqwest::Method::GET, &item, &token, None);
        assert_eq!(status, 200, "{id} on PostgreSQL: {body}");
    }
    drop(moved);
    let verified = common::clientca(restored.path(), &on_postgres, &["audit", "verify"]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
}
