//! Sending email: over SMTP or through GOV.UK Notify in production, as `.eml`
//! files in the embedded default.
//!
//! SMTP and files are [lettre] transports; Notify is [`super::notify`]. All
//! three sit behind one [`Mailer`], so the send-email job does not care which
//! one configuration picked. Notify builds the message itself from its
//! template (`((subject))`, `((body))`), so it gets the subject and the
//! plain-text part, and our delivery id as its `reference`. Each message is `multipart/alternative`
//! (plain text first, then HTML, so clients that can show HTML prefer it) and carries
//! the Message-ID the caller chose. The caller derives it from the delivery's id
//! ([`message_id_for`]), so if a send is retried after the server accepted it but
//! before we heard back, the duplicate has the same Message-ID and mail systems
//! downstream can drop it.
//!
//! Failures are classified for the retry logic (see [`DeliveryError`]): an SMTP 5xx
//! reply to the message is permanent, everything else (4xx replies, refused or
//! dropped connections, timeouts, TLS trouble) is transient.

use std::{fmt, path::Path, time::Duration};

use lettre::{
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
    transport::smtp::{self, response::Response},
};

use super::{DeliveryError, RenderedEmail, notify::NotifyClient};

/// How long one SMTP command may take before the attempt is abandoned as transient.
/// lettre's default is 60 seconds; a healthy relay answers in well under a second,
/// and a worker blocked for a minute per email would back the queue up quickly.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

/// SMTP replies that are permanent (5xx) but say nothing about the message: the
/// relay refused *our* credentials (530 authentication required, 534 mechanism too
/// weak, 535 credentials invalid, 538 encryption required). Every email would fail
/// the same way until an operator fixes the configuration, after which they should
/// all go out, so they are retried instead of being marked failed one by one.
const AUTH_FAILURE_CODES: [u16; 4] = [530, 534, 535, 538];

/// Where email goes, chosen by configuration. Cheap to clone: the SMTP variant shares
/// one connection pool between clones.
#[derive(Clone, Debug)]
pub enum Mailer {
    /// A pooled SMTP relay (production).
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// One `<uuid>.eml` file per message in a directory (the embedded default), which
    /// any mail client can open.
    File(AsyncFileTransport<Tokio1Executor>),
    /// GOV.UK Notify (production), with the email template whose subject is
    /// `((subject))` and body `((body))`.
    Notify {
        /// The Notify service's client.
        client: NotifyClient,
        /// The template's id.
        template_id: uuid::Uuid,
    },
}

/// One email, ready to send.
///
/// `Debug` shows only the recipient's domain and the Message-ID: the subject and
/// bodies can hold set-password links and sign-in codes.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    /// The sender, a mailbox such as `Landlord & Resident Portal <no-reply@example.gov.uk>`.
    pub from: String,
    /// The recipient's address (or mailbox).
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
    /// The Message-ID header, such as `<0195f0c2-6b1e-7a3c-9d42-1f6b8e0a5c77@portal>`;
    /// angle brackets are added if missing. See [`message_id_for`].
    pub message_id: String,
    /// Our reference for the provider (the delivery id), which GOV.UK Notify
    /// repeats in its delivery-status callbacks.
    pub reference: String,
}

impl OutgoingEmail {
    /// An email from a rendered template, with the Message-ID of the delivery record
    /// it belongs to.
    pub fn from_rendered(
        from: impl Into<String>,
        to: impl Into<String>,
        delivery_id: uuid::Uuid,
        rendered: RenderedEmail,
    ) -> Self {
        Self {
            from: from.into(),
            to: to.into(),
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            message_id: message_id_for(delivery_id),
            reference: delivery_id.to_string(),
        }
    }
}

impl fmt::Debug for OutgoingEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingEmail")
            .field("to_domain", &recipient_domain(&self.to))
            .field("message_id", &self.message_id)
            .finish_non_exhaustive()
    }
}

/// The Message-ID of the email for a delivery record: the same on every attempt, so
/// that a retried send can be recognised as a duplicate downstream.
pub fn message_id_for(delivery_id: uuid::Uuid) -> String {
    format!("<{delivery_id}@portal>")
}

