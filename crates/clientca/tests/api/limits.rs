//! Limits a public-facing service needs: header size, slow clients, request deadline, open
//! connections, and rate limits answered in the envelope with Retry-After.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use reqwest::Method;
use test_support::{TestDatabase, backend_tests};

use authority::{Actor, ActorKind, UNLIMITED};

use crate::helpers::{TestApp, answer, p256_csr};

backend_tests!(
    oversized_headers_are_refused,
    slow_headers_get_the_connection_closed,
    slow_bodies_get_a_408_in_the_envelope,
    connections_beyond_the_limit_wait_for_a_free_slot,
    one_address_cannot_take_every_connection_slot,
    tokens_over_their_rate_get_429_with_retry_after,
    guessing_tokens_is_rate_limited_per_address,
    zone_quotas_refuse_creates_beyond_them_even_when_racing,
);

/// Send raw bytes and read whatever comes back until the server closes or `wait` passes.
fn raw_exchange(
    address: std::net::SocketAddr,
    request: &[u8],
    wait: Duration,
) -> (String, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(wait)).unwrap();
    stream.write_all(request).unwrap();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(_) => break,
        }
        if received.windows(4).any(|w| w == b"\r\n\r\n") && !received.starts_with(b"HTTP/1.1 408") {
            break;
        }
    }
    (
        String::from_utf8_lossy(&received).into_owned(),
        started.elapsed(),
    )
}

async fn oversized_headers_are_refused(db: TestDatabase) {
    let app = TestApp::spawn(db).await;
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let address = app.server.addr;
    let (reply, _) = tokio::task::spawn_blocking(move || {
        raw_exchange(address, request.as_bytes(), Duration::from_secs(5))
    })
    .await
    .unwrap();
    assert!(reply.starts_with("HTTP/1.1 431"), "{reply:?}");
}

