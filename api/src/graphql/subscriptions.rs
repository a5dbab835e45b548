//! Live updates: GraphQL subscriptions over `/graphql/ws`.
//!
//! - `messagePosted`: messages posted on cases the caller can see.
//! - `taskChanged`: tasks created or changed on those cases — for portal users
//!   only the tasks they must do (assigned to them, or to their landlord
//!   organisation), for staff every task. A portal user's live views are "My
//!   tasks" and "the next five tasks for me"; another party's tasks are not
//!   theirs to act on, and pushing them would tell a landlord what the
//!   resident was asked to do the moment it happens.
//! - `unreadCounts`: the caller's unread messages, per case and in total: the
//!   current counts at once, then again whenever a message is posted on one of
//!   their cases or they read messages (on any connection).
//!
//! Events carry ids only ([`crate::events`]). Every event is re-checked for
//! this subscriber with one database query through the case policy
//! ([`policy::cases::visible_cases`]) before anything is sent, so an event
//! about a case the caller cannot see (any more) is never delivered — the same
//! rule, with the same condition, as every query. The payloads are what a
//! query would show of the object, read at delivery time.
//!
//! The caller is the one resolved at `connection_init`; an anonymous or API
//! token connection gets `UNAUTHENTICATED` / `FORBIDDEN` when it subscribes.
//!
//! "Unread", for a portal user: a message on one of their cases that someone
//! else sent and they have not marked read. For staff (who see every case) the
//! counts cover the cases they own, which is their working set.

use std::pin::Pin;

use async_graphql::{Context, ErrorExtensions, ID, SimpleObject, Subscription};
use chrono::{DateTime, NaiveDate, Utc};
use futures::{Stream, StreamExt, stream};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, RelationTrait,
};
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use entities::{TaskStatus, case, message, message_read, task};

use super::ContextExt;
use crate::{
    app::AppState,
    auth::Viewer,
    error::{ApiError, ApiResult},
    events::{CaseEvent, EventBus},
    policy::cases::{Side, casework_user, side, visible_cases},
};

/// Root subscription type.
#[derive(Default)]
pub struct Subscription;

/// A message as a subscriber sees it.
#[derive(SimpleObject, Debug, Clone)]
pub struct LiveMessage {
    /// The message.
    pub id: ID,
    /// Its case.
    pub case_id: ID,
    /// The case reference, e.g. `202200046`.
    pub case_reference: String,
    /// Who sent it.
    pub sender_user_id: ID,
    /// The staff message this replies to (replies only).
    pub parent_message_id: Option<ID>,
    /// Subject (staff messages).
    pub subject: Option<String>,
    /// Plain text.
    pub body: String,
    /// When it was posted.
    pub created_at: DateTime<Utc>,
}

/// A task as a subscriber sees it.
#[derive(SimpleObject, Debug, Clone)]
pub struct LiveTask {
    /// The task.
    pub id: ID,
    /// Its case.
    pub case_id: ID,
    /// The case reference.
    pub case_reference: String,
    /// What to do.
    pub title: String,
    /// The target date.
    pub due_on: NaiveDate,
    /// `PENDING`, `COMPLETED` or `UNABLE_TO_COMPLETE`.
    pub status: String,
    /// `PENDING` and the target date has passed.
    pub overdue: bool,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// Unread messages of one case.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct LiveCaseUnread {
    /// The case.
    pub case_id: ID,
    /// The case reference.
    pub case_reference: String,
    /// Unread messages on it (never 0: cases without unread messages are left out).
    pub unread: i64,
}

/// The caller's unread messages.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct LiveUnreadCounts {
    /// Across all their cases.
    pub total: i64,
    /// Per case with unread messages, by reference.
    pub cases: Vec<LiveCaseUnread>,
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = T> + Send>>;

