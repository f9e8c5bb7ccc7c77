//! How values read on a page: dates, "in 23 days", short serials, status labels.

use time::OffsetDateTime;
use time::macros::format_description;

use authority::CertificateStatus;

/// `2026-12-04`
pub(crate) fn date(at: OffsetDateTime) -> String {
    at.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_else(|_| at.to_string())
}

/// `2026-12-04 13:05 UTC`
pub(crate) fn date_time(at: OffsetDateTime) -> String {
    at.format(format_description!(
        "[year]-[month]-[day] [hour]:[minute] UTC"
    ))
    .unwrap_or_else(|_| at.to_string())
}

/// How close an expiry is: the phrase and the warning level the page colours it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expiry {
    pub phrase: String,
    /// `""`, `"soon"` (under 30 days), `"urgent"` (under 7) or `"expired"`.
    pub level: &'static str,
}

pub(crate) fn expiry(expires_on: OffsetDateTime, now: OffsetDateTime) -> Expiry {
    let left = expires_on - now;
    // To the nearest day: a 30-day certificate issued a minute ago expires "in 30 days".
    let days = (left.whole_seconds() + 43_200).div_euclid(86_400);
    let phrase = match days {
        _ if left.is_negative() => {
            let ago = (-left).whole_days();
            match ago {
                0 => "expired today".to_string(),
                1 => "expired yesterday".to_string(),
                n => format!("expired {n} days ago"),
            }
        }
        _ if left < time::Duration::DAY => "today".to_string(),
        1 => "in 1 day".to_string(),
        n => format!("in {n} days"),
    };
    let level = match days {
        _ if left.is_negative() => "expired",
        _ if left < time::Duration::DAY => "urgent",
        0..7 => "urgent",
        7..30 => "soon",
        _ => "",
    };
    Expiry { phrase, level }
}

/// The first and last four hex digits of a serial, which tell certificates apart at a glance
/// (the leading digits alone are a timestamp, shared by certificates issued together).
pub(crate) fn short_serial(hex: &str) -> String {
    if hex.len() <= 12 {
        return hex.to_string();
    }
    format!("{}…{}", &hex[..4], &hex[hex.len() - 4..])
}

pub(crate) fn status_label(status: CertificateStatus) -> &'static str {
    match status {
        CertificateStatus::Active => "Active",
        CertificateStatus::PendingRevocation => "Revoking",
        CertificateStatus::Revoked => "Revoked",
        CertificateStatus::PendingReactivation => "Reactivating",
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;
    use time::macros::datetime;

    use super::*;

    #[test]
    fn expiries_read_as_days_and_warn_under_thirty_and_seven() {
        let now = datetime!(2026-12-04 12:00 UTC);
        let cases = [
            (Duration::days(400), "in 400 days", ""),
            (Duration::days(30), "in 30 days", ""),
            (Duration::days(30) - Duration::minutes(1), "in 30 days", ""),
            (
                Duration::days(29) + Duration::hours(11),
                "in 29 days",
                "soon",
            ),
            (Duration::days(29), "in 29 days", "soon"),
            (Duration::days(7), "in 7 days", "soon"),
            (Duration::days(6), "in 6 days", "urgent"),
            (Duration::days(1), "in 1 day", "urgent"),
            (Duration::hours(20), "today", "urgent"),
            (Duration::hours(3), "today", "urgent"),
            (Duration::hours(-3), "expired today", "expired"),
            (Duration::days(-1), "expired yesterday", "expired"),
            (Duration::days(-12), "expired 12 days ago", "expired"),
        ];
        for (left, phrase, level) in cases {
            let expiry = expiry(now + left, now);
            assert_eq!(
                (expiry.phrase.as_str(), expiry.level),
                (phrase, level),
                "{left}"
            );
        }
    }

    #[test]
    fn serials_shorten_to_their_ends() {
        assert_eq!(short_serial("0123456789abcdef0123"), "0123…0123");
        assert_eq!(short_serial("abc"), "abc");
        assert_eq!(date(datetime!(2026-01-02 03:04 UTC)), "2026-01-02");
        assert_eq!(
            date_time(datetime!(2026-01-02 03:04 UTC)),
            "2026-01-02 03:04 UTC"
        );
    }
}
