//! Ids.
//!
//! Every object id a client sees is an opaque, typed global id: the object's
//! GraphQL type name, `_`, and the 16 bytes of its UUID in unpadded
//! base64url, such as `Case_AZKxWn3UcK2L0c8lYQ4dAQ`. Clients treat ids as
//! opaque strings: they compare, store and pass them back, never take them
//! apart. The type is part of the id, so a case id passed where a task id is
//! expected names nothing. [`global_id`] makes one, [`NodeKind`] lists the
//! types.
//!
//! An id naming an object to read or act on ([`parse_id`]) that is
//! undecodable or of the wrong type cannot name anything, so it answers
//! `NOT_FOUND` like any other id the caller cannot see. An id given as an
//! input field ([`input_id`]) that is undecodable or of the wrong type is
//! `BAD_USER_INPUT` on its field.

use async_graphql::ID;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// The type of object a global id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    /// An organisation API token.
    ApiToken,
    /// An audit log entry.
    AuditLogEntry,
    /// A case.
    Case,
    /// An "I don't recognise this case" report.
    CaseAccessReport,
    /// A staff note on a case.
    CaseNote,
    /// A party to a case.
    CaseParty,
    /// A document.
    Document,
    /// A bulk housing-cost update.
    HousingCostUpdate,
    /// A background job.
    Job,
    /// A message.
    Message,
    /// A notification delivery record.
    NotificationDelivery,
    /// A landlord organisation.
    Organisation,
    /// A payment.
    Payment,
    /// An Alternative Payment Arrangement.
    PaymentArrangement,
    /// An event in an arrangement's history.
    PaymentArrangementEvent,
    /// A payments CSV export.
    PaymentExport,
    /// A property.
    Property,
    /// A signed-in session.
    Session,
    /// A task.
    Task,
    /// A tenancy request.
    TenancyRequest,
    /// A tenant.
    Tenant,
    /// A user account (resident, landlord user or staff member, whichever
    /// type shows it).
    User,
    /// One HTTP request of a webhook delivery.
    WebhookAttempt,
    /// The delivery of a webhook event to one endpoint.
    WebhookDelivery,
    /// A webhook endpoint.
    WebhookEndpoint,
    /// A webhook event.
    WebhookEvent,
}

impl NodeKind {
    /// Every kind.
    pub const ALL: [Self; 26] = [
        Self::ApiToken,
        Self::AuditLogEntry,
        Self::Case,
        Self::CaseAccessReport,
        Self::CaseNote,
        Self::CaseParty,
        Self::Document,
        Self::HousingCostUpdate,
        Self::Job,
        Self::Message,
        Self::NotificationDelivery,
        Self::Organisation,
        Self::Payment,
        Self::PaymentArrangement,
        Self::PaymentArrangementEvent,
        Self::PaymentExport,
        Self::Property,
        Self::Session,
        Self::Task,
        Self::TenancyRequest,
        Self::Tenant,
        Self::User,
        Self::WebhookAttempt,
        Self::WebhookDelivery,
        Self::WebhookEndpoint,
        Self::WebhookEvent,
    ];

