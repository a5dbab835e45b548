//! Sending text messages: through an HTTP provider in production (GOV.UK Notify
//! style), as lines in a log file in the embedded default.
//!
//! The HTTP contract is deliberately small, so that Notify or any provider behind a
//! thin proxy fits it:
//!
//! ```text
//! POST <url>
//! Authorization: Bearer <api key>
//! Content-Type: application/json
//!
//! {"phone_number": "+447700900123", "body": "...", "reference": "<delivery id>"}
//!
//! 2xx {"id": "<provider's message id>", ...}
//! ```
//!
//! The `reference` is our delivery id, so the provider's records can be matched to
//! ours. Any 4xx but 429 means this message will never be accepted (a bad number, a
//! body too long, a key without permission), so it is permanent; 429, 5xx, timeouts
//! and network errors are transient and retried with backoff.

use std::{
    fmt,
    path::{Path, PathBuf},
    time::Duration,
};

use chrono::{SecondsFormat, Utc};
use secrecy::{ExposeSecret, SecretString};
use tokio::io::AsyncWriteExt;
use url::Url;

use super::DeliveryError;

/// How long one request to the provider may take, connection included. A provider
/// that has not answered by then is treated as down for this attempt.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of a provider's error response is kept in the delivery record: enough to
/// diagnose, not enough for a whole HTML error page.
const MAX_ERROR_TEXT: usize = 300;

/// Where text messages go, chosen by configuration.
#[derive(Clone)]
pub enum SmsSender {
    /// A GOV.UK Notify-style HTTP API (production).
    Http {
        /// A client with redirects off (a redirect would resend the key elsewhere
        /// and turn the POST into a GET); [`SmsSender::http`] builds one.
        client: reqwest::Client,
        /// The endpoint messages are POSTed to.
        url: Url,
        /// Sent as `Authorization: Bearer <key>`.
        api_key: SecretString,
    },
    /// Appends one line per message to this file (the embedded default):
    /// `<RFC 3339 time>\t<to>\t<reference>\t<body>`, with backslashes, tabs and line
    /// breaks escaped so that each message stays one line.
    LogFile(PathBuf),
}

impl fmt::Debug for SmsSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // SecretString redacts itself; the client's Debug is noise.
            Self::Http { url, api_key, .. } => f
                .debug_struct("SmsSender::Http")
                .field("url", &url.as_str())
                .field("api_key", api_key)
                .finish_non_exhaustive(),
            Self::LogFile(path) => f.debug_tuple("SmsSender::LogFile").field(path).finish(),
        }
    }
}

impl SmsSender {
    /// An HTTP sender for `url` with `api_key`, with a 10-second timeout and no
    /// redirects.
    pub fn http(url: Url, api_key: SecretString) -> Result<Self, DeliveryError> {
        let client = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| {
                DeliveryError::Permanent(format!("cannot build the SMS HTTP client: {error}"))
            })?;
        Ok(Self::Http {
            client,
            url,
            api_key,
        })
    }

    /// A sender that appends to the file at `path`, creating it and its directory on
    /// first use.
    pub fn log_file(path: impl Into<PathBuf>) -> Self {
        Self::LogFile(path.into())
    }

    /// Sends `body` to the mobile number `to`, tagged with our `reference` (the
    /// delivery id), and returns the provider's reference for the delivery record:
    /// the provider's message id, or `file:<reference>` for the log file.
    pub async fn send(
        &self,
        to: &str,
        body: &str,
        reference: &str,
    ) -> Result<String, DeliveryError> {
        match self {
            Self::Http {
                client,
                url,
                api_key,
            } => send_http(client, url, api_key, to, body, reference).await,
            Self::LogFile(path) => append_line(path, to, body, reference).await,
        }
    }
}

