//! Listing: order, pages, per_page clamping, limit/offset windows, status filter.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{Value, json};
use test_support::{TestDatabase, backend_tests};

use crate::helpers::{TestApp, p256_csr};

backend_tests!(
    paging_yields_each_certificate_exactly_once,
    per_page_is_clamped_and_float_pages_are_accepted,
    limit_and_offset_cut_the_set_before_paging,
    status_filter_selects_by_state,
);

async fn issue_many(app: &TestApp, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..count {
        ids.push(
            app.issue(&p256_csr(&format!("device-{i}"))).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    ids.reverse(); // newest first
    ids
}

fn ids(result: &Value) -> Vec<String> {
    result
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

async fn paging_yields_each_certificate_exactly_once(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let expected = issue_many(&app, 23).await;
    let mut seen = Vec::new();
    let mut page = 1;
    loop {
        let path = format!(
            "{}?per_page=5&page={page}",
            app.certificates_path(&app.zone_id)
        );
        let answer = app.call(Method::GET, &path, None).await;
        let result = answer.assert_ok().clone();
        let info = &answer.body["result_info"];
        assert_eq!(info["page"], page);
        assert_eq!(info["per_page"], 5);
        assert_eq!(info["total_count"], 23);
        assert_eq!(info["total_pages"], 5);
        assert_eq!(info["count"], result.as_array().unwrap().len());
        if result.as_array().unwrap().is_empty() {
            break;
        }
        seen.extend(ids(&result));
        page += 1;
        assert!(page < 20, "paging never ended");
    }
    assert_eq!(page, 6, "the page after the last is empty, not an error");
    assert_eq!(seen, expected, "newest first, each exactly once");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 23);
}

async fn per_page_is_clamped_and_float_pages_are_accepted(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let expected = issue_many(&app, 7).await;
    let small = app.list("per_page=1").await;
    assert_eq!(ids(small.assert_ok()), expected[..5]);
    assert_eq!(small.body["result_info"]["per_page"], 5);
    let zero = app.list("per_page=0").await;
    assert_eq!(zero.body["result_info"]["per_page"], 5);
    let big = app.list("per_page=1000").await;
    assert_eq!(big.body["result_info"]["per_page"], 50);
    assert_eq!(ids(big.assert_ok()), expected);
    let default = app.list("").await;
    assert_eq!(default.body["result_info"]["per_page"], 20);
    let float = app.list("page=2.0&per_page=5.0").await;
    assert_eq!(ids(float.assert_ok()), expected[5..]);
    let past_end = app.list("page=99").await;
    assert_eq!(past_end.assert_ok(), &json!([]));
}

async fn limit_and_offset_cut_the_set_before_paging(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let expected = issue_many(&app, 15).await;
    let path = format!(
        "{}?offset=3&limit=10&per_page=5&page=2",
        app.certificates_path(&app.zone_id)
    );
    let answer = app.call(Method::GET, &path, None).await;
    assert_eq!(ids(answer.assert_ok()), expected[8..13]);
    assert_eq!(answer.body["result_info"]["total_count"], 10);
    assert_eq!(answer.body["result_info"]["total_pages"], 2);
    let third = format!(
        "{}?offset=3&limit=10&per_page=5&page=3",
        app.certificates_path(&app.zone_id)
    );
    assert_eq!(
        app.call(Method::GET, &third, None).await.assert_ok(),
        &json!([])
    );
    let beyond = format!("{}?offset=100", app.certificates_path(&app.zone_id));
    let answer = app.call(Method::GET, &beyond, None).await;
    assert_eq!(answer.assert_ok(), &json!([]));
    assert_eq!(answer.body["result_info"]["total_count"], 0);
    let zero = format!("{}?limit=0", app.certificates_path(&app.zone_id));
    assert_eq!(
        app.call(Method::GET, &zero, None).await.assert_ok(),
        &json!([])
    );
}

async fn status_filter_selects_by_state(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let all = issue_many(&app, 6).await;
    for id in &all[..2] {
        let path = format!("{}/{id}", app.certificates_path(&app.zone_id));
        app.call(Method::DELETE, &path, None).await.assert_ok();
    }
    assert_eq!(
        ids(app.list("status=pending_revocation").await.assert_ok()),
        all[..2]
    );
    assert_eq!(ids(app.list("status=active").await.assert_ok()), all[2..]);
    assert_eq!(ids(app.list("status=all").await.assert_ok()), all);
    assert_eq!(app.list("status=revoked").await.assert_ok(), &json!([]));
    app.publish().await;
    let revoked = app.list("status=revoked").await;
    assert_eq!(ids(revoked.assert_ok()), all[..2]);
    assert_eq!(revoked.body["result_info"]["total_count"], 2);
    assert_eq!(
        app.list("status=pending_reactivation").await.assert_ok(),
        &json!([])
    );
}
