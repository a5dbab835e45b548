//! The `deliver_webhook` job: one event to one endpoint, one HTTP request
//! per run, following the Standard Webhooks specification.
//!
//! Each run loads the delivery, its event and its endpoint, and stops if the
//! delivery is no longer `PENDING` (it succeeded or ran out of retries, so a
//! job run twice sends nothing twice) or the endpoint was disabled or
//! deleted. Otherwise it POSTs
//! `{"type", "version", "id", "timestamp", "data"}` with the headers
//! `webhook-id` (the event id: the same for every attempt and every
//! redelivery of that event, so a receiver can drop duplicates),
//! `webhook-timestamp` (unix seconds of this attempt), `webhook-signature`
//! (see [`super::signing`]), `content-type: application/json` and a
//! `user-agent`, then records the attempt, the delivery's new state, the
//! endpoint's `failing_since`, and the next attempt's job, **in one
//! transaction**.
//!
//! A 2xx answer within the timeout is success; anything else (another
//! status, a refused or timed-out connection, a private address at connect
//! time, a redirect, which is never followed) is a failed attempt, retried
//! on this schedule ([`RETRY_DELAYS`]), each delay ±10 % at random so that
//! the retries of an outage do not arrive together:
//!
//! | after attempt | 1 | 2 | 3 | 4 | 5 | 6 | 7 |
//! |---|---|---|---|---|---|---|---|
//! | next attempt in | 5 s | 5 min | 30 min | 2 h | 5 h | 10 h | 10 h |
//!
//! That is 8 attempts over about 27.6 hours; after the 8th failure the
//! delivery is `FAILED` (it can still be redelivered by hand). The retry is
//! a new outbox job at the due time, not the outbox's own retry: the
//! outbox's retries are for this job failing (the database down), and
//! stay short.
//!
//! **Disabling.** An endpoint's `failing_since` is set by its first failed
//! attempt and cleared by any success. A failed attempt that finds the
//! endpoint failing for `PORTAL_WEBHOOK_DISABLE_AFTER_HOURS` disables it
//! (`disabled_reason`) and emails the organisation's administrators
//! (active landlord users with `MANAGE_USERS` or `MANAGE_WEBHOOKS`), once:
//! the update is conditional on the endpoint being enabled.
//!
//! **Concurrency.** Each worker process lets at most
//! `PORTAL_WEBHOOK_ENDPOINT_CONCURRENCY` deliveries to one endpoint run at
//! once. A job that finds its endpoint's slots full does not wait (it would
//! hold a worker slot doing nothing, and a slow endpoint would soon hold
//! them all): it re-enqueues itself a second or two later and ends.
//!
//! **At least once.** A worker killed mid-request commits nothing: the job's
//! lease lapses, the relay hands the job over again, and the next run sends
//! the same event with the same `webhook-id`.
//!
//! **Safety.** The client resolves names with
//! [`super::address::FilteringResolver`] (a name that now resolves to a
//! private address is refused, against DNS rebinding), checks a literal IP
//! host itself, follows no redirect, uses no proxy from the environment, and
//! reads at most [`READ_LIMIT`] of the answer, keeping [`EXCERPT_LIMIT`] of
//! it in the log.

use std::{
    collections::HashMap,
    sync::{Arc, LazyLock, Mutex},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use rand::Rng as _;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use uuid::Uuid;

use entities::{
    Permission, UserKind, UserStatus, WebhookDeliveryStatus, user, user_permission,
    webhook_attempt, webhook_delivery, webhook_endpoint, webhook_event,
};
use platform::config::WebhookConfig;
use worker::{
    job::{Attempt, Job, JobError},
    outbox,
};

use super::{address, signing};
use crate::{
    jobs::JobContext,
    notifications::{self, Recipient, templates::EmailTemplate},
};

/// Delays before the 2nd, 3rd, ... attempt; the 8th failure is final.
pub const RETRY_DELAYS: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// Most attempts of one delivery.
pub const MAX_ATTEMPTS: i32 = RETRY_DELAYS.len() as i32 + 1;

/// Most bytes of an answer read (the rest is not downloaded).
pub const READ_LIMIT: usize = 64 * 1024;

/// Most bytes of an answer kept in the delivery log.
pub const EXCERPT_LIMIT: usize = 1024;

/// Sent as `user-agent`.
pub const USER_AGENT: &str = concat!("portal-webhooks/", env!("CARGO_PKG_VERSION"));

/// Delivers one event to one endpoint (one attempt per run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliverWebhook {
    /// The `webhook_deliveries` row.
    pub delivery_id: Uuid,
}

