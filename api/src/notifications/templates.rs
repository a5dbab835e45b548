//! The words of every email and text message the portal sends.
//!
//! Each email is three [minijinja] templates under `api/templates/email/`:
//! `<name>.subject` (one line), `<name>.txt` (the plain-text part, extending
//! `base.txt`, which adds a plain footer) and `<name>.html` (the HTML part, extending
//! `base.html`, the shared layout with the service name and footer, and using the
//! button from `components.html`). Each text message is
//! `api/templates/sms/<name>.txt`. All of them are compiled into the binary with
//! `include_str!`, so the worker needs no template files at run time and a missing or
//! misnamed file is a build error rather than a 3 a.m. page.
//!
//! Rules the templates rely on:
//! - **Missing parameters are errors** ([`UndefinedBehavior::Strict`]): a typo in a
//!   job must fail loudly, not send "Hello ," with an empty link.
//! - **HTML is autoescaped, plain text and subjects are not.** Names, file names and
//!   reasons typed by users appear in emails; escaping keeps them text.
//! - **Links are absolute**, built from the `base_url` parameter (the front end's
//!   address, e.g. `https://portal.example.gov.uk`), which every email requires. It
//!   is checked to be an absolute `http(s)` URL and its trailing slash dropped, so a
//!   template can always write `{{ base_url }}/path`. Values put into a link go through
//!   the `uri_component` filter.
//! - **Times are shown in UK time**, GOV.UK style, with the `datetime` filter
//!   (`3:04pm on 5 March 2026 (UK time)`) and dates with the `date` filter
//!   (`5 March 2026`). Parameters carry RFC 3339 timestamps and ISO dates.
//! - **Text messages fit in one 160-character fragment** (checked by a test).
//!
//! The parameters of each template (all emails also need `base_url` and
//! `first_name`, the recipient's):
//!
//! | template | parameters |
//! |---|---|
//! | `invitation` | `token`, `expires_at`, optional `organisation_name` |
//! | `password_reset` | `token`, `expires_at` |
//! | `password_changed` | `changed_at` |
//! | `mobile_changed` | `changed_at`, `mobile_number_ending` (the last 3 digits) |
//! | `confirm_email_change` | `token`, `expires_at` (to the new address) |
//! | `email_change_requested` | `new_email_masked`, `expires_at`, `organisation_member` (to the old address) |
//! | `email_changed` | `new_email_masked`, `changed_at`, `organisation_member` (to the old address) |
//! | `two_factor_code` | `code`, `valid_minutes` |
//! | `inactivity_warning` | `days_remaining`, `deactivates_on`, `organisation_member` |
//! | `account_deactivated` | `by_administrator` (bool; false means the 90-day sweep), `organisation_member` (bool: landlord users are re-invited by their administrator, residents contact the service) |
//! | `new_message` | `case_reference`, `sender_name` |
//! | `task_unable_to_complete` | `case_reference`, `task_title`, `reported_by`, `reason` |
//! | `task_reminder` | `tasks`: list of `{case_reference, title, due_on, overdue}` |
//! | `document_infected` | `is_uploader` (bool), `file_name`, `case_reference`, `uploaded_by`, `uploaded_at` |
//! | `export_ready` | `export_id`, `row_count`, `expires_at` |
//! | `arrangement_decision` | `arrangement_reference`, `approved` (bool), `reason` (may be empty) |
//! | `tenancy_details_requested` | `organisation_name`, `due_on` |
//! | `housing_costs_outcome` | `update_id`, `file_name`, `applied` (bool), `row_count`, `error_count` |
//! | `webhook_endpoint_disabled` | `endpoint_id`, `endpoint_host`, `hours`, `reason` |
//! | SMS `two_factor_code`, `confirm_mobile_code` | `code`, `valid_minutes` |
//!
//! Front-end routes the links point at: `/accept-invitation?token=`,
//! `/reset-password?token=`, `/confirm-email-change?token=`, `/forgot-password`, `/sign-in`, `/cases/<reference>`,
//! `/cases/<reference>/messages`, `/cases/<reference>/tasks`,
//! `/cases/<reference>/documents`, `/tasks`, `/payments/exports/<id>`,
//! `/arrangements/<reference>`, `/tenancy-requests`,
//! `/properties/housing-cost-updates/<id>`, `/profile/security`,
//! `/settings/webhooks/<id>`.
//!
//! Emails deliberately hold as little personal data as they can: no message text,
//! no tenant names, and the payments export link leads to the signed-in portal rather
//! than to the file itself.

