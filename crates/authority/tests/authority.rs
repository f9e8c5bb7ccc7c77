//! The application rules, on every backend: credentials, CA keys, listing windows, state changes.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use authority::*;
use test_support::{TestDatabase, backend_tests};
use time::{Duration, OffsetDateTime};
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

backend_tests!(
    wrong_master_key_is_refused_at_start,
    tokens_authenticate_until_expired_or_revoked,
    legacy_keys_need_the_matching_email,
    zone_access_follows_scope_and_permission,
    replicas_share_one_ca_per_account,
    listing_windows_offset_and_limit_then_pages,
    revocation_is_idempotent_and_final,
    a_publication_pass_publishes_exactly_what_settles,
    the_next_crl_starts_from_the_last_unless_the_database_disagrees,
    a_crl_that_cannot_be_extended_is_rebuilt_from_the_rows,
    unknown_zones_are_remembered_like_known_ones,
);

fn cli() -> Actor {
    Actor::new(ActorKind::Cli)
}

/// A fresh authority (no token cache) with its master key and a zone, "a.example".
async fn publishing_authority(db: &TestDatabase) -> (MasterKey, Arc<Authority>, Zone) {
    let key = MasterKey::generate().unwrap();
    let authority = authority(db, &key, StdDuration::ZERO).await;
    let zone = authority
        .create_zone("a.example", None, cli())
        .await
        .unwrap();
    (key, authority, zone)
}

/// A certificate for "device", issued in `zone` for `validity_days`.
async fn issue_device(authority: &Authority, zone: &Zone, validity_days: i64) -> CertificateRecord {
    let request = IssueRequest {
        csr: test_support::csr_with_common_name("device"),
        validity_days,
    };
    authority
        .issue_certificate(zone, request, cli())
        .await
        .unwrap()
}

async fn authority(db: &TestDatabase, key: &MasterKey, ttl: StdDuration) -> Arc<Authority> {
    let store = store::connect(&db.url).await.unwrap();
    let config = Config {
        master_key: Some(key.clone()),
        token_cache_ttl: ttl,
        ..Config::default()
    };
    Authority::new(store, config).await.unwrap()
}

fn token_request(target: TokenTarget, permission: Permission) -> NewTokenRequest {
    NewTokenRequest {
        target,
        permission,
        name: None,
        expires_in: None,
        legacy_email: None,
    }
}

async fn wrong_master_key_is_refused_at_start(db: TestDatabase) {
    let key = MasterKey::generate().unwrap();
    authority(&db, &key, StdDuration::ZERO).await;
    let store = store::connect(&db.url).await.unwrap();
    let config = Config {
        master_key: Some(MasterKey::generate().unwrap()),
        ..Config::default()
    };
    let err = Authority::new(store, config)
        .await
        .err()
        .expect("a different key is refused");
    assert!(
        matches!(err, Error::MasterKey(MasterKeyError::WrongKey)),
        "{err:?}"
    );
    // The original key still works.
    authority(&db, &key, StdDuration::ZERO).await;
}

async fn tokens_authenticate_until_expired_or_revoked(db: TestDatabase) {
    let authority = authority(
        &db,
        &MasterKey::generate().unwrap(),
        StdDuration::from_secs(60),
    )
    .await;
    let zone = authority
        .create_zone("example.com", None, cli())
        .await
        .unwrap();
    let (token, secret) = authority
        .create_token(
            NewTokenRequest {
                expires_in: Some(Duration::hours(1)),
                ..token_request(TokenTarget::Zones(vec![zone.id.clone()]), Permission::Read)
            },
            cli(),
        )
        .await
        .unwrap();
    let now = OffsetDateTime::now_utc();
    let bearer = Credentials::Bearer(secret.clone());
    assert_eq!(
        authority.authenticate(&bearer, now).await.unwrap().token,
        token
    );
    assert!(matches!(
        authority
            .authenticate(&bearer, now + Duration::hours(2))
            .await,
        Err(Error::ExpiredToken)
    ));
    assert!(matches!(
        authority
            .authenticate(&Credentials::Bearer(format!("{secret}x")), now)
            .await,
        Err(Error::InvalidToken)
    ));
    // A cached token stops working as soon as this process revokes it.
    authority.revoke_token(&token.id, cli()).await.unwrap();
    assert!(matches!(
        authority.authenticate(&bearer, now).await,
        Err(Error::InvalidToken)
    ));
    assert!(matches!(
        authority.revoke_token(&token.id, cli()).await,
        Err(Error::InvalidArgument(_))
    ));
}

