//! Live-update events of casework, fanned out to GraphQL subscriptions.
//!
//! A mutation publishes an event after its transaction commits; every API
//! instance's subscribers receive it and each decides, through the case
//! policy, whether its user may see it. Events carry ids only, never data, so
//! a subscriber always reads what it shows through the same authorization as
//! any query.
//!
//! Embedded, the bus is an in-process broadcast channel. With Redis
//! ([`EventBus::with_redis`]) it is also bridged through Redis pub/sub, so an
//! event raised on one API instance reaches subscribers on another:
//!
//! - **Channel.** `<PORTAL_QUEUE_NAME>:events`, so deployments (and test runs)
//!   sharing one Redis stay apart, exactly like their job queues.
//! - **Publishing** is fire-and-forget from the caller's point of view
//!   ([`EventBus::publish`] is synchronous, called after a commit): the event
//!   is delivered locally at once and handed to a background task that
//!   `PUBLISH`es it, in order, over a multiplexed connection. A full hand-off
//!   queue or an unreachable Redis drops the remote copy (logged): live updates
//!   are a convenience, the data is always one query away.
//! - **Receiving.** A background task holds a Redis `SUBSCRIBE` and
//!   re-broadcasts every event from *another* instance locally. Each event
//!   travels with the publishing instance's id, so an instance does not deliver
//!   its own events twice. A lost connection is re-established with
//!   exponential backoff (100 ms to 10 s); events published meanwhile are
//!   missed, as with any pub/sub.
//! - **Lifetime.** Both tasks end when the last [`EventBus`] clone is dropped.

use std::{sync::Arc, time::Duration};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc, watch};
use uuid::Uuid;

/// Something changed on a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CaseEvent {
    /// A message (staff message or reply) was posted on a case.
    MessagePosted {
        /// The case.
        case_id: Uuid,
        /// The message.
        message_id: Uuid,
    },
    /// A task was created or changed.
    TaskChanged {
        /// The case.
        case_id: Uuid,
        /// The task.
        task_id: Uuid,
    },
    /// A user read messages (their unread counts changed).
    MessagesRead {
        /// Who read them.
        user_id: Uuid,
        /// On which case.
        case_id: Uuid,
    },
}

impl CaseEvent {
    /// The case the event is about.
    pub fn case_id(&self) -> Uuid {
        match self {
            Self::MessagePosted { case_id, .. }
            | Self::TaskChanged { case_id, .. }
            | Self::MessagesRead { case_id, .. } => *case_id,
        }
    }
}

/// What travels on the Redis channel: the event and the instance that raised it.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    /// The publishing [`EventBus`]'s instance id.
    origin: Uuid,
    event: CaseEvent,
}

/// Events waiting to be published to Redis. Beyond this the remote copy is
/// dropped rather than making `publish` wait or grow memory without bound.
const REDIS_BACKLOG: usize = 4096;
/// First and longest wait before re-subscribing after a lost connection.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// Publishes and subscribes to [`CaseEvent`]s.
#[derive(Clone)]
pub struct EventBus {
    /// Local subscribers (this process's GraphQL subscriptions).
    local: broadcast::Sender<CaseEvent>,
    /// This instance, as written on the events it sends to Redis.
    instance: Uuid,
    /// Hand-off to the Redis publisher task; `None` when in-process only.
    remote: Option<mpsc::Sender<CaseEvent>>,
    /// Whether the Redis subscription is currently established (always
    /// `true` in process).
    bridged: watch::Receiver<bool>,
    /// Keeps the watch sender alive for in-process buses.
    _bridged_tx: Option<Arc<watch::Sender<bool>>>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    /// An in-process bus.
    pub fn new() -> Self {
        // Subscribers that fall this far behind miss events (they are told
        // `Lagged` and resynchronise by querying); the sender never blocks.
        let (local, _) = broadcast::channel(1024);
        let (tx, bridged) = watch::channel(true);
        Self {
            local,
            instance: Uuid::new_v4(),
            remote: None,
            bridged,
            _bridged_tx: Some(Arc::new(tx)),
        }
    }

    /// A bus bridged through Redis pub/sub on `channel` (see the module docs).
    /// Must be called inside a Tokio runtime: it spawns the publisher and the
    /// subscriber tasks. It does not wait for Redis; see [`Self::bridged`].
    pub fn with_redis(client: redis::Client, channel: String) -> Self {
        let (local, _) = broadcast::channel(1024);
        let instance = Uuid::new_v4();
        let (remote, outgoing) = mpsc::channel(REDIS_BACKLOG);
        let (bridged_tx, bridged) = watch::channel(false);
        tokio::spawn(publish_to_redis(
            client.clone(),
            channel.clone(),
            instance,
            outgoing,
        ));
        tokio::spawn(relay_from_redis(
            client,
            channel,
            instance,
            local.downgrade(),
            bridged_tx,
        ));
        Self {
            local,
            instance,
            remote: Some(remote),
            bridged,
            _bridged_tx: None,
        }
    }

