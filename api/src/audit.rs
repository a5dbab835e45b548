//! The append-only audit log of identity and user-management actions.
//!
//! Every action is written with [`record`] in the same transaction as the
//! change, so the log holds exactly the changes that happened. The table
//! refuses `UPDATE` and `DELETE` (database triggers), so not even a bug here
//! can rewrite history.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde::Serialize;
use uuid::Uuid;

use entities::audit_log;

use crate::{
    auth::{ClientInfo, Viewer},
    error::ApiResult,
};

/// Who did it and from where.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The signed-in user, if any (none for self-service flows before sign-in).
    pub user_id: Option<Uuid>,
    /// The API token, if the action came from one.
    pub api_token_id: Option<Uuid>,
    /// Client address.
    pub ip: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
}

impl Actor {
    /// The actor of a request.
    pub fn of(viewer: &Viewer, client: &ClientInfo) -> Self {
        let (user_id, api_token_id) = match viewer {
            Viewer::User(u) | Viewer::Enrolling(u) => (Some(u.id), None),
            Viewer::ApiToken(t) => (None, Some(t.id)),
            Viewer::Anonymous => (None, None),
        };
        Self {
            user_id,
            api_token_id,
            ip: client.ip.clone(),
            request_id: Some(client.request_id.clone()).filter(|r| !r.is_empty()),
        }
    }

    /// The same request, acting as (or on behalf of) a given user: self-service
    /// flows such as sign-in, where the viewer is still anonymous.
    pub fn as_user(mut self, user_id: Uuid) -> Self {
        self.user_id = Some(user_id);
        self
    }

    /// The worker (scheduled jobs such as the 90-day sweep).
    pub fn system() -> Self {
        Self {
            user_id: None,
            api_token_id: None,
            ip: None,
            request_id: None,
        }
    }
}

/// What was done to what.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// Dotted action name, e.g. `user.invite`, `session.login`.
    pub action: &'a str,
    /// Kind of object, e.g. `user`, `organisation`, `api_token`.
    pub target_type: &'a str,
    /// The object's id.
    pub target_id: Option<Uuid>,
    /// The organisation whose administrators may read this entry.
    pub organisation_id: Option<Uuid>,
}

/// Appends one entry. `before` and `after` are snapshots of what changed
/// (made with [`snapshot`]; never secrets: entity models skip hashes when
/// serialised).
pub async fn record(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    entry: Entry<'_>,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> ApiResult<()> {
    audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        organisation_id: Set(entry.organisation_id),
        actor_user_id: Set(actor.user_id),
        actor_api_token_id: Set(actor.api_token_id),
        action: Set(entry.action.to_owned()),
        target_type: Set(entry.target_type.to_owned()),
        target_id: Set(entry.target_id),
        before: Set(before),
        after: Set(after),
        ip_address: Set(actor.ip.clone()),
        request_id: Set(actor.request_id.clone()),
        created_at: Set(Utc::now()),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// A JSON snapshot of a value for `before`/`after`.
pub fn snapshot(value: &impl Serialize) -> Option<serde_json::Value> {
    serde_json::to_value(value).ok()
}

/// An object whose changes are audited with [`record_change`]: its kind,
/// id and the organisation whose administrators may read the entry.
pub trait Audited: Serialize {
    /// `target_type` of the entries.
    const TARGET_TYPE: &'static str;
    /// The object's id.
    fn audit_id(&self) -> Uuid;
    /// The organisation the entry belongs to (`None`: staff only).
    fn audit_organisation(&self) -> Option<Uuid>;
}

/// Appends the entry for a change of `after` (created when `before` is
/// `None`), with both snapshots.
pub async fn record_change<M: Audited>(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    before: Option<&M>,
    after: &M,
) -> ApiResult<()> {
    record(
        conn,
        actor,
        Entry {
            action,
            target_type: M::TARGET_TYPE,
            target_id: Some(after.audit_id()),
            organisation_id: after.audit_organisation(),
        },
        before.and_then(snapshot),
        snapshot(after),
    )
    .await
}

macro_rules! audited {
    ($($model:path => $kind:literal, |$m:ident| $org:expr;)+) => {$(
        impl Audited for $model {
            const TARGET_TYPE: &'static str = $kind;
            fn audit_id(&self) -> Uuid {
                self.id
            }
            fn audit_organisation(&self) -> Option<Uuid> {
                let $m = self;
                $org
            }
        }
    )+};
}

audited! {
    entities::case::Model => "case", |_m| None;
    entities::task::Model => "task", |m| m.assignee_organisation_id;
    entities::property::Model => "property", |m| Some(m.organisation_id);
    entities::tenant::Model => "tenant", |m| Some(m.organisation_id);
    entities::tenancy_request::Model => "tenancy_request", |m| Some(m.organisation_id);
    entities::payment_arrangement::Model => "payment_arrangement", |m| Some(m.organisation_id);
}
