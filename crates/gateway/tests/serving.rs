//! How the gateway serves: HTTP/2 from clients (with the same checks as HTTP/1.1), and server
//! certificates from a directory, re-read when the files change.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use authority::{Actor, ActorKind};
use bytes::Bytes;
use common::*;
use gateway::{Gateway, GatewayConfig, ServerCertificates};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, ServerName};
use test_support::{TestDatabase, backend_tests};

backend_tests!(http2_requests_get_the_same_checks);

/// One HTTP/2 request: (status, body), or an error once the connection is closed.
async fn send(
    sender: &mut hyper::client::conn::http2::SendRequest<Empty<Bytes>>,
    authority: &str,
    forged: bool,
) -> Result<(u16, String), hyper::Error> {
    let mut request = hyper::Request::get(format!("https://{authority}/probe"));
    if forged {
        request = request
            .header("client-cert", ":Zm9yZ2Vk:")
            .header("Client-Cert", ":YWdhaW4=:")
            .header("CF-Cert-Verified", "true")
            .header("x-forwarded-client-cert", "Hash=forged");
    }
    let response = sender
        .send_request(request.body(Empty::new()).unwrap())
        .await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).to_string()))
}

async fn http2_requests_get_the_same_checks(db: TestDatabase) {
    let setup = setup(db, vec![gateway::HeaderFamily::Rfc9440]).await;
    let mine = issue(&setup.authority, &setup.zone).await;
    let config = client_config_with(&setup, Version::Tls13, Some(&mine), &[b"h2"]);
    let stream = connect(&setup, config, "mtls.a.example").await.unwrap();
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);

    let (status, body) = send(&mut sender, "mtls.a.example", true).await.unwrap();
    assert_eq!(status, 200, "{body}");
    let headers = &serde_json::from_str::<serde_json::Value>(&body).unwrap()["headers"];
    let expected = format!(
        ":{}:",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            &mine.certificate
        )
    );
    assert_eq!(
        headers["client-cert"],
        expected.as_str(),
        "forged copies gone"
    );
    assert!(headers.get("cf-cert-verified").is_none());
    assert!(headers.get("x-forwarded-client-cert").is_none());

    // An :authority naming another route than the SNI.
    let hits = setup.upstream.hits();
    let (status, _) = send(&mut sender, "open.a.example", false).await.unwrap();
    assert_eq!(status, 421);
    assert_eq!(setup.upstream.hits(), hits);

    // Revoked while the connection is open: 403, then the connection ends.
    let id = &mine.record.as_ref().unwrap().id;
    setup
        .authority
        .revoke_certificate(&setup.zone, id, None, Actor::new(ActorKind::Cli))
        .await
        .unwrap();
    setup.authority.publish(100).await.unwrap();
    let took = within("refused on the open h2 connection", async || {
        !matches!(
            send(&mut sender, "mtls.a.example", false).await,
            Ok((200, _))
        )
    })
    .await;
    assert!(took <= Duration::from_secs(1), "{took:?}");
    let closed = within("the connection closed", async || {
        send(&mut sender, "mtls.a.example", false).await.is_err()
    })
    .await;
    assert!(closed <= Duration::from_secs(1));
}

/// A server CA, and certificates it issues for host names.
struct ServerPki {
    ca: rcgen::Issuer<'static, rcgen::KeyPair>,
    ca_der: Vec<u8>,
}

impl ServerPki {
    fn new() -> Self {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_der = params.self_signed(&key).unwrap().der().to_vec();
        Self {
            ca: rcgen::Issuer::new(params, key),
            ca_der,
        }
    }

    /// (leaf PEM, key PEM, leaf DER) for `names`.
    fn issue(&self, names: &[&str]) -> (String, String, Vec<u8>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let params =
            rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        let leaf = params.signed_by(&key, &self.ca).unwrap();
        (leaf.pem(), key.serialize_pem(), leaf.der().to_vec())
    }

    fn client(&self) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from(self.ca_der.clone()))
            .unwrap();
        Arc::new(
            rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
        )
    }
}