use std::{
    fmt::{self, Write as _},
    str::FromStr,
    sync::LazyLock,
};

use chrono::{DateTime, NaiveDate, NaiveTime, Timelike};
use chrono_tz::Europe::London;
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior, Value};
use serde::{Deserialize, Serialize};

/// The service's name as users see it: the `service_name` variable of every template.
pub const SERVICE_NAME: &str = "Landlord & Resident Portal";

/// Every email the portal sends. The serde form is the same as [`Self::as_str`], so
/// a delivery record can store the template by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailTemplate {
    /// A new account: the single-use link to set a password (valid 24 hours).
    Invitation,
    /// A single-use link to choose a new password (valid 1 hour). The same email
    /// serves "forgot password" and "an administrator sent a reset", so it reveals
    /// nothing about who asked.
    PasswordReset,
    /// "Your password was changed", so that a user whose password was changed by
    /// someone else finds out.
    PasswordChanged,
    /// A 6-digit sign-in code sent by email (valid 15 minutes).
    TwoFactorCode,
    /// Sent after 76 days without a sign-in: the account will be deactivated in 14
    /// days unless the user signs in.
    InactivityWarning,
    /// The account has been deactivated, by the 90-day sweep or an administrator.
    AccountDeactivated,
    /// A caseworker sent a message on a case; the text itself stays in the portal.
    NewMessage,
    /// To the case owner: a party could not complete a task, who, which and why.
    TaskUnableToComplete,
    /// The recipient's tasks that are due soon or overdue.
    TaskReminder,
    /// An uploaded file contained a virus and was quarantined (to the uploader and
    /// to the case owner).
    DocumentInfected,
    /// A requested payments export is ready to download, until it expires.
    ExportReady,
    /// An Alternative Payment Arrangement was approved or rejected, with the reason.
    ArrangementDecision,
    /// To landlord users with `PROVIDE_TENANCY_DETAILS`: a new request is on the
    /// organisation's to-do list.
    TenancyDetailsRequested,
    /// A bulk housing-cost update was applied, or rejected with nothing changed
    /// (the rows at fault are listed in the portal, not in the email).
    HousingCostsOutcome,
    /// To service administrators: the 90-day sweep kept an organisation's last
    /// user manager, who would otherwise have been deactivated.
    LastManagerKept,
    /// "Your mobile number was changed" (to the account's email address), so
    /// that a user whose number was changed by someone else finds out.
    MobileChanged,
    /// "Two-factor sign-in was switched on, changed or switched off", with the
    /// method now in use.
    TwoFactorChanged,
    /// "A recovery code was used to sign in", with how many are left.
    RecoveryCodeUsed,
    /// "New recovery codes were made" (the old ones stopped working).
    RecoveryCodesGenerated,
    /// To the NEW address of an email change: the single-use link that makes
    /// it the account's (valid 24 hours).
    ConfirmEmailChange,
    /// To the OLD address: a change to a (masked) new address was asked for,
    /// and happens only if the link sent there is opened.
    EmailChangeRequested,
    /// To the OLD address: the account's email address was changed (to a
    /// masked new one) and every session ended.
    EmailChanged,
    /// To the case owner (or, for a case without one, every service
    /// administrator): a party says they do not recognise a case they can
    /// see, which may mean the wrong person is on it.
    CaseAccessReported,
    /// To the organisation's administrators: a webhook endpoint failing for
    /// `PORTAL_WEBHOOK_DISABLE_AFTER_HOURS` was switched off.
    WebhookEndpointDisabled,
}

impl EmailTemplate {
    /// Every email template, for tests and for listing them in operator tools.
    pub const ALL: [Self; 24] = [
        Self::Invitation,
        Self::PasswordReset,
        Self::PasswordChanged,
        Self::TwoFactorCode,
        Self::InactivityWarning,
        Self::AccountDeactivated,
        Self::NewMessage,
        Self::TaskUnableToComplete,
        Self::TaskReminder,
        Self::DocumentInfected,
        Self::ExportReady,
        Self::ArrangementDecision,
        Self::TenancyDetailsRequested,
        Self::HousingCostsOutcome,
        Self::LastManagerKept,
        Self::MobileChanged,
        Self::TwoFactorChanged,
        Self::RecoveryCodeUsed,
        Self::RecoveryCodesGenerated,
        Self::ConfirmEmailChange,
        Self::EmailChangeRequested,
        Self::EmailChanged,
        Self::CaseAccessReported,
        Self::WebhookEndpointDisabled,
    ];

