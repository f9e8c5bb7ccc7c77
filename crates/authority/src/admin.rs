//! Administration: accounts, zones and credentials (the CLI and first-start bootstrap use these).

use store::{
    Account, AccountId, Actor, ActorKind, ApiToken, AuditAction, AuditEntry, NewApiToken,
    Permission, TokenId, TokenScope, Zone, ZoneId,
};
use time::Duration;

use crate::certificates::UNLIMITED;
use crate::tokens::{new_legacy_key, new_token_secret, secret_hash};
use crate::{Authority, Error};

const BOOTSTRAP_SETTING: &str = "bootstrap_claim";

/// Whom a new credential is for.
#[derive(Debug, Clone)]
pub enum TokenTarget {
    /// Every zone of the account.
    Account(AccountId),
    /// Only these zones (all in one account).
    Zones(Vec<ZoneId>),
}

#[derive(Debug, Clone)]
pub struct NewTokenRequest {
    pub target: TokenTarget,
    pub permission: Permission,
    pub name: Option<String>,
    pub expires_in: Option<Duration>,
    /// Make a legacy X-Auth-Email/X-Auth-Key credential for this email instead of a Bearer token.
    pub legacy_email: Option<String>,
}

/// What a first start created, to show the operator once.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub account: Account,
    pub zone: Zone,
    pub token: ApiToken,
    pub secret: String,
}

impl Authority {
    /// Create an account (a tenant), with the given id or a new one.
    pub async fn create_account(
        &self,
        name: &str,
        id: Option<&AccountId>,
        actor: Actor,
    ) -> Result<Account, Error> {
        let account = Account {
            id: id.cloned().unwrap_or_else(AccountId::random),
            name: name.to_string(),
            created_at: crate::now(),
        };
        let audit = AuditEntry::new(
            account.created_at,
            actor,
            AuditAction::AccountCreated,
            account.id.as_str(),
        )
        .in_account(&account.id);
        self.store.create_account(&account, &audit).await?;
        Ok(account)
    }

    /// Create a zone in `account_id`; without one, in the only account (creating it when there is
    /// none yet).
    pub async fn create_zone(
        &self,
        name: &str,
        account_id: Option<&AccountId>,
        actor: Actor,
    ) -> Result<Zone, Error> {
        let name = crate::hostnames::dns_name(name).ok_or_else(|| {
            Error::InvalidArgument(format!("{name:?} is not a zone name such as example.com"))
        })?;
        let account_id = match account_id {
            Some(id) => {
                self.store
                    .get_account(id)
                    .await?
                    .ok_or_else(|| Error::NotFound(format!("account {id}")))?
                    .id
            }
            None => self.default_account(actor.clone()).await?.id,
        };
        let zone = Zone {
            id: ZoneId::random(),
            account_id,
            name,
            created_at: crate::now(),
            max_certificates: None,
        };
        let audit = AuditEntry::new(
            zone.created_at,
            actor,
            AuditAction::ZoneCreated,
            zone.id.as_str(),
        )
        .in_account(&zone.account_id)
        .in_zone(&zone.id);
        self.store.create_zone(&zone, &audit).await?;
        self.zones.forget_missing(&zone.id);
        Ok(zone)
    }

