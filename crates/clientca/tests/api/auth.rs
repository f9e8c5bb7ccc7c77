//! Credentials and tenant boundaries over HTTP.

use authority::{Permission, TokenTarget};
use reqwest::Method;
use serde_json::json;
use store::{
    Actor, ActorKind, ApiToken, AuditAction, AuditEntry, NewApiToken, TokenId, TokenScope,
};
use test_support::{TestDatabase, backend_tests};
use time::{Duration, OffsetDateTime};

use crate::helpers::{TestApp, answer, p256_csr};

backend_tests!(
    missing_malformed_and_invalid_credentials,
    expired_and_revoked_tokens_are_401,
    read_tokens_cannot_write,
    zone_scoped_tokens_see_only_their_zones,
    other_accounts_are_indistinguishable_from_nothing,
    legacy_email_and_key_headers_work,
    token_verify_reports_the_token,
);

async fn missing_malformed_and_invalid_credentials(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let url = app.url(&app.certificates_path(&app.zone_id));
    answer(app.client.get(&url).send().await.unwrap())
        .await
        .assert_error(400, 9106);
    let basic = app
        .client
        .get(&url)
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    answer(basic).await.assert_error(400, 6111);
    let empty = app
        .client
        .get(&url)
        .header("authorization", "Bearer ")
        .send()
        .await
        .unwrap();
    answer(empty).await.assert_error(400, 6111);
    let wrong = app
        .call_as(
            "not-a-real-token",
            Method::GET,
            &app.certificates_path(&app.zone_id),
            None,
        )
        .await;
    wrong.assert_error(401, 10000);
    let only_email = app
        .client
        .get(&url)
        .header("x-auth-email", "a@b.c")
        .send()
        .await
        .unwrap();
    answer(only_email).await.assert_error(400, 9106);
}

async fn expired_and_revoked_tokens_are_401(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let store = &app.store;
    let past = OffsetDateTime::now_utc() - Duration::hours(2);
    let expired = NewApiToken {
        token: ApiToken {
            id: TokenId::parse(&"e".repeat(32)).unwrap(),
            name: "expired".into(),
            email: None,
            account_id: app.account_id.clone(),
            permission: Permission::Edit,
            scope: TokenScope::Account,
            expires_at: Some(past + Duration::hours(1)),
            revoked_at: None,
            created_at: past,
        },
        // The server keeps the SHA-256 hex of a secret, the same digest as a fingerprint.
        secret_hash: pki::fingerprint_sha256(b"expired-secret"),
    };
    let audit = AuditEntry::new(
        past,
        Actor::new(ActorKind::Cli),
        AuditAction::TokenCreated,
        expired.token.id.as_str(),
    )
    .in_account(&app.account_id);
    store.create_token(&expired, &audit).await.unwrap();
    let path = app.certificates_path(&app.zone_id);
    app.call_as("expired-secret", Method::GET, &path, None)
        .await
        .assert_error(401, 10001);

    let request = authority::NewTokenRequest {
        target: TokenTarget::Account(app.account_id.clone()),
        permission: Permission::Edit,
        name: None,
        expires_in: None,
        legacy_email: None,
    };
    let (created, token) = app
        .server
        .authority
        .create_token(request, Actor::new(ActorKind::Cli))
        .await
        .unwrap();
    app.call_as(&token, Method::GET, &path, None)
        .await
        .assert_ok();
    app.server
        .authority
        .revoke_token(&created.id, Actor::new(ActorKind::Cli))
        .await
        .unwrap();
    app.call_as(&token, Method::GET, &path, None)
        .await
        .assert_error(401, 10000);
}

