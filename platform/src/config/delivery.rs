//! How messages and uploads leave the building: email (`PORTAL_EMAIL_TRANSPORT`:
//! `.eml` files, SMTP or GOV.UK Notify), SMS (`PORTAL_SMS_TRANSPORT`: a log
//! file or GOV.UK Notify), Notify itself (`PORTAL_NOTIFY_*`) and the virus
//! scanner (`PORTAL_CLAMD_ADDR`). Each is off (a local file, or no scan) until
//! set.
//!
//! GOV.UK Notify sends what a template on Notify says, filled in with
//! `personalisation`. Our messages are rendered by us (`api/templates/`), so
//! the service uses ONE Notify template per channel whose content is only
//! placeholders: an email template with subject `((subject))` and body
//! `((body))`, a text message template with body `((body))`. Their ids are
//! `PORTAL_NOTIFY_EMAIL_TEMPLATE_ID` and `PORTAL_NOTIFY_SMS_TEMPLATE_ID`.

use secrecy::SecretString;
use url::Url;
use uuid::Uuid;

use super::{ConfigError, Vars};

/// Where GOV.UK Notify's API is when `PORTAL_NOTIFY_BASE_URL` is unset.
pub const NOTIFY_DEFAULT_BASE_URL: &str = "https://api.notifications.service.gov.uk";

/// The shortest delivery-status callback token accepted: Notify's own minimum
/// is 10 characters; 16 matches `PORTAL_METRICS_TOKEN`.
const MIN_CALLBACK_TOKEN: usize = 16;

/// How email leaves the service.
#[derive(Debug, Clone)]
pub enum EmailTransport {
    /// `.eml` files under `<data dir>/outbox/` (the embedded default).
    File,
    /// An SMTP relay at this URL (it may hold a password).
    Smtp(SecretString),
    /// GOV.UK Notify, with the email template whose subject is `((subject))`
    /// and body `((body))` (see [`NotifyConfig`]).
    Notify {
        /// The Notify email template's id.
        template_id: Uuid,
    },
}

/// Email delivery settings.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// The transport an operator chose (`PORTAL_EMAIL_TRANSPORT`).
    pub transport: EmailTransport,
    /// The `From:` mailbox of every email sent over SMTP or to a file (Notify
    /// sends from the address set on the Notify service).
    pub from: String,
}

impl MailConfig {
    /// The SMTP URL, when the transport is SMTP.
    pub fn smtp_url(&self) -> Option<&SecretString> {
        match &self.transport {
            EmailTransport::Smtp(url) => Some(url),
            _ => None,
        }
    }
}

/// How text messages leave the service.
#[derive(Debug, Clone)]
pub enum SmsTransport {
    /// A line per message in `<data dir>/outbox/sms.log` (the embedded default).
    File,
    /// GOV.UK Notify, with the text message template whose body is `((body))`.
    Notify {
        /// The Notify text message template's id.
        template_id: Uuid,
    },
}

/// SMS delivery settings.
#[derive(Debug, Clone)]
pub struct SmsConfig {
    /// The transport an operator chose (`PORTAL_SMS_TRANSPORT`).
    pub transport: SmsTransport,
}

/// The GOV.UK Notify service this deployment sends through.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// The service id: the first UUID of the API key, and the JWT's `iss`.
    pub service_id: Uuid,
    /// The secret: the second UUID of the API key, which signs every request's
    /// JWT (HS256). Never sent anywhere.
    pub secret_key: SecretString,
    /// The API's base URL (tests point it at a local server).
    pub base_url: Url,
    /// The bearer token Notify sends with delivery-status callbacks, as set in
    /// Notify's "Callbacks" settings; `None` turns the callback route off.
    pub callback_token: Option<SecretString>,
}

/// The service id and secret of a Notify API key,
/// `{key_name}-{service_id}-{secret_key}` where both ids are UUIDs (the key
/// name may hold hyphens, so the UUIDs are read from the end). The error never
/// repeats the key.
pub fn parse_notify_api_key(key: &str) -> Result<(Uuid, SecretString), &'static str> {
    const UUID_LEN: usize = 36;
    let key = key.trim();
    let shape = "must be a GOV.UK Notify API key: {key name}-{service id}-{secret key}";
    if !key.is_ascii() || key.len() < 2 * UUID_LEN + 3 {
        return Err(shape);
    }
    let (rest, secret) = key.split_at(key.len() - UUID_LEN);
    let rest = rest.strip_suffix('-').ok_or(shape)?;
    let (name, service) = rest.split_at(rest.len() - UUID_LEN);
    let name = name.strip_suffix('-').ok_or(shape)?;
    if name.is_empty() {
        return Err(shape);
    }
    let service_id = Uuid::try_parse(service).map_err(|_| shape)?;
    Uuid::try_parse(secret).map_err(|_| shape)?;
    Ok((service_id, SecretString::from(secret.to_owned())))
}

