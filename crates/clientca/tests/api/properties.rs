//! Property tests over real HTTP: generated JSON bodies, query strings, path ids and OCSP
//! requests never get a 5xx or a non-envelope answer, and never change anything.
//!
//! proptest drives a synchronous runner; each case blocks on the async client in place.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reqwest::Method;
use serde_json::{Map, Value, json};
use test_support::{TestDatabase, backend_tests};

use crate::helpers::{Answer, TestApp, answer, p256_csr};

backend_tests!(
    generated_create_bodies_are_refused_cleanly,
    generated_patch_bodies_leave_the_certificate_alone,
    generated_list_queries_answer_a_page_or_a_400,
    generated_ids_reveal_nothing_and_change_nothing,
    generated_ocsp_requests_get_ocsp_failures,
);

/// Cases per property in CI; `PROPTEST_CASES=N` runs more locally.
const CASES: u32 = 256;

async fn spawn(db: TestDatabase) -> TestApp {
    TestApp::spawn_configured(db, |options| {
        options.api.rate_limits.anonymous = api::Rate {
            per_second: 0,
            burst: 0,
        };
    })
    .await
}

/// Run `check` on `CASES` generated values, blocking this (multi-threaded) runtime's worker.
fn run_cases<S: Strategy>(strategy: S, check: impl Fn(S::Value))
where
    S::Value: std::fmt::Debug,
{
    let handle = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| {
        let mut runner = TestRunner::new(Config {
            cases: std::env::var("PROPTEST_CASES")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(CASES),
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&strategy, |value| {
                let _guard = handle.enter();
                check(value);
                Ok(())
            })
            .unwrap();
    });
}

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Handle::current().block_on(future)
}

/// Any JSON document, nested a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(".{0,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Bodies shaped like the real ones, with hostile values in the known fields.
fn shaped_body(fields: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let hostile_csr = prop_oneof![
        json_value(),
        "[A-Za-z0-9+/=\n]{0,300}".prop_map(|body| Value::from(format!(
            "-----BEGIN CERTIFICATE REQUEST-----\n{body}\n-----END CERTIFICATE REQUEST-----\n"
        ))),
    ];
    let field_value = prop_oneof![json_value(), hostile_csr];
    prop::collection::vec(
        (prop::sample::select(fields), field_value),
        0..=fields.len(),
    )
    .prop_map(|pairs| {
        let map: Map<String, Value> = pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        Value::Object(map)
    })
}

#[derive(Debug)]
enum Body {
    Json(Value),
    Raw(Vec<u8>),
}

fn body(fields: &'static [&'static str]) -> impl Strategy<Value = Body> {
    prop_oneof![
        json_value().prop_map(Body::Json),
        shaped_body(fields).prop_map(Body::Json),
        prop::collection::vec(any::<u8>(), 0..256).prop_map(Body::Raw),
    ]
}

async fn send(app: &TestApp, method: Method, path: &str, body: &Body) -> Answer {
    let request = app
        .client
        .request(method, app.url(path))
        .bearer_auth(&app.token)
        .header("content-type", "application/json");
    let request = match body {
        Body::Json(value) => request.body(serde_json::to_vec(value).unwrap()),
        Body::Raw(bytes) => request.body(bytes.clone()),
    };
    answer(request.send().await.expect("request sent")).await
}

