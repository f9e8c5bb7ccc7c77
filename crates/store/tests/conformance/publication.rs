//! PublicationStore: the one transaction a publication pass runs in. What the authority decides
//! (which CAs, CRL numbers, audit wording) is tested in `authority/tests`; here, that the
//! transaction locks, stores, settles exactly once and rolls back whole.

use pki::RevocationReason;
use store::*;
use test_support::{TestDatabase, backend_tests};

use crate::support::*;

backend_tests!(
    pending_transitions_are_read_oldest_first,
    a_publication_transaction_settles_once_and_rolls_back_whole,
    publication_is_skipped_while_another_process_publishes,
    a_large_crl_is_stored_whole_and_compressed_with_lz4_on_postgres,
);

/// r1 and r2 pending revocation, x1 pending reactivation, keep active (all of tenant a).
async fn pending_fixture(store: &DynStore, a: &Tenant) -> [CertificateId; 4] {
    let ids = [cert_id(1), cert_id(2), cert_id(3), cert_id(4)];
    for (n, id) in ids.iter().enumerate() {
        insert(store, &certificate(a, id, 11 + n as u128, 1)).await;
    }
    use CertificateStatus::*;
    for (id, seconds) in [(&ids[0], 10), (&ids[1], 11), (&ids[2], 12)] {
        store
            .change_status(&change(&a.zone, id, &[Active], PendingRevocation, seconds))
            .await
            .unwrap();
    }
    store
        .change_status(&change(
            &a.zone,
            &ids[2],
            &[PendingRevocation],
            PendingReactivation,
            13,
        ))
        .await
        .unwrap();
    ids
}

async fn pending_transitions_are_read_oldest_first(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    let [r1, r2, x1, _] = pending_fixture(&store, &a).await;
    let pending = store.pending_transitions(10).await.unwrap();
    let ids: Vec<_> = pending
        .iter()
        .map(|p| (p.certificate_id.clone(), p.status))
        .collect();
    use CertificateStatus::*;
    assert_eq!(
        ids,
        [
            (r1, PendingRevocation),
            (r2, PendingRevocation),
            (x1, PendingReactivation)
        ]
    );
    assert!(
        pending
            .iter()
            .all(|p| p.account_id == a.account.id && p.ca_id == a.ca.id)
    );
    assert_eq!(pending[0].revoked_at, Some(at(10)));
    assert_eq!(pending[0].serial_number, serial(11));
    assert_eq!(
        pending[0].revocation_reason,
        Some(RevocationReason::KeyCompromise)
    );
    assert_eq!(store.pending_transitions(2).await.unwrap().len(), 2);
}

fn crl(ca: &CaId, number: i64) -> CrlRecord {
    CrlRecord {
        ca_id: ca.clone(),
        crl_number: number,
        this_update: at(1000),
        next_update: at(1000 + 86_400),
        der: format!("crl {number}").into_bytes(),
    }
}

/// A CRL's size and shape at scale: 200,000 entries of a random-looking serial and the same date
/// and reason (about 10 MB, compressible as a real one is).
fn large_crl(ca: &CaId, number: i64) -> CrlRecord {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut der = Vec::with_capacity(200_000 * 49);
    for _ in 0..200_000 {
        der.extend_from_slice(&[0x30, 0x2f, 0x02, 0x10]);
        for _ in 0..2 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            der.extend_from_slice(&state.to_be_bytes());
        }
        der.extend_from_slice(
            b"\x17\x0d261204091200Z0\x0c0\x0a\x06\x03U\x1d\x15\x04\x03\x0a\x01\x01",
        );
    }
    CrlRecord {
        der,
        ..crl(ca, number)
    }
}

