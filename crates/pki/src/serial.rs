//! Certificate serial numbers: random, positive, 16 octets.

use ring::rand::{SecureRandom, SystemRandom};

/// A certificate serial number with 126 bits of entropy.
///
/// RFC 5280 wants serials positive and at most 20 octets; CA/B forum practice wants ≥ 64 bits of
/// CSPRNG output. We draw 16 bytes, clear the top bit (positive in two's complement DER) and set
/// the next one (so the DER encoding is always exactly 16 octets, no leading-zero special cases).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SerialNumber(u128);

impl SerialNumber {
    pub fn random() -> Self {
        let mut bytes = [0u8; 16];
        // SystemRandom only fails when the OS has no entropy source at all; that is a broken host,
        // not a request error, and issuing with a predictable serial would be worse than stopping.
        SystemRandom::new()
            .fill(&mut bytes)
            .expect("operating system random source unavailable");
        Self::from_random_bytes(bytes)
    }

    /// Shape 16 random bytes into a valid serial (exposed for deterministic tests).
    pub fn from_random_bytes(mut bytes: [u8; 16]) -> Self {
        bytes[0] = (bytes[0] & 0x3f) | 0x40;
        Self(u128::from_be_bytes(bytes))
    }

    /// The value, for compact sets of serials.
    pub fn value(self) -> u128 {
        self.0
    }

    /// Big-endian octets as they appear in the certificate.
    pub fn to_bytes(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }

    /// The decimal form the API reports in `serial_number`.
    pub fn to_decimal(self) -> String {
        self.0.to_string()
    }

    /// From big-endian octets as found in a certificate or OCSP CertID; `None` when the value
    /// cannot be one of ours (zero, negative, or wider than 128 bits).
    pub fn from_be_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.first().is_some_and(|b| b & 0x80 != 0) {
            return None;
        }
        let significant = &bytes[bytes.iter().take_while(|b| **b == 0).count()..];
        if significant.is_empty() || significant.len() > 16 {
            return None;
        }
        let mut padded = [0u8; 16];
        padded[16 - significant.len()..].copy_from_slice(significant);
        Some(Self(u128::from_be_bytes(padded)))
    }

    /// Parse the decimal form back (as stored).
    pub fn from_decimal(text: &str) -> Option<Self> {
        text.parse::<u128>().ok().filter(|v| *v != 0).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_is_positive_sixteen_octets_and_round_trips() {
        for bytes in [[0u8; 16], [0xff; 16], [0x80; 16]] {
            let serial = SerialNumber::from_random_bytes(bytes);
            let octets = serial.to_bytes();
            assert_eq!(octets[0] & 0x80, 0, "top bit must be clear");
            assert_ne!(octets[0], 0, "no leading zero octet");
            assert_eq!(
                SerialNumber::from_decimal(&serial.to_decimal()),
                Some(serial)
            );
        }
    }

    #[test]
    fn octets_round_trip_and_foreign_shapes_are_refused() {
        let serial = SerialNumber::random();
        assert_eq!(
            SerialNumber::from_be_bytes(&serial.to_bytes()),
            Some(serial)
        );
        let mut padded = vec![0u8];
        padded.extend_from_slice(&serial.to_bytes());
        assert_eq!(SerialNumber::from_be_bytes(&padded), Some(serial));
        assert_eq!(
            SerialNumber::from_be_bytes(&[0x01, 0x02]).map(|s| s.to_decimal()),
            Some("258".into())
        );
        assert_eq!(SerialNumber::from_be_bytes(&[]), None);
        assert_eq!(SerialNumber::from_be_bytes(&[0, 0]), None);
        assert_eq!(SerialNumber::from_be_bytes(&[0x80, 1]), None, "negative");
        assert_eq!(
            SerialNumber::from_be_bytes(&[1; 17]),
            None,
            "wider than ours"
        );
    }

    #[test]
    fn random_serials_differ() {
        assert_ne!(SerialNumber::random(), SerialNumber::random());
    }
}
