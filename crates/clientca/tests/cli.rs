//! The `clientca` binary as a user runs it: administration commands and `serve` as a process.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

mod common;

use common::{Serve, serve as serve_with, stdout_of};

fn clientca(dir: &Path, args: &[&str]) -> Output {
    common::clientca(dir, &[], args)
}

fn serve(dir: &Path, extra: &[&str]) -> Serve {
    serve_with(dir, &[], extra)
}

fn is_hex32(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[test]
fn zone_and_token_commands_print_only_what_scripts_need() {
    let dir = tempfile::tempdir().unwrap();
    let zone = stdout_of(&clientca(dir.path(), &["zone", "create", "example.com"]));
    assert!(zone.ends_with('\n'));
    let zone = zone.trim();
    assert!(is_hex32(zone), "zone create printed {zone:?}");
    assert!(
        dir.path().join("data/clientca.db").exists(),
        "the default database lives in ./data"
    );

    let listed = stdout_of(&clientca(dir.path(), &["zone", "list"]));
    assert!(
        listed.contains(zone) && listed.contains("example.com"),
        "{listed}"
    );

    let token = stdout_of(&clientca(
        dir.path(),
        &[
            "token",
            "create",
            "--zone",
            zone,
            "--permission",
            "read",
            "--name",
            "ci",
            "--expires-in",
            "90d",
        ],
    ));
    let token = token.trim();
    assert_eq!(token.len(), 40, "token create printed {token:?}");

    let tokens = stdout_of(&clientca(dir.path(), &["token", "list"]));
    assert!(
        !tokens.contains(token),
        "token list must never show secrets"
    );
    let line = tokens
        .lines()
        .find(|l| l.contains("\tci"))
        .expect("the new token is listed");
    assert!(
        line.contains("read")
            && line.contains(&format!("zones:{zone}"))
            && line.contains("expires"),
        "{line}"
    );
    let id = line.split('\t').next().unwrap();
    stdout_of(&clientca(dir.path(), &["token", "revoke", id]));
    let tokens = stdout_of(&clientca(dir.path(), &["token", "list"]));
    assert!(
        tokens
            .lines()
            .any(|l| l.starts_with(id) && l.contains("revoked")),
        "{tokens}"
    );

    let unknown = clientca(
        dir.path(),
        &["zone", "create", "x.example", "--account", &"0".repeat(32)],
    );
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("not found"));
    let no_target = clientca(dir.path(), &["token", "create", "--permission", "edit"]);
    assert!(
        !no_target.status.success(),
        "a token needs --zone or --account"
    );
}

