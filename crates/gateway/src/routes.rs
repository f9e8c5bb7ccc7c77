//! Which upstream a hostname goes to, and hostname patterns (`name` or `*.name`, one label).

use hyper::Uri;

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

/// `HOST=URL`: requests for HOST are forwarded to URL (`http://`; the path is prefixed).
#[derive(Debug, Clone)]
pub struct Route {
    pub host: HostPattern,
    pub upstream: Uri,
}

impl std::str::FromStr for Route {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (host, url) = text
            .split_once('=')
            .ok_or_else(|| format!("{text:?} is not HOST=URL"))?;
        let host = HostPattern::parse(host).ok_or_else(|| format!("{host:?} is not a host"))?;
        let upstream: Uri = url
            .parse()
            .map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        if upstream.scheme_str() != Some("http") || upstream.authority().is_none() {
            return Err(format!(
                "{url:?}: upstreams are http://HOST[:PORT][/PATH] (TLS to the upstream is not \
                 supported yet)"
            ));
        }
        Ok(Self { host, upstream })
    }
}

/// The routes, most specific first: an exact name before a wildcard.
#[derive(Debug, Clone, Default)]
pub(crate) struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    pub(crate) fn new(mut routes: Vec<Route>) -> Self {
        routes.sort_by_key(|route| route.host.as_str().starts_with("*."));
        Self { routes }
    }

    /// The index of the route serving `host`.
    pub(crate) fn find(&self, host: &str) -> Option<usize> {
        self.routes
            .iter()
            .position(|route| route.host.matches(host))
    }

    pub(crate) fn get(&self, index: usize) -> &Route {
        &self.routes[index]
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
            table.get(table.find("api.example.com").unwrap()).upstream,
            "http://127.0.0.1:2"
        );
        assert_eq!(host_without_port("API.example.com:8443"), "api.example.com");
        assert!("x=https://a".parse::<Route>().is_err());
    }
}
