//! The gateway's own server certificates: generated at start (`--self-signed`) or read from a
//! directory (`--cert-dir`) and re-read when its files change, so new handshakes use a renewed
//! certificate without a restart.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::routes::HostPattern;
use crate::tls::provider;

/// Where the gateway's server certificates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerCertificates {
    /// One certificate for every route host, generated at start (tests, local use).
    SelfSigned,
    /// `HOST.pem` (chain then key) or `HOST.crt` + `HOST.key`; `_wildcard.example.com.*` serves
    /// `*.example.com`.
    Directory(PathBuf),
}

/// One certificate for every route host (`--self-signed`).
#[derive(Debug)]
pub(crate) struct SingleCertificate(Arc<CertifiedKey>);

impl SingleCertificate {
    pub(crate) fn self_signed(hosts: &[String]) -> Result<Self, String> {
        let (certificate, key) =
            authority::self_signed_server_certificate(hosts, time::OffsetDateTime::now_utc())
                .map_err(|e| e.to_string())?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key));
        let signing = provider()
            .key_provider
            .load_private_key(key)
            .map_err(|e| e.to_string())?;
        tracing::info!(
            fingerprint_sha256 = %authority::fingerprint_sha256(&certificate),
            "gateway: generated a self-signed server certificate"
        );
        Ok(Self(Arc::new(CertifiedKey::new(
            vec![CertificateDer::from(certificate)],
            signing,
        ))))
    }

    /// The certificate's DER, for clients that pin it (tests).
    pub(crate) fn certificate_der(&self) -> Vec<u8> {
        self.0.cert[0].to_vec()
    }
}

impl ResolvesServerCert for SingleCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }
}

/// Certificates by hostname, read from a directory.
#[derive(Debug)]
pub(crate) struct DirectoryCertificates {
    directory: PathBuf,
    by_host: ArcSwap<HashMap<HostPattern, Arc<CertifiedKey>>>,
}

/// How a directory looked: each file's name, length and modification time.
type Listing = BTreeMap<PathBuf, (u64, Option<SystemTime>)>;

impl DirectoryCertificates {
    /// Read `directory`; every route host must have a certificate.
    pub(crate) fn load(directory: &Path, hosts: &[HostPattern]) -> Result<Self, String> {
        let by_host = read_directory(directory)?;
        for host in hosts {
            let covered = by_host.contains_key(host)
                || (!host.as_str().starts_with("*.") && lookup(&by_host, host.as_str()).is_some());
            if !covered {
                return Err(format!(
                    "{} has no certificate for the route host {} (expected {}.pem, or .crt + .key)",
                    directory.display(),
                    host.as_str(),
                    file_stem(host)
                ));
            }
        }
        tracing::info!(directory = %directory.display(), certificates = by_host.len(),
            "gateway: server certificates loaded");
        Ok(Self {
            directory: directory.to_path_buf(),
            by_host: ArcSwap::from_pointee(by_host),
        })
    }

    /// Re-read the directory whenever its files change, until `stopped`.
    pub(crate) async fn watch(
        self: Arc<Self>,
        every: Duration,
        stopped: tokio::sync::watch::Receiver<bool>,
    ) {
        let directory = self.directory.clone();
        reread_on_change(
            every,
            stopped,
            || listing(&directory),
            || {
                let by_host = read_directory(&self.directory)?;
                tracing::info!(
                    certificates = by_host.len(),
                    "gateway: server certificates re-read"
                );
                self.by_host.store(Arc::new(by_host));
                Ok(())
            },
        )
        .await;
    }
}

/// One certificate chain and its key read from two files (`serve --tls-cert --tls-key`), re-read
/// when either changes: new handshakes use a renewed certificate without a restart.
#[derive(Debug)]
pub struct CertificateFiles {
    chain: PathBuf,
    key: PathBuf,
    current: ArcSwap<CertifiedKey>,
}

impl CertificateFiles {
    /// Read both files now; the key must be the leaf's.
    pub fn load(chain: &Path, key: &Path) -> Result<Arc<Self>, String> {
        let current = load(chain, key)?;
        Ok(Arc::new(Self {
            chain: chain.to_path_buf(),
            key: key.to_path_buf(),
            current: ArcSwap::from_pointee(current),
        }))
    }

    /// A TLS configuration serving this certificate, offering HTTP/2 and HTTP/1.1 over ALPN.
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<rustls::ServerConfig>, String> {
        crate::tls::plain_config(Arc::clone(self) as Arc<dyn ResolvesServerCert>)
            .map_err(|e| e.to_string())
    }