/// Migration 9: on PostgreSQL a CRL is compressed with lz4 wherever the server has it (pglz took
/// 0.6 s of a million-entry publication pass), and on both backends it reads back byte for byte.
async fn a_large_crl_is_stored_whole_and_compressed_with_lz4_on_postgres(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    let large = large_crl(&a.ca.id, 2);
    let mut tx = store.begin_publication().await.unwrap().expect("the lock");
    tx.insert_crl(&large).await.unwrap();
    tx.commit().await.unwrap();
    assert!(store.latest_crl(&a.ca.id).await.unwrap() == Some(large));

    if db.backend == test_support::Backend::Postgres {
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        let server_has_lz4 = sqlx::query("SET default_toast_compression = 'lz4'")
            .execute(&pool)
            .await
            .is_ok();
        let method: Option<String> =
            sqlx::query_scalar("SELECT pg_column_compression(der) FROM crls WHERE crl_number = 2")
                .fetch_one(&pool)
                .await
                .unwrap();
        let expected = if server_has_lz4 { "lz4" } else { "pglz" };
        assert_eq!(method.as_deref(), Some(expected));
        // The column's own setting, so a server whose default is already lz4 cannot pass for the
        // migration ('l' = lz4; empty = the server's default).
        let column: String = sqlx::query_scalar(
            "SELECT attcompression::text FROM pg_attribute \
             WHERE attrelid = 'crls'::regclass AND attname = 'der'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        let expected_column = if server_has_lz4 { "l" } else { "" };
        assert_eq!(column, expected_column);
        pool.close().await;
    }
}

fn answer(ca: &CaId, serial_number: u128, status: CertificateStatus) -> OcspRecord {
    OcspRecord {
        ca_id: ca.clone(),
        serial_number: serial(serial_number),
        status,
        this_update: at(1000),
        next_update: at(1000 + 3600),
        der: format!("ocsp {serial_number} {status}").into_bytes(),
    }
}

fn settlement(transition: &PendingTransition) -> Settlement<'_> {
    let action = match transition.status.settled() {
        Some(CertificateStatus::Revoked) => AuditAction::CertificateRevoked,
        _ => AuditAction::CertificateReactivated,
    };
    Settlement {
        transition,
        audit: AuditEntry {
            actor: Actor::new(ActorKind::Worker),
            occurred_at: at(1000),
            ..audit(action, &transition.certificate_id)
        },
    }
}

