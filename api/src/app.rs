//! Application state shared by every request.

use std::{ops::Deref, sync::Arc};

use metrics_exporter_prometheus::PrometheusHandle;
use platform::config::Config;
use sea_orm::DatabaseConnection;
use worker::queue::Queue;

/// Everything a request handler can reach.
pub struct App {
    /// Configuration, read once at startup.
    pub config: Arc<Config>,
    /// Database pool (SQLite or PostgreSQL).
    pub db: DatabaseConnection,
    /// The job queue; requests never push to it directly (they write the
    /// outbox), but `/readyz` checks it is reachable.
    pub queue: Queue,
    /// Documents, exports and uploaded CSVs.
    pub storage: platform::storage::Storage,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// Attempt counters for sign-in, codes and forgot-password.
    pub rate_limiter: crate::ratelimit::RateLimiter,
    /// Live-update events for subscriptions.
    pub events: crate::events::EventBus,
}

/// Cheaply cloneable handle on [`App`].
#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}