impl Job for DeliverWebhook {
    type Context = JobContext;
    const JOB_NAME: &'static str = "deliver_webhook";
    /// Failures of the request are retried by the delivery's own schedule;
    /// these attempts are for the job itself failing (the database down).
    const MAX_ATTEMPTS: i32 = 5;
    /// Above the longest request (`PORTAL_WEBHOOK_TIMEOUT_SECS`, at most
    /// 60 s) plus the database work.
    const TIMEOUT: Duration = Duration::from_secs(90);

    async fn run(&self, ctx: Arc<JobContext>, _attempt: Attempt) -> Result<(), JobError> {
        deliver(&ctx, self.delivery_id).await
    }
}

/// What one request produced.
#[derive(Debug, Default)]
struct Answer {
    status_code: Option<i32>,
    excerpt: Option<String>,
    error: Option<String>,
}

impl Answer {
    fn succeeded(&self) -> bool {
        self.error.is_none() && self.status_code.is_some_and(|s| (200..300).contains(&s))
    }
}

async fn deliver(ctx: &JobContext, delivery_id: Uuid) -> Result<(), JobError> {
    let db = &ctx.db;
    let settings = &ctx.config.webhooks;
    let Some(delivery) = webhook_delivery::Entity::find_by_id(delivery_id)
        .one(db)
        .await?
    else {
        return Ok(()); // pruned, or its endpoint deleted
    };
    if delivery.status != WebhookDeliveryStatus::Pending {
        return Ok(());
    }
    let (Some(event), Some(endpoint)) = (
        webhook_event::Entity::find_by_id(delivery.event_id)
            .one(db)
            .await?,
        webhook_endpoint::Entity::find_by_id(delivery.endpoint_id)
            .one(db)
            .await?,
    ) else {
        return Ok(());
    };
    if !endpoint.enabled {
        // Redelivery after re-enabling makes a new job; this one is moot.
        webhook_delivery::Entity::update_many()
            .col_expr(
                webhook_delivery::Column::Status,
                Expr::value(WebhookDeliveryStatus::Failed.as_str()),
            )
            .col_expr(webhook_delivery::Column::UpdatedAt, Expr::value(Utc::now()))
            .col_expr(
                webhook_delivery::Column::NextAttemptAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(webhook_delivery::Column::Id.eq(delivery.id))
            .filter(webhook_delivery::Column::Status.eq(WebhookDeliveryStatus::Pending))
            .exec(db)
            .await?;
        return Ok(());
    }
    let Some(_slot) = endpoint_slot(endpoint.id, settings.endpoint_concurrency) else {
        let later =
            Utc::now() + chrono::Duration::milliseconds(rand::thread_rng().gen_range(1000..2000));
        outbox::enqueue_at(
            db,
            &DeliverWebhook {
                delivery_id: delivery.id,
            },
            later,
        )
        .await?;
        metrics::counter!("portal_webhook_deferred_total").increment(1);
        return Ok(());
    };

    let key = signing::ServerKey::load(&ctx.config)
        .map_err(|e| JobError::Retry(format!("webhook server key: {e:#}")))?;
    let now = Utc::now();
    let mut secrets = vec![
        signing::open(&key, &endpoint.secret_sealed)
            .map_err(|e| JobError::Retry(format!("endpoint {}: {e}", endpoint.id)))?,
    ];
    if let (Some(previous), Some(until)) = (
        &endpoint.previous_secret_sealed,
        endpoint.previous_secret_expires_at,
    ) && until > now
        && let Ok(previous) = signing::open(&key, previous)
    {
        secrets.push(previous);
    }
    let body = payload(&event);
    let msg_id = event.id.to_string();
    let timestamp = now.timestamp();
    let secret_refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let signature = signing::signature_header(&secret_refs, &msg_id, timestamp, &body)
        .map_err(|e| JobError::Retry(format!("endpoint {}: {e}", endpoint.id)))?;

    let started = Instant::now();
    let answer = post(
        settings,
        &endpoint.url,
        &msg_id,
        timestamp,
        &signature,
        body,
    )
    .await;
    let latency_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    metrics::histogram!("portal_webhook_request_seconds").record(started.elapsed().as_secs_f64());
    record(ctx, &delivery, &endpoint, now, latency_ms, answer).await
}

/// The JSON body: the same bytes for every attempt of one event.
pub fn payload(event: &webhook_event::Model) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "type": event.event_type.as_str(),
        "version": event.version,
        "id": event.id,
        "timestamp": event.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": event.data,
    }))
    .unwrap_or_default()
}

