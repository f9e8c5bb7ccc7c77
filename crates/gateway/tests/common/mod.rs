//! What the gateway tests share: a real authority on the test's database, real issuance, an
//! upstream that echoes what it received, and TLS 1.2 / 1.3 clients.
#![allow(dead_code)] // each test crate uses its own subset

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use authority::*;
use bytes::Bytes;
use gateway::{Gateway, GatewayConfig, HeaderFamily};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rustls::AlertDescription;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use test_support::TestDatabase;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// An upstream that answers every request with the request's path and headers as JSON, and
/// counts the requests that reached it.
pub(crate) struct Upstream {
    pub(crate) addr: SocketAddr,
    pub(crate) hits: Arc<AtomicUsize>,
}

impl Upstream {
    pub(crate) fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

pub(crate) async fn upstream() -> Upstream {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let mut headers = serde_json::Map::new();
                    for (name, value) in request.headers() {
                        let value = value.to_str().unwrap_or("<binary>").to_string();
                        // A header sent twice shows as a list, so duplicates cannot hide.
                        match headers.remove(name.as_str()) {
                            None => headers.insert(name.to_string(), value.into()),
                            Some(first) => {
                                headers.insert(name.to_string(), serde_json::json!([first, value]))
                            }
                        };
                    }
                    let body =
                        serde_json::json!({"path": request.uri().to_string(), "headers": headers});
                    async move {
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(
                            body.to_string(),
                        ))))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Upstream { addr, hits }
}

/// A client key and its certificate.
#[derive(Clone)]
pub(crate) struct Identity {
    pub(crate) key: Vec<u8>,
    pub(crate) certificate: Vec<u8>,
    /// When the authority issued it.
    pub(crate) record: Option<CertificateRecord>,
}

fn device_csr() -> (rcgen::KeyPair, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "device");
    let csr = params.serialize_request(&key).unwrap().pem().unwrap();
    (key, csr)
}

pub(crate) async fn issue(authority: &Authority, zone: &Zone) -> Identity {
    let (key, csr) = device_csr();
    let record = authority
        .issue_certificate(
            zone,
            IssueRequest {
                csr,
                validity_days: 30,
            },
            Actor::new(ActorKind::Cli),
        )
        .await
        .unwrap();
    Identity {
        key: key.serialize_der(),
        certificate: pem_der(&record.certificate_pem),
        record: Some(record),
    }
}

/// A certificate the zone's own CA signed, valid for a day that ended a week ago. The API never
/// backdates, so it is signed here with the CA's unsealed key, as issuance would.
pub(crate) async fn expired(setup: &Setup, zone: &Zone) -> Identity {
    let store = store::connect(&setup.db_url).await.unwrap();
    let ca = store::CaStore::get_ca_for_account(store.as_ref(), &zone.account_id)
        .await
        .unwrap()
        .expect("the account has a CA once it issued");
    let key = setup
        .master_key
        .open(&ca.sealed_private_key, ca.id.as_str().as_bytes())
        .unwrap();
    let signer = pki::CaSigner::from_parts(&ca.certificate_der, &key).unwrap();
    let (leaf_key, csr) = device_csr();
    let leaf = pki::issue_leaf(
        &signer,
        pki::LeafRequest {
            csr: &pki::VerifiedCsr::parse_pem(&csr).unwrap(),
            serial: SerialNumber::random(),
            now: time::OffsetDateTime::now_utc() - time::Duration::days(8),
            validity_days: 1,
            publication: None,
        },
    )
    .unwrap();
    Identity {
        key: leaf_key.serialize_der(),
        certificate: pem_der(&leaf.pem),
        record: None,
    }
}

pub(crate) fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body).unwrap()
}

