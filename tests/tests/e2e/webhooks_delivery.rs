//! Webhook delivery against a real HTTP receiver on loopback, started by
//! each test: signatures a receiver can verify with the documented
//! algorithm, retries with growing delays, nothing sent for a rolled-back
//! change, redelivery with the same `webhook-id` after a worker dies
//! mid-request (in-process, and as a real worker process killed with
//! SIGKILL when PostgreSQL and Redis are configured), the private-address
//! refusal at connect time (also for a host name stored after creation),
//! redirects not
//! followed, huge answers cut, secret rotation, disabling a failing
//! endpoint (and the email), and one slow endpoint not holding up another.
//!
//! Events are written the way `webhooks::events::emit` writes them (event,
//! delivery, outbox job, in one transaction) by [`emit`] below, so these
//! tests depend only on the delivery side.

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use api::webhooks::{deliver::DeliverWebhook, signing};
use axum::{
    body::Bytes,
    http::{HeaderMap, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use chrono::Utc;
use entities::{
    JobStatus, Permission, WebhookDeliveryStatus, WebhookEventType, outbox_job, webhook_attempt,
    webhook_delivery, webhook_endpoint, webhook_event,
};
use hmac::{Hmac, Mac};
use portal_tests::TestApp;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::time::Instant;
use uuid::Uuid;
use worker::{job::Job as _, outbox, runner::Relay};

// ---------------------------------------------------------------- receiver

/// How the receiver answers one request.
#[derive(Debug, Clone)]
enum Reply {
    Status(u16),
    Redirect(&'static str),
    /// 500 with this many bytes of body.
    Huge(usize),
    /// Waits, then 200.
    Slow(Duration),
    /// Holds the request open, answering nothing, until
    /// [`Receiver::release`] (then 200).
    Hold,
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Bytes,
    at: Instant,
}

struct ReceiverState {
    script: Mutex<VecDeque<Reply>>,
    requests: Mutex<Vec<Received>>,
    /// Permits for held requests to end ([`Reply::Hold`]).
    released: tokio::sync::Semaphore,
}

/// A webhook receiver on 127.0.0.1: records every request and answers
/// with the next scripted [`Reply`] (200 when the script is empty).
struct Receiver {
    addr: SocketAddr,
    state: Arc<ReceiverState>,
}

impl Receiver {
    async fn start(script: impl IntoIterator<Item = Reply>) -> Self {
        let state = Arc::new(ReceiverState {
            script: Mutex::default(),
            requests: Mutex::default(),
            released: tokio::sync::Semaphore::new(0),
        });
        state.script.lock().unwrap().extend(script);
        let shared = state.clone();
        let router =
            axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
                let state = shared.clone();
                async move {
                    state.requests.lock().unwrap().push(Received {
                        path: uri.path().to_owned(),
                        headers,
                        body,
                        at: Instant::now(),
                    });
                    let reply = state.script.lock().unwrap().pop_front();
                    if let Some(Reply::Hold) = reply {
                        let _ = state.released.acquire().await;
                        return answer(Reply::Status(200)).await;
                    }
                    answer(reply.unwrap_or(Reply::Status(200))).await
                }
            });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self { addr, state }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn requests(&self) -> Vec<Received> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Lets every held request end.
    fn release(&self) {
        self.state
            .released
            .add_permits(tokio::sync::Semaphore::MAX_PERMITS / 2);
    }

    /// Waits (bounded) until `n` requests have arrived.
    async fn wait_for_requests(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.requests().len() < n {
            assert!(
                Instant::now() < deadline,
                "{n} request(s) never arrived: {}",
                self.requests().len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn answer(reply: Reply) -> Response {
    match reply {
        Reply::Status(code) => (StatusCode::from_u16(code).unwrap(), "answer").into_response(),
        Reply::Redirect(to) => (StatusCode::FOUND, [(header::LOCATION, to)], "").into_response(),
        Reply::Huge(len) => (StatusCode::INTERNAL_SERVER_ERROR, "x".repeat(len)).into_response(),
        Reply::Slow(wait) => {
            tokio::time::sleep(wait).await;
            (StatusCode::OK, "late").into_response()
        }
        Reply::Hold => unreachable!("answered by the receiver"),
    }
}

/// The receiver's side of the documented algorithm, written from the
/// specification rather than with the portal's code: HMAC-SHA256 keyed
/// with the base64-decoded secret over `id.timestamp.body`, compared with
/// every `v1,` signature of the header.
fn verifies(secret: &str, request: &Received) -> bool {
    let header = |name: &str| request.headers.get(name).unwrap().to_str().unwrap();
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
    mac.update(header("webhook-id").as_bytes());
    mac.update(b".");
    mac.update(header("webhook-timestamp").as_bytes());
    mac.update(b".");
    mac.update(&request.body);
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    header("webhook-signature")
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .any(|s| s == expected)
}

// ---------------------------------------------------------------- fixtures

/// An app whose endpoints may be plain http on loopback (the operator
/// settings the receiver needs), plus `vars`.
async fn app_with(vars: &[(&str, &str)]) -> TestApp {
    let mut builder = TestApp::builder()
        .env("PORTAL_WEBHOOK_ALLOW_PRIVATE", "true")
        .env("PORTAL_WEBHOOK_ALLOW_HTTP", "true");
    for (name, value) in vars {
        builder = builder.env(name, *value);
    }
    builder.build().await
}

/// An enabled endpoint of `organisation` at `url`; returns it and its secret.
async fn endpoint(
    app: &TestApp,
    organisation: Uuid,
    url: &str,
) -> (webhook_endpoint::Model, String) {
    let key = signing::ServerKey::load(app.config()).unwrap();
    let secret = signing::new_secret();
    let now = Utc::now();
    let model = webhook_endpoint::ActiveModel {
        id: Set(Uuid::now_v7()),
        organisation_id: Set(organisation),
        url: Set(url.to_owned()),
        description: Set(None),
        event_types: Set(json!(["payments.recorded"])),
        enabled: Set(true),
        disabled_reason: Set(None),
        disabled_at: Set(None),
        secret_sealed: Set(signing::seal(&key, &secret)),
        previous_secret_sealed: Set(None),
        previous_secret_expires_at: Set(None),
        failing_since: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(app.db())
    .await
    .unwrap();
    (model, secret)
}

/// Writes an event with a delivery and its job for each endpoint, in
/// `txn`, as `events::emit` does. Returns the event id.
async fn emit_in(txn: &impl ConnectionTrait, organisation: Uuid, endpoints: &[Uuid]) -> Uuid {
    let now = Utc::now();
    let event = webhook_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        organisation_id: Set(organisation),
        event_type: Set(WebhookEventType::PaymentsRecorded),
        version: Set(1),
        data: Set(json!({ "count": 2, "payment_ids": ["a", "b"] })),
        created_at: Set(now),
    }
    .insert(txn)
    .await
    .unwrap();
    for endpoint in endpoints {
        let delivery = webhook_delivery::ActiveModel {
            id: Set(Uuid::now_v7()),
            event_id: Set(event.id),
            endpoint_id: Set(*endpoint),
            status: Set(WebhookDeliveryStatus::Pending),
            attempts: Set(0),
            next_attempt_at: Set(Some(now)),
            last_status_code: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(txn)
        .await
        .unwrap();
        outbox::enqueue(
            txn,
            &DeliverWebhook {
                delivery_id: delivery.id,
            },
        )
        .await
        .unwrap();
    }
    event.id
}

async fn emit(app: &TestApp, organisation: Uuid, endpoints: &[Uuid]) -> Uuid {
    let txn = app.db().begin().await.unwrap();
    let id = emit_in(&txn, organisation, endpoints).await;
    txn.commit().await.unwrap();
    id
}

async fn delivery_of(app: &TestApp, event: Uuid, endpoint: Uuid) -> webhook_delivery::Model {
    webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::EventId.eq(event))
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint))
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
}

async fn attempts(app: &TestApp, delivery: Uuid) -> Vec<webhook_attempt::Model> {
    webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::DeliveryId.eq(delivery))
        .order_by_asc(webhook_attempt::Column::Attempt)
        .all(app.db())
        .await
        .unwrap()
}

async fn reload(app: &TestApp, endpoint: Uuid) -> webhook_endpoint::Model {
    webhook_endpoint::Entity::find_by_id(endpoint)
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
}

async fn pending_delivery_jobs(app: &TestApp) -> Vec<outbox_job::Model> {
    outbox_job::Entity::find()
        .filter(outbox_job::Column::Kind.eq(DeliverWebhook::JOB_NAME))
        .filter(outbox_job::Column::Status.eq(JobStatus::Pending))
        .all(app.db())
        .await
        .unwrap()
}

// ------------------------------------------------------------------- tests

#[tokio::test]
async fn a_delivery_carries_the_event_signed_by_the_standard_webhooks_algorithm() {
    let app = app_with(&[]).await;
    let receiver = Receiver::start([]).await;
    let org = app.create_organisation(&[], false).await;
    let (hook, secret) = endpoint(&app, org, &receiver.url()).await;
    let event = emit(&app, org, &[hook.id]).await;

    app.run_pending_jobs().await;

    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.path, "/hook");
    let header = |name: &str| request.headers.get(name).unwrap().to_str().unwrap();
    assert_eq!(header("webhook-id"), event.to_string());
    assert_eq!(header("content-type"), "application/json");
    assert!(header("user-agent").starts_with("portal-webhooks/"));
    let sent_at: i64 = header("webhook-timestamp").parse().unwrap();
    assert!((Utc::now().timestamp() - sent_at).abs() < 60);
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["type"], "payments.recorded");
    assert_eq!(body["version"], 1);
    assert_eq!(body["id"], event.to_string());
    assert_eq!(
        body["data"],
        json!({ "count": 2, "payment_ids": ["a", "b"] })
    );
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));

    assert!(verifies(&secret, request), "the signature verifies");
    assert!(
        !verifies(&signing::new_secret(), request),
        "and fails with another secret"
    );
    let mut tampered = request.clone();
    tampered.body = Bytes::from(request.body.to_vec().repeat(2));
    assert!(!verifies(&secret, &tampered), "and for another body");

    let delivery = delivery_of(&app, event, hook.id).await;
    assert_eq!(delivery.status, WebhookDeliveryStatus::Succeeded);
    assert_eq!(delivery.attempts, 1);
    assert_eq!(delivery.last_status_code, Some(200));
    assert_eq!(delivery.next_attempt_at, None);
    let log = attempts(&app, delivery.id).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].status_code, Some(200));
    assert_eq!(log[0].response_excerpt.as_deref(), Some("answer"));
    assert!(log[0].latency_ms.is_some());
    assert_eq!(log[0].error, None);

    // Idempotent: the job run again (a redelivered queue message) sends nothing.
    outbox::enqueue(
        app.db(),
        &DeliverWebhook {
            delivery_id: delivery.id,
        },
    )
    .await
    .unwrap();
    app.run_pending_jobs().await;
    assert_eq!(receiver.requests().len(), 1);
}

