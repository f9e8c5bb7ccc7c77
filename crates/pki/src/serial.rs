//! Certificate serial numbers: positive, 16 octets, random or time-ordered.

use ring::rand::{SecureRandom, SystemRandom};
use time::OffsetDateTime;

/// Bits of CSPRNG output below the time in a time-ordered serial (CA/B wants at least 64).
const ORDERED_RANDOM_BITS: u32 = 78;

/// A certificate serial number: 126 random bits ([`Self::random`], CAs) or the issuance time
/// above 78 random bits ([`Self::time_ordered`], leaves).
///
/// RFC 5280 wants serials positive and at most 20 octets; CA/B forum practice wants ≥ 64 bits of
/// CSPRNG output. The top bit is clear (positive in two's complement DER) and the next one set
/// (so the DER encoding is always exactly 16 octets, no leading-zero special cases).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SerialNumber(u128);

impl SerialNumber {
    pub fn random() -> Self {
        Self::from_random_bytes(random_bytes())
    }

    /// A serial that sorts by issuance time, for leaves: `now` in milliseconds since 1970 (48
    /// bits; the authority passes whole seconds, so serials sort by second) above 78 bits of
    /// CSPRNG output. An index of serials then grows at its end
    /// instead of touching a random page per insert (which is what slows a create into a large
    /// database); the decimal form sorts the same way (38 digits until the year 3500).
    pub fn time_ordered(now: OffsetDateTime) -> Self {
        Self::time_ordered_from(now, random_bytes())
    }

    /// [`Self::time_ordered`] with the random part given (exposed for deterministic tests).
    pub fn time_ordered_from(now: OffsetDateTime, random: [u8; 16]) -> Self {
        const MILLIS_MAX: i128 = (1 << 48) - 1;
        let millis = (now.unix_timestamp_nanos() / 1_000_000).clamp(0, MILLIS_MAX) as u128;
        let random = u128::from_be_bytes(random) & ((1 << ORDERED_RANDOM_BITS) - 1);
        // Bit 127 clear (positive), bit 126 set (always 16 octets), like `from_random_bytes`.
        Self((1 << 126) | (millis << ORDERED_RANDOM_BITS) | random)
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

fn random_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    // SystemRandom only fails when the OS has no entropy source at all; that is a broken host,
    // not a request error, and issuing with a predictable serial would be worse than stopping.
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("operating system random source unavailable");
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_ordered_serials_sort_by_time_as_numbers_and_as_text_and_keep_78_random_bits() {
        let at = |seconds: i64, millis: i64| {
            OffsetDateTime::from_unix_timestamp(seconds).unwrap()
                + time::Duration::milliseconds(millis)
        };
        let times = [
            at(946_684_800, 0),   // 2000
            at(1_796_342_400, 0), // 2026-12
            at(1_796_342_400, 1),
            at(4_102_444_800, 0), // 2100
        ];
        let highest = [0xff; 16];
        let lowest = [0; 16];
        for pair in times.windows(2) {
            // The earlier time with the largest random part still sorts first.
            let (early, late) = (
                SerialNumber::time_ordered_from(pair[0], highest),
                SerialNumber::time_ordered_from(pair[1], lowest),
            );
            assert!(early.value() < late.value());
            assert!(early.to_decimal() < late.to_decimal());
            assert_eq!(early.to_decimal().len(), late.to_decimal().len());
        }
        for serial in [
            SerialNumber::time_ordered_from(times[3], highest),
            SerialNumber::time_ordered_from(times[0], lowest),
        ] {
            let octets = serial.to_bytes();
            assert_eq!(octets[0] & 0xc0, 0x40, "positive and 16 octets");
            assert_eq!(SerialNumber::from_be_bytes(&octets), Some(serial));
        }
        let spread = SerialNumber::time_ordered_from(times[1], highest).value()
            - SerialNumber::time_ordered_from(times[1], lowest).value();
        assert_eq!(spread, (1 << 78) - 1, "78 random bits at one instant");
        let now = OffsetDateTime::now_utc();
        assert_ne!(
            SerialNumber::time_ordered(now),
            SerialNumber::time_ordered(now)
        );
    }

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