async fn send_http(
    client: &reqwest::Client,
    url: &Url,
    api_key: &SecretString,
    to: &str,
    body: &str,
    reference: &str,
) -> Result<String, DeliveryError> {
    let response = client
        .post(url.clone())
        .bearer_auth(api_key.expose_secret())
        // Also set here, not only on the client: the `Http` variant is public, so the
        // client may have been built elsewhere without one.
        .timeout(HTTP_TIMEOUT)
        .json(&serde_json::json!({
            "phone_number": to,
            "body": body,
            "reference": reference,
        }))
        .send()
        .await
        // Refused connections, DNS failures, timeouts: the provider may be back soon.
        // `without_url` keeps the error short; the URL is configuration, not news.
        .map_err(|error| {
            DeliveryError::Transient(format!("SMS provider unreachable: {}", error.without_url()))
        })?;

    let status = response.status();
    if status.is_success() {
        // The provider has accepted the message. If its answer cannot be read, sending
        // again would text the user twice, so this is recorded as a permanent failure
        // for an operator to look at rather than retried.
        let answer: serde_json::Value = response.json().await.map_err(|error| {
            DeliveryError::Permanent(format!(
                "SMS provider accepted the message ({status}) but its reply was not JSON: {}",
                error.without_url()
            ))
        })?;
        let id = answer["id"]
            .as_str()
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                DeliveryError::Permanent(format!(
                    "SMS provider accepted the message ({status}) but returned no id"
                ))
            })?;
        tracing::debug!(
            reference,
            provider_id = id,
            "text message accepted by the provider"
        );
        return Ok(id.to_owned());
    }

    let detail = provider_error_text(response).await;
    let failure = format!("SMS provider answered {status}: {detail}");
    tracing::debug!(reference, %status, "text message refused by the provider");
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        Err(DeliveryError::Transient(failure))
    } else {
        // 4xx: this message will be refused every time. Anything else (3xx with
        // redirects off, 1xx) means the URL is wrong, which retrying will not fix.
        Err(DeliveryError::Permanent(failure))
    }
}

/// The provider's explanation of a failure, truncated: the `message`s of a Notify
/// error body (`{"errors": [{"error": "...", "message": "..."}]}`) if it has that
/// shape, otherwise the raw body.
async fn provider_error_text(response: reqwest::Response) -> String {
    let raw = response.text().await.unwrap_or_default();
    let messages = serde_json::from_str::<serde_json::Value>(&raw)
        .ok()
        .and_then(|json| {
            let messages: Vec<String> = json["errors"]
                .as_array()?
                .iter()
                .filter_map(|error| error["message"].as_str().map(str::to_owned))
                .collect();
            (!messages.is_empty()).then(|| messages.join("; "))
        });
    truncate(messages.unwrap_or(raw).trim(), MAX_ERROR_TEXT)
}

/// At most `max` characters of `text`, with `…` when cut (never mid-character).
fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

async fn append_line(
    path: &Path,
    to: &str,
    body: &str,
    reference: &str,
) -> Result<String, DeliveryError> {
    let io_error = |error: std::io::Error| {
        DeliveryError::Transient(format!(
            "cannot write to the SMS log {}: {error}",
            path.display()
        ))
    };
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(dir).await.map_err(io_error)?;
    }
    let line = format!(
        "{}\t{}\t{}\t{}\n",
        Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        escape_field(to),
        escape_field(reference),
        escape_field(body),
    );
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await
        .map_err(io_error)?;
    // One write of the whole line: with O_APPEND, concurrent senders (several jobs,
    // or API and worker in one process) cannot interleave within a line.
    file.write_all(line.as_bytes()).await.map_err(io_error)?;
    file.flush().await.map_err(io_error)?;
    Ok(format!("file:{reference}"))
}