#[test]
fn sqlite_urls_create_their_files() {
    let dir = tempfile::tempdir().unwrap();
    stdout_of(&clientca(
        dir.path(),
        &[
            "--database",
            "sqlite://relative.db",
            "zone",
            "create",
            "a.example",
        ],
    ));
    assert!(dir.path().join("relative.db").exists());
    let absolute = dir.path().join("nested/dir/absolute.db");
    let url = format!("sqlite://{}", absolute.display());
    assert!(url.starts_with("sqlite:///"));
    stdout_of(&clientca(
        dir.path(),
        &["--database", &url, "zone", "create", "b.example"],
    ));
    assert!(absolute.exists());
    let bad = clientca(dir.path(), &["--database", "mysql://x", "zone", "list"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unsupported database URL"));
}

fn get(url: &str, token: &str) -> (u16, serde_json::Value) {
    common::call(reqwest::Method::GET, url, token, None)
}

fn send(
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> serde_json::Value {
    common::call(method, url, token, body).1
}

#[test]
fn serve_bootstraps_once_shuts_down_on_sigterm_and_resumes_pending_work() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = serve(dir.path(), &["--publish-interval", "1h"]);
    let token = first.token.clone().expect("first start prints a token");
    let key_mode = std::fs::metadata(dir.path().join("data/master.key")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&key_mode.permissions()) & 0o777,
        0o600
    );

    let zone = common::first_zone(dir.path(), &[]);
    let certificates = first.certificates_url(&zone);
    let csr = test_support::RSA_2048_CSR;
    let created = send(
        reqwest::Method::POST,
        &certificates,
        &token,
        Some(serde_json::json!({"csr": csr, "validity_days": 7})),
    );
    let id = created["result"]["id"]
        .as_str()
        .expect("created")
        .to_string();
    let item = format!("{certificates}/{id}");
    let revoked = send(reqwest::Method::DELETE, &item, &token, None);
    assert_eq!(revoked["result"]["status"], "pending_revocation");

    // SIGTERM: graceful exit with status 0.
    let pid = first.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = first.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "graceful shutdown exits 0, got {status}");

    // The restart prints no new token and completes the revocation left pending.
    let second = serve(dir.path(), &["--publish-interval", "200ms"]);
    assert!(
        second.token.is_none(),
        "bootstrap happens only on an empty database"
    );
    let item = format!(
        "{}/client/v4/zones/{zone}/client_certificates/{id}",
        second.base_url
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = get(&item, &token);
        assert_eq!(status, 200);
        if body["result"]["status"] == "revoked" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the pending revocation was not resumed: {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_wrong_master_key_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    drop(serve(dir.path(), &[]));
    let wrong_key = "ab".repeat(32);
    let output = common::clientca(
        dir.path(),
        &[("CLIENTCA_MASTER_KEY", &wrong_key)],
        &["serve", "--listen", "127.0.0.1:0"],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.matches("master key does not match").count(),
        1,
        "said once, not repeated by the error chain: {stderr}"
    );
}

fn issue_through(serve: &Serve, token: &str, zone: &str) -> serde_json::Value {
    let csr = test_support::RSA_2048_CSR;
    send(
        reqwest::Method::POST,
        &serve.certificates_url(zone),
        token,
        Some(serde_json::json!({"csr": csr, "validity_days": 7})),
    )
}

#[test]
fn master_key_rotation_reseals_ca_keys_and_retires_the_old_key() {
    let dir = tempfile::tempdir().unwrap();
    let first = serve(dir.path(), &[]);
    let token = first.token.clone().unwrap();
    let zone = common::first_zone(dir.path(), &[]);
    let before = issue_through(&first, &token, &zone);
    assert_eq!(before["success"], true, "{before}");
    drop(first);
    let old_key = std::fs::read_to_string(dir.path().join("data/master.key")).unwrap();

    let rotated = stdout_of(&clientca(dir.path(), &["master-key", "rotate"]));
    assert!(rotated.contains("re-sealed 1 CA key"), "{rotated}");
    let new_key = std::fs::read_to_string(dir.path().join("data/master.key")).unwrap();
    assert_ne!(new_key, old_key);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("data/master.key.old")).unwrap(),
        old_key
    );
    let mode = std::fs::metadata(dir.path().join("data/master.key")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o600
    );

    // The same CA keeps signing under the new key.
    let second = serve(dir.path(), &[]);
    let after = issue_through(&second, &token, &zone);
    assert_eq!(
        after["result"]["certificate_authority"],
        before["result"]["certificate_authority"]
    );
    drop(second);

    // The old key no longer opens this database.
    let refused = common::clientca(
        dir.path(),
        &[("CLIENTCA_MASTER_KEY", old_key.trim())],
        &["serve", "--listen", "127.0.0.1:0"],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("master key does not match"));
}

#[test]
fn audit_verify_reports_an_intact_chain_and_catches_an_edit() {
    let dir = tempfile::tempdir().unwrap();
    let first = serve(dir.path(), &[]);
    let token = first.token.clone().unwrap();
    let zone = common::first_zone(dir.path(), &[]);
    assert_eq!(issue_through(&first, &token, &zone)["success"], true);
    drop(first);
    let verified = stdout_of(&clientca(dir.path(), &["audit", "verify"]));
    assert!(verified.starts_with("audit log intact:"), "{verified}");
    assert!(verified.contains("head #"), "{verified}");

    // Someone with write access disables the guard and rewrites history: verify fails.
    let url = format!("sqlite://{}", dir.path().join("data/clientca.db").display());
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(test_support::run_sql_directly(
            &url,
            &[
                "DROP TRIGGER audit_events_no_update",
                "UPDATE audit_events SET actor_id = 'someone-else' WHERE chain_seq = 1",
            ],
        ));
    let tampered = clientca(dir.path(), &["audit", "verify"]);
    assert!(!tampered.status.success());
    let message = String::from_utf8_lossy(&tampered.stderr);
    assert!(message.contains("audit log TAMPERED"), "{message}");
}