/// Reads `PORTAL_NOTIFY_API_KEY`, `PORTAL_NOTIFY_BASE_URL` and
/// `PORTAL_NOTIFY_CALLBACK_TOKEN`; `None` when no key is set.
pub(super) fn notify(vars: &Vars) -> Result<Option<NotifyConfig>, ConfigError> {
    let callback_token = match vars.get("PORTAL_NOTIFY_CALLBACK_TOKEN") {
        None => None,
        Some(token) if token.len() >= MIN_CALLBACK_TOKEN => {
            Some(SecretString::from(token.to_owned()))
        }
        Some(_) => {
            return Err(ConfigError::new(
                "PORTAL_NOTIFY_CALLBACK_TOKEN",
                format!("must be at least {MIN_CALLBACK_TOKEN} characters"),
            ));
        }
    };
    let base_url = vars.url("PORTAL_NOTIFY_BASE_URL")?;
    let Some(key) = vars.get("PORTAL_NOTIFY_API_KEY") else {
        for dependent in ["PORTAL_NOTIFY_BASE_URL", "PORTAL_NOTIFY_CALLBACK_TOKEN"] {
            if vars.get(dependent).is_some() {
                return Err(ConfigError::new(
                    "PORTAL_NOTIFY_API_KEY",
                    format!("required when {dependent} is set"),
                ));
            }
        }
        return Ok(None);
    };
    let (service_id, secret_key) = parse_notify_api_key(key)
        .map_err(|reason| ConfigError::new("PORTAL_NOTIFY_API_KEY", reason))?;
    let base_url = match base_url {
        Some(url) => url,
        None => Url::parse(NOTIFY_DEFAULT_BASE_URL).expect("a valid default URL"),
    };
    Ok(Some(NotifyConfig {
        service_id,
        secret_key,
        base_url,
        callback_token,
    }))
}

/// A Notify template id from `name`, required because a transport is Notify.
fn template_id(vars: &Vars, name: &str, transport: &str) -> Result<Uuid, ConfigError> {
    let raw = vars
        .get(name)
        .ok_or_else(|| ConfigError::new(name, format!("required when {transport} is `notify`")))?;
    Uuid::try_parse(raw)
        .map_err(|_| ConfigError::new(name, "must be a Notify template id (a UUID)"))
}

/// Fails unless a Notify API key is configured for `transport`.
fn need_notify(notify: Option<&NotifyConfig>, transport: &str) -> Result<(), ConfigError> {
    match notify {
        Some(_) => Ok(()),
        None => Err(ConfigError::new(
            "PORTAL_NOTIFY_API_KEY",
            format!("required when {transport} is `notify`"),
        )),
    }
}

/// Reads `PORTAL_EMAIL_TRANSPORT`, `PORTAL_SMTP_URL`,
/// `PORTAL_NOTIFY_EMAIL_TEMPLATE_ID` and `PORTAL_MAIL_FROM`.
pub(super) fn mail(vars: &Vars, notify: Option<&NotifyConfig>) -> Result<MailConfig, ConfigError> {
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
    const NAME: &str = "PORTAL_EMAIL_TRANSPORT";
    // Unset: SMTP when a relay is configured (as before this setting
    // existed), else files.
    let chosen = vars.get(NAME).map(str::to_ascii_lowercase);
    let transport = match (chosen.as_deref(), smtp_url) {
        (None, None) | (Some("file"), _) => EmailTransport::File,
        (None | Some("smtp"), Some(url)) => EmailTransport::Smtp(url),
        (Some("smtp"), None) => {
            return Err(ConfigError::new(
                "PORTAL_SMTP_URL",
                format!("required when {NAME} is `smtp`"),
            ));
        }
        (Some("notify"), _) => {
            need_notify(notify, NAME)?;
            EmailTransport::Notify {
                template_id: template_id(vars, "PORTAL_NOTIFY_EMAIL_TEMPLATE_ID", NAME)?,
            }
        }
        (Some(other), _) => {
            return Err(ConfigError::new(
                NAME,
                format!("expected file, smtp or notify, got {other:?}"),
            ));
        }
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
    Ok(MailConfig { transport, from })
}

/// Reads `PORTAL_SMS_TRANSPORT` and `PORTAL_NOTIFY_SMS_TEMPLATE_ID`.
pub(super) fn sms(vars: &Vars, notify: Option<&NotifyConfig>) -> Result<SmsConfig, ConfigError> {
    const NAME: &str = "PORTAL_SMS_TRANSPORT";
    let transport = match vars.get(NAME).map(str::to_ascii_lowercase).as_deref() {
        None | Some("file") => SmsTransport::File,
        Some("notify") => {
            need_notify(notify, NAME)?;
            SmsTransport::Notify {
                template_id: template_id(vars, "PORTAL_NOTIFY_SMS_TEMPLATE_ID", NAME)?,
            }
        }
        Some(other) => {
            return Err(ConfigError::new(
                NAME,
                format!("expected file or notify, got {other:?}"),
            ));
        }
    };
    Ok(SmsConfig { transport })
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

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    const KEY: &str =
        "portal_live-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0";

    #[test]
    fn a_notify_key_gives_its_service_id_and_secret() {
        let (service, secret) = parse_notify_api_key(KEY).unwrap();
        assert_eq!(service.to_string(), "26785a09-ab16-4eb0-8407-a37497a57506");
        assert_eq!(
            secret.expose_secret(),
            "3d844edf-8d35-48ac-975b-e847b4f122b0"
        );
        // Key names may hold hyphens.
        let hyphenated = format!("my-key-{}", &KEY["portal_live-".len()..]);
        assert_eq!(parse_notify_api_key(&hyphenated).unwrap().0, service);
    }

    #[test]
    fn malformed_notify_keys_are_refused() {
        for bad in [
            "",
            "CHANGE-ME",
            &KEY["portal_live-".len()..],
            &KEY[..KEY.len() - 1],
            &KEY.replace("-3d844edf", "_3d844edf"),
            &KEY.replace("ab16", "zz16"),
        ] {
            assert!(parse_notify_api_key(bad).is_err(), "{bad:?}");
        }
    }
}
