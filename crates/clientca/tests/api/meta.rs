//! Health and the served OpenAPI document.

use test_support::{TestDatabase, backend_tests};

use crate::helpers::{TestApp, answer};

backend_tests!(openapi_and_health_are_served);

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
