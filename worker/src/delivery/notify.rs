//! A GOV.UK Notify client: the part of its API this service uses, sending one
//! email or one text message.
//!
//! Every request carries `Authorization: Bearer <JWT>`, a JSON Web Token
//! signed with HS256 by the secret half of the service's API key, with the
//! claims `iss` (the service id, the key's first UUID) and `iat` (now, in
//! seconds). Notify refuses a token issued more than 30 seconds from its own
//! clock, so a fresh one is made for every request. The secret itself never
//! leaves the process.
//!
//! ```text
//! POST /v2/notifications/sms    {"phone_number", "template_id", "personalisation", "reference"}
//! POST /v2/notifications/email  {"email_address", "template_id", "personalisation", "reference"}
//! 201 {"id": "<Notify's notification id>", "reference", "content", "template", "uri", ...}
//! 4xx/5xx {"status_code": 400, "errors": [{"error": "BadRequestError", "message": "..."}]}
//! ```
//!
//! We render our own messages, so the personalisation is `{subject, body}`
//! for a Notify template that holds nothing but `((subject))` and `((body))`
//! (see `platform::config::delivery`). `reference` is our delivery id:
//! Notify hands it back in delivery-status callbacks. The answer's `id` is
//! stored as the delivery's provider reference.
//!
//! Failures, classified for the job runner ([`DeliveryError`]): 400 (a bad
//! number or address, a team key sending outside the team) and 403 (a bad key
//! or token) are permanent, with Notify's error message; 429 (rate or daily
//! limit) and 5xx are retried with backoff, as are timeouts and network
//! errors. A 2xx whose answer cannot be read is permanent too: Notify has the
//! message, and sending again would deliver it twice.

use std::{fmt, time::Duration};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use url::Url;
use uuid::Uuid;

use super::DeliveryError;

/// How long one request to Notify may take, connection included.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of an error answer is kept in the delivery record.
const MAX_ERROR_TEXT: usize = 300;

/// A client for one Notify service. Cheap to clone (the HTTP pool is shared).
#[derive(Clone)]
pub struct NotifyClient {
    /// Redirects off: a redirect would replay the token elsewhere.
    client: reqwest::Client,
    base_url: Url,
    service_id: Uuid,
    secret_key: SecretString,
}

impl fmt::Debug for NotifyClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifyClient")
            .field("base_url", &self.base_url.as_str())
            .field("service_id", &self.service_id)
            .field("secret_key", &self.secret_key)
            .finish_non_exhaustive()
    }
}

/// The JWT Notify expects: header `{"alg":"HS256","typ":"JWT"}`, claims
/// `{"iss": <service id>, "iat": <issued at>}`, signed with HMAC-SHA256 of
/// the secret key's text.
pub fn notify_token(service_id: Uuid, secret_key: &SecretString, issued_at: i64) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = URL_SAFE_NO_PAD
        .encode(serde_json::json!({ "iss": service_id.to_string(), "iat": issued_at }).to_string());
    let signing_input = format!("{header}.{claims}");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret_key.expose_secret().as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

