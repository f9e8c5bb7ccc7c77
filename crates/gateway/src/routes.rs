//! Which upstream a hostname goes to, and hostname patterns (`name` or `*.name`, one label).

use std::sync::Arc;

use hyper::Uri;

use crate::headers::HeaderFamily;

/// `api.example.com` or `*.devices.example.com` (the wildcard matches exactly one label).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPattern(String);

impl HostPattern {
    /// Lowercased, without a trailing dot; `None` for an empty name or a wildcard not in front.
    pub fn parse(text: &str) -> Option<Self> {
        let lower = text.trim().trim_end_matches('.').to_ascii_lowercase();
        let bare = lower.strip_prefix("*.").unwrap_or(&lower);
        let valid = !bare.is_empty()
            && !bare.contains('*')
            && bare.split('.').all(|label| !label.is_empty());
        valid.then_some(Self(lower))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `host` (lowercase, no port) is this name, or one label below the wildcard's parent.
    pub fn matches(&self, host: &str) -> bool {
        match self.0.strip_prefix("*.") {
            None => self.0 == host,
            Some(parent) => host
                .strip_suffix(parent)
                .and_then(|label| label.strip_suffix('.'))
                .is_some_and(|label| !label.is_empty() && !label.contains('.')),
        }
    }
}

/// How an associated hostname treats client certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// The handshake refuses a missing, unknown, expired or revoked certificate.
    #[default]
    Require,
    /// (Cloudflare's behaviour) the handshake accepts any certificate or none; a request without
    /// a valid, unrevoked one gets 403, or is forwarded saying so (`forward_unverified`).
    Request,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "require" => Ok(Self::Require),
            "request" => Ok(Self::Request),
            other => Err(format!("{other:?} is not a mode: require or request")),
        }
    }
}

/// A route's own settings, over the gateway's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteOptions {
    /// Instead of the gateway's `--mode`.
    pub mode: Option<Mode>,
    /// `request` mode: forward requests without a valid certificate, with `cf-cert-presented`,
    /// `cf-cert-verified` and `cf-cert-revoked` saying so, instead of answering 403.
    pub forward_unverified: bool,
    /// Instead of the gateway's `--headers`.
    pub headers: Option<Vec<HeaderFamily>>,
    /// Refuse the route while no zone associates its hostname, rather than serve it without
    /// asking for a certificate.
    pub mtls_required: bool,
}

/// `HOST=URL`: requests for HOST are forwarded to URL (`http://`; the path is prefixed).
#[derive(Debug, Clone)]
pub struct Route {
    pub host: HostPattern,
    pub upstream: Uri,
    pub options: RouteOptions,
}

impl Route {
    /// A route from its parts, the upstream checked as `--route` checks it.
    pub fn new(host: &str, upstream: &str, options: RouteOptions) -> Result<Self, String> {
        let host = HostPattern::parse(host).ok_or_else(|| format!("{host:?} is not a host"))?;
        let upstream: Uri = upstream
            .parse()
            .map_err(|e| format!("{upstream:?} is not a URL: {e}"))?;
        if upstream.scheme_str() != Some("http") || upstream.authority().is_none() {
            return Err(format!(
                "{upstream}: upstreams are http://HOST[:PORT][/PATH] (TLS to the upstream is not \
                 supported yet)"
            ));
        }
        Ok(Self {
            host,
            upstream,
            options,
        })
    }
}

impl std::str::FromStr for Route {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (host, url) = text
            .split_once('=')
            .ok_or_else(|| format!("{text:?} is not HOST=URL"))?;
        Self::new(host, url, RouteOptions::default())
    }
}

