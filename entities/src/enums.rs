//! Domain enums stored in string columns.
//!
//! Every enum-like column in the schema is a `varchar(32)` holding a
//! SCREAMING_SNAKE_CASE value rather than a native PostgreSQL enum type: the
//! same migrations must run on SQLite, which has no enum types, and adding a
//! variant then needs no `ALTER TYPE` migration. The database does not check
//! the values; these types do, on every read and write through SeaORM.
//!
//! Each enum gets, from [`string_enum!`]:
//! - `DeriveActiveEnum` with `rs_type = "String"` and `db_type = "String(StringLen::N(32))"`,
//! - serde `Serialize`/`Deserialize` using the same string as the database,
//! - `ALL` (every variant, in declaration order), `as_str()`, `Display` and `FromStr`.

use std::fmt;
use std::str::FromStr;

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// The error returned by `FromStr` when a string names no variant of an enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVariant {
    /// The enum that was being parsed, e.g. `"Permission"`.
    pub enum_name: &'static str,
    /// The string that matched none of its values.
    pub value: String,
}

impl fmt::Display for UnknownVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} value {:?}", self.enum_name, self.value)
    }
}

impl std::error::Error for UnknownVariant {}

/// Declares a string-backed domain enum.
///
/// A macro rather than hand-written impls so that the database value, the
/// serde value, `as_str()` and `FromStr` can never drift apart: each variant's
/// string is written exactly once.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $value:tt,
            )+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
        )]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
        pub enum $name {
            $(
                $(#[$vmeta])*
                #[sea_orm(string_value = $value)]
                #[serde(rename = $value)]
                $variant,
            )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The value stored in the database and used in JSON.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $value,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownVariant;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($value => Ok(Self::$variant),)+
                    _ => Err(UnknownVariant {
                        enum_name: stringify!($name),
                        value: s.to_owned(),
                    }),
                }
            }
        }
    };
}

string_enum! {
    /// What kind of person a user account belongs to; fixed for the account's life.
    pub enum UserKind {
        /// An individual resident; sees only the cases they are a party to.
        Resident = "RESIDENT",
        /// A member of exactly one landlord organisation.
        Landlord = "LANDLORD",
        /// Back-office staff of the public body (caseworkers, service administrators).
        Staff = "STAFF",
    }
}

string_enum! {
    /// Whether an account may sign in.
    pub enum UserStatus {
        /// Normal use.
        Active = "ACTIVE",
        /// Temporarily switched off by an organisation administrator or staff; can be reinstated.
        Suspended = "SUSPENDED",
        /// Access restricted by staff under the acceptable-use policy.
        Restricted = "RESTRICTED",
        /// Permanently closed. The email address and mobile number are free for reuse
        /// (the partial unique indexes ignore deactivated rows).
        Deactivated = "DEACTIVATED",
    }
}

string_enum! {
    /// The second factor a user has chosen.
    pub enum TwoFactorMethod {
        /// Password only (unless the organisation requires two-factor).
        None = "NONE",
        /// A code sent by email.
        Email = "EMAIL",
        /// An access code sent by SMS to the user's mobile number.
        Sms = "SMS",
        /// A code from an authenticator app (TOTP, RFC 6238).
        AuthenticatorApp = "AUTHENTICATOR_APP",
    }
}

string_enum! {
    /// Role of a staff user in the back office.
    pub enum StaffRole {
        /// Works cases: tasks, messages, reviews.
        Caseworker = "CASEWORKER",
        /// Administers the service: organisations, lead users, access restrictions.
        ServiceAdmin = "SERVICE_ADMIN",
    }
}

string_enum! {
    /// A landlord user's (or API token's) permission within their organisation.
    pub enum Permission {
        /// Invite, edit, suspend, unlock and deactivate the organisation's users.
        ManageUsers = "MANAGE_USERS",
        /// Answer "Provide tenancy details" requests.
        ProvideTenancyDetails = "PROVIDE_TENANCY_DETAILS",
        /// Add or remove properties.
        ManageProperties = "MANAGE_PROPERTIES",
        /// Upload a CSV that updates the rent of many properties at once.
        BulkUpdateHousingCosts = "BULK_UPDATE_HOUSING_COSTS",
        /// Search payments made to the organisation.
        ViewPayments = "VIEW_PAYMENTS",
        /// Request CSV exports of payments.
        ExportPayments = "EXPORT_PAYMENTS",
        /// Manage the organisation's webhook endpoints and read their
        /// delivery log.
        ManageWebhooks = "MANAGE_WEBHOOKS",
    }
}

impl Permission {
    /// The permissions an organisation API token may carry: partner
    /// dashboards read payment data and register the webhooks that tell them
    /// about it.
    pub const API_TOKEN_ALLOWED: &'static [Self] = &[
        Self::ViewPayments,
        Self::ExportPayments,
        Self::ManageWebhooks,
    ];
}