#[test]
fn no_secret_reaches_a_log_line_or_a_response() {
    let dir = tempfile::tempdir().unwrap();
    let child = common::command(dir.path(), &[("RUST_LOG", "trace")])
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--publish-interval",
            "200ms",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut serve = Serve {
        child,
        base_url: String::new(),
        token: None,
        gateway: None,
    };
    let stderr = serve.child.stderr.take().unwrap();
    let log_reader = std::thread::spawn(move || {
        let mut log = String::new();
        std::io::Read::read_to_string(&mut std::io::BufReader::new(stderr), &mut log).unwrap();
        log
    });
    let mut lines =
        std::io::BufRead::lines(std::io::BufReader::new(serve.child.stdout.take().unwrap()));
    while serve.base_url.is_empty() {
        let line = lines.next().unwrap().unwrap();
        if let Some(secret) = line.trim().strip_prefix("export CLOUDFLARE_API_TOKEN=") {
            serve.token = Some(secret.to_string());
        }
        if let Some(address) = line.strip_prefix("listening on ") {
            serve.base_url = address.to_string();
        }
    }
    let token = serve.token.clone().unwrap();
    let zone = common::first_zone(dir.path(), &[]);
    let mut responses = String::new();
    let created = issue_through(&serve, &token, &zone);
    responses.push_str(&created.to_string());
    let item = format!(
        "{}/client/v4/zones/{zone}/client_certificates/{}",
        serve.base_url,
        created["result"]["id"].as_str().unwrap()
    );
    responses.push_str(&send(reqwest::Method::DELETE, &item, &token, None).to_string());
    responses.push_str(
        &send(
            reqwest::Method::GET,
            &format!("{}/client/v4/user/tokens/verify", serve.base_url),
            &token,
            None,
        )
        .to_string(),
    );
    responses.push_str(&send(reqwest::Method::GET, &item, "wrong-token", None).to_string());
    std::thread::sleep(Duration::from_millis(600));
    let ca_id = created["result"]["certificate_authority"]["id"]
        .as_str()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for path in [format!("/ca/{ca_id}.pem"), format!("/ca/{ca_id}/crl.pem")] {
        let body = runtime.block_on(async {
            reqwest::get(format!("{}{path}", serve.base_url))
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        });
        responses.push_str(&body);
    }
    let _ = Command::new("kill")
        .args(["-TERM", &serve.child.id().to_string()])
        .status();
    let _ = serve.child.wait();
    let log = log_reader.join().unwrap();
    assert!(log.len() > 1000, "trace logging produced output");

    let master_key = std::fs::read_to_string(dir.path().join("data/master.key")).unwrap();
    for (what, text) in [("log", &log), ("responses", &responses)] {
        assert!(
            !text.contains("PRIVATE KEY"),
            "{what} contains a private key"
        );
        assert!(
            !text.contains(master_key.trim()),
            "{what} contains the master key"
        );
    }
    assert!(!log.contains(&token), "the log contains the API token");

    // The database holds CA keys only sealed: the plaintext PKCS#8 never appears in it.
    let url = format!("sqlite://{}", dir.path().join("data/clientca.db").display());
    let (ca_der, sealed) = runtime.block_on(async {
        let store = store::connect(&url).await.unwrap();
        let ca = store
            .get_ca(&ca_id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        (ca.certificate_der, ca.sealed_private_key)
    });
    let key = authority::MasterKey::from_hex(&master_key).unwrap();
    let pkcs8 = key.open(&sealed, ca_id.as_bytes()).unwrap();
    assert!(
        pki::CaSigner::from_parts(&ca_der, &pkcs8).is_ok(),
        "the sealed key is the CA's"
    );
    let mut database = std::fs::read(dir.path().join("data/clientca.db")).unwrap();
    if let Ok(wal) = std::fs::read(dir.path().join("data/clientca.db-wal")) {
        database.extend(wal);
    }
    assert!(
        !database.windows(pkcs8.len()).any(|w| w == pkcs8.as_slice()),
        "plaintext CA key on disk"
    );
}

#[test]
fn accounts_are_created_and_listed_from_the_cli_and_keep_tenants_apart() {
    let dir = tempfile::tempdir().unwrap();
    let first = stdout_of(&clientca(
        dir.path(),
        &["account", "create", "--name", "acme"],
    ));
    let second = stdout_of(&clientca(
        dir.path(),
        &["account", "create", "--name", "globex"],
    ));
    let (first, second) = (first.trim(), second.trim());
    assert!(is_hex32(first) && is_hex32(second) && first != second);
    let listed = stdout_of(&clientca(dir.path(), &["account", "list"]));
    // In creation order; two made within one second tie, so compare as a set.
    let mut rows: Vec<(&str, &str)> = listed
        .lines()
        .map(|line| {
            let cells: Vec<&str> = line.split('\t').collect();
            (cells[0], cells[2])
        })
        .collect();
    rows.sort_by_key(|(_, name)| *name);
    assert_eq!(rows, [(first, "acme"), (second, "globex")], "{listed}");
    // With two accounts, a zone must say whose it is; then each tenant's token reaches its own.
    let ambiguous = clientca(dir.path(), &["zone", "create", "acme.example"]);
    assert!(!ambiguous.status.success());
    assert!(String::from_utf8_lossy(&ambiguous.stderr).contains("--account"));
    let zone = stdout_of(&clientca(
        dir.path(),
        &["zone", "create", "acme.example", "--account", first],
    ));
    let token = stdout_of(&clientca(
        dir.path(),
        &[
            "token",
            "create",
            "--account",
            second,
            "--permission",
            "read",
        ],
    ));
    let serve = serve(dir.path(), &[]);
    let (status, _) = get(&serve.certificates_url(zone.trim()), token.trim());
    assert_eq!(
        status, 403,
        "another tenant's token does not reach acme's zone"
    );
}

#[test]
fn an_account_can_get_its_ca_with_a_chosen_key_type_at_creation() {
    let dir = tempfile::tempdir().unwrap();
    // Without the master key nothing is written: not even the account.
    let refused = clientca(
        dir.path(),
        &["account", "create", "--name", "lab", "--ca-key", "p384"],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("master key"));
    let unknown = clientca(dir.path(), &["account", "create", "--ca-key", "rsa"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("p256, p384 or ed25519"));
    assert_eq!(stdout_of(&clientca(dir.path(), &["account", "list"])), "");

    let key = "ab".repeat(32);
    let env = [("CLIENTCA_MASTER_KEY", key.as_str())];
    for (flag, curve_oid) in [("p384", Some("1.3.132.0.34")), ("ed25519", None)] {
        let account = stdout_of(&common::clientca(
            dir.path(),
            &env,
            &["account", "create", "--name", flag, "--ca-key", flag],
        ));
        let account = store::AccountId::parse(account.trim()).expect("an account id");
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let ca = runtime.block_on(async {
            let url = format!("sqlite://{}", dir.path().join("data/clientca.db").display());
            let store = store::connect(&url).await.unwrap();
            store.get_ca_for_account(&account).await.unwrap()
        });
        let ca = ca.expect("the CA exists right after account create");
        let (_, certificate) =
            x509_parser::parse_x509_certificate(&ca.certificate_der).expect("a certificate");
        let spki = &certificate.public_key().algorithm;
        match curve_oid {
            Some(curve) => {
                let parameters = spki.parameters.as_ref().expect("a named curve");
                assert_eq!(parameters.as_oid().unwrap().to_id_string(), curve, "{flag}");
            }
            None => assert_eq!(spki.algorithm.to_id_string(), "1.3.101.112", "{flag}"),
        }
    }
}

#[test]
fn ca_rotate_and_import_replace_the_issuing_ca_and_list_every_generation() {
    let dir = tempfile::tempdir().unwrap();
    let key = "cd".repeat(32);
    let env = [("CLIENTCA_MASTER_KEY", key.as_str())];
    let run = |args: &[&str]| common::clientca(dir.path(), &env, args);
    let account = stdout_of(&run(&["account", "create", "--ca-key", "p256"]));
    let account = account.trim();
    let list = || {
        stdout_of(&run(&["ca", "list", "--account", account]))
            .lines()
            .map(|line| {
                let cells: Vec<&str> = line.split('\t').collect();
                (cells[0].to_string(), cells[1].to_string())
            })
            .collect::<Vec<_>>()
    };
    let first = list();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].1, "current");

    let rotated = stdout_of(&run(&[
        "ca",
        "rotate",
        "--account",
        account,
        "--ca-key",
        "ed25519",
    ]));
    let rotated = rotated.trim().to_string();
    assert_eq!(
        list(),
        [
            (first[0].0.clone(), "retired".to_string()),
            (rotated.clone(), "current".to_string())
        ]
    );

    // An import that does not hold up writes nothing and says why.
    let root = test_support::ForeignCa::root("Example Corp Root");
    let intermediate = root.intermediate("Example Corp Devices CA");
    std::fs::write(dir.path().join("ca.pem"), &intermediate.pem).unwrap();
    std::fs::write(dir.path().join("ca.key"), &intermediate.key_pem).unwrap();
    std::fs::write(dir.path().join("root.pem"), &root.pem).unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    let refused = run(&[
        "ca",
        "import",
        "--account",
        account,
        "--cert",
        &path("ca.pem"),
        "--key",
        &path("ca.key"),
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--chain"));
    assert_eq!(list().len(), 2);
    let imported = stdout_of(&run(&[
        "ca",
        "import",
        "--account",
        account,
        "--cert",
        &path("ca.pem"),
        "--key",
        &path("ca.key"),
        "--chain",
        &path("root.pem"),
    ]));
    let listed = list();
    assert_eq!(listed.len(), 3);
    assert_eq!(
        listed[2],
        (imported.trim().to_string(), "current".to_string())
    );
    assert_eq!(listed[1], (rotated, "retired".to_string()));
    // The private key never reaches the database in the clear.
    let database = std::fs::read(dir.path().join("data/clientca.db")).unwrap();
    let pkcs8 = pem::parse(&intermediate.key_pem).unwrap().into_contents();
    assert!(!database.windows(pkcs8.len()).any(|w| w == pkcs8.as_slice()));
}

#[test]
fn ca_csr_then_install_issues_under_the_users_root_without_the_key_leaving() {
    let dir = tempfile::tempdir().unwrap();
    let key = "ef".repeat(32);
    let env = [("CLIENTCA_MASTER_KEY", key.as_str())];
    let run = |args: &[&str]| common::clientca(dir.path(), &env, args);
    let account = stdout_of(&run(&["account", "create"]));
    let account = account.trim();
    let csr = stdout_of(&run(&[
        "ca",
        "csr",
        "--account",
        account,
        "--ca-key",
        "p384",
        "--common-name",
        "Lab Issuing CA",
    ]));
    assert!(
        csr.starts_with("-----BEGIN CERTIFICATE REQUEST-----"),
        "{csr}"
    );
    let root = test_support::ForeignCa::root("Example Corp Root");
    let path = |name: &str| dir.path().join(name).display().to_string();
    // A certificate for another key is not installed.
    let stranger = root.intermediate("Not From That CSR");
    std::fs::write(path("stranger.pem"), &stranger.pem).unwrap();
    std::fs::write(path("root.pem"), &root.pem).unwrap();
    let refused = run(&[
        "ca",
        "install",
        "--account",
        account,
        "--cert",
        &path("stranger.pem"),
        "--chain",
        &path("root.pem"),
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no key waits"));

    std::fs::write(path("signed.pem"), root.sign_ca_csr(&csr)).unwrap();
    let installed = stdout_of(&run(&[
        "ca",
        "install",
        "--account",
        account,
        "--cert",
        &path("signed.pem"),
        "--chain",
        &path("root.pem"),
    ]));
    let listed = stdout_of(&run(&["ca", "list", "--account", account]));
    let current: Vec<&str> = listed.lines().last().unwrap().split('\t').collect();
    assert_eq!(current[0], installed.trim());
    assert_eq!(current[1], "current");
    assert_eq!(current[4], "CN=Lab Issuing CA");
    // The waiting key is gone once installed: the same certificate cannot be installed twice.
    let again = run(&[
        "ca",
        "install",
        "--account",
        account,
        "--cert",
        &path("signed.pem"),
        "--chain",
        &path("root.pem"),
    ]);
    assert!(!again.status.success());
}

#[test]
fn the_data_directory_and_database_files_are_private_from_the_first_start() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), &[]);
    let token = server.token.clone().expect("a first-start token");
    // A write, so the WAL and shared-memory files exist.
    let (status, _) = common::call(
        reqwest::Method::GET,
        &format!("{}/client/v4/user/tokens/verify", server.base_url),
        &token,
        None,
    );
    assert_eq!(status, 200);
    let mode = |name: &str| {
        std::fs::metadata(dir.path().join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("data"), 0o700, "data directory");
    for file in [
        "data/clientca.db",
        "data/clientca.db-wal",
        "data/clientca.db-shm",
        "data/clientca.db.setup.lock",
        "data/master.key",
    ] {
        assert_eq!(mode(file), 0o600, "{file}");
    }
    drop(server);
}

#[test]
fn completions_and_the_man_page_are_generated_from_the_parser() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = stdout_of(&clientca(dir.path(), &["completions", shell]));
        for word in ["serve", "gateway", "rotate", "publish-interval"] {
            assert!(script.contains(word), "{shell} completions lack {word}");
        }
    }
    let bash = stdout_of(&clientca(dir.path(), &["completions", "bash"]));
    let path = dir.path().join("clientca.bash");
    std::fs::write(&path, bash).unwrap();
    let syntax = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(
        syntax.status.success(),
        "{}",
        String::from_utf8_lossy(&syntax.stderr)
    );
    let refused = clientca(dir.path(), &["completions", "tcsh"]);
    assert!(!refused.status.success());

    let man = stdout_of(&clientca(dir.path(), &["man"]));
    assert!(man.contains(".TH clientca 1"), "{man}");
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH SUBCOMMANDS"] {
        assert!(man.contains(section), "the man page lacks {section}");
    }
    assert!(man.contains("serve") && man.contains("mTLS gateway"));
}