async fn slow_headers_get_the_connection_closed(db: TestDatabase) {
    let app = TestApp::spawn_configured(db, |o| {
        o.limits.header_read_timeout = Duration::from_millis(500);
    })
    .await;
    let address = app.server.addr;
    // Half a request head, then nothing: the slowloris pattern.
    let (reply, waited) = tokio::task::spawn_blocking(move || {
        raw_exchange(
            address,
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
            Duration::from_secs(10),
        )
    })
    .await
    .unwrap();
    assert!(
        waited < Duration::from_secs(5),
        "the connection stayed open {waited:?}"
    );
    assert!(
        reply.is_empty() || reply.starts_with("HTTP/1.1 408"),
        "{reply:?}"
    );
    // The server still serves others.
    let health = app
        .client
        .get(format!("http://{address}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

async fn slow_bodies_get_a_408_in_the_envelope(db: TestDatabase) {
    let app =
        TestApp::spawn_configured(db, |o| o.api.request_timeout = Duration::from_millis(500)).await;
    let address = app.server.addr;
    let head = format!(
        "POST /client/v4/zones/{}/client_certificates HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"csr\": ",
        app.zone_id, app.token
    );
    let (reply, waited) = tokio::task::spawn_blocking(move || {
        raw_exchange(address, head.as_bytes(), Duration::from_secs(10))
    })
    .await
    .unwrap();
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply:?}");
    assert!(
        reply.contains("\"code\":1007") && reply.contains("\"success\":false"),
        "{reply:?}"
    );
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    assert_eq!(app.count_created_events().await, 0);

    // An OCSP client trickling its request gets an OCSP answer (tryLater), not JSON.
    let head = "POST /ca/00000000-0000-4000-8000-000000000000/ocsp HTTP/1.1\r\nHost: x\r\n\
                Content-Type: application/ocsp-request\r\nContent-Length: 100\r\n\r\n\x30";
    let (reply, _) = tokio::task::spawn_blocking(move || {
        raw_exchange(address, head.as_bytes(), Duration::from_secs(10))
    })
    .await
    .unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply:?}");
    assert!(
        reply
            .to_ascii_lowercase()
            .contains("content-type: application/ocsp-response"),
        "{reply:?}"
    );
    assert!(
        reply.ends_with("\x30\x03\x0a\x01\x03"),
        "tryLater: {reply:?}"
    );
}

async fn connections_beyond_the_limit_wait_for_a_free_slot(db: TestDatabase) {
    let app = TestApp::spawn_configured(db, |o| o.limits.max_connections = 2).await;
    let address = app.server.addr;
    let health = format!("http://{address}/healthz");
    // Two idle connections take both slots.
    let first = TcpStream::connect(address).unwrap();
    let second = TcpStream::connect(address).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let waiting =
        tokio::time::timeout(Duration::from_millis(700), client.get(&health).send()).await;
    assert!(
        waiting.is_err(),
        "a third connection was served while two slots were taken"
    );
    drop(first);
    let served = tokio::time::timeout(Duration::from_secs(5), client.get(&health).send()).await;
    assert_eq!(
        served.expect("served once a slot freed").unwrap().status(),
        200
    );
    drop(second);
}

async fn tokens_over_their_rate_get_429_with_retry_after(db: TestDatabase) {
    let app = TestApp::spawn_configured(db, |o| {
        o.api.rate_limits.per_token = api::Rate {
            per_second: 1,
            burst: 3,
        };
    })
    .await;
    let path = app.certificates_path(&app.zone_id);
    for _ in 0..3 {
        app.call(Method::GET, &path, None).await.assert_ok();
    }
    let limited = app
        .client
        .get(app.url(&path))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    answer(limited).await.assert_error(429, 1008);
    // Another token has its own budget.
    let other = app
        .token(
            authority::TokenTarget::Account(app.account_id.clone()),
            authority::Permission::Read,
        )
        .await;
    app.call_as(&other, Method::GET, &path, None)
        .await
        .assert_ok();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.call(Method::GET, &path, None).await.assert_ok();
}

async fn guessing_tokens_is_rate_limited_per_address(db: TestDatabase) {
    let app = TestApp::spawn_configured(db, |o| {
        o.api.rate_limits.anonymous = api::Rate {
            per_second: 1,
            burst: 5,
        };
    })
    .await;
    let path = app.certificates_path(&app.zone_id);
    for i in 0..5 {
        app.call_as(&format!("guess-{i}"), Method::GET, &path, None)
            .await
            .assert_error(401, 10000);
    }
    let limited = app.call_as("guess-6", Method::GET, &path, None).await;
    limited.assert_error(429, 1008);
    // An address over its limit is refused before its credentials are looked at: a right guess
    // gets the same 429 as a wrong one, so guessing learns nothing until the wait is over.
    app.call(Method::GET, &path, None)
        .await
        .assert_error(429, 1008);
    app.call_as("guess-7", Method::GET, &path, None)
        .await
        .assert_error(429, 1008);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.call(Method::GET, &path, None).await.assert_ok();
}

/// One address holding idle connections could take every slot and block everyone else (2,000
/// idle sockets once held a health probe for 8 s): past its own cap, its connections are closed.
async fn one_address_cannot_take_every_connection_slot(db: TestDatabase) {
    let app = TestApp::spawn_configured(db, |o| {
        o.limits.max_connections = 4;
        o.limits.max_connections_per_address = 2;
    })
    .await;
    let address = app.server.addr;
    let from = |source: &str| {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
        socket.connect(address)
    };
    // 127.0.0.2 takes its two slots and asks for more: the extra connections are closed at once.
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(from("127.0.0.2").await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..3 {
        let mut extra = from("127.0.0.2").await.unwrap();
        let mut buffer = [0u8; 16];
        let read = tokio::time::timeout(
            Duration::from_secs(2),
            tokio::io::AsyncReadExt::read(&mut extra, &mut buffer),
        )
        .await
        .expect("closed at once, not left waiting");
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    }
    // Everyone else still gets in, promptly.
    let health = tokio::time::timeout(
        Duration::from_secs(2),
        app.client.get(format!("http://{address}/healthz")).send(),
    )
    .await
    .expect("a free slot for another address")
    .unwrap();
    assert_eq!(health.status(), 200);
    drop(held);
}

/// `--max-certificates-per-zone 3` with two issued: of 32 concurrent creates exactly one gets
/// the last place, the others 400/1110 with nothing written. A zone's own quota overrides the
/// default, and a published revocation frees a place.
async fn zone_quotas_refuse_creates_beyond_them_even_when_racing(db: TestDatabase) {
    let app = std::sync::Arc::new(
        TestApp::spawn_configured(db, |options| {
            options.policy.max_certificates_per_zone = Some(3);
        })
        .await,
    );
    let first = app.issue(&p256_csr("one.example")).await;
    app.issue(&p256_csr("two.example")).await;
    let racing: Vec<_> = (0..32)
        .map(|i| {
            let app = std::sync::Arc::clone(&app);
            tokio::spawn(
                async move { app.create(&p256_csr(&format!("race{i}.example")), 30).await },
            )
        })
        .collect();
    let mut issued = 0;
    for create in racing {
        let answer = create.await.unwrap();
        if answer.status.is_success() {
            issued += 1;
        } else {
            answer.assert_error(400, 1110);
            let message = answer.body["errors"][0]["message"].as_str().unwrap();
            assert!(
                message.contains("quota") && message.contains('3'),
                "{message}"
            );
        }
    }
    assert_eq!(issued, 1, "exactly one create takes the last place");
    assert_eq!(app.list("").await.assert_ok().as_array().unwrap().len(), 3);
    assert_eq!(
        app.count_created_events().await,
        3,
        "refused creates are not audited"
    );

    // The zone's own quota replaces the default (the test server caches zones for 0 s).
    let zone = app.zone_id.clone();
    let cli = Actor::new(ActorKind::Cli);
    let authority = &app.server.authority;
    authority
        .set_zone_quota(&zone, Some(4), cli.clone())
        .await
        .unwrap();
    app.issue(&p256_csr("four.example")).await;
    app.create(&p256_csr("five.example"), 30)
        .await
        .assert_error(400, 1110);
    authority
        .set_zone_quota(&zone, Some(UNLIMITED), cli.clone())
        .await
        .unwrap();
    app.issue(&p256_csr("five.example")).await;
    authority.set_zone_quota(&zone, None, cli).await.unwrap();
    app.create(&p256_csr("six.example"), 30)
        .await
        .assert_error(400, 1110);

    // Back on the default of 3 with 5 held: two revocations, once published, make one place.
    for leaf in [&first, &app.list("").await.assert_ok()[0]] {
        let path = format!(
            "{}/{}",
            app.certificates_path(&app.zone_id),
            leaf["id"].as_str().unwrap()
        );
        app.call(Method::DELETE, &path, None).await.assert_ok();
    }
    app.create(&p256_csr("six.example"), 30)
        .await
        .assert_error(400, 1110);
    app.publish().await;
    app.create(&p256_csr("six.example"), 30)
        .await
        .assert_error(400, 1110);
    let third = app.list("status=active").await.assert_ok()[0].clone();
    let path = format!(
        "{}/{}",
        app.certificates_path(&app.zone_id),
        third["id"].as_str().unwrap()
    );
    app.call(Method::DELETE, &path, None).await.assert_ok();
    app.publish().await;
    app.issue(&p256_csr("six.example")).await;
}