#[Subscription]
impl Subscription {
    /// Messages posted on cases the caller can see (optionally one case).
    async fn message_posted(
        &self,
        ctx: &Context<'_>,
        case_id: Option<ID>,
    ) -> async_graphql::Result<BoxStream<LiveMessage>> {
        let (app, viewer) = subscriber(ctx)?;
        let only = case_id.map(|id| Uuid::parse_str(id.as_str()).unwrap_or(Uuid::nil()));
        Ok(events(&app.events)
            .filter_map(move |event| {
                let (app, viewer) = (app.clone(), viewer.clone());
                async move {
                    let Some(CaseEvent::MessagePosted {
                        case_id,
                        message_id,
                    }) = event
                    else {
                        return None;
                    };
                    if only.is_some_and(|only| only != case_id) {
                        return None;
                    }
                    logged(visible_message(&app, &viewer, message_id).await)
                }
            })
            .boxed())
    }

    /// Tasks created or changed on cases the caller can see: for portal users
    /// the tasks assigned to them or their organisation, for staff all.
    async fn task_changed(
        &self,
        ctx: &Context<'_>,
        case_id: Option<ID>,
    ) -> async_graphql::Result<BoxStream<LiveTask>> {
        let (app, viewer) = subscriber(ctx)?;
        let only = case_id.map(|id| Uuid::parse_str(id.as_str()).unwrap_or(Uuid::nil()));
        Ok(events(&app.events)
            .filter_map(move |event| {
                let (app, viewer) = (app.clone(), viewer.clone());
                async move {
                    let Some(CaseEvent::TaskChanged { case_id, task_id }) = event else {
                        return None;
                    };
                    if only.is_some_and(|only| only != case_id) {
                        return None;
                    }
                    logged(visible_task(&app, &viewer, task_id).await)
                }
            })
            .boxed())
    }

    /// The caller's unread counts: now, then whenever they may have changed.
    async fn unread_counts(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<BoxStream<LiveUnreadCounts>> {
        let (app, viewer) = subscriber(ctx)?;
        // `None`: the start; `Some(None)`: missed events (lagged); either way
        // the counts are recomputed.
        let triggers = stream::once(async { None }).chain(events(&app.events).map(Some));
        let mut last: Option<LiveUnreadCounts> = None;
        Ok(triggers
            .filter_map(move |event| {
                let (app, viewer) = (app.clone(), viewer.clone());
                async move {
                    if let Some(Some(event)) = event
                        && !concerns(&app, &viewer, &event).await
                    {
                        return None;
                    }
                    logged(unread_counts(&app, &viewer).await)
                }
            })
            // Only changes are sent (a read receipt for already-read messages
            // changes nothing).
            .filter_map(move |counts| {
                let changed = last.as_ref() != Some(&counts);
                last = Some(counts.clone());
                async move { changed.then_some(counts) }
            })
            .boxed())
    }
}

/// A GraphQL id of a UUID.
fn gid(uuid: Uuid) -> ID {
    ID(uuid.to_string())
}

/// The application and the signed-in casework user of a subscription, or the
/// error that refuses it.
fn subscriber(ctx: &Context<'_>) -> async_graphql::Result<(AppState, Viewer)> {
    let viewer = ctx.viewer().clone();
    casework_user(&viewer).map_err(|e| e.extend())?;
    Ok((ctx.app().clone(), viewer))
}

/// Every event published from now on; `None` where the receiver fell behind
/// and missed some.
fn events(bus: &EventBus) -> impl Stream<Item = Option<CaseEvent>> + Send + 'static {
    stream::unfold(bus.subscribe(), |mut rx| async move {
        match rx.recv().await {
            Ok(event) => Some((Some(event), rx)),
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "a subscription fell behind and missed events");
                Some((None, rx))
            }
            Err(RecvError::Closed) => None,
        }
    })
}

/// A failed check skips the event (and is logged) rather than ending the
/// subscription.
fn logged<T>(result: ApiResult<Option<T>>) -> Option<T> {
    match result {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, "cannot check an event for a subscriber; skipped");
            None
        }
    }
}

/// The message, if `viewer` may see its case (one query).
async fn visible_message(
    app: &AppState,
    viewer: &Viewer,
    id: Uuid,
) -> ApiResult<Option<LiveMessage>> {
    let found = message::Entity::find_by_id(id)
        .find_also_related(case::Entity)
        .filter(visible_cases(viewer)?)
        .one(&app.db)
        .await?;
    Ok(found.and_then(|(m, case)| {
        let case = case?;
        Some(LiveMessage {
            id: gid(m.id),
            case_id: gid(m.case_id),
            case_reference: case.reference,
            sender_user_id: gid(m.sender_user_id),
            parent_message_id: m.parent_message_id.map(gid),
            subject: m.subject,
            body: m.body,
            created_at: m.created_at,
        })
    }))
}

