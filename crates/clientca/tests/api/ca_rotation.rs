//! An account's issuing CA over its life: rotated (from another process, as `clientca ca rotate`
//! does), imported under the user's own root, and every generation still answering for what it
//! issued.

use std::sync::Arc;

use authority::{Actor, ActorKind, Authority, CaKeyAlgorithm, Config, MasterKey, NewCa};
use reqwest::Method;
use serde_json::Value;
use test_support::{ForeignCa, TestDatabase, backend_tests};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::helpers::{TestApp, p256_csr, verify_client_certificate, verify_client_certificate_via};
use crate::revocation::{get_bytes, openssl_ocsp};

backend_tests!(
    a_rotation_moves_issuance_and_old_certificates_keep_their_ca,
    creates_racing_a_rotation_each_come_from_exactly_one_ca,
    a_ca_imported_under_a_users_root_issues_leaves_that_verify_to_it,
    unusable_imports_are_refused_and_change_nothing,
);

/// A server, and a second authority on its database with the same master key: the CLI's view.
async fn app_and_cli(db: TestDatabase) -> (TestApp, Arc<Authority>) {
    let key = MasterKey::generate().unwrap();
    let app = TestApp::spawn_configured(db, |options| options.master_key = key.clone()).await;
    let config = Config {
        master_key: Some(key),
        ..Config::default()
    };
    let cli = Authority::new(Arc::clone(&app.store), config)
        .await
        .unwrap();
    (app, cli)
}

