//! The conformance suite: every test runs against every backend (see `test_support::backend_tests!`).

use std::sync::{Arc, Mutex};

use store::*;
use test_support::{TestDatabase, backend_tests};
use time::OffsetDateTime;

backend_tests!(
    accounts_and_zones_round_trip,
    duplicate_zone_id_is_a_conflict,
    concurrent_ca_creation_keeps_exactly_one,
    tokens_round_trip_with_scope_and_revocation,
    certificates_are_reachable_only_through_their_zone,
    serial_numbers_are_unique_per_ca,
    listing_orders_newest_first_and_windows_by_offset_and_limit,
    deep_pages_across_list_blocks_match_a_naive_listing,
    concurrent_creates_commit_together_and_fail_alone,
    status_changes_are_conditional_and_audited,
    pending_transitions_settle_exactly_once,
    publication_is_skipped_while_another_process_publishes,
    hostname_associations_are_replaced_whole,
    settings_keep_the_first_value,
    data_survives_reopening,
    a_deployment_copies_into_an_empty_database_unchanged,
    the_audit_chain_detects_edited_and_deleted_events,
);

async fn open(db: &TestDatabase) -> DynStore {
    store::connect(&db.url).await.expect("store opens")
}

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000 + seconds).unwrap()
}

fn audit(action: &str, object_id: &str) -> AuditEntry {
    AuditEntry {
        occurred_at: at(0),
        actor: Actor {
            kind: ActorKind::Cli,
            id: Some("tester".into()),
            source_ip: Some("127.0.0.1".into()),
        },
        action: action.into(),
        object_type: "test".into(),
        object_id: object_id.into(),
        account_id: Some("a".repeat(32)),
        zone_id: None,
        details: None,
    }
}

/// How many audit events of `action` the store holds.
async fn audit_count(store: &DynStore, action: &str) -> usize {
    store
        .audit_events(None, 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.entry.action == action)
        .count()
}

struct Tenant {
    account: Account,
    zone: Zone,
    ca: CaRecord,
}

async fn tenant(store: &DynStore, tag: char) -> Tenant {
    let account = Account {
        id: tag.to_string().repeat(32),
        name: format!("account {tag}"),
        created_at: at(0),
    };
    store
        .create_account(&account, &audit("account.created", &account.id))
        .await
        .unwrap();
    let zone = Zone {
        id: format!("{tag}{}", "0".repeat(31)),
        account_id: account.id.clone(),
        name: format!("{tag}.example.com"),
        created_at: at(1),
    };
    store
        .create_zone(&zone, &audit("zone.created", &zone.id))
        .await
        .unwrap();
    let ca_id = format!("ca-{tag}");
    let ca = store
        .insert_ca_if_absent(
            &ca_record(&account.id, &ca_id),
            &first_crl(&ca_id),
            &audit("ca.created", "ca"),
        )
        .await
        .unwrap();
    Tenant { account, zone, ca }
}

fn ca_record(account_id: &str, id: &str) -> CaRecord {
    CaRecord {
        id: id.into(),
        account_id: account_id.into(),
        name: format!("Managed CA for account {account_id}"),
        certificate_pem: "-----BEGIN CERTIFICATE-----\n".into(),
        certificate_der: vec![0x30, 0x00],
        sealed_private_key: vec![1, 2, 3],
        not_before: at(0),
        not_after: at(86_400 * 7305),
        created_at: at(0),
    }
}

fn first_crl(ca_id: &str) -> CrlRecord {
    CrlRecord {
        ca_id: ca_id.into(),
        crl_number: 1,
        this_update: at(0),
        next_update: at(86_400),
        der: format!("empty crl of {ca_id}").into_bytes(),
    }
}

fn certificate(tenant: &Tenant, id: &str, serial: &str, issued_at: i64) -> CertificateRecord {
    CertificateRecord {
        id: id.into(),
        zone_id: tenant.zone.id.clone(),
        ca_id: tenant.ca.id.clone(),
        ca_name: tenant.ca.name.clone(),
        serial_number: serial.into(),
        status: CertificateStatus::Active,
        certificate_pem: format!("pem of {id}"),
        csr: format!("csr of {id}"),
        common_name: format!("cn-{id}"),
        organization: "Org".into(),
        organizational_unit: "Unit".into(),
        country: "US".into(),
        state: "CA".into(),
        location: "SF".into(),
        fingerprint_sha256: "f".repeat(64),
        ski: "e".repeat(40),
        signature: "ECDSAWithSHA256".into(),
        issued_on: at(issued_at),
        expires_on: at(issued_at + 86_400),
        validity_days: 1,
        revoked_at: None,
        revocation_reason: None,
        updated_at: at(issued_at),
    }
}

