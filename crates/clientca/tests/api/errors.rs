//! Bad input: each a clear Cloudflare-style 4xx, and nothing written.

use reqwest::Method;
use serde_json::{Value, json};
use test_support::{TestDatabase, backend_tests};

use crate::helpers::{TestApp, answer, fixture, p256_csr};

backend_tests!(
    bad_csrs_are_refused_and_nothing_is_written,
    bad_validity_days_and_missing_fields_are_refused,
    malformed_bodies_get_json_errors,
    unknown_routes_and_wrong_methods_get_json_errors,
    bad_list_parameters_are_400,
);

async fn assert_nothing_written(app: &TestApp) {
    assert_eq!(app.count_created_events().await, 0);
    let listed = app
        .call(Method::GET, &app.certificates_path(&app.zone_id), None)
        .await;
    assert_eq!(listed.assert_ok(), &json!([]));
    assert_eq!(listed.body["result_info"]["total_count"], 0);
}

async fn bad_csrs_are_refused_and_nothing_is_written(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let good = p256_csr("device");
    let der = pem::parse(&good).unwrap().into_contents();
    let mut broken = der.clone();
    let last = broken.len() - 1;
    broken[last] ^= 0x55;
    let broken_signature = pki::to_pem("CERTIFICATE REQUEST", &broken);
    let truncated = pki::to_pem("CERTIFICATE REQUEST", &der[..der.len() - 10]);
    let cases = [
        ("garbage", "this is not a CSR".to_string()),
        ("empty", String::new()),
        ("whitespace", "  \n ".to_string()),
        ("truncated PEM", good[..good.len() / 2].to_string()),
        ("truncated DER", truncated),
        ("broken signature", broken_signature),
        ("SHA-1", fixture("rsa2048-sha1.csr")),
        ("RSA-1024", fixture("rsa1024.csr")),
        ("P-521", fixture("p521.csr")),
        ("no CN", fixture("rsa2048-no-cn.csr")),
        ("two PEM blocks", format!("{good}{good}")),
        (
            "certificate instead of CSR",
            good.replace("CERTIFICATE REQUEST", "CERTIFICATE"),
        ),
    ];
    for (what, csr) in cases {
        let answer = app.create(&csr, 30).await;
        assert_eq!(answer.status, 400, "{what}: {}", answer.body);
        answer.assert_error(400, 1100);
    }
    assert_nothing_written(&app).await;
}

async fn bad_validity_days_and_missing_fields_are_refused(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let csr = p256_csr("device");
    let path = app.certificates_path(&app.zone_id);
    for (validity, code) in [
        (json!(0), 1101),
        (json!(-1), 1101),
        (json!(3651), 1101),
        (json!(1_000_000_000_000_i64), 1101),
        (json!(1e300), 1101),
        (json!("10"), 1101),
        (json!(1.5), 1101),
        (json!(true), 1101),
        (Value::Null, 1005),
    ] {
        let body = json!({"csr": csr, "validity_days": validity});
        let answer = app.call(Method::POST, &path, Some(body)).await;
        answer.assert_error(400, code);
    }
    app.call(Method::POST, &path, Some(json!({"csr": csr})))
        .await
        .assert_error(400, 1005);
    app.call(Method::POST, &path, Some(json!({"validity_days": 30})))
        .await
        .assert_error(400, 1005);
    app.call(
        Method::POST,
        &path,
        Some(json!({"csr": 42, "validity_days": 30})),
    )
    .await
    .assert_error(400, 1005);
    app.call(Method::POST, &path, Some(json!({})))
        .await
        .assert_error(400, 1005);
    assert_nothing_written(&app).await;
}

async fn malformed_bodies_get_json_errors(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let url = app.url(&app.certificates_path(&app.zone_id));
    let post = |body: Vec<u8>, content_type: Option<&'static str>| {
        let mut request = app.client.post(&url).bearer_auth(&app.token).body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        async move { answer(request.send().await.unwrap()).await }
    };
    post(b"{not json".to_vec(), Some("application/json"))
        .await
        .assert_error(400, 1001);
    post(b"[1, 2]".to_vec(), Some("application/json"))
        .await
        .assert_error(400, 1001);
    post(b"".to_vec(), Some("application/json"))
        .await
        .assert_error(400, 1001);
    post(b"\xff\xfe".to_vec(), Some("application/json"))
        .await
        .assert_error(400, 1001);
    post(
        br#"{"csr":"x","validity_days":1}"#.to_vec(),
        Some("text/plain"),
    )
    .await
    .assert_error(415, 1002);
    post(br#"{"csr":"x","validity_days":1}"#.to_vec(), None)
        .await
        .assert_error(415, 1002);
    let huge =
        serde_json::to_vec(&json!({"csr": "A".repeat(70 * 1024), "validity_days": 1})).unwrap();
    post(huge, Some("application/json"))
        .await
        .assert_error(413, 1003);
    // Content-Type with parameters is fine.
    let body = serde_json::to_vec(&json!({"csr": p256_csr("ok"), "validity_days": 1})).unwrap();
    post(body, Some("application/json; charset=utf-8"))
        .await
        .assert_ok();
}

async fn unknown_routes_and_wrong_methods_get_json_errors(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let path = app.certificates_path(&app.zone_id);
    app.call(Method::GET, "/nope", None)
        .await
        .assert_error(404, 7000);
    app.call(Method::GET, &format!("{path}/x/y"), None)
        .await
        .assert_error(404, 7000);
    let outside = app
        .client
        .get(format!("http://{}/elsewhere", app.server.addr))
        .send()
        .await
        .unwrap();
    answer(outside).await.assert_error(404, 7000);
    app.call(Method::PUT, &path, Some(json!({})))
        .await
        .assert_error(405, 7001);
    app.call(Method::POST, &format!("{path}/some-id"), Some(json!({})))
        .await
        .assert_error(405, 7001);
    // SDK bookkeeping headers are ignored.
    let listed = app
        .client
        .get(app.url(&path))
        .bearer_auth(&app.token)
        .header("X-Stainless-Lang", "python")
        .header("x-stainless-retry-count", "0")
        .header("api-version", "2024-01-01")
        .send()
        .await
        .unwrap();
    answer(listed).await.assert_ok();
}

async fn bad_list_parameters_are_400(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let path = app.certificates_path(&app.zone_id);
    for query in [
        "status=bogus",
        "status=ACTIVE",
        "page=0",
        "page=abc",
        "page=1.5",
        "page=-1",
        "per_page=-5",
        "per_page=ten",
        "limit=-1",
        "offset=-3",
        "offset=1e999",
    ] {
        app.call(Method::GET, &format!("{path}?{query}"), None)
            .await
            .assert_error(400, 1004);
    }
}
