//! Health, the served OpenAPI document, and request ids.

use std::time::Duration;

use test_support::{TestDatabase, backend_tests};

use crate::helpers::{TestApp, answer};

backend_tests!(
    openapi_and_health_are_served,
    health_fails_once_publication_passes_stop,
    every_answer_carries_a_request_id,
);

async fn every_answer_carries_a_request_id(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let id_of = |response: &reqwest::Response| {
        response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_string()
    };
    let certificates = app.url(&app.certificates_path(&app.zone_id));
    let mut seen = std::collections::HashSet::new();
    for (request, status) in [
        (app.client.get(&certificates).bearer_auth(&app.token), 200),
        (app.client.get(&certificates), 400),
        (app.client.get(app.url("/no/such/route")), 404),
        (app.client.get(app.public_url("/ca/unknown.pem")), 404),
        (app.client.get(app.public_url("/healthz")), 200),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status);
        let id = id_of(&response);
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        assert!(seen.insert(id), "ids are unique");
    }
    // A caller's own correlation id comes back; one that is not a sane token is replaced.
    let response = app
        .client
        .get(&certificates)
        .bearer_auth(&app.token)
        .header("x-request-id", "support-ticket-42")
        .send()
        .await
        .unwrap();
    assert_eq!(id_of(&response), "support-ticket-42");
    let response = app
        .client
        .get(&certificates)
        .header("x-request-id", "x".repeat(500))
        .send()
        .await
        .unwrap();
    assert!(uuid::Uuid::parse_str(&id_of(&response)).is_ok());
}

async fn openapi_and_health_are_served(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let served = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "application/json");
    let served: serde_json::Value = served.json().await.unwrap();
    assert_eq!(served, serde_json::to_value(api::openapi()).unwrap());
    let health = app
        .client
        .get(format!("http://{}/healthz", app.server.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let health: serde_json::Value = health.json().await.unwrap();
    assert_eq!(health["status"], "ok");
    // The document is public; everything else needs credentials.
    let anonymous = app
        .client
        .get(app.url(&app.certificates_path(&app.zone_id)))
        .send()
        .await
        .unwrap();
    answer(anonymous).await.assert_error(400, 9106);
}

/// A worker that stopped publishing (dead, or stuck) leaves revocations pending forever: health
/// must say so rather than "ok".
async fn health_fails_once_publication_passes_stop(db: TestDatabase) {
    // The worker passes once at start, then not for an hour; health tolerates 400 ms.
    let app = TestApp::spawn_configured(db, |options| {
        options.publication_stale_after = Some(Duration::from_millis(400));
    })
    .await;
    let health = || async {
        let response = app
            .client
            .get(format!("http://{}/healthz", app.server.addr))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json::<serde_json::Value>().await.unwrap())
    };
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (status, body) = health().await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["publication_stale"], true);
    assert_eq!(body["database_ok"], true);

    app.publish().await;
    let (status, body) = health().await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["publication_stale"], false);
    assert_eq!(body["last_publication_seconds_ago"], 0);
}
