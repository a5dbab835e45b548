//! How messages and uploads leave the building: email (`PORTAL_SMTP_URL`,
//! `PORTAL_MAIL_FROM`), SMS (`PORTAL_SMS_*`) and the virus scanner
//! (`PORTAL_CLAMD_ADDR`). Each is off (a local file, or no scan) until set.

use secrecy::SecretString;
use url::Url;

use super::{ConfigError, Vars};

/// Email delivery settings.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// SMTP URL; `None` writes `.eml` files under `<data dir>/outbox/`.
    pub smtp_url: Option<SecretString>,
    /// The `From:` mailbox of every email.
    pub from: String,
}

/// SMS delivery settings.
#[derive(Debug, Clone)]
pub struct SmsConfig {
    /// Notify-style provider endpoint and bearer key; `None` appends to `<data dir>/outbox/sms.log`.
    pub provider: Option<(Url, SecretString)>,
}

/// Reads `PORTAL_SMTP_URL` and `PORTAL_MAIL_FROM`.
pub(super) fn mail(vars: &Vars) -> Result<MailConfig, ConfigError> {
    let smtp_url = match vars.get("PORTAL_SMTP_URL") {
        Some(url) if url.starts_with("smtp://") || url.starts_with("smtps://") => {
            Some(SecretString::from(url.to_owned()))
        }
        Some(_) => {
            return Err(ConfigError::new(
                "PORTAL_SMTP_URL",
                "must start with smtp:// or smtps://",
            ));
        }
        None => None,
    };
    let from = vars
        .get("PORTAL_MAIL_FROM")
        .unwrap_or("Landlord & Resident Portal <no-reply@portal.localhost>")
        .to_owned();
    if !from.contains('@') {
        return Err(ConfigError::new(
            "PORTAL_MAIL_FROM",
            "must be a mailbox such as `Name <user@example.org>`",
        ));
    }
    Ok(MailConfig { smtp_url, from })
}

/// Reads `PORTAL_SMS_PROVIDER_URL` and `PORTAL_SMS_API_KEY` (both or neither).
pub(super) fn sms(vars: &Vars) -> Result<SmsConfig, ConfigError> {
    let url = vars.url("PORTAL_SMS_PROVIDER_URL")?;
    let key = vars
        .pair("PORTAL_SMS_PROVIDER_URL", "PORTAL_SMS_API_KEY")?
        .map(|(_, key)| SecretString::from(key.to_owned()));
    let provider = url.zip(key);
    Ok(SmsConfig { provider })
}

/// Reads `PORTAL_CLAMD_ADDR` (`host:port`).
pub(super) fn clamd(vars: &Vars) -> Result<Option<String>, ConfigError> {
    match vars.get("PORTAL_CLAMD_ADDR") {
        Some(addr)
            if addr
                .rsplit_once(':')
                .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok()) =>
        {
            Ok(Some(addr.to_owned()))
        }
        Some(_) => Err(ConfigError::new("PORTAL_CLAMD_ADDR", "must be host:port")),
        None => Ok(None),
    }
}
