//! The gateway enforcing certificates, end to end: a real authority on each database, real
//! issuance, a real upstream, TLS 1.2 and 1.3 clients.

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
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use test_support::{TestDatabase, backend_tests};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

backend_tests!(
    each_certificate_gets_its_exact_outcome,
    revocation_reaches_new_handshakes_resumptions_and_open_connections,
    hosts_and_headers_are_checked_on_every_request,
);

/// An upstream that answers every request with the request's headers as JSON, and counts.
struct Upstream {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
}

async fn upstream() -> Upstream {
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
                    let headers: serde_json::Map<String, serde_json::Value> = request
                        .headers()
                        .iter()
                        .map(|(name, value)| {
                            (
                                name.to_string(),
                                value.to_str().unwrap_or("<binary>").into(),
                            )
                        })
                        .collect();
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

/// A client key and the certificate the authority issued for it.
struct Identity {
    key: Vec<u8>,
    certificate: Vec<u8>,
    record: Option<CertificateRecord>,
}

async fn issue(authority: &Authority, zone: &Zone) -> Identity {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "device");
    let csr = params.serialize_request(&key).unwrap().pem().unwrap();
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
    let certificate = pem_der(&record.certificate_pem);
    Identity {
        key: key.serialize_der(),
        certificate,
        record: Some(record),
    }
}

fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body).unwrap()
}

