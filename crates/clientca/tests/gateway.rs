//! The mTLS gateway as a user runs it, following README's walk-through with the same tools
//! (openssl for the key, curl as the TLS client): `clientca gateway` as its own process without
//! the master key, and `serve --gateway-listen` in one process.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;

use common::{call, serve};
use reqwest::Method;

const HOST: &str = "api.example.com";

/// An upstream answering every request `hello from upstream`, keeping each request's head.
fn upstream() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            record
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(&head).to_lowercase());
            let body = "hello from upstream";
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (address, seen)
}

/// `curl https://api.example.com/hello` through the gateway: Ok(body) or Err(curl's message).
fn curl(dir: &Path, gateway: &str, with_certificate: bool) -> Result<String, String> {
    let port = gateway.rsplit_once(':').unwrap().1;
    let mut command = Command::new("curl");
    command.current_dir(dir).args([
        "-sS",
        "--fail",
        "--max-time",
        "5",
        // The gateway's certificate is self-signed (--self-signed).
        "--insecure",
        "--resolve",
        &format!("{HOST}:{port}:127.0.0.1"),
    ]);
    if with_certificate {
        command.args(["--cert", "device.pem", "--key", "device.key"]);
    }
    let output = command
        .arg(format!("https://{HOST}:{port}/hello"))
        .output()
        .expect("curl runs");
    if output.status.success() {
        Ok(String::from_utf8(output.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).to_string())
    }
}

/// What the walk-through sets up: a device certificate (key made by openssl) and the zone's
/// hostname association.
struct Device {
    certificate: String,
    zone: String,
}

fn issue_and_associate(dir: &Path, base_url: &str, token: &str) -> Device {
    let zone = common::first_zone(dir, &[]);
    let openssl = Command::new("openssl")
        .current_dir(dir)
        .args([
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "device.key",
            "-subj",
            "/CN=device-1/O=Acme",
            "-out",
            "device.csr",
        ])
        .output()
        .unwrap();
    assert!(openssl.status.success(), "{openssl:?}");
    let csr = std::fs::read_to_string(dir.join("device.csr")).unwrap();
    let zone_url = format!("{base_url}/client/v4/zones/{zone}");
    let (status, created) = call(
        Method::POST,
        &format!("{zone_url}/client_certificates"),
        token,
        Some(serde_json::json!({"csr": csr, "validity_days": 30})),
    );
    assert_eq!(status, 200, "{created}");
    std::fs::write(
        dir.join("device.pem"),
        created["result"]["certificate"].as_str().unwrap(),
    )
    .unwrap();
    let (status, associated) = call(
        Method::PUT,
        &format!("{zone_url}/certificate_authorities/hostname_associations"),
        token,
        Some(serde_json::json!({"hostnames": [HOST]})),
    );
    assert_eq!(status, 200, "{associated}");
    Device {
        certificate: created["result"]["id"].as_str().unwrap().to_string(),
        zone,
    }
}

/// Repeat `check` until it holds, for at most `limit`; how long it took.
fn within(limit: Duration, what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    started.elapsed()
}

/// Accepted with the certificate, refused without; revoked → refused within a second of the
/// certificate becoming `revoked`.
fn enforce_and_revoke(
    dir: &Path,
    base_url: &str,
    token: &str,
    gateway: &str,
    device: &Device,
    seen: &Mutex<Vec<String>>,
) {
    let before = seen.lock().unwrap().len();
    let body = curl(dir, gateway, true).expect("the device's certificate is accepted");
    assert_eq!(body, "hello from upstream");
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), before + 1);
        let forwarded = &seen[before];
        assert!(forwarded.contains("\r\nclient-cert: :"), "{forwarded}");
    }
    assert!(
        curl(dir, gateway, false).is_err(),
        "no certificate, no entry"
    );
    assert_eq!(
        seen.lock().unwrap().len(),
        before + 1,
        "a refusal reaches no upstream"
    );

    let item = format!(
        "{base_url}/client/v4/zones/{}/client_certificates/{}",
        device.zone, device.certificate
    );
    let (status, _) = call(Method::DELETE, &item, token, None);
    assert_eq!(status, 200);
    within(Duration::from_secs(10), "published as revoked", || {
        call(Method::GET, &item, token, None).1["result"]["status"] == "revoked"
    });
    within(Duration::from_secs(2), "refused once revoked", || {
        curl(dir, gateway, true).is_err()
    });
    let refused = curl(dir, gateway, true).unwrap_err();
    assert!(refused.contains("alert certificate revoked"), "{refused}");
}

