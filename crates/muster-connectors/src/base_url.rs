//! The checks every target's `base_url` shares, without I/O: a URL, https (plain http only to
//! a loopback address, or where the target says `allow_insecure_http = true`), no credentials,
//! no query or fragment. Each target adds its own rule about the API path. Every target kind
//! (SCIM, Zivver, HelloID, Zermelo) checks its `base_url` here, so the rule lives once.

use reqwest::Url;
use std::net::IpAddr;

/// Checks `base_url`, adding each problem to `problems` (naming `base_url`, never echoing
/// credentials). `credentials_hint` says where the credential goes instead (`use `token` …`).
/// `allow_insecure_http` is the target's `allow_insecure_http` setting: plain `http://` to a
/// host other than a loopback address is refused without it, since the credential would
/// travel in clear text with every request.
/// Returns the URL and its credential-free form for the target's own path rule, or `None`
/// when it is no URL at all.
pub(crate) fn check(
    base_url: &str,
    credentials_hint: &str,
    allow_insecure_http: bool,
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
    // A query or fragment may hold a key (`?api_key=…`): never shown either.
    shown.set_query(None);
    shown.set_fragment(None);
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) || allow_insecure_http => {}
        "http" => problems.push(format!(
            "base_url: `{shown}` must use https://: the credential travels in every request, \
             and plain http:// is only accepted to a loopback address (127.0.0.0/8, ::1, \
             localhost); set `allow_insecure_http = true` for this target to send it in clear \
             text anyway"
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
            "base_url: `{shown}` must not have a query or fragment (not shown: it may hold a credential)"
        ));
    }
    Some((url, shown))
}

/// 127.0.0.0/8, ::1 or `localhost`: a request that never leaves this machine.
fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some(host) if host.eq_ignore_ascii_case("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn shared_rules_name_the_key_and_hide_credentials() {
        let mut problems = Vec::new();
        assert!(check("not a url", "use `token`", false, &mut problems).is_none());
        check(
            "http://user:pw@example.org/x?api_key=SECRET#frag",
            "use `token`",
            false,
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
        assert!(!all.contains("SECRET"), "a query never echoed: {all}");
        let mut fine = Vec::new();
        check("http://127.0.0.1:8080/api", "x", false, &mut fine);
        assert!(fine.is_empty(), "{fine:?}");
    }

    fn problems(url: &str, allow_insecure_http: bool) -> Vec<String> {
        let mut problems = Vec::new();
        check(url, "x", allow_insecure_http, &mut problems);
        problems
    }

    #[test]
    fn plain_http_is_refused_beyond_loopback_unless_the_target_allows_it() {
        for remote in [
            "http://idm.example.org/scim/v2",
            "http://10.0.0.5:8080/scim/v2",
            "http://128.0.0.1/scim/v2",
            "http://[2001:db8::1]/scim/v2",
            "http://localhost.example.org/scim/v2",
        ] {
            let refused = problems(remote, false);
            assert_eq!(refused.len(), 1, "{remote}: {refused:?}");
            assert!(refused[0].starts_with("base_url:"), "{refused:?}");
            assert!(
                refused[0].contains("allow_insecure_http = true"),
                "{refused:?}"
            );
            assert!(problems(remote, true).is_empty(), "{remote} allowed");
        }
        for local in [
            "http://127.0.0.1:8080/scim/v2",
            "http://127.9.8.7/scim/v2",
            "http://[::1]:8080/scim/v2",
            "http://localhost/scim/v2",
            "http://LOCALHOST:1/scim/v2",
            "https://idm.example.org/scim/v2",
        ] {
            assert!(problems(local, false).is_empty(), "{local}");
        }
    }
}
