//! Hostname associations: the hostnames on which a zone's CA is required — what the gateway
//! will enforce, so a zone may claim only its own name and names below it, and never a hostname
//! another account has claimed.

use store::{
    Actor, AssociationTarget, AuditAction, CaId, HostnamesOutcome, MtlsCertificateId, Zone,
};

use crate::certificates::zone_audit;
use crate::{Authority, Error};

const MAX_HOSTNAMES: usize = 1000;

impl Authority {
    /// The hostnames requiring client certificates from a CA of the zone's account:
    /// `mtls_certificate_id` names the managed CA (the default) or an uploaded CA certificate.
    pub async fn hostname_associations(
        &self,
        zone: &Zone,
        mtls_certificate_id: Option<&str>,
    ) -> Result<Vec<String>, Error> {
        let managed = self.existing_ca(&zone.account_id).await?.map(|ca| ca.id);
        let target = match (mtls_certificate_id, managed) {
            (None, None) => return Ok(Vec::new()),
            (requested, managed) => self.association_target(zone, requested, managed).await?,
        };
        Ok(self.store.hostname_associations(&zone.id, &target).await?)
    }

    pub async fn replace_hostname_associations(
        &self,
        zone: &Zone,
        mtls_certificate_id: Option<&str>,
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
        let managed = self
            .ca_for_account(&zone.account_id)
            .await?
            .record
            .id
            .clone();
        let target = self
            .association_target(zone, mtls_certificate_id, Some(managed))
            .await?;
        let ca_id = match &target {
            AssociationTarget::ManagedCa(id) => id.to_string(),
            AssociationTarget::Uploaded(id) => id.to_string(),
        };
        let audit = zone_audit(
            zone,
            AuditAction::HostnameAssociationsReplaced,
            &zone.id,
            actor,
        )
        .with_details(format!("ca={ca_id} hostnames={}", normalised.join(",")));
        match self
            .store
            .replace_hostname_associations(zone, &target, &normalised, &audit)
            .await?
        {
            HostnamesOutcome::Replaced => Ok(normalised),
            HostnamesOutcome::TakenElsewhere(hostname) => Err(Error::InvalidHostname(format!(
                "{hostname} is associated by another account"
            ))),
        }
    }

    /// The CA `requested` names for `zone`: its account's managed CA when absent or equal to
    /// it, else one of the account's uploaded CA certificates. Anything else — another
    /// account's certificate included — names no CA of the zone.
    async fn association_target(
        &self,
        zone: &Zone,
        requested: Option<&str>,
        managed: Option<CaId>,
    ) -> Result<AssociationTarget, Error> {
        let unknown = || Error::UnknownCertificateAuthority(requested.unwrap_or_default().into());
        match (requested, managed) {
            (None, Some(managed)) => Ok(AssociationTarget::ManagedCa(managed)),
            (Some(raw), Some(managed)) if raw == managed.as_str() => {
                Ok(AssociationTarget::ManagedCa(managed))
            }
            (Some(raw), _) => {
                let id = MtlsCertificateId::parse(raw).ok_or_else(unknown)?;
                match self
                    .store
                    .get_mtls_certificate(&zone.account_id, &id)
                    .await?
                {
                    Some(_) => Ok(AssociationTarget::Uploaded(id)),
                    None => Err(unknown()),
                }
            }
            (None, None) => Err(unknown()),
        }
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