/// Writes the attempt, the delivery's state, the endpoint's failure clock
/// and the next attempt's job together.
async fn record(
    ctx: &JobContext,
    delivery: &webhook_delivery::Model,
    endpoint: &webhook_endpoint::Model,
    started_at: DateTime<Utc>,
    latency_ms: i32,
    answer: Answer,
) -> Result<(), JobError> {
    let settings = &ctx.config.webhooks;
    let ok = answer.succeeded();
    let attempt = delivery.attempts + 1;
    let now = Utc::now();
    let txn = platform::db::begin_write(&ctx.db).await?;
    webhook_attempt::ActiveModel {
        id: Set(Uuid::now_v7()),
        delivery_id: Set(delivery.id),
        attempt: Set(attempt),
        started_at: Set(started_at),
        status_code: Set(answer.status_code),
        latency_ms: Set(Some(latency_ms)),
        response_excerpt: Set(answer.excerpt.clone()),
        error: Set(answer.error.clone()),
    }
    .insert(&txn)
    .await?;
    let next_at = (!ok && attempt < MAX_ATTEMPTS).then(|| now + retry_delay(attempt));
    let status = match (ok, next_at) {
        (true, _) => WebhookDeliveryStatus::Succeeded,
        (false, Some(_)) => WebhookDeliveryStatus::Pending,
        (false, None) => WebhookDeliveryStatus::Failed,
    };
    // Conditional on the state read before the request, so that two runs
    // of one job (a lapsed lease) cannot both record an outcome.
    let updated = webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::Status,
            Expr::value(status.as_str()),
        )
        .col_expr(webhook_delivery::Column::Attempts, Expr::value(attempt))
        .col_expr(
            webhook_delivery::Column::NextAttemptAt,
            Expr::value(next_at),
        )
        .col_expr(
            webhook_delivery::Column::LastStatusCode,
            Expr::value(answer.status_code),
        )
        .col_expr(webhook_delivery::Column::UpdatedAt, Expr::value(now))
        .filter(webhook_delivery::Column::Id.eq(delivery.id))
        .filter(webhook_delivery::Column::Attempts.eq(delivery.attempts))
        .filter(webhook_delivery::Column::Status.eq(WebhookDeliveryStatus::Pending))
        .exec(&txn)
        .await?;
    if updated.rows_affected == 0 {
        // Another run got there first; keep its record, not this one.
        txn.rollback().await?;
        return Ok(());
    }
    if let Some(at) = next_at {
        outbox::enqueue_at(
            &txn,
            &DeliverWebhook {
                delivery_id: delivery.id,
            },
            at,
        )
        .await?;
    }
    if ok {
        if endpoint.failing_since.is_some() {
            webhook_endpoint::Entity::update_many()
                .col_expr(
                    webhook_endpoint::Column::FailingSince,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .filter(webhook_endpoint::Column::Id.eq(endpoint.id))
                .exec(&txn)
                .await?;
        }
    } else {
        webhook_endpoint::Entity::update_many()
            .col_expr(webhook_endpoint::Column::FailingSince, Expr::value(now))
            .filter(webhook_endpoint::Column::Id.eq(endpoint.id))
            .filter(webhook_endpoint::Column::FailingSince.is_null())
            .exec(&txn)
            .await?;
        let disable_after =
            chrono::Duration::from_std(settings.disable_after).unwrap_or(chrono::Duration::days(3));
        if endpoint
            .failing_since
            .is_some_and(|since| now - since >= disable_after)
        {
            disable(&txn, ctx, endpoint, now, &answer).await?;
        }
    }
    txn.commit().await?;
    metrics::counter!(
        "portal_webhook_attempts_total",
        "outcome" => if ok { "succeeded" } else { "failed" }
    )
    .increment(1);
    Ok(())
}