    /// The stable snake_case name, also the template's file name. Stored in delivery
    /// records, so never rename one without a migration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invitation => "invitation",
            Self::PasswordReset => "password_reset",
            Self::PasswordChanged => "password_changed",
            Self::TwoFactorCode => "two_factor_code",
            Self::InactivityWarning => "inactivity_warning",
            Self::AccountDeactivated => "account_deactivated",
            Self::NewMessage => "new_message",
            Self::TaskUnableToComplete => "task_unable_to_complete",
            Self::TaskReminder => "task_reminder",
            Self::DocumentInfected => "document_infected",
            Self::ExportReady => "export_ready",
            Self::ArrangementDecision => "arrangement_decision",
            Self::TenancyDetailsRequested => "tenancy_details_requested",
            Self::HousingCostsOutcome => "housing_costs_outcome",
            Self::LastManagerKept => "last_manager_kept",
            Self::MobileChanged => "mobile_changed",
            Self::TwoFactorChanged => "two_factor_changed",
            Self::RecoveryCodeUsed => "recovery_code_used",
            Self::RecoveryCodesGenerated => "recovery_codes_generated",
            Self::ConfirmEmailChange => "confirm_email_change",
            Self::EmailChangeRequested => "email_change_requested",
            Self::EmailChanged => "email_changed",
            Self::CaseAccessReported => "case_access_reported",
            Self::WebhookEndpointDisabled => "webhook_endpoint_disabled",
        }
    }
}

impl fmt::Display for EmailTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EmailTemplate {
    type Err = TemplateError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|template| template.as_str() == name)
            .ok_or_else(|| TemplateError::Unknown(name.to_owned()))
    }
}

/// Every text message the portal sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmsTemplate {
    /// A 6-digit sign-in code sent to the user's mobile (valid 15 minutes).
    TwoFactorCode,
    /// A code that proves the user holds a newly entered mobile number: after an
    /// administrator reset the old one, when switching SMS two-factor on, or
    /// when the user changes their number.
    ConfirmMobileCode,
}

impl SmsTemplate {
    /// Every text message template.
    pub const ALL: [Self; 2] = [Self::TwoFactorCode, Self::ConfirmMobileCode];

    /// The stable snake_case name, also the template's file name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TwoFactorCode => "two_factor_code",
            Self::ConfirmMobileCode => "confirm_mobile_code",
        }
    }
}

impl fmt::Display for SmsTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SmsTemplate {
    type Err = TemplateError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|template| template.as_str() == name)
            .ok_or_else(|| TemplateError::Unknown(name.to_owned()))
    }
}

pub use worker::delivery::RenderedEmail;

/// A message that cannot be rendered will not render on the next attempt either: the
/// parameters stored with the delivery are wrong, or the template is. Retrying would
/// only push the failure towards the dead-letter list more slowly.
impl From<TemplateError> for worker::delivery::DeliveryError {
    fn from(error: TemplateError) -> Self {
        Self::Permanent(error.to_string())
    }
}

/// Why a template could not be rendered. None of these is worth retrying.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// A template name that is not one of [`EmailTemplate`] or [`SmsTemplate`].
    #[error("unknown template {0:?}")]
    Unknown(String),
    /// The parameters are not usable: not a JSON object, or a bad `base_url`.
    #[error("invalid template parameters: {0}")]
    InvalidParams(String),
    /// The template failed, most often because a parameter it uses is missing.
    /// minijinja's message names the parameter and the template line, never a value.
    #[error("failed to render {template}: {source}")]
    Render {
        /// The file that failed, e.g. `email/invitation.html`.
        template: String,
        /// What went wrong.
        #[source]
        source: minijinja::Error,
    },
}