#[tokio::test]
async fn failures_are_retried_with_growing_delays_until_a_2xx() {
    let app = app_with(&[]).await;
    let receiver = Receiver::start([Reply::Status(500), Reply::Status(500)]).await;
    let org = app.create_organisation(&[], false).await;
    let (hook, secret) = endpoint(&app, org, &receiver.url()).await;
    let event = emit(&app, org, &[hook.id]).await;

    let mut delays = Vec::new();
    for attempt in 1..=2 {
        app.run_pending_jobs().await;
        let delivery = delivery_of(&app, event, hook.id).await;
        assert_eq!(delivery.status, WebhookDeliveryStatus::Pending);
        assert_eq!(delivery.attempts, attempt);
        assert_eq!(delivery.last_status_code, Some(500));
        let log = attempts(&app, delivery.id).await;
        let started = log.last().unwrap().started_at;
        let next = delivery.next_attempt_at.expect("a retry is scheduled");
        delays.push(next - started);
        // The retry's job is due then, not before: a run now sends nothing.
        let jobs = pending_delivery_jobs(&app).await;
        assert_eq!(jobs.len(), 1);
        assert!((jobs[0].run_at - next).num_milliseconds().abs() < 1000);
        assert_eq!(app.run_pending_jobs().await, 0);
        assert!(reload(&app, hook.id).await.failing_since.is_some());
        app.skip_backoff().await;
    }
    app.run_pending_jobs().await;

    // 5 s then 5 min, each ±10 %.
    assert!(
        delays[0] >= chrono::Duration::milliseconds(4400)
            && delays[0] <= chrono::Duration::milliseconds(5600),
        "{delays:?}"
    );
    assert!(
        delays[1] >= chrono::Duration::seconds(269) && delays[1] <= chrono::Duration::seconds(331),
        "{delays:?}"
    );
    let requests = receiver.requests();
    assert_eq!(requests.len(), 3, "three attempts");
    assert!(
        requests
            .iter()
            .all(|r| r.headers["webhook-id"] == event.to_string().as_str()),
        "one webhook-id for every attempt"
    );
    assert!(requests.iter().all(|r| verifies(&secret, r)));
    let delivery = delivery_of(&app, event, hook.id).await;
    assert_eq!(delivery.status, WebhookDeliveryStatus::Succeeded);
    assert_eq!(delivery.attempts, 3);
    let codes: Vec<_> = attempts(&app, delivery.id)
        .await
        .iter()
        .map(|a| (a.attempt, a.status_code))
        .collect();
    assert_eq!(codes, [(1, Some(500)), (2, Some(500)), (3, Some(200))]);
    assert_eq!(
        reload(&app, hook.id).await.failing_since,
        None,
        "a success clears the failure clock"
    );
}