/// Disables a failing endpoint and emails its organisation's
/// administrators, once.
async fn disable(
    txn: &impl ConnectionTrait,
    ctx: &JobContext,
    endpoint: &webhook_endpoint::Model,
    now: DateTime<Utc>,
    answer: &Answer,
) -> Result<(), JobError> {
    let hours = ctx.config.webhooks.disable_after.as_secs() / 3600;
    let reason = format!(
        "every delivery failed for {hours} hours (last: {})",
        answer
            .status_code
            .map(|c| format!("HTTP {c}"))
            .or_else(|| answer.error.clone())
            .unwrap_or_else(|| "no answer".into())
    );
    let disabled = webhook_endpoint::Entity::update_many()
        .col_expr(webhook_endpoint::Column::Enabled, Expr::value(false))
        .col_expr(
            webhook_endpoint::Column::DisabledReason,
            Expr::value(reason.clone()),
        )
        .col_expr(webhook_endpoint::Column::DisabledAt, Expr::value(now))
        .col_expr(webhook_endpoint::Column::UpdatedAt, Expr::value(now))
        .filter(webhook_endpoint::Column::Id.eq(endpoint.id))
        .filter(webhook_endpoint::Column::Enabled.eq(true))
        .exec(txn)
        .await?;
    if disabled.rows_affected == 0 {
        return Ok(());
    }
    tracing::warn!(endpoint = %endpoint.id, organisation = %endpoint.organisation_id, "webhook endpoint disabled after repeated failure");
    metrics::counter!("portal_webhook_endpoints_disabled_total").increment(1);
    let admin_ids: Vec<Uuid> = user_permission::Entity::find()
        .filter(
            user_permission::Column::Permission
                .is_in([Permission::ManageUsers, Permission::ManageWebhooks]),
        )
        .all(txn)
        .await?
        .into_iter()
        .map(|p| p.user_id)
        .collect();
    let admins = user::Entity::find()
        .filter(user::Column::OrganisationId.eq(endpoint.organisation_id))
        .filter(user::Column::Kind.eq(UserKind::Landlord))
        .filter(user::Column::Status.eq(UserStatus::Active))
        .filter(user::Column::Id.is_in(admin_ids))
        .all(txn)
        .await?;
    for admin in admins {
        notifications::queue_email(
            txn,
            &Recipient {
                address: admin.email.clone(),
                user_id: Some(admin.id),
            },
            EmailTemplate::WebhookEndpointDisabled,
            serde_json::json!({
                "first_name": admin.first_name,
                "endpoint_id": endpoint.id,
                "endpoint_host": url::Url::parse(&endpoint.url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned))
                    .unwrap_or_default(),
                "hours": hours,
                "reason": reason,
            }),
        )
        .await?;
    }
    Ok(())
}

/// The delay after failed attempt `attempt` (1-based), ±10 %.
pub fn retry_delay(attempt: i32) -> chrono::Duration {
    let index = usize::try_from(attempt - 1)
        .unwrap_or(0)
        .min(RETRY_DELAYS.len() - 1);
    let base = RETRY_DELAYS[index].mul_f64(rand::thread_rng().gen_range(0.9..=1.1));
    chrono::Duration::from_std(base).unwrap_or(chrono::Duration::hours(10))
}