async fn legacy_keys_need_the_matching_email(db: TestDatabase) {
    let authority = authority(&db, &MasterKey::generate().unwrap(), StdDuration::ZERO).await;
    let zone = authority
        .create_zone("example.com", None, cli())
        .await
        .unwrap();
    let (_, key) = authority
        .create_token(
            NewTokenRequest {
                legacy_email: Some("Ops@Example.com".into()),
                ..token_request(
                    TokenTarget::Account(zone.account_id.clone()),
                    Permission::Edit,
                )
            },
            cli(),
        )
        .await
        .unwrap();
    assert_eq!(key.len(), 37);
    let now = OffsetDateTime::now_utc();
    let legacy = |email: &str| Credentials::LegacyKey {
        email: email.into(),
        key: key.clone(),
    };
    assert!(
        authority
            .authenticate(&legacy("ops@example.com"), now)
            .await
            .is_ok()
    );
    assert!(matches!(
        authority
            .authenticate(&legacy("other@example.com"), now)
            .await,
        Err(Error::InvalidLegacyKey)
    ));
    // A legacy key is not a Bearer token.
    assert!(matches!(
        authority
            .authenticate(&Credentials::Bearer(key.clone()), now)
            .await,
        Err(Error::InvalidToken)
    ));
}

async fn zone_access_follows_scope_and_permission(db: TestDatabase) {
    let authority = authority(&db, &MasterKey::generate().unwrap(), StdDuration::ZERO).await;
    let a1 = authority
        .create_zone("a1.example", None, cli())
        .await
        .unwrap();
    let a2 = authority
        .create_zone("a2.example", Some(&a1.account_id), cli())
        .await
        .unwrap();
    let other = authority
        .create_account("other", None, cli())
        .await
        .unwrap();
    let b1 = authority
        .create_zone("b1.example", Some(&other.id), cli())
        .await
        .unwrap();
    let now = OffsetDateTime::now_utc();
    let principal = |request| {
        let authority = Arc::clone(&authority);
        async move {
            let (_, secret) = authority.create_token(request, cli()).await.unwrap();
            authority
                .authenticate(&Credentials::Bearer(secret), now)
                .await
                .unwrap()
        }
    };
    let reader = principal(token_request(
        TokenTarget::Zones(vec![a1.id.clone()]),
        Permission::Read,
    ))
    .await;
    let editor = principal(token_request(
        TokenTarget::Account(a1.account_id.clone()),
        Permission::Edit,
    ))
    .await;

    assert!(
        authority
            .authorize_zone(&reader, &a1.id, Permission::Read)
            .await
            .is_ok()
    );
    assert!(matches!(
        authority
            .authorize_zone(&reader, &a1.id, Permission::Edit)
            .await,
        Err(Error::MissingPermission("ssl:edit"))
    ));
    for zone_id in [
        a2.id.as_str(),
        b1.id.as_str(),
        &"f".repeat(32),
        "not-a-zone",
        "../../etc",
    ] {
        // A malformed id is refused where it is parsed, with the same answer.
        let reached = match ids::zone(zone_id) {
            Ok(zone_id) => {
                authority
                    .authorize_zone(&reader, &zone_id, Permission::Read)
                    .await
            }
            Err(error) => Err(error),
        };
        assert!(
            matches!(reached, Err(Error::ZoneNotAccessible)),
            "{zone_id}"
        );
    }
    assert!(
        authority
            .authorize_zone(&editor, &a2.id, Permission::Edit)
            .await
            .is_ok()
    );
    // Another account's zone looks exactly like a zone that does not exist.
    assert!(matches!(
        authority
            .authorize_zone(&editor, &b1.id, Permission::Read)
            .await,
        Err(Error::ZoneNotAccessible)
    ));
}

