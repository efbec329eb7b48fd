//! The embedded status store: the `IdempotencyKeys` role, in the
//! `idempotency_keys` table (`crate::keys`).

use super::*;

#[async_trait]
impl IdempotencyKeys for EmbeddedStore {
    async fn claim_key(
        &self,
        key: &IdempotencyKey,
        claim: &KeyClaim,
    ) -> Result<Claimed, BackendError> {
        keys::claim(&self.database, key, claim).await
    }

    async fn settle_key(
        &self,
        key: &IdempotencyKey,
        claimed_at: DateTime<Utc>,
        outcome: &KeyOutcome,
    ) -> Result<bool, BackendError> {
        keys::settle(&self.database, key, claimed_at, outcome).await
    }

    async fn confirm_key(
        &self,
        key: &IdempotencyKey,
        claimed_at: DateTime<Utc>,
    ) -> Result<bool, BackendError> {
        keys::confirm(&self.database, key, claimed_at).await
    }

    async fn release_key(
        &self,
        key: &IdempotencyKey,
        claimed_at: DateTime<Utc>,
    ) -> Result<(), BackendError> {
        keys::release(&self.database, key, claimed_at).await
    }
}