impl Mailer {
    /// An SMTP mailer from a connection URL: `smtp://host:port` (plain, for local
    /// catchers), `smtp://user:pass@host:587?tls=required` (STARTTLS required) or
    /// `smtps://user:pass@host:465` (TLS from the start). User name and password must
    /// be percent-encoded. Nothing is sent until the first email: a relay that is
    /// down at start-up only delays delivery.
    ///
    /// The error never repeats the URL, which may hold the password.
    pub fn smtp(url: &str) -> Result<Self, DeliveryError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            // lettre's URL errors name the scheme or the parse failure, never the
            // URL itself, so they are safe to show.
            .map_err(|error| DeliveryError::Permanent(format!("invalid SMTP URL: {error}")))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        Ok(Self::Smtp(transport))
    }

    /// A mailer that writes each email to `dir` as a `.eml` file, creating the
    /// directory if needed.
    pub fn file(dir: &Path) -> Result<Self, DeliveryError> {
        std::fs::create_dir_all(dir).map_err(|error| {
            DeliveryError::Permanent(format!(
                "cannot create the email outbox {}: {error}",
                dir.display()
            ))
        })?;
        Ok(Self::File(AsyncFileTransport::new(dir)))
    }

    /// A mailer through GOV.UK Notify with the template `template_id`.
    pub fn notify(client: NotifyClient, template_id: uuid::Uuid) -> Self {
        Self::Notify {
            client,
            template_id,
        }
    }

    /// Sends one email and returns the provider's reference for the delivery record:
    /// the SMTP server's reply (which usually names its queue id, e.g.
    /// `250 2.0.0 Ok: queued as 4F2A1`), Notify's notification id, or
    /// `file:<uuid>` for the file mailer, where `<uuid>.eml` is the file written.
    pub async fn send(&self, email: &OutgoingEmail) -> Result<String, DeliveryError> {
        let message = build_message(email)?;
        let to_domain = recipient_domain(&email.to);
        match self {
            Self::Notify {
                client,
                template_id,
            } => {
                // Notify wants the bare address; `build_message` has checked
                // that it parses.
                let to: Mailbox = email.to.parse().map_err(|_| {
                    DeliveryError::Permanent(format!(
                        "invalid recipient address (domain {to_domain})"
                    ))
                })?;
                let personalisation = serde_json::json!({
                    "subject": email.subject,
                    "body": email.text,
                });
                client
                    .send_email(
                        *template_id,
                        to.email.as_ref(),
                        personalisation,
                        &email.reference,
                    )
                    .await
            }
            Self::Smtp(transport) => match transport.send(message).await {
                Ok(response) => {
                    tracing::debug!(to_domain, "email accepted by the SMTP relay");
                    Ok(smtp_reference(&response, &email.message_id))
                }
                Err(error) => {
                    let error = classify_smtp_error(&error);
                    tracing::debug!(to_domain, %error, "SMTP relay did not take the email");
                    Err(error)
                }
            },
            Self::File(transport) => {
                let id = transport.send(message).await.map_err(|error| {
                    // A full disk or a permissions slip: worth another go later.
                    DeliveryError::Transient(format!("cannot write the email file: {error}"))
                })?;
                tracing::debug!(to_domain, file = %id, "email written to the outbox");
                Ok(format!("file:{id}"))
            }
        }
    }
}

/// The MIME message for an email. Everything that can be wrong here is wrong for
/// good (a malformed address or Message-ID), so every error is permanent.
fn build_message(email: &OutgoingEmail) -> Result<Message, DeliveryError> {
    let from: Mailbox = email
        .from
        .parse()
        .map_err(|error| DeliveryError::Permanent(format!("invalid sender address: {error}")))?;
    let to: Mailbox = email.to.parse().map_err(|error| {
        DeliveryError::Permanent(format!(
            "invalid recipient address (domain {}): {error}",
            recipient_domain(&email.to)
        ))
    })?;
    Message::builder()
        .from(from)
        .to(to)
        .subject(email.subject.as_str())
        .message_id(Some(normalise_message_id(&email.message_id)?))
        .multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            email.html.clone(),
        ))
        .map_err(|error| DeliveryError::Permanent(format!("cannot build the email: {error}")))
}

/// `<id@domain>`, with the angle brackets added if the caller left them off. A
/// header value must not contain whitespace or control characters (they would end
/// the header or start a new one), so those are refused.
fn normalise_message_id(id: &str) -> Result<String, DeliveryError> {
    let bare = id.trim().trim_start_matches('<').trim_end_matches('>');
    let valid = bare
        .split_once('@')
        .is_some_and(|(left, right)| !left.is_empty() && !right.is_empty())
        && !bare
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>'));
    if valid {
        Ok(format!("<{bare}>"))
    } else {
        Err(DeliveryError::Permanent(format!(
            "invalid Message-ID {id:?}: expected <id@domain>"
        )))
    }
}

