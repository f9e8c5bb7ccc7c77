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
    for code in ErrorCode::ALL {
        let (number, status, _) = code.row();
        let row = format!("| {number} | {status} |");
        assert!(
            readme.contains(&row),
            "README.md lacks the error-code row starting {row:?}"
        );
    }
    // …and lists no code the server does not answer with.
    let table = readme
        .split("### Error codes")
        .nth(1)
        .expect("README.md has an Error codes section");
    let documented = table
        .lines()
        .skip_while(|line| !line.starts_with("| code |"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .count();
    assert_eq!(
        documented,
        ErrorCode::ALL.len(),
        "README.md's error table has extra rows"
    );
    let codes: Vec<u32> = ErrorCode::ALL.iter().map(|code| code.number()).collect();
    let mut unique = codes.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), codes.len(), "error codes must be unique");
    assert!(codes.iter().all(|c| *c >= 1000));
}

/// Every `$ref` in the document names a component that exists (a dangling one breaks clients'
/// code generators and schemathesis alike).
#[test]
fn every_reference_resolves() {
    fn walk(value: &serde_json::Value, refs: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::String(target)) = map.get("$ref") {
                    refs.push(target.clone());
                }
                map.values().for_each(|v| walk(v, refs));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, refs)),
            _ => {}
        }
    }
    let document = serde_json::to_value(api::openapi()).unwrap();
    let mut refs = Vec::new();
    walk(&document, &mut refs);
    assert!(!refs.is_empty());
    for target in refs {
        let pointer = target.strip_prefix('#').expect("local reference");
        assert!(
            document.pointer(pointer).is_some(),
            "dangling $ref {target}"
        );
    }
}

#[test]
fn documented_revocation_reasons_are_the_ones_accepted() {
    let document = serde_json::to_value(api::openapi()).unwrap();
    let parameters =
        document["paths"]["/zones/{zone_id}/client_certificates/{client_certificate_id}"]["delete"]
            ["parameters"]
            .as_array()
            .unwrap();
    let reason = parameters.iter().find(|p| p["name"] == "reason").unwrap();
    let documented: Vec<&str> = reason["schema"]["enum"]
        .as_array()
        .expect("an enum of names")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let accepted: Vec<&str> = authority::RevocationReason::ALL
        .iter()
        .filter(|r| r.applies_to_leaves())
        .map(|r| r.as_str())
        .collect();
    assert_eq!(documented, accepted);
}
