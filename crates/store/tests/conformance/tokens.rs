//! TokenStore: credentials by secret hash, scope and revocation.

use store::*;
use test_support::{TestDatabase, backend_tests};

use crate::support::*;

backend_tests!(tokens_round_trip_with_scope_and_revocation);

async fn tokens_round_trip_with_scope_and_revocation(db: TestDatabase) {
    let store = open(&db).await;
    let t = tenant(&store, 'a').await;
    let zone_token = ApiToken {
        id: TokenId::parse(&"1".repeat(32)).unwrap(),
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
        id: TokenId::parse(&"2".repeat(32)).unwrap(),
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
            .create_token(&new, &audit(AuditAction::TokenCreated, &token.id))
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
        store.get_token(&zone_token.id).await.unwrap(),
        Some(zone_token.clone())
    );
    assert_eq!(store.get_token(&TokenId::random()).await.unwrap(), None);
    assert_eq!(
        store.list_tokens().await.unwrap(),
        vec![zone_token.clone(), legacy_key]
    );

    let duplicate_hash = NewApiToken {
        token: ApiToken {
            id: TokenId::parse(&"3".repeat(32)).unwrap(),
            ..zone_token.clone()
        },
        secret_hash: "h1".into(),
    };
    assert!(matches!(
        store
            .create_token(&duplicate_hash, &audit(AuditAction::TokenCreated, "3"))
            .await,
        Err(StoreError::Conflict(_))
    ));

    let revoke = AuditEntry {
        occurred_at: at(100),
        ..audit(AuditAction::TokenRevoked, &zone_token.id)
    };
    assert!(store.revoke_token(&zone_token.id, &revoke).await.unwrap());
    assert!(
        !store.revoke_token(&zone_token.id, &revoke).await.unwrap(),
        "second revoke is a no-op"
    );
    assert!(
        !store
            .revoke_token(&TokenId::random(), &revoke)
            .await
            .unwrap()
    );
    let revoked = store
        .find_token_by_secret_hash("h1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(revoked.revoked_at, Some(at(100)));
    assert_eq!(audit_count(&store, AuditAction::TokenRevoked).await, 1);
}