fn self_signed_identity() -> Identity {
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
enum Version {
    Tls12,
    Tls13,
}

const BOTH: [Version; 2] = [Version::Tls12, Version::Tls13];

struct Setup {
    authority: Arc<Authority>,
    gateway: Gateway,
    upstream: Upstream,
    zone: Zone,
    /// Another account, with a zone and a hostname of its own.
    other_zone: Zone,
    _db: TestDatabase,
}

/// Account A associates `mtls.a.example`; account B `mtls.b.example`; `open.a.example` is a
/// route nobody associated.
async fn setup(db: TestDatabase, families: Vec<HeaderFamily>) -> Setup {
    let store = store::connect(&db.url).await.unwrap();
    let config = Config {
        master_key: Some(MasterKey::generate().unwrap()),
        token_cache_ttl: Duration::ZERO,
        ..Config::default()
    };
    let authority = Authority::new(store, config).await.unwrap();
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
    authority
        .replace_hostname_associations(&zone, None, &["mtls.a.example".into()], cli.clone())
        .await
        .unwrap();
    authority
        .replace_hostname_associations(&other_zone, None, &["mtls.b.example".into()], cli)
        .await
        .unwrap();
    let upstream = upstream().await;
    let url = format!("http://{}", upstream.addr);
    let routes = ["mtls.a.example", "mtls.b.example", "open.a.example"]
        .iter()
        .map(|host| format!("{host}={url}").parse().unwrap())
        .collect();
    let mut config = GatewayConfig::new("127.0.0.1:0".parse().unwrap(), routes);
    config.headers = families;
    config.refresh_interval = Duration::from_millis(100);
    let gateway = Gateway::start(Arc::clone(&authority), config)
        .await
        .unwrap();
    Setup {
        authority,
        gateway,
        upstream,
        zone,
        other_zone,
        _db: db,
    }
}

fn client_config(
    setup: &Setup,
    version: Version,
    identity: Option<&Identity>,
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
    let config = match identity {
        Some(identity) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from(identity.certificate.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity.key.clone())),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    Arc::new(config)
}

async fn connect(
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
async fn request(
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

/// Connect and make one request: the status, or `None` when the handshake or the first read
/// failed (a refused certificate).
async fn outcome(
    setup: &Setup,
    version: Version,
    identity: Option<&Identity>,
    sni: &str,
) -> Option<(u16, String)> {
    let mut stream = connect(setup, client_config(setup, version, identity), sni)
        .await
        .ok()?;
    request(&mut stream, sni, "").await.ok()
}

async fn each_certificate_gets_its_exact_outcome(db: TestDatabase) {
    let setup = setup(db, vec![HeaderFamily::Rfc9440]).await;
    let mine = issue(&setup.authority, &setup.zone).await;
    let theirs = issue(&setup.authority, &setup.other_zone).await;
    let stranger = self_signed_identity();
    for version in BOTH {
        let hits = setup.upstream.hits.load(Ordering::SeqCst);
        for (what, identity) in [
            ("no certificate", None),
            ("another account's certificate", Some(&theirs)),
            ("a self-signed certificate", Some(&stranger)),
        ] {
            assert_eq!(
                outcome(&setup, version, identity, "mtls.a.example").await,
                None,
                "{version:?}: {what} was let through"
            );
        }
        assert_eq!(
            setup.upstream.hits.load(Ordering::SeqCst),
            hits,
            "{version:?}: a refused client reached the upstream"
        );

        let (status, body) = outcome(&setup, version, Some(&mine), "mtls.a.example")
            .await
            .expect("the account's own certificate passes");
        assert_eq!(status, 200, "{body}");
        let seen: serde_json::Value = serde_json::from_str(&body).unwrap();
        let expected = format!(
            ":{}:",
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                &mine.certificate
            )
        );
        assert_eq!(
            seen["headers"]["client-cert"],
            expected.as_str(),
            "byte-exact leaf"
        );
        assert_eq!(seen["headers"]["x-forwarded-proto"], "https");
        assert_eq!(seen["path"], "/probe");

        // A route nobody associated asks for no certificate.
        let (status, body) = outcome(&setup, version, None, "open.a.example")
            .await
            .unwrap();
        assert_eq!(status, 200);
        let seen: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(seen["headers"].get("client-cert").is_none());
        // And another account's host trusts only its own CA.
        assert!(
            outcome(&setup, version, Some(&mine), "mtls.b.example")
                .await
                .is_none()
        );
        assert!(
            outcome(&setup, version, Some(&theirs), "mtls.b.example")
                .await
                .is_some()
        );
    }
}

/// Wait (≤ 3 s) until `check` holds; returns how long it took.
async fn within(what: &str, mut check: impl AsyncFnMut() -> bool) -> Duration {
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

async fn revocation_reaches_new_handshakes_resumptions_and_open_connections(db: TestDatabase) {
    let setup = setup(db, vec![HeaderFamily::Rfc9440]).await;
    for version in BOTH {
        let identity = issue(&setup.authority, &setup.zone).await;
        let record = identity.record.clone().unwrap();
        let config = client_config(&setup, version, Some(&identity));
        // An open keep-alive connection, and a session to resume, from before the revocation.
        let mut open = connect(&setup, Arc::clone(&config), "mtls.a.example")
            .await
            .unwrap();
        assert_eq!(
            request(&mut open, "mtls.a.example", "").await.unwrap().0,
            200
        );
        let mut warm = connect(&setup, Arc::clone(&config), "mtls.a.example")
            .await
            .unwrap();
        assert_eq!(
            request(&mut warm, "mtls.a.example", "").await.unwrap().0,
            200
        );
        drop(warm);

        // Pending revocation can still be undone: still accepted.
        setup
            .authority
            .revoke_certificate(&setup.zone, &record.id, None, Actor::new(ActorKind::Cli))
            .await
            .unwrap();
        assert_eq!(
            request(&mut open, "mtls.a.example", "").await.unwrap().0,
            200
        );
        // Published: refused everywhere within a second.
        setup.authority.publish(100).await.unwrap();
        let open_refused = within("the open connection", async || {
            !matches!(request(&mut open, "mtls.a.example", "").await, Ok((200, _)))
        })
        .await;
        let config_for_resume = Arc::clone(&config);
        let resumed_refused = within("a resumed session", async || {
            match connect(&setup, Arc::clone(&config_for_resume), "mtls.a.example").await {
                Ok(mut stream) => request(&mut stream, "mtls.a.example", "").await.is_err(),
                Err(_) => true,
            }
        })
        .await;
        let fresh_refused = within("a new handshake", async || {
            outcome(&setup, version, Some(&identity), "mtls.a.example")
                .await
                .is_none()
        })
        .await;
        for (what, took) in [
            ("open connection", open_refused),
            ("resumption", resumed_refused),
            ("new handshake", fresh_refused),
        ] {
            assert!(
                took <= Duration::from_secs(1),
                "{version:?} {what}: {took:?}"
            );
        }
    }
}

async fn hosts_and_headers_are_checked_on_every_request(db: TestDatabase) {
    let setup = setup(db, vec![HeaderFamily::Rfc9440, HeaderFamily::Cloudflare]).await;
    let mine = issue(&setup.authority, &setup.zone).await;
    let record = mine.record.clone().unwrap();
    let config = client_config(&setup, Version::Tls13, Some(&mine));
    let mut stream = connect(&setup, Arc::clone(&config), "mtls.a.example")
        .await
        .unwrap();
    // Forged certificate headers, in every family and case, never reach the upstream.
    let forged = "Client-Cert: :Zm9yZ2Vk:\r\nCF-Cert-Verified: true\r\ncf-cert-revoked: false\r\n\
                  X-Forwarded-Client-Cert: Hash=forged\r\nx-forwarded-tls-client-cert: forged\r\n\
                  Cf-Client-Cert-Sha256: forged\r\n";
    let (status, body) = request(&mut stream, "mtls.a.example", forged)
        .await
        .unwrap();
    assert_eq!(status, 200);
    let seen: serde_json::Value = serde_json::from_str(&body).unwrap();
    let headers = &seen["headers"];
    assert_eq!(headers["cf-cert-verified"], "true");
    assert_eq!(headers["cf-cert-revoked"], "false");
    assert_eq!(
        headers["cf-cert-fingerprint-sha256"],
        record.fingerprint_sha256.as_str()
    );
    assert_eq!(
        headers["cf-cert-serial"],
        format!("{:X}", record.serial_number.value()).as_str(),
        "uppercase hex of the API's decimal serial_number"
    );
    assert!(headers.get("x-forwarded-client-cert").is_none());
    assert!(headers.get("x-forwarded-tls-client-cert").is_none());
    assert_ne!(headers["client-cert"], ":Zm9yZ2Vk:");
    assert_ne!(headers["cf-client-cert-sha256"], "forged");

    // A Host naming another route, or an associated host over an unassociated SNI: 421.
    let (status, _) = request(&mut stream, "open.a.example", "").await.unwrap();
    assert_eq!(status, 421);
    let plain = client_config(&setup, Version::Tls13, None);
    let mut open = connect(&setup, plain, "open.a.example").await.unwrap();
    let hits = setup.upstream.hits.load(Ordering::SeqCst);
    let (status, _) = request(&mut open, "mtls.a.example", "").await.unwrap();
    assert_eq!(
        status, 421,
        "an unassociated SNI cannot reach an associated host"
    );
    assert_eq!(setup.upstream.hits.load(Ordering::SeqCst), hits);
}