    /// The type name, the readable prefix of the id.
    pub const fn type_name(self) -> &'static str {
        match self {
            Self::ApiToken => "ApiToken",
            Self::AuditLogEntry => "AuditLogEntry",
            Self::Case => "Case",
            Self::CaseAccessReport => "CaseAccessReport",
            Self::CaseNote => "CaseNote",
            Self::CaseParty => "CaseParty",
            Self::Document => "Document",
            Self::HousingCostUpdate => "HousingCostUpdate",
            Self::Job => "Job",
            Self::Message => "Message",
            Self::NotificationDelivery => "NotificationDelivery",
            Self::Organisation => "Organisation",
            Self::Payment => "Payment",
            Self::PaymentArrangement => "PaymentArrangement",
            Self::PaymentArrangementEvent => "PaymentArrangementEvent",
            Self::PaymentExport => "PaymentExport",
            Self::Property => "Property",
            Self::Session => "Session",
            Self::Task => "Task",
            Self::TenancyRequest => "TenancyRequest",
            Self::Tenant => "Tenant",
            Self::User => "User",
            Self::WebhookAttempt => "WebhookAttempt",
            Self::WebhookDelivery => "WebhookDelivery",
            Self::WebhookEndpoint => "WebhookEndpoint",
            Self::WebhookEvent => "WebhookEvent",
        }
    }

    /// The name in a `NOT_FOUND` message ("Payment arrangement not found").
    pub const fn label(self) -> &'static str {
        match self {
            Self::ApiToken => "API token",
            Self::AuditLogEntry => "Audit log entry",
            Self::CaseAccessReport => "Case access report",
            Self::CaseNote => "Case note",
            Self::CaseParty => "Case party",
            Self::HousingCostUpdate => "Housing cost update",
            Self::NotificationDelivery => "Notification delivery",
            Self::PaymentArrangement => "Payment arrangement",
            Self::PaymentArrangementEvent => "Payment arrangement event",
            Self::PaymentExport => "Payment export",
            Self::TenancyRequest => "Tenancy request",
            Self::WebhookAttempt => "Webhook attempt",
            Self::WebhookDelivery => "Webhook delivery",
            Self::WebhookEndpoint => "Webhook endpoint",
            Self::WebhookEvent => "Webhook event",
            other => other.type_name(),
        }
    }

    /// The kind of an audit entry's `target_type` (`case_access_report`).
    pub fn from_target_type(target_type: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| {
            let mut snake = String::new();
            for (i, c) in kind.type_name().chars().enumerate() {
                if c.is_ascii_uppercase() && i > 0 {
                    snake.push('_');
                }
                snake.push(c.to_ascii_lowercase());
            }
            snake == target_type
        })
    }
}

/// The global id of the object of type `kind` with database id `uuid`.
pub fn global_id(kind: NodeKind, uuid: Uuid) -> ID {
    ID(format!(
        "{}_{}",
        kind.type_name(),
        URL_SAFE_NO_PAD.encode(uuid.as_bytes())
    ))
}

/// The type and database id a global id names, or `None` when it is not one.
pub fn decode_global_id(id: &str) -> Option<(NodeKind, Uuid)> {
    let (prefix, payload) = id.split_once('_')?;
    let kind = NodeKind::ALL
        .into_iter()
        .find(|kind| kind.type_name() == prefix)?;
    // 16 bytes are exactly 22 characters; the length check also refuses
    // trailing bits that would make two spellings of one id.
    if payload.len() != 22 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let uuid = Uuid::from_slice(&bytes).ok()?;
    (global_id(kind, uuid).0 == id).then_some((kind, uuid))
}

/// The database id of an object of type `kind` named by `id`.
fn decode_as(id: &ID, kind: NodeKind) -> Option<Uuid> {
    decode_global_id(id.as_str()).and_then(|(k, uuid)| (k == kind).then_some(uuid))
}

/// Parses the id of an object of type `kind` to read or act on: undecodable
/// or of another type, it names nothing (`NOT_FOUND`).
pub fn parse_id(id: &ID, kind: NodeKind) -> ApiResult<Uuid> {
    decode_as(id, kind).ok_or(ApiError::NotFound(kind.label()))
}

/// [`parse_id`] with the `NOT_FOUND` message naming `what`.
pub fn parse_id_named(id: &ID, kind: NodeKind, what: &'static str) -> ApiResult<Uuid> {
    decode_as(id, kind).ok_or(ApiError::NotFound(what))
}

/// The id of an object of type `kind` given as the input field `field`
/// (`BAD_USER_INPUT` on `field` when undecodable or of another type).
pub fn input_id(id: &ID, kind: NodeKind, field: &str) -> ApiResult<Uuid> {
    decode_as(id, kind)
        .ok_or_else(|| ApiError::bad_input(field, format!("Not an id of a {}.", kind.type_name())))
}

