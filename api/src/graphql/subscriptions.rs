//! Live updates: GraphQL subscriptions over `/graphql/ws`.
//!
//! - `messagePosted`: messages posted that the caller may see
//!   ([`policy::messages`]: on their cases, staff messages and their own
//!   side's replies; staff everything).
//! - `taskChanged`: tasks created or changed that the caller may see
//!   ([`policy::tasks`]: for portal users the tasks assigned to them or their
//!   organisation, for staff every task) — the same tasks "My tasks" and a
//!   case's task list show.
//! - `unreadCounts`: the caller's unread counts, as the `unreadCounts` query
//!   answers them: at once, then again whenever they may have changed (a
//!   message they would count was posted, or they read messages on any
//!   connection), and only when they did change.
//!
//! Events carry ids only ([`crate::events`]). Every event is re-checked for
//! this subscriber with one database query, filtered through the case policy
//! ([`policy::cases::visible_to`]) and the object's own policy, before
//! anything is sent: an event about a case the caller cannot see (any more)
//! is never delivered. The payload is the event's ids plus the object as the
//! queries show it (the same `Message` and `Task` types and resolvers), read
//! at delivery time.
//!
//! The caller is the one resolved at `connection_init`; an anonymous or API
//! token connection gets `UNAUTHENTICATED` / `FORBIDDEN` when it subscribes.
//! A subscription ends (`complete`) once its session is revoked or expires or
//! the user is no longer active, so signing out, "end this session" and
//! deactivation also stop live updates.

use std::{
    collections::HashMap,
    pin::Pin,
    time::{Duration, Instant},
};

use async_graphql::{Context, ErrorExtensions, ID, Object, Subscription};
use chrono::Utc;
use futures::{Stream, StreamExt, stream};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use entities::{UserStatus, case, message, session, task, user};

use super::{ContextExt, messages::{CaseUnread, Message, UnreadCounts}, tasks::Task};
use crate::{
    app::AppState,
    auth::Viewer,
    casework,
    error::ApiResult,
    events::CaseEvent,
    policy::{
        self,
        cases::{Caller, caller},
    },
};

/// Root subscription type.
#[derive(Default)]
pub struct Subscription;

/// A message was posted on a case.
pub struct MessagePostedEvent {
    message: message::Model,
    case_reference: String,
}

#[Object]
impl MessagePostedEvent {
    /// The message.
    async fn message_id(&self) -> ID {
        gid(self.message.id)
    }
    /// Its case.
    async fn case_id(&self) -> ID {
        gid(self.message.case_id)
    }
    /// The case reference, e.g. `202200046`.
    async fn case_reference(&self) -> &str {
        &self.case_reference
    }
    /// The message, as the queries show it.
    async fn message(&self) -> Message {
        Message(self.message.clone())
    }
}

/// A task was created or changed.
pub struct TaskChangedEvent {
    task: task::Model,
    case_reference: String,
}