/// contrib/clientca.service passes `systemd-analyze verify` (with this build as ExecStart), where
/// systemd is installed.
#[test]
fn the_systemd_unit_verifies() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        if test_support::strict() {
            panic!("CLIENTCA_TEST_STRICT=1 but systemd-analyze is missing: install systemd");
        }
        test_support::skip_notice(
            "the systemd unit check",
            "install systemd (systemd-analyze)",
        );
        return;
    }
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../contrib/clientca.service"
    ))
    .unwrap();
    for hardening in [
        "DynamicUser=yes",
        "StateDirectory=clientca",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
    ] {
        assert!(unit.contains(hardening), "{hardening}");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clientca.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/clientca", common::BIN)).unwrap();
    let verified = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&verified.stdout),
        String::from_utf8_lossy(&verified.stderr)
    );
    assert!(
        verified.status.success() && said.trim().is_empty(),
        "{said}"
    );
}

/// `serve --max-certificates-per-zone` refuses a create beyond it; `clientca zone quota`, run
/// while the server runs, raises it for one zone and the server applies it within
/// `--token-cache-ttl`.
#[test]
fn zone_quota_set_from_the_cli_reaches_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(
        dir.path(),
        &[
            "--max-certificates-per-zone",
            "1",
            "--token-cache-ttl",
            "200ms",
        ],
    );
    let token = server.token.clone().expect("first start prints a token");
    let zone = common::first_zone(dir.path(), &[]);
    let create = || issue_through(&server, &token, &zone);
    assert_eq!(create()["success"], true);
    let refused = create();
    assert_eq!(refused["errors"][0]["code"], 1110, "{refused}");

    let shown = stdout_of(&clientca(
        dir.path(),
        &["zone", "quota", &zone, "--max-certificates", "2"],
    ));
    assert_eq!(shown, "max_certificates\t2\nunrevoked_certificates\t1\n");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let answer = create();
        if answer["success"] == true {
            break;
        }
        assert_eq!(answer["errors"][0]["code"], 1110, "{answer}");
        assert!(Instant::now() < deadline, "the new quota never applied");
        std::thread::sleep(Duration::from_millis(100));
    }
    let shown = stdout_of(&clientca(dir.path(), &["zone", "quota", &zone]));
    assert_eq!(shown, "max_certificates\t2\nunrevoked_certificates\t2\n");

    let bad = clientca(
        dir.path(),
        &["zone", "quota", &zone, "--max-certificates", "lots"],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a number, unlimited or default"));
    let back = stdout_of(&clientca(
        dir.path(),
        &["zone", "quota", &zone, "--max-certificates", "default"],
    ));
    assert!(back.starts_with("max_certificates\tdefault\n"), "{back}");
}
