//! API tokens: made here (random, shown once), kept in the store only as their SHA-256, and
//! what each role may do.

use chrono::{SubsecRound, Utc};
use muster_store::{ApiToken, Store, StoreError, TokenRole};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Every token starts with this, so a leaked one is easy to recognise in a scan.
pub const PREFIX: &str = "mst_";

/// What a request needs. Each role permits what the roles before it permit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    /// Reading runs, plans, persons, audit, metrics.
    Read,
    /// Approving or rejecting blocked actions.
    Approve,
    /// Triggering runs, managing tokens.
    Admin,
}

/// Whether a token of `role` may do what `need` names.
pub fn permits(role: TokenRole, need: Need) -> bool {
    let rank = match role {
        TokenRole::Viewer => Need::Read,
        TokenRole::Approver => Need::Approve,
        TokenRole::Admin => Need::Admin,
    };
    need <= rank
}

/// SHA-256 of a token's text, lowercase hex: what the store keeps and looks up.
pub fn hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new token: the record stored, and the token's text, which exists only in this value.
pub struct NewToken {
    pub record: ApiToken,
    pub token: String,
}

/// Makes a token of `role` named `name` and stores its hash.
pub async fn create(
    store: &dyn Store,
    name: &str,
    role: TokenRole,
) -> Result<NewToken, StoreError> {
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut secret);
    let mut id = [0u8; 4];
    rand::thread_rng().fill_bytes(&mut id);
    let token = format!("{PREFIX}{}", hex(&secret));
    let record = ApiToken {
        id: hex(&id),
        name: name.to_owned(),
        role,
        hash: hash(&token),
        created_at: Utc::now().trunc_subsecs(6),
        revoked_at: None,
    };
    store.create_token(&record).await?;
    Ok(NewToken { record, token })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn roles_include_the_ones_before_them() {
        assert!(permits(TokenRole::Viewer, Need::Read));
        assert!(!permits(TokenRole::Viewer, Need::Approve));
        assert!(permits(TokenRole::Approver, Need::Approve));
        assert!(!permits(TokenRole::Approver, Need::Admin));
        assert!(permits(TokenRole::Admin, Need::Read) && permits(TokenRole::Admin, Need::Admin));
    }

    #[tokio::test]
    async fn a_new_token_is_stored_only_as_its_hash() {
        let store = muster_store::open_sqlite_memory().await.unwrap();
        let made = create(&store, "ci", TokenRole::Approver).await.unwrap();
        assert!(made.token.starts_with(PREFIX) && made.token.len() == PREFIX.len() + 64);
        let found = store
            .token_by_hash(&hash(&made.token))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found, made.record);
        assert_ne!(found.hash, made.token);
        assert!(store.token_by_hash(&made.token).await.unwrap().is_none());
    }
}
