//! GraphQL mirrors of the domain enums in `entities` (kept free of GraphQL).

use async_graphql::Enum;

/// What kind of user someone is.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entities::UserKind")]
pub enum UserKind {
    /// A resident (complainant, tenant).
    Resident,
    /// A user of a landlord organisation.
    Landlord,
    /// Ombudsman or service staff.
    Staff,
}

/// What a landlord user (or an API token) may do.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entities::Permission")]
pub enum Permission {
    /// Invite users, edit their permissions, reset, unlock, suspend, deactivate.
    ManageUsers,
    /// Answer "provide tenancy details" requests.
    ProvideTenancyDetails,
    /// Add or remove properties.
    ManageProperties,
    /// Update rents of many properties from a CSV.
    BulkUpdateHousingCosts,
    /// Search payments.
    ViewPayments,
    /// Export payments as CSV.
    ExportPayments,
    /// Manage webhook endpoints and read their delivery log.
    ManageWebhooks,
}

/// Account state.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entities::UserStatus")]
pub enum UserStatus {
    /// Can sign in.
    Active,
    /// Made inactive by an administrator; can be reinstated.
    Suspended,
    /// Restricted by staff under the acceptable-use policy.
    Restricted,
    /// Permanently deactivated (by an administrator or the 90-day sweep).
    Deactivated,
}

/// How a user receives sign-in codes.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entities::TwoFactorMethod")]
pub enum TwoFactorMethod {
    /// No second factor.
    None,
    /// A code by email.
    Email,
    /// A code by SMS to the user's mobile.
    Sms,
    /// A code from an authenticator app (TOTP: Google Authenticator,
    /// Microsoft Authenticator, 1Password and the like).
    AuthenticatorApp,
}

/// Role of a staff member.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entities::StaffRole")]
pub enum StaffRole {
    /// Works cases.
    Caseworker,
    /// Runs the service: organisations, users, jobs.
    ServiceAdmin,
}

/// What a document is about.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entities::DocumentCategory")]
pub enum DocumentCategory {
    /// Evidence supporting the complaint or response.
    Evidence,
    /// Letters and emails.
    Correspondence,
    /// Photographs.
    Photograph,
    /// Repair records and reports.
    RepairRecord,
    /// Tenancy agreements.
    TenancyAgreement,
    /// Rent statements and other financial records.
    Financial,
    /// Medical evidence.
    Medical,
    /// Anything else.
    Other,
}

/// How often rent or service charges are due.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entities::RentFrequency")]
pub enum RentFrequency {
    /// Every week.
    Weekly,
    /// Every two weeks.
    Fortnightly,
    /// Every four weeks (13 a year).
    FourWeekly,
    /// Every calendar month.
    Monthly,
    /// Every quarter.
    Quarterly,
    /// Every year.
    Yearly,
}

/// Which side of a case a party (or a task's assignee) is on.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entities::PartyKind")]
pub enum PartyKind {
    /// A resident.
    Resident,
    /// A landlord organisation (all of its users).
    Landlord,
}