    /// This instance's id (as written on the events it sends to Redis).
    pub fn instance(&self) -> Uuid {
        self.instance
    }

    /// Publishes an event (after the transaction that caused it committed).
    pub fn publish(&self, event: CaseEvent) {
        if let Some(remote) = &self.remote
            && let Err(e) = remote.try_send(event.clone())
        {
            tracing::warn!(error = %e, "event not sent to Redis: other instances miss it");
        }
        // No subscriber is not an error.
        let _ = self.local.send(event);
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<CaseEvent> {
        self.local.subscribe()
    }

    /// How many local receivers there are (one per live subscription).
    pub fn subscriber_count(&self) -> usize {
        self.local.receiver_count()
    }

    /// Waits until the Redis subscription is established (at once in process),
    /// so that events other instances publish from now on arrive here.
    pub async fn bridged(&self) {
        let mut bridged = self.bridged.clone();
        // The sender lives as long as the relay task, which lives as long as
        // this bus; an error cannot happen while `self` exists.
        let _ = bridged.wait_for(|up| *up).await;
    }
}

/// Sends this instance's events to Redis, in order, until the bus is dropped.
async fn publish_to_redis(
    client: redis::Client,
    channel: String,
    instance: Uuid,
    mut outgoing: mpsc::Receiver<CaseEvent>,
) {
    let mut conn = None;
    while let Some(event) = outgoing.recv().await {
        let payload = match serde_json::to_string(&Envelope {
            origin: instance,
            event,
        }) {
            Ok(payload) => payload,
            Err(e) => {
                tracing::error!(error = %e, "cannot serialise an event");
                continue;
            }
        };
        // One retry on a fresh connection; beyond that the event is dropped
        // (logged) rather than holding up every later one.
        for attempt in 0..2 {
            if conn.is_none() {
                conn = client.get_multiplexed_async_connection().await.ok();
            }
            let Some(c) = conn.as_mut() else { continue };
            let sent: redis::RedisResult<i64> = redis::cmd("PUBLISH")
                .arg(&channel)
                .arg(&payload)
                .query_async(c)
                .await;
            match sent {
                Ok(_) => break,
                Err(e) => {
                    conn = None;
                    if attempt == 1 {
                        tracing::warn!(error = %e, "event not published to Redis");
                    }
                }
            }
        }
    }
}

/// Re-broadcasts other instances' events locally until the bus is dropped,
/// re-subscribing with backoff whenever the connection is lost.
async fn relay_from_redis(
    client: redis::Client,
    channel: String,
    instance: Uuid,
    local: broadcast::WeakSender<CaseEvent>,
    bridged: watch::Sender<bool>,
) {
    let mut backoff = BACKOFF_MIN;
    loop {
        if local.strong_count() == 0 {
            return;
        }
        let subscribed = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            redis::RedisResult::Ok(pubsub)
        }
        .await;
        match subscribed {
            Ok(pubsub) => {
                backoff = BACKOFF_MIN;
                bridged.send_replace(true);
                tracing::debug!(%channel, "subscribed to Redis events");
                let mut messages = pubsub.into_on_message();
                // The stream ends when the connection is lost. A bus dropped
                // while Redis is quiet is noticed at the next message or
                // after a minute, whichever comes first.
                loop {
                    let next = tokio::time::timeout(Duration::from_secs(60), messages.next()).await;
                    let Some(sender) = local.upgrade() else {
                        return;
                    };
                    match next {
                        Err(_) => continue,
                        Ok(None) => break,
                        Ok(Some(message)) => {
                            match serde_json::from_slice::<Envelope>(message.get_payload_bytes()) {
                                Ok(envelope) if envelope.origin != instance => {
                                    let _ = sender.send(envelope.event);
                                }
                                Ok(_) => {}
                                Err(e) => {
                                    tracing::warn!(error = %e, "ignoring a malformed event from Redis");
                                }
                            }
                        }
                    }
                }
                bridged.send_replace(false);
                tracing::warn!(%channel, "lost the Redis events subscription; reconnecting");
            }
            Err(e) => {
                tracing::warn!(error = %e, wait_ms = backoff.as_millis() as u64, "cannot subscribe to Redis events; retrying");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_in_process_bus_delivers_to_every_subscriber() {
        let bus = EventBus::new();
        bus.bridged().await;
        let mut a = bus.subscribe();
        let mut b = bus.clone().subscribe();
        let event = CaseEvent::TaskChanged {
            case_id: Uuid::nil(),
            task_id: Uuid::nil(),
        };
        bus.publish(event.clone());
        assert_eq!(a.recv().await.unwrap(), event);
        assert_eq!(b.recv().await.unwrap(), event);
    }

    #[test]
    fn events_travel_as_tagged_json() {
        let json = serde_json::to_value(Envelope {
            origin: Uuid::nil(),
            event: CaseEvent::MessagesRead {
                user_id: Uuid::nil(),
                case_id: Uuid::nil(),
            },
        })
        .unwrap();
        assert_eq!(json["event"]["type"], "messages_read");
    }
}
