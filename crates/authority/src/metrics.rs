//! The service's Prometheus metrics (`/metrics` on `serve`): counters bumped where things happen,
//! and gauges read from the store when scraped. The gateway keeps its own registry with the same
//! library and conventions (`clientca_gateway_…`); the HTTP layer registers its families here.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Metric, Registry, Unit};
use store::{CertificateStatus, GaugeStore};

/// How long the per-zone expiry gauges are reused: they read an index range, which at a million
/// certificates is worth doing once a minute, not on every scrape.
const EXPIRING_REFRESH: Duration = Duration::from_secs(60);

/// A requested state change (the API's DELETE and PATCH).
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)] // label values as Prometheus users write them
pub(crate) enum Change {
    revocation,
    reactivation,
}

/// How an OCSP request was answered.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub(crate) enum OcspOutcome {
    good,
    revoked,
    unknown,
    /// Several certificates in one request.
    multiple,
    malformed_request,
    unauthorized,
    try_later,
    internal_error,
}

#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
enum Lookup {
    hit,
    miss,
}

#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
enum PassOutcome {
    /// The pass ran (with or without anything to publish).
    completed,
    /// Another replica held the publication lock.
    skipped,
    failed,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChangeLabels {
    change: Change,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: OcspOutcome,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LookupLabels {
    result: Lookup,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PassLabels {
    outcome: PassOutcome,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CaLabels {
    ca_id: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ExpiringLabels {
    zone_id: String,
    /// `7d` or `30d`.
    within: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: &'static str,
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

pub struct Metrics {
    registry: Mutex<Registry>,
    issued: Counter,
    requested: Family<ChangeLabels, Counter>,
    settled: Family<StatusLabels, Counter>,
    passes: Family<PassLabels, Counter>,
    pass_seconds: Histogram,
    crl_bytes: Family<CaLabels, Gauge>,
    ocsp: Family<OutcomeLabels, Counter>,
    ocsp_presigned: Counter,
    token_lookups: Family<LookupLabels, Counter>,
    pending: Family<StatusLabels, Gauge>,
    expiring: Family<ExpiringLabels, Gauge>,
    expiring_read: Mutex<Option<Instant>>,
    pools: Family<PoolLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("clientca");
        let metrics = Self {
            issued: Counter::default(),
            requested: Family::default(),
            settled: Family::default(),
            passes: Family::default(),
            pass_seconds: Histogram::new(exponential_buckets(0.001, 4.0, 10)),
            crl_bytes: Family::default(),
            ocsp: Family::default(),
            ocsp_presigned: Counter::default(),
            token_lookups: Family::default(),
            pending: Family::default(),
            expiring: Family::default(),
            expiring_read: Mutex::new(None),
            pools: Family::default(),
            registry: Mutex::new(Registry::default()),
        };
        registry.register(
            "build",
            "The running clientca's version",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
        registry.register(
            "certificates_issued",
            "Client certificates issued",
            metrics.issued.clone(),
        );
        registry.register(
            "certificate_changes_requested",
            "Revocations and reactivations requested through the API (changes only)",
            metrics.requested.clone(),
        );
        registry.register(
            "certificates_settled",
            "Pending changes published and settled, by the status reached",
            metrics.settled.clone(),
        );
        registry.register(
            "certificates_pending",
            "Certificates waiting for the publication worker, by status",
            metrics.pending.clone(),
        );
        registry.register(
            "publication_passes",
            "Publication passes, by outcome",
            metrics.passes.clone(),
        );
        registry.register_with_unit(
            "publication_pass_duration",
            "Time a publication pass took, signing and committing included",
            Unit::Seconds,
            metrics.pass_seconds.clone(),
        );
        registry.register_with_unit(
            "crl_size",
            "Size of each CA's latest CRL (DER)",
            Unit::Bytes,
            metrics.crl_bytes.clone(),
        );
        registry.register(
            "ocsp_responses",
            "OCSP requests answered, by outcome",
            metrics.ocsp.clone(),
        );
        registry.register(
            "ocsp_presigned_responses",
            "OCSP answers served from the cache or pre-signed by the worker, not signed per request",
            metrics.ocsp_presigned.clone(),
        );
        registry.register(
            "token_cache_lookups",
            "API credential lookups, by whether the token cache answered",
            metrics.token_lookups.clone(),
        );
        registry.register(
            "zone_certificates_expiring",
            "Active certificates per zone expiring within 7 or 30 days (refreshed each minute)",
            metrics.expiring.clone(),
        );
        registry.register(
            "database_connections",
            "Database pool connections, by pool and state (idle or in_use)",
            metrics.pools.clone(),
        );
        *metrics.registry.lock().unwrap_or_else(|p| p.into_inner()) = registry;
        metrics
    }
}

impl Metrics {
    /// Add a metric of another layer (the HTTP layer's request counters) under `clientca_`.
    pub fn register(&self, name: &str, help: &str, metric: impl Metric) {
        self.registry().register(name, help, metric);
    }

    /// As [`Metrics::register`], with a unit suffix (`_seconds`, `_bytes`).
    pub fn register_with_unit(&self, name: &str, help: &str, unit: Unit, metric: impl Metric) {
        self.registry().register_with_unit(name, help, unit, metric);
    }

    pub(crate) fn issued(&self) {
        self.issued.inc();
    }

    pub(crate) fn requested(&self, change: Change) {
        self.requested.get_or_create(&ChangeLabels { change }).inc();
    }

    pub(crate) fn settled(&self, status: CertificateStatus, count: u64) {
        self.settled
            .get_or_create(&StatusLabels {
                status: status.as_str(),
            })
            .inc_by(count);
    }

    pub(crate) fn pass(&self, outcome: Result<bool, ()>, took: Duration) {
        let outcome = match outcome {
            Ok(true) => PassOutcome::completed,
            Ok(false) => PassOutcome::skipped,
            Err(()) => PassOutcome::failed,
        };
        self.passes.get_or_create(&PassLabels { outcome }).inc();
        self.pass_seconds.observe(took.as_secs_f64());
    }

    pub(crate) fn crl_size(&self, ca_id: &store::CaId, bytes: usize) {
        self.crl_bytes
            .get_or_create(&CaLabels {
                ca_id: ca_id.to_string(),
            })
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    pub(crate) fn ocsp(&self, outcome: OcspOutcome) {
        self.ocsp.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    pub(crate) fn ocsp_presigned(&self) {
        self.ocsp_presigned.inc();
    }

    pub(crate) fn token_lookup(&self, cached: bool) {
        let result = if cached { Lookup::hit } else { Lookup::miss };
        self.token_lookups
            .get_or_create(&LookupLabels { result })
            .inc();
    }

    /// The text exposition (OpenMetrics), after reading the gauges that live in the store.
    pub(crate) async fn render(&self, store: &dyn GaugeStore, now: time::OffsetDateTime) -> String {
        match store.pending_counts().await {
            Ok(counts) => {
                for (status, count) in counts {
                    self.pending
                        .get_or_create(&StatusLabels {
                            status: status.as_str(),
                        })
                        .set(i64::try_from(count).unwrap_or(i64::MAX));
                }
            }
            Err(error) => tracing::warn!(%error, "metrics: cannot count pending certificates"),
        }
        if self.expiring_is_stale() {
            match store.expiring_soon(now).await {
                Ok(zones) => {
                    self.expiring.clear();
                    for zone in zones {
                        for (within, count) in
                            [("7d", zone.within_7_days), ("30d", zone.within_30_days)]
                        {
                            self.expiring
                                .get_or_create(&ExpiringLabels {
                                    zone_id: zone.zone_id.to_string(),
                                    within,
                                })
                                .set(i64::try_from(count).unwrap_or(i64::MAX));
                        }
                    }
                    *self.expiring_read.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some(Instant::now());
                }
                Err(error) => tracing::warn!(%error, "metrics: cannot count expiring certificates"),
            }
        }
        for pool in store.pool_states() {
            let idle = pool.idle.min(pool.open);
            for (state, count) in [("idle", idle), ("in_use", pool.open - idle)] {
                self.pools
                    .get_or_create(&PoolLabels {
                        pool: pool.name,
                        state,
                    })
                    .set(i64::from(count));
            }
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry());
        text
    }

    fn expiring_is_stale(&self) -> bool {
        self.expiring_read
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none_or(|read| read.elapsed() >= EXPIRING_REFRESH)
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        // Poisoned only by a panic mid-registration; the registry is still usable.
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }
}
