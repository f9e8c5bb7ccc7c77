//! `/accounts/{account_id}/mtls_certificates`: uploaded CA certificates — every refusal clear and
//! writing nothing, other accounts' certificates indistinguishable from none, and the hostname
//! associations that name them.

use authority::{
    Actor, ActorKind, AuditAction, MAX_MTLS_CERTIFICATES_PER_ACCOUNT, Permission, TokenTarget,
};
use reqwest::Method;
use serde_json::{Value, json};
use store::Table;
use test_support::{ForeignCa, TestDatabase, backend_tests};

use crate::helpers::TestApp;

backend_tests!(
    uploads_are_checked_and_refusals_write_nothing,
    uploads_belong_to_their_account,
    associations_name_uploaded_cas_and_block_their_deletion,
    the_upload_limit_is_enforced,
);

fn collection(app: &TestApp) -> String {
    format!("/accounts/{}/mtls_certificates", app.account_id)
}

async fn upload(app: &TestApp, token: &str, body: Value) -> crate::helpers::Answer {
    app.call_as(token, Method::POST, &collection(app), Some(body))
        .await
}

async fn audited(app: &TestApp, action: AuditAction) -> usize {
    app.store
        .audit_events(None, 0, 100_000)
        .await
        .unwrap()
        .iter()
        .filter(|event| event.entry.action == action)
        .count()
}

async fn uploads_are_checked_and_refusals_write_nothing(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let root = ForeignCa::root("Corporate Root");
    let intermediate = root.intermediate("Corporate Devices");
    let (leaf, leaf_key) = intermediate.client("device");
    let expired = ForeignCa::expired_root("Old Root");
    let refused: [(Value, u64); 9] = [
        (json!({"ca": true, "certificates": leaf}), 1108),
        (json!({"ca": true, "certificates": expired.pem}), 1108),
        (json!({"ca": true, "certificates": "garbage"}), 1108),
        (
            json!({"ca": true, "certificates": format!("{}{}", root.pem, intermediate.pem)}),
            1108,
        ),
        (
            json!({"ca": true, "certificates": format!("{}{leaf_key}", root.pem)}),
            1108,
        ),
        (
            json!({"ca": false, "certificates": leaf, "private_key": leaf_key}),
            1106,
        ),
        (
            json!({"ca": true, "certificates": root.pem, "name": ""}),
            1106,
        ),
        (json!({"certificates": root.pem}), 1005),
        (json!({"ca": true, "certificates": 7}), 1005),
    ];
    for (body, code) in refused {
        upload(&app, &app.token, body.clone())
            .await
            .assert_error(400, code);
    }
    assert_eq!(
        app.store.count_rows(Table::MtlsCertificates).await.unwrap(),
        0
    );
    assert_eq!(audited(&app, AuditAction::MtlsCertificateUploaded).await, 0);

    let chain = format!("{}{}", intermediate.pem, root.pem);
    let answer = upload(
        &app,
        &app.token,
        json!({"ca": true, "certificates": chain, "name": "corp"}),
    )
    .await;
    let stored = answer.assert_ok().clone();
    assert_eq!(stored["certificates"], chain);
    assert_eq!(stored["issuer"], "CN=Corporate Root");
    assert_eq!(stored["type"], "custom");
    assert_eq!(stored["ca"], true);
    let id = stored["id"].as_str().unwrap();
    let item = format!("{}/{id}", collection(&app));
    assert_eq!(
        app.call(Method::GET, &item, None).await.assert_ok(),
        &stored
    );
    let listed = app.call(Method::GET, &collection(&app), None).await;
    assert_eq!(listed.assert_ok(), &json!([stored]));
    upload(
        &app,
        &app.token,
        json!({"ca": true, "certificates": root.pem, "name": "corp"}),
    )
    .await
    .assert_error(400, 1106);
    assert_eq!(audited(&app, AuditAction::MtlsCertificateUploaded).await, 1);
}

