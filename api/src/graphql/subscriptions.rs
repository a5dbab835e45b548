//! Live updates: GraphQL subscriptions over `/graphql/ws`.
//!
//! - `messagePosted`: messages posted that the caller may see
//!   ([`crate::policy::messages`]: on their cases, staff messages and their
//!   own side's replies; staff everything).
//! - `taskChanged`: tasks created or changed that the caller may see
//!   ([`crate::policy::tasks`]: for portal users the tasks assigned to them
//!   or their organisation, for staff every task) — the same tasks "My
//!   tasks" and a case's task list show.
//! - `unreadCounts`: the caller's unread counts, as the `unreadCounts` query
//!   answers them: at once, then again whenever they may have changed (a
//!   message they would count was posted, or they read messages on any
//!   connection), and only when they did change.
//!
//! Events carry ids only ([`crate::events`]). Every event is re-checked for
//! this subscriber with one database query (`casework::messages::find_posted`,
//! `casework::tasks::find_changed`), filtered through the case policy
//! ([`crate::policy::cases::visible`]) and the object's own policy, before
//! anything is sent: an event about a case the caller cannot see (any more)
//! is never delivered. The payload is the event's ids plus the object as the
//! queries show it (the same `Message` and `Task` types and resolvers), read
//! at delivery time.
//!
//! The caller is the one resolved at `connection_init` (its casework
//! [`Reader`]); an anonymous or API token connection gets `UNAUTHENTICATED` /
//! `FORBIDDEN` when it subscribes.
//! A subscription ends (`complete`) once its session is revoked or expires or
//! the user is no longer active, so signing out, "end this session" and
//! deactivation also stop live updates.

use std::{
    collections::HashMap,
    pin::Pin,
    time::{Duration, Instant},
};

use async_graphql::{Context, ErrorExtensions, ID, Object, Subscription};
use futures::{Stream, StreamExt, stream};
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use entities::{message, task};

use super::{
    ContextExt,
    cases::Case,
    loaders::CaseKey,
    messages::{Message, UnreadCounts},
    scalars::{NodeKind, global_id, parse_id},
    tasks::Task,
};
use crate::{app::AppState, casework, error::ApiResult, events::CaseEvent, policy::cases::Reader};

/// Root subscription type.
#[derive(Default)]
pub struct Subscription;

/// A message was posted on a case.
pub struct MessagePostedEvent {
    message: message::Model,
    case_reference: String,
}