async fn replicas_share_one_ca_per_account(db: TestDatabase) {
    let key = MasterKey::generate().unwrap();
    let first = authority(&db, &key, StdDuration::ZERO).await;
    let second = authority(&db, &key, StdDuration::ZERO).await;
    let zone = first.create_zone("example.com", None, cli()).await.unwrap();
    let (a, b) = tokio::join!(
        issue_device(&first, &zone, 30),
        issue_device(&second, &zone, 30)
    );
    assert_eq!(a.ca_id, b.ca_id, "both replicas signed with the same CA");
    assert_ne!(a.serial_number, b.serial_number);
    assert_eq!(
        a.ca_name,
        format!("Managed CA for account {}", zone.account_id)
    );
}

async fn listing_windows_offset_and_limit_then_pages(db: TestDatabase) {
    let authority = authority(&db, &MasterKey::generate().unwrap(), StdDuration::ZERO).await;
    let zone = authority
        .create_zone("example.com", None, cli())
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..12 {
        let request = IssueRequest {
            csr: test_support::csr_with_common_name(&format!("device-{i}")),
            validity_days: 1,
        };
        ids.push(
            authority
                .issue_certificate(&zone, request, cli())
                .await
                .unwrap()
                .id,
        );
    }
    ids.reverse(); // newest first
    let list = |page, per_page, offset, limit| {
        let authority = Arc::clone(&authority);
        let zone = zone.clone();
        async move {
            let request = ListRequest {
                status: None,
                page,
                per_page,
                offset,
                limit,
            };
            authority.list_certificates(&zone, &request).await.unwrap()
        }
    };
    let all = list(1, 50, 0, None).await;
    assert_eq!(
        all.items.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        ids
    );
    assert_eq!((all.total_count, all.total_pages), (12, 1));

    let second = list(2, 5, 0, None).await;
    assert_eq!(
        second.items.iter().map(|c| &c.id).collect::<Vec<_>>(),
        ids[5..10].iter().collect::<Vec<_>>()
    );
    assert_eq!((second.total_count, second.total_pages), (12, 3));

    // offset 2, limit 7 → window ids[2..9]; page 2 of 5 → ids[7..9].
    let windowed = list(2, 5, 2, Some(7)).await;
    assert_eq!(
        windowed.items.iter().map(|c| &c.id).collect::<Vec<_>>(),
        ids[7..9].iter().collect::<Vec<_>>()
    );
    assert_eq!((windowed.total_count, windowed.total_pages), (7, 2));

    let past_end = list(3, 5, 2, Some(7)).await;
    assert!(past_end.items.is_empty());
    let huge = list(u64::MAX, 50, u64::MAX, Some(u64::MAX)).await;
    assert!(huge.items.is_empty());
    assert_eq!(huge.total_count, 0);
}