async fn accounts_and_zones_round_trip(db: TestDatabase) {
    let store = open(&db).await;
    let t = tenant(&store, 'a').await;
    assert_eq!(
        store.get_account(&t.account.id).await.unwrap(),
        Some(t.account.clone())
    );
    assert_eq!(
        store.get_zone(&t.zone.id).await.unwrap(),
        Some(t.zone.clone())
    );
    assert_eq!(store.get_zone(&"9".repeat(32)).await.unwrap(), None);
    assert_eq!(
        store.list_accounts().await.unwrap(),
        vec![t.account.clone()]
    );
    assert_eq!(store.list_zones().await.unwrap(), vec![t.zone.clone()]);
    assert_eq!(
        store.get_ca_for_account(&t.account.id).await.unwrap(),
        Some(t.ca.clone())
    );
    assert_eq!(store.get_ca(&t.ca.id).await.unwrap(), Some(t.ca));

    let events = store.audit_events(None, 0, 100).await.unwrap();
    let actions: Vec<_> = events.iter().map(|e| e.entry.action.as_str()).collect();
    assert_eq!(actions, ["account.created", "zone.created", "ca.created"]);
    assert_eq!(events[0].entry, audit("account.created", &t.account.id));
    assert!(events.windows(2).all(|w| w[0].id < w[1].id));
}

async fn duplicate_zone_id_is_a_conflict(db: TestDatabase) {
    let store = open(&db).await;
    let t = tenant(&store, 'a').await;
    let err = store
        .create_zone(&t.zone, &audit("zone.created", &t.zone.id))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let orphan = Zone {
        id: "b".repeat(32),
        account_id: "c".repeat(32),
        ..t.zone
    };
    let err = store
        .create_zone(&orphan, &audit("zone.created", &orphan.id))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::MissingReference(_)), "{err:?}");
    // Failed writes leave no audit trace.
    assert_eq!(store.audit_events(None, 0, 100).await.unwrap().len(), 3);
}

async fn concurrent_ca_creation_keeps_exactly_one(db: TestDatabase) {
    let store = open(&db).await;
    let account = Account {
        id: "d".repeat(32),
        name: "racing".into(),
        created_at: at(0),
    };
    store
        .create_account(&account, &audit("account.created", &account.id))
        .await
        .unwrap();
    let attempts = (0..8).map(|i| {
        let store = Arc::clone(&store);
        let record = ca_record(&account.id, &format!("candidate-{i}"));
        tokio::spawn(async move {
            let crl = first_crl(&record.id);
            store
                .insert_ca_if_absent(&record, &crl, &audit("ca.created", &record.id))
                .await
        })
    });
    let mut winners = Vec::new();
    for attempt in attempts {
        winners.push(attempt.await.unwrap().unwrap().id);
    }
    winners.dedup();
    assert_eq!(
        winners.len(),
        1,
        "every caller must see the same CA: {winners:?}"
    );
    let created = audit_count(&store, "ca.created").await;
    assert_eq!(created, 1);
    let crl = store
        .latest_crl(&winners[0])
        .await
        .unwrap()
        .expect("the winner's first CRL");
    assert_eq!(
        (crl.ca_id.as_str(), crl.crl_number),
        (winners[0].as_str(), 1)
    );
    assert_eq!(
        store.count_rows(Table::Crls).await.unwrap(),
        1,
        "losers' CRLs are not stored"
    );
}

