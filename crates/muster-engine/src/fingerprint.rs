//! Fingerprints of write-only values (Zivver's `SsoAccountKey`): `HMAC-SHA256(store key,
//! target ‖ account ‖ field ‖ value)`. Keyed, because a plain hash of a guessable value (a
//! UPN) would leak it.

use hmac::{Hmac, Mac};
use muster_core::model::{AccountRef, TargetName};
use muster_core::secret::Secret;
use sha2::Sha256;

pub fn fingerprint(
    key: &Secret,
    target: &TargetName,
    account: &AccountRef,
    field: &str,
    value: &serde_json::Value,
) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.expose().as_bytes()) else {
        return String::new();
    };
    for part in [target.as_str(), account.as_str(), field] {
        mac.update(part.as_bytes());
        mac.update(&[0]);
    }
    mac.update(value.to_string().as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_and_specific_to_account_and_value() {
        let k = Secret::new("k1");
        let t = TargetName::new("zivver");
        let a = fingerprint(&k, &t, &"acc1".into(), "SsoAccountKey", &"x".into());
        assert_eq!(
            a,
            fingerprint(&k, &t, &"acc1".into(), "SsoAccountKey", &"x".into())
        );
        assert_ne!(
            a,
            fingerprint(&k, &t, &"acc2".into(), "SsoAccountKey", &"x".into())
        );
        assert_ne!(
            a,
            fingerprint(&k, &t, &"acc1".into(), "SsoAccountKey", &"y".into())
        );
        assert_ne!(
            a,
            fingerprint(
                &Secret::new("k2"),
                &t,
                &"acc1".into(),
                "SsoAccountKey",
                &"x".into()
            )
        );
        assert!(!a.contains('x'));
    }
}
