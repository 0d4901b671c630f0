//! The checks every target's `base_url` shares, without I/O: a URL, https (http only on this
//! machine, for a simulator), no credentials, no query or fragment. Each target adds its own
//! rule about the API path.

use reqwest::Url;

/// Checks `base_url`, adding each problem to `problems` (naming `base_url`, never echoing
/// credentials). `credentials_hint` says where the credential goes instead (`use `token` …`).
/// Returns the URL and its credential-free form for the target's own path rule, or `None`
/// when it is no URL at all.
pub(crate) fn check(
    base_url: &str,
    credentials_hint: &str,
    problems: &mut Vec<String>,
) -> Option<(Url, Url)> {
    let url = match Url::parse(base_url) {
        Ok(url) => url,
        // Not echoed: text that is no URL may still hold a credential.
        Err(e) => {
            problems.push(format!("base_url: not a URL ({e})"));
            return None;
        }
    };
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    let local = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if local => {}
        "http" => problems.push(format!(
            "base_url: `{shown}` must use https:// (http:// only for 127.0.0.1 or localhost): \
             the credential travels in every request"
        )),
        _ => problems.push(format!("base_url: `{shown}` must start with https://")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        problems.push(format!(
            "base_url: must not carry credentials; {credentials_hint}"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        problems.push(format!(
            "base_url: `{shown}` must not have a query or fragment"
        ));
    }
    Some((url, shown))
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn shared_rules_name_the_key_and_hide_credentials() {
        let mut problems = Vec::new();
        assert!(check("not a url", "use `token`", &mut problems).is_none());
        check(
            "http://user:pw@example.org/x?q=1",
            "use `token`",
            &mut problems,
        );
        let all = problems.join("\n");
        assert!(all.contains("not a URL"), "{all}");
        assert!(all.contains("must use https://"), "{all}");
        assert!(
            all.contains("must not carry credentials; use `token`"),
            "{all}"
        );
        assert!(all.contains("query or fragment"), "{all}");
        assert!(!all.contains("pw"), "credentials never echoed: {all}");
        let mut fine = Vec::new();
        check("http://127.0.0.1:8080/api", "x", &mut fine);
        assert!(fine.is_empty(), "{fine:?}");
    }
}