async fn tokens_round_trip_with_scope_and_revocation(db: TestDatabase) {
    let store = open(&db).await;
    let t = tenant(&store, 'a').await;
    let zone_token = ApiToken {
        id: "1".repeat(32),
        name: "zone reader".into(),
        email: None,
        account_id: t.account.id.clone(),
        permission: Permission::Read,
        scope: TokenScope::Zones(vec![t.zone.id.clone()]),
        expires_at: Some(at(3600)),
        revoked_at: None,
        created_at: at(5),
    };
    let legacy_key = ApiToken {
        id: "2".repeat(32),
        name: "global key".into(),
        email: Some("ops@example.com".into()),
        permission: Permission::Edit,
        scope: TokenScope::Account,
        expires_at: None,
        created_at: at(6),
        ..zone_token.clone()
    };
    for (token, hash) in [(&zone_token, "h1"), (&legacy_key, "h2")] {
        let new = NewApiToken {
            token: token.clone(),
            secret_hash: hash.into(),
        };
        store
            .create_token(&new, &audit("token.created", &token.id))
            .await
            .unwrap();
    }
    assert_eq!(
        store.find_token_by_secret_hash("h1").await.unwrap(),
        Some(zone_token.clone())
    );
    assert_eq!(
        store.find_token_by_secret_hash("h2").await.unwrap(),
        Some(legacy_key.clone())
    );
    assert_eq!(store.find_token_by_secret_hash("nope").await.unwrap(), None);
    assert_eq!(
        store.list_tokens().await.unwrap(),
        vec![zone_token.clone(), legacy_key]
    );

    let duplicate_hash = NewApiToken {
        token: ApiToken {
            id: "3".repeat(32),
            ..zone_token.clone()
        },
        secret_hash: "h1".into(),
    };
    assert!(matches!(
        store
            .create_token(&duplicate_hash, &audit("token.created", "3"))
            .await,
        Err(StoreError::Conflict(_))
    ));

    let revoke = AuditEntry {
        occurred_at: at(100),
        ..audit("token.revoked", &zone_token.id)
    };
    assert!(store.revoke_token(&zone_token.id, &revoke).await.unwrap());
    assert!(
        !store.revoke_token(&zone_token.id, &revoke).await.unwrap(),
        "second revoke is a no-op"
    );
    assert!(!store.revoke_token("unknown", &revoke).await.unwrap());
    let revoked = store
        .find_token_by_secret_hash("h1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(revoked.revoked_at, Some(at(100)));
    let revocations = audit_count(&store, "token.revoked").await;
    assert_eq!(revocations, 1);
}

async fn certificates_are_reachable_only_through_their_zone(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    let b = tenant(&store, 'b').await;
    let cert = certificate(&a, "cert-1", "1001", 10);
    store
        .insert_certificate(&cert, &audit("certificate.created", "cert-1"))
        .await
        .unwrap();
    assert_eq!(
        store.get_certificate(&a.zone.id, "cert-1").await.unwrap(),
        Some(cert)
    );
    assert_eq!(
        store.get_certificate(&b.zone.id, "cert-1").await.unwrap(),
        None
    );
    assert_eq!(store.count_certificates(&b.zone.id, None).await.unwrap(), 0);
    let foreign_query = CertificateQuery {
        zone_id: b.zone.id.clone(),
        status: None,
        offset: 0,
        limit: 50,
    };
    assert!(
        store
            .list_certificates(&foreign_query)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let change = StatusChange {
        zone_id: b.zone.id.clone(),
        certificate_id: "cert-1".into(),
        from: &[CertificateStatus::Active],
        to: CertificateStatus::PendingRevocation,
        revocation_reason: Some("unspecified".into()),
        audit: audit("certificate.revocation_requested", "cert-1"),
    };
    assert_eq!(
        store.change_status(&change).await.unwrap(),
        StatusChangeOutcome::NotFound
    );
}

async fn serial_numbers_are_unique_per_ca(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    let b = tenant(&store, 'b').await;
    store
        .insert_certificate(
            &certificate(&a, "c1", "42", 1),
            &audit("certificate.created", "c1"),
        )
        .await
        .unwrap();
    let err = store
        .insert_certificate(
            &certificate(&a, "c2", "42", 2),
            &audit("certificate.created", "c2"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    // Another CA may use the same serial.
    store
        .insert_certificate(
            &certificate(&b, "c3", "42", 3),
            &audit("certificate.created", "c3"),
        )
        .await
        .unwrap();
    assert_eq!(store.get_certificate(&a.zone.id, "c2").await.unwrap(), None);
    let created = audit_count(&store, "certificate.created").await;
    assert_eq!(created, 2, "the refused insert left no audit event");
}

async fn listing_orders_newest_first_and_windows_by_offset_and_limit(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    // Two certificates share each issue second: the order is the order of issuance, not the time.
    let mut expected = Vec::new();
    for i in 0..10 {
        let cert = certificate(
            &a,
            &format!("id-{i:02}"),
            &format!("{}", 500 + i),
            i64::from(i / 2),
        );
        store
            .insert_certificate(&cert, &audit("certificate.created", &cert.id))
            .await
            .unwrap();
        expected.push(cert.id);
    }
    expected.reverse();
    let list = |offset, limit, status| {
        let store = Arc::clone(&store);
        let zone_id = a.zone.id.clone();
        async move {
            let query = CertificateQuery {
                zone_id,
                status,
                offset,
                limit,
            };
            store
                .list_certificates(&query)
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|c| c.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list(0, 100, None).await, expected);
    assert_eq!(list(3, 4, None).await, expected[3..7]);
    assert_eq!(list(9, u64::MAX, None).await, expected[9..]);
    assert!(list(10, 5, None).await.is_empty());
    assert_eq!(
        store.count_certificates(&a.zone.id, None).await.unwrap(),
        10
    );

    let revoke = StatusChange {
        zone_id: a.zone.id.clone(),
        certificate_id: expected[4].clone(),
        from: &[CertificateStatus::Active],
        to: CertificateStatus::PendingRevocation,
        revocation_reason: Some("keyCompromise".into()),
        audit: audit("certificate.revocation_requested", &expected[4]),
    };
    store.change_status(&revoke).await.unwrap();
    assert_eq!(
        list(0, 100, Some(CertificateStatus::PendingRevocation)).await,
        vec![expected[4].clone()]
    );
    let mut active = expected.clone();
    active.remove(4);
    assert_eq!(list(0, 100, Some(CertificateStatus::Active)).await, active);
    assert!(
        list(0, 100, Some(CertificateStatus::Revoked))
            .await
            .is_empty()
    );
    assert_eq!(
        store
            .count_certificates(&a.zone.id, Some(CertificateStatus::Active))
            .await
            .unwrap(),
        9
    );
    assert_eq!(
        store
            .count_certificates(&a.zone.id, Some(CertificateStatus::PendingRevocation))
            .await
            .unwrap(),
        1
    );
}

async fn deep_pages_across_list_blocks_match_a_naive_listing(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    let b = tenant(&store, 'b').await;
    // 9000 certificates over three list blocks (4096 each), interleaved with another zone's,
    // imported with their sequence numbers; then a few created the normal way after them.
    let mut expected: Vec<(String, CertificateStatus)> = Vec::new();
    let mut imported = Vec::new();
    for i in 0..9_000 {
        let owner = if i % 7 == 3 { &b } else { &a };
        let cert = certificate(owner, &format!("c{i:05}"), &format!("{}", 100_000 + i), 5);
        if owner.zone.id == a.zone.id {
            expected.push((cert.id.clone(), CertificateStatus::Active));
        }
        imported.push((i64::from(i) + 1, cert));
    }
    store
        .import_rows(&Rows::Certificates(imported))
        .await
        .unwrap();
    for i in 0..3 {
        let cert = certificate(&a, &format!("n{i}"), &format!("{}", 900_000 + i), 6);
        store
            .insert_certificate(&cert, &audit("certificate.created", &cert.id))
            .await
            .unwrap();
        expected.push((cert.id, CertificateStatus::Active));
    }
    expected.reverse(); // newest (last created) first
    for (index, (id, status)) in expected.iter_mut().enumerate() {
        if index % 37 == 0 {
            let change = StatusChange {
                zone_id: a.zone.id.clone(),
                certificate_id: id.clone(),
                from: &[CertificateStatus::Active],
                to: CertificateStatus::PendingRevocation,
                revocation_reason: Some("unspecified".into()),
                audit: audit("certificate.revocation_requested", id),
            };
            assert!(matches!(
                store.change_status(&change).await.unwrap(),
                StatusChangeOutcome::Changed(_)
            ));
            *status = CertificateStatus::PendingRevocation;
        }
    }
    for filter in [
        None,
        Some(CertificateStatus::Active),
        Some(CertificateStatus::PendingRevocation),
    ] {
        let naive: Vec<&String> = expected
            .iter()
            .filter(|(_, status)| filter.is_none_or(|f| f == *status))
            .map(|(id, _)| id)
            .collect();
        assert_eq!(
            store.count_certificates(&a.zone.id, filter).await.unwrap(),
            naive.len() as u64
        );
        let n = naive.len();
        for (offset, limit) in [
            (0, 50),
            (1000, 50),
            (3500, 3),
            (3509, 10),
            (4095, 2),
            (7000, 40),
            (n - 1, 50),
            (n, 5),
            (5, 0),
        ] {
            let query = CertificateQuery {
                zone_id: a.zone.id.clone(),
                status: filter,
                offset: offset as u64,
                limit: limit as u64,
            };
            let page = store.list_certificates(&query).await.unwrap();
            assert_eq!(page.total, n as u64);
            let listed: Vec<String> = page.items.into_iter().map(|c| c.id).collect();
            let want: Vec<String> = naive
                .iter()
                .skip(offset)
                .take(limit)
                .map(|id| (*id).clone())
                .collect();
            assert_eq!(
                listed, want,
                "filter {filter:?} offset {offset} limit {limit}"
            );
        }
    }
}

async fn concurrent_creates_commit_together_and_fail_alone(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    let creates = (0..64).map(|i| {
        let store = Arc::clone(&store);
        // Every eighth create reuses serial 7: only the first of those may commit.
        let serial = if i % 8 == 0 {
            "7".to_string()
        } else {
            format!("{}", 1_000 + i)
        };
        let cert = certificate(&a, &format!("g{i:03}"), &serial, 1);
        tokio::spawn(async move {
            store
                .insert_certificate(&cert, &audit("certificate.created", &cert.id))
                .await
        })
    });
    let mut committed = 0;
    let mut conflicts = 0;
    for create in creates.collect::<Vec<_>>() {
        match create.await.unwrap() {
            Ok(()) => committed += 1,
            Err(StoreError::Conflict(_)) => conflicts += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((committed, conflicts), (57, 7));
    assert_eq!(
        store.count_certificates(&a.zone.id, None).await.unwrap(),
        57
    );
    let created = audit_count(&store, "certificate.created").await;
    assert_eq!(created, 57, "failed creates leave no audit event");
}

async fn status_changes_are_conditional_and_audited(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    store
        .insert_certificate(
            &certificate(&a, "c1", "7", 1),
            &audit("certificate.created", "c1"),
        )
        .await
        .unwrap();
    let revoke = StatusChange {
        zone_id: a.zone.id.clone(),
        certificate_id: "c1".into(),
        from: &[
            CertificateStatus::Active,
            CertificateStatus::PendingReactivation,
        ],
        to: CertificateStatus::PendingRevocation,
        revocation_reason: Some("keyCompromise".into()),
        audit: AuditEntry {
            occurred_at: at(50),
            ..audit("certificate.revocation_requested", "c1")
        },
    };
    let StatusChangeOutcome::Changed(changed) = store.change_status(&revoke).await.unwrap() else {
        panic!("first revoke changes the status");
    };
    assert_eq!(changed.status, CertificateStatus::PendingRevocation);
    assert_eq!(changed.revoked_at, Some(at(50)));
    assert_eq!(changed.revocation_reason.as_deref(), Some("keyCompromise"));
    assert_eq!(changed.updated_at, at(50));

    let StatusChangeOutcome::Unchanged(same) = store.change_status(&revoke).await.unwrap() else {
        panic!("second revoke is idempotent");
    };
    assert_eq!(same, changed);

    let reactivate = StatusChange {
        from: &[CertificateStatus::PendingRevocation],
        to: CertificateStatus::PendingReactivation,
        revocation_reason: None,
        audit: AuditEntry {
            occurred_at: at(60),
            ..audit("certificate.reactivation_requested", "c1")
        },
        ..revoke.clone()
    };
    let StatusChangeOutcome::Changed(reactivated) = store.change_status(&reactivate).await.unwrap()
    else {
        panic!("reactivation from pending_revocation changes the status");
    };
    assert_eq!(reactivated.status, CertificateStatus::PendingReactivation);
    assert_eq!(reactivated.revoked_at, None);
    assert_eq!(reactivated.revocation_reason, None);

    let missing = StatusChange {
        certificate_id: "nope".into(),
        ..revoke.clone()
    };
    assert_eq!(
        store.change_status(&missing).await.unwrap(),
        StatusChangeOutcome::NotFound
    );

    let actions: Vec<_> = store
        .audit_events(Some(&a.account.id), 0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.entry.action)
        .filter(|a| a.ends_with("_requested"))
        .collect();
    assert_eq!(
        actions,
        [
            "certificate.revocation_requested",
            "certificate.reactivation_requested"
        ]
    );
}

/// Signs nothing real: records what it was asked and returns recognisable bytes.
#[derive(Default)]
struct FakePublisher {
    fail: bool,
    crl_requests: Mutex<Vec<(String, i64, Vec<String>)>>,
}

#[async_trait::async_trait]
impl Publisher for FakePublisher {
    async fn sign_crl(
        &self,
        ca_id: &str,
        crl_number: i64,
        revoked: &[RevokedSerial],
    ) -> Result<CrlRecord, String> {
        if self.fail {
            return Err("signing refused".into());
        }
        let mut serials: Vec<String> = revoked.iter().map(|r| r.serial_number.clone()).collect();
        serials.sort();
        self.crl_requests
            .lock()
            .unwrap()
            .push((ca_id.to_string(), crl_number, serials.clone()));
        Ok(CrlRecord {
            ca_id: ca_id.into(),
            crl_number,
            this_update: at(1000),
            next_update: at(1000 + 86_400),
            der: format!("crl {crl_number}: {}", serials.join(",")).into_bytes(),
        })
    }

    async fn sign_ocsp(
        &self,
        ca_id: &str,
        settling: &[SettlingSerial],
    ) -> Result<Vec<OcspRecord>, String> {
        Ok(settling
            .iter()
            .map(|s| OcspRecord {
                ca_id: ca_id.into(),
                serial_number: s.serial_number.clone(),
                status: s.settles_to,
                this_update: at(1000),
                next_update: at(1000 + 3600),
                der: format!("ocsp {} {}", s.serial_number, s.settles_to).into_bytes(),
            })
            .collect())
    }
}

fn publish_request(limit: u32, refresh_before: i64) -> PublishRequest {
    PublishRequest {
        limit,
        refresh_before: at(refresh_before),
        actor: Actor::new(ActorKind::Worker),
        now: at(1000),
    }
}

async fn pending_transitions_settle_exactly_once(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    let b = tenant(&store, 'b').await;
    for (id, serial) in [("r1", "11"), ("r2", "12"), ("x1", "13"), ("keep", "14")] {
        store
            .insert_certificate(
                &certificate(&a, id, serial, 1),
                &audit("certificate.created", id),
            )
            .await
            .unwrap();
    }
    let change = |id: &str, from: &'static [CertificateStatus], to, seconds| StatusChange {
        zone_id: a.zone.id.clone(),
        certificate_id: id.into(),
        from,
        to,
        revocation_reason: (to == CertificateStatus::PendingRevocation)
            .then(|| "keyCompromise".into()),
        audit: AuditEntry {
            occurred_at: at(seconds),
            ..audit("request", id)
        },
    };
    use CertificateStatus::*;
    for (id, seconds) in [("r1", 10), ("r2", 11), ("x1", 12)] {
        store
            .change_status(&change(id, &[Active], PendingRevocation, seconds))
            .await
            .unwrap();
    }
    store
        .change_status(&change("x1", &[PendingRevocation], PendingReactivation, 13))
        .await
        .unwrap();

    let pending = store.pending_transitions(10).await.unwrap();
    let ids: Vec<_> = pending
        .iter()
        .map(|p| (p.certificate_id.as_str(), p.status))
        .collect();
    assert_eq!(
        ids,
        [
            ("r1", PendingRevocation),
            ("r2", PendingRevocation),
            ("x1", PendingReactivation)
        ]
    );
    assert!(
        pending
            .iter()
            .all(|p| p.account_id == a.account.id && p.ca_id == a.ca.id)
    );
    assert_eq!(pending[0].revoked_at, Some(at(10)));
    assert_eq!(
        pending[0].revocation_reason.as_deref(),
        Some("keyCompromise")
    );

    // A failing publication leaves everything pending and publishes nothing.
    let failing = FakePublisher {
        fail: true,
        ..FakePublisher::default()
    };
    let err = store
        .publish(&publish_request(10, 0), &failing)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Publication(_)), "{err:?}");
    assert_eq!(store.pending_transitions(10).await.unwrap().len(), 3);
    assert_eq!(store.latest_crl_number(&a.ca.id).await.unwrap(), Some(1));

    // One batch of two: r1 and r2 (oldest first); their CRL lists both.
    let publisher = FakePublisher::default();
    let report = store
        .publish(&publish_request(2, 0), &publisher)
        .await
        .unwrap();
    assert_eq!(report.settled, 2);
    assert_eq!(
        report.crls,
        [(a.ca.id.clone(), 2)],
        "only the touched CA (b's CRL is still fresh)"
    );
    assert_eq!(
        publisher.crl_requests.lock().unwrap().clone(),
        [(a.ca.id.clone(), 2, vec!["11".to_string(), "12".to_string()])]
    );
    let crl = store.latest_crl(&a.ca.id).await.unwrap().unwrap();
    assert_eq!(
        (crl.crl_number, crl.der.as_slice()),
        (2, &b"crl 2: 11,12"[..])
    );

    // The next batch: x1 reactivates, leaving the revoked ones on the new CRL.
    let report = store
        .publish(&publish_request(10, 0), &publisher)
        .await
        .unwrap();
    assert_eq!((report.settled, report.crls.len()), (1, 1));
    assert_eq!(
        store.latest_crl(&a.ca.id).await.unwrap().unwrap().der,
        b"crl 3: 11,12"
    );
    let again = store
        .publish(&publish_request(10, 0), &publisher)
        .await
        .unwrap();
    assert_eq!(
        (again.settled, again.crls.len()),
        (0, 0),
        "nothing pending, no CRL due"
    );

    // Stale CRLs are re-signed with the next number even when nothing changed; two are kept.
    let refreshed = store
        .publish(&publish_request(10, 1_000_000), &publisher)
        .await
        .unwrap();
    assert_eq!(refreshed.crls, [(a.ca.id.clone(), 4), (b.ca.id.clone(), 2)]);
    assert_eq!(
        store.count_rows(Table::Crls).await.unwrap(),
        4,
        "two per CA"
    );

    let status = |id: &'static str| {
        let store = Arc::clone(&store);
        let zone = a.zone.id.clone();
        async move { store.get_certificate(&zone, id).await.unwrap().unwrap() }
    };
    let r1 = status("r1").await;
    assert_eq!((r1.status, r1.revoked_at), (Revoked, Some(at(10))));
    let x1 = status("x1").await;
    assert_eq!(
        (x1.status, x1.revoked_at, x1.revocation_reason),
        (Active, None, None)
    );
    assert_eq!(status("keep").await.status, Active);

    // OCSP: what the worker pre-signed for the settled serials.
    let revoked = store.serial_status(&a.ca.id, "11").await.unwrap().unwrap();
    assert_eq!(revoked.status, Revoked);
    assert_eq!(revoked.stored_answer.unwrap().der, b"ocsp 11 revoked");
    let reactivated = store.serial_status(&a.ca.id, "13").await.unwrap().unwrap();
    assert_eq!(reactivated.stored_answer.unwrap().status, Active);
    let untouched = store.serial_status(&a.ca.id, "14").await.unwrap().unwrap();
    assert_eq!((untouched.status, untouched.stored_answer), (Active, None));
    assert_eq!(
        store.serial_status(&b.ca.id, "11").await.unwrap(),
        None,
        "serials are per CA"
    );

    let settled: Vec<_> = store
        .audit_events(None, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.entry.actor.kind == ActorKind::Worker)
        .map(|e| (e.entry.action, e.entry.object_id, e.entry.details))
        .collect();
    assert_eq!(
        settled,
        [
            (
                "certificate.revoked".to_string(),
                "r1".to_string(),
                Some("crl_number=2".to_string())
            ),
            (
                "certificate.revoked".to_string(),
                "r2".to_string(),
                Some("crl_number=2".to_string())
            ),
            (
                "certificate.reactivated".to_string(),
                "x1".to_string(),
                Some("crl_number=3".to_string())
            ),
        ]
    );
}

async fn publication_is_skipped_while_another_process_publishes(db: TestDatabase) {
    let store = open(&db).await;
    tenant(&store, 'a').await;
    if db.backend != test_support::Backend::Postgres {
        // SQLite publishes inside BEGIN IMMEDIATE: a second writer waits instead of skipping.
        let report = store
            .publish(&publish_request(10, 1_000_000), &FakePublisher::default())
            .await
            .unwrap();
        assert!(!report.skipped);
        return;
    }
    let other = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&db.url)
        .await
        .unwrap();
    let mut holder = other.begin().await.unwrap();
    let taken: bool = sqlx::query_scalar(store::PUBLICATION_LOCK)
        .fetch_one(&mut *holder)
        .await
        .unwrap();
    assert!(taken);
    let report = store
        .publish(&publish_request(10, 1_000_000), &FakePublisher::default())
        .await
        .unwrap();
    assert!(report.skipped && report.crls.is_empty());
    holder.rollback().await.unwrap();
    let report = store
        .publish(&publish_request(10, 1_000_000), &FakePublisher::default())
        .await
        .unwrap();
    assert!(!report.skipped && report.crls.len() == 1);
}

async fn hostname_associations_are_replaced_whole(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    assert!(
        store
            .hostname_associations(&a.zone.id, &a.ca.id)
            .await
            .unwrap()
            .is_empty()
    );
    let first = vec!["b.example.com".to_string(), "a.example.com".to_string()];
    store
        .replace_hostname_associations(
            &a.zone.id,
            &a.ca.id,
            &first,
            &audit("hostnames.replaced", "z"),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .hostname_associations(&a.zone.id, &a.ca.id)
            .await
            .unwrap(),
        ["a.example.com", "b.example.com"]
    );
    store
        .replace_hostname_associations(
            &a.zone.id,
            &a.ca.id,
            &["c.example.com".into()],
            &audit("hostnames.replaced", "z"),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .hostname_associations(&a.zone.id, &a.ca.id)
            .await
            .unwrap(),
        ["c.example.com"]
    );
    store
        .replace_hostname_associations(&a.zone.id, &a.ca.id, &[], &audit("hostnames.replaced", "z"))
        .await
        .unwrap();
    assert!(
        store
            .hostname_associations(&a.zone.id, &a.ca.id)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn settings_keep_the_first_value(db: TestDatabase) {
    let store = open(&db).await;
    assert_eq!(store.get_setting("k").await.unwrap(), None);
    assert_eq!(
        store.put_setting_if_absent("k", "first").await.unwrap(),
        "first"
    );
    assert_eq!(
        store.put_setting_if_absent("k", "second").await.unwrap(),
        "first"
    );
    assert_eq!(
        store.get_setting("k").await.unwrap().as_deref(),
        Some("first")
    );
}

async fn data_survives_reopening(db: TestDatabase) {
    let cert_id;
    let zone_id;
    {
        let store = open(&db).await;
        let a = tenant(&store, 'a').await;
        let cert = certificate(&a, "durable", "99", 1);
        store
            .insert_certificate(&cert, &audit("certificate.created", "durable"))
            .await
            .unwrap();
        cert_id = cert.id;
        zone_id = a.zone.id;
    }
    let reopened = open(&db).await;
    let found = reopened.get_certificate(&zone_id, &cert_id).await.unwrap();
    assert_eq!(found.map(|c| c.serial_number), Some("99".to_string()));
}

async fn a_deployment_copies_into_an_empty_database_unchanged(db: TestDatabase) {
    // The source is always SQLite (the embedded default users migrate away from).
    let source_db = TestDatabase::sqlite();
    let source = open(&source_db).await;
    let a = tenant(&source, 'a').await;
    let b = tenant(&source, 'b').await;
    for i in 0..2_500 {
        let owner = if i % 2 == 0 { &a } else { &b };
        let cert = certificate(
            owner,
            &format!("cert-{i:05}"),
            &format!("{}", 10_000 + i),
            i64::from(i),
        );
        source
            .insert_certificate(&cert, &audit("certificate.created", &cert.id))
            .await
            .unwrap();
    }
    let token = NewApiToken {
        token: ApiToken {
            id: "1".repeat(32),
            name: "scoped".into(),
            email: Some("ops@example.com".into()),
            account_id: a.account.id.clone(),
            permission: Permission::Read,
            scope: TokenScope::Zones(vec![a.zone.id.clone()]),
            expires_at: Some(at(99)),
            revoked_at: Some(at(98)),
            created_at: at(5),
        },
        secret_hash: "hash".into(),
    };
    source
        .create_token(&token, &audit("token.created", "1"))
        .await
        .unwrap();
    source
        .replace_hostname_associations(
            &a.zone.id,
            &a.ca.id,
            &["a.example.com".into(), "b.example.com".into()],
            &audit("h", "z"),
        )
        .await
        .unwrap();
    source
        .put_setting_if_absent(MASTER_KEY_CHECK_SETTING, "sealed")
        .await
        .unwrap();

    let target = open(&db).await;
    let mut calls = 0;
    let mut last_progress = std::collections::HashMap::new();
    let report = store::copy_deployment(source.as_ref(), target.as_ref(), |table, done, total| {
        last_progress.insert(table, (done, total));
        calls += 1;
    })
    .await
    .unwrap();
    assert!(calls > Table::ALL.len(), "progress is reported per page");
    assert_eq!(last_progress.len(), Table::ALL.len());
    for (table, (done, total)) in &last_progress {
        assert_eq!(
            done,
            total,
            "{} ends with all its rows reported",
            table.name()
        );
    }
    let copied: std::collections::HashMap<_, _> = report.tables.into_iter().collect();
    assert_eq!(copied[&Table::Certificates], 2_500);
    assert_eq!(copied[&Table::HostnameAssociations], 2);

    for table in Table::ALL {
        let (from, _) = source.export_rows(table, "", 10_000).await.unwrap();
        let (to, _) = target.export_rows(table, "", 10_000).await.unwrap();
        assert_eq!(from, to, "{} differs after the copy", table.name());
    }
    // New audit events continue after the copied ones.
    let last = target
        .audit_events(None, 0, 100_000)
        .await
        .unwrap()
        .last()
        .unwrap()
        .id;
    let zone = Zone {
        id: "c".repeat(32),
        ..a.zone.clone()
    };
    target
        .create_zone(&zone, &audit("zone.created", &zone.id))
        .await
        .unwrap();
    let newest = target.audit_events(None, last, 10).await.unwrap();
    assert_eq!(newest.len(), 1);
    assert!(newest[0].id > last);

    let again = store::copy_deployment(source.as_ref(), target.as_ref(), |_, _, _| {}).await;
    assert!(
        matches!(again, Err(StoreError::Conflict(_))),
        "a non-empty target is refused"
    );
}

/// Run raw SQL behind the store's back, as someone with database access would.
async fn tamper(db: &TestDatabase, statements: &[&str]) {
    test_support::run_sql_directly(&db.url, statements).await;
}

async fn the_audit_chain_detects_edited_and_deleted_events(db: TestDatabase) {
    let store = open(&db).await;
    let a = tenant(&store, 'a').await;
    for i in 0..5 {
        let cert = certificate(&a, &format!("c{i}"), &format!("{}", 70 + i), i);
        store
            .insert_certificate(&cert, &audit("certificate.created", &cert.id))
            .await
            .unwrap();
    }
    assert_eq!(store.unsealed_audit_events().await.unwrap(), 8);
    assert_eq!(store.seal_audit(3).await.unwrap(), 3);
    assert_eq!(store.seal_audit(100).await.unwrap(), 5);
    assert_eq!(store.seal_audit(100).await.unwrap(), 0);
    // New events after sealing are simply not sealed yet.
    store
        .insert_certificate(
            &certificate(&a, "late", "99", 9),
            &audit("certificate.created", "late"),
        )
        .await
        .unwrap();
    let clean = verify_chain(store.as_ref()).await.unwrap();
    assert_eq!(
        (clean.sealed, clean.unsealed, clean.problem.clone()),
        (8, 1, None)
    );
    let (head_seq, head_hash) = clean.head.clone().unwrap();
    assert_eq!(head_seq, 8);
    let events = store.audit_events(None, 0, 100).await.unwrap();
    assert_eq!(
        events[7].seal.as_ref().map(|s| s.hash.clone()),
        Some(head_hash)
    );
    assert_eq!(
        events[0].seal.as_ref().map(|s| s.prev_hash.as_str()),
        Some(GENESIS)
    );

    // The database refuses to change or delete a sealed event, or to import a second copy of it...
    for statement in [
        "UPDATE audit_events SET details = 'forged' WHERE chain_seq = 4",
        "DELETE FROM audit_events WHERE chain_seq = 4",
    ] {
        let refused = test_support::try_run_sql_directly(&db.url, &[statement]).await;
        assert!(refused.is_err(), "the guard lets through {statement}");
    }
    let refused = store
        .import_rows(&Rows::AuditEvents(vec![events[1].clone()]))
        .await;
    assert!(refused.is_err(), "duplicate ids are refused");
    // ...so an attacker disables the guard first; the chain still notices.
    let disable = match db.backend {
        test_support::Backend::Sqlite => "DROP TRIGGER audit_events_no_update",
        test_support::Backend::Postgres => "ALTER TABLE audit_events DISABLE TRIGGER USER",
    };
    tamper(
        &db,
        &[
            disable,
            "UPDATE audit_events SET details = 'forged' WHERE chain_seq = 4",
        ],
    )
    .await;
    let edited = verify_chain(store.as_ref()).await.unwrap();
    assert_eq!(
        edited.problem,
        Some(ChainProblem::Altered {
            chain_seq: 4,
            id: events[3].id
        })
    );
    assert_eq!(edited.sealed, 3);

    let delete_guard = match db.backend {
        test_support::Backend::Sqlite => "DROP TRIGGER audit_events_no_delete",
        test_support::Backend::Postgres => "SELECT 1",
    };
    tamper(
        &db,
        &[delete_guard, "DELETE FROM audit_events WHERE chain_seq = 4"],
    )
    .await;
    let deleted = verify_chain(store.as_ref()).await.unwrap();
    assert_eq!(
        deleted.problem,
        Some(ChainProblem::Missing { chain_seq: 4 })
    );
}