    /// Give a zone its own quota of certificates that are not revoked ([`UNLIMITED`]: none, even
    /// when the server has a default), or with `None` return it to the server's default. Running
    /// servers apply it within their token-cache TTL. A quota below the zone's current count
    /// refuses further creates until revocations bring the count under it.
    pub async fn set_zone_quota(
        &self,
        zone_id: &ZoneId,
        max_certificates: Option<u64>,
        actor: Actor,
    ) -> Result<(), Error> {
        let zone = self
            .store
            .get_zone(zone_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("zone {zone_id}")))?;
        let details = match max_certificates {
            Some(UNLIMITED) => "max_certificates=unlimited".to_string(),
            Some(limit) => format!("max_certificates={limit}"),
            None => "max_certificates=default".to_string(),
        };
        let audit = crate::certificates::zone_audit(
            &zone,
            AuditAction::ZoneQuotaChanged,
            zone.id.as_str(),
            actor,
        )
        .with_details(details);
        if !self
            .store
            .set_zone_quota(zone_id, max_certificates, &audit)
            .await?
        {
            return Err(Error::NotFound(format!("zone {zone_id}")));
        }
        self.zones.forget(zone_id);
        Ok(())
    }

    /// A zone's own quota (`None`: the server's default) and its certificates that are not
    /// revoked.
    pub async fn zone_quota(&self, zone_id: &ZoneId) -> Result<(Option<u64>, u64), Error> {
        let zone = self
            .store
            .get_zone(zone_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("zone {zone_id}")))?;
        Ok((
            zone.max_certificates,
            self.store.count_unrevoked(zone_id).await?,
        ))
    }

    async fn default_account(&self, actor: Actor) -> Result<Account, Error> {
        let mut accounts = self.store.list_accounts().await?;
        match accounts.len() {
            0 => self.create_account("default", None, actor).await,
            1 => Ok(accounts.remove(0)),
            n => Err(Error::InvalidArgument(format!(
                "there are {n} accounts; say which one with --account"
            ))),
        }
    }

    /// Create a credential; returns it with its secret, which is never retrievable again.
    pub async fn create_token(
        &self,
        request: NewTokenRequest,
        actor: Actor,
    ) -> Result<(ApiToken, String), Error> {
        let now = crate::now();
        let (account_id, scope) = match &request.target {
            TokenTarget::Account(id) => {
                let account = self
                    .store
                    .get_account(id)
                    .await?
                    .ok_or_else(|| Error::NotFound(format!("account {id}")))?;
                (account.id, TokenScope::Account)
            }
            TokenTarget::Zones(zone_ids) => {
                let mut account = None;
                for zone_id in zone_ids {
                    let zone = self
                        .zone(zone_id)
                        .await?
                        .ok_or_else(|| Error::NotFound(format!("zone {zone_id}")))?;
                    if account.get_or_insert_with(|| zone.account_id.clone()) != &zone.account_id {
                        return Err(Error::InvalidArgument(
                            "a token's zones must all belong to one account".into(),
                        ));
                    }
                }
                let account = account
                    .ok_or_else(|| Error::InvalidArgument("name at least one zone".into()))?;
                let mut zones = zone_ids.clone();
                zones.sort();
                zones.dedup();
                (account, TokenScope::Zones(zones))
            }
        };
        if request.expires_in.is_some_and(|d| d <= Duration::ZERO) {
            return Err(Error::InvalidArgument(
                "the expiry must be in the future".into(),
            ));
        }
        let secret = match request.legacy_email {
            Some(_) => new_legacy_key()?,
            None => new_token_secret()?,
        };
        let token = ApiToken {
            id: TokenId::random(),
            name: request
                .name
                .unwrap_or_else(|| format!("{} token", request.permission.as_str())),
            email: request.legacy_email,
            account_id: account_id.clone(),
            permission: request.permission,
            scope,
            expires_at: request
                .expires_in
                .map(|d| {
                    now.checked_add(d).ok_or_else(|| {
                        Error::InvalidArgument("the expiry is too far in the future".into())
                    })
                })
                .transpose()?,
            revoked_at: None,
            created_at: now,
        };
        let new = NewApiToken {
            token: token.clone(),
            secret_hash: secret_hash(&secret),
        };
        let audit = AuditEntry::new(now, actor, AuditAction::TokenCreated, token.id.as_str())
            .in_account(&account_id)
            .with_details(format!("permission={}", token.permission.as_str()));
        self.store.create_token(&new, &audit).await?;
        Ok((token, secret))
    }

    pub async fn revoke_token(&self, id: &TokenId, actor: Actor) -> Result<(), Error> {
        let token = self
            .store
            .get_token(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("token {id}")))?;
        let audit = AuditEntry::new(crate::now(), actor, AuditAction::TokenRevoked, id.as_str())
            .in_account(&token.account_id);
        if !self.store.revoke_token(id, &audit).await? {
            return Err(Error::InvalidArgument(format!(
                "token {id} is already revoked"
            )));
        }
        self.tokens.clear();
        Ok(())
    }

    pub async fn accounts(&self) -> Result<Vec<Account>, Error> {
        Ok(self.store.list_accounts().await?)
    }

    pub async fn zones(&self) -> Result<Vec<Zone>, Error> {
        Ok(self.store.list_zones().await?)
    }

    /// Every credential (never its secret, which is not stored).
    pub async fn tokens(&self) -> Result<Vec<ApiToken>, Error> {
        Ok(self.store.list_tokens().await?)
    }

    /// On a database with no accounts, create an account, a zone and an edit token — once, even
    /// when several replicas start together.
    pub async fn bootstrap_if_empty(&self) -> Result<Option<Bootstrap>, Error> {
        if self.store.count_rows(store::Table::Accounts).await? > 0 {
            return Ok(None);
        }
        // Any value unique to this process: whoever stores it first bootstraps.
        let claim = AccountId::random().to_string();
        if self
            .store
            .put_setting_if_absent(BOOTSTRAP_SETTING, &claim)
            .await?
            != claim
        {
            return Ok(None);
        }
        let actor = Actor::new(ActorKind::System);
        let account = self.create_account("default", None, actor.clone()).await?;
        let zone = self
            .create_zone("example.com", Some(&account.id), actor.clone())
            .await?;
        let (token, secret) = self
            .create_token(
                NewTokenRequest {
                    target: TokenTarget::Account(account.id.clone()),
                    permission: Permission::Edit,
                    name: Some("bootstrap edit token".into()),
                    expires_in: None,
                    legacy_email: None,
                },
                actor,
            )
            .await?;
        Ok(Some(Bootstrap {
            account,
            zone,
            token,
            secret,
        }))
    }
}
