//! The dashboard under `/ui/`, driven over HTTP as a browser would (without one): sessions,
//! pages for read and edit tokens, CSRF and cross-site refusals, the CSR form, hostnames, the
//! CSV export, and the API unchanged beside it.

use authority::{Actor, ActorKind, AuditAction, Permission, TokenTarget};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::json;
use test_support::{TestDatabase, backend_tests};

use crate::helpers::{TestApp, p256_csr};

backend_tests!(
    signing_in_sets_a_sealed_session_cookie_that_every_page_needs,
    the_csr_form_issues_a_certificate_and_bad_input_writes_nothing,
    writes_need_the_csrf_token_and_a_same_origin_request,
    a_read_token_sees_no_write_controls_and_its_forged_writes_are_refused,
    every_page_answers_each_kind_of_token_by_its_reach_and_permission,
    a_token_revoked_with_the_cli_ends_its_sessions,
    an_ended_session_is_answered_to_each_kind_of_caller_and_sign_in_needs_a_safe_address,
    hostnames_are_edited_and_an_invalid_one_shows_1104,
    lists_filter_and_page_like_the_api_and_poll_while_pending,
    the_csv_export_lists_metadata_and_defuses_formulas,
    the_api_answers_the_same_with_the_dashboard_on_and_off_and_ignores_cookies,
);

/// Form fields or headers, as (name, value).
type Pairs<'a> = Vec<(&'a str, &'a str)>;

/// An answer as a browser sees it.
struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    #[track_caller]
    fn assert_redirect_to(&self, path: &str) {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "{}", self.body);
        assert_eq!(self.location(), path);
    }

    /// The CSRF token of the page's forms.
    fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).expect("a form with a CSRF token") + marker.len();
        let end = self.body[start..].find('"').unwrap() + start;
        self.body[start..end].to_string()
    }
}

/// A cookie jar of one: the session cookie, sent like a browser would.
struct Browser {
    client: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

impl Browser {
    fn new(app: &TestApp) -> Self {
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: format!("http://{}", app.server.addr),
            cookie: None,
        }
    }

