//! The frame of every dashboard page: head, navigation, who is signed in, and small helpers
//! for values (times, JSON values, hidden CSRF fields, links with escaped path segments).
//! Every value goes through maud's escaping; nothing here writes unescaped data.

use super::session::WebUser;
use chrono::{DateTime, Utc};
use maud::{html, Markup, DOCTYPE};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Where the stylesheet is served.
pub const CSS_PATH: &str = "/static/muster.css";

/// A full page for a signed-in user.
pub fn page(title: &str, user: &WebUser, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header.top {
                    a.brand href="/" { "Muster" }
                    nav {
                        a href="/" { "Overview" }
                        a href="/audit" { "Audit" }
                        a href="/reports" { "Reports" }
                    }
                    div.who {
                        span { (user.name) " · " (user.role.as_str()) }
                        form method="post" action="/logout" {
                            (csrf_field(user))
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// A page without navigation (errors, before sign-in).
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header.top { a.brand href="/" { "Muster" } }
                main { (body) }
            }
        }
    }
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Muster" }
            link rel="stylesheet" href=(CSS_PATH);
        }
    }
}

/// The hidden field every form carries.
pub fn csrf_field(user: &WebUser) -> Markup {
    html! { input type="hidden" name="csrf" value=(user.csrf); }
}

/// A time as people read it (UTC, to the second).
pub fn time(t: DateTime<Utc>) -> Markup {
    html! { time datetime=(t.to_rfc3339()) { (t.format("%Y-%m-%d %H:%M:%S UTC").to_string()) } }
}

pub fn time_opt(t: Option<DateTime<Utc>>) -> Markup {
    match t {
        Some(t) => time(t),
        None => html! { span.muted { "—" } },
    }
}

/// A run's status as a coloured badge; a run without one is going on, or its process died.
pub fn status(s: Option<&str>) -> Markup {
    match s {
        Some(word) => html! { span class={ "badge " (word) } { (word) } },
        None => {
            html! { span.badge.running title="running, or its process ended without finishing it" { "not finished" } }
        }
    }
}

/// A JSON value shown plainly: strings without quotes, `null` as a dash.
pub fn value(v: Option<&serde_json::Value>) -> Markup {
    match v {
        None | Some(serde_json::Value::Null) => html! { span.muted { "—" } },
        Some(serde_json::Value::String(s)) => html! { (s) },
        Some(other) => html! { code { (other.to_string()) } },
    }
}

/// Characters escaped in a path segment: everything but unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `prefix` followed by `segment` percent-encoded (a person's id may hold anything).
pub fn href(prefix: &str, segment: &str) -> String {
    format!("{prefix}{}", utf8_percent_encode(segment, SEGMENT))
}

/// A query string value percent-encoded.
pub fn query_value(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

/// The first 8 characters of a run id, which the API and CLI accept as a prefix.
pub fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}
