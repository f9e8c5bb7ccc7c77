//! Tenant isolation across two accounts and several zones, and the audit log endpoint.

use authority::{NewTokenRequest, Permission, TokenTarget};
use reqwest::Method;
use serde_json::{Value, json};
use store::{Actor, ActorKind};
use test_support::{TestDatabase, backend_tests};

use crate::helpers::{Answer, TestApp, p256_csr};

backend_tests!(
    every_endpoint_refuses_foreign_credentials_alike,
    the_audit_log_is_per_account_paged_and_sealed,
);

/// Every zone-scoped operation, as (method, path, body) for `zone` and a certificate id in it.
fn operations(
    zone: &(impl std::fmt::Display + ?Sized),
    id: &str,
) -> Vec<(Method, String, Option<Value>)> {
    let certs = format!("/zones/{zone}/client_certificates");
    let hostnames = format!("/zones/{zone}/certificate_authorities/hostname_associations");
    vec![
        (Method::GET, certs.clone(), None),
        (
            Method::POST,
            certs.clone(),
            Some(json!({"csr": p256_csr("x"), "validity_days": 1})),
        ),
        (Method::GET, format!("{certs}/{id}"), None),
        (Method::DELETE, format!("{certs}/{id}"), None),
        (Method::PATCH, format!("{certs}/{id}"), Some(json!({}))),
        (Method::GET, hostnames.clone(), None),
        (
            Method::PUT,
            hostnames,
            Some(json!({"hostnames": ["a.example.com"]})),
        ),
    ]
}

async fn token(app: &TestApp, target: TokenTarget, permission: Permission) -> String {
    app.token(target, permission).await
}

async fn every_endpoint_refuses_foreign_credentials_alike(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let authority = &app.server.authority;
    let cli = || Actor::new(ActorKind::Cli);
    let a1 = app.zone_id.clone();
    let a2 = app.new_zone(Some(&app.account_id)).await;
    let other = authority
        .create_account("tenant b", None, cli())
        .await
        .unwrap();
    let b1 = app.new_zone(Some(&other.id)).await;
    let cert_a1 = app.issue(&p256_csr("a1")).await["id"]
        .as_str()
        .unwrap()
        .to_string();

    let b_editor = token(
        &app,
        TokenTarget::Account(other.id.clone()),
        Permission::Edit,
    )
    .await;
    let a2_editor = token(&app, TokenTarget::Zones(vec![a2.clone()]), Permission::Edit).await;
    let a1_reader = token(&app, TokenTarget::Zones(vec![a1.clone()]), Permission::Read).await;
    let (revoked_token, revoked_secret) = authority
        .create_token(
            NewTokenRequest {
                target: TokenTarget::Account(app.account_id.clone()),
                permission: Permission::Edit,
                name: None,
                expires_in: None,
                legacy_email: None,
            },
            cli(),
        )
        .await
        .unwrap();
    authority
        .revoke_token(&revoked_token.id, cli())
        .await
        .unwrap();
    let missing_zone = "0123456789abcdef0123456789abcdef";
    let hostile_zones = [
        "..%2F..%2Fzones",
        "%27%20OR%201%3D1--",
        "%E2%80%AE%E2%98%83",
        "A1B2",
    ];

    // Another tenant, and a token of this tenant for another zone: indistinguishable from a zone
    // that does not exist, on every operation.
    for credential in [&b_editor, &a2_editor] {
        for zone in [a1.as_str(), missing_zone].into_iter().chain(hostile_zones) {
            for (method, path, body) in operations(zone, &cert_a1) {
                let answer = app.call_as(credential, method.clone(), &path, body).await;
                assert_refused(&answer, 403, 9109, &format!("{method} {path}"));
            }
        }
    }
    // A reader may read but not write.
    for (method, path, body) in operations(&a1, &cert_a1) {
        let answer = app.call_as(&a1_reader, method.clone(), &path, body).await;
        if method == Method::GET {
            answer.assert_ok();
        } else {
            assert_refused(&answer, 403, 9110, &format!("{method} {path}"));
        }
    }
    // A revoked token is refused everywhere, whatever exists.
    for (method, path, body) in operations(&a1, &cert_a1) {
        app.call_as(&revoked_secret, method, &path, body)
            .await
            .assert_error(401, 10000);
    }
    // The right account through the wrong zone: the certificate is not there.
    let through_a2 = format!("/zones/{a2}/client_certificates/{cert_a1}");
    app.call(Method::GET, &through_a2, None)
        .await
        .assert_error(404, 1102);
    // Tenant B sees only its own zone, empty.
    let own = app
        .call_as(
            &b_editor,
            Method::GET,
            &format!("/zones/{b1}/client_certificates"),
            None,
        )
        .await;
    assert_eq!(own.assert_ok(), &json!([]));
    // And nothing of A changed.
    let status = app
        .call(
            Method::GET,
            &format!("/zones/{a1}/client_certificates/{cert_a1}"),
            None,
        )
        .await;
    assert_eq!(status.assert_ok()["status"], "active");
    assert_eq!(app.count_created_events().await, 1);
}

