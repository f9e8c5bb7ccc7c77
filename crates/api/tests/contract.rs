//! The API contract cannot drift silently: the OpenAPI document is compared with the committed
//! snapshot, and the error-code table with README.md.
//!
//! After an intended API change: `UPDATE_SNAPSHOTS=1 cargo test -p api --test contract`, then
//! review the diff of `crates/api/openapi.json`.

use std::path::PathBuf;

use api::error::ErrorCode;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn openapi_document_matches_the_snapshot() {
    let document = serde_json::to_string_pretty(&api::openapi()).unwrap() + "\n";
    let path = manifest_dir().join("openapi.json");
    if std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &document).unwrap();
    }
    let snapshot = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        snapshot == document,
        "the OpenAPI document changed; if intended, run UPDATE_SNAPSHOTS=1 cargo test -p api --test contract and commit crates/api/openapi.json"
    );
}

#[test]
fn openapi_document_describes_every_operation() {
    let document = serde_json::to_value(api::openapi()).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["servers"][0]["url"], "/client/v4");
    let paths = &document["paths"];
    let operations = [
        ("/zones/{zone_id}/client_certificates", "post"),
        ("/zones/{zone_id}/client_certificates", "get"),
        (
            "/zones/{zone_id}/client_certificates/{client_certificate_id}",
            "get",
        ),
        (
            "/zones/{zone_id}/client_certificates/{client_certificate_id}",
            "patch",
        ),
        (
            "/zones/{zone_id}/client_certificates/{client_certificate_id}",
            "delete",
        ),
        (
            "/zones/{zone_id}/certificate_authorities/hostname_associations",
            "get",
        ),
        (
            "/zones/{zone_id}/certificate_authorities/hostname_associations",
            "put",
        ),
        ("/user/tokens/verify", "get"),
    ];
    for (path, method) in operations {
        assert!(
            paths[path][method].is_object(),
            "{method} {path} missing from the OpenAPI document"
        );
    }
    let status = &document["components"]["schemas"]["Status"]["enum"];
    assert_eq!(
        status,
        &serde_json::json!([
            "active",
            "pending_revocation",
            "revoked",
            "pending_reactivation"
        ])
    );
}

#[test]
fn readme_lists_every_error_code() {
    let readme =
        std::fs::read_to_string(manifest_dir().join("../../README.md")).expect("README.md");
    for (_, code, status, _) in ErrorCode::TABLE {
        let row = format!("| {code} | {status} |");
        assert!(
            readme.contains(&row),
            "README.md lacks the error-code row starting {row:?}"
        );
    }
    let codes: Vec<u32> = ErrorCode::TABLE.iter().map(|(_, code, ..)| *code).collect();
    let mut unique = codes.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), codes.len(), "error codes must be unique");
    assert!(codes.iter().all(|c| *c >= 1000));
}