/// An optional [`input_id`].
pub fn opt_input_id(id: Option<&ID>, kind: NodeKind, field: &str) -> ApiResult<Option<Uuid>> {
    id.map(|id| input_id(id, kind, field)).transpose()
}

/// The database id named by `id` whatever its type (an audit entry's target
/// may be of any type), or `None` when it is not a global id.
pub fn any_id(id: &ID) -> Option<Uuid> {
    decode_global_id(id.as_str()).map(|(_, uuid)| uuid)
}

/// An optional organisation id argument. A malformed one names nothing the
/// caller may see: `NOT_FOUND`, like any other id.
pub fn organisation_arg(id: Option<&ID>) -> ApiResult<Option<Uuid>> {
    id.map(|id| parse_id(id, NodeKind::Organisation))
        .transpose()
}

/// A calendar date, `YYYY-MM-DD` (RFC 3339 `full-date`), such as
/// `2026-03-05`. Dates the service works out (today, overdue, due soon) are
/// UK dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub chrono::NaiveDate);

/// A calendar date, `YYYY-MM-DD` (RFC 3339 `full-date`), such as
/// `2026-03-05`. Dates the service works out (today, overdue, due soon) are
/// UK dates.
#[async_graphql::Scalar(
    name = "Date",
    specified_by_url = "https://www.rfc-editor.org/rfc/rfc3339#section-5.6"
)]
impl async_graphql::ScalarType for Date {
    fn parse(value: async_graphql::Value) -> async_graphql::InputValueResult<Self> {
        let async_graphql::Value::String(text) = &value else {
            return Err(async_graphql::InputValueError::expected_type(value));
        };
        // Exactly `YYYY-MM-DD`: chrono alone would also take `2026-3-5`.
        let shaped = text.len() == 10
            && text.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        match chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(date) if shaped => Ok(Self(date)),
            _ => Err(async_graphql::InputValueError::custom(format!(
                "\"{text}\" is not a date: give YYYY-MM-DD, such as 2026-03-05."
            ))),
        }
    }

    fn to_value(&self) -> async_graphql::Value {
        async_graphql::Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

impl From<chrono::NaiveDate> for Date {
    fn from(date: chrono::NaiveDate) -> Self {
        Self(date)
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{ScalarType, Value};

    use super::{Date, NodeKind, decode_global_id, global_id};

    #[test]
    fn global_ids_carry_their_type() {
        let uuid = uuid::Uuid::now_v7();
        for kind in NodeKind::ALL {
            let id = global_id(kind, uuid);
            assert!(id.as_str().starts_with(&format!("{}_", kind.type_name())));
            assert_eq!(decode_global_id(id.as_str()), Some((kind, uuid)));
        }
        let case = global_id(NodeKind::Case, uuid);
        for bad in [
            uuid.to_string(),
            format!("Nope_{}", &case.as_str()[5..]),
            format!("{}A", case.as_str()),
            case.as_str()[..case.as_str().len() - 1].to_string(),
            "Case_".to_string(),
            format!("Case_{}", "!".repeat(22)),
        ] {
            assert_eq!(decode_global_id(&bad), None, "{bad}");
        }
        assert_eq!(
            NodeKind::from_target_type("case_access_report"),
            Some(NodeKind::CaseAccessReport)
        );
        assert_eq!(NodeKind::from_target_type("user"), Some(NodeKind::User));
    }

    #[test]
    fn dates_are_exactly_yyyy_mm_dd() {
        let date = Date::parse(Value::String("2026-03-05".into())).unwrap();
        assert_eq!(date.to_value(), Value::String("2026-03-05".into()));
        for bad in [
            "2026-3-5",
            "2026-02-30",
            "05/03/2026",
            "2026-03-05T00:00:00Z",
            "",
        ] {
            assert!(Date::parse(Value::String(bad.into())).is_err(), "{bad}");
        }
        assert!(Date::parse(Value::Number(20260305.into())).is_err());
    }
}