string_enum! {
    /// What a single-use emailed link is for.
    pub enum TokenPurpose {
        /// Accept an invitation and set the first password (expires after 24 hours).
        Invitation = "INVITATION",
        /// Reset a forgotten password (expires after 1 hour).
        PasswordReset = "PASSWORD_RESET",
        /// Confirm a new email address that staff set on the account (sent to
        /// the new address; expires after 24 hours).
        EmailChange = "EMAIL_CHANGE",
    }
}

string_enum! {
    /// The step a two-factor code is protecting.
    pub enum ChallengePurpose {
        /// Second step of signing in.
        Login = "LOGIN",
        /// Proving ownership of a newly entered mobile number.
        ConfirmMobile = "CONFIRM_MOBILE",
        /// Proving the chosen channel works before two-factor is switched on.
        EnableTwoFactor = "ENABLE_TWO_FACTOR",
        /// Proving a new mobile number a signed-in user changes theirs to
        /// (`changeMyMobileNumber`).
        ChangeMobile = "CHANGE_MOBILE",
    }
}

string_enum! {
    /// Where a two-factor code is sent.
    pub enum TwoFactorChannel {
        /// To the account's email address.
        Email = "EMAIL",
        /// To a mobile number by SMS.
        Sms = "SMS",
        /// Nothing is sent: the user's authenticator app shows the code.
        AuthenticatorApp = "AUTHENTICATOR_APP",
    }
}

string_enum! {
    /// Which side of a case a party (or a task's assignee) is on.
    pub enum PartyKind {
        /// An individual resident (a user).
        Resident = "RESIDENT",
        /// A landlord organisation (all of its users).
        Landlord = "LANDLORD",
    }
}

string_enum! {
    /// Progress of a task. "Overdue" is not stored: it is derived from the due date.
    pub enum TaskStatus {
        /// Still to do.
        Pending = "PENDING",
        /// Done by the assignee.
        Completed = "COMPLETED",
        /// The assignee could not do it and gave a reason, for the case owner to review.
        UnableToComplete = "UNABLE_TO_COMPLETE",
    }
}

string_enum! {
    /// Where a party's "I don't recognise this case" report stands.
    pub enum AccessReportStatus {
        /// On the staff queue, not yet looked into.
        Open = "OPEN",
        /// A staff member looked into it and said what they found and did.
        Resolved = "RESOLVED",
    }
}

string_enum! {
    /// The category an uploader gives a document.
    pub enum DocumentCategory {
        /// Evidence supporting the complaint or response.
        Evidence = "EVIDENCE",
        /// Letters and emails.
        Correspondence = "CORRESPONDENCE",
        /// Photographs.
        Photograph = "PHOTOGRAPH",
        /// Repair records and reports.
        RepairRecord = "REPAIR_RECORD",
        /// Tenancy agreements.
        TenancyAgreement = "TENANCY_AGREEMENT",
        /// Rent statements and other financial records.
        Financial = "FINANCIAL",
        /// Medical evidence.
        Medical = "MEDICAL",
        /// Anything else.
        Other = "OTHER",
    }
}

string_enum! {
    /// Result of the virus scan of an uploaded document.
    pub enum ScanStatus {
        /// Stored, not yet scanned: only the uploader may download it.
        PendingScan = "PENDING_SCAN",
        /// Scanned and clean: downloadable by everyone allowed to see it.
        Clean = "CLEAN",
        /// Malware found: quarantined, never downloadable.
        Infected = "INFECTED",
        /// The scanner failed; the worker retries.
        ScanFailed = "SCAN_FAILED",
        /// Refused after upload: the scanner found it password-protected
        /// (`Heuristics.Encrypted.*`); the bytes are deleted, never downloadable.
        Rejected = "REJECTED",
    }
}

string_enum! {
    /// How often rent or service charges are due.
    pub enum RentFrequency {
        Weekly = "WEEKLY",
        Fortnightly = "FORTNIGHTLY",
        FourWeekly = "FOUR_WEEKLY",
        Monthly = "MONTHLY",
        Quarterly = "QUARTERLY",
        Yearly = "YEARLY",
    }
}

string_enum! {
    /// State of a "Provide tenancy details" request.
    pub enum TenancyRequestStatus {
        /// Waiting for the landlord.
        Open = "OPEN",
        /// The landlord gave the tenancy details.
        Answered = "ANSWERED",
        /// The landlord said the person is not their tenant.
        NotTenant = "NOT_TENANT",
    }
}

string_enum! {
    /// Why staff raised a "Provide tenancy details" request (the UC seed's
    /// to-do item says "New claim").
    pub enum TenancyRequestReason {
        /// The tenant has made a new Universal Credit claim.
        NewClaim = "NEW_CLAIM",
        /// The tenant's circumstances changed (a move, a new rent, a new
        /// household): the housing costs must be verified again.
        ChangeOfCircumstances = "CHANGE_OF_CIRCUMSTANCES",
    }
}

