//! Live-update events of casework, fanned out to GraphQL subscriptions.
//!
//! A mutation publishes an event after its transaction commits; every API
//! instance's subscribers receive it and each decides, through the case
//! policy, whether its user may see it. Events carry ids only, never data, so
//! a subscriber always reads what it shows through the same authorization as
//! any query.
//!
//! Embedded, the bus is an in-process broadcast channel. With Redis it is
//! also bridged through Redis pub/sub, so an event raised on one API instance
//! reaches subscribers on another.

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
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

/// Publishes and subscribes to [`CaseEvent`]s.
#[derive(Clone)]
pub struct EventBus {
    local: broadcast::Sender<CaseEvent>,
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
        Self { local }
    }

    /// Publishes an event (after the transaction that caused it committed).
    pub fn publish(&self, event: CaseEvent) {
        // No subscriber is not an error.
        let _ = self.local.send(event);
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<CaseEvent> {
        self.local.subscribe()
    }
}