async fn revocation_is_idempotent_and_final(db: TestDatabase) {
    let authority = authority(&db, &MasterKey::generate().unwrap(), StdDuration::ZERO).await;
    let zone = authority
        .create_zone("example.com", None, cli())
        .await
        .unwrap();
    let cert = issue_device(&authority, &zone, 10).await;
    let reason = Some(RevocationReason::KeyCompromise);
    let revoked = authority
        .revoke_certificate(&zone, &cert.id, reason, cli())
        .await
        .unwrap();
    assert_eq!(revoked.status, CertificateStatus::PendingRevocation);
    assert_eq!(
        revoked.revocation_reason,
        Some(RevocationReason::KeyCompromise)
    );
    let again = authority
        .revoke_certificate(&zone, &cert.id, reason, cli())
        .await
        .unwrap();
    assert_eq!(again, revoked);

    let reactivated = authority
        .reactivate_certificate(&zone, &cert.id, cli())
        .await
        .unwrap();
    assert_eq!(reactivated.status, CertificateStatus::PendingReactivation);
    assert_eq!(
        authority
            .revoke_certificate(&zone, &cert.id, reason, cli())
            .await
            .unwrap()
            .status,
        CertificateStatus::PendingRevocation
    );

    // The worker publishes; from then on revocation is final.
    let report = authority.publish(10).await.unwrap();
    assert_eq!((report.settled, report.crls.len()), (1, 1));
    assert!(matches!(
        authority
            .reactivate_certificate(&zone, &cert.id, cli())
            .await,
        Err(Error::CertificateRevoked)
    ));
    assert!(matches!(
        authority
            .revoke_certificate(&zone, &CertificateId::new_v7(), reason, cli())
            .await,
        Err(Error::CertificateNotFound)
    ));
}

/// An authority configured for 100-day CRLs: today's 24-hour ones are stale to it, so its next
/// pass re-signs every CA's CRL.
async fn refresher(store: store::DynStore, key: MasterKey) -> Arc<Authority> {
    let config = Config {
        master_key: Some(key),
        publication: Publication {
            crl_validity: Duration::days(100),
            ..Publication::default()
        },
        ..Config::default()
    };
    Authority::new(store, config).await.unwrap()
}

/// The entries of a CA's newest CRL: decimal serial, revocation date, reason code.
async fn latest_entries(
    authority: &Authority,
    ca_id: &CaId,
) -> Vec<(String, OffsetDateTime, Option<u8>)> {
    let crl = authority.latest_crl(ca_id).await.unwrap().unwrap();
    let (_, parsed) = CertificateRevocationList::from_der(crl.der()).unwrap();
    parsed
        .iter_revoked_certificates()
        .map(|entry| {
            (
                entry.user_certificate.to_string(),
                entry.revocation_date.to_datetime(),
                entry.reason_code().map(|(_, code)| code.0),
            )
        })
        .collect()
}

/// The serials a CA's newest CRL lists, with its number.
async fn crl_serials(authority: &Authority, ca_id: &CaId) -> (i64, Vec<String>) {
    let crl = authority.latest_crl(ca_id).await.unwrap().unwrap();
    let (_, parsed) = CertificateRevocationList::from_der(crl.der()).unwrap();
    let mut serials: Vec<String> = parsed
        .iter_revoked_certificates()
        .map(|entry| entry.user_certificate.to_string())
        .collect();
    serials.sort();
    (crl.crl_number(), serials)
}