/// Renders an email's subject, plain-text and HTML parts from its parameters (see
/// the module documentation for which each template needs).
pub fn render_email(
    template: EmailTemplate,
    params: &serde_json::Value,
) -> Result<RenderedEmail, TemplateError> {
    let context = email_context(params)?;
    let name = template.as_str();
    let subject = render(&format!("email/{name}.subject"), &context)?;
    // A subject is a single header line: newlines from the template file (or a
    // parameter) are folded away rather than trusted to the mail library.
    let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    if subject.is_empty() {
        return Err(TemplateError::InvalidParams(format!(
            "the subject of {name} rendered empty"
        )));
    }
    Ok(RenderedEmail {
        subject,
        text: render(&format!("email/{name}.txt"), &context)?,
        html: render(&format!("email/{name}.html"), &context)?,
    })
}

/// Renders a text message from its parameters. The result is trimmed, so the
/// template file's trailing newline is not sent.
pub fn render_sms(
    template: SmsTemplate,
    params: &serde_json::Value,
) -> Result<String, TemplateError> {
    let context = object_context(params)?;
    let body = render(&format!("sms/{}.txt", template.as_str()), &context)?;
    Ok(body.trim().to_owned())
}

/// Every template, compiled into the binary. Listed by name, so adding an email means
/// adding its name here and its three files; forgetting a file fails the build.
macro_rules! embedded_templates {
    (layouts: [$($layout:literal),*], email: [$($email:literal),*], sms: [$($sms:literal),*]) => {
        &[
            $((
                concat!("email/", $layout),
                include_str!(concat!("../../templates/email/", $layout)),
            ),)*
            $(
                (
                    concat!("email/", $email, ".subject"),
                    include_str!(concat!("../../templates/email/", $email, ".subject")),
                ),
                (
                    concat!("email/", $email, ".txt"),
                    include_str!(concat!("../../templates/email/", $email, ".txt")),
                ),
                (
                    concat!("email/", $email, ".html"),
                    include_str!(concat!("../../templates/email/", $email, ".html")),
                ),
            )*
            $((
                concat!("sms/", $sms, ".txt"),
                include_str!(concat!("../../templates/sms/", $sms, ".txt")),
            ),)*
        ]
    };
}

/// `(name, source)` of every template; names are paths under `api/templates/`.
static SOURCES: &[(&str, &str)] = embedded_templates! {
    layouts: ["base.html", "base.txt", "components.html"],
    email: [
        "invitation",
        "password_reset",
        "password_changed",
        "two_factor_code",
        "inactivity_warning",
        "account_deactivated",
        "new_message",
        "task_unable_to_complete",
        "task_reminder",
        "document_infected",
        "export_ready",
        "arrangement_decision",
        "tenancy_details_requested",
        "housing_costs_outcome",
        "last_manager_kept",
        "mobile_changed",
        "two_factor_changed",
        "recovery_code_used",
        "recovery_codes_generated",
        "confirm_email_change",
        "email_change_requested",
        "email_changed",
        "case_access_reported",
        "webhook_endpoint_disabled"
    ],
    sms: ["two_factor_code", "confirm_mobile_code"]
};

/// Parsed once, on first use, and shared by every job: parsing 40-odd templates per
/// message would be wasted work, and the environment is immutable after setup.
static ENVIRONMENT: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Debug info makes errors carry the values of the variables in scope, which here
    // are reset tokens and sign-in codes; errors end up in logs and delivery records.
    env.set_debug(false);
    // Block tags on their own lines leave no blank lines behind, which matters for
    // the plain-text part, where every newline shows.
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.add_global("service_name", SERVICE_NAME);
    env.add_filter("datetime", datetime_filter);
    env.add_filter("date", date_filter);
    env.add_filter("uri_component", uri_component_filter);
    for (name, source) in SOURCES {
        // Every template is rendered by the tests, so a syntax error cannot ship.
        env.add_template(name, source)
            .unwrap_or_else(|error| panic!("embedded template {name} does not parse: {error}"));
    }
    env
});

fn render(name: &str, context: &Value) -> Result<String, TemplateError> {
    let render_error = |source| TemplateError::Render {
        template: name.to_owned(),
        source,
    };
    ENVIRONMENT
        .get_template(name)
        .map_err(render_error)?
        .render(context)
        .map_err(render_error)
}

/// The parameters as a template context. They must be a JSON object, whose keys
/// become the template's variables.
fn object_context(params: &serde_json::Value) -> Result<Value, TemplateError> {
    if !params.is_object() {
        return Err(TemplateError::InvalidParams(
            "parameters must be a JSON object".into(),
        ));
    }
    Ok(Value::from_serialize(params))
}

