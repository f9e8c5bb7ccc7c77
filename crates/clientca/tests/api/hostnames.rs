//! Hostname associations: the hostnames where the zone's client certificates are required.

use reqwest::Method;
use serde_json::json;
use test_support::{TestDatabase, backend_tests};

use crate::helpers::TestApp;

backend_tests!(hostname_associations_are_replaced_and_validated);

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
