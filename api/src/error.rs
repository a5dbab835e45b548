//! The one API error type, and how it reaches the client.
//!
//! Every failure the API reports is a GraphQL error whose `extensions.code` is
//! one of a fixed set (the frontends switch on it), and input errors also carry
//! the `field` and every `reasons` entry so a form can show them all at once.
//! Internal errors are logged in full with the request id, and the client gets
//! only the code and that id: the actual error message isn't returned to the
//! client, because it may contain SQL, file paths or other people's data.
//!
//! Resolvers return `async_graphql::Result` and use `?` on [`ApiError`]:
//! async-graphql keeps the original error as the `source` of its error, and
//! [`crate::graphql::errors::ErrorCodes`] turns it into the code, field and
//! reasons on the way out. That extension also gives parse, validation and
//! limit errors `BAD_USER_INPUT`, and turns any error of unknown origin (a
//! database error that slipped through with `?`) into a logged `INTERNAL`.

use std::fmt;

use async_graphql::ErrorExtensions;

/// Stable error codes, sent as `extensions.code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// No valid session or token.
    Unauthenticated,
    /// Authenticated, but not allowed (only where revealing existence is harmless).
    Forbidden,
    /// No such object, or not one the caller may see.
    NotFound,
    /// Invalid input; `field` and `reasons` say what and why.
    BadUserInput,
    /// The request conflicts with the current state (e.g. already replied).
    Conflict,
    /// Too many attempts; try again later.
    RateLimited,
    /// A body or file over the configured limit.
    PayloadTooLarge,
    /// Anything else: logged with the request id.
    Internal,
}

impl ErrorCode {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::Conflict => "CONFLICT",
            Self::RateLimited => "RATE_LIMITED",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::Internal => "INTERNAL",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error of the API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// See [`ErrorCode::Unauthenticated`].
    #[error("You must be signed in to do this.")]
    Unauthenticated,
    /// Sign-in refused: wrong email or password, or an account that may not
    /// sign in (locked, suspended, restricted). One message for every reason,
    /// so the answer does not reveal which; the code is `UNAUTHENTICATED`.
    #[error("Email address or password is incorrect.")]
    InvalidCredentials,
    /// See [`ErrorCode::Forbidden`].
    #[error("You do not have permission to do this.")]
    Forbidden,
    /// An enrolment-only session asked for anything but setting up
    /// two-factor: `FORBIDDEN`, with `extensions.reason`
    /// `TWO_FACTOR_SETUP_REQUIRED`.
    #[error("Set up two-factor sign-in to continue: your account requires it.")]
    TwoFactorSetupRequired,
    /// See [`ErrorCode::NotFound`].
    #[error("{0} not found.")]
    NotFound(&'static str),
    /// See [`ErrorCode::BadUserInput`].
    #[error("{message}")]
    BadInput {
        /// Summary shown when the UI has no better place for it.
        message: String,
        /// The input field at fault (GraphQL argument path, e.g. `input.email`).
        field: Option<String>,
        /// Every rule the value failed.
        reasons: Vec<String>,
    },
    /// See [`ErrorCode::Conflict`].
    #[error("{0}")]
    Conflict(String),
    /// A change to a closed case, which is read-only until it is reopened:
    /// `CONFLICT`, with `extensions.reason` `CASE_CLOSED` (so a client can
    /// offer "Reopen" or show the case as closed without parsing the text).
    #[error("The case is closed: reopen it first.")]
    CaseClosed,
    /// See [`ErrorCode::RateLimited`].
    #[error("Too many attempts. Try again in {retry_after_secs} seconds.")]
    RateLimited {
        /// Seconds until another attempt is allowed.
        retry_after_secs: u64,
    },
    /// See [`ErrorCode::PayloadTooLarge`].
    #[error("{0}")]
    PayloadTooLarge(String),
    /// See [`ErrorCode::Internal`]; the cause is logged, never sent.
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Internal(e.into())
    }
}

impl ApiError {
    /// A single-reason input error on one field.
    pub fn bad_input(field: impl Into<String>, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Self::BadInput {
            message: reason.clone(),
            field: Some(field.into()),
            reasons: vec![reason],
        }
    }

    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unauthenticated | Self::InvalidCredentials => ErrorCode::Unauthenticated,
            Self::Forbidden | Self::TwoFactorSetupRequired => ErrorCode::Forbidden,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::BadInput { .. } => ErrorCode::BadUserInput,
            Self::Conflict(_) | Self::CaseClosed => ErrorCode::Conflict,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::PayloadTooLarge(_) => ErrorCode::PayloadTooLarge,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        let message = match self {
            Self::Internal(cause) => {
                // Logged inside the request span, which carries the request id.
                tracing::error!(error = ?cause, "internal error");
                INTERNAL_MESSAGE.to_owned()
            }
            other => other.to_string(),
        };
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", self.code().as_str());
            match self {
                Self::BadInput { field, reasons, .. } => {
                    if let Some(field) = field {
                        ext.set("field", field.as_str());
                    }
                    ext.set("reasons", reasons.clone());
                }
                Self::RateLimited { retry_after_secs } => {
                    ext.set("retryAfterSeconds", *retry_after_secs);
                }
                Self::TwoFactorSetupRequired => ext.set("reason", "TWO_FACTOR_SETUP_REQUIRED"),
                Self::CaseClosed => ext.set("reason", "CASE_CLOSED"),
                _ => {}
            }
        })
    }
}

/// What the client sees of an internal error; the request id is in the
/// `x-request-id` response header and in the server's log line.
pub const INTERNAL_MESSAGE: &str =
    "Something went wrong on our side. Quote the request id (x-request-id) if you contact support.";

/// Result type of resolvers and services.
pub type ApiResult<T> = Result<T, ApiError>;
