//! The gateway's state follows the database: association changes within a second, sessions
//! that never cross accounts, and failing closed while the database cannot be read.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use rustls::client::{ClientSessionStore, Tls12ClientSessionValue, Tls13ClientSessionValue};
use rustls::pki_types::ServerName;
use rustls::{AlertDescription, NamedGroup};
use test_support::{TestDatabase, backend_tests};
use tokio::net::TcpListener;
use tokio::task::AbortHandle;

backend_tests!(
    association_changes_take_effect_within_a_second,
    a_session_from_one_account_never_resumes_on_another,
    a_reactivation_inside_the_window_is_never_refused,
);

/// Revoked and reactivated before a publication pass: the certificate never appears on a CRL, so
/// no connection is ever refused, before, during or after the pass.
async fn a_reactivation_inside_the_window_is_never_refused(db: TestDatabase) {
    let setup = setup(db, vec![gateway::HeaderFamily::Rfc9440]).await;
    let mine = issue(&setup.authority, &setup.zone).await;
    let id = mine.record.as_ref().unwrap().id.clone();
    let config = client_config(&setup, Version::Tls13, Some(&mine));
    let mut open = connect(&setup, Arc::clone(&config), "mtls.a.example")
        .await
        .unwrap();
    let cli = authority::Actor::new(authority::ActorKind::Cli);
    setup
        .authority
        .revoke_certificate(&setup.zone, &id, None, cli.clone())
        .await
        .unwrap();
    setup
        .authority
        .reactivate_certificate(&setup.zone, &id, cli)
        .await
        .unwrap();
    // Another certificate revoked in the same pass, so the pass publishes a new CRL and the
    // gateway reads it.
    let other = issue(&setup.authority, &setup.zone).await;
    setup
        .authority
        .revoke_certificate(
            &setup.zone,
            &other.record.as_ref().unwrap().id,
            None,
            authority::Actor::new(authority::ActorKind::Cli),
        )
        .await
        .unwrap();
    setup.authority.publish(100).await.unwrap();
    within("the new CRL read", async || {
        metric(&setup, "clientca_gateway_revoked_serials").await == 1.0
    })
    .await;
    for _ in 0..5 {
        assert_eq!(
            request(&mut open, "mtls.a.example", "").await.unwrap().0,
            200
        );
        assert!(matches!(
            outcome(&setup, Version::Tls13, Some(&mine), "mtls.a.example").await,
            Ok((200, _))
        ));
    }
    assert!(
        outcome(&setup, Version::Tls13, Some(&other), "mtls.a.example")
            .await
            .is_err(),
        "the one revoked in the same pass is refused"
    );
}

async fn association_changes_take_effect_within_a_second(db: TestDatabase) {
    let setup = setup(db, vec![gateway::HeaderFamily::Rfc9440]).await;
    let mine = issue(&setup.authority, &setup.zone).await;
    assert!(
        outcome(&setup, Version::Tls13, None, "open.a.example")
            .await
            .is_ok(),
        "unassociated: no certificate asked for"
    );

    associate(
        &setup.authority,
        &setup.zone,
        &["mtls.a.example", "open.a.example"],
    )
    .await;
    let took = within("the new association", async || {
        outcome(&setup, Version::Tls13, None, "open.a.example").await
            == Err(Refused(Some(AlertDescription::CertificateRequired)))
    })
    .await;
    assert!(took <= Duration::from_secs(1), "associated after {took:?}");
    assert_eq!(
        outcome(&setup, Version::Tls13, Some(&mine), "open.a.example")
            .await
            .map(|(status, _)| status),
        Ok(200)
    );

    associate(&setup.authority, &setup.zone, &["mtls.a.example"]).await;
    let took = within("the removed association", async || {
        outcome(&setup, Version::Tls13, None, "open.a.example")
            .await
            .is_ok()
    })
    .await;
    assert!(took <= Duration::from_secs(1), "dissociated after {took:?}");
}

/// A client session store with one slot for every server: it offers any server the session it
/// got from another, as a malicious client could.
#[derive(Debug, Default)]
struct OneSlotForAllServers {
    tls12: Mutex<Option<Tls12ClientSessionValue>>,
    tls13: Mutex<Option<Tls13ClientSessionValue>>,
}