string_enum! {
    /// State of an Alternative Payment Arrangement application.
    pub enum ArrangementStatus {
        /// Applied for by the landlord, awaiting a decision.
        Submitted = "SUBMITTED",
        /// Approved by staff.
        Approved = "APPROVED",
        /// Rejected by staff (with a reason).
        Rejected = "REJECTED",
    }
}

string_enum! {
    /// State of a payments CSV export.
    pub enum ExportStatus {
        /// Requested; the job is waiting to run.
        Queued = "QUEUED",
        /// The worker is writing the file.
        Running = "RUNNING",
        /// The file is ready to download until `expires_at`.
        Completed = "COMPLETED",
        /// The export failed for good (see `error`).
        Failed = "FAILED",
        /// The file was removed after `expires_at`.
        Expired = "EXPIRED",
    }
}

string_enum! {
    /// State of a bulk housing-cost update upload.
    pub enum BulkUpdateStatus {
        /// Uploaded; the job is waiting to run.
        Queued = "QUEUED",
        /// The worker is validating and applying rows.
        Running = "RUNNING",
        /// Every row was applied, in one transaction (`applied_count` = `row_count`).
        Applied = "APPLIED",
        /// Nothing was applied: the file (e.g. wrong columns) or at least one
        /// row failed, and `errors` lists every failing row. All or nothing.
        Rejected = "REJECTED",
        /// An internal failure after retries.
        Failed = "FAILED",
    }
}

string_enum! {
    /// Life cycle of an outbox job.
    pub enum JobStatus {
        /// Written in the same transaction as the change that needs it; not yet handed to the queue.
        Pending = "PENDING",
        /// Relayed to the queue.
        Queued = "QUEUED",
        /// A worker holds the lease and is running it.
        Running = "RUNNING",
        /// Finished successfully.
        Done = "DONE",
        /// Failed `max_attempts` times; waits for an operator to retry it.
        Dead = "DEAD",
    }
}

string_enum! {
    /// How a notification is delivered.
    pub enum Channel {
        Email = "EMAIL",
        Sms = "SMS",
    }
}

string_enum! {
    /// Delivery state of one email or SMS.
    pub enum DeliveryStatus {
        /// Recorded, not yet accepted by the provider.
        Queued = "QUEUED",
        /// Accepted by the provider (see `provider_reference`).
        Sent = "SENT",
        /// The provider reported it delivered (a GOV.UK Notify callback).
        Delivered = "DELIVERED",
        /// Gave up after retries, or the provider reported that it could not
        /// deliver it (see `last_error` and `provider_status`).
        Failed = "FAILED",
    }
}

string_enum! {
    /// The kind of a webhook event. Unlike the other enums, the value is the
    /// event's wire name (`<object>.<what happened>`, as Stripe and Shopify
    /// name theirs), which is what receivers see in the payload's `type`.
    pub enum WebhookEventType {
        /// A payments export finished; its file can be downloaded.
        PaymentExportCompleted = "payment_export.completed",
        /// A payments export failed.
        PaymentExportFailed = "payment_export.failed",
        /// Payments to the organisation were recorded.
        PaymentsRecorded = "payments.recorded",
        /// A tenancy request was raised to the organisation.
        TenancyRequestRaised = "tenancy_request.raised",
        /// A payment arrangement of the organisation was approved or refused.
        PaymentArrangementDecided = "payment_arrangement.decided",
        /// A housing-cost update (CSV) was applied.
        HousingCostUpdateApplied = "housing_cost_update.applied",
        /// A housing-cost update (CSV) was rejected.
        HousingCostUpdateRejected = "housing_cost_update.rejected",
        /// Staff posted a message to the landlord on one of its cases.
        CaseMessagePosted = "case.message_posted",
        /// A task on one of its cases was assigned to the landlord.
        CaseTaskAssigned = "case.task_assigned",
    }
}

impl WebhookEventType {
    /// The version of the event's `data` shape (all are at 1 so far).
    pub const fn version(self) -> i32 {
        1
    }
}

string_enum! {
    /// State of the delivery of one webhook event to one endpoint.
    pub enum WebhookDeliveryStatus {
        /// Not yet answered with a 2xx; retried until it is or retries run out.
        Pending = "PENDING",
        /// The endpoint answered 2xx.
        Succeeded = "SUCCEEDED",
        /// Retries ran out (or the endpoint was disabled) without a 2xx.
        Failed = "FAILED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::ActiveEnum;

    #[test]
    fn database_serde_and_display_values_agree() {
        for permission in Permission::ALL {
            let db = permission.to_value();
            let json = serde_json::to_value(permission).unwrap();
            assert_eq!(db, permission.as_str());
            assert_eq!(json, serde_json::Value::String(db.clone()));
            assert_eq!(permission.to_string(), db);
            assert_eq!(db.parse::<Permission>().unwrap(), *permission);
        }
        assert_eq!(ScanStatus::PendingScan.as_str(), "PENDING_SCAN");
        assert!("nope".parse::<UserStatus>().is_err());
    }
}
