//! API tokens and legacy keys, stored by the hash of their secret.

use async_trait::async_trait;

use crate::StoreResult;
use crate::backend::{Backend, Transaction, args};
use crate::model::{ApiToken, AuditEntry, NewApiToken, TokenId, ZoneId};
use crate::rows::{self, DecodeRow, to_unix};
use crate::sql;
use crate::writes::{append_audit, insert_token};

#[async_trait]
pub trait TokenStore: Send + Sync {
    async fn create_token(&self, token: &NewApiToken, audit: &AuditEntry) -> StoreResult<()>;
    async fn find_token_by_secret_hash(&self, secret_hash: &str) -> StoreResult<Option<ApiToken>>;
    async fn get_token(&self, id: &TokenId) -> StoreResult<Option<ApiToken>>;
    async fn list_tokens(&self) -> StoreResult<Vec<ApiToken>>;
    /// Mark a token revoked; false when no such token exists or it was already revoked.
    async fn revoke_token(&self, id: &TokenId, audit: &AuditEntry) -> StoreResult<bool>;
}

#[async_trait]
impl<B: Backend> TokenStore for B {
    async fn create_token(&self, new: &NewApiToken, audit: &AuditEntry) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        insert_token(&mut tx, new).await?;
        append_audit(&mut tx, audit).await?;
        tx.commit().await
    }

    async fn find_token_by_secret_hash(&self, secret_hash: &str) -> StoreResult<Option<ApiToken>> {
        let row = self
            .fetch_optional(sql::SELECT_TOKEN_BY_HASH, args![secret_hash])
            .await?;
        match row {
            Some(row) => token_with_zones(self, &row).await.map(Some),
            None => Ok(None),
        }
    }

    async fn get_token(&self, id: &TokenId) -> StoreResult<Option<ApiToken>> {
        let row = self.fetch_optional(sql::SELECT_TOKEN, args![id]).await?;
        match row {
            Some(row) => token_with_zones(self, &row).await.map(Some),
            None => Ok(None),
        }
    }

    async fn list_tokens(&self) -> StoreResult<Vec<ApiToken>> {
        let token_rows = self.fetch_all(sql::SELECT_TOKENS, &[]).await?;
        let mut tokens = Vec::with_capacity(token_rows.len());
        for row in &token_rows {
            tokens.push(token_with_zones(self, row).await?);
        }
        Ok(tokens)
    }

    async fn revoke_token(&self, id: &TokenId, audit: &AuditEntry) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let revoked = tx
            .execute(sql::REVOKE_TOKEN, args![to_unix(audit.occurred_at), id])
            .await?
            == 1;
        if revoked {
            append_audit(&mut tx, audit).await?;
        }
        tx.commit().await?;
        Ok(revoked)
    }
}

/// A token row with its zone list (read separately, for zone-scoped tokens only).
pub(crate) async fn token_with_zones<B: Backend>(store: &B, row: &B::Row) -> StoreResult<ApiToken> {
    let zones = if row.flag("all_zones")? {
        Vec::new()
    } else {
        let id = row.text("id")?;
        store
            .fetch_all(sql::SELECT_TOKEN_ZONES, args![&id])
            .await?
            .iter()
            .map(|zone| rows::parse_id::<crate::model::ZoneKind>(&zone.first_text()?))
            .collect::<StoreResult<Vec<ZoneId>>>()?
    };
    rows::token(row, zones)
}