/// Lines a child prints until `until` is found; the value after `prefix` on each.
fn read_until(child: &mut std::process::Child, prefixes: &[&str], until: &str) -> Vec<String> {
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut found = Vec::new();
    loop {
        let line = lines
            .next()
            .expect("the process printed its address")
            .unwrap();
        for prefix in prefixes {
            if let Some(value) = line.strip_prefix(prefix) {
                found.push(value.to_string());
            }
        }
        if line.starts_with(until) {
            return found;
        }
    }
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_gateway_process_enforces_certificates_without_the_master_key() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), &[], &["--publish-interval", "500ms"]);
    let token = server.token.clone().unwrap();
    let device = issue_and_associate(dir.path(), &server.base_url, &token);
    let (upstream, seen) = upstream();

    // Its own data directory: no master key file, no key in the environment.
    let elsewhere = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("data/clientca.db").display());
    let child = common::command(elsewhere.path(), &[("CLIENTCA_DATABASE_URL", &database)])
        .args([
            "gateway",
            "--listen",
            "127.0.0.1:0",
            "--route",
            &format!("{HOST}=http://{upstream}"),
            "--self-signed",
            "--metrics-listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut gateway = Killed(child);
    let found = read_until(
        &mut gateway.0,
        &[
            "gateway listening on https://",
            "gateway metrics on http://",
        ],
        "gateway metrics on",
    );
    let [address, metrics] = found.as_slice() else {
        panic!("the gateway printed {found:?}");
    };
    enforce_and_revoke(
        dir.path(),
        &server.base_url,
        &token,
        address,
        &device,
        &seen,
    );
    assert!(
        std::fs::read_dir(elsewhere.path())
            .unwrap()
            .next()
            .is_none(),
        "the gateway wrote nothing (no master key, no database) in its directory"
    );

    let metrics = Command::new("curl")
        .args(["-sS", &format!("http://{metrics}")])
        .output()
        .unwrap();
    let metrics = String::from_utf8(metrics.stdout).unwrap();
    // Accepted handshakes depend on how soon after the revocation the first refusal came.
    for line in [
        "clientca_gateway_handshakes_total{outcome=\"ok\"} ",
        "clientca_gateway_handshakes_total{outcome=\"no_cert\"} 1\n",
        "clientca_gateway_handshakes_total{outcome=\"revoked\"} 2\n",
        "clientca_gateway_requests_total{status=\"200\"} ",
        "clientca_gateway_associated_hosts 1\n",
        "clientca_gateway_revoked_serials 1\n",
    ] {
        assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
    }
}

#[test]
fn serve_runs_the_gateway_in_the_same_process() {
    let dir = tempfile::tempdir().unwrap();
    let (upstream, seen) = upstream();
    let route = format!("{HOST}=http://{upstream}");
    let server = serve(
        dir.path(),
        &[],
        &[
            "--publish-interval",
            "500ms",
            "--gateway-listen",
            "127.0.0.1:0",
            "--route",
            &route,
            "--self-signed",
        ],
    );
    let token = server.token.clone().unwrap();
    let gateway = server
        .gateway
        .clone()
        .expect("serve printed the gateway's address");
    let device = issue_and_associate(dir.path(), &server.base_url, &token);
    // The association takes effect without a restart.
    within(
        Duration::from_secs(1),
        "the new association enforced",
        || curl(dir.path(), &gateway, false).is_err(),
    );
    enforce_and_revoke(
        dir.path(),
        &server.base_url,
        &token,
        &gateway,
        &device,
        &seen,
    );
}

#[test]
fn gateway_flags_that_make_no_sense_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    for (args, says) in [
        (&["gateway", "--self-signed"][..], "--route"),
        (
            &["gateway", "--route", "a.example.com=http://127.0.0.1:1"][..],
            "--self-signed",
        ),
        (
            &[
                "gateway",
                "--route",
                "a.example.com=https://127.0.0.1:1",
                "--self-signed",
            ][..],
            "http://",
        ),
        (
            &[
                "gateway",
                "--route",
                "a.example.com=http://127.0.0.1:1",
                "--self-signed",
                "--revocation-max-staleness",
                "0s",
            ][..],
            "--revocation-max-staleness",
        ),
        (
            &["serve", "--route", "a.example.com=http://127.0.0.1:1"][..],
            "--gateway-listen",
        ),
    ] {
        let output = common::clientca(dir.path(), &[], args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} started");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