async fn read_tokens_cannot_write(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let cert = app.issue(&p256_csr("device")).await;
    let reader = app
        .token(
            TokenTarget::Zones(vec![app.zone_id.clone()]),
            Permission::Read,
        )
        .await;
    let path = app.certificates_path(&app.zone_id);
    let item = format!("{path}/{}", cert["id"].as_str().unwrap());
    app.call_as(&reader, Method::GET, &path, None)
        .await
        .assert_ok();
    app.call_as(&reader, Method::GET, &item, None)
        .await
        .assert_ok();
    let body = json!({"csr": p256_csr("x"), "validity_days": 1});
    app.call_as(&reader, Method::POST, &path, Some(body))
        .await
        .assert_error(403, 9110);
    app.call_as(&reader, Method::DELETE, &item, None)
        .await
        .assert_error(403, 9110);
    app.call_as(&reader, Method::PATCH, &item, Some(json!({})))
        .await
        .assert_error(403, 9110);
    let hostnames = format!(
        "/zones/{}/certificate_authorities/hostname_associations",
        app.zone_id
    );
    app.call_as(&reader, Method::GET, &hostnames, None)
        .await
        .assert_ok();
    app.call_as(
        &reader,
        Method::PUT,
        &hostnames,
        Some(json!({"hostnames": []})),
    )
    .await
    .assert_error(403, 9110);
    let after = app.call(Method::GET, &item, None).await;
    assert_eq!(
        after.assert_ok()["status"],
        "active",
        "the refused DELETE changed nothing"
    );
    assert_eq!(app.count_created_events().await, 1);
}

async fn zone_scoped_tokens_see_only_their_zones(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let second_zone = app.new_zone(Some(&app.account_id)).await;
    let scoped = app
        .token(
            TokenTarget::Zones(vec![second_zone.clone()]),
            Permission::Edit,
        )
        .await;
    app.call_as(
        &scoped,
        Method::GET,
        &app.certificates_path(&second_zone),
        None,
    )
    .await
    .assert_ok();
    app.call_as(
        &scoped,
        Method::GET,
        &app.certificates_path(&app.zone_id),
        None,
    )
    .await
    .assert_error(403, 9109);
}

async fn other_accounts_are_indistinguishable_from_nothing(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let cert = app.issue(&p256_csr("device")).await;
    let other = app
        .server
        .authority
        .create_account("other", None, Actor::new(ActorKind::Cli))
        .await
        .unwrap();
    let other_zone = app.new_zone(Some(&other.id)).await;
    let outsider = app
        .token(TokenTarget::Account(other.id.clone()), Permission::Edit)
        .await;
    app.call_as(
        &outsider,
        Method::GET,
        &app.certificates_path(&other_zone),
        None,
    )
    .await
    .assert_ok();
    let existing = app.certificates_path(&app.zone_id);
    let missing = app.certificates_path(&"f".repeat(32));
    let a = app.call_as(&outsider, Method::GET, &existing, None).await;
    let b = app.call_as(&outsider, Method::GET, &missing, None).await;
    a.assert_error(403, 9109);
    b.assert_error(403, 9109);
    assert_eq!(
        a.body, b.body,
        "a foreign zone and a missing zone must look the same"
    );
    let item = format!("{existing}/{}", cert["id"].as_str().unwrap());
    app.call_as(&outsider, Method::DELETE, &item, None)
        .await
        .assert_error(403, 9109);
    for zone in ["..%2F..", "%27%3B%20DROP%20TABLE%20zones%3B--", "%E2%98%83"] {
        app.call_as(&outsider, Method::GET, &app.certificates_path(&zone), None)
            .await
            .assert_error(403, 9109);
    }
    assert_eq!(
        app.call(Method::GET, &item, None).await.assert_ok()["status"],
        "active"
    );
}

async fn legacy_email_and_key_headers_work(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let (_, key) = app
        .server
        .authority
        .create_token(
            authority::NewTokenRequest {
                target: TokenTarget::Account(app.account_id.clone()),
                permission: Permission::Edit,
                name: None,
                expires_in: None,
                legacy_email: Some("ops@example.com".into()),
            },
            Actor::new(ActorKind::Cli),
        )
        .await
        .unwrap();
    let url = app.url(&app.certificates_path(&app.zone_id));
    let ok = app
        .client
        .get(&url)
        .header("x-auth-email", "ops@example.com")
        .header("x-auth-key", &key)
        .send()
        .await
        .unwrap();
    answer(ok).await.assert_ok();
    let wrong = app
        .client
        .get(&url)
        .header("x-auth-email", "intruder@example.com")
        .header("x-auth-key", &key)
        .send()
        .await
        .unwrap();
    answer(wrong).await.assert_error(401, 9103);
}

async fn token_verify_reports_the_token(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let verified = app.call(Method::GET, "/user/tokens/verify", None).await;
    let result = verified.assert_ok();
    assert_eq!(result["status"], "active");
    assert_eq!(result["id"].as_str().unwrap().len(), 32);
    app.call_as("bogus", Method::GET, "/user/tokens/verify", None)
        .await
        .assert_error(401, 10000);
}