async fn a_publication_pass_publishes_exactly_what_settles(db: TestDatabase) {
    let (key, authority, zone) = publishing_authority(&db).await;
    let other = authority
        .create_account("other", None, cli())
        .await
        .unwrap();
    let other_zone = authority
        .create_zone("b.example", Some(&other.id), cli())
        .await
        .unwrap();
    let (r1, r2, x1, keep) = (
        issue_device(&authority, &zone, 10).await,
        issue_device(&authority, &zone, 10).await,
        issue_device(&authority, &zone, 10).await,
        issue_device(&authority, &zone, 10).await,
    );
    let elsewhere = issue_device(&authority, &other_zone, 10).await;
    let reason = Some(RevocationReason::KeyCompromise);
    for cert in [&r1, &r2, &x1] {
        authority
            .revoke_certificate(&zone, &cert.id, reason, cli())
            .await
            .unwrap();
    }
    authority
        .reactivate_certificate(&zone, &x1.id, cli())
        .await
        .unwrap();
    let (ca, other_ca) = (r1.ca_id.clone(), elsewhere.ca_id.clone());
    let decimal = |cert: &CertificateRecord| cert.serial_number.to_decimal();

    // One batch of two: r1 and r2 (oldest request first); only their CA gets a CRL, listing both.
    let report = authority.publish(2).await.unwrap();
    assert_eq!(report.settled, 2);
    assert_eq!(
        report.crls,
        [(ca.clone(), 2)],
        "only the touched CA (the other's CRL is still fresh)"
    );
    let mut expected = vec![decimal(&r1), decimal(&r2)];
    expected.sort();
    assert_eq!(crl_serials(&authority, &ca).await, (2, expected.clone()));

    // The next batch: x1 reactivates, never listed; the revoked ones stay on the new CRL.
    let report = authority.publish(10).await.unwrap();
    assert_eq!((report.settled, report.crls.len()), (1, 1));
    assert_eq!(crl_serials(&authority, &ca).await, (3, expected));
    let again = authority.publish(10).await.unwrap();
    assert_eq!(
        (again.settled, again.crls.len()),
        (0, 0),
        "nothing pending, no CRL due"
    );

    // CRLs past half their validity are re-signed with the next number even when nothing changed
    // (a replica configured for 100-day CRLs finds today's 24-hour ones stale); two are kept.
    let store = store::connect(&db.url).await.unwrap();
    let refresher = refresher(Arc::clone(&store), key).await;
    let mut refreshed = refresher.publish(10).await.unwrap().crls;
    refreshed.sort();
    let mut want = vec![(ca.clone(), 4), (other_ca.clone(), 2)];
    want.sort();
    assert_eq!(refreshed, want);
    assert_eq!(
        store.count_rows(Table::Crls).await.unwrap(),
        4,
        "two per CA"
    );

    let status = |id: CertificateId| {
        let authority = Arc::clone(&authority);
        let zone = zone.clone();
        async move { authority.certificate(&zone, &id).await.unwrap() }
    };
    let revoked = status(r1.id.clone()).await;
    assert_eq!(revoked.status, CertificateStatus::Revoked);
    assert!(revoked.revoked_at.is_some());
    let back = status(x1.id.clone()).await;
    assert_eq!(
        (back.status, back.revoked_at, back.revocation_reason),
        (CertificateStatus::Active, None, None)
    );
    assert_eq!(
        status(keep.id.clone()).await.status,
        CertificateStatus::Active
    );

    // OCSP: the pass pre-signed answers for the serials that settled, and only those.
    let answer = |cert: &CertificateRecord| {
        let store = Arc::clone(&store);
        let (ca, serial) = (cert.ca_id.clone(), cert.serial_number);
        async move { store.serial_status(&ca, serial).await.unwrap().unwrap() }
    };
    let stored = answer(&r1).await.stored_answer.expect("pre-signed");
    assert_eq!(stored.status, CertificateStatus::Revoked);
    let stored = answer(&x1).await.stored_answer.expect("pre-signed");
    assert_eq!(stored.status, CertificateStatus::Active);
    assert_eq!(answer(&keep).await.stored_answer, None);

    let settled: Vec<_> = store
        .audit_events(None, 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.entry.actor.kind == ActorKind::Worker)
        .map(|e| (e.entry.action, e.entry.object_id, e.entry.details))
        .collect();
    let event = |action, cert: &CertificateRecord, crl: i64| {
        (
            action,
            cert.id.to_string(),
            Some(format!("crl_number={crl}")),
        )
    };
    assert_eq!(
        settled,
        [
            event(AuditAction::CertificateRevoked, &r1, 2),
            event(AuditAction::CertificateRevoked, &r2, 2),
            event(AuditAction::CertificateReactivated, &x1, 3),
        ]
    );
}

