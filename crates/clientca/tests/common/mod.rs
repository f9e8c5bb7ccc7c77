//! Running the `clientca` binary as a user would: commands and `serve` child processes.
#![allow(dead_code)] // each test crate uses its own subset

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_clientca");

/// A command with the caller's clientca environment removed, so only `env` applies.
pub(crate) fn command(dir: &Path, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BIN);
    command
        .current_dir(dir)
        .env_remove("CLIENTCA_DATABASE_URL")
        .env_remove("CLIENTCA_MASTER_KEY")
        .env_remove("CLIENTCA_DATA_DIR")
        .envs(env.iter().copied());
    command
}

pub(crate) fn clientca(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    command(dir, env)
        .args(args)
        .output()
        .expect("clientca runs")
}

/// Stdout of a command that must succeed.
pub(crate) fn stdout_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "clientca failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// A `clientca serve` child process, killed and reaped when dropped.
pub(crate) struct Serve {
    pub child: Child,
    pub base_url: String,
    /// The bootstrap token, when this start found an empty database.
    pub token: Option<String>,
    /// `host:port` of the gateway, with `--gateway-listen`.
    pub gateway: Option<String>,
}

impl Serve {
    /// The zone's client-certificate collection on this server.
    pub(crate) fn certificates_url(&self, zone: &str) -> String {
        format!(
            "{}/client/v4/zones/{zone}/client_certificates",
            self.base_url
        )
    }
}

/// The id of the first zone `clientca zone list` prints (the bootstrap zone on a fresh database).
pub(crate) fn first_zone(dir: &Path, env: &[(&str, &str)]) -> String {
    let zones = stdout_of(&clientca(dir, env, &["zone", "list"]));
    zones.split('\t').next().unwrap().to_string()
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `clientca serve --listen 127.0.0.1:0 <extra>` and wait until it prints its address.
pub(crate) fn serve(dir: &Path, env: &[(&str, &str)], extra: &[&str]) -> Serve {
    serve_logging_to(dir, env, extra, Stdio::null())
}

/// `serve`, with its log (stderr) going to `log`.
pub(crate) fn serve_logging_to(
    dir: &Path,
    env: &[(&str, &str)],
    extra: &[&str],
    log: Stdio,
) -> Serve {
    let child = command(dir, env)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("serve starts");
    // Owned by `Serve` from here on, so a failed read below still kills and reaps the process.
    let mut serve = Serve {
        child,
        base_url: String::new(),
        token: None,
        gateway: None,
    };
    let mut lines = BufReader::new(serve.child.stdout.take().unwrap()).lines();
    while serve.base_url.is_empty() {
        let line = lines.next().expect("serve printed its address").unwrap();
        if let Some(secret) = line.trim().strip_prefix("export CLOUDFLARE_API_TOKEN=") {
            serve.token = Some(secret.to_string());
        }
        if let Some(address) = line.strip_prefix("gateway listening on https://") {
            serve.gateway = Some(address.to_string());
        }
        if let Some(address) = line.strip_prefix("listening on ") {
            serve.base_url = address.to_string();
        }
    }
    serve
}

/// A blocking HTTP call with a bearer token: (status, JSON body or null). A dropped connection
/// fails the test.
pub(crate) fn call(
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
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
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    })
}