#[Object]
impl TaskChangedEvent {
    /// The task.
    async fn task_id(&self) -> ID {
        gid(self.task.id)
    }
    /// Its case.
    async fn case_id(&self) -> ID {
        gid(self.task.case_id)
    }
    /// The case reference.
    async fn case_reference(&self) -> &str {
        &self.case_reference
    }
    /// The task, as the queries show it.
    async fn task(&self) -> Task {
        Task(self.task.clone())
    }
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = T> + Send>>;

#[Subscription]
impl Subscription {
    /// Messages posted that the caller can see (optionally on one case).
    async fn message_posted(
        &self,
        ctx: &Context<'_>,
        case_id: Option<ID>,
    ) -> async_graphql::Result<BoxStream<MessagePostedEvent>> {
        let (app, viewer) = subscriber(ctx)?;
        let only = case_id.map(|id| Uuid::parse_str(id.as_str()).unwrap_or(Uuid::nil()));
        Ok(events(&app, &viewer)
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

    /// Tasks created or changed that the caller can see (optionally on one
    /// case): for portal users the tasks assigned to them or their
    /// organisation, for staff all.
    async fn task_changed(
        &self,
        ctx: &Context<'_>,
        case_id: Option<ID>,
    ) -> async_graphql::Result<BoxStream<TaskChangedEvent>> {
        let (app, viewer) = subscriber(ctx)?;
        let only = case_id.map(|id| Uuid::parse_str(id.as_str()).unwrap_or(Uuid::nil()));
        Ok(events(&app, &viewer)
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
    ) -> async_graphql::Result<BoxStream<UnreadCounts>> {
        let (app, viewer) = subscriber(ctx)?;
        // `None`: the start; `Some(None)`: missed events (lagged); either way
        // the counts are recomputed.
        let triggers = stream::once(async { None }).chain(events(&app, &viewer).map(Some));
        let mut last: Option<HashMap<Uuid, i64>> = None;
        Ok(triggers
            .filter_map(move |trigger| {
                let (app, viewer) = (app.clone(), viewer.clone());
                async move {
                    if let Some(Some(event)) = trigger
                        && !concerns(&app, &viewer, &event).await
                    {
                        return None;
                    }
                    logged(unread_counts(&app, &viewer).await.map(Some))
                }
            })
            // Only changes are sent (a read receipt for messages already read
            // changes nothing).
            .filter_map(move |counts| {
                let changed = last.as_ref() != Some(&counts);
                last = Some(counts.clone());
                async move { changed.then(|| to_graphql(&counts)) }
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
    caller(&viewer).map_err(|e| e.extend())?;
    Ok((ctx.app().clone(), viewer))
}

/// Every event published from now on; `None` where the receiver fell behind
/// and missed some. The stream ends when the subscriber's session ends
/// (revoked, signed out, expired, or the user no longer active): checked at
/// the first event and then at most every [`SESSION_RECHECK`], so a revoked
/// session stops receiving within that time of the next event.
fn events(
    app: &AppState,
    viewer: &Viewer,
) -> impl Stream<Item = Option<CaseEvent>> + Send + 'static {
    let session = viewer.user().map(|u| u.session_id);
    let state = (app.events.subscribe(), app.clone(), None::<Instant>);
    stream::unfold(state, move |(mut rx, app, checked)| async move {
        let event = match rx.recv().await {
            Ok(event) => Some(event),
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "a subscription fell behind and missed events");
                None
            }
            Err(RecvError::Closed) => return None,
        };
        let checked = match checked {
            Some(at) if at.elapsed() < SESSION_RECHECK => Some(at),
            _ => {
                if !session_live(&app, session).await {
                    return None;
                }
                Some(Instant::now())
            }
        };
        Some((event, (rx, app, checked)))
    })
}

/// How long a subscription trusts its last session check.
const SESSION_RECHECK: Duration = Duration::from_secs(30);

/// Whether `session` is still one a request could be made with: not revoked,
/// not past its absolute expiry, its user active. The idle expiry is not
/// applied: an open subscription is the client still being there. A database
/// error counts as live (the event checks that follow fail closed anyway).
async fn session_live(app: &AppState, session: Option<Uuid>) -> bool {
    let Some(id) = session else {
        return false;
    };
    let found = session::Entity::find_by_id(id)
        .find_also_related(user::Entity)
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::AbsoluteExpiresAt.gt(Utc::now()))
        .filter(user::Column::Status.eq(UserStatus::Active))
        .one(&app.db)
        .await;
    match found {
        Ok(found) => found.is_some(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot check a subscriber's session");
            true
        }
    }
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

/// The message, if `viewer` may see it (one query).
async fn visible_message(
    app: &AppState,
    viewer: &Viewer,
    id: Uuid,
) -> ApiResult<Option<MessagePostedEvent>> {
    let caller = caller(viewer)?;
    let found = message::Entity::find_by_id(id)
        .find_also_related(case::Entity)
        .filter(policy::cases::visible_to(caller))
        .filter(policy::messages::visible_to(caller))
        .one(&app.db)
        .await?;
    Ok(found.and_then(|(message, case)| {
        Some(MessagePostedEvent {
            message,
            case_reference: case?.reference,
        })
    }))
}

/// The task, if `viewer` may see it (one query).
async fn visible_task(
    app: &AppState,
    viewer: &Viewer,
    id: Uuid,
) -> ApiResult<Option<TaskChangedEvent>> {
    let caller = caller(viewer)?;
    let found = task::Entity::find_by_id(id)
        .find_also_related(case::Entity)
        .filter(policy::cases::visible_to(caller))
        .filter(policy::tasks::visible_to(caller))
        .one(&app.db)
        .await?;
    Ok(found.and_then(|(task, case)| {
        Some(TaskChangedEvent {
            task,
            case_reference: case?.reference,
        })
    }))
}

/// Whether `event` may change `viewer`'s unread counts: their own read
/// receipts, and a message that counts for them (one query; the narrowing
/// of staff counts to the cases they own is left to the recount, whose
/// unchanged result is not sent).
async fn concerns(app: &AppState, viewer: &Viewer, event: &CaseEvent) -> bool {
    let Ok(caller) = caller(viewer) else {
        return false;
    };
    match event {
        CaseEvent::MessagesRead { user_id, .. } => *user_id == caller.user_id,
        CaseEvent::TaskChanged { .. } => false,
        CaseEvent::MessagePosted { message_id, .. } => {
            let found = message::Entity::find_by_id(*message_id)
                .find_also_related(case::Entity)
                .filter(policy::cases::visible_to(caller))
                .filter(policy::messages::notable_to(caller))
                .one(&app.db)
                .await;
            logged(found.map_err(Into::into)).is_some()
        }
    }
}

/// `viewer`'s unread counts per case, exactly as the `unreadCounts` query
/// computes them (one grouped query).
async fn unread_counts(app: &AppState, viewer: &Viewer) -> ApiResult<HashMap<Uuid, i64>> {
    let caller: Caller = caller(viewer)?;
    casework::messages::unread_counts(&app.db, caller, None).await
}

/// The counts in the query's shape (cases ordered by id, like the query).
fn to_graphql(counts: &HashMap<Uuid, i64>) -> UnreadCounts {
    let mut by_case: Vec<CaseUnread> = counts
        .iter()
        .map(|(id, n)| CaseUnread {
            case_id: gid(*id),
            count: *n,
        })
        .collect();
    by_case.sort_by(|a, b| a.case_id.as_str().cmp(b.case_id.as_str()));
    UnreadCounts {
        total: counts.values().sum(),
        by_case,
    }
}