    /// Re-read the files whenever either changes, until `stopped`.
    pub async fn watch(
        self: Arc<Self>,
        every: Duration,
        stopped: tokio::sync::watch::Receiver<bool>,
    ) {
        let files = [self.chain.clone(), self.key.clone()];
        reread_on_change(
            every,
            stopped,
            || {
                files
                    .iter()
                    .map(|file| (file.clone(), stat(file)))
                    .collect()
            },
            || {
                let renewed = load(&self.chain, &self.key)?;
                tracing::info!(file = %self.chain.display(), "TLS certificate re-read");
                self.current.store(Arc::new(renewed));
                Ok(())
            },
        )
        .await;
    }
}

impl ResolvesServerCert for CertificateFiles {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// Every `every`, compare `look()` with what it said before and `reload()` on a difference, until
/// `stopped`. A failed reload (a half-written file) keeps what is served; the write completing is
/// a further change, read again.
async fn reread_on_change(
    every: Duration,
    mut stopped: tokio::sync::watch::Receiver<bool>,
    look: impl Fn() -> Listing,
    reload: impl Fn() -> Result<(), String>,
) {
    let mut seen = look();
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = crate::stopping(&mut stopped) => break,
        }
        let now = look();
        if now == seen {
            continue;
        }
        seen = now;
        if let Err(error) = reload() {
            tracing::warn!(%error, "keeping the previous server certificates");
        }
    }
}

fn lookup<'a>(
    by_host: &'a HashMap<HostPattern, Arc<CertifiedKey>>,
    sni: &str,
) -> Option<&'a Arc<CertifiedKey>> {
    let exact = HostPattern::parse(sni).and_then(|host| by_host.get(&host));
    exact.or_else(|| {
        let (_, parent) = sni.split_once('.')?;
        by_host.get(&HostPattern::parse(&format!("*.{parent}"))?)
    })
}

impl ResolvesServerCert for DirectoryCertificates {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let sni = hello.server_name()?.to_ascii_lowercase();
        lookup(&self.by_host.load(), &sni).cloned()
    }
}

/// `api.example.com` → `api.example.com`, `*.example.com` → `_wildcard.example.com`.
fn file_stem(host: &HostPattern) -> String {
    match host.as_str().strip_prefix("*.") {
        Some(parent) => format!("_wildcard.{parent}"),
        None => host.as_str().to_string(),
    }
}

fn host_of(stem: &str) -> Option<HostPattern> {
    match stem.strip_prefix("_wildcard.") {
        Some(parent) => HostPattern::parse(&format!("*.{parent}")),
        None => HostPattern::parse(stem),
    }
}

fn listing(directory: &Path) -> Listing {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return Listing::new();
    };
    entries
        .flatten()
        .map(|entry| {
            let path = entry.path();
            let seen = stat(&path);
            (path, seen)
        })
        .collect()
}

/// A file's length and modification time (zero and none when it cannot be read).
fn stat(path: &Path) -> (u64, Option<SystemTime>) {
    std::fs::metadata(path).map_or((0, None), |meta| (meta.len(), meta.modified().ok()))
}

fn read_directory(directory: &Path) -> Result<HashMap<HostPattern, Arc<CertifiedKey>>, String> {
    let entries = std::fs::read_dir(directory)
        .map_err(|e| format!("cannot read {}: {e}", directory.display()))?;
    let mut by_host = HashMap::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let (Some(stem), Some(extension)) = (
            path.file_stem().and_then(|s| s.to_str()),
            path.extension().and_then(|s| s.to_str()),
        ) else {
            continue;
        };
        let (chain_file, key_file) = match extension {
            "pem" => (path.clone(), path.clone()),
            "crt" => (path.clone(), path.with_extension("key")),
            _ => continue,
        };
        let Some(host) = host_of(stem) else {
            continue;
        };
        let key = load(&chain_file, &key_file).map_err(|e| format!("{}: {e}", path.display()))?;
        by_host.insert(host, Arc::new(key));
    }
    Ok(by_host)
}

/// A chain (leaf first) and its private key, checked to belong together.
fn load(chain_file: &Path, key_file: &Path) -> Result<CertifiedKey, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(chain_file)
        .map_err(|e| e.to_string())?
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    if chain.is_empty() {
        return Err("no CERTIFICATE in the file".into());
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| format!("no usable private key in {}: {e}", key_file.display()))?;
    // Checks that the key is the leaf's.
    CertifiedKey::from_der(chain, key, &provider()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_map_to_hosts_and_back() {
        for host in ["api.example.com", "*.devices.example.com"] {
            let pattern = HostPattern::parse(host).unwrap();
            assert_eq!(host_of(&file_stem(&pattern)), Some(pattern));
        }
        assert_eq!(host_of("_wildcard."), None);
    }
}
