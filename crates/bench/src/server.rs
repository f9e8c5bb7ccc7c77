//! Starting `clientca serve` as a child process and reading its memory.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

pub(crate) struct Server {
    child: Child,
    pub base_url: String,
    pub token: Option<String>,
    pub zone_id: Option<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Start `binary serve` on a free port with `env`, waiting until it prints its address.
    pub(crate) fn start(
        binary: &Path,
        env: &[(&str, String)],
        extra: &[&str],
    ) -> anyhow::Result<Self> {
        let mut child = Command::new(binary)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut server = Server {
            child,
            base_url: String::new(),
            token: None,
            zone_id: None,
        };
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            if let Some(secret) = line.trim().strip_prefix("export CLOUDFLARE_API_TOKEN=") {
                server.token = Some(secret.to_string());
            }
            if let Some(rest) = line.strip_prefix("First start: created account ") {
                server.zone_id = rest
                    .split('(')
                    .nth(1)
                    .and_then(|z| z.split(')').next())
                    .map(str::to_string);
            }
            if let Some(address) = line.strip_prefix("listening on ") {
                server.base_url = address.to_string();
                return Ok(server);
            }
        }
        bail!("the server exited before listening")
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// The release `clientca` next to this benchmark binary.
pub(crate) fn default_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("clientca")))
        .unwrap_or_else(|| PathBuf::from("target/release/clientca"))
}

/// Wait until `GET url` answers 200; returns how long that took.
pub(crate) async fn wait_ready(url: &str, limit: Duration) -> anyhow::Result<Duration> {
    let client = crate::load::client(1);
    let started = Instant::now();
    loop {
        let call = crate::load::Call::new(hyper::Method::GET, url);
        if crate::load::send(&client, &call).await.is_ok() {
            return Ok(started.elapsed());
        }
        if started.elapsed() > limit {
            bail!("{url} not ready after {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}