/// A pass starts from the previous CRL's entries (dates and reasons kept); a revocation the CRL
/// lacks (written behind clientca's back, or copied in) makes it read the database instead.
async fn the_next_crl_starts_from_the_last_unless_the_database_disagrees(db: TestDatabase) {
    let (key, authority, zone) = publishing_authority(&db).await;
    let mut issued = Vec::new();
    for _ in 0..3 {
        issued.push(issue_device(&authority, &zone, 10).await);
    }
    let (first, sneaked, last) = (&issued[0], &issued[1], &issued[2]);
    let ca = first.ca_id.clone();
    let revoke = |cert: &CertificateRecord, reason| {
        let (authority, zone, id) = (Arc::clone(&authority), zone.clone(), cert.id.clone());
        async move {
            authority
                .revoke_certificate(&zone, &id, Some(reason), cli())
                .await
                .unwrap();
            authority.publish(100).await.unwrap()
        }
    };
    revoke(first, RevocationReason::KeyCompromise).await;
    let before = latest_entries(&authority, &ca).await;
    assert_eq!(before.len(), 1);

    // Carried over: the first entry reaches the next CRL unchanged.
    revoke(last, RevocationReason::Superseded).await;
    let carried = latest_entries(&authority, &ca).await;
    assert_eq!(carried.len(), 2);
    assert_eq!(carried[0], before[0]);

    // Behind clientca's back: the database now holds a revocation no CRL lists.
    test_support::run_sql_directly(
        &db.url,
        &[&format!(
            "UPDATE certificates SET status = 'revoked', revoked_at = 1800000000, \
             revocation_reason = 'cessationOfOperation' WHERE id = '{}'",
            sneaked.id
        )],
    )
    .await;
    let refresher = refresher(store::connect(&db.url).await.unwrap(), key).await;
    assert_eq!(
        refresher.publish(100).await.unwrap().crls.len(),
        1,
        "a stale CRL is re-signed"
    );
    let rebuilt = latest_entries(&refresher, &ca).await;
    let mut serials: Vec<_> = rebuilt.iter().map(|(serial, ..)| serial.clone()).collect();
    serials.sort();
    let mut want: Vec<_> = issued
        .iter()
        .map(|c| c.serial_number.to_decimal())
        .collect();
    want.sort();
    assert_eq!(
        serials, want,
        "the database's three revocations, not the CRL's two"
    );
    let sneaked_entry = rebuilt
        .iter()
        .find(|(serial, ..)| *serial == sneaked.serial_number.to_decimal())
        .unwrap();
    assert_eq!(
        sneaked_entry.2,
        Some(5),
        "cessationOfOperation (RFC 5280 §5.3.1)"
    );
}