/// Like [`object_context`], plus the checked and normalised `base_url` every email's
/// links start with.
fn email_context(params: &serde_json::Value) -> Result<Value, TemplateError> {
    let serde_json::Value::Object(map) = params else {
        return Err(TemplateError::InvalidParams(
            "parameters must be a JSON object".into(),
        ));
    };
    let base_url = map
        .get("base_url")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| TemplateError::InvalidParams("base_url is missing".into()))?;
    let base_url = normalise_base_url(base_url)?;
    Ok(map
        .iter()
        .filter(|(key, _)| key.as_str() != "base_url")
        .map(|(key, value)| (key.clone(), Value::from_serialize(value)))
        .chain([("base_url".to_owned(), Value::from_safe_string(base_url))])
        .collect())
}

/// Checks that `base_url` is an absolute http(s) URL without query or fragment, and
/// returns it without a trailing slash.
///
/// The result is marked HTML-safe so links read `https://…` in the HTML source rather
/// than `https:&#x2f;&#x2f;…`. That is sound because the URL is re-serialised by the
/// `url` crate, which percent-encodes `"`, `<`, `>` and spaces, and because every
/// link is written in double quotes; anything else the URL could contain is refused.
fn normalise_base_url(raw: &str) -> Result<String, TemplateError> {
    let invalid = |why: &str| TemplateError::InvalidParams(format!("base_url {why}"));
    let url = url::Url::parse(raw).map_err(|_| invalid("is not an absolute URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid("must be an http or https URL"));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(invalid("must not have a query, fragment or user name"));
    }
    let normalised = url.as_str().trim_end_matches('/').to_owned();
    if normalised.contains(['&', '\'', '"', '<', '>']) {
        return Err(invalid("contains characters that are not safe in a link"));
    }
    Ok(normalised)
}

/// `{{ at|datetime }}`: an RFC 3339 timestamp as UK time, GOV.UK style:
/// `3:04pm on 5 March 2026 (UK time)`.
fn datetime_filter(value: &str) -> Result<String, minijinja::Error> {
    let at = DateTime::parse_from_rfc3339(value).map_err(|error| {
        minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("datetime expects an RFC 3339 timestamp: {error}"),
        )
    })?;
    let local = at.with_timezone(&London);
    let date = govuk_date(local.date_naive());
    // "Midnight on 12 March" leaves readers unsure which end of the day is meant.
    if local.time() == NaiveTime::MIN {
        return Ok(format!("midnight at the start of {date} (UK time)"));
    }
    Ok(format!("{} on {date} (UK time)", govuk_time(local.time())))
}

/// `{{ day|date }}`: an ISO date (`2026-03-05`), or the UK date of an RFC 3339
/// timestamp, as `5 March 2026`.
fn date_filter(value: &str) -> Result<String, minijinja::Error> {
    let date = NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .or_else(|_| {
            DateTime::parse_from_rfc3339(value).map(|at| at.with_timezone(&London).date_naive())
        })
        .map_err(|error| {
            minijinja::Error::new(
                ErrorKind::InvalidOperation,
                format!("date expects YYYY-MM-DD or an RFC 3339 timestamp: {error}"),
            )
        })?;
    Ok(govuk_date(date))
}

/// `{{ token|uri_component }}`: percent-encodes everything but RFC 3986 unreserved
/// characters, like JavaScript's `encodeURIComponent`, so a value is safe in a path
/// segment or a query value. The result contains no character HTML would escape, so
/// it is marked safe and links stay readable in the HTML source.
fn uri_component_filter(value: &Value) -> Result<Value, minijinja::Error> {
    if value.is_undefined() || value.is_none() {
        return Err(minijinja::Error::new(
            ErrorKind::UndefinedError,
            "uri_component needs a value",
        ));
    }
    let mut encoded = String::new();
    for byte in value.to_string().bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    Ok(Value::from_safe_string(encoded))
}

/// GOV.UK style: `5:30pm`, `10am`, `midday`.
fn govuk_time(time: NaiveTime) -> String {
    match (time.hour(), time.minute()) {
        (12, 0) => "midday".to_owned(),
        (_, 0) => time.format("%-I%P").to_string(),
        _ => time.format("%-I:%M%P").to_string(),
    }
}

/// GOV.UK style: `5 March 2026`.
fn govuk_date(date: NaiveDate) -> String {
    date.format("%-d %B %Y").to_string()
}

#[cfg(test)]
mod tests;
