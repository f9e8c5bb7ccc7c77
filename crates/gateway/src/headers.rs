//! What the upstream learns about the client certificate, and the inbound copies it must never
//! see: every client-certificate header family is stripped from every request first.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hyper::HeaderMap;
use hyper::header::{HeaderName, HeaderValue};

use authority::PresentedCertificate;

/// Which families of client-certificate headers go upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderFamily {
    /// RFC 9440 `Client-Cert` / `Client-Cert-Chain` (the default).
    Rfc9440,
    /// Cloudflare's `cf-cert-*` and `Cf-Client-Cert-*`.
    Cloudflare,
    /// Envoy's `X-Forwarded-Client-Cert`.
    Xfcc,
}

impl std::str::FromStr for HeaderFamily {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "rfc9440" => Ok(Self::Rfc9440),
            "cloudflare" => Ok(Self::Cloudflare),
            "xfcc" => Ok(Self::Xfcc),
            other => Err(format!(
                "{other:?} is not a header family: rfc9440, cloudflare or xfcc"
            )),
        }
    }
}

/// A certificate the client presented and the handshake accepted.
#[derive(Debug, Clone)]
pub(crate) struct Presented {
    pub(crate) der: Vec<u8>,
    pub(crate) chain: Vec<Vec<u8>>,
    pub(crate) facts: PresentedCertificate,
}

/// Whether a header name belongs to a client-certificate family (any letter case: header names
/// arrive lowercased from hyper).
fn is_certificate_header(name: &str) -> bool {
    name == "client-cert"
        || name == "client-cert-chain"
        || name.starts_with("cf-cert-")
        || name.starts_with("cf-client-cert-")
        || name == "x-forwarded-client-cert"
        || name.starts_with("x-forwarded-tls-client-cert")
}

/// Hop-by-hop headers (RFC 9110 §7.6.1) and the proxy headers this gateway sets itself.
fn is_replaced_here(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "x-forwarded-for"
            | "x-forwarded-proto"
            | "x-forwarded-host"
    )
}

/// Remove every inbound copy of a client-certificate header (and hop-by-hop headers).
pub(crate) fn strip_inbound(headers: &mut HeaderMap) {
    let names: Vec<HeaderName> = headers
        .keys()
        .filter(|name| is_certificate_header(name.as_str()) || is_replaced_here(name.as_str()))
        .cloned()
        .collect();
    for name in names {
        headers.remove(&name);
    }
}

fn set(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), value);
    }
}

/// RFC 8941 byte sequence: `:` standard base64 with padding `:`.
fn byte_sequence(der: &[u8]) -> String {
    format!(":{}:", STANDARD.encode(der))
}

/// `Mar 21 13:35:00 2022 GMT`, as OpenSSL prints times.
fn openssl_time(at: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[month repr:short] [day padding:space] [hour]:[minute]:[second] [year] GMT"
    );
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

/// What the gateway concluded about a request's client certificate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Verdict<'a> {
    /// The certificate the client presented, if any (and if the host asked for one).
    pub(crate) presented: Option<&'a Presented>,
    /// It chains to the account's CAs and is within its validity.
    pub(crate) verified: bool,
    /// It is published as revoked (only said of a verified certificate).
    pub(crate) revoked: bool,
}

impl Verdict<'_> {
    /// A certificate the origin may rely on.
    fn trusted(&self) -> Option<&Presented> {
        self.presented.filter(|_| self.verified && !self.revoked)
    }
}

fn flag(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

/// Add the enabled families. The identity families (RFC 9440, XFCC) describe only a trusted
/// certificate; Cloudflare's also say what was presented and why it is not trusted.
pub(crate) fn add(headers: &mut HeaderMap, families: &[HeaderFamily], verdict: Verdict<'_>) {
    for family in families {
        match family {
            HeaderFamily::Rfc9440 => {
                if let Some(cert) = verdict.trusted() {
                    set(headers, "client-cert", &byte_sequence(&cert.der));
                    if !cert.chain.is_empty() {
                        let chain: Vec<String> =
                            cert.chain.iter().map(|c| byte_sequence(c)).collect();
                        set(headers, "client-cert-chain", &chain.join(", "));
                    }
                }
            }
            HeaderFamily::Cloudflare => {
                set(
                    headers,
                    "cf-cert-presented",
                    flag(verdict.presented.is_some()),
                );
                set(headers, "cf-cert-verified", flag(verdict.verified));
                set(headers, "cf-cert-revoked", flag(verdict.revoked));
                if let Some(cert) = verdict.presented {
                    let facts = &cert.facts;
                    set(
                        headers,
                        "cf-cert-fingerprint-sha256",
                        &facts.fingerprint_sha256,
                    );
                    set(headers, "cf-cert-serial", &facts.serial_hex);
                    set(headers, "cf-cert-issuer-dn", &facts.issuer_dn);
                    set(headers, "cf-cert-subject-dn", &facts.subject_dn);
                    set(
                        headers,
                        "cf-cert-not-before",
                        &openssl_time(facts.not_before),
                    );
                    set(headers, "cf-cert-not-after", &openssl_time(facts.not_after));
                    set(
                        headers,
                        "cf-client-cert-der-base64",
                        &STANDARD.encode(&cert.der),
                    );
                    set(headers, "cf-client-cert-sha256", &facts.fingerprint_sha256);
                }
            }
            HeaderFamily::Xfcc => {
                if let Some(cert) = verdict.trusted() {
                    let subject = cert.facts.subject_dn.replace('"', "\\\"");
                    set(
                        headers,
                        "x-forwarded-client-cert",
                        &format!(
                            "Hash={};Subject=\"{subject}\"",
                            cert.facts.fingerprint_sha256
                        ),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_stripped_in_any_case_and_number() {
        let mut headers = HeaderMap::new();
        for name in [
            "Client-Cert",
            "client-cert-chain",
            "CF-Cert-Verified",
            "cf-cert-revoked",
            "Cf-Client-Cert-Sha256",
            "X-Forwarded-Client-Cert",
            "x-forwarded-tls-client-cert-info",
            "X-Forwarded-For",
            "Connection",
        ] {
            let name = HeaderName::from_bytes(name.as_bytes()).unwrap();
            headers.append(name.clone(), HeaderValue::from_static("forged"));
            headers.append(name, HeaderValue::from_static("forged again"));
        }
        headers.insert("x-kept", HeaderValue::from_static("yes"));
        strip_inbound(&mut headers);
        assert_eq!(headers.len(), 1, "{headers:?}");
        assert_eq!(headers["x-kept"], "yes");
    }

    #[test]
    fn times_print_like_openssl() {
        let at = time::macros::datetime!(2022-03-01 13:35:00 UTC);
        assert_eq!(openssl_time(at), "Mar  1 13:35:00 2022 GMT");
    }
}