fn ca_of(certificate: &Value) -> String {
    certificate["certificate_authority"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn ca_pem(app: &TestApp, ca_id: &str) -> String {
    let (status, _, body) = get_bytes(app, &format!("/ca/{ca_id}.pem")).await;
    assert_eq!(status, 200);
    String::from_utf8(body).unwrap()
}

fn verify(ca_pem: &str, leaf: &Value) {
    verify_client_certificate(ca_pem, leaf["certificate"].as_str().unwrap());
}

async fn crl_serials(app: &TestApp, ca_id: &str) -> Vec<String> {
    let (_, _, der) = get_bytes(app, &format!("/ca/{ca_id}/crl")).await;
    pki::crl_serials(&der)
        .unwrap()
        .iter()
        .map(|serial| serial.value().to_string())
        .collect()
}

async fn a_rotation_moves_issuance_and_old_certificates_keep_their_ca(db: TestDatabase) {
    let (app, cli) = app_and_cli(db).await;
    let old_leaf = app.issue(&p256_csr("before")).await;
    let old_ca = ca_of(&old_leaf);
    let (new, retired) = cli
        .rotate_ca(
            &app.account_id,
            NewCa::Generate(CaKeyAlgorithm::P384),
            Actor::new(ActorKind::Cli),
        )
        .await
        .unwrap();
    assert_eq!(retired.map(|id| id.to_string()), Some(old_ca.clone()));
    // The server learns of it without a restart (its CA lookup is as fresh as its token cache).
    let new_leaf = app.issue(&p256_csr("after")).await;
    assert_eq!(ca_of(&new_leaf), new.id.to_string());
    assert_eq!(new_leaf["signature"], "ECDSAWithSHA384");
    let (old_pem, new_pem) = (
        ca_pem(&app, &old_ca).await,
        ca_pem(&app, new.id.as_str()).await,
    );
    verify(&old_pem, &old_leaf);
    verify(&new_pem, &new_leaf);
    // Details still name the CA that issued each one.
    let item = |leaf: &Value| {
        format!(
            "/zones/{}/client_certificates/{}",
            app.zone_id,
            leaf["id"].as_str().unwrap()
        )
    };
    let fetched = app.call(Method::GET, &item(&old_leaf), None).await;
    assert_eq!(ca_of(fetched.assert_ok()), old_ca);

    // Revoking an old-generation certificate lands on the old CA's CRL and OCSP only.
    app.call(Method::DELETE, &item(&old_leaf), None)
        .await
        .assert_ok();
    assert_eq!(app.publish().await, 1);
    let serial = old_leaf["serial_number"].as_str().unwrap().to_string();
    assert!(crl_serials(&app, &old_ca).await.contains(&serial));
    assert!(crl_serials(&app, new.id.as_str()).await.is_empty());
    let text = openssl_ocsp(
        &app,
        &old_pem,
        old_leaf["certificate"].as_str().unwrap(),
        &old_ca,
    )
    .await;
    assert!(text.contains("leaf.pem: revoked"), "{text}");
    let text = openssl_ocsp(
        &app,
        &new_pem,
        new_leaf["certificate"].as_str().unwrap(),
        new.id.as_str(),
    )
    .await;
    assert!(text.contains("leaf.pem: good"), "{text}");

    // A restart (a fresh authority on the database) keeps the new CA current.
    let restarted = Authority::new(Arc::clone(&app.store), Config::default())
        .await
        .unwrap();
    assert_eq!(
        restarted
            .existing_ca(&app.account_id)
            .await
            .unwrap()
            .unwrap()
            .id,
        new.id
    );
    let generations = restarted.account_cas(&app.account_id).await.unwrap();
    assert_eq!(generations.len(), 2);
    assert!(generations[0].retired_at.is_some() && generations[1].retired_at.is_none());
}

async fn creates_racing_a_rotation_each_come_from_exactly_one_ca(db: TestDatabase) {
    let (app, cli) = app_and_cli(db).await;
    app.issue(&p256_csr("first")).await;
    let app = Arc::new(app);
    let creates: Vec<_> = (0..24)
        .map(|i| {
            let app = Arc::clone(&app);
            tokio::spawn(async move { app.issue(&p256_csr(&format!("racer-{i}"))).await })
        })
        .collect();
    cli.rotate_ca(
        &app.account_id,
        NewCa::Generate(CaKeyAlgorithm::P256),
        Actor::new(ActorKind::Cli),
    )
    .await
    .unwrap();
    let mut issued = Vec::new();
    for create in creates {
        issued.push(create.await.unwrap());
    }
    issued.push(app.issue(&p256_csr("last")).await);
    let mut cas_seen = std::collections::BTreeSet::new();
    for leaf in &issued {
        let ca_id = ca_of(leaf);
        let ca = ca_pem(&app, &ca_id).await;
        let ca_der = pem::parse(&ca).unwrap().into_contents();
        let leaf_der = pem::parse(leaf["certificate"].as_str().unwrap())
            .unwrap()
            .into_contents();
        let (_, ca) = X509Certificate::from_der(&ca_der).unwrap();
        let (_, certificate) = X509Certificate::from_der(&leaf_der).unwrap();
        assert_eq!(certificate.issuer(), ca.subject());
        certificate
            .verify_signature(Some(ca.public_key()))
            .expect("signed by the CA it names");
        cas_seen.insert(ca_id);
    }
    assert!(cas_seen.len() <= 2, "{cas_seen:?}");
    assert_eq!(
        ca_of(issued.last().unwrap()),
        cli.existing_ca(&app.account_id)
            .await
            .unwrap()
            .unwrap()
            .id
            .to_string(),
        "after the rotation, issuance uses the new CA"
    );
}

async fn a_ca_imported_under_a_users_root_issues_leaves_that_verify_to_it(db: TestDatabase) {
    let (app, cli) = app_and_cli(db).await;
    let root = ForeignCa::root("Example Corp Root");
    let intermediate = root.intermediate("Example Corp Devices CA");
    let (imported, retired) = cli
        .rotate_ca(
            &app.account_id,
            NewCa::Import {
                certificate_pem: intermediate.pem.clone(),
                private_key_pem: intermediate.key_pem.clone(),
                chain_pem: Some(root.pem.clone()),
            },
            Actor::new(ActorKind::Cli),
        )
        .await
        .unwrap();
    assert_eq!(retired, None, "the account had no CA yet");
    assert_eq!(imported.name, "CN=Example Corp Devices CA");
    let leaf = app.issue(&p256_csr("device")).await;
    assert_eq!(ca_of(&leaf), imported.id.to_string());
    assert_eq!(
        leaf["certificate_authority"]["name"],
        "CN=Example Corp Devices CA"
    );
    let (status, _, chain) = get_bytes(&app, &format!("/ca/{}/chain.pem", imported.id)).await;
    assert_eq!(status, 200);
    let chain = String::from_utf8(chain).unwrap();
    assert_eq!(chain, format!("{}{}", intermediate.pem, root.pem));
    verify_client_certificate_via(&root.pem, &chain, leaf["certificate"].as_str().unwrap());
    // Its CRL and OCSP are signed with the imported key.
    let crl = ca_pem(&app, imported.id.as_str()).await;
    assert_eq!(crl, intermediate.pem);
    let text = openssl_ocsp(
        &app,
        &intermediate.pem,
        leaf["certificate"].as_str().unwrap(),
        imported.id.as_str(),
    )
    .await;
    assert!(text.contains("leaf.pem: good"), "{text}");

    // A master-key rotation re-seals the imported key too: with the new key it still signs.
    let new_key = MasterKey::generate().unwrap();
    cli.rotate_master_key(&new_key, Actor::new(ActorKind::Cli))
        .await
        .unwrap();
    let config = Config {
        master_key: Some(new_key),
        ..Config::default()
    };
    let rekeyed = Authority::new(Arc::clone(&app.store), config)
        .await
        .unwrap();
    let zone = rekeyed
        .zones()
        .await
        .unwrap()
        .into_iter()
        .find(|zone| zone.id == app.zone_id)
        .unwrap();
    let issued = rekeyed
        .issue_certificate(
            &zone,
            authority::IssueRequest {
                csr: p256_csr("after the master key changed"),
                validity_days: 30,
            },
            Actor::new(ActorKind::Cli),
        )
        .await
        .unwrap();
    assert_eq!(issued.ca_id, imported.id);
}

async fn unusable_imports_are_refused_and_change_nothing(db: TestDatabase) {
    let (app, cli) = app_and_cli(db).await;
    app.issue(&p256_csr("before")).await;
    let before = cli.account_cas(&app.account_id).await.unwrap();
    let root = ForeignCa::root("Example Corp Root");
    let intermediate = root.intermediate("Example Corp Devices CA");
    let other_root = ForeignCa::root("Someone Else");
    let expired = ForeignCa::expired_root("Old Root");
    let (leaf, leaf_key) = intermediate.client("not a CA");
    let import = |certificate: &str, key: &str, chain: Option<&str>| NewCa::Import {
        certificate_pem: certificate.to_string(),
        private_key_pem: key.to_string(),
        chain_pem: chain.map(str::to_string),
    };
    for (what, source, expected) in [
        (
            "a leaf",
            import(&leaf, &leaf_key, Some(&intermediate.pem)),
            "not a CA",
        ),
        (
            "an expired CA",
            import(&expired.pem, &expired.key_pem, None),
            "expired",
        ),
        (
            "another key",
            import(&intermediate.pem, &other_root.key_pem, Some(&root.pem)),
            "does not match",
        ),
        (
            "a chain from elsewhere",
            import(
                &intermediate.pem,
                &intermediate.key_pem,
                Some(&other_root.pem),
            ),
            "did not issue",
        ),
        (
            "no chain",
            import(&intermediate.pem, &intermediate.key_pem, None),
            "give --chain",
        ),
        (
            "garbage",
            import("garbage", &intermediate.key_pem, None),
            "exactly one PEM certificate",
        ),
    ] {
        let error = cli
            .rotate_ca(&app.account_id, source, Actor::new(ActorKind::Cli))
            .await
            .expect_err(what)
            .to_string();
        assert!(error.contains(expected), "{what}: {error}");
    }
    assert_eq!(cli.account_cas(&app.account_id).await.unwrap(), before);
}