fn assert_refused(answer: &Answer, status: u16, code: u64, what: &str) {
    assert_eq!(answer.status.as_u16(), status, "{what}: {}", answer.body);
    answer.assert_error(status, code);
    let message = answer.body["errors"][0]["message"].as_str().unwrap();
    assert!(
        !message.contains("not found") && !message.contains("exist"),
        "{what} leaks: {message}"
    );
}

async fn the_audit_log_is_per_account_paged_and_sealed(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    for i in 0..3 {
        app.issue(&p256_csr(&format!("device-{i}"))).await;
    }
    let path = format!("/accounts/{}/audit_logs", app.account_id);
    let first = app
        .call(Method::GET, &format!("{path}?per_page=2"), None)
        .await;
    let entries = first.assert_ok().as_array().unwrap().clone();
    assert_eq!(entries.len(), 2);
    let total = first.body["result_info"]["total_count"].as_u64().unwrap();
    assert!(total >= 6, "bootstrap, CA and three creates: {total}");
    assert_eq!(first.body["result_info"]["total_pages"], total.div_ceil(2));
    assert!(
        entries[0]["id"].as_i64() > entries[1]["id"].as_i64(),
        "newest first"
    );
    let newest = &entries[0];
    assert_eq!(newest["action"], "certificate.created");
    assert_eq!(newest["actor"]["type"], "token");
    assert_eq!(newest["actor"]["ip"], "127.0.0.1");
    assert_eq!(newest["resource"]["type"], "certificate");
    assert_eq!(
        newest["hash"],
        Value::Null,
        "not sealed before the worker runs"
    );

    app.server.authority.seal_audit_log().await.unwrap();
    let sealed = app
        .call(Method::GET, &format!("{path}?per_page=2"), None)
        .await;
    let newest = &sealed.assert_ok()[0];
    assert_eq!(newest["hash"].as_str().unwrap().len(), 64);
    assert_eq!(newest["chain_seq"].as_i64(), Some(total as i64));

    // Zone-scoped and foreign credentials cannot read an account's log.
    let zone_reader = app
        .token(
            TokenTarget::Zones(vec![app.zone_id.clone()]),
            Permission::Read,
        )
        .await;
    app.call_as(&zone_reader, Method::GET, &path, None)
        .await
        .assert_error(403, 9109);
    let other = app
        .server
        .authority
        .create_account("other", None, Actor::new(ActorKind::Cli))
        .await
        .unwrap();
    let foreign = app
        .token(TokenTarget::Account(other.id.clone()), Permission::Edit)
        .await;
    app.call_as(&foreign, Method::GET, &path, None)
        .await
        .assert_error(403, 9109);
    let own = app
        .call_as(
            &foreign,
            Method::GET,
            &format!("/accounts/{}/audit_logs", other.id),
            None,
        )
        .await;
    let own_actions: Vec<&str> = own
        .assert_ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        own_actions,
        ["token.created", "account.created"],
        "the other account sees only its own events"
    );
    app.call(Method::GET, &format!("{path}?page=0"), None)
        .await
        .assert_error(400, 1004);
}
