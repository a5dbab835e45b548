//! Delivery adapters: how the worker gets an email or a text message out of the
//! building, and the templates that say what is in them.
//!
//! The send-email and send-SMS jobs sit on top of this module. They load a
//! delivery record by id, render it with [`templates`], hand it to a [`Mailer`]
//! or an [`SmsSender`], and record the outcome. Everything here is chosen by
//! configuration alone, as the product brief asks:
//!
//! | | embedded default | production |
//! |---|---|---|
//! | email | [`Mailer::file`]: `.eml` files under `./data/outbox/` | [`Mailer::smtp`] |
//! | SMS | [`SmsSender::log_file`]: `./data/outbox/sms.log` | [`SmsSender::http`] (GOV.UK Notify-style) |
//!
//! Every adapter reports failure as a [`DeliveryError`], which is either worth
//! retrying ([`DeliveryError::Transient`]) or not ([`DeliveryError::Permanent`]).
//! That single distinction is all the job runner needs to choose between
//! "retry with backoff" and "mark failed and stop", so the adapters do the work of
//! classifying their provider's many failure modes into it.
//!
//! Messages carry secrets (set-password links, sign-in codes), so nothing in this
//! module logs a message body, a link or a subject; at most the template name, the
//! recipient's domain and the provider's reference.

pub mod email;
pub mod sms;
pub mod templates;

pub use email::{Mailer, OutgoingEmail};
pub use sms::SmsSender;
pub use templates::{
    EmailTemplate, RenderedEmail, SmsTemplate, TemplateError, render_email, render_sms,
};

/// Why a message could not be handed to the provider, classified by whether trying
/// again later could help.
///
/// The text is for operators (it ends up in the delivery record and the logs), so it
/// names the provider's status and error, but never the message body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Retry later: the provider or the network is having a bad moment (connection
    /// refused, timeouts, SMTP 4xx replies, HTTP 429 and 5xx).
    #[error("transient delivery failure: {0}")]
    Transient(String),
    /// Never retry: the same message would be refused again (SMTP 5xx rejections, an
    /// invalid address, HTTP 4xx other than 429).
    #[error("permanent delivery failure: {0}")]
    Permanent(String),
}

impl DeliveryError {
    /// Whether the job should give up at once instead of retrying with backoff.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Permanent(_))
    }
}

/// A message that cannot be rendered will not render on the next attempt either: the
/// parameters stored with the delivery are wrong, or the template is. Retrying would
/// only push the failure towards the dead-letter list more slowly.
impl From<TemplateError> for DeliveryError {
    fn from(error: TemplateError) -> Self {
        Self::Permanent(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_permanent_errors_are_permanent() {
        assert!(DeliveryError::Permanent("550 no such user".into()).is_permanent());
        assert!(!DeliveryError::Transient("421 try later".into()).is_permanent());
    }

    #[test]
    fn template_errors_are_not_retried() {
        let error = render_email(EmailTemplate::Invitation, &serde_json::json!({}))
            .expect_err("no parameters at all");
        assert!(DeliveryError::from(error).is_permanent());
    }
}
