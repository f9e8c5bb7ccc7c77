//! Hostname associations: the hostnames on which a zone's CA is required — what the gateway
//! will enforce, so a zone may claim only its own name and names below it, and never a hostname
//! another account has claimed.

use store::{Actor, AuditAction, CaId, HostnamesOutcome, Zone};

use crate::certificates::zone_audit;
use crate::{Authority, Error};

const MAX_HOSTNAMES: usize = 1000;

impl Authority {
    /// The hostnames requiring client certificates from the zone's CA. `ca_id`, when given, must
    /// name the account's managed CA.
    pub async fn hostname_associations(
        &self,
        zone: &Zone,
        ca_id: Option<&CaId>,
    ) -> Result<Vec<String>, Error> {
        let Some(ca) = self.existing_ca(&zone.account_id).await? else {
            return match ca_id {
                Some(id) => Err(Error::UnknownCertificateAuthority(id.to_string())),
                None => Ok(Vec::new()),
            };
        };
        check_ca_id(ca_id, &ca.id)?;
        Ok(self.store.hostname_associations(&zone.id, &ca.id).await?)
    }

    pub async fn replace_hostname_associations(
        &self,
        zone: &Zone,
        ca_id: Option<&CaId>,
        hostnames: &[String],
        actor: Actor,
    ) -> Result<Vec<String>, Error> {
        if hostnames.len() > MAX_HOSTNAMES {
            return Err(Error::InvalidHostname(format!(
                "at most {MAX_HOSTNAMES} hostnames are allowed"
            )));
        }
        let mut normalised = hostnames
            .iter()
            .map(|h| association(h, &zone.name))
            .collect::<Result<Vec<_>, _>>()?;
        normalised.sort();
        normalised.dedup();
        let ca = self.ca_for_account(&zone.account_id).await?;
        check_ca_id(ca_id, &ca.record.id)?;
        let audit = zone_audit(
            zone,
            AuditAction::HostnameAssociationsReplaced,
            &zone.id,
            actor,
        )
        .with_details(format!("hostnames={}", normalised.join(",")));
        match self
            .store
            .replace_hostname_associations(zone, &ca.record.id, &normalised, &audit)
            .await?
        {
            HostnamesOutcome::Replaced => Ok(normalised),
            HostnamesOutcome::TakenElsewhere(hostname) => Err(Error::InvalidHostname(format!(
                "{hostname} is associated by another account"
            ))),
        }
    }
}

fn check_ca_id(requested: Option<&CaId>, actual: &CaId) -> Result<(), Error> {
    match requested {
        Some(id) if id != actual => Err(Error::UnknownCertificateAuthority(id.to_string())),
        _ => Ok(()),
    }
}

/// A DNS name of two labels or more, lowercased, without a trailing dot; `None` for anything else,
/// IP literals included (an all-numeric last label is no TLD).
pub(crate) fn dns_name(text: &str) -> Option<String> {
    let lower = text.trim().trim_end_matches('.').to_ascii_lowercase();
    let valid_label = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let top = lower.rsplit('.').next()?;
    (lower.len() <= 253
        && lower.contains('.')
        && lower.split('.').all(valid_label)
        && !top.bytes().all(|b| b.is_ascii_digit()))
    .then_some(lower)
}

/// A hostname `zone_name` may associate: the zone's name or a name below it, optionally with one
/// leading `*.` wildcard label; lowercased.
pub(crate) fn association(hostname: &str, zone_name: &str) -> Result<String, Error> {
    let text = hostname.trim();
    let (wildcard, bare) = match text.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let Some(bare) = dns_name(bare) else {
        return Err(Error::InvalidHostname(format!(
            "{hostname:?} is not a valid hostname (an IP address is not one)"
        )));
    };
    let within = bare == zone_name || bare.ends_with(&format!(".{zone_name}"));
    if !within {
        return Err(Error::InvalidHostname(format!(
            "{hostname:?} is not {zone_name} or a name below it"
        )));
    }
    Ok(if wildcard { format!("*.{bare}") } else { bare })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn associations_are_the_zone_and_names_below_it() {
        let zone = "example.com";
        for (given, normalised) in [
            ("API.Example.com.", "api.example.com"),
            ("example.com", "example.com"),
            ("*.example.com", "*.example.com"),
            ("*.eu.Example.com", "*.eu.example.com"),
        ] {
            assert_eq!(association(given, zone).unwrap(), normalised);
        }
        for bad in [
            "",
            "localhost",
            "-a.example.com",
            "a..example.com",
            "exa mple.com",
            &format!("{}.example.com", "a".repeat(64)),
            "*.*.example.com",
            "www.google.com",
            "badexample.com",
            "com",
            "999.999.999.999",
            "10.0.0.1",
            "[::1]",
            "::1",
        ] {
            assert!(association(bad, zone).is_err(), "{bad:?}");
        }
    }
}