/// The relay's reply as the provider reference, e.g. `250 2.0.0 Ok: queued as 4F2A1`;
/// the Message-ID if the relay said nothing useful.
fn smtp_reference(response: &Response, message_id: &str) -> String {
    let text = response.message().collect::<Vec<_>>().join(" ");
    if text.trim().is_empty() {
        normalise_message_id(message_id).unwrap_or_else(|_| message_id.to_owned())
    } else {
        format!("{} {}", response.code(), text.trim())
    }
}

fn classify_smtp_error(error: &smtp::Error) -> DeliveryError {
    let is_auth_failure = error
        .status()
        .is_some_and(|code| AUTH_FAILURE_CODES.contains(&u16::from(code)));
    if error.is_permanent() && !is_auth_failure {
        DeliveryError::Permanent(format!("SMTP relay rejected the email: {error}"))
    } else if error.is_timeout() {
        DeliveryError::Transient(format!("SMTP relay timed out: {error}"))
    } else {
        DeliveryError::Transient(format!("SMTP delivery failed: {error}"))
    }
}

/// The part of an address after the `@`, the most of a recipient that may be logged.
fn recipient_domain(address: &str) -> &str {
    address
        .rsplit_once('@')
        .map_or("?", |(_, domain)| domain.trim_end_matches('>'))
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use mailparse::MailHeaderMap;

    use super::*;

    fn sample_email(message_id: &str) -> OutgoingEmail {
        OutgoingEmail {
            from: "Landlord & Resident Portal <no-reply@portal.example.gov.uk>".into(),
            to: "Priya Shah <priya.shah@northgate-homes.example>".into(),
            subject: "Reset your Landlord & Resident Portal password".into(),
            text: "Hello Priya,\n\nOpen https://portal.example.gov.uk/reset-password?token=abc\n"
                .into(),
            html: "<p>Hello Priya,</p><p><a href=\"https://portal.example.gov.uk/reset-password?token=abc\">Choose a new password</a></p>"
                .into(),
            message_id: message_id.into(),
            reference: "d-1".into(),
        }
    }

    /// A port on which nothing listens: bound, then released.
    fn closed_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn file_mailer_writes_a_multipart_eml_with_our_message_id() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = dir.path().join("outbox");
        let mailer = Mailer::file(&outbox).unwrap();
        let delivery_id = uuid::Uuid::new_v4();
        let rendered = RenderedEmail {
            subject: "Your password was changed".into(),
            text: "Hello Zoë,\n\nYour password was changed at 09:41 on 1 July 2026.\n".into(),
            html: "<p>Hello Zoë,</p>\n<p>Your password was changed at 09:41 on 1 July 2026.</p>\n"
                .into(),
        };
        let email = OutgoingEmail::from_rendered(
            "Landlord & Resident Portal <no-reply@portal.example.gov.uk>",
            "zoe@example.org",
            delivery_id,
            rendered.clone(),
        );

        let reference = mailer.send(&email).await.unwrap();

        let file_id = reference.strip_prefix("file:").expect("file reference");
        let raw = std::fs::read(outbox.join(format!("{file_id}.eml"))).unwrap();
        let parsed = mailparse::parse_mail(&raw).unwrap();
        let header = |name: &str| {
            parsed
                .get_headers()
                .get_first_value(name)
                .unwrap_or_default()
        };
        assert_eq!(header("Message-ID"), format!("<{delivery_id}@portal>"));
        assert_eq!(header("Subject"), rendered.subject);
        assert_eq!(header("To"), "zoe@example.org");
        assert!(header("From").contains("no-reply@portal.example.gov.uk"));
        assert_eq!(parsed.ctype.mimetype, "multipart/alternative");
        let parts: Vec<_> = parsed
            .subparts
            .iter()
            .map(|part| (part.ctype.mimetype.clone(), part.get_body().unwrap()))
            .collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].0, "text/plain");
        assert_eq!(parts[0].1.replace("\r\n", "\n"), rendered.text);
        assert_eq!(parts[1].0, "text/html");
        assert_eq!(parts[1].1.replace("\r\n", "\n"), rendered.html);
    }

    #[tokio::test]
    async fn file_mailer_creates_nested_directories() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = dir.path().join("data").join("outbox");
        Mailer::file(&outbox).unwrap();
        assert!(outbox.is_dir());
    }

    #[tokio::test]
    async fn invalid_addresses_are_permanent() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::file(dir.path()).unwrap();
        let mut email = sample_email("<a@portal>");
        email.to = "not an address".into();
        assert!(mailer.send(&email).await.unwrap_err().is_permanent());
        let mut email = sample_email("<a@portal>");
        email.from = "no-reply".into();
        assert!(mailer.send(&email).await.unwrap_err().is_permanent());
    }

    #[test]
    fn message_ids_are_normalised_and_header_safe() {
        assert_eq!(normalise_message_id("abc@portal").unwrap(), "<abc@portal>");
        assert_eq!(
            normalise_message_id("<abc@portal>").unwrap(),
            "<abc@portal>"
        );
        for bad in [
            "",
            "<>",
            "abc",
            "<a@b>\r\nBcc: x@y",
            "a b@portal",
            "@portal",
        ] {
            assert!(
                normalise_message_id(bad).unwrap_err().is_permanent(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn an_invalid_smtp_url_is_refused_without_echoing_it() {
        let error = Mailer::smtp("not a url with s3cret").unwrap_err();
        assert!(error.is_permanent());
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }

    #[test]
    fn debug_output_hides_the_message() {
        let shown = format!("{:?}", sample_email("<a@portal>"));
        assert!(!shown.contains("token"), "{shown}");
        assert!(!shown.contains("priya.shah"), "{shown}");
        assert!(shown.contains("northgate-homes.example"), "{shown}");
    }

    #[tokio::test]
    async fn smtp_to_a_closed_port_is_transient() {
        let mailer = Mailer::smtp(&format!("smtp://127.0.0.1:{}", closed_port())).unwrap();
        let error = mailer
            .send(&sample_email("<closed@portal>"))
            .await
            .unwrap_err();
        assert!(matches!(error, DeliveryError::Transient(_)), "{error:?}");
    }

    /// Sends through a real SMTP server when `TEST_SMTP_URL` is set (for example
    /// maildev: `maildev --smtp 1025 --web 1080 --ip 127.0.0.1`, then
    /// `TEST_SMTP_URL=smtp://127.0.0.1:1025`). With `TEST_SMTP_API_URL` (maildev's web
    /// address, `http://127.0.0.1:1080`) it also reads the email back from maildev's
    /// REST API and checks what arrived.
    #[tokio::test]
    async fn smtp_sends_a_real_email_when_a_server_is_configured() {
        let Ok(url) = std::env::var("TEST_SMTP_URL") else {
            println!("skipping SMTP: TEST_SMTP_URL not set");
            return;
        };
        let mailer = Mailer::smtp(&url).unwrap();
        let delivery_id = uuid::Uuid::new_v4();
        let email = sample_email(&message_id_for(delivery_id));

        let reference = mailer.send(&email).await.unwrap();
        assert!(reference.starts_with("250"), "{reference}");

        let Ok(api) = std::env::var("TEST_SMTP_API_URL") else {
            println!("not reading the email back: TEST_SMTP_API_URL not set");
            return;
        };
        let received = maildev_find(&api, &email.message_id).await;
        assert_eq!(received["subject"], email.subject.as_str());
        assert_eq!(
            received["to"][0]["address"],
            "priya.shah@northgate-homes.example"
        );
        assert_eq!(
            received["text"].as_str().unwrap().trim_end(),
            email.text.trim_end()
        );
        assert_eq!(
            received["html"].as_str().unwrap().trim_end(),
            email.html.trim_end()
        );
    }

    /// The email with this Message-ID from maildev's REST API: `GET {api}/email` on
    /// maildev 2 (and `.ci/mailsink.py`), `GET {api}/api/email` on maildev 3. Both
    /// return a JSON array whose items have `subject`, `to` (a list of `{address,
    /// name}`), `text`, `html` and `headers` (lower-case names). maildev 2 and the
    /// sink also have `messageId` without angle brackets; maildev 3 has only
    /// `headers["message-id"]`, with them.
    async fn maildev_find(api: &str, message_id: &str) -> serde_json::Value {
        let api = api.trim_end_matches('/');
        let wanted = message_id.trim_matches(['<', '>']);
        let is_wanted = |value: &serde_json::Value| {
            value
                .as_str()
                .is_some_and(|id| id.trim().trim_matches(['<', '>']) == wanted)
        };
        let client = reqwest::Client::new();
        for path in ["/email", "/api/email"] {
            let Ok(response) = client.get(format!("{api}{path}")).send().await else {
                continue;
            };
            // maildev 3 answers /email with a JSON 404, so only a JSON array counts.
            let Ok(serde_json::Value::Array(emails)) = response.json().await else {
                continue;
            };
            return emails
                .into_iter()
                .find(|email| {
                    is_wanted(&email["messageId"]) || is_wanted(&email["headers"]["message-id"])
                })
                .unwrap_or_else(|| panic!("{message_id} not found at {api}{path}"));
        }
        panic!("no maildev email API at {api}/email or {api}/api/email");
    }
}
