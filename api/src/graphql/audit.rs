//! The audit log, newest first: staff read every entry, organisation
//! administrators their own organisation's (see [`policy::audit`]). There
//! are no mutations: entries are written by the actions they record and can
//! never be changed or deleted.

use async_graphql::{
    ComplexObject, Context, ID, InputObject, Json, Object, SimpleObject,
    connection::{Connection, EmptyFields},
};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    ContextExt,
    organisations::{Organisation, organisation_link},
    pagination::{decode_cursor, keyset_connection, page_size},
    scalars::{NodeKind, any_id, global_id, input_id},
};
use crate::{
    error::{ApiError, ApiResult},
    policy,
    users::audit_log::{self, AuditEntry, AuditFilter},
};

/// One thing that was done: who did what to what, when, from where, and the
/// state before and after.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AuditLogEntry {
    /// Entry id.
    pub id: ID,
    /// What happened, e.g. `user.deactivate`.
    pub action: String,
    /// Kind of object acted on: `user`, `organisation`, `api_token`, ...
    pub target_type: String,
    /// The object acted on, as its global id (which names its type, like
    /// `targetType`). Kept as an id, not a link: the target may be of any
    /// type, may since have been deleted or deactivated, and is often
    /// something the reader may not see (a staff account, another
    /// organisation's user); `node(id:)` fetches it where the reader may.
    pub target_id: Option<ID>,
    /// The organisation the entry belongs to (see the `organisation` field).
    #[graphql(skip)]
    pub organisation_id: Option<Uuid>,
    /// The acting user; null for the system (e.g. the 90-day sweep) and API
    /// tokens. Kept as an id, not a link to the account: the actor is often
    /// a staff member, a resident or a deactivated user, whose account an
    /// organisation administrator may not see; `actorName` names them.
    pub actor_user_id: Option<ID>,
    /// The acting user's name.
    pub actor_name: Option<String>,
    /// The acting API token. Kept as an id, not a link: staff may not see an
    /// organisation's tokens, and a revoked token stays in the log;
    /// organisation administrators find it by this id in `apiTokens`.
    pub actor_api_token_id: Option<ID>,
    /// The relevant state before (never secrets).
    pub before: Option<Json<serde_json::Value>>,
    /// The relevant state after (never secrets).
    pub after: Option<Json<serde_json::Value>>,
    /// The client's address.
    pub ip_address: Option<String>,
    /// The request id, to find the request in the logs.
    pub request_id: Option<String>,
    /// When it happened.
    pub created_at: DateTime<Utc>,
    /// Whether `before`, `after`, `ipAddress` and `requestId` are withheld:
    /// an organisation administrator reading an entry written by someone
    /// outside their organisation (staff, a resident) sees what happened, to
    /// what, when and by whom, but not those details.
    pub redacted: bool,
}

fn id(kind: NodeKind) -> impl Fn(Uuid) -> ID {
    move |u| global_id(kind, u)
}

impl From<AuditEntry> for AuditLogEntry {
    fn from(e: AuditEntry) -> Self {
        let m = e.entry;
        Self {
            id: global_id(NodeKind::AuditLogEntry, m.id),
            action: m.action,
            // A target of a type no longer known keeps no id.
            target_id: NodeKind::from_target_type(&m.target_type)
                .and_then(|kind| m.target_id.map(id(kind))),
            target_type: m.target_type,
            organisation_id: m.organisation_id,
            actor_user_id: m.actor_user_id.map(id(NodeKind::User)),
            actor_name: e.actor_name,
            actor_api_token_id: m.actor_api_token_id.map(id(NodeKind::ApiToken)),
            before: m.before.map(Json),
            after: m.after.map(Json),
            ip_address: m.ip_address,
            request_id: m.request_id,
            created_at: m.created_at,
            redacted: e.redacted,
        }
    }
}

#[ComplexObject]
impl AuditLogEntry {
    /// The organisation the entry belongs to (none for entries about staff
    /// or residents alone), through the request's loader.
    async fn organisation(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organisation>> {
        let Some(id) = self.organisation_id else {
            return Ok(None);
        };
        organisation_link(ctx, id).await
    }
}

/// Which audit entries to list; every field given must match.
#[derive(InputObject, Default)]
pub struct AuditLogFilter {
    /// Exact action name, e.g. `user.invite`.
    pub action: Option<String>,
    /// The acting user.
    pub actor_id: Option<ID>,
    /// The object acted on.
    pub target_id: Option<ID>,
    /// The organisation (useful to staff; administrators only ever see their own).
    pub organisation_id: Option<ID>,
    /// At or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Before this time.
    pub to: Option<DateTime<Utc>>,
}

/// A filter id of type `kind` (any type for `None`: a target).
fn filter_id(id: Option<ID>, kind: Option<NodeKind>, field: &str) -> ApiResult<Option<Uuid>> {
    id.map(|id| match kind {
        Some(kind) => input_id(&id, kind, field),
        None => any_id(&id).ok_or_else(|| ApiError::bad_input(field, "Not an id.")),
    })
    .transpose()
}

impl AuditLogFilter {
    fn into_filter(self) -> ApiResult<AuditFilter> {
        Ok(AuditFilter {
            action: self.action,
            actor_id: filter_id(self.actor_id, Some(NodeKind::User), "filter.actorId")?,
            target_id: filter_id(self.target_id, None, "filter.targetId")?,
            organisation_id: filter_id(
                self.organisation_id,
                Some(NodeKind::Organisation),
                "filter.organisationId",
            )?,
            from: self.from,
            to: self.to,
        })
    }
}

/// Audit log queries.
#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// Audit entries, newest first. Staff see every entry; organisation
    /// administrators (`MANAGE_USERS`) see their organisation's.
    #[graphql(complexity = "super::pagination::connection_cost(first, child_complexity)")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which entries (default: every entry I may read).")] filter: Option<
            AuditLogFilter,
        >,
        #[graphql(desc = "How many to return: 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page: the page starts after it.")] after: Option<String>,
    ) -> async_graphql::Result<Connection<String, AuditLogEntry, EmptyFields, EmptyFields>> {
        let scope = policy::audit::visible(&ctx.caller())?;
        let limit = page_size(first)?;
        let after = after.as_deref().map(decode_cursor).transpose()?;
        let filter = filter.unwrap_or_default().into_filter()?;
        let (entries, has_next) = audit_log::page(ctx.app(), scope, filter, limit, after).await?;
        Ok(keyset_connection(
            entries,
            false,
            has_next,
            |e| e.entry.id,
            AuditLogEntry::from,
        ))
    }
}
