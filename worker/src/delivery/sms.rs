//! Sending text messages: through GOV.UK Notify in production, as lines in a
//! log file in the embedded default.
//!
//! Notify sends the text of a template; ours are rendered here
//! (`api/templates/`), so the Notify template is `((body))` and the rendered
//! text goes in `personalisation.body` (see [`super::notify`]). The delivery
//! id is the `reference`, which Notify repeats in its delivery-status
//! callbacks.

use std::{
    fmt,
    path::{Path, PathBuf},
};

use chrono::{SecondsFormat, Utc};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use super::{DeliveryError, notify::NotifyClient};

/// Where text messages go, chosen by configuration.
#[derive(Clone)]
pub enum SmsSender {
    /// GOV.UK Notify (production).
    Notify {
        /// The Notify service's client.
        client: NotifyClient,
        /// The text message template whose body is `((body))`.
        template_id: Uuid,
    },
    /// Appends one line per message to this file (the embedded default):
    /// `<RFC 3339 time>\t<to>\t<reference>\t<body>`, with backslashes, tabs and line
    /// breaks escaped so that each message stays one line.
    LogFile(PathBuf),
}

impl fmt::Debug for SmsSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The client's Debug redacts the key.
            Self::Notify {
                client,
                template_id,
            } => f
                .debug_struct("SmsSender::Notify")
                .field("client", client)
                .field("template_id", template_id)
                .finish(),
            Self::LogFile(path) => f.debug_tuple("SmsSender::LogFile").field(path).finish(),
        }
    }
}

impl SmsSender {
    /// A sender through Notify with the template `template_id`.
    pub fn notify(client: NotifyClient, template_id: Uuid) -> Self {
        Self::Notify {
            client,
            template_id,
        }
    }

    /// A sender that appends to the file at `path`, creating it and its directory on
    /// first use.
    pub fn log_file(path: impl Into<PathBuf>) -> Self {
        Self::LogFile(path.into())
    }

    /// Sends `body` to the mobile number `to`, tagged with our `reference` (the
    /// delivery id), and returns the provider's reference for the delivery record:
    /// Notify's notification id, or `file:<reference>` for the log file.
    pub async fn send(
        &self,
        to: &str,
        body: &str,
        reference: &str,
    ) -> Result<String, DeliveryError> {
        match self {
            Self::Notify {
                client,
                template_id,
            } => {
                client
                    .send_sms(
                        *template_id,
                        to,
                        serde_json::json!({ "body": body }),
                        reference,
                    )
                    .await
            }
            Self::LogFile(path) => append_line(path, to, body, reference).await,
        }
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
    use super::*;

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
}
