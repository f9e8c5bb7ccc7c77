//! TLS clients for the gateway benchmarks (and nginx, the peer): mTLS handshakes with or without
//! resumption, and HTTP/1.1 requests on the TLS stream, read by Content-Length.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// Where and how to connect.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) address: SocketAddr,
    pub(crate) sni: ServerName<'static>,
    pub(crate) host: String,
}

impl Target {
    pub(crate) fn new(address: SocketAddr, host: &str) -> anyhow::Result<Self> {
        Ok(Self {
            address,
            sni: ServerName::try_from(host.to_string()).context("--sni is not a name")?,
            host: host.to_string(),
        })
    }
}

/// A TLS 1.3 client trusting `server_ca`, presenting `identity` (certificate chain PEM, key PEM)
/// when given; sessions are resumed only when `resumption` is set.
pub(crate) fn client_config(
    server_ca: &Path,
    identity: Option<(&[u8], &[u8])>,
    resumption: bool,
) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_file_iter(server_ca)? {
        roots.add(certificate?)?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])?
    .with_root_certificates(roots);
    let mut config = match identity {
        Some((chain, key)) => builder.with_client_auth_cert(
            CertificateDer::pem_slice_iter(chain).collect::<Result<_, _>>()?,
            PrivateKeyDer::from_pem_slice(key)?,
        )?,
        None => builder.with_no_client_auth(),
    };
    if !resumption {
        config.resumption = rustls::client::Resumption::disabled();
    }
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

pub(crate) async fn connect(
    target: &Target,
    config: &Arc<rustls::ClientConfig>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(target.address).await?;
    tcp.set_nodelay(true)?;
    tokio_rustls::TlsConnector::from(Arc::clone(config))
        .connect(target.sni.clone(), tcp)
        .await
}

/// `GET /` on `stream`; the status once the whole response (Content-Length) is read.
pub(crate) async fn get(
    stream: &mut (impl AsyncRead + AsyncWrite + Unpin),
    host: &str,
    close: bool,
) -> std::io::Result<u16> {
    let connection = if close { "close" } else { "keep-alive" };
    let head = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: {connection}\r\n\r\n");
    stream.write_all(head.as_bytes()).await?;
    let mut received = Vec::with_capacity(2048);
    let mut buffer = [0u8; 4096];
    loop {
        let n = stream.read(&mut buffer).await?;
        if n == 0 {
            return Err(std::io::Error::other("closed before a whole response"));
        }
        received.extend_from_slice(&buffer[..n]);
        let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&received[..end]);
        let length: usize = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .unwrap_or(0);
        if received.len() >= end + 4 + length {
            let status = head
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| std::io::Error::other("not an HTTP response"))?;
            return Ok(status);
        }
    }
}
