//! `GET /graphql`: GraphiQL, served entirely by the API.
//!
//! The page is where people paste bearer tokens, so everything on it is
//! ours: React, GraphiQL, graphql-ws and the small `boot.js` are compiled
//! into the binary from `api/assets/graphiql/` (pinned versions, listed with
//! their hashes and licences there) and served under
//! `/graphiql/<version>/<file>`. The page names each with a subresource
//! integrity hash and answers with a content security policy that allows
//! scripts, styles and connections to the API's own origin only, so the page
//! works on a network without a CDN and nothing on it can send a token
//! elsewhere. Assets are immutable for a version (cached for a year); the
//! page itself is never cached.
//!
//! Both routes answer `404` when GraphiQL is switched off
//! (`PORTAL_GRAPHIQL=false`).

use std::sync::LazyLock;

use axum::{
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use sha2::{Digest, Sha384};

use super::HttpState;

/// The version segment of the asset URLs: changes whenever a file does, so
/// browsers never keep a stale copy.
pub const ASSETS_VERSION: &str = "graphiql-4.1.2-react-18.3.1-ws-5.16.2-1";

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            body: include_bytes!(concat!("../../assets/graphiql/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file the page loads, in the order it loads the scripts.
static ASSETS: &[Asset] = &[
    asset!("graphiql.min.css", "text/css; charset=utf-8"),
    asset!("react.production.min.js", JS),
    asset!("react-dom.production.min.js", JS),
    asset!("graphql-ws.min.js", JS),
    asset!("graphiql.min.js", JS),
    asset!("boot.js", JS),
];

/// The query GraphiQL opens with: what to do first.
const DEFAULT_QUERY: &str = "# Landlord & Resident Portal API.\n\
# Sign in (demo accounts: see the README), put the token in the Headers pane\n\
# below as {\"Authorization\": \"Bearer <token>\"}, then ask for your cases.\n\
\n\
mutation SignIn {\n  login(input: {email: \"margaret.evans@mail.example\", password: \"Demo-Password-2026\"}) {\n    __typename\n    ... on SignedIn { token }\n    ... on TwoFactorRequired { challengeToken channel maskedDestination }\n  }\n}\n\
\n\
query MyCases {\n  viewer { firstName kind }\n}\n";

/// The page, made once: the asset tags with their integrity hashes.
static PAGE: LazyLock<String> = LazyLock::new(|| {
    let tag = |asset: &Asset| {
        let url = format!("/graphiql/{ASSETS_VERSION}/{}", asset.name);
        let integrity = format!("sha384-{}", STANDARD.encode(Sha384::digest(asset.body)));
        if asset.name.ends_with(".css") {
            format!(r#"<link rel="stylesheet" href="{url}" integrity="{integrity}">"#)
        } else {
            format!(r#"<script src="{url}" integrity="{integrity}" defer></script>"#)
        }
    };
    let tags: Vec<String> = ASSETS.iter().map(tag).collect();
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="robots" content="noindex">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>Landlord &amp; Resident Portal API</title>
<style>html, body {{ height: 100%; margin: 0; }} #graphiql {{ height: 100vh; }}</style>
{}
</head>
<body>
<div id="graphiql" data-endpoint="/graphql" data-subscription-endpoint="/graphql/ws" data-default-query="{}">Loading GraphiQL…</div>
</body>
</html>
"#,
        tags.join("\n"),
        html_attribute(DEFAULT_QUERY)
    )
});

/// The page's content security policy: only its own origin, for scripts
/// (no inline script at all), styles, images, fonts and connections (the
/// WebSocket included). GraphiQL styles elements inline and draws icons as
/// `data:` images, hence those two exceptions; the one inline `<style>` is
/// allowed by the same `'unsafe-inline'`.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; \
form-action 'none'; frame-ancestors 'none'";

fn html_attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\n', "&#10;")
}

/// `GET /graphql`: the page.
pub async fn page(State(state): State<HttpState>) -> Response {
    if !state.app.config.graphql.graphiql {
        return StatusCode::NOT_FOUND.into_response();
    }
    (
        [
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        ],
        Html(PAGE.as_str()),
    )
        .into_response()
}

/// `GET /graphiql/{version}/{file}`: one embedded asset (`404` for another
/// version or an unknown file).
pub async fn asset(
    State(state): State<HttpState>,
    Path((version, name)): Path<(String, String)>,
) -> Response {
    let found = ASSETS.iter().find(|a| a.name == name);
    match found {
        Some(asset) if state.app.config.graphql.graphiql && version == ASSETS_VERSION => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(asset.content_type),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
            ],
            asset.body,
        )
            .into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        for line in PAGE.lines() {
            assert!(
                !line.contains("http://")
                    && !line.contains("https://")
                    && !line.contains("//unpkg"),
                "{line}"
            );
        }
        for asset in ASSETS {
            assert!(PAGE.contains(&format!("/graphiql/{ASSETS_VERSION}/{}", asset.name)));
        }
        assert_eq!(PAGE.matches("integrity=\"sha384-").count(), ASSETS.len());
        assert!(
            !PAGE.contains("<script>"),
            "no inline script: the CSP forbids it"
        );
    }
}