/// Slots of each endpoint in this process. Entries are never removed: a
/// few bytes per endpoint that ever received a delivery.
static SLOTS: LazyLock<Mutex<HashMap<Uuid, Arc<Semaphore>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// One of the endpoint's slots, or `None` when all are taken.
fn endpoint_slot(endpoint: Uuid, limit: usize) -> Option<tokio::sync::OwnedSemaphorePermit> {
    let semaphore = SLOTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .entry(endpoint)
        .or_insert_with(|| Arc::new(Semaphore::new(limit.max(1))))
        .clone();
    semaphore.try_acquire_owned().ok()
}

/// The delivery clients, one per (allow private, timeout): building one
/// loads the TLS roots, so it is done once, not per request.
static CLIENTS: LazyLock<Mutex<HashMap<(bool, Duration), reqwest::Client>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn client(settings: &WebhookConfig) -> Result<reqwest::Client, String> {
    let key = (settings.allow_private, settings.timeout);
    let mut clients = CLIENTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(client) = clients.get(&key) {
        return Ok(client.clone());
    }
    let client = build_client(
        settings,
        address::FilteringResolver::system(settings.allow_private),
    )?;
    clients.insert(key, client.clone());
    Ok(client)
}

/// The delivery client, resolving names with `resolver`.
fn build_client(
    settings: &WebhookConfig,
    resolver: address::FilteringResolver,
) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(resolver))
        .connect_timeout(settings.timeout)
        .timeout(settings.timeout)
        .pool_max_idle_per_host(settings.endpoint_concurrency)
        .user_agent(USER_AGENT)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// Sends one request with the delivery client; every failure is an
/// [`Answer`] with an error.
async fn post(
    settings: &WebhookConfig,
    url: &str,
    msg_id: &str,
    timestamp: i64,
    signature: &str,
    body: Vec<u8>,
) -> Answer {
    match client(settings) {
        Ok(client) => post_with(&client, settings, url, msg_id, timestamp, signature, body).await,
        Err(e) => Answer {
            error: Some(e),
            ..Answer::default()
        },
    }
}

/// Sends one request with `client`.
async fn post_with(
    client: &reqwest::Client,
    settings: &WebhookConfig,
    url: &str,
    msg_id: &str,
    timestamp: i64,
    signature: &str,
    body: Vec<u8>,
) -> Answer {
    let failed = |error: String| Answer {
        error: Some(error),
        ..Answer::default()
    };
    let policy = address::UrlPolicy::from_config(settings);
    let url = match address::check_syntax(url, &policy)
        .and_then(|url| address::literal_allowed(&url, policy.allow_private).map(|()| url))
    {
        Ok(url) => url,
        Err(refusal) => return failed(format!("refused: {refusal}")),
    };
    let response = client
        .post(url)
        .header("webhook-id", msg_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await;
    let mut response = match response {
        Ok(response) => response,
        Err(e) => return failed(describe(&e)),
    };
    let status = response.status();
    let mut read = Vec::new();
    let mut error = None;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = READ_LIMIT - read.len();
                read.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if read.len() >= READ_LIMIT {
                    break; // the rest is never downloaded
                }
            }
            Ok(None) => break,
            Err(e) => {
                error = Some(describe(&e));
                break;
            }
        }
    }
    if status.is_redirection() {
        error = Some(format!(
            "redirect to {} not followed",
            response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .unwrap_or("?")
        ));
    }
    Answer {
        status_code: Some(i32::from(status.as_u16())),
        excerpt: Some(excerpt(&read)).filter(|e| !e.is_empty()),
        // A 2xx whose body broke off is still a 2xx: the receiver has it.
        error: error.filter(|_| !status.is_success()),
    }
}