pub(crate) fn self_signed_identity() -> Identity {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["device".into()]).unwrap();
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let certificate = params.self_signed(&key).unwrap();
    Identity {
        key: key.serialize_der(),
        certificate: certificate.der().to_vec(),
        record: None,
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Version {
    Tls12,
    Tls13,
}

pub(crate) const BOTH: [Version; 2] = [Version::Tls12, Version::Tls13];

pub(crate) struct Setup {
    pub(crate) authority: Arc<Authority>,
    pub(crate) gateway: Gateway,
    pub(crate) upstream: Upstream,
    pub(crate) zone: Zone,
    /// Another account, with a zone and a hostname of its own.
    pub(crate) other_zone: Zone,
    pub(crate) master_key: MasterKey,
    pub(crate) db_url: String,
    pub(crate) db: TestDatabase,
}

pub(crate) const ROUTES: [&str; 3] = ["mtls.a.example", "mtls.b.example", "open.a.example"];

pub(crate) async fn authority_on(db: &TestDatabase, master_key: &MasterKey) -> Arc<Authority> {
    let store = store::connect(&db.url).await.unwrap();
    let config = Config {
        master_key: Some(master_key.clone()),
        token_cache_ttl: Duration::ZERO,
        ..Config::default()
    };
    Authority::new(store, config).await.unwrap()
}

pub(crate) async fn setup(db: TestDatabase, families: Vec<HeaderFamily>) -> Setup {
    setup_with(db, |config| config.headers = families).await
}

/// Account A associates `mtls.a.example`; account B `mtls.b.example`; `open.a.example` is a
/// route nobody associated. `configure` adjusts the gateway (routes to the upstream are set).
pub(crate) async fn setup_with(
    db: TestDatabase,
    configure: impl FnOnce(&mut GatewayConfig),
) -> Setup {
    setup_reading(db, None, configure).await
}

/// `setup_with`, the gateway reading the database at `gateway_url` (the same database through
/// another path) when given, as `clientca gateway` opens it: for reading, without the master key.
pub(crate) async fn setup_reading(
    db: TestDatabase,
    gateway_url: Option<&str>,
    configure: impl FnOnce(&mut GatewayConfig),
) -> Setup {
    let master_key = MasterKey::generate().unwrap();
    let authority = authority_on(&db, &master_key).await;
    let cli = Actor::new(ActorKind::Cli);
    let zone = authority
        .create_zone("a.example", None, cli.clone())
        .await
        .unwrap();
    let other = authority
        .create_account("b", None, cli.clone())
        .await
        .unwrap();
    let other_zone = authority
        .create_zone("b.example", Some(&other.id), cli.clone())
        .await
        .unwrap();
    associate(&authority, &zone, &["mtls.a.example"]).await;
    associate(&authority, &other_zone, &["mtls.b.example"]).await;
    let upstream = upstream().await;
    let url = format!("http://{}", upstream.addr);
    let routes = ROUTES
        .iter()
        .map(|host| format!("{host}={url}").parse().unwrap())
        .collect();
    let mut config = GatewayConfig::new("127.0.0.1:0".parse().unwrap(), routes);
    config.refresh_interval = Duration::from_millis(100);
    config.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    configure(&mut config);
    let reader = match gateway_url {
        Some(url) => Authority::open_for_reading(url, Config::default())
            .await
            .unwrap(),
        None => Arc::clone(&authority),
    };
    let gateway = Gateway::start(reader, config).await.unwrap();
    Setup {
        authority,
        gateway,
        upstream,
        zone,
        other_zone,
        master_key,
        db_url: db.url.clone(),
        db,
    }
}

pub(crate) async fn associate(authority: &Authority, zone: &Zone, hostnames: &[&str]) {
    let hostnames: Vec<String> = hostnames.iter().map(|h| h.to_string()).collect();
    authority
        .replace_hostname_associations(zone, None, &hostnames, Actor::new(ActorKind::Cli))
        .await
        .unwrap();
}

pub(crate) fn client_config(
    setup: &Setup,
    version: Version,
    identity: Option<&Identity>,
) -> Arc<rustls::ClientConfig> {
    client_config_with(setup, version, identity, &[b"http/1.1"])
}

pub(crate) fn client_config_with(
    setup: &Setup,
    version: Version,
    identity: Option<&Identity>,
    alpn: &[&[u8]],
) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = match version {
        Version::Tls12 => &[&rustls::version::TLS12],
        Version::Tls13 => &[&rustls::version::TLS13],
    };
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(
            setup
                .gateway
                .self_signed_certificate
                .clone()
                .expect("--self-signed"),
        ))
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match identity {
        Some(identity) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from(identity.certificate.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity.key.clone())),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

pub(crate) async fn connect(
    setup: &Setup,
    config: Arc<rustls::ClientConfig>,
    sni: &str,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(setup.gateway.addr).await?;
    tokio_rustls::TlsConnector::from(config)
        .connect(ServerName::try_from(sni.to_string()).unwrap(), tcp)
        .await
}

/// One HTTP/1.1 request on an open TLS stream: (status, body), or an error when the server
/// refused (in TLS 1.3 a refused certificate shows here, on the first read) or closed.
pub(crate) async fn request(
    stream: &mut TlsStream<TcpStream>,
    host: &str,
    extra_headers: &str,
) -> std::io::Result<(u16, String)> {
    let head = format!("GET /probe HTTP/1.1\r\nHost: {host}\r\n{extra_headers}\r\n");
    stream.write_all(head.as_bytes()).await?;
    let mut received = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        let n = stream.read(&mut buffer).await?;
        if n == 0 {
            return Err(std::io::Error::other("closed"));
        }
        received.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&received).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if body.len() >= length {
                let status = head.split(' ').nth(1).unwrap().parse().unwrap();
                return Ok((status, body[..length].to_string()));
            }
        }
    }
}

/// How a connection was refused: the TLS alert the gateway sent, if one arrived.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refused(pub Option<AlertDescription>);

fn refusal(error: &std::io::Error) -> Refused {
    Refused(
        error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .and_then(|error| match error {
                rustls::Error::AlertReceived(alert) => Some(*alert),
                _ => None,
            }),
    )
}

/// Connect and make one request: (status, body), or how the handshake or the first read was
/// refused.
pub(crate) async fn outcome(
    setup: &Setup,
    version: Version,
    identity: Option<&Identity>,
    sni: &str,
) -> Result<(u16, String), Refused> {
    let mut stream = connect(setup, client_config(setup, version, identity), sni)
        .await
        .map_err(|e| refusal(&e))?;
    request(&mut stream, sni, "").await.map_err(|e| refusal(&e))
}

/// Wait (≤ 3 s) until `check` holds; returns how long it took.
pub(crate) async fn within(what: &str, mut check: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{what}: not within 3 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

/// GET a path of the gateway's metrics listener: (status, body).
pub(crate) async fn metrics_get(setup: &Setup, path: &str) -> (u16, String) {
    let address = setup.gateway.metrics_addr.expect("metrics_listen is set");
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!("GET {path} HTTP/1.1\r\nHost: metrics\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

/// The value of one counter or gauge line in `/metrics` (0 when absent).
pub(crate) async fn metric(setup: &Setup, series: &str) -> f64 {
    let (_, body) = metrics_get(setup, "/metrics").await;
    body.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |value| value.trim().parse().unwrap())
}
