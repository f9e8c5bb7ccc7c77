//! Identifier formats: accounts, zones and tokens use 32 lowercase hex characters (Cloudflare's
//! form); certificates and CAs use hyphenated UUIDs (36 characters).

use uuid::Uuid;

/// A new 32-hex id for an account, zone or token.
pub fn new_hex_id() -> String {
    Uuid::new_v4().simple().to_string()
}

/// A new certificate id. UUIDv7 sorts by creation time, which keeps index inserts local and makes
/// the list order's id tie-break follow creation order.
pub fn new_certificate_id() -> String {
    Uuid::now_v7().hyphenated().to_string()
}

pub fn new_ca_id() -> String {
    Uuid::new_v4().hyphenated().to_string()
}

/// Whether `id` has the shape of a certificate or CA id (a hyphenated UUID). Anything else cannot
/// exist, so lookups answer "not found" without asking the store.
pub fn is_uuid(id: &str) -> bool {
    id.len() == 36 && Uuid::try_parse(id).is_ok()
}

pub fn is_hex_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_shapes() {
        assert!(is_hex_id(&new_hex_id()));
        assert!(!is_hex_id(&"A".repeat(32)));
        assert!(!is_hex_id("abc"));
        assert_eq!(new_certificate_id().len(), 36);
        assert_eq!(new_ca_id().len(), 36);
        assert!(is_uuid(&new_certificate_id()));
        assert!(!is_uuid("nope") && !is_uuid(&new_hex_id()) && !is_uuid("\0"));
        let (first, second) = (new_certificate_id(), new_certificate_id());
        assert!(first < second, "v7 ids increase: {first} {second}");
    }
}
