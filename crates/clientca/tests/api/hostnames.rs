//! Hostname associations: the hostnames where the zone's client certificates are required.

use reqwest::Method;
use serde_json::json;
use test_support::{TestDatabase, backend_tests};

use authority::{Actor, ActorKind, Permission, TokenTarget};

use crate::helpers::TestApp;

backend_tests!(
    hostname_associations_are_replaced_and_validated,
    a_zone_claims_only_its_own_names_and_none_another_account_holds,
);

async fn hostname_associations_are_replaced_and_validated(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let path = format!(
        "/zones/{}/certificate_authorities/hostname_associations",
        app.zone_id
    );
    assert_eq!(
        app.call(Method::GET, &path, None).await.assert_ok(),
        &json!({"hostnames": []})
    );

    let body = json!({"hostnames": ["API.example.com", "mtls.example.com", "api.example.com"]});
    let put = app.call(Method::PUT, &path, Some(body)).await;
    assert_eq!(
        put.assert_ok(),
        &json!({"hostnames": ["api.example.com", "mtls.example.com"]})
    );
    assert_eq!(
        app.call(Method::GET, &path, None).await.assert_ok(),
        put.result()
    );

    let bad = app
        .call(
            Method::PUT,
            &path,
            Some(json!({"hostnames": ["not a host"]})),
        )
        .await;
    bad.assert_error(400, 1104);
    let wrong_ca = json!({"hostnames": ["a.example.com"], "mtls_certificate_id": "too-short"});
    app.call(Method::PUT, &path, Some(wrong_ca))
        .await
        .assert_error(400, 1105);
    let unknown_ca = json!({"hostnames": ["a.example.com"], "mtls_certificate_id": uuid::Uuid::new_v4().to_string()});
    app.call(Method::PUT, &path, Some(unknown_ca))
        .await
        .assert_error(400, 1105);
    assert_eq!(
        app.call(Method::GET, &path, None).await.assert_ok(),
        put.result(),
        "refused PUTs changed nothing"
    );

    let ca_id = app.ca_id().await;
    let explicit = json!({"hostnames": ["mtls.example.com"], "mtls_certificate_id": ca_id});
    assert_eq!(
        app.call(Method::PUT, &path, Some(explicit))
            .await
            .assert_ok(),
        &json!({"hostnames": ["mtls.example.com"]})
    );
    let with_ca = format!("{path}?mtls_certificate_id={ca_id}");
    assert_eq!(
        app.call(Method::GET, &with_ca, None).await.assert_ok(),
        &json!({"hostnames": ["mtls.example.com"]})
    );
    let other_ca = format!("{path}?mtls_certificate_id={}", uuid::Uuid::new_v4());
    app.call(Method::GET, &other_ca, None)
        .await
        .assert_error(400, 1105);
}

async fn a_zone_claims_only_its_own_names_and_none_another_account_holds(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let path = |zone: &dyn std::fmt::Display| {
        format!("/zones/{zone}/certificate_authorities/hostname_associations")
    };
    let ours = path(&app.zone_id);
    let put = |hostnames: serde_json::Value| json!({ "hostnames": hostnames });
    app.call(
        Method::PUT,
        &ours,
        Some(put(json!(["mtls.example.com", "*.dev.example.com"]))),
    )
    .await
    .assert_ok();
    // Outside the zone (example.com), an IP literal, or a second wildcard label: refused.
    for foreign in [
        "www.google.com",
        "badexample.com",
        "999.999.999.999",
        "10.0.0.1",
        "*.*.example.com",
    ] {
        app.call(Method::PUT, &ours, Some(put(json!([foreign]))))
            .await
            .assert_error(400, 1104);
    }
    // A body without `hostnames` no longer removes every association.
    app.call(Method::PUT, &ours, Some(json!({})))
        .await
        .assert_error(400, 1005);
    assert_eq!(
        app.call(Method::GET, &ours, None).await.assert_ok(),
        &json!({"hostnames": ["*.dev.example.com", "mtls.example.com"]}),
        "refused PUTs changed nothing"
    );

    // Another account with a zone of the same name cannot take a hostname this one holds.
    let authority = &app.server.authority;
    let cli = Actor::new(ActorKind::Cli);
    let other = authority
        .create_account("tenant b", None, cli.clone())
        .await
        .unwrap();
    let theirs = authority
        .create_zone("example.com", Some(&other.id), cli)
        .await
        .unwrap();
    let their_token = app
        .token(TokenTarget::Account(other.id.clone()), Permission::Edit)
        .await;
    let taken = app
        .call_as(
            &their_token,
            Method::PUT,
            &path(&theirs.id),
            Some(put(json!(["api.example.com", "mtls.example.com"]))),
        )
        .await;
    taken.assert_error(400, 1104);
    assert!(
        taken.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("mtls.example.com"),
        "{}",
        taken.body
    );
    app.call_as(&their_token, Method::GET, &path(&theirs.id), None)
        .await
        .assert_ok();
    // Names nobody else holds are theirs to take; a second zone of ours claims its own name.
    app.call_as(
        &their_token,
        Method::PUT,
        &path(&theirs.id),
        Some(put(json!(["api.example.com"]))),
    )
    .await
    .assert_ok();
    let second = app.new_zone(Some(&app.account_id)).await;
    let second_name_path = path(&second);
    app.call(
        Method::PUT,
        &second_name_path,
        Some(put(json!(["other.example"]))),
    )
    .await
    .assert_ok();
}