/// The leaf the gateway presents for `sni`, checked against the server CA.
async fn presented(gateway: &Gateway, pki: &ServerPki, sni: &str) -> Vec<u8> {
    let tcp = tokio::net::TcpStream::connect(gateway.addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(pki.client())
        .connect(ServerName::try_from(sni.to_string()).unwrap(), tcp)
        .await
        .unwrap();
    tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_certificates_come_from_the_directory_and_follow_its_changes() {
    let db = TestDatabase::sqlite();
    let authority = authority_on(&db, &authority::MasterKey::generate().unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let pki = ServerPki::new();
    let routes = vec![
        "api.example.com=http://127.0.0.1:9".parse().unwrap(),
        "*.devices.example.com=http://127.0.0.1:9".parse().unwrap(),
    ];
    let mut config = GatewayConfig::new("127.0.0.1:0".parse().unwrap(), routes);
    config.certificates = ServerCertificates::Directory(dir.path().to_path_buf());

    // A route host without a certificate: refused at start, the file it wants named.
    let (api, api_key, api_der) = pki.issue(&["api.example.com"]);
    write(&dir.path().join("api.example.com.pem"), &(api + &api_key));
    let error = Gateway::start(Arc::clone(&authority), config.clone())
        .await
        .err()
        .expect("a missing certificate is refused");
    assert!(
        error
            .to_string()
            .contains("_wildcard.devices.example.com.pem"),
        "{error}"
    );

    // HOST.pem (chain then key) and _wildcard.NAME.crt + .key.
    let (devices, devices_key, devices_der) = pki.issue(&["*.devices.example.com"]);
    write(
        &dir.path().join("_wildcard.devices.example.com.crt"),
        &devices,
    );
    write(
        &dir.path().join("_wildcard.devices.example.com.key"),
        &devices_key,
    );
    let gateway = Gateway::start(Arc::clone(&authority), config)
        .await
        .unwrap();
    assert_eq!(presented(&gateway, &pki, "api.example.com").await, api_der);
    assert_eq!(
        presented(&gateway, &pki, "d1.devices.example.com").await,
        devices_der
    );

    // Renewed on disk: new handshakes get the new certificate, without a restart.
    let (renewed, renewed_key, renewed_der) = pki.issue(&["api.example.com"]);
    write(
        &dir.path().join("api.example.com.pem"),
        &(renewed + &renewed_key),
    );
    let took = within("the renewed certificate", async || {
        presented(&gateway, &pki, "api.example.com").await == renewed_der
    })
    .await;
    assert!(took <= Duration::from_secs(2), "{took:?}");

    // A half-written file keeps the previous certificates serving.
    write(&dir.path().join("api.example.com.pem"), "-----BEGIN CERT");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        presented(&gateway, &pki, "api.example.com").await,
        renewed_der
    );
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routes_file_is_reread_when_it_changes() {
    let db = TestDatabase::sqlite();
    let authority = authority_on(&db, &authority::MasterKey::generate().unwrap()).await;
    let upstream = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let pki = ServerPki::new();
    let (chain, key, _) = pki.issue(&["*.example.com"]);
    write(
        &dir.path().join("_wildcard.example.com.pem"),
        &(chain + &key),
    );
    let routes_file = dir.path().join("routes.toml");
    let route = |host: &str| {
        format!(
            "[[route]]\nhost = \"{host}\"\nupstream = \"http://{}\"\n",
            upstream.addr
        )
    };
    write(&routes_file, &route("a.example.com"));
    let mut config = GatewayConfig::new("127.0.0.1:0".parse().unwrap(), Vec::new());
    config.routes_file = Some(routes_file.clone());
    config.certificates = ServerCertificates::Directory(dir.path().to_path_buf());
    let gateway = Gateway::start(authority, config).await.unwrap();
    let served = async |host: &str| {
        let tcp = tokio::net::TcpStream::connect(gateway.addr).await.unwrap();
        tokio_rustls::TlsConnector::from(pki.client())
            .connect(ServerName::try_from(host.to_string()).unwrap(), tcp)
            .await
            .is_ok()
    };
    assert!(served("a.example.com").await);
    assert!(!served("b.example.com").await, "no route yet");

    write(
        &routes_file,
        &(route("a.example.com") + &route("b.example.com")),
    );
    let took = within("the new route", async || served("b.example.com").await).await;
    assert!(took <= Duration::from_secs(2), "{took:?}");

    // A file that does not parse keeps the routes in force.
    write(&routes_file, "[[route]]\nhost = ");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(served("b.example.com").await);
    gateway.stop().await;
}
