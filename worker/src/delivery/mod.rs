//! Delivery adapters: how the worker gets an email or a text message out of the
//! building. What is in them (the templates) is the product's, in
//! `api::notifications`.
//!
//! The product's send-email and send-SMS jobs sit on top of this module. They
//! load a delivery record by id, render it, hand it to a [`Mailer`] or an
//! [`SmsSender`], and record the outcome. Everything here is chosen by
//! configuration alone, as the product brief asks:
//!
//! | | embedded default | production |
//! |---|---|---|
//! | email | [`Mailer::file`]: `.eml` files under `./data/outbox/` | [`Mailer::smtp`] or [`Mailer::notify`] (GOV.UK Notify) |
//! | SMS | [`SmsSender::log_file`]: `./data/outbox/sms.log` | [`SmsSender::notify`] (GOV.UK Notify) |
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
pub mod notify;
pub mod sms;

use std::fmt;

pub use email::{Mailer, OutgoingEmail};
pub use notify::NotifyClient;
pub use sms::SmsSender;

/// An email ready to send: a one-line subject and the two alternative bodies.
///
/// `Debug` shows only the subject and the body sizes: the bodies hold set-password
/// links and sign-in codes, which must not reach a log through a stray `{:?}`.
#[derive(Clone, PartialEq, Eq)]
pub struct RenderedEmail {
    /// The subject line, whitespace collapsed to single spaces.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

impl fmt::Debug for RenderedEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RenderedEmail")
            .field("subject", &self.subject)
            .field("text", &format_args!("<{} bytes>", self.text.len()))
            .field("html", &format_args!("<{} bytes>", self.html.len()))
            .finish()
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_permanent_errors_are_permanent() {
        assert!(DeliveryError::Permanent("550 no such user".into()).is_permanent());
        assert!(!DeliveryError::Transient("421 try later".into()).is_permanent());
    }
}