impl NotifyClient {
    /// A client for the service `service_id` whose API key's secret is
    /// `secret_key`, at `base_url` (`https://api.notifications.service.gov.uk`
    /// in production).
    pub fn new(
        base_url: Url,
        service_id: Uuid,
        secret_key: SecretString,
    ) -> Result<Self, DeliveryError> {
        let client = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| {
                DeliveryError::Permanent(format!("cannot build the Notify HTTP client: {error}"))
            })?;
        Ok(Self {
            client,
            base_url,
            service_id,
            secret_key,
        })
    }

    /// Sends a text message with `template_id` to `phone_number`; returns
    /// Notify's notification id.
    pub async fn send_sms(
        &self,
        template_id: Uuid,
        phone_number: &str,
        personalisation: serde_json::Value,
        reference: &str,
    ) -> Result<String, DeliveryError> {
        self.post(
            "v2/notifications/sms",
            serde_json::json!({
                "phone_number": phone_number,
                "template_id": template_id,
                "personalisation": personalisation,
                "reference": reference,
            }),
            reference,
        )
        .await
    }

    /// Sends an email with `template_id` to `email_address` (a bare
    /// address); returns Notify's notification id.
    pub async fn send_email(
        &self,
        template_id: Uuid,
        email_address: &str,
        personalisation: serde_json::Value,
        reference: &str,
    ) -> Result<String, DeliveryError> {
        self.post(
            "v2/notifications/email",
            serde_json::json!({
                "email_address": email_address,
                "template_id": template_id,
                "personalisation": personalisation,
                "reference": reference,
            }),
            reference,
        )
        .await
    }

    async fn post(
        &self,
        path: &str,
        body: serde_json::Value,
        reference: &str,
    ) -> Result<String, DeliveryError> {
        let url = self.base_url.join(path).map_err(|error| {
            DeliveryError::Permanent(format!("invalid Notify URL ({path}): {error}"))
        })?;
        let token = notify_token(
            self.service_id,
            &self.secret_key,
            chrono::Utc::now().timestamp(),
        );
        let response = self
            .client
            .post(url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .map_err(|error| {
                DeliveryError::Transient(format!(
                    "GOV.UK Notify unreachable: {}",
                    error.without_url()
                ))
            })?;
        let status = response.status();
        if status.is_success() {
            let answer: serde_json::Value = response.json().await.map_err(|error| {
                DeliveryError::Permanent(format!(
                    "GOV.UK Notify accepted the message ({status}) but its answer was not JSON: {}",
                    error.without_url()
                ))
            })?;
            let id = answer["id"]
                .as_str()
                .filter(|id| !id.is_empty())
                .ok_or_else(|| {
                    DeliveryError::Permanent(format!(
                        "GOV.UK Notify accepted the message ({status}) but returned no id"
                    ))
                })?;
            tracing::debug!(
                reference,
                notify_id = id,
                "message accepted by GOV.UK Notify"
            );
            return Ok(id.to_owned());
        }
        let failure = format!(
            "GOV.UK Notify answered {status}: {}",
            error_text(response).await
        );
        tracing::debug!(reference, %status, "message refused by GOV.UK Notify");
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            Err(DeliveryError::Transient(failure))
        } else {
            // 400 and 403 are refused every time; anything else (3xx with
            // redirects off, 404) means the base URL is wrong.
            Err(DeliveryError::Permanent(failure))
        }
    }
}

/// Notify's explanation of a failure, `error: message` for each entry of
/// its `errors` list, else the raw body; truncated.
async fn error_text(response: reqwest::Response) -> String {
    let raw = response.text().await.unwrap_or_default();
    let messages = serde_json::from_str::<serde_json::Value>(&raw)
        .ok()
        .and_then(|json| {
            let messages: Vec<String> = json["errors"]
                .as_array()?
                .iter()
                .filter_map(|error| {
                    let message = error["message"].as_str()?;
                    Some(match error["error"].as_str() {
                        Some(kind) => format!("{kind}: {message}"),
                        None => message.to_owned(),
                    })
                })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_an_hs256_jwt_of_iss_and_iat() {
        let service = Uuid::parse_str("26785a09-ab16-4eb0-8407-a37497a57506").unwrap();
        let secret = SecretString::from("3d844edf-8d35-48ac-975b-e847b4f122b0");
        let token = notify_token(service, &secret, 1_700_000_000);
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header, serde_json::json!({"alg": "HS256", "typ": "JWT"}));
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(
            claims,
            serde_json::json!({"iss": "26785a09-ab16-4eb0-8407-a37497a57506", "iat": 1_700_000_000})
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()).unwrap();
        mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
        mac.verify_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap())
            .expect("signed with the secret");
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let client = NotifyClient::new(
            Url::parse("https://api.notifications.service.gov.uk").unwrap(),
            Uuid::nil(),
            SecretString::from("3d844edf-8d35-48ac-975b-e847b4f122b0"),
        )
        .unwrap();
        assert!(!format!("{client:?}").contains("3d844edf"));
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("ééééé", 2), "éé…");
    }
}