async fn uploads_belong_to_their_account(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let root = ForeignCa::root("Corporate Root");
    let stored = upload(
        &app,
        &app.token,
        json!({"ca": true, "certificates": root.pem}),
    )
    .await
    .assert_ok()
    .clone();
    let id = stored["id"].as_str().unwrap();
    let item = format!("{}/{id}", collection(&app));

    // Another account: its own list is empty, ours is out of reach, our id names nothing there.
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
    app.call_as(&outsider, Method::GET, &item, None)
        .await
        .assert_error(403, 9109);
    let theirs = format!("/accounts/{}/mtls_certificates", other.id);
    assert_eq!(
        app.call_as(&outsider, Method::GET, &theirs, None)
            .await
            .assert_ok(),
        &json!([])
    );
    let via_theirs = app
        .call_as(&outsider, Method::GET, &format!("{theirs}/{id}"), None)
        .await;
    let missing = app
        .call_as(
            &outsider,
            Method::GET,
            &format!("{theirs}/{}", uuid::Uuid::new_v4()),
            None,
        )
        .await;
    via_theirs.assert_error(404, 1107);
    missing.assert_error(404, 1107);
    assert_eq!(via_theirs.body, missing.body);
    let hostnames = format!("/zones/{other_zone}/certificate_authorities/hostname_associations");
    let foreign = app
        .call_as(
            &outsider,
            Method::PUT,
            &hostnames,
            Some(json!({"hostnames": ["a.other.example"], "mtls_certificate_id": id})),
        )
        .await;
    foreign.assert_error(400, 1105);
    let unknown = app
        .call_as(&outsider, Method::PUT, &hostnames, Some(json!({"hostnames": ["a.other.example"], "mtls_certificate_id": uuid::Uuid::new_v4().to_string()})))
        .await;
    unknown.assert_error(400, 1105);

    // Zone-scoped credentials never reach account resources; read tokens cannot write.
    let zone_token = app
        .token(
            TokenTarget::Zones(vec![app.zone_id.clone()]),
            Permission::Edit,
        )
        .await;
    app.call_as(&zone_token, Method::GET, &collection(&app), None)
        .await
        .assert_error(403, 9109);
    let reader = app
        .token(
            TokenTarget::Account(app.account_id.clone()),
            Permission::Read,
        )
        .await;
    app.call_as(&reader, Method::GET, &item, None)
        .await
        .assert_ok();
    upload(&app, &reader, json!({"ca": true, "certificates": root.pem}))
        .await
        .assert_error(403, 9110);
    app.call_as(&reader, Method::DELETE, &item, None)
        .await
        .assert_error(403, 9110);
    assert_eq!(
        app.store.count_rows(Table::MtlsCertificates).await.unwrap(),
        1
    );
}

async fn associations_name_uploaded_cas_and_block_their_deletion(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let zone_name = app
        .store
        .get_zone(&app.zone_id)
        .await
        .unwrap()
        .unwrap()
        .name;
    let root = ForeignCa::root("Corporate Root");
    let stored = upload(
        &app,
        &app.token,
        json!({"ca": true, "certificates": root.pem}),
    )
    .await
    .assert_ok()
    .clone();
    let id = stored["id"].as_str().unwrap();
    let item = format!("{}/{id}", collection(&app));
    let hostnames = format!(
        "/zones/{}/certificate_authorities/hostname_associations",
        app.zone_id
    );
    let byo = format!("byo.{zone_name}");
    let managed = format!("managed.{zone_name}");
    app.call(
        Method::PUT,
        &hostnames,
        Some(json!({"hostnames": [byo], "mtls_certificate_id": id})),
    )
    .await
    .assert_ok();
    app.call(
        Method::PUT,
        &hostnames,
        Some(json!({"hostnames": [managed]})),
    )
    .await
    .assert_ok();
    let by_upload = app
        .call(
            Method::GET,
            &format!("{hostnames}?mtls_certificate_id={id}"),
            None,
        )
        .await;
    assert_eq!(by_upload.assert_ok(), &json!({"hostnames": [byo]}));
    let by_managed = app.call(Method::GET, &hostnames, None).await;
    assert_eq!(by_managed.assert_ok(), &json!({"hostnames": [managed]}));
    let used = app
        .call(Method::GET, &format!("{item}/associations"), None)
        .await;
    assert_eq!(
        used.assert_ok(),
        &json!([{"service": "gateway", "status": "active", "hostname": byo, "zone_id": app.zone_id.to_string()}])
    );
    let refused = app.call(Method::DELETE, &item, None).await;
    refused.assert_error(400, 1109);
    assert!(
        refused.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains(&byo)
    );
    app.call(Method::GET, &item, None).await.assert_ok();

    app.call(
        Method::PUT,
        &hostnames,
        Some(json!({"hostnames": [], "mtls_certificate_id": id})),
    )
    .await
    .assert_ok();
    assert_eq!(
        app.call(Method::DELETE, &item, None).await.assert_ok(),
        &stored
    );
    app.call(Method::GET, &item, None)
        .await
        .assert_error(404, 1107);
    app.call(Method::DELETE, &item, None)
        .await
        .assert_error(404, 1107);
    assert_eq!(audited(&app, AuditAction::MtlsCertificateDeleted).await, 1);
}

async fn the_upload_limit_is_enforced(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let root = ForeignCa::root("Corporate Root");
    for _ in 0..MAX_MTLS_CERTIFICATES_PER_ACCOUNT {
        upload(
            &app,
            &app.token,
            json!({"ca": true, "certificates": root.pem}),
        )
        .await
        .assert_ok();
    }
    upload(
        &app,
        &app.token,
        json!({"ca": true, "certificates": root.pem}),
    )
    .await
    .assert_error(400, 1489);
    assert_eq!(
        app.store.count_rows(Table::MtlsCertificates).await.unwrap(),
        u64::from(MAX_MTLS_CERTIFICATES_PER_ACCOUNT)
    );
}