/// The condition on `tasks` a portal user's tasks meet (`None` for staff).
fn assigned_to(side: Option<Side>) -> Condition {
    match side {
        None => Condition::all(),
        Some(Side::Resident(user)) => Condition::all().add(task::Column::AssigneeUserId.eq(user)),
        Some(Side::Landlord(org)) => {
            Condition::all().add(task::Column::AssigneeOrganisationId.eq(org))
        }
    }
}

/// The task, if `viewer` may see its case and it is theirs (one query).
async fn visible_task(app: &AppState, viewer: &Viewer, id: Uuid) -> ApiResult<Option<LiveTask>> {
    let user = casework_user(viewer)?;
    let found = task::Entity::find_by_id(id)
        .find_also_related(case::Entity)
        .filter(visible_cases(viewer)?)
        .filter(assigned_to(side(user)?))
        .one(&app.db)
        .await?;
    let today = Utc::now().date_naive();
    Ok(found.and_then(|(t, case)| {
        let case = case?;
        Some(LiveTask {
            id: gid(t.id),
            case_id: gid(t.case_id),
            case_reference: case.reference,
            title: t.title,
            due_on: t.due_date,
            status: t.status.as_str().to_owned(),
            overdue: t.status == TaskStatus::Pending && t.due_date < today,
            updated_at: t.updated_at,
        })
    }))
}

/// The cases whose messages count towards `viewer`'s unread counts: the
/// visible ones, narrowed for staff to the cases they own.
fn counted_cases(viewer: &Viewer) -> ApiResult<Condition> {
    let user = casework_user(viewer)?;
    let visible = visible_cases(viewer)?;
    Ok(match side(user)? {
        None => visible.add(case::Column::OwnerUserId.eq(user.id)),
        Some(_) => visible,
    })
}

/// Whether `event` may change `viewer`'s unread counts: their own read
/// receipts, and messages on a case that counts for them (one query).
async fn concerns(app: &AppState, viewer: &Viewer, event: &CaseEvent) -> bool {
    let Some(user) = viewer.user() else {
        return false;
    };
    match event {
        CaseEvent::MessagesRead { user_id, .. } => *user_id == user.id,
        CaseEvent::TaskChanged { .. } => false,
        CaseEvent::MessagePosted { case_id, .. } => {
            let Ok(condition) = counted_cases(viewer) else {
                return false;
            };
            let found = case::Entity::find_by_id(*case_id)
                .select_only()
                .column(case::Column::Id)
                .filter(condition)
                .into_tuple::<Uuid>()
                .one(&app.db)
                .await;
            logged(found.map_err(ApiError::from)).is_some()
        }
    }
}

/// `viewer`'s unread counts (one grouped query).
pub async fn unread_counts(app: &AppState, viewer: &Viewer) -> ApiResult<Option<LiveUnreadCounts>> {
    let user = casework_user(viewer)?;
    let read_by_me = message_read::Entity::find()
        .select_only()
        .column(message_read::Column::MessageId)
        .filter(message_read::Column::UserId.eq(user.id))
        .into_query();
    let rows: Vec<(Uuid, String, i64)> = message::Entity::find()
        .select_only()
        .column(message::Column::CaseId)
        .column(case::Column::Reference)
        .column_as(message::Column::Id.count(), "unread")
        .join(JoinType::InnerJoin, message::Relation::Case.def())
        .filter(counted_cases(viewer)?)
        .filter(message::Column::SenderUserId.ne(user.id))
        .filter(message::Column::Id.not_in_subquery(read_by_me))
        .group_by(message::Column::CaseId)
        .group_by(case::Column::Reference)
        .order_by_asc(case::Column::Reference)
        .into_tuple()
        .all(&app.db)
        .await?;
    Ok(Some(LiveUnreadCounts {
        total: rows.iter().map(|(_, _, n)| n).sum(),
        cases: rows
            .into_iter()
            .map(|(case_id, case_reference, unread)| LiveCaseUnread {
                case_id: gid(case_id),
                case_reference,
                unread,
            })
            .collect(),
    }))
}
