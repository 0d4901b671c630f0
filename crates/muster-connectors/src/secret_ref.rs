//! Where a secret lives, as the administrator writes it in `muster.toml`: `{ env = "NAME" }` or
//! `{ file = "/run/secrets/name" }`. Secrets are never inline, so a config file can be shared,
//! diffed and logged without leaking a token.
//!
//! [`SecretRef::resolve`] reads the value into a [`Secret`]; its errors name the variable or the
//! file, never the value.

use muster_core::secret::Secret;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::path::PathBuf;

/// A reference to a secret: an environment variable or a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// `{ env = "ZIVVER_TOKEN" }`: the value of that environment variable.
    Env(String),
    /// `{ file = "/run/secrets/zivver" }`: the contents of that file, without its trailing
    /// newline.
    File(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable `{name}` is not set")]
    EnvMissing { name: String },
    #[error("environment variable `{name}` is not valid UTF-8")]
    EnvNotUnicode { name: String },
    #[error("cannot read secret file `{}`: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("secret {origin} is empty")]
    Empty { origin: String },
}

impl SecretRef {
    /// Reads the secret. A file's trailing newline (`\n` or `\r\n`, as editors and
    /// `echo` leave them) is dropped; an empty value is an error, not an empty password.
    pub fn resolve(&self) -> Result<Secret, SecretError> {
        let value = match self {
            Self::Env(name) => match std::env::var(name) {
                Ok(v) => v,
                Err(std::env::VarError::NotPresent) => {
                    return Err(SecretError::EnvMissing { name: name.clone() })
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(SecretError::EnvNotUnicode { name: name.clone() })
                }
            },
            Self::File(path) => {
                let mut v = std::fs::read_to_string(path).map_err(|source| SecretError::File {
                    path: path.clone(),
                    source,
                })?;
                let kept = v.trim_end_matches(['\n', '\r']).len();
                v.truncate(kept);
                v
            }
        };
        if value.is_empty() {
            return Err(SecretError::Empty {
                origin: self.origin(),
            });
        }
        Ok(Secret::new(value))
    }

    /// Where the secret comes from, for messages: `env ZIVVER_TOKEN` or `file /run/...`.
    pub fn origin(&self) -> String {
        match self {
            Self::Env(name) => format!("env `{name}`"),
            Self::File(path) => format!("file `{}`", path.display()),
        }
    }
}

const EXPECTED: &str = "a secret reference: { env = \"NAME\" } or { file = \"/path\" }";

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SecretRefVisitor)
    }
}

struct SecretRefVisitor;

impl<'de> Visitor<'de> for SecretRefVisitor {
    type Value = SecretRef;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXPECTED)
    }

    // The inline value is deliberately not echoed: it is probably the secret itself.
    fn visit_str<E: de::Error>(self, _v: &str) -> Result<SecretRef, E> {
        Err(E::custom(
            "secrets are never written inline: use { env = \"NAME\" } to read an environment \
             variable or { file = \"/path\" } to read a file",
        ))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SecretRef, A::Error> {
        let Some(key) = map.next_key::<String>()? else {
            return Err(de::Error::custom(format!(
                "empty table: expected {EXPECTED}"
            )));
        };
        let found = match key.as_str() {
            "env" => {
                let name: String = map.next_value()?;
                if name.is_empty() {
                    return Err(de::Error::custom("`env` needs a variable name"));
                }
                SecretRef::Env(name)
            }
            "file" => {
                let path: PathBuf = map.next_value()?;
                if path.as_os_str().is_empty() {
                    return Err(de::Error::custom("`file` needs a path"));
                }
                SecretRef::File(path)
            }
            other => return Err(de::Error::unknown_field(other, &["env", "file"])),
        };
        if let Some(extra) = map.next_key::<String>()? {
            return Err(de::Error::custom(format!(
                "`{extra}` next to `{key}`: a secret reference has exactly one of `env` or `file`"
            )));
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Holder {
        token: SecretRef,
    }

    fn parse(toml_text: &str) -> Result<SecretRef, String> {
        toml::from_str::<Holder>(toml_text)
            .map(|h| h.token)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn env_and_file_forms_parse() {
        assert_eq!(
            parse(r#"token = { env = "T" }"#).unwrap(),
            SecretRef::Env("T".into())
        );
        assert_eq!(
            parse(r#"token = { file = "/run/secrets/t" }"#).unwrap(),
            SecretRef::File("/run/secrets/t".into())
        );
    }

    #[test]
    fn inline_strings_are_refused_without_echoing_them() {
        let err = parse(r#"token = "hunter2""#).unwrap_err();
        assert!(err.contains("never written inline"), "{err}");
        assert!(err.contains("env"), "{err}");
        // Our message never quotes the value (TOML's own report shows the offending line
        // of the file, which is the administrator's to see).
        let err = serde_json::from_str::<SecretRef>(r#""hunter2""#).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn unknown_and_double_keys_are_refused() {
        assert!(parse(r#"token = { vault = "x" }"#).is_err());
        assert!(parse(r#"token = { env = "A", file = "/b" }"#).is_err());
        assert!(parse(r#"token = {}"#).is_err());
    }

    #[test]
    fn file_secret_loses_its_trailing_newline_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t");
        std::fs::write(&path, " s3cr3t \r\n").unwrap();
        let s = SecretRef::File(path).resolve().unwrap();
        assert_eq!(s.expose(), " s3cr3t ");
    }

    #[test]
    fn errors_name_the_source_not_the_value() {
        let err = SecretRef::Env("MUSTER_TEST_SURELY_UNSET_VAR".into())
            .resolve()
            .unwrap_err();
        assert!(err.to_string().contains("MUSTER_TEST_SURELY_UNSET_VAR"));
        let err = SecretRef::File("/nonexistent/secret".into())
            .resolve()
            .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/secret"));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty");
        std::fs::write(&path, "\n").unwrap();
        assert!(matches!(
            SecretRef::File(path).resolve(),
            Err(SecretError::Empty { .. })
        ));
    }
}
