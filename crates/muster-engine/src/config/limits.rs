//! `mapping_limits = { time_ms, memory_mb }`: what one run of a target's mapping-file script
//! may use. Checked here, against the bounds `muster_mapping::Limits` accepts, so a limit that
//! makes no sense is a configuration error with its line, not a run in which every person is
//! held.

use super::compile::Compiler;
use super::raw::RawMappingLimits;
use muster_mapping::Limits;
use std::time::Duration;
use toml::Spanned;

impl Compiler<'_> {
    /// The limits for the scripts of `key`'s mapping file; the defaults where unset or wrong
    /// (a wrong one is reported).
    pub(super) fn mapping_limits(
        &mut self,
        key: &str,
        raw: Option<Spanned<RawMappingLimits>>,
        has_mapping_file: bool,
    ) -> Limits {
        let mut limits = Limits::default();
        let Some(raw) = raw else { return limits };
        let span = raw.span();
        if !has_mapping_file {
            self.err(
                Some(span.clone()),
                format!("{key}.mapping_limits"),
                "limits apply to the scripts of a `mapping_file`, and this target has none",
            );
        }
        let raw = raw.into_inner();
        if let Some(ms) = raw.time_ms {
            if Limits::TIME_MS.contains(&ms) {
                limits.timeout = Duration::from_millis(ms);
            } else {
                self.err(
                    Some(span.clone()),
                    format!("{key}.mapping_limits.time_ms"),
                    format!(
                        "expected milliseconds from {} to {}, not {ms}",
                        Limits::TIME_MS.start(),
                        Limits::TIME_MS.end()
                    ),
                );
            }
        }
        if let Some(mb) = raw.memory_mb {
            match usize::try_from(mb) {
                Ok(n) if Limits::MEMORY_MB.contains(&mb) => limits.memory = n * 1024 * 1024,
                _ => self.err(
                    Some(span),
                    format!("{key}.mapping_limits.memory_mb"),
                    format!(
                        "expected MiB from {} to {}, not {mb}",
                        Limits::MEMORY_MB.start(),
                        Limits::MEMORY_MB.end()
                    ),
                ),
            }
        }
        limits
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use muster_core::mapping::ValueSource;
    use muster_mapping::{Limits, ScriptValue};
    use std::time::Duration;

    const MAPPING: &str = r#"{ "Version": "v1", "MappingFields": [
  { "Name": "nickName", "Type": "Text", "MappingActions": [{ "MapForActions": ["Create"],
    "MappingMode": "Complex", "Value": "\"Person.Name.GivenName\"" }] } ] }"#;

    /// A target with `extra` in its table; the mapping file exists in a temporary folder.
    fn parse(extra: &str) -> (tempfile::TempDir, Result<Config, String>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("fieldMapping.json"), MAPPING).unwrap();
        let text = format!(
            "[source]\nkind = \"csv\"\npersons = \"persons.csv\"\n\n[targets.scim]\nkind = \"scim\"\n\
             connection = {{ base_url = \"http://127.0.0.1:9/scim/v2\", auth = {{ bearer = {{ env = \"T\" }} }} }}\n\
             correlation = {{ person = \"ExternalId\", account = \"externalId\" }}\n{extra}\n"
        );
        let path = dir.path().join("muster.toml");
        let parsed = Config::parse(&path, &text, std::iter::empty()).map_err(|e| e.to_string());
        (dir, parsed)
    }

    fn script_limits(c: &Config) -> Limits {
        let m = &c.targets[0].policy.mappings[0];
        let ValueSource::Computed(v) = &m.value else {
            panic!("a script");
        };
        v.as_any()
            .and_then(|a| a.downcast_ref::<ScriptValue>())
            .unwrap()
            .limits()
    }

    #[test]
    fn the_scripts_of_the_mapping_file_get_the_configured_limits() {
        let (_dir, c) = parse("mapping_file = \"fieldMapping.json\"");
        assert_eq!(script_limits(&c.unwrap()), Limits::default());
        let (_dir, c) = parse(
            "mapping_file = \"fieldMapping.json\"\nmapping_limits = { time_ms = 250, memory_mb = 16 }",
        );
        let limits = script_limits(&c.unwrap());
        assert_eq!(limits.timeout, Duration::from_millis(250));
        assert_eq!(limits.memory, 16 * 1024 * 1024);
        let (_dir, c) =
            parse("mapping_file = \"fieldMapping.json\"\nmapping_limits = { memory_mb = 8 }");
        let limits = script_limits(&c.unwrap());
        assert_eq!(
            (limits.timeout, limits.memory),
            (Limits::default().timeout, 8 << 20)
        );
    }

    #[test]
    fn limits_out_of_range_are_errors_with_line_and_key() {
        let (_dir, c) = parse(
            "mapping_file = \"fieldMapping.json\"\nmapping_limits = { time_ms = 0, memory_mb = 100000 }",
        );
        let e = c.unwrap_err();
        assert!(
            e.contains("muster.toml:10: targets.scim.mapping_limits.time_ms: expected milliseconds from 1 to 60000, not 0"),
            "{e}"
        );
        assert!(
            e.contains("muster.toml:10: targets.scim.mapping_limits.memory_mb: expected MiB from 1 to 4096, not 100000"),
            "{e}"
        );
        let (_dir, c) = parse("mapping_file = \"fieldMapping.json\"\n\n[targets.scim.mapping_limits]\ntime_ms = 70000");
        let e = c.unwrap_err();
        assert!(
            e.contains("muster.toml:12: targets.scim.mapping_limits.time_ms"),
            "{e}"
        );
    }

    #[test]
    fn limits_without_a_mapping_file_or_with_unknown_keys_are_errors() {
        let (_dir, c) = parse("mapping_limits = { time_ms = 100 }");
        let e = c.unwrap_err();
        assert!(
            e.contains(
                "targets.scim.mapping_limits: limits apply to the scripts of a `mapping_file`"
            ),
            "{e}"
        );
        let (_dir, c) =
            parse("mapping_file = \"fieldMapping.json\"\nmapping_limits = { time_s = 1 }");
        let e = c.unwrap_err();
        assert!(e.contains("muster.toml:10") && e.contains("time_s"), "{e}");
        let (_dir, c) =
            parse("mapping_file = \"fieldMapping.json\"\nmapping_limits = { time_ms = -1 }");
        assert!(c.unwrap_err().contains("muster.toml:10"));
    }
}
