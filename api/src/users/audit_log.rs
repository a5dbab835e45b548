//! Reading the audit log: newest first, filtered, a page at a time, limited
//! to what the caller's [`AuditScope`] allows. Entries are only ever
//! inserted (by [`crate::audit::record`]); nothing here or anywhere else
//! changes them, and the database refuses it.
//!
//! **Redaction.** An organisation administrator reads the entries filed
//! under their organisation, but an entry written by someone outside it
//! (staff, a resident) may hold what the organisation must not see: a
//! resident's private reason in a task's `before`, a staff member's address.
//! For such an entry they see what happened, to what, when and by whom, with
//! `before`, `after`, the client address and the request id withheld
//! (`redacted: true`). Entries by their own users and API tokens, and by the
//! system, are shown whole. Staff see every entry whole.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use entities::{audit_log, user};

use crate::{
    app::App,
    error::{ApiError, ApiResult},
    policy::audit::AuditScope,
};

/// Longest action name (the column's size).
pub const ACTION_MAX: usize = 64;

/// Which entries to list; every set field must match.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Exact action name, e.g. `user.deactivate`.
    pub action: Option<String>,
    /// The acting user.
    pub actor_id: Option<Uuid>,
    /// The object acted on.
    pub target_id: Option<Uuid>,
    /// The organisation the entry belongs to (staff; administrators only
    /// ever see their own).
    pub organisation_id: Option<Uuid>,
    /// At or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Before this time.
    pub to: Option<DateTime<Utc>>,
}

/// An entry and the name of its acting user, if a user acted.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// The stored entry.
    pub entry: audit_log::Model,
    /// "First Last" of the acting user.
    pub actor_name: Option<String>,
    /// Whether the details were withheld from this reader (module docs).
    pub redacted: bool,
}

/// A page of entries, newest first, after the entry `after`; and whether
/// there are more. Two statements whatever the page size: the entries, and
/// the names of their actors.
pub async fn page(
    app: &App,
    scope: AuditScope,
    filter: AuditFilter,
    limit: u64,
    after: Option<Uuid>,
) -> ApiResult<(Vec<AuditEntry>, bool)> {
    let db = &app.db;
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from > to
    {
        return Err(ApiError::bad_input(
            "filter.to",
            "Must not be earlier than filter.from.",
        ));
    }
    let mut query = audit_log::Entity::find().order_by_desc(audit_log::Column::Id);
    if let AuditScope::Organisation(org) = scope {
        query = query.filter(audit_log::Column::OrganisationId.eq(org));
    }
    if let Some(action) = filter.action {
        if action.chars().count() > ACTION_MAX {
            return Err(ApiError::bad_input(
                "filter.action",
                format!("Must be at most {ACTION_MAX} characters long."),
            ));
        }
        query = query.filter(audit_log::Column::Action.eq(action));
    }
    if let Some(actor) = filter.actor_id {
        query = query.filter(audit_log::Column::ActorUserId.eq(actor));
    }
    if let Some(target) = filter.target_id {
        query = query.filter(audit_log::Column::TargetId.eq(target));
    }
    if let Some(org) = filter.organisation_id {
        query = query.filter(audit_log::Column::OrganisationId.eq(org));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_log::Column::CreatedAt.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_log::Column::CreatedAt.lt(to));
    }
    if let Some(after) = after {
        query = query.filter(audit_log::Column::Id.lt(after));
    }
    let mut rows = query.limit(limit + 1).all(db).await?;
    let has_next = rows.len() as u64 > limit;
    rows.truncate(limit as usize);

    let mut actor_ids: Vec<Uuid> = rows.iter().filter_map(|e| e.actor_user_id).collect();
    actor_ids.sort();
    actor_ids.dedup();
    let actors: HashMap<Uuid, (String, Option<Uuid>)> = if actor_ids.is_empty() {
        HashMap::new()
    } else {
        user::Entity::find()
            .filter(user::Column::Id.is_in(actor_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|u| {
                (
                    u.id,
                    (
                        format!("{} {}", u.first_name, u.last_name),
                        u.organisation_id,
                    ),
                )
            })
            .collect()
    };
    let entries = rows
        .into_iter()
        .map(|mut entry| {
            let actor = entry.actor_user_id.and_then(|id| actors.get(&id));
            let outsider = match scope {
                AuditScope::All => false,
                AuditScope::Organisation(org) => {
                    entry.actor_user_id.is_some() && actor.is_none_or(|(_, o)| *o != Some(org))
                }
            };
            if outsider {
                entry.before = None;
                entry.after = None;
                entry.ip_address = None;
                entry.request_id = None;
            }
            AuditEntry {
                actor_name: actor.map(|(name, _)| name.clone()),
                redacted: outsider,
                entry,
            }
        })
        .collect();
    Ok((entries, has_next))
}
