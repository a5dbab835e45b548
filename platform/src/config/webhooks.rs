//! Webhook delivery settings (`PORTAL_WEBHOOK_*`): which addresses an
//! endpoint may point at, timeouts, concurrency, when a failing endpoint is
//! disabled, how long the delivery log is kept, and the key that seals the
//! endpoints' signing secrets at rest.

use std::time::Duration;

use base64::Engine as _;
use secrecy::SecretBox;

use super::{ConfigError, Vars};

/// How webhooks are delivered.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Endpoints may resolve to loopback, private, link-local and other
    /// non-public addresses (tests and closed networks only: it opens the
    /// service to server-side request forgery).
    pub allow_private: bool,
    /// Endpoints may use plain `http://` (development only).
    pub allow_http: bool,
    /// The whole of one delivery attempt: connecting, sending and reading
    /// the answer.
    pub timeout: Duration,
    /// Deliveries to one endpoint running at once in one worker process.
    pub endpoint_concurrency: usize,
    /// An endpoint failing without a single success for this long is disabled.
    pub disable_after: Duration,
    /// Events, deliveries and attempts older than this are pruned.
    pub log_retention: Duration,
    /// Most endpoints per organisation.
    pub max_endpoints: usize,
    /// The 32-byte key sealing signing secrets at rest, when set
    /// (`PORTAL_WEBHOOK_SECRET_KEY`); unset, a key is generated once into
    /// `<data dir>/webhook-secret.key` (`api::webhooks::signing::ServerKey`).
    pub secret_key: Option<std::sync::Arc<SecretBox<[u8; 32]>>>,
}

pub(super) fn read(vars: &Vars) -> Result<WebhookConfig, ConfigError> {
    let secret_key = match vars.get("PORTAL_WEBHOOK_SECRET_KEY") {
        None => None,
        Some(raw) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(raw)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| {
                    ConfigError::new(
                        "PORTAL_WEBHOOK_SECRET_KEY",
                        "must be 32 bytes in base64 (`openssl rand -base64 32`)",
                    )
                })?;
            Some(std::sync::Arc::new(SecretBox::new(Box::new(bytes))))
        }
    };
    let timeout_secs: u64 = vars.positive("PORTAL_WEBHOOK_TIMEOUT_SECS", 10)?;
    if timeout_secs > 60 {
        // The delivery job's own time limit (`Job::TIMEOUT`) is 90 s.
        return Err(ConfigError::new(
            "PORTAL_WEBHOOK_TIMEOUT_SECS",
            "at most 60 (a receiver should answer at once and work afterwards)",
        ));
    }
    Ok(WebhookConfig {
        allow_private: vars.bool("PORTAL_WEBHOOK_ALLOW_PRIVATE", false)?,
        allow_http: vars.bool("PORTAL_WEBHOOK_ALLOW_HTTP", false)?,
        timeout: Duration::from_secs(timeout_secs),
        endpoint_concurrency: vars.positive("PORTAL_WEBHOOK_ENDPOINT_CONCURRENCY", 4)?,
        disable_after: Duration::from_secs(
            vars.positive::<u64>("PORTAL_WEBHOOK_DISABLE_AFTER_HOURS", 72)?
                .saturating_mul(3600),
        ),
        log_retention: Duration::from_secs(
            vars.positive::<u64>("PORTAL_WEBHOOK_LOG_RETENTION_DAYS", 30)?
                .saturating_mul(86_400),
        ),
        max_endpoints: vars.positive("PORTAL_WEBHOOK_MAX_ENDPOINTS", 10)?,
        secret_key,
    })
}