/// At most [`EXCERPT_LIMIT`] bytes of the answer, cut at a character
/// boundary, invalid UTF-8 replaced.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT_LIMIT + 4)]);
    let mut end = text.len().min(EXCERPT_LIMIT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// An error in words for the delivery log, with its cause (a refused
/// address, a timeout), without the URL (already on the endpoint).
fn describe(error: &reqwest::Error) -> String {
    // Refused by the resolver (a name that now resolves to a private
    // address): said as plainly as the refusals before connecting.
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(refusal) = cause.downcast_ref::<address::UrlRefusal>() {
            return format!("refused at connect time: {refusal}");
        }
        source = cause.source();
    }
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    causes.dedup();
    if causes.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {}", causes.join(": "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retry_schedule_lasts_about_a_day() {
        let total: Duration = RETRY_DELAYS.iter().sum();
        assert!(total > Duration::from_secs(24 * 3600), "{total:?}");
        assert!(total < Duration::from_secs(30 * 3600), "{total:?}");
        assert!(RETRY_DELAYS.windows(2).all(|w| w[0] <= w[1]));
        for attempt in 1..=7 {
            let d = retry_delay(attempt).to_std().unwrap();
            let base = RETRY_DELAYS[attempt as usize - 1];
            assert!(d >= base.mul_f64(0.9) && d <= base.mul_f64(1.1), "{d:?}");
        }
    }

    #[test]
    fn excerpts_are_bounded_and_cut_at_a_character() {
        assert_eq!(excerpt(b"ok"), "ok");
        let long = "é".repeat(2000);
        let cut = excerpt(long.as_bytes());
        assert!(cut.len() <= EXCERPT_LIMIT);
        assert!(cut.chars().all(|c| c == 'é'));
        assert_eq!(excerpt(&[0xff, b'a']), "\u{fffd}a");
    }

    #[test]
    fn slots_are_bounded_per_endpoint() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let first = endpoint_slot(a, 2).unwrap();
        let _second = endpoint_slot(a, 2).unwrap();
        assert!(endpoint_slot(a, 2).is_none());
        assert!(
            endpoint_slot(b, 2).is_some(),
            "another endpoint is not held up"
        );
        drop(first);
        assert!(endpoint_slot(a, 2).is_some());
    }

    /// Names the test's fake DNS answers with loopback.
    struct Rebinding;

    impl address::Lookup for Rebinding {
        fn lookup(
            &self,
            _host: String,
        ) -> std::pin::Pin<
            Box<dyn Future<Output = std::io::Result<Vec<std::net::SocketAddr>>> + Send>,
        > {
            Box::pin(async { Ok(vec!["127.0.0.1:0".parse().unwrap()]) })
        }
    }

    fn settings(allow_private: bool) -> WebhookConfig {
        WebhookConfig {
            allow_private,
            allow_http: true,
            timeout: Duration::from_secs(5),
            endpoint_concurrency: 1,
            disable_after: Duration::from_secs(3600),
            log_retention: Duration::from_secs(3600),
            max_endpoints: 10,
            secret_key: None,
        }
    }

    /// A loopback receiver answering `200 ok` to every request; counts the
    /// connections it accepted.
    async fn receiver() -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut buf = vec![0u8; 64 * 1024];
                let mut read = 0;
                while !buf[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf[read..]).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => read += n,
                    }
                }
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
            }
        });
        (port, accepted)
    }

    /// A name that passed the creation check and now resolves to loopback
    /// (DNS rebinding): the delivery client refuses it before connecting,
    /// and says so; the same client with the operator setting connects.
    #[tokio::test]
    async fn a_name_rebound_to_loopback_is_refused_at_connect_time() {
        let (port, accepted) = receiver().await;
        let url = format!("http://hooks.partner.example:{port}/hook");
        let strict = settings(false);
        let client = build_client(
            &strict,
            address::FilteringResolver::with_lookup(false, Arc::new(Rebinding)),
        )
        .unwrap();
        let answer = post_with(&client, &strict, &url, "msg_1", 0, "v1,x", b"{}".to_vec()).await;
        assert!(!answer.succeeded());
        assert_eq!(answer.status_code, None);
        let error = answer.error.unwrap();
        assert_eq!(
            error,
            "refused at connect time: the URL points at a private or reserved address (127.0.0.1)"
        );
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 0);

        let open = settings(true);
        let client = build_client(
            &open,
            address::FilteringResolver::with_lookup(true, Arc::new(Rebinding)),
        )
        .unwrap();
        let answer = post_with(&client, &open, &url, "msg_1", 0, "v1,x", b"{}".to_vec()).await;
        assert_eq!(answer.status_code, Some(200), "{answer:?}");
        assert!(answer.succeeded());
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
