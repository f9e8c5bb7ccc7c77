//! A closed-loop HTTP load generator: C workers on keep-alive connections, each sending its next
//! request as soon as the previous answer arrived; latency recorded per request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub(crate) type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub(crate) fn client(connections: usize) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(connections)
        .build(connector)
}

/// One request to make: built fresh for every call (workers may vary it by call number).
#[derive(Clone)]
pub(crate) struct Call {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Call {
    pub(crate) fn new(method: Method, url: impl Into<String>) -> Self {
        Self {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub(crate) fn json(self, body: Vec<u8>) -> Self {
        self.body(body).header("content-type", "application/json")
    }

    pub(crate) fn body(mut self, body: Vec<u8>) -> Self {
        self.body = Bytes::from(body);
        self
    }
}

/// Send one call; the body of a 200 answer, or an error naming the status.
pub(crate) async fn send(client: &HttpClient, call: &Call) -> anyhow::Result<Bytes> {
    let mut request = Request::builder()
        .method(call.method.clone())
        .uri(&call.url);
    for (name, value) in &call.headers {
        request = request.header(name, value);
    }
    let response = client
        .request(request.body(Full::new(call.body.clone()))?)
        .await
        .context("request failed")?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    if status != StatusCode::OK {
        bail!(
            "{status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        );
    }
    Ok(body)
}

#[derive(Debug)]
pub(crate) struct LoadReport {
    pub requests: usize,
    pub errors: usize,
    pub elapsed: Duration,
    /// Per-request latencies, sorted.
    pub latencies: Vec<Duration>,
    pub first_error: Option<String>,
}

impl LoadReport {
    pub(crate) fn throughput(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    pub(crate) fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let index =
            ((self.latencies.len() as f64 * p).ceil() as usize).clamp(1, self.latencies.len()) - 1;
        self.latencies[index]
    }

    pub(crate) fn summary(&self) -> String {
        format!(
            "requests={} errors={} throughput={:.0}/s p50={:.2}ms p99={:.2}ms max={:.2}ms",
            self.requests,
            self.errors,
            self.throughput(),
            ms(self.percentile(0.50)),
            ms(self.percentile(0.99)),
            ms(self.latencies.last().copied().unwrap_or_default()),
        )
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Run `concurrency` workers for `warmup` (not measured) then `duration`; `make(worker, n)` gives
/// worker's n-th call.
pub(crate) async fn run<F>(
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
    make: F,
) -> LoadReport
where
    F: Fn(usize, usize) -> Call + Send + Sync + 'static,
{
    let client = client(concurrency);
    let make = Arc::new(make);
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::with_capacity(concurrency);
    for worker in 0..concurrency {
        let (client, make, measuring, stop) = (
            client.clone(),
            Arc::clone(&make),
            Arc::clone(&measuring),
            Arc::clone(&stop),
        );
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            let mut first_error = None;
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let call = make(worker, n);
                n += 1;
                let started = Instant::now();
                let result = send(&client, &call).await;
                let took = started.elapsed();
                if !measuring.load(Ordering::Relaxed) {
                    continue;
                }
                match result {
                    Ok(_) => latencies.push(took),
                    Err(error) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| error.to_string());
                    }
                }
            }
            (latencies, errors, first_error)
        }));
    }
    tokio::time::sleep(warmup).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed();
    let mut report = LoadReport {
        requests: 0,
        errors: 0,
        elapsed,
        latencies: Vec::new(),
        first_error: None,
    };
    for worker in workers {
        if let Ok((latencies, errors, first_error)) = worker.await {
            report.errors += errors;
            report.latencies.extend(latencies);
            if report.first_error.is_none() {
                report.first_error = first_error;
            }
        }
    }
    report.requests = report.latencies.len();
    report.latencies.sort();
    report
}

/// What workers of a hand-written load loop share: whether their results count yet, and when
/// to stop.
#[derive(Clone, Default)]
pub(crate) struct Gate {
    measuring: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl Gate {
    pub(crate) fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// One worker's results.
#[derive(Default)]
pub(crate) struct Tally {
    latencies: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
}

impl Tally {
    /// Count one operation that took `took`, unless the warm-up is still on.
    pub(crate) fn record(&mut self, gate: &Gate, took: Duration, result: Result<(), String>) {
        if !gate.measuring.load(Ordering::Relaxed) {
            return;
        }
        match result {
            Ok(()) => self.latencies.push(took),
            Err(error) => {
                self.errors += 1;
                self.first_error.get_or_insert(error);
            }
        }
    }
}

/// Let `workers` (spawned with `gate`) warm up, measure for `duration`, stop them and merge.
pub(crate) async fn drive(
    gate: Gate,
    warmup: Duration,
    duration: Duration,
    workers: Vec<tokio::task::JoinHandle<Tally>>,
) -> LoadReport {
    tokio::time::sleep(warmup).await;
    gate.measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(duration).await;
    gate.stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed();
    let mut report = LoadReport {
        requests: 0,
        errors: 0,
        elapsed,
        latencies: Vec::new(),
        first_error: None,
    };
    for worker in workers {
        if let Ok(tally) = worker.await {
            report.errors += tally.errors;
            report.latencies.extend(tally.latencies);
            if report.first_error.is_none() {
                report.first_error = tally.first_error;
            }
        }
    }
    report.requests = report.latencies.len();
    report.latencies.sort();
    report
}
