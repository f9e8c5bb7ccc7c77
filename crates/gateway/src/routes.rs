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

/// The routes, most specific first: an exact name before a wildcard.
#[derive(Debug, Clone, Default)]
pub(crate) struct RouteTable {
    routes: Vec<Arc<Route>>,
}

impl RouteTable {
    pub(crate) fn new(routes: Vec<Route>) -> Self {
        let mut routes: Vec<Arc<Route>> = routes.into_iter().map(Arc::new).collect();
        routes.sort_by_key(|route| route.host.as_str().starts_with("*."));
        Self { routes }
    }

    /// The route serving `host`.
    pub(crate) fn find(&self, host: &str) -> Option<&Arc<Route>> {
        self.routes.iter().find(|route| route.host.matches(host))
    }

    pub(crate) fn hosts(&self) -> Vec<String> {
        self.routes
            .iter()
            .map(|route| route.host.as_str().to_string())
            .collect()
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
        ]);
        assert_eq!(
            table.find("api.example.com").unwrap().upstream,
            "http://127.0.0.1:2"
        );
        assert_eq!(host_without_port("API.example.com:8443"), "api.example.com");
        assert!("x=https://a".parse::<Route>().is_err());
    }
}