/// A Cloudflare-style client error: 4xx, the envelope, one or more coded errors.
#[track_caller]
fn assert_refused(answer: &Answer, input: &dyn std::fmt::Debug) {
    assert!(
        answer.status.is_client_error(),
        "{input:?} → {}: {}",
        answer.status,
        answer.body
    );
    assert_eq!(answer.content_type, "application/json", "{input:?}");
    assert_eq!(answer.body["success"], false, "{input:?}");
    assert_eq!(answer.body["result"], Value::Null, "{input:?}");
    let errors = answer.body["errors"].as_array().expect("errors array");
    assert!(!errors.is_empty(), "{input:?}");
    for error in errors {
        assert!(error["code"].is_u64(), "{input:?}: {error}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

async fn generated_create_bodies_are_refused_cleanly(db: TestDatabase) {
    let app = spawn(db).await;
    let path = app.certificates_path(&app.zone_id);
    run_cases(body(&["csr", "validity_days", "name"]), |body| {
        let answer = block_on(send(&app, Method::POST, &path, &body));
        assert_refused(&answer, &body);
    });
    assert_eq!(app.count_created_events().await, 0);
    let listed = app.list("").await;
    assert_eq!(listed.body["result_info"]["total_count"], 0);
}

async fn generated_patch_bodies_leave_the_certificate_alone(db: TestDatabase) {
    let app = spawn(db).await;
    let certificate = app.issue(&p256_csr("patched")).await;
    let path = format!(
        "{}/{}",
        app.certificates_path(&app.zone_id),
        certificate["id"].as_str().unwrap()
    );
    run_cases(body(&["reactivate", "status", "state"]), |body| {
        let answer = block_on(send(&app, Method::PATCH, &path, &body));
        // Reactivating an active certificate is a no-op; a body that is not JSON is refused.
        if answer.status.is_success() {
            assert_eq!(answer.result(), &certificate, "{body:?}");
        } else {
            assert_refused(&answer, &body);
        }
    });
    let after = app.call(Method::GET, &path, None).await;
    assert_eq!(after.assert_ok(), &certificate);
}

/// Keys the list endpoint knows, and some it does not, with hostile values.
fn list_query() -> impl Strategy<Value = Vec<(String, String)>> {
    let key = prop_oneof![
        prop::sample::select(vec![
            "page",
            "per_page",
            "limit",
            "offset",
            "status",
            "direction",
            "order"
        ])
        .prop_map(String::from),
        ".{0,8}",
    ];
    let value = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        (0u32..120).prop_map(|n| n.to_string()),
        prop::sample::select(vec![
            "active",
            "pending_revocation",
            "revoked",
            "all",
            "asc",
            "desc",
            "",
            "1e3",
            "0x10",
            "' OR 1=1 --",
            "%00",
        ])
        .prop_map(String::from),
        ".{0,24}",
    ];
    prop::collection::vec((key, value), 0..5)
}

async fn generated_list_queries_answer_a_page_or_a_400(db: TestDatabase) {
    let app = spawn(db).await;
    for n in 0..3 {
        app.issue(&p256_csr(&format!("listed-{n}"))).await;
    }
    let url = app.url(&app.certificates_path(&app.zone_id));
    let audit_url = app.url(&format!("/accounts/{}/audit_logs", app.account_id));
    run_cases(list_query(), |query| {
        for url in [&url, &audit_url] {
            let query_string: Vec<String> = query
                .iter()
                .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
                .collect();
            let request = app
                .client
                .get(format!("{url}?{}", query_string.join("&")))
                .bearer_auth(&app.token);
            let answer = block_on(async { answer(request.send().await.unwrap()).await });
            if answer.status.is_success() {
                let page = answer.result().as_array().expect("a page is an array");
                let info = &answer.body["result_info"];
                assert_eq!(info["count"], page.len(), "{query:?}");
                assert!(page.len() as u64 <= info["per_page"].as_u64().unwrap());
                assert!(info["total_count"].as_u64().unwrap() >= page.len() as u64);
            } else {
                assert_eq!(answer.status, 400, "{query:?}: {}", answer.body);
                assert_refused(&answer, &query);
            }
        }
    });
    assert_eq!(app.list("").await.body["result_info"]["total_count"], 3);
}

async fn generated_ids_reveal_nothing_and_change_nothing(db: TestDatabase) {
    let app = spawn(db).await;
    let certificate = app.issue(&p256_csr("kept")).await;
    let id = certificate["id"].as_str().unwrap().to_string();
    let hostile = prop_oneof![
        ".{1,40}".prop_map(String::into_bytes),
        "[./%a-f0-9]{1,40}".prop_map(String::into_bytes),
        // Not UTF-8 once decoded.
        prop::collection::vec(any::<u8>(), 1..24),
        Just(b"../../etc/passwd".to_vec()),
        Just(b"1' OR '1'='1".to_vec()),
        Just("\u{202e}\u{0}\u{feff}".as_bytes().to_vec()),
    ];
    let methods = prop::sample::select(vec![Method::GET, Method::PATCH, Method::DELETE]);
    run_cases(
        (hostile, any::<bool>(), methods),
        |(raw, in_zone, method)| {
            let encoded = percent_encode(&raw);
            let path = if in_zone {
                format!("{}/{encoded}", app.certificates_path(&app.zone_id))
            } else {
                format!("{}/{id}", app.certificates_path(&encoded))
            };
            let answer = block_on(send(&app, method.clone(), &path, &Body::Json(json!({}))));
            assert_refused(&answer, &(&raw, &method));
            // Unknown zones and certificates look the same as foreign ones.
            assert!(
                matches!(answer.status.as_u16(), 400 | 403 | 404),
                "{raw:?} {method}: {}",
                answer.status
            );
        },
    );
    let after = app
        .call(
            Method::GET,
            &format!("{}/{id}", app.certificates_path(&app.zone_id)),
            None,
        )
        .await;
    assert_eq!(after.assert_ok(), &certificate);
}

async fn generated_ocsp_requests_get_ocsp_failures(db: TestDatabase) {
    let app = spawn(db).await;
    app.issue(&p256_csr("the CA exists once it has issued"))
        .await;
    let ca_id = app.ca_id().await;
    let malformed = pki::ocsp_failure(pki::OcspFailure::MalformedRequest);
    let unauthorized = pki::ocsp_failure(pki::OcspFailure::Unauthorized);
    let request = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512).prop_map(Ok),
        "[A-Za-z0-9+/=_%-]{0,200}".prop_map(Err),
    ];
    let post_url = app.public_url(&format!("/ca/{ca_id}/ocsp"));
    run_cases(request, |request| {
        let response = block_on(async {
            match &request {
                Ok(bytes) => app.client.post(&post_url).body(bytes.clone()),
                Err(path) => app.client.get(format!("{post_url}/{path}")),
            }
            .header("content-type", "application/ocsp-request")
            .send()
            .await
            .unwrap()
        });
        assert_eq!(response.status(), 200, "{request:?}");
        assert_eq!(
            response.headers()["content-type"],
            "application/ocsp-response"
        );
        let body = block_on(response.bytes()).unwrap();
        assert!(
            body == malformed || body == unauthorized,
            "{request:?} → {body:?}"
        );
    });
}

/// Every byte outside RFC 3986's unreserved set as `%XX`, so the id arrives as one segment.
fn percent_encode(raw: impl AsRef<[u8]>) -> String {
    raw.as_ref()
        .iter()
        .copied()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
