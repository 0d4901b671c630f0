//! Hook calls already answered: a token id (Entra), an event id (Okta) is good for one call
//! while it lives. Bounded: when full, expired entries go first; when still full, the call is
//! refused (never forgetting a live id, which would let a replay through).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Ids remembered at most.
pub const MAX_SEEN: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SeenError {
    #[error("this call was made before (a replay)")]
    Replayed,
    #[error("too many calls are remembered; try again shortly")]
    Full,
}

pub struct Seen {
    max: usize,
    ids: Mutex<HashMap<String, Instant>>,
}

impl Seen {
    pub fn new(max: usize) -> Self {
        Self {
            max,
            ids: Mutex::new(HashMap::new()),
        }
    }

    /// Takes `id` until `until`; a second take while it lives is a replay.
    pub fn take(&self, id: &str, until: Instant, now: Instant) -> Result<(), SeenError> {
        let mut ids = self.ids.lock().unwrap_or_else(|p| p.into_inner());
        if ids.get(id).is_some_and(|u| *u > now) {
            return Err(SeenError::Replayed);
        }
        if ids.len() >= self.max {
            ids.retain(|_, u| *u > now);
            if ids.len() >= self.max {
                return Err(SeenError::Full);
            }
        }
        ids.insert(id.to_owned(), until);
        Ok(())
    }

    /// Gives `id` back: the call was answered with a failure, so the identity provider's one
    /// retry of it may come through.
    pub fn give_back(&self, id: &str) {
        let mut ids = self.ids.lock().unwrap_or_else(|p| p.into_inner());
        ids.remove(id);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_id_is_good_once_while_it_lives_and_the_memory_is_bounded() {
        let seen = Seen::new(2);
        let t0 = Instant::now();
        let later = t0 + Duration::from_secs(60);
        seen.take("a", later, t0).unwrap();
        assert_eq!(seen.take("a", later, t0), Err(SeenError::Replayed));
        seen.give_back("a");
        seen.take("a", later, t0).unwrap();
        seen.take("b", later, t0).unwrap();
        assert_eq!(seen.take("c", later, t0), Err(SeenError::Full));
        // Once they have expired there is room again, and the old ids are forgotten.
        seen.take("c", later + Duration::from_secs(60), later)
            .unwrap();
        seen.take("a", later + Duration::from_secs(60), later)
            .unwrap();
    }
}
