//! Every entity under its table's singular name, for
//! `use entities::prelude::*;`.

pub use crate::api_token::Entity as ApiToken;
pub use crate::api_token_permission::Entity as ApiTokenPermission;
pub use crate::audit_log::Entity as AuditLog;
pub use crate::case::Entity as Case;
pub use crate::case_access_report::Entity as CaseAccessReport;
pub use crate::case_note::Entity as CaseNote;
pub use crate::case_party::Entity as CaseParty;
pub use crate::case_reference_counter::Entity as CaseReferenceCounter;
pub use crate::document::Entity as Document;
pub use crate::housing_cost_update::Entity as HousingCostUpdate;
pub use crate::message::Entity as Message;
pub use crate::message_read::Entity as MessageRead;
pub use crate::notification_delivery::Entity as NotificationDelivery;
pub use crate::organisation::Entity as Organisation;
pub use crate::organisation_domain::Entity as OrganisationDomain;
pub use crate::outbox_job::Entity as OutboxJob;
pub use crate::payment::Entity as Payment;
pub use crate::payment_arrangement::Entity as PaymentArrangement;
pub use crate::payment_arrangement_event::Entity as PaymentArrangementEvent;
pub use crate::payment_export::Entity as PaymentExport;
pub use crate::property::Entity as Property;
pub use crate::session::Entity as Session;
pub use crate::task::Entity as Task;
pub use crate::tenancy_request::Entity as TenancyRequest;
pub use crate::tenant::Entity as Tenant;
pub use crate::two_factor_challenge::Entity as TwoFactorChallenge;
pub use crate::user::Entity as User;
pub use crate::user_permission::Entity as UserPermission;
pub use crate::user_token::Entity as UserToken;
pub use crate::webhook_attempt::Entity as WebhookAttempt;
pub use crate::webhook_delivery::Entity as WebhookDelivery;
pub use crate::webhook_endpoint::Entity as WebhookEndpoint;
pub use crate::webhook_event::Entity as WebhookEvent;