#[tokio::test]
async fn the_last_failed_attempt_marks_the_delivery_failed() {
    let app = app_with(&[]).await;
    let receiver = Receiver::start(vec![Reply::Status(503); 8]).await;
    let org = app.create_organisation(&[], false).await;
    let (hook, _) = endpoint(&app, org, &receiver.url()).await;
    let event = emit(&app, org, &[hook.id]).await;
    for _ in 0..8 {
        app.run_pending_jobs().await;
        app.skip_backoff().await;
    }
    assert_eq!(app.run_pending_jobs().await, 0, "no ninth attempt");
    assert_eq!(receiver.requests().len(), 8);
    let delivery = delivery_of(&app, event, hook.id).await;
    assert_eq!(delivery.status, WebhookDeliveryStatus::Failed);
    assert_eq!(delivery.attempts, 8);
    assert_eq!(delivery.next_attempt_at, None);
}

#[tokio::test]
async fn a_rolled_back_change_sends_nothing() {
    let app = app_with(&[]).await;
    let receiver = Receiver::start([]).await;
    let org = app.create_organisation(&[], false).await;
    let (hook, _) = endpoint(&app, org, &receiver.url()).await;

    let txn = app.db().begin().await.unwrap();
    emit_in(&txn, org, &[hook.id]).await;
    txn.rollback().await.unwrap();

    assert_eq!(app.run_pending_jobs().await, 0);
    assert!(receiver.requests().is_empty());
    assert!(
        webhook_event::Entity::find()
            .all(app.db())
            .await
            .unwrap()
            .is_empty()
    );
}