/// `--routes-file`: the same routes as TOML, with per-route options.
///
/// ```toml
/// [[route]]
/// host = "api.example.com"
/// upstream = "http://127.0.0.1:9000"
/// mode = "request"              # or "require"; default: --mode
/// forward_unverified = true     # request mode: forward with cf-cert-* instead of 403
/// headers = ["cloudflare"]      # default: --headers
/// mtls = "required"             # refuse while no zone associates the host; default "optional"
/// ```
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RoutesFile {
    #[serde(default)]
    route: Vec<RouteEntry>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteEntry {
    host: String,
    upstream: String,
    mode: Option<String>,
    #[serde(default)]
    forward_unverified: bool,
    headers: Option<Vec<String>>,
    mtls: Option<String>,
}

/// Parse a routes file's text.
pub(crate) fn parse_routes_file(text: &str) -> Result<Vec<Route>, String> {
    let file: RoutesFile = toml::from_str(text).map_err(|e| e.to_string())?;
    file.route
        .into_iter()
        .map(|entry| {
            let mtls_required = match entry.mtls.as_deref() {
                None | Some("optional") => false,
                Some("required") => true,
                Some(other) => {
                    return Err(format!(
                        "{}: mtls = {other:?}: \"required\" or \"optional\"",
                        entry.host
                    ));
                }
            };
            let options = RouteOptions {
                mode: entry.mode.as_deref().map(str::parse).transpose()?,
                forward_unverified: entry.forward_unverified,
                headers: entry
                    .headers
                    .map(|names| names.iter().map(|n| n.parse()).collect())
                    .transpose()?,
                mtls_required,
            };
            Route::new(&entry.host, &entry.upstream, options)
        })
        .collect()
}

/// Read and parse a routes file.
pub(crate) fn read_routes_file(path: &std::path::Path) -> Result<Vec<Route>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse_routes_file(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The routes, most specific first: an exact name before a wildcard.
#[derive(Debug, Clone, Default)]
pub(crate) struct RouteTable {
    routes: Vec<Arc<Route>>,
}

impl RouteTable {
    /// The table, or why it cannot be one (no routes, a host listed twice).
    pub(crate) fn new(routes: Vec<Route>) -> Result<Self, String> {
        if routes.is_empty() {
            return Err("the gateway needs at least one route".into());
        }
        let mut hosts = std::collections::HashSet::new();
        for route in &routes {
            if !hosts.insert(&route.host) {
                return Err(format!("{} is routed twice", route.host.as_str()));
            }
        }
        let mut routes: Vec<Arc<Route>> = routes.into_iter().map(Arc::new).collect();
        routes.sort_by_key(|route| route.host.as_str().starts_with("*."));
        Ok(Self { routes })
    }

    /// The route serving `host`.
    pub(crate) fn find(&self, host: &str) -> Option<&Arc<Route>> {
        self.routes.iter().find(|route| route.host.matches(host))
    }

    pub(crate) fn patterns(&self) -> Vec<HostPattern> {
        self.routes.iter().map(|route| route.host.clone()).collect()
    }

    pub(crate) fn hosts(&self) -> Vec<String> {
        self.routes
            .iter()
            .map(|route| route.host.as_str().to_string())
            .collect()
    }
}

/// `--route` routes plus the routes file's.
pub(crate) fn all(flags: &[Route], file: Option<&std::path::Path>) -> Result<RouteTable, String> {
    let mut routes = flags.to_vec();
    if let Some(file) = file {
        routes.extend(read_routes_file(file)?);
    }
    RouteTable::new(routes)
}

/// Re-read the routes file on SIGHUP and when it changes; a file that does not parse keeps the
/// routes in force (and says why).
pub(crate) async fn watch(
    flags: Vec<Route>,
    file: std::path::PathBuf,
    shared: Arc<crate::proxy::Shared>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    use tokio::signal::unix::{SignalKind, signal};
    let modified = |file: &std::path::Path| {
        std::fs::metadata(file)
            .and_then(|meta| meta.modified())
            .ok()
    };
    let mut hangup = signal(SignalKind::hangup()).ok();
    let mut seen = modified(&file);
    loop {
        let asked = tokio::select! {
            () = tokio::time::sleep(std::time::Duration::from_secs(1)) => false,
            Some(()) = async { hangup.as_mut()?.recv().await } => true,
            () = crate::stopping(&mut stopped) => return,
        };
        let now = modified(&file);
        if !asked && now == seen {
            continue;
        }
        seen = now;
        match all(&flags, Some(&file)) {
            Ok(table) => {
                tracing::info!(routes = table.routes.len(), "gateway: routes re-read");
                shared.routes.store(Arc::new(table));
            }
            Err(error) => tracing::warn!(%error, "gateway: keeping the routes in force"),
        }
    }
}

/// The host part of a `Host` header or `:authority` (port dropped), lowercased.
pub(crate) fn host_without_port(authority: &str) -> String {
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_a_name_or_one_label_below_a_wildcard() {
        let exact = HostPattern::parse("API.example.com.").unwrap();
        assert!(exact.matches("api.example.com"));
        assert!(!exact.matches("x.api.example.com"));
        let wildcard = HostPattern::parse("*.devices.example.com").unwrap();
        assert!(wildcard.matches("a.devices.example.com"));
        assert!(!wildcard.matches("devices.example.com"));
        assert!(!wildcard.matches("a.b.devices.example.com"));
        assert!(!wildcard.matches("xdevices.example.com"));
        assert!(HostPattern::parse("a.*.com").is_none());
        let table = RouteTable::new(vec![
            "*.example.com=http://127.0.0.1:1".parse().unwrap(),
            "api.example.com=http://127.0.0.1:2".parse().unwrap(),
        ])
        .unwrap();
        assert_eq!(
            table.find("api.example.com").unwrap().upstream,
            "http://127.0.0.1:2"
        );
        assert_eq!(host_without_port("API.example.com:8443"), "api.example.com");
        assert!("x=https://a".parse::<Route>().is_err());
        let twice = vec![
            "api.example.com=http://127.0.0.1:1".parse().unwrap(),
            "API.example.com=http://127.0.0.1:2".parse().unwrap(),
        ];
        assert!(RouteTable::new(twice).unwrap_err().contains("twice"));
    }

    #[test]
    fn routes_files_carry_options_and_refuse_what_they_do_not_know() {
        let routes = parse_routes_file(
            r#"
            [[route]]
            host = "api.example.com"
            upstream = "http://127.0.0.1:9000/v1"
            mode = "request"
            forward_unverified = true
            headers = ["cloudflare", "xfcc"]
            mtls = "required"

            [[route]]
            host = "*.devices.example.com"
            upstream = "http://127.0.0.1:9001"
            "#,
        )
        .unwrap();
        assert_eq!(routes.len(), 2);
        assert_eq!(
            routes[0].options,
            RouteOptions {
                mode: Some(Mode::Request),
                forward_unverified: true,
                headers: Some(vec![HeaderFamily::Cloudflare, HeaderFamily::Xfcc]),
                mtls_required: true,
            }
        );
        assert_eq!(routes[1].options, RouteOptions::default());
        for (bad, says) in [
            (
                "[[route]]\nhost = \"a.example\"\nupstream = \"http://x\"\nmod = \"request\"",
                "mod",
            ),
            (
                "[[route]]\nhost = \"a.example\"\nupstream = \"http://x\"\nmtls = \"yes\"",
                "mtls",
            ),
            (
                "[[route]]\nhost = \"a.example\"\nupstream = \"ftp://x\"",
                "http://",
            ),
            ("[[route]]\nhost = \"a.example\"", "upstream"),
        ] {
            let error = parse_routes_file(bad).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }
}