/// Keeps a field on its line and out of its neighbours' columns.
fn escape_field(field: &str) -> String {
    let mut escaped = String::with_capacity(field.len());
    for c in field.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::{Json, Router, extract::State, http::HeaderMap, http::StatusCode, routing::post};
    use serde_json::{Value, json};

    use super::*;

    const API_KEY: &str = "test-key-6f1c2a";

    /// What the fake provider saw: the Authorization header and the JSON body.
    type Seen = Arc<Mutex<Vec<(Option<String>, Value)>>>;

    /// A fake provider on a random local port that answers every POST with `status`
    /// and `answer`, and records what it was sent.
    async fn spawn_provider(status: StatusCode, answer: Value) -> (Url, Seen) {
        let seen = Seen::default();
        let router = Router::new()
            .route(
                "/v2/notifications/sms",
                post(
                    move |State(seen): State<Seen>, headers: HeaderMap, Json(body): Json<Value>| {
                        let answer = answer.clone();
                        async move {
                            let auth = headers
                                .get("authorization")
                                .and_then(|value| value.to_str().ok())
                                .map(str::to_owned);
                            seen.lock().unwrap().push((auth, body));
                            (status, Json(answer))
                        }
                    },
                ),
            )
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        let url = Url::parse(&format!("http://{address}/v2/notifications/sms")).unwrap();
        (url, seen)
    }

    fn sender(url: Url) -> SmsSender {
        SmsSender::http(url, SecretString::from(API_KEY)).unwrap()
    }

    #[tokio::test]
    async fn http_returns_the_provider_id_and_sends_key_and_json() {
        let (url, seen) = spawn_provider(
            StatusCode::CREATED,
            json!({"id": "740e5834-3a29-46b4-9a6f-16142fde533a", "reference": "d-1"}),
        )
        .await;

        let id = sender(url)
            .send("+447700900123", "731904 is your code.", "d-1")
            .await
            .unwrap();

        assert_eq!(id, "740e5834-3a29-46b4-9a6f-16142fde533a");
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].0.as_deref(), Some("Bearer test-key-6f1c2a"));
        assert_eq!(
            seen[0].1,
            json!({"phone_number": "+447700900123", "body": "731904 is your code.", "reference": "d-1"})
        );
    }

    #[tokio::test]
    async fn http_400_is_permanent_with_the_providers_reason() {
        let (url, _) = spawn_provider(
            StatusCode::BAD_REQUEST,
            json!({
                "errors": [{"error": "ValidationError", "message": "phone_number Not a UK mobile number"}],
                "status_code": 400,
            }),
        )
        .await;

        let error = sender(url).send("0800", "hi", "d-2").await.unwrap_err();

        let DeliveryError::Permanent(text) = error else {
            panic!("expected permanent, got {error:?}");
        };
        assert!(text.contains("400"), "{text}");
        assert!(text.contains("Not a UK mobile number"), "{text}");
    }

    #[tokio::test]
    async fn http_429_and_503_are_transient() {
        for status in [
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::SERVICE_UNAVAILABLE,
        ] {
            let (url, _) = spawn_provider(status, json!({"errors": []})).await;
            let error = sender(url)
                .send("+447700900123", "hi", "d-3")
                .await
                .unwrap_err();
            assert!(
                matches!(&error, DeliveryError::Transient(text) if text.contains(status.as_str())),
                "{status}: {error:?}"
            );
        }
    }

    #[tokio::test]
    async fn http_success_without_an_id_is_not_retried() {
        let (url, _) = spawn_provider(StatusCode::OK, json!({"status": "ok"})).await;
        let error = sender(url)
            .send("+447700900123", "hi", "d-4")
            .await
            .unwrap_err();
        assert!(error.is_permanent(), "{error:?}");
    }

    #[tokio::test]
    async fn http_to_an_unreachable_port_is_transient() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = Url::parse(&format!("http://127.0.0.1:{port}/v2/notifications/sms")).unwrap();
        let error = sender(url)
            .send("+447700900123", "hi", "d-5")
            .await
            .unwrap_err();
        assert!(matches!(error, DeliveryError::Transient(_)), "{error:?}");
    }

    #[tokio::test]
    async fn log_file_appends_one_escaped_line_per_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join("outbox").join("sms.log");
        let sms = SmsSender::log_file(&path);

        assert_eq!(
            sms.send("+447700900123", "first", "d-6").await.unwrap(),
            "file:d-6"
        );
        sms.send("+447700900456", "line one\nline\ttwo \\ end", "d-7")
            .await
            .unwrap();

        let log = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<Vec<&str>> = log.lines().map(|line| line.split('\t').collect()).collect();
        assert_eq!(lines.len(), 2, "{log}");
        assert!(
            chrono::DateTime::parse_from_rfc3339(lines[0][0]).is_ok(),
            "{log}"
        );
        assert_eq!(lines[0][1..], ["+447700900123", "d-6", "first"]);
        assert_eq!(
            lines[1][1..],
            ["+447700900456", "d-7", "line one\\nline\\ttwo \\\\ end"]
        );
    }

    #[test]
    fn debug_output_hides_the_key() {
        let shown = format!(
            "{:?}",
            sender(Url::parse("https://sms.example/send").unwrap())
        );
        assert!(!shown.contains(API_KEY), "{shown}");
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("ééééé", 2), "éé…");
    }
}