/// In-process (any database): the job's task is aborted while the receiver
/// holds the request, as a killed worker would stop; the real process is
/// killed in `a_worker_process_killed_mid_delivery_delivers_again_with_the_same_id`.
/// Nothing was recorded, the job's lease lapses, the relay hands it over
/// again, and the event is delivered again with the same `webhook-id`.
#[tokio::test]
async fn a_worker_killed_mid_delivery_delivers_again_with_the_same_id() {
    let app = app_with(&[("PORTAL_JOB_LEASE_SECS", "1")]).await;
    let receiver = Receiver::start([Reply::Slow(Duration::from_secs(30))]).await;
    let org = app.create_organisation(&[], false).await;
    let (hook, secret) = endpoint(&app, org, &receiver.url()).await;
    let event = emit(&app, org, &[hook.id]).await;
    let job = pending_delivery_jobs(&app).await.remove(0);

    // What a worker does: claim the job, run it; then it dies mid-request.
    let claimed = outbox::claim(
        app.db(),
        job.id,
        "doomed-worker",
        chrono::Duration::seconds(1),
    )
    .await
    .unwrap()
    .expect("claimed");
    let payload: DeliverWebhook = serde_json::from_value(claimed.payload).unwrap();
    let ctx = app.runner().context().clone();
    let running = tokio::spawn(async move {
        use worker::job::Attempt;
        payload
            .run(
                ctx,
                Attempt {
                    number: 1,
                    is_last: false,
                },
            )
            .await
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while receiver.requests().is_empty() {
        assert!(Instant::now() < deadline, "the request never arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.abort(); // the process is gone: no code after the request runs
    assert!(running.await.unwrap_err().is_cancelled());
    let delivery = delivery_of(&app, event, hook.id).await;
    assert_eq!(delivery.attempts, 0, "nothing was recorded");
    assert_eq!(delivery.status, WebhookDeliveryStatus::Pending);

    tokio::time::sleep(Duration::from_millis(1200)).await;
    let relay = Relay::new(
        app.db().clone(),
        app.state.queue.clone(),
        app.state.config.jobs.clone(),
    );
    assert_eq!(
        relay.recover().await.unwrap(),
        1,
        "the lapsed lease is reaped"
    );
    app.run_pending_jobs().await;

    let requests = receiver.requests();
    assert_eq!(requests.len(), 2, "delivered again");
    assert_eq!(
        requests[0].headers["webhook-id"],
        requests[1].headers["webhook-id"]
    );
    assert_eq!(
        requests[1].headers["webhook-id"],
        event.to_string().as_str()
    );
    assert!(verifies(&secret, &requests[1]));
    let delivery = delivery_of(&app, event, hook.id).await;
    assert_eq!(delivery.status, WebhookDeliveryStatus::Succeeded);
    assert_eq!(delivery.attempts, 1);
    let job = outbox_job::Entity::find_by_id(job.id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.status, JobStatus::Done);
    assert_eq!(job.attempts, 2, "the killed run and the one that finished");
}

/// The endpoint row points at loopback (it was created when the name was
/// public, or written behind the API's back): without the operator
/// setting, the connection is refused and the receiver hears nothing.
#[tokio::test]
async fn private_addresses_are_refused_at_connect_time() {
    let app = TestApp::builder()
        .env("PORTAL_WEBHOOK_ALLOW_HTTP", "true")
        .build()
        .await;
    let receiver = Receiver::start([]).await;
    let org = app.create_organisation(&[], false).await;
    let (literal, _) = endpoint(&app, org, &receiver.url()).await;
    let by_name = format!("http://localhost:{}/hook", receiver.addr.port());
    let (named, _) = endpoint(&app, org, &by_name).await;
    let event = emit(&app, org, &[literal.id, named.id]).await;

    app.run_pending_jobs().await;

    assert!(
        receiver.requests().is_empty(),
        "nothing reached the receiver"
    );
    for (hook, why) in [
        (literal.id, "private or reserved address"),
        (named.id, "internal name"),
    ] {
        let delivery = delivery_of(&app, event, hook).await;
        assert_eq!(
            delivery.status,
            WebhookDeliveryStatus::Pending,
            "retried later"
        );
        assert_eq!(delivery.last_status_code, None);
        let log = attempts(&app, delivery.id).await;
        let error = log[0].error.as_deref().unwrap();
        assert!(error.contains("refused") && error.contains(why), "{error}");
    }
    // The retries are an outage's to wait for, not this test's.
    app.db()
        .execute_unprepared("DELETE FROM outbox_jobs WHERE status = 'PENDING'")
        .await
        .unwrap();
}

#[tokio::test]
async fn redirects_are_not_followed_and_huge_answers_are_cut() {
    let app = app_with(&[]).await;
    let receiver =
        Receiver::start([Reply::Redirect("/elsewhere"), Reply::Huge(5 * 1024 * 1024)]).await;
    let org = app.create_organisation(&[], false).await;
    let (hook, _) = endpoint(&app, org, &receiver.url()).await;
    let event = emit(&app, org, &[hook.id]).await;

    app.run_pending_jobs().await;
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1, "the redirect was not followed");
    let delivery = delivery_of(&app, event, hook.id).await;
    assert_eq!(
        delivery.status,
        WebhookDeliveryStatus::Pending,
        "a 3xx is a failure"
    );
    assert_eq!(delivery.last_status_code, Some(302));
    let log = attempts(&app, delivery.id).await;
    let error = log[0].error.as_deref().unwrap();
    assert!(
        error.contains("redirect to /elsewhere not followed"),
        "{error}"
    );

    app.skip_backoff().await;
    app.run_pending_jobs().await;
    let log = attempts(&app, delivery.id).await;
    assert_eq!(log[1].status_code, Some(500));
    let excerpt = log[1].response_excerpt.as_deref().unwrap();
    assert_eq!(excerpt.len(), 1024, "the excerpt is bounded");
    assert!(log[1].latency_ms.unwrap() < 10_000);

    app.skip_backoff().await;
    app.run_pending_jobs().await;
    assert_eq!(
        delivery_of(&app, event, hook.id).await.status,
        WebhookDeliveryStatus::Succeeded
    );
}

#[tokio::test]
async fn during_a_rotation_both_secrets_sign() {
    let app = app_with(&[]).await;
    let receiver = Receiver::start([]).await;
    let org = app.create_organisation(&[], false).await;
    let (hook, old_secret) = endpoint(&app, org, &receiver.url()).await;
    let key = signing::ServerKey::load(app.config()).unwrap();
    let new_secret = signing::new_secret();
    let mut rotated = hook.clone().into_active_model();
    rotated.previous_secret_sealed = Set(Some(hook.secret_sealed.clone()));
    rotated.previous_secret_expires_at = Set(Some(Utc::now() + chrono::Duration::hours(24)));
    rotated.secret_sealed = Set(signing::seal(&key, &new_secret));
    let rotated = rotated.update(app.db()).await.unwrap();

    emit(&app, org, &[hook.id]).await;
    app.run_pending_jobs().await;
    let request = receiver.requests().remove(0);
    let signatures = request.headers["webhook-signature"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(signatures.split(' ').count(), 2, "{signatures}");
    assert!(verifies(&new_secret, &request), "the new secret verifies");
    assert!(
        verifies(&old_secret, &request),
        "and the old one, in the grace period"
    );

    // After the grace period, only the new secret signs.
    let mut expired = rotated.into_active_model();
    expired.previous_secret_expires_at = Set(Some(Utc::now() - chrono::Duration::seconds(1)));
    expired.update(app.db()).await.unwrap();
    emit(&app, org, &[hook.id]).await;
    app.run_pending_jobs().await;
    let request = receiver.requests().remove(1);
    assert_eq!(
        request.headers["webhook-signature"]
            .to_str()
            .unwrap()
            .split(' ')
            .count(),
        1
    );
    assert!(verifies(&new_secret, &request));
    assert!(!verifies(&old_secret, &request));
}

#[tokio::test]
async fn an_endpoint_failing_for_too_long_is_disabled_and_its_administrators_emailed() {
    let app = app_with(&[("PORTAL_WEBHOOK_DISABLE_AFTER_HOURS", "1")]).await;
    let receiver = Receiver::start(vec![Reply::Status(500); 3]).await;
    let org = app.create_organisation(&["landlord.example"], false).await;
    let user_admin = app.landlord_user(org, &[Permission::ManageUsers]).await;
    let hook_admin = app.landlord_user(org, &[Permission::ManageWebhooks]).await;
    let clerk = app.landlord_user(org, &[Permission::ViewPayments]).await;
    let other_org = app.create_organisation(&["other.example"], false).await;
    let stranger = app
        .landlord_user(other_org, &[Permission::ManageUsers])
        .await;
    let (hook, _) = endpoint(&app, org, &receiver.url()).await;

    // Failing, but not yet for an hour: still enabled.
    let event = emit(&app, org, &[hook.id]).await;
    app.run_pending_jobs().await;
    let failing = reload(&app, hook.id).await;
    assert!(failing.enabled);
    let since = failing.failing_since.unwrap();

    // An hour of failures later, the next failure disables it.
    let mut earlier = failing.into_active_model();
    earlier.failing_since = Set(Some(since - chrono::Duration::minutes(61)));
    earlier.update(app.db()).await.unwrap();
    app.skip_backoff().await;
    app.run_pending_jobs().await;
    let disabled = reload(&app, hook.id).await;
    assert!(!disabled.enabled);
    let reason = disabled.disabled_reason.unwrap();
    assert!(
        reason.contains("1 hours") && reason.contains("HTTP 500"),
        "{reason}"
    );
    assert!(disabled.disabled_at.is_some());

    // The retry already scheduled finds it disabled: nothing more is sent.
    app.skip_backoff().await;
    app.run_pending_jobs().await;
    assert_eq!(receiver.requests().len(), 2);
    let delivery = delivery_of(&app, event, hook.id).await;
    assert_eq!(delivery.status, WebhookDeliveryStatus::Failed);

    let emails = app.emails().await;
    let mut to: Vec<_> = emails.iter().map(|e| e.to.clone()).collect();
    to.sort();
    let mut expected = vec![user_admin.user.email.clone(), hook_admin.user.email.clone()];
    expected.sort();
    assert_eq!(to, expected, "only this organisation's administrators");
    assert!(!to.contains(&clerk.user.email) && !to.contains(&stranger.user.email));
    let email = &emails[0];
    assert_eq!(
        email.subject,
        "A webhook endpoint of your organisation was switched off"
    );
    assert!(email.text.contains("127.0.0.1"), "{}", email.text);
    assert!(email.text.contains(&hook.id.to_string()));
}

/// With one slot per endpoint, a second delivery to a slow endpoint is put
/// back for a moment instead of waiting in a worker slot, and a delivery to
/// another endpoint goes out at once.
#[tokio::test]
async fn a_slow_endpoint_does_not_delay_another() {
    let app = app_with(&[("PORTAL_WEBHOOK_ENDPOINT_CONCURRENCY", "1")]).await;
    let slow = Receiver::start([
        Reply::Slow(Duration::from_secs(3)),
        Reply::Slow(Duration::from_secs(3)),
    ])
    .await;
    let fast = Receiver::start([]).await;
    let org = app.create_organisation(&[], false).await;
    let (slow_hook, _) = endpoint(&app, org, &slow.url()).await;
    let (fast_hook, _) = endpoint(&app, org, &fast.url()).await;
    emit(&app, org, &[slow_hook.id]).await;
    let second = emit(&app, org, &[slow_hook.id]).await;
    let other = emit(&app, org, &[fast_hook.id]).await;
    let jobs = pending_delivery_jobs(&app).await;
    assert_eq!(jobs.len(), 3);

    // A worker with three slots takes all three jobs at once.
    let started = Instant::now();
    let runner = app.runner().clone();
    let mut running = Vec::new();
    let mut ordered = jobs.clone();
    ordered.sort_by_key(|j| j.created_at);
    for job in ordered {
        let runner = runner.clone();
        running.push(tokio::spawn(async move { runner.execute(job.id).await }));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for task in running {
        task.await.unwrap().unwrap();
    }
    let fast_at = fast.requests()[0].at - started;
    assert!(
        fast_at < Duration::from_secs(2),
        "the fast endpoint waited for the slow one: {fast_at:?}"
    );
    assert_eq!(
        slow.requests().len(),
        1,
        "the second slow delivery did not wait"
    );
    assert_eq!(
        delivery_of(&app, other, fast_hook.id).await.status,
        WebhookDeliveryStatus::Succeeded
    );
    let deferred = delivery_of(&app, second, slow_hook.id).await;
    assert_eq!(deferred.attempts, 0, "deferred, not failed");
    let requeued = pending_delivery_jobs(&app).await;
    assert_eq!(requeued.len(), 1);
    assert!(
        requeued[0].run_at - requeued[0].created_at >= chrono::Duration::milliseconds(900),
        "put back for a moment"
    );

    app.skip_backoff().await;
    app.run_pending_jobs().await;
    assert_eq!(slow.requests().len(), 2);
    assert_eq!(
        delivery_of(&app, second, slow_hook.id).await.status,
        WebhookDeliveryStatus::Succeeded
    );
}

#[tokio::test]
async fn the_log_is_pruned_after_its_retention() {
    let app = app_with(&[]).await;
    let receiver = Receiver::start([]).await;
    let org = app.create_organisation(&[], false).await;
    let (hook, _) = endpoint(&app, org, &receiver.url()).await;
    let old = emit(&app, org, &[hook.id]).await;
    let recent = emit(&app, org, &[hook.id]).await;
    app.run_pending_jobs().await;
    let mut aged = webhook_event::Entity::find_by_id(old)
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    aged.created_at = Set(Utc::now() - chrono::Duration::days(31));
    aged.update(app.db()).await.unwrap();

    let cutoff = Utc::now() - chrono::Duration::days(30);
    assert_eq!(
        api::webhooks::prune::prune(app.db(), cutoff).await.unwrap(),
        1
    );

    let events: Vec<_> = webhook_event::Entity::find()
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(events, [recent]);
    let deliveries = webhook_delivery::Entity::find()
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].event_id, recent);
    let attempts = webhook_attempt::Entity::find().all(app.db()).await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].delivery_id, deliveries[0].id);
}

const LOG: &str = "query($id: ID!) { webhookEndpoint(id: $id) { deliveries { nodes { status attemptCount lastStatusCode event { id } attempts { attempt statusCode error } } } } }";

/// The delivery log of `endpoint` as its manager reads it.
async fn log_of(app: &TestApp, manager: &str, endpoint: Uuid) -> Value {
    let r = app
        .graphql(
            Some(manager),
            LOG,
            json!({ "id": portal_tests::gid("WebhookEndpoint", endpoint) }),
        )
        .await;
    r.data()["webhookEndpoint"]["deliveries"]["nodes"].clone()
}

/// The real worker process (`CARGO_BIN_EXE_test-worker`, as in `faults`)
/// is killed with SIGKILL while the receiver holds its request open:
/// nothing was recorded, the job's 2-second lease lapses, a second worker
/// process takes the job over and delivers the event again with the same
/// `webhook-id`, and the log shows the one attempt that was answered.
/// The worker reads its webhook settings from its own environment, so it
/// is given the operator settings that let it reach the loopback receiver.
#[tokio::test]
async fn a_worker_process_killed_mid_delivery_delivers_again_with_the_same_id() {
    if portal_tests::skip_unless(
        &["TEST_DATABASE_URL", "TEST_REDIS_URL"],
        "a_worker_process_killed_mid_delivery_delivers_again_with_the_same_id",
    )
    .is_none()
    {
        return;
    }
    use crate::support::worker::spawn_worker;
    const SETTINGS: &[(&str, &str)] = &[
        ("PORTAL_WEBHOOK_ALLOW_PRIVATE", "true"),
        ("PORTAL_WEBHOOK_ALLOW_HTTP", "true"),
    ];
    let app = app_with(&[]).await;
    let receiver = Receiver::start([Reply::Hold]).await;
    let org = app.create_organisation(&[], false).await;
    let manager = app.landlord_user(org, &[Permission::ManageWebhooks]).await;
    let (hook, secret) = endpoint(&app, org, &receiver.url()).await;
    let event = emit(&app, org, &[hook.id]).await;
    let job = pending_delivery_jobs(&app).await.remove(0);

    let mut first = spawn_worker(&app, "worker-a", SETTINGS);
    receiver.wait_for_requests(1).await;
    let running = outbox_job::Entity::find_by_id(job.id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(running.status, JobStatus::Running);
    assert_eq!(running.worker_id.as_deref(), Some("worker-a"));
    first.kill().unwrap(); // SIGKILL, mid-request: no chance to record anything
    first.wait().unwrap();
    receiver.release();
    let delivery = delivery_of(&app, event, hook.id).await;
    assert_eq!(delivery.attempts, 0, "nothing was recorded");
    assert_eq!(delivery.status, WebhookDeliveryStatus::Pending);
    assert!(attempts(&app, delivery.id).await.is_empty());

    let mut second = spawn_worker(&app, "worker-b", SETTINGS);
    let deadline = Instant::now() + Duration::from_secs(60);
    while delivery_of(&app, event, hook.id).await.status != WebhookDeliveryStatus::Succeeded {
        assert!(
            Instant::now() < deadline,
            "worker-b never delivered: {:?}",
            delivery_of(&app, event, hook.id).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    second.kill().unwrap();
    second.wait().unwrap();

    let requests = receiver.requests();
    assert_eq!(requests.len(), 2, "delivered again");
    for request in &requests {
        assert_eq!(
            request.headers["webhook-id"],
            event.to_string().as_str(),
            "the same webhook-id"
        );
        assert!(verifies(&secret, request));
    }
    assert_eq!(requests[0].body, requests[1].body, "the same payload");
    let done = outbox_job::Entity::find_by_id(job.id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.status, JobStatus::Done);
    assert_eq!(done.worker_id.as_deref(), Some("worker-b"));
    assert_eq!(done.attempts, 2, "the killed run and the one that finished");
    assert_eq!(
        log_of(&app, &manager.token, hook.id).await,
        json!([{
            "status": "SUCCEEDED",
            "attemptCount": 1,
            "lastStatusCode": 200,
            "event": { "id": portal_tests::gid("WebhookEvent", event) },
            "attempts": [{ "attempt": 1, "statusCode": 200, "error": null }],
        }])
    );
    // The workers' schedulers enqueued the daily jobs at start-up; the
    // killed ones may have left some, which the harness would report.
    app.run_pending_jobs().await;
}

/// An endpoint created through the API at a public address, whose stored
/// URL then names a host that resolves to loopback (what a rebinding name
/// does between creation and delivery): with private addresses not
/// allowed, the attempt is refused before connecting, the log says why
/// with no status code, and the receiver hears nothing. (Naming the
/// loopback host at creation is refused at once.)
#[tokio::test]
async fn a_host_name_resolving_to_loopback_at_delivery_time_is_refused() {
    let app = TestApp::builder()
        .env("PORTAL_WEBHOOK_ALLOW_HTTP", "true")
        .build()
        .await;
    let receiver = Receiver::start([]).await;
    let port = receiver.addr.port();
    let org = app.create_organisation(&[], false).await;
    let manager = app.landlord_user(org, &[Permission::ManageWebhooks]).await;
    let create = "mutation($url: String!) { createWebhookEndpoint(input: { url: $url, eventTypes: [PAYMENTS_RECORDED] }) { endpoint { id url } } }";
    let by_name = format!("http://localhost:{port}/hook");
    let r = app
        .graphql(Some(&manager.token), create, json!({ "url": by_name }))
        .await;
    assert_eq!(r.error_code(), "BAD_USER_INPUT", "{:#}", r.body);
    assert_eq!(
        r.body["errors"][0]["extensions"]["field"],
        json!("input.url")
    );
    let r = app
        .graphql(
            Some(&manager.token),
            create,
            json!({ "url": format!("http://93.184.215.14:{port}/hook") }),
        )
        .await;
    let id = portal_tests::uuid_of(
        r.data()["createWebhookEndpoint"]["endpoint"]["id"]
            .as_str()
            .unwrap(),
    );
    let mut rebound = reload(&app, id).await.into_active_model();
    rebound.url = Set(by_name.clone());
    rebound.update(app.db()).await.unwrap();
    let event = emit(&app, org, &[id]).await;

    app.run_pending_jobs().await;

    assert!(
        receiver.requests().is_empty(),
        "nothing reached the receiver"
    );
    assert_eq!(
        log_of(&app, &manager.token, id).await,
        json!([{
            "status": "PENDING",
            "attemptCount": 1,
            "lastStatusCode": null,
            "event": { "id": portal_tests::gid("WebhookEvent", event) },
            "attempts": [{
                "attempt": 1,
                "statusCode": null,
                "error": "refused: the host localhost is an internal name",
            }],
        }])
    );
    // The retry is an outage's to wait for, not this test's.
    app.db()
        .execute_unprepared("DELETE FROM outbox_jobs WHERE status = 'PENDING'")
        .await
        .unwrap();
}