/// A message was posted on a case I can see (yielded by `messagePosted`).
#[Object]
impl MessagePostedEvent {
    /// The message.
    async fn message_id(&self) -> ID {
        global_id(NodeKind::Message, self.message.id)
    }
    /// Its case.
    async fn case_id(&self) -> ID {
        global_id(NodeKind::Case, self.message.case_id)
    }
    /// The case reference, e.g. `202200046`.
    async fn case_reference(&self) -> &str {
        &self.case_reference
    }
    /// The message, as the queries show it.
    async fn message(&self) -> Message {
        Message(self.message.clone())
    }
    /// Its case, as the queries show it, through the loader (the event is
    /// only sent to readers who may see the case; null if it has since
    /// gone out of their sight).
    async fn case(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Case>> {
        Ok(ctx
            .load(CaseKey(self.message.case_id, ctx.reader()?))
            .await?
            .map(Case))
    }
}

/// A task was created or changed.
pub struct TaskChangedEvent {
    task: task::Model,
    case_reference: String,
}

/// A task was created or changed on a case I can see (yielded by
/// `taskChanged`).
#[Object]
impl TaskChangedEvent {
    /// The task.
    async fn task_id(&self) -> ID {
        global_id(NodeKind::Task, self.task.id)
    }
    /// Its case.
    async fn case_id(&self) -> ID {
        global_id(NodeKind::Case, self.task.case_id)
    }
    /// The case reference.
    async fn case_reference(&self) -> &str {
        &self.case_reference
    }
    /// The task, as the queries show it.
    async fn task(&self) -> Task {
        Task(self.task.clone())
    }
    /// Its case, as the queries show it, through the loader (the event is
    /// only sent to readers who may see the case; null if it has since
    /// gone out of their sight).
    async fn case(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Case>> {
        Ok(ctx
            .load(CaseKey(self.task.case_id, ctx.reader()?))
            .await?
            .map(Case))
    }
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = T> + Send>>;

/// Live updates over `GET /graphql/ws` (graphql-transport-ws or graphql-ws),
/// for what I can see: new messages, task changes and unread counts.
#[Subscription]
impl Subscription {
    /// Messages posted that the caller can see (optionally on one case).
    async fn message_posted(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this case's messages (default: every case I can see).")]
        case_id: Option<ID>,
    ) -> async_graphql::Result<BoxStream<MessagePostedEvent>> {
        let (app, reader, session) = subscriber(ctx)?;
        // A case id that names no case matches no event.
        let only = case_id.map(|id| parse_id(&id, NodeKind::Case).unwrap_or(Uuid::nil()));
        Ok(events(&app, session)
            .filter_map(move |event| {
                let app = app.clone();
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
                    logged(visible_message(&app, reader, message_id).await)
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
        #[graphql(desc = "Only this case's tasks (default: every case I can see).")]
        case_id: Option<ID>,
    ) -> async_graphql::Result<BoxStream<TaskChangedEvent>> {
        let (app, reader, session) = subscriber(ctx)?;
        // A case id that names no case matches no event.
        let only = case_id.map(|id| parse_id(&id, NodeKind::Case).unwrap_or(Uuid::nil()));
        Ok(events(&app, session)
            .filter_map(move |event| {
                let app = app.clone();
                async move {
                    let Some(CaseEvent::TaskChanged { case_id, task_id }) = event else {
                        return None;
                    };
                    if only.is_some_and(|only| only != case_id) {
                        return None;
                    }
                    logged(visible_task(&app, reader, task_id).await)
                }
            })
            .boxed())
    }

    /// The caller's unread counts: now, then whenever they may have changed.
    async fn unread_counts(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<BoxStream<UnreadCounts>> {
        let (app, reader, session) = subscriber(ctx)?;
        // `None`: the start; `Some(None)`: missed events (lagged); either way
        // the counts are recomputed.
        let triggers = stream::once(async { None }).chain(events(&app, session).map(Some));
        let mut last: Option<HashMap<Uuid, i64>> = None;
        Ok(triggers
            .filter_map(move |trigger| {
                let app = app.clone();
                async move {
                    if let Some(Some(event)) = trigger
                        && !concerns(&app, reader, &event).await
                    {
                        return None;
                    }
                    logged(
                        casework::messages::unread_counts(&app, reader)
                            .await
                            .map(Some),
                    )
                }
            })
            // Only changes are sent (a read receipt for messages already read
            // changes nothing).
            .filter_map(move |counts| {
                let changed = last.as_ref() != Some(&counts);
                last = Some(counts.clone());
                async move { changed.then(|| UnreadCounts::new(&counts)) }
            })
            .boxed())
    }
}

/// The application, the casework reader and the session of a
/// subscription, or the error that refuses it.
fn subscriber(ctx: &Context<'_>) -> async_graphql::Result<(AppState, Reader, Option<Uuid>)> {
    let reader = ctx.reader().map_err(|e| e.extend())?;
    let session = ctx.viewer().user().map(|u| u.session_id);
    Ok((ctx.app().clone(), reader, session))
}

/// Every event published from now on; `None` where the receiver fell behind
/// and missed some. The stream ends when the subscriber's session ends
/// (revoked, signed out, expired, or the user no longer active): checked at
/// the first event and then at most every [`SESSION_RECHECK`], so a revoked
/// session stops receiving within that time of the next event.
fn events(
    app: &AppState,
    session: Option<Uuid>,
) -> impl Stream<Item = Option<CaseEvent>> + Send + 'static {
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
                if !crate::identity::sessions::is_live(&app, session).await {
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

/// The message, if `reader` may see it (one query).
async fn visible_message(
    app: &AppState,
    reader: Reader,
    id: Uuid,
) -> ApiResult<Option<MessagePostedEvent>> {
    let found = casework::messages::find_posted(app, reader, id).await?;
    Ok(found.map(|(message, case)| MessagePostedEvent {
        message,
        case_reference: case.reference,
    }))
}

/// The task, if `reader` may see it (one query).
async fn visible_task(
    app: &AppState,
    reader: Reader,
    id: Uuid,
) -> ApiResult<Option<TaskChangedEvent>> {
    let found = casework::tasks::find_changed(app, reader, id).await?;
    Ok(found.map(|(task, case)| TaskChangedEvent {
        task,
        case_reference: case.reference,
    }))
}

/// Whether `event` may change `reader`'s unread counts: their own read
/// receipts, and a message that counts for them (one query; the narrowing
/// of staff counts to the cases they own is left to the recount, whose
/// unchanged result is not sent).
async fn concerns(app: &AppState, reader: Reader, event: &CaseEvent) -> bool {
    match event {
        CaseEvent::MessagesRead { user_id, .. } => *user_id == reader.user_id,
        CaseEvent::TaskChanged { .. } => false,
        CaseEvent::MessagePosted { message_id, .. } => {
            let notable = casework::messages::is_notable(app, reader, *message_id).await;
            logged(notable.map(|n| n.then_some(()))).is_some()
        }
    }
}
