//! The live enforcement state: which hostnames require which account's CAs, the TLS
//! configuration of each account, and the serials each account's CAs have published as revoked.
//! A refresher rebuilds it from the database every `refresh_interval` (sooner when the
//! authority signals a publication); a state older than `max_staleness` fails closed.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use authority::{AccountId, Authority, CaId, EnforcementView};
use rustls::server::ResolvesServerCert;

use crate::routes::HostPattern;
use crate::tls::AccountTls;

/// One consistent view, swapped whole.
pub(crate) struct Snapshot {
    /// Associated hostnames, exact names before wildcards.
    hosts: Vec<(HostPattern, AccountId)>,
    /// The TLS of each account that has hostnames (its CAs, its session caches).
    configs: HashMap<AccountId, Arc<AccountTls>>,
    /// Published revocations of each account's CAs (their serials' values).
    revoked: HashMap<AccountId, Arc<HashSet<u128>>>,
    /// When this snapshot was read from the database.
    refreshed_at: Instant,
}

pub(crate) struct LiveState {
    current: ArcSwap<Snapshot>,
    max_staleness: Duration,
}

impl LiveState {
    fn new(max_staleness: Duration) -> Self {
        Self {
            current: ArcSwap::from_pointee(Snapshot {
                hosts: Vec::new(),
                configs: HashMap::new(),
                revoked: HashMap::new(),
                // Nothing read yet: stale until the first refresh.
                refreshed_at: Instant::now() - max_staleness - Duration::from_secs(1),
            }),
            max_staleness,
        }
    }

    /// The account whose CAs `host` requires, if it is associated.
    pub(crate) fn account_for(&self, host: &str) -> Option<AccountId> {
        let snapshot = self.current.load();
        snapshot
            .hosts
            .iter()
            .find(|(pattern, _)| pattern.matches(host))
            .map(|(_, account)| account.clone())
    }

    pub(crate) fn tls_for(&self, account: &AccountId) -> Option<Arc<AccountTls>> {
        self.current.load().configs.get(account).cloned()
    }

    /// Whether `serial` is published as revoked by one of `account`'s CAs.
    pub(crate) fn is_revoked(&self, account: &AccountId, serial: u128) -> bool {
        self.current
            .load()
            .revoked
            .get(account)
            .is_some_and(|set| set.contains(&serial))
    }

    /// Time since the state was last read from the database.
    pub(crate) fn age(&self) -> Duration {
        self.current.load().refreshed_at.elapsed()
    }

    /// Whether associated hostnames may be served: the state is recent enough to trust.
    pub(crate) fn is_fresh(&self) -> bool {
        self.age() <= self.max_staleness
    }

    pub(crate) fn revoked_count(&self) -> usize {
        self.current
            .load()
            .revoked
            .values()
            .map(|set| set.len())
            .sum()
    }

    pub(crate) fn associated_count(&self) -> usize {
        self.current.load().hosts.len()
    }
}

/// What the refresher keeps between rounds, to redo only what changed.
struct Refresher {
    authority: Arc<Authority>,
    state: Arc<LiveState>,
    resolver: Arc<dyn ResolvesServerCert>,
    /// Per CA: the CRL number its set was read from, and the set.
    crls: HashMap<CaId, (i64, Arc<HashSet<u128>>)>,
    /// Per account: the CA certificates its TLS was built with, and the TLS.
    configs: HashMap<AccountId, (Vec<Vec<u8>>, Arc<AccountTls>)>,
}

impl Refresher {
    async fn refresh(&mut self) -> Result<(), authority::Error> {
        let numbers = self.authority.published_crl_numbers().await?;
        for (ca_id, number) in &numbers {
            if self.crls.get(ca_id).is_some_and(|(seen, _)| seen == number) {
                continue;
            }
            if let Some((number, serials)) = self.authority.published_revocations(ca_id).await? {
                let set: HashSet<u128> = serials.into_iter().map(|s| s.value()).collect();
                self.crls.insert(ca_id.clone(), (number, Arc::new(set)));
            }
        }
        let view = self.authority.enforcement_view().await?;
        for refused in &view.refused {
            tracing::warn!(association = %refused, "hostname association not enforced");
        }
        self.rebuild(&view);
        Ok(())
    }