    async fn signed_in(app: &TestApp, token: &str) -> Self {
        let mut browser = Self::new(app);
        let page = browser.post("/ui/login", &[("token", token)], &[]).await;
        page.assert_redirect_to("/ui/");
        let set_cookie = page.headers["set-cookie"].to_str().unwrap();
        let pair = set_cookie.split(';').next().unwrap();
        browser.cookie = Some(pair.to_string());
        browser
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Page {
        let request = match &self.cookie {
            Some(cookie) => request.header("cookie", cookie),
            None => request,
        };
        let response = request.send().await.expect("an answer");
        Page {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    async fn get(&self, path: &str) -> Page {
        self.send(self.client.get(format!("{}{path}", self.base)))
            .await
    }

    /// A form POST with extra headers; `Sec-Fetch-Site: same-origin` unless `headers` say
    /// otherwise, as a browser sends for the dashboard's own forms (an empty value: none at all,
    /// like an older browser that sends only `Origin`).
    async fn post(&self, path: &str, form: &[(&str, &str)], headers: &[(&str, &str)]) -> Page {
        let mut encoded = reqwest::Url::parse("http://form.invalid/").unwrap();
        encoded.query_pairs_mut().extend_pairs(form);
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encoded.query().unwrap_or("").to_string());
        if !headers.iter().any(|(name, _)| *name == "sec-fetch-site") {
            request = request.header("sec-fetch-site", "same-origin");
        }
        for (name, value) in headers.iter().filter(|(_, value)| !value.is_empty()) {
            request = request.header(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        self.send(request).await
    }
}

async fn audit(app: &TestApp) -> Vec<authority::AuditEvent> {
    app.store.audit_events(None, 0, 10_000).await.unwrap()
}

async fn signing_in_sets_a_sealed_session_cookie_that_every_page_needs(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let anonymous = Browser::new(&app);
    for path in ["/ui/", &format!("/ui/zones/{}", app.zone_id), "/ui/audit"] {
        let page = anonymous.get(path).await;
        page.assert_redirect_to("/ui/login");
        assert!(
            !page.headers.contains_key("set-cookie"),
            "no cookie sent, none cleared: a cross-site link must not sign anyone out"
        );
    }
    let root = anonymous.get("/").await;
    assert_eq!(root.location(), "/ui/");

    let login = anonymous.get("/ui/login").await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.body.contains("name=\"token\""));

    let wrong = anonymous
        .post("/ui/login", &[("token", "not-a-token")], &[])
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("error 10000"), "{}", wrong.body);
    assert!(!wrong.headers.contains_key("set-cookie"));

    let signed_in = anonymous
        .post("/ui/login", &[("token", &app.token)], &[])
        .await;
    signed_in.assert_redirect_to("/ui/");
    let cookie = signed_in.headers["set-cookie"].to_str().unwrap();
    let (pair, attributes) = cookie.split_once("; ").unwrap();
    let (name, value) = pair.split_once('=').unwrap();
    assert_eq!(name, "__Host-clientca-session");
    assert_eq!(
        attributes, "Path=/; HttpOnly; Secure; SameSite=Strict",
        "a browser-session cookie: no Max-Age, closing the browser ends it"
    );
    assert!(
        !value.contains(&app.token) && value.len() > 60,
        "the cookie is sealed, not the token: {value}"
    );

    let browser = Browser::signed_in(&app, &app.token).await;
    let zones = browser.get("/ui/").await;
    assert_eq!(zones.status, StatusCode::OK, "{}", zones.body);
    assert!(zones.body.contains(&app.zone_id.to_string()));
    let csp = zones.headers["content-security-policy"].to_str().unwrap();
    assert_eq!(
        csp,
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    );
    for (header, expected) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cross-origin-opener-policy", "same-origin"),
        ("cache-control", "no-store"),
        ("content-type", "text/html; charset=utf-8"),
    ] {
        assert_eq!(zones.headers[header], expected, "{header}");
    }
    for page in [
        format!("/ui/zones/{}", app.zone_id),
        format!("/ui/zones/{}/certificates", app.zone_id),
        format!("/ui/zones/{}/certificates/new", app.zone_id),
        format!("/ui/zones/{}/hostnames", app.zone_id),
        "/ui/audit".to_string(),
    ] {
        let answer = browser.get(&page).await;
        assert_eq!(answer.status, StatusCode::OK, "{page}: {}", answer.body);
        assert!(answer.headers.contains_key("content-security-policy"));
    }
    // Assets come from this origin, inline code nowhere.
    let js = browser.get("/ui/assets/htmx.min.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert_eq!(js.headers["content-type"], "text/javascript; charset=utf-8");
    assert!(!zones.body.contains("<script>") && !zones.body.contains(" style="));

    // A tampered cookie is no session.
    let mut forged = Browser::new(&app);
    let mut tampered = value.to_string();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    forged.cookie = Some(format!("__Host-clientca-session={tampered}"));
    let refused = forged.get("/ui/").await;
    refused.assert_redirect_to("/ui/login");
    assert!(
        refused.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0"),
        "a cookie that failed is cleared"
    );

    let csrf = zones.csrf();
    let out = browser.post("/ui/logout", &[("csrf", &csrf)], &[]).await;
    out.assert_redirect_to("/ui/login");
    assert!(
        out.headers["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("__Host-clientca-session=; Path=/; Max-Age=0")
    );
}

async fn the_csr_form_issues_a_certificate_and_bad_input_writes_nothing(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let browser = Browser::signed_in(&app, &app.token).await;
    let path = format!("/ui/zones/{}/certificates", app.zone_id);
    let csrf = browser.get(&format!("{path}/new")).await.csrf();
    let csr = p256_csr("dashboard.example.com");

    let before = audit(&app).await;
    let bad_csr = browser
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("csr", "not a CSR"),
                ("validity_days", "30"),
            ],
            &[],
        )
        .await;
    assert_eq!(bad_csr.status, StatusCode::BAD_REQUEST);
    assert!(bad_csr.body.contains("error 1100"), "{}", bad_csr.body);
    assert!(bad_csr.body.contains("id=\"csr-error\""));
    let bad_days = browser
        .post(
            &path,
            &[("csrf", &csrf), ("csr", &csr), ("validity_days", "0")],
            &[],
        )
        .await;
    assert_eq!(bad_days.status, StatusCode::BAD_REQUEST);
    assert!(bad_days.body.contains("error 1101"), "{}", bad_days.body);
    assert!(
        bad_days
            .body
            .contains("-----BEGIN CERTIFICATE REQUEST-----"),
        "the pasted CSR is kept in the form"
    );
    assert_eq!(audit(&app).await.len(), before.len(), "nothing was written");
    assert_eq!(app.list("").await.result().as_array().unwrap().len(), 0);

    let issued = browser
        .post(
            &path,
            &[("csrf", &csrf), ("csr", &csr), ("validity_days", "30")],
            &[],
        )
        .await;
    assert_eq!(issued.status, StatusCode::SEE_OTHER, "{}", issued.body);
    let listed = app.list("").await;
    let certificate = &listed.result()[0];
    let id = certificate["id"].as_str().unwrap();
    assert_eq!(issued.location(), format!("{path}/{id}"));
    assert_eq!(certificate["common_name"], "dashboard.example.com");
    assert_eq!(certificate["validity_days"], 30);
    let events = audit(&app).await;
    let created = events
        .iter()
        .find(|e| e.entry.action == AuditAction::CertificateCreated)
        .expect("the create is audited like the API's");
    assert_eq!(created.entry.actor.kind, ActorKind::Token);

    let details = browser.get(issued.location()).await;
    assert_eq!(details.status, StatusCode::OK);
    let pem = certificate["certificate"].as_str().unwrap();
    assert!(details.body.contains(pem.trim()), "the page shows the PEM");
    for field in ["serial_number", "fingerprint_sha256", "ski"] {
        assert!(
            details.body.contains(certificate[field].as_str().unwrap()),
            "{field} on the page"
        );
    }
    let download = browser.get(&format!("{path}/{id}/certificate.pem")).await;
    assert_eq!(download.body, pem);
    assert_eq!(
        download.headers["content-disposition"],
        "attachment; filename=\"dashboard.example.com.pem\""
    );
}

async fn writes_need_the_csrf_token_and_a_same_origin_request(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let id = app.issue(&p256_csr("victim.example.com")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let browser = Browser::signed_in(&app, &app.token).await;
    let details = format!("/ui/zones/{}/certificates/{id}", app.zone_id);
    let csrf = browser.get(&details).await.csrf();
    let revoke = format!("{details}/revoke");
    let before = audit(&app).await;

    let refusals: [(&str, Pairs<'_>, Pairs<'_>); 5] = [
        ("no token", vec![("reason", "keyCompromise")], vec![]),
        (
            "another token",
            vec![("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")],
            vec![],
        ),
        (
            "cross-site",
            vec![("csrf", &csrf)],
            vec![("sec-fetch-site", "cross-site")],
        ),
        (
            "same-site",
            vec![("csrf", &csrf)],
            vec![("sec-fetch-site", "same-site")],
        ),
        (
            "foreign origin",
            vec![("csrf", &csrf)],
            vec![("sec-fetch-site", ""), ("origin", "https://evil.example")],
        ),
    ];
    for (case, form, headers) in refusals {
        let page = browser.post(&revoke, &form, &headers).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{case}: {}", page.body);
    }
    let unchanged = app
        .call(
            Method::GET,
            &format!("{}/{id}", app.certificates_path(&app.zone_id)),
            None,
        )
        .await;
    assert_eq!(unchanged.result()["status"], "active");
    assert_eq!(audit(&app).await.len(), before.len(), "no audit event");

    let revoked = browser
        .post(
            &revoke,
            &[("csrf", &csrf), ("reason", "keyCompromise")],
            &[],
        )
        .await;
    revoked.assert_redirect_to(&details);
    let api_path = format!("{}/{id}", app.certificates_path(&app.zone_id));
    let now = app.call(Method::GET, &api_path, None).await;
    assert_eq!(now.result()["status"], "pending_revocation");
    let page = browser.get(&details).await;
    assert!(
        page.body.contains("hx-trigger=\"every 2s\""),
        "polls while pending"
    );
    assert!(page.body.contains("Undo revocation"));

    let undone = browser
        .post(&format!("{details}/reactivate"), &[("csrf", &csrf)], &[])
        .await;
    undone.assert_redirect_to(&details);
    let now = app.call(Method::GET, &api_path, None).await;
    assert_eq!(now.result()["status"], "pending_reactivation");
    app.publish().await;
    let settled = browser.get(&details).await;
    assert!(settled.body.contains("status-active"));
    assert!(
        !settled.body.contains("hx-trigger"),
        "stops polling once settled"
    );
}

async fn a_read_token_sees_no_write_controls_and_its_forged_writes_are_refused(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let id = app.issue(&p256_csr("kept.example.com")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let reader = app
        .token(
            TokenTarget::Zones(vec![app.zone_id.clone()]),
            Permission::Read,
        )
        .await;
    let browser = Browser::signed_in(&app, &reader).await;
    let zone = format!("/ui/zones/{}", app.zone_id);
    let overview = browser.get(&zone).await;
    assert_eq!(overview.status, StatusCode::OK);
    assert!(!overview.body.contains("New certificate"));
    let details = browser.get(&format!("{zone}/certificates/{id}")).await;
    assert!(!details.body.contains("Revoke…"));
    let hostnames = browser.get(&format!("{zone}/hostnames")).await;
    assert!(!hostnames.body.contains("<textarea"));
    assert!(
        !browser
            .get("/ui/")
            .await
            .body
            .contains("href=\"/ui/audit\""),
        "a zone token has no audit log"
    );
    assert_eq!(browser.get("/ui/audit").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        browser
            .get(&format!("{zone}/certificates/new"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    let csrf = overview.csrf();
    let before = audit(&app).await;
    for (path, form) in [
        (
            format!("{zone}/certificates/{id}/revoke"),
            vec![("csrf", csrf.as_str())],
        ),
        (
            format!("{zone}/certificates"),
            vec![
                ("csrf", csrf.as_str()),
                ("csr", "x"),
                ("validity_days", "30"),
            ],
        ),
        (
            format!("{zone}/hostnames"),
            vec![("csrf", csrf.as_str()), ("hostnames", "a.example.com")],
        ),
        (
            format!("{zone}/certificates/{id}/reactivate"),
            vec![("csrf", csrf.as_str())],
        ),
    ] {
        let page = browser.post(&path, &form, &[]).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.body.contains("error 9110"), "{}", page.body);
    }
    let script = browser
        .post(
            &format!("{zone}/certificates"),
            &[
                ("csrf", &csrf),
                ("csr", &p256_csr("x.example.com")),
                ("validity_days", "30"),
            ],
            &[("accept", "application/json")],
        )
        .await;
    assert_eq!(script.status, StatusCode::FORBIDDEN);
    let refusal: serde_json::Value = serde_json::from_str(&script.body).expect("a JSON refusal");
    assert_eq!(refusal["code"], 9110, "{refusal}");
    assert_eq!(audit(&app).await.len(), before.len());
    let api = app
        .call(
            Method::GET,
            &format!("{}/{id}", app.certificates_path(&app.zone_id)),
            None,
        )
        .await;
    assert_eq!(api.result()["status"], "active");
}

/// Account-wide and zone tokens, read and edit: which pages answer, which show write controls,
/// which show the audit log, and that another zone stays out of reach.
async fn every_page_answers_each_kind_of_token_by_its_reach_and_permission(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let id = app.issue(&p256_csr("reach.example.com")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let other_zone = app.new_zone(Some(&app.account_id)).await;
    let zone = format!("/ui/zones/{}", app.zone_id);
    let pages = [
        "/ui/".to_string(),
        zone.clone(),
        format!("{zone}/certificates"),
        format!("{zone}/certificates/{id}"),
        format!("{zone}/hostnames"),
        format!("{zone}/certificates.csv"),
    ];
    let account = TokenTarget::Account(app.account_id.clone());
    let zone_only = TokenTarget::Zones(vec![app.zone_id.clone()]);
    for (target, permission, audit_log, other_zone_status) in [
        (account.clone(), Permission::Edit, true, StatusCode::OK),
        (account, Permission::Read, true, StatusCode::OK),
        (
            zone_only.clone(),
            Permission::Edit,
            false,
            StatusCode::FORBIDDEN,
        ),
        (zone_only, Permission::Read, false, StatusCode::FORBIDDEN),
    ] {
        let case = format!("{target:?} {permission:?}");
        let token = app.token(target, permission).await;
        let browser = Browser::signed_in(&app, &token).await;
        for page in &pages {
            let answer = browser.get(page).await;
            assert_eq!(answer.status, StatusCode::OK, "{case} {page}");
        }
        let edit = permission == Permission::Edit;
        let overview = browser.get(&zone).await;
        assert_eq!(overview.body.contains("New certificate"), edit, "{case}");
        let details = browser.get(&format!("{zone}/certificates/{id}")).await;
        assert_eq!(details.body.contains("Revoke…"), edit, "{case}");
        // A page the token may not see answers 403.
        let allowed = |yes: bool| match yes {
            true => StatusCode::OK,
            false => StatusCode::FORBIDDEN,
        };
        let new = browser.get(&format!("{zone}/certificates/new")).await;
        assert_eq!(new.status, allowed(edit), "{case}");
        let audit = browser.get("/ui/audit").await;
        assert_eq!(audit.status, allowed(audit_log), "{case}");
        let zones = browser.get("/ui/").await;
        assert_eq!(
            zones.body.contains("href=\"/ui/audit\""),
            audit_log,
            "{case}"
        );
        assert_eq!(
            zones.body.contains(&other_zone.to_string()),
            other_zone_status == StatusCode::OK,
            "{case}: the zone list shows exactly the zones the token reaches"
        );
        let other = browser.get(&format!("/ui/zones/{other_zone}")).await;
        assert_eq!(other.status, other_zone_status, "{case}");
    }
}

async fn a_token_revoked_with_the_cli_ends_its_sessions(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let token = app
        .token(
            TokenTarget::Account(app.account_id.clone()),
            Permission::Edit,
        )
        .await;
    let browser = Browser::signed_in(&app, &token).await;
    assert_eq!(browser.get("/ui/").await.status, StatusCode::OK);
    let principal = app
        .server
        .authority
        .authenticate(
            &authority::Credentials::Bearer(token.clone()),
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    app.server
        .authority
        .revoke_token(principal.token_id(), Actor::new(ActorKind::Cli))
        .await
        .unwrap();
    // The test server trusts token lookups for zero seconds: the next request already fails.
    browser.get("/ui/").await.assert_redirect_to("/ui/login");
}

async fn an_ended_session_is_answered_to_each_kind_of_caller_and_sign_in_needs_a_safe_address(
    db: TestDatabase,
) {
    let app = TestApp::spawn(db).await;
    let mut ended = Browser::new(&app);
    ended.cookie = Some("__Host-clientca-session=AAAA".into());
    let list = format!("/ui/zones/{}/certificates", app.zone_id);
    // htmx follows redirects itself: it gets HX-Redirect on a 401, not a Location.
    let htmx = ended
        .send(
            ended
                .client
                .get(format!("{}{list}", ended.base))
                .header("hx-request", "true"),
        )
        .await;
    assert_eq!(htmx.status, StatusCode::UNAUTHORIZED);
    assert_eq!(htmx.headers["hx-redirect"], "/ui/login");
    assert!(!htmx.headers.contains_key("location"));
    // keygen.js asks for JSON: a 401 with a message it can show.
    let script = ended
        .post(&list, &[("csr", "x")], &[("accept", "application/json")])
        .await;
    assert_eq!(script.status, StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = serde_json::from_str(&script.body).unwrap();
    assert!(body["message"].as_str().unwrap().contains("sign in again"));

    // Over plain HTTP, sign-in works only on loopback names: elsewhere the token would cross
    // the network in clear (and the Secure cookie would be dropped).
    let remote = Browser::new(&app);
    let page = remote
        .post(
            "/ui/login",
            &[("token", &app.token)],
            &[("host", "ca.example.com")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(!page.headers.contains_key("set-cookie"));
    assert!(page.body.contains("serve over TLS"));
    assert!(!page.headers.contains_key("strict-transport-security"));
}

async fn hostnames_are_edited_and_an_invalid_one_shows_1104(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let browser = Browser::signed_in(&app, &app.token).await;
    let path = format!("/ui/zones/{}/hostnames", app.zone_id);
    let csrf = browser.get(&path).await.csrf();
    let api_path = format!(
        "/zones/{}/certificate_authorities/hostname_associations",
        app.zone_id
    );

    let saved = browser
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("hostnames", "mtls.example.com\r\nAPI.example.com\r\n\r\n"),
            ],
            &[],
        )
        .await;
    saved.assert_redirect_to(&format!("{path}?saved=1"));
    let api = app.call(Method::GET, &api_path, None).await;
    assert_eq!(
        api.assert_ok(),
        &json!({"hostnames": ["api.example.com", "mtls.example.com"]})
    );
    let page = browser.get(&format!("{path}?saved=1")).await;
    assert!(page.body.contains("Saved: 2 hostnames."));

    let before = audit(&app).await;
    let invalid = browser
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("hostnames", "ok.example.com\nnot a host!"),
            ],
            &[],
        )
        .await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert!(invalid.body.contains("error 1104"), "{}", invalid.body);
    assert!(invalid.body.contains("id=\"hostnames-error\""));
    assert!(invalid.body.contains("aria-invalid=\"true\""));
    assert_eq!(
        app.call(Method::GET, &api_path, None).await.assert_ok(),
        api.result(),
        "nothing written"
    );
    assert_eq!(audit(&app).await.len(), before.len());
}

async fn lists_filter_and_page_like_the_api_and_poll_while_pending(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let mut ids = Vec::new();
    for n in 0..7 {
        let issued = app.issue(&p256_csr(&format!("host{n}.example.com"))).await;
        ids.push(issued["id"].as_str().unwrap().to_string());
    }
    let revoke = format!("{}/{}", app.certificates_path(&app.zone_id), ids[0]);
    app.call(Method::DELETE, &revoke, None).await.assert_ok();

    let browser = Browser::signed_in(&app, &app.token).await;
    let list = format!("/ui/zones/{}/certificates", app.zone_id);
    let rows = |page: &Page| page.body.matches("<tr>").count().saturating_sub(1);
    for (query, api_query) in [
        ("", ""),
        ("?status=active", "status=active"),
        ("?status=pending_revocation", "status=pending_revocation"),
        ("?per_page=5&page=2", "per_page=5&page=2"),
        ("?status=active&per_page=5", "status=active&per_page=5"),
    ] {
        let page = browser.get(&format!("{list}{query}")).await;
        assert_eq!(page.status, StatusCode::OK);
        let api = app.list(api_query).await;
        let expected = api.result().as_array().unwrap();
        assert_eq!(rows(&page), expected.len(), "{query}");
        for certificate in expected {
            assert!(
                page.body.contains(certificate["id"].as_str().unwrap()),
                "{query}: the API's rows, in its order"
            );
        }
        let total = api.body["result_info"]["total_count"].as_u64().unwrap();
        assert!(
            page.body.contains(&format!("{total} certificates")),
            "{query}"
        );
    }
    let pending = browser
        .get(&format!("{list}?status=pending_revocation"))
        .await;
    assert!(pending.body.contains("hx-trigger=\"every 2s\""));
    let active = browser.get(&format!("{list}?status=active")).await;
    assert!(
        !active.body.contains("hx-trigger"),
        "nothing pending, no polling"
    );

    app.publish().await;
    let settled = browser.get(&format!("{list}?status=revoked")).await;
    assert_eq!(rows(&settled), 1);
    assert!(settled.body.contains(&ids[0]));
    assert!(!settled.body.contains("hx-trigger"));
    let overview = browser.get(&format!("/ui/zones/{}", app.zone_id)).await;
    assert!(
        overview
            .body
            .contains("<span class=\"count\">6</span> <span class=\"badge status-active\">")
    );
    assert!(
        overview
            .body
            .contains("<span class=\"count\">1</span> <span class=\"badge status-revoked\">")
    );
}

async fn the_csv_export_lists_metadata_and_defuses_formulas(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let formula = "=HYPERLINK(\"http://evil.example\",\"x\")";
    let issued = app.issue(&p256_csr(formula)).await;
    app.issue(&p256_csr("plain.example.com")).await;
    let browser = Browser::signed_in(&app, &app.token).await;
    let csv = browser
        .get(&format!("/ui/zones/{}/certificates.csv", app.zone_id))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    let lines: Vec<&str> = csv.body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3, "{}", csv.body);
    assert!(lines[0].starts_with("\"id\",\"common_name\","));
    let row = lines
        .iter()
        .find(|l| l.contains(issued["id"].as_str().unwrap()))
        .unwrap();
    assert!(
        row.contains("\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\""),
        "{row}"
    );
    assert!(row.contains(&format!(
        "\"{}\"",
        issued["serial_number"].as_str().unwrap()
    )));
    let revoked_only = browser
        .get(&format!(
            "/ui/zones/{}/certificates.csv?status=revoked",
            app.zone_id
        ))
        .await;
    assert_eq!(
        revoked_only
            .body
            .split("\r\n")
            .filter(|l| !l.is_empty())
            .count(),
        1
    );
}

async fn the_api_answers_the_same_with_the_dashboard_on_and_off_and_ignores_cookies(
    db: TestDatabase,
) {
    let app = TestApp::spawn(db).await;
    app.issue(&p256_csr("same.example.com")).await;
    let mut options = app.options.clone();
    options.dashboard = false;
    let without = clientca::start(options).await.expect("a second server");
    let browser = Browser::signed_in(&app, &app.token).await;
    let cookie = browser.cookie.clone().unwrap();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let certificates = format!("/client/v4/zones/{}/client_certificates", app.zone_id);
    for (path, with_token) in [
        (certificates.as_str(), true),
        (certificates.as_str(), false),
        ("/client/v4/nothing/here", true),
        ("/client/v4/user/tokens/verify", false),
        ("/ca/unknown.pem", false),
    ] {
        let mut answers = Vec::new();
        for addr in [app.server.addr, without.addr] {
            let mut request = client
                .get(format!("http://{addr}{path}"))
                .header("cookie", &cookie);
            if with_token {
                request = request.bearer_auth(&app.token);
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            let content_type = response.headers().get("content-type").cloned();
            let has_csp = response.headers().contains_key("content-security-policy");
            answers.push((
                status,
                content_type,
                has_csp,
                response.bytes().await.unwrap(),
            ));
        }
        assert_eq!(answers[0], answers[1], "{path} with token: {with_token}");
        assert!(!answers[0].2, "the API has no dashboard headers");
        if !with_token && path == certificates {
            // A session cookie is no credential for the API.
            let body: serde_json::Value = serde_json::from_slice(&answers[0].3).unwrap();
            assert_eq!(body["errors"][0]["code"], 9106, "{body}");
        }
    }
    let off = client
        .get(format!("http://{}/ui/", without.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), StatusCode::NOT_FOUND, "no dashboard when off");
    without.stop().await.unwrap();
}
