//! `serve --tls-cert --tls-key`: the official SDK over https with a private CA, HTTP/2 by ALPN,
//! and a renewed certificate picked up without a restart.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use clientca::TlsFiles;
use test_support::{ForeignCa, TestDatabase, backend_tests, skip_notice, strict};

use crate::helpers::TestApp;
use crate::sdk::{python, run_sdk_script};

backend_tests!(
    the_official_sdk_works_over_tls_with_a_private_ca,
    a_silent_http2_connection_is_closed,
);

/// The leaf certificate a TLS client is shown at `address` (PEM), per `openssl s_client`.
fn served_certificate(address: std::net::SocketAddr, ca: &Path) -> String {
    let output = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &address.to_string(),
            "-servername",
            "localhost",
        ])
        .arg("-CAfile")
        .arg(ca)
        .arg("-verify_return_error")
        .arg("-showcerts")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let start = text
        .find("-----BEGIN CERTIFICATE-----")
        .expect("a certificate shown");
    let end = text[start..].find("-----END CERTIFICATE-----").unwrap() + start;
    text[start..end].to_string()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

async fn the_official_sdk_works_over_tls_with_a_private_ca(db: TestDatabase) {
    let Some(python) = python() else {
        if strict() {
            panic!("CLIENTCA_TEST_STRICT=1 but no Python with the SDK: run scripts/test");
        }
        skip_notice(
            "the official-SDK test",
            "run scripts/test (it creates .venv)",
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let private_ca = ForeignCa::root("Private Test Root");
    let ca_file = write(dir.path(), "ca.pem", &private_ca.pem);
    let (certificate, key) = private_ca.server(&["localhost", "127.0.0.1"]);
    let certificate_file = write(dir.path(), "server.pem", &certificate);
    let key_file = write(dir.path(), "server.key", &key);
    let app = TestApp::spawn_configured(db, |options| {
        options.tls = Some(TlsFiles {
            certificate: certificate_file.clone(),
            key: key_file.clone(),
        });
    })
    .await;
    let base_url = app.server.api_base_url();
    assert!(base_url.starts_with("https://127.0.0.1:"), "{base_url}");

    // Every SDK operation, trusting only the private CA.
    let mut command = Command::new(&python);
    command
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/official_sdk.py"))
        .env_remove("PYTHONOPTIMIZE")
        .env("SSL_CERT_FILE", &ca_file);
    run_sdk_script(&app, command, Vec::new()).await;

    // Without the CA the SDK refuses the server: the TLS is real.
    let refused = Command::new(&python)
        .args([
            "-c",
            "import os, cloudflare\n\
             c = cloudflare.Cloudflare(api_token=os.environ['T'], base_url=os.environ['U'], max_retries=0)\n\
             try:\n    c.zones.list()\nexcept cloudflare.APIConnectionError as e:\n    print('refused', e.__cause__)",
        ])
        .env("T", &app.token)
        .env("U", &base_url)
        .env_remove("SSL_CERT_FILE")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&refused.stdout);
    assert!(
        said.contains("refused") && said.contains("CERTIFICATE_VERIFY_FAILED"),
        "{said}"
    );

    // curl negotiates HTTP/2 by ALPN; plain HTTP on the TLS port gets no answer.
    let version = Command::new("curl")
        .args([
            "-sS",
            "--http2",
            "-o",
            "/dev/null",
            "-w",
            "%{http_version} %{http_code}",
        ])
        .arg("--cacert")
        .arg(&ca_file)
        .arg(format!(
            "https://localhost:{}/healthz",
            app.server.addr.port()
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&version.stdout), "2 200");
    let plain = Command::new("curl")
        .args(["-sS", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!(
            "http://127.0.0.1:{}/healthz",
            app.server.addr.port()
        ))
        .output()
        .unwrap();
    assert_ne!(String::from_utf8_lossy(&plain.stdout), "200");

    // A renewed certificate written over the files is served to new handshakes.
    assert!(served_certificate(app.server.addr, &ca_file).contains(&certificate[28..90]));
    let (renewed, renewed_key) = private_ca.server(&["localhost", "127.0.0.1"]);
    write(dir.path(), "server.key.new", &renewed_key);
    write(dir.path(), "server.pem.new", &renewed);
    std::fs::rename(dir.path().join("server.key.new"), &key_file).unwrap();
    std::fs::rename(dir.path().join("server.pem.new"), &certificate_file).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let address = app.server.addr;
    let ca = ca_file.clone();
    loop {
        let shown = tokio::task::spawn_blocking({
            let ca = ca.clone();
            move || served_certificate(address, &ca)
        })
        .await
        .unwrap();
        if shown.contains(&renewed[28..90]) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the renewed certificate was never served"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A client that completes the TLS handshake and the HTTP/2 preface, then says nothing, is
/// closed after the idle timeout instead of holding its connection slot for ever.
async fn a_silent_http2_connection_is_closed(db: TestDatabase) {
    let dir = tempfile::tempdir().unwrap();
    let private_ca = ForeignCa::root("Private Test Root");
    let (certificate, key) = private_ca.server(&["localhost", "127.0.0.1"]);
    let tls = TlsFiles {
        certificate: write(dir.path(), "server.pem", &certificate),
        key: write(dir.path(), "server.key", &key),
    };
    let app = TestApp::spawn_configured(db, |options| {
        options.tls = Some(tls);
        options.limits.idle_timeout = Duration::from_secs(1);
    })
    .await;
    let mut client = Command::new("openssl")
        .args(["s_client", "-quiet", "-alpn", "h2", "-connect"])
        .arg(app.server.addr.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The client preface and an empty SETTINGS frame; stdin stays open: the client is silent.
    let mut stdin = client.stdin.take().unwrap();
    std::io::Write::write_all(
        &mut stdin,
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00",
    )
    .unwrap();
    let started = Instant::now();
    let closed = loop {
        if client.try_wait().unwrap().is_some() {
            break true;
        }
        if started.elapsed() > Duration::from_secs(10) {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let _ = client.kill();
    drop(stdin);
    assert!(closed, "the silent connection was still open after 10 s");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "closed before the idle timeout"
    );
}