    fn rebuild(&mut self, view: &EnforcementView) {
        // Per account: the CA certificates its hostnames trust (managed, then uploaded), and
        // the managed CAs whose published revocations apply.
        let mut ders_of: HashMap<&AccountId, Vec<&Vec<u8>>> = HashMap::new();
        let mut managed_of: HashMap<&AccountId, Vec<&CaId>> = HashMap::new();
        for ca in &view.cas {
            ders_of
                .entry(&ca.account_id)
                .or_default()
                .push(&ca.certificate_der);
            managed_of.entry(&ca.account_id).or_default().push(&ca.id);
        }
        for uploaded in &view.uploaded {
            ders_of
                .entry(&uploaded.account_id)
                .or_default()
                .extend(&uploaded.certificates_der);
        }
        let mut hosts: Vec<(HostPattern, AccountId)> = view
            .hosts
            .iter()
            .filter_map(|host| Some((HostPattern::parse(&host.hostname)?, host.account_id.clone())))
            .collect();
        hosts.sort_by_key(|(pattern, _)| pattern.as_str().starts_with("*."));

        let mut configs = HashMap::new();
        let mut revoked = HashMap::new();
        for (_, account) in &hosts {
            if configs.contains_key(account) {
                continue;
            }
            let ders: Vec<Vec<u8>> = ders_of
                .get(account)
                .map(|ders| ders.iter().map(|der| (*der).clone()).collect())
                .unwrap_or_default();
            let config = match self.configs.get(account) {
                Some((built_with, config)) if *built_with == ders => Arc::clone(config),
                _ => match AccountTls::new(
                    account.clone(),
                    &ders,
                    Arc::clone(&self.state),
                    Arc::clone(&self.resolver),
                ) {
                    Ok(config) => {
                        let config = Arc::new(config);
                        self.configs
                            .insert(account.clone(), (ders, Arc::clone(&config)));
                        config
                    }
                    Err(error) => {
                        tracing::warn!(%account, %error, "cannot build the account's TLS configuration");
                        continue;
                    }
                },
            };
            configs.insert(account.clone(), config);
            let sets: Vec<&Arc<HashSet<u128>>> = managed_of
                .get(account)
                .into_iter()
                .flatten()
                .filter_map(|id| self.crls.get(*id).map(|(_, set)| set))
                .collect();
            let set = match sets.as_slice() {
                [one] => Arc::clone(one),
                many => Arc::new(many.iter().flat_map(|set| set.iter().copied()).collect()),
            };
            revoked.insert(account.clone(), set);
        }
        self.state.current.store(Arc::new(Snapshot {
            hosts,
            configs,
            revoked,
            refreshed_at: Instant::now(),
        }));
    }
}

/// Start the state and its refresher; the first refresh has happened when this returns (or the
/// state is stale and associated hosts are refused until one succeeds).
pub(crate) async fn start(
    authority: Arc<Authority>,
    resolver: Arc<dyn ResolvesServerCert>,
    refresh_interval: Duration,
    max_staleness: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> (Arc<LiveState>, tokio::task::JoinHandle<()>) {
    let state = Arc::new(LiveState::new(max_staleness));
    let mut refresher = Refresher {
        authority: Arc::clone(&authority),
        state: Arc::clone(&state),
        resolver,
        crls: HashMap::new(),
        configs: HashMap::new(),
    };
    if let Err(error) = refresher.refresh().await {
        tracing::warn!(%error, "gateway: cannot read the enforcement state yet");
    }
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(refresh_interval) => {}
                () = authority.published() => {}
                () = crate::stopping(&mut shutdown) => break,
            }
            if let Err(error) = refresher.refresh().await {
                tracing::warn!(%error, age_ms = refresher.state.age().as_millis() as u64,
                    "gateway: cannot refresh the enforcement state");
            }
        }
    });
    (state, task)
}