/// A latest CRL that lists exactly the settled revocations but cannot be extended — here it
/// names another issuer — does not stop publication: the pass signs the next CRL from the rows.
async fn a_crl_that_cannot_be_extended_is_rebuilt_from_the_rows(db: TestDatabase) {
    let (_, authority, zone) = publishing_authority(&db).await;
    let mut issued = Vec::new();
    for _ in 0..2 {
        let cert = issue_device(&authority, &zone, 10).await;
        authority
            .revoke_certificate(&zone, &cert.id, None, cli())
            .await
            .unwrap();
        issued.push(cert);
    }
    let ca = issued[0].ca_id.clone();
    assert_eq!(authority.publish(1).await.unwrap().settled, 1);
    let published = authority.latest_crl(&ca).await.unwrap().unwrap();

    // The same entry, signed under another name, in place of the latest CRL.
    let now = OffsetDateTime::now_utc();
    let stranger =
        pki::generate_managed_ca("Someone else", now, Duration::days(30), Default::default())
            .unwrap();
    let stranger =
        pki::CaSigner::from_parts(&stranger.certificate_der, &stranger.private_key_pkcs8_der)
            .unwrap();
    let entry = pki::RevokedEntry {
        serial: issued[0].serial_number,
        revoked_at: now,
        reason: RevocationReason::Unspecified,
    };
    let forged = pki::sign_crl(&stranger, 2, now, now + Duration::days(1), &[entry]).unwrap();
    let blob = match db.backend {
        test_support::Backend::Sqlite => format!("X'{}'", hex::encode(&forged)),
        test_support::Backend::Postgres => format!("decode('{}', 'hex')", hex::encode(&forged)),
    };
    test_support::run_sql_directly(
        &db.url,
        &[&format!(
            "UPDATE crls SET der = {blob} WHERE ca_id = '{ca}' AND crl_number = {}",
            published.crl_number()
        )],
    )
    .await;

    let report = authority.publish(10).await.unwrap();
    assert_eq!((report.settled, report.crls.len()), (1, 1));
    let rebuilt = authority.latest_crl(&ca).await.unwrap().unwrap();
    let (_, parsed) = CertificateRevocationList::from_der(rebuilt.der()).unwrap();
    let ca_record = authority.ca_certificate(&ca).await.unwrap().unwrap();
    let (_, ca_cert) =
        x509_parser::certificate::X509Certificate::from_der(&ca_record.certificate_der).unwrap();
    parsed
        .verify_signature(ca_cert.public_key())
        .expect("signed by the zone's CA");
    assert_eq!(parsed.issuer(), ca_cert.subject());
    let (_, serials) = crl_serials(&authority, &ca).await;
    let mut want: Vec<_> = issued
        .iter()
        .map(|c| c.serial_number.to_decimal())
        .collect();
    want.sort();
    assert_eq!(serials, want);
}

/// A miss is cached like a hit (for the token-cache TTL), so "no such zone" and "another tenant's
/// zone" cost the same and timing tells nothing; a zone this process creates is seen at once, one
/// another replica creates within the TTL.
async fn unknown_zones_are_remembered_like_known_ones(db: TestDatabase) {
    let key = MasterKey::generate().unwrap();
    let ttl = StdDuration::from_millis(400);
    let here = authority(&db, &key, ttl).await;
    let there = authority(&db, &key, ttl).await;
    let zone = there.create_zone("example.com", None, cli()).await.unwrap();
    let (_, secret) = there
        .create_token(
            token_request(
                TokenTarget::Account(zone.account_id.clone()),
                Permission::Read,
            ),
            cli(),
        )
        .await
        .unwrap();
    let principal = here
        .authenticate(&Credentials::Bearer(secret), OffsetDateTime::now_utc())
        .await
        .unwrap();
    let reach = |zone_id: ZoneId| {
        let (here, principal) = (Arc::clone(&here), principal.clone());
        async move {
            here.authorize_zone(&principal, &zone_id, Permission::Read)
                .await
        }
    };
    assert!(reach(zone.id.clone()).await.is_ok());

    // Asked about before it exists: the miss is remembered.
    let later = ZoneId::random();
    assert!(matches!(
        reach(later.clone()).await,
        Err(Error::ZoneNotAccessible)
    ));
    let created_elsewhere = Zone {
        id: later.clone(),
        name: "later.example".into(),
        ..zone.clone()
    };
    let store = store::connect(&db.url).await.unwrap();
    store
        .create_zone(
            &created_elsewhere,
            &store::AuditEntry::new(
                OffsetDateTime::now_utc(),
                cli(),
                AuditAction::ZoneCreated,
                "z",
            ),
        )
        .await
        .unwrap();
    assert!(
        matches!(reach(later.clone()).await, Err(Error::ZoneNotAccessible)),
        "within the TTL the miss stands"
    );
    tokio::time::sleep(ttl + StdDuration::from_millis(100)).await;
    assert!(
        reach(later).await.is_ok(),
        "after the TTL the zone is found"
    );

    // A zone this process creates is reachable at once.
    let own = here
        .create_zone("own.example", Some(&zone.account_id), cli())
        .await
        .unwrap();
    assert!(reach(own.id).await.is_ok());
}