async fn a_publication_transaction_settles_once_and_rolls_back_whole(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    let b = tenant(&store, 'b').await;
    let [r1, r2, x1, keep] = pending_fixture(&store, &a).await;
    use CertificateStatus::*;

    // A pass that rolls back leaves nothing behind: no CRL, no answer, nothing settled.
    let mut tx = store.begin_publication().await.unwrap().expect("the lock");
    let taken = tx.take_pending(2).await.unwrap();
    assert_eq!(taken.len(), 2);
    tx.insert_crl(&crl(&a.ca.id, 2)).await.unwrap();
    tx.store_ocsp_answers(&[answer(&a.ca.id, 11, Revoked)])
        .await
        .unwrap();
    let settlements: Vec<_> = taken.iter().map(settlement).collect();
    assert_eq!(tx.settle(&settlements, at(1000)).await.unwrap(), 2);
    tx.rollback().await.unwrap();
    assert_eq!(store.pending_transitions(10).await.unwrap().len(), 3);
    assert_eq!(store.latest_crl_number(&a.ca.id).await.unwrap(), Some(1));
    let untouched = store
        .serial_status(&a.ca.id, serial(11))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (untouched.status, untouched.stored_answer),
        (PendingRevocation, None)
    );

    // A committed pass: the CRL, the answers and the settlements land together.
    let mut tx = store.begin_publication().await.unwrap().expect("the lock");
    let taken = tx.take_pending(10).await.unwrap();
    assert_eq!(taken.len(), 3);
    assert!(tx.revoked_serials(&a.ca.id).await.unwrap().is_empty());
    assert_eq!(tx.latest_crl_number(&a.ca.id).await.unwrap(), Some(1));
    assert_eq!(
        tx.cas_with_crl_expiring_before(at(0)).await.unwrap(),
        Vec::<CaId>::new(),
        "both first CRLs are valid until at(86400)"
    );
    assert_eq!(
        tx.cas_with_crl_expiring_before(at(100_000)).await.unwrap(),
        vec![a.ca.id.clone(), b.ca.id.clone()]
    );
    tx.insert_crl(&crl(&a.ca.id, 2)).await.unwrap();
    tx.insert_crl(&crl(&a.ca.id, 3)).await.unwrap();
    tx.prune_crls(&a.ca.id, 3).await.unwrap();
    tx.store_ocsp_answers(&[
        answer(&a.ca.id, 11, Revoked),
        answer(&a.ca.id, 12, Revoked),
        answer(&a.ca.id, 13, Active),
    ])
    .await
    .unwrap();
    let settlements: Vec<_> = taken.iter().map(settlement).collect();
    assert_eq!(tx.settle(&settlements, at(1000)).await.unwrap(), 3);
    tx.commit().await.unwrap();

    assert!(store.pending_transitions(10).await.unwrap().is_empty());
    assert_eq!(
        store.latest_crl(&a.ca.id).await.unwrap(),
        Some(crl(&a.ca.id, 3))
    );
    assert_eq!(
        store.count_rows(Table::Crls).await.unwrap(),
        2,
        "a's CRLs below 3 were pruned; b keeps its first"
    );
    let status = |id: CertificateId| {
        let store = std::sync::Arc::clone(&store);
        let zone = a.zone.id.clone();
        async move { store.get_certificate(&zone, &id).await.unwrap().unwrap() }
    };
    let revoked = status(r1.clone()).await;
    assert_eq!(
        (revoked.status, revoked.revoked_at),
        (Revoked, Some(at(10)))
    );
    assert_eq!(revoked.updated_at, at(1000));
    let reactivated = status(x1.clone()).await;
    assert_eq!(
        (
            reactivated.status,
            reactivated.revoked_at,
            reactivated.revocation_reason
        ),
        (Active, None, None)
    );
    assert_eq!(status(keep).await.status, Active);
    assert_eq!(
        store
            .count_certificates(&a.zone.id, Some(Revoked))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .count_certificates(&a.zone.id, Some(Active))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .count_certificates(&a.zone.id, Some(PendingRevocation))
            .await
            .unwrap(),
        0
    );

    // OCSP: what the pass stored for the settled serials; the others have none.
    let stored = store
        .serial_status(&a.ca.id, serial(11))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, Revoked);
    assert_eq!(stored.stored_answer.unwrap().der, b"ocsp 11 revoked");
    let back = store
        .serial_status(&a.ca.id, serial(13))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.stored_answer.unwrap().status, Active);
    let untouched = store
        .serial_status(&a.ca.id, serial(14))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((untouched.status, untouched.stored_answer), (Active, None));
    assert_eq!(
        store.serial_status(&b.ca.id, serial(11)).await.unwrap(),
        None,
        "serials are per CA"
    );

    // Settling the same transitions again changes nothing and appends nothing.
    let mut tx = store.begin_publication().await.unwrap().expect("the lock");
    assert!(tx.take_pending(10).await.unwrap().is_empty());
    let stale: Vec<_> = taken.iter().map(settlement).collect();
    assert_eq!(tx.settle(&stale, at(2000)).await.unwrap(), 0);
    let revoked_now: Vec<_> = tx
        .revoked_serials(&a.ca.id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.serial_number, r.revocation_reason))
        .collect();
    assert_eq!(revoked_now.len(), 2);
    assert!(revoked_now.contains(&(serial(11), Some(RevocationReason::KeyCompromise))));
    tx.commit().await.unwrap();

    let settled: Vec<_> = store
        .audit_events(None, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.entry.actor.kind == ActorKind::Worker)
        .map(|e| (e.entry.action, e.entry.object_id))
        .collect();
    assert_eq!(
        settled,
        [
            (AuditAction::CertificateRevoked, r1.to_string()),
            (AuditAction::CertificateRevoked, r2.to_string()),
            (AuditAction::CertificateReactivated, x1.to_string()),
        ]
    );
}

async fn publication_is_skipped_while_another_process_publishes(db: TestDatabase) {
    let store = open(&db).await;
    tenant(&store, 'a').await;
    if db.backend != test_support::Backend::Postgres {
        // SQLite publishes inside BEGIN IMMEDIATE: a second writer waits instead of skipping.
        let tx = store.begin_publication().await.unwrap();
        assert!(tx.is_some());
        tx.unwrap().rollback().await.unwrap();
        return;
    }
    let other = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&db.url)
        .await
        .unwrap();
    let mut holder = other.begin().await.unwrap();
    let taken: bool = sqlx::query_scalar(PUBLICATION_LOCK)
        .fetch_one(&mut *holder)
        .await
        .unwrap();
    assert!(taken);
    assert!(store.begin_publication().await.unwrap().is_none());
    holder.rollback().await.unwrap();
    let tx = store.begin_publication().await.unwrap();
    assert!(tx.is_some(), "free again once the holder rolled back");
    tx.unwrap().commit().await.unwrap();
}