impl ClientSessionStore for OneSlotForAllServers {
    fn set_kx_hint(&self, _: ServerName<'static>, _: NamedGroup) {}
    fn kx_hint(&self, _: &ServerName<'_>) -> Option<NamedGroup> {
        None
    }
    fn set_tls12_session(&self, _: ServerName<'static>, value: Tls12ClientSessionValue) {
        *self.tls12.lock().unwrap() = Some(value);
    }
    fn tls12_session(&self, _: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        self.tls12.lock().unwrap().clone()
    }
    fn remove_tls12_session(&self, _: &ServerName<'static>) {}
    fn insert_tls13_ticket(&self, _: ServerName<'static>, value: Tls13ClientSessionValue) {
        *self.tls13.lock().unwrap() = Some(value);
    }
    fn take_tls13_ticket(&self, _: &ServerName<'static>) -> Option<Tls13ClientSessionValue> {
        self.tls13.lock().unwrap().take()
    }
}

async fn a_session_from_one_account_never_resumes_on_another(db: TestDatabase) {
    let setup = setup(db, vec![gateway::HeaderFamily::Rfc9440]).await;
    let mine = issue(&setup.authority, &setup.zone).await;
    for version in BOTH {
        let mut config = (*client_config(&setup, version, Some(&mine))).clone();
        config.resumption =
            rustls::client::Resumption::store(Arc::new(OneSlotForAllServers::default()));
        let config = Arc::new(config);
        for attempt in ["first", "resumed"] {
            let mut stream = connect(&setup, Arc::clone(&config), "mtls.a.example")
                .await
                .unwrap();
            assert_eq!(
                request(&mut stream, "mtls.a.example", "").await.unwrap().0,
                200
            );
            if attempt == "resumed" {
                assert_eq!(
                    stream.get_ref().1.handshake_kind(),
                    Some(rustls::HandshakeKind::Resumed),
                    "{version:?}: the store does offer the session"
                );
            }
        }
        // The same session offered to account B's host: a full handshake, where A's
        // certificate is unknown.
        let refused = match connect(&setup, Arc::clone(&config), "mtls.b.example").await {
            Ok(mut stream) => {
                let kind = stream.get_ref().1.handshake_kind();
                let answer = request(&mut stream, "mtls.b.example", "").await;
                assert_ne!(kind, Some(rustls::HandshakeKind::Resumed), "{version:?}");
                answer.is_err()
            }
            Err(_) => true,
        };
        assert!(refused, "{version:?}: A's session opened B's host");
    }
}

/// A TCP relay to PostgreSQL that can be cut (every connection dropped, new ones refused) and
/// restored: the database becoming unreachable, as a network partition makes it.
struct Relay {
    address: String,
    cut: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Relay {
    async fn to(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let cut = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let (is_cut, open) = (Arc::clone(&cut), Arc::clone(&connections));
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if is_cut.load(Ordering::SeqCst) {
                    continue; // dropped: refused
                }
                let target = target.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                open.lock().unwrap().push(task.abort_handle());
            }
        });
        Self {
            address,
            cut,
            connections,
        }
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

/// `postgres://user@HOST:PORT/db?…` → (`HOST:PORT`, the URL with `replacement` there).
fn split_host(url: &str, replacement: &str) -> (String, String) {
    let start = url
        .find('@')
        .map_or_else(|| url.find("://").unwrap() + 3, |at| at + 1);
    let end = start + url[start..].find('/').unwrap();
    (
        url[start..end].to_string(),
        format!("{}{replacement}{}", &url[..start], &url[end..]),
    )
}

/// PostgreSQL only: an embedded SQLite database cannot become unreachable while the process
/// that opened it runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_fails_closed_after_the_staleness_bound_and_recovers() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let (target, _) = split_host(&db.url, "");
    let relay = Relay::to(target).await;
    let (_, through_relay) = split_host(&db.url, &relay.address);
    let setup = setup_reading(db, Some(&through_relay), |config| {
        config.max_staleness = Duration::from_secs(1);
    })
    .await;
    let mine = issue(&setup.authority, &setup.zone).await;
    let accepted = async || {
        matches!(
            outcome(&setup, Version::Tls13, Some(&mine), "mtls.a.example").await,
            Ok((200, _))
        )
    };
    assert!(accepted().await);
    assert_eq!(metrics_get(&setup, "/healthz").await.0, 200);

    relay.cut();
    let took = within("refused once stale", async || !accepted().await).await;
    assert!(
        took >= Duration::from_millis(500),
        "refused after {took:?}: before the state could be stale"
    );
    let (status, body) = metrics_get(&setup, "/healthz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"stale\""), "{body}");
    assert!(
        outcome(&setup, Version::Tls13, None, "open.a.example")
            .await
            .is_ok(),
        "unassociated routes do not depend on revocation state"
    );

    relay.restore();
    let took = within("recovered", async || accepted().await).await;
    assert!(took <= Duration::from_secs(2), "recovered after {took:?}");
    assert_eq!(metrics_get(&setup, "/healthz").await.0, 200);
}

/// PostgreSQL only (SQLite has no roles): a role that may only read is all the gateway needs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_database_role_is_enough() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    drop(store::connect(&db.url).await.unwrap()); // the schema, migrated
    let schema = db.url.rsplit("search_path%3D").next().unwrap().to_string();
    let role = format!("reader_{schema}");
    test_support::run_sql_directly(
        &db.url,
        &[
            &format!("CREATE ROLE {role} LOGIN"),
            &format!("GRANT USAGE ON SCHEMA {schema} TO {role}"),
            &format!("GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}"),
        ],
    )
    .await;
    let start = db.url.find("://").unwrap() + 3;
    let at = db.url.find('@').unwrap();
    let as_reader = format!("{}{role}{}", &db.url[..start], &db.url[at..]);
    assert!(
        test_support::try_run_sql_directly(&as_reader, &["DELETE FROM certificates"])
            .await
            .unwrap_err()
            .contains("permission denied"),
        "the role can only read"
    );

    let url = db.url.clone();
    let setup = setup_reading(db, Some(&as_reader), |_| {}).await;
    let mine = issue(&setup.authority, &setup.zone).await;
    assert!(matches!(
        outcome(&setup, Version::Tls13, Some(&mine), "mtls.a.example").await,
        Ok((200, _))
    ));
    assert_eq!(metrics_get(&setup, "/healthz").await.0, 200);
    setup.gateway.stop().await;
    drop(setup.db);
    test_support::run_sql_directly(&url_without_schema(&url), &[&format!("DROP ROLE {role}")])
        .await;
}

fn url_without_schema(url: &str) -> String {
    url.split_once("?options=")
        .or_else(|| url.split_once("&options="))
        .map_or(url, |(base, _)| base)
        .to_string()
}
