//! The job pipeline: outbox in the same transaction, claim-once execution,
//! retries with backoff, dead letters and their retry through the API, and the
//! real queue (apalis on SQLite, or Redis when `TEST_REDIS_URL` is set).

use std::time::Duration;

use api::jobs::noop::Noop;
use entities::{JobStatus, outbox_job};
use portal_tests::TestApp;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::json;
use worker::{
    outbox,
    runner::{Outcome, Relay, Shutdown},
};

async fn job(app: &TestApp, id: uuid::Uuid) -> outbox_job::Model {
    outbox_job::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn a_job_exists_only_if_its_transaction_committed() {
    let app = TestApp::init().await;
    let txn = app.db().begin().await.unwrap();
    let rolled_back = outbox::enqueue(&txn, &Noop::default())
        .await
        .unwrap()
        .unwrap();
    txn.rollback().await.unwrap();
    assert!(
        outbox_job::Entity::find_by_id(rolled_back)
            .one(app.db())
            .await
            .unwrap()
            .is_none()
    );

    let txn = app.db().begin().await.unwrap();
    let committed = outbox::enqueue(&txn, &Noop::default())
        .await
        .unwrap()
        .unwrap();
    txn.commit().await.unwrap();
    assert_eq!(job(&app, committed).await.status, JobStatus::Pending);
    assert_eq!(app.run_pending_jobs().await, 1);
    assert_eq!(job(&app, committed).await.status, JobStatus::Done);
}

#[tokio::test]
async fn a_job_delivered_twice_runs_once() {
    let app = TestApp::init().await;
    let id = outbox::enqueue(app.db(), &Noop::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(app.runner().execute(id).await.unwrap(), Outcome::Done);
    assert_eq!(app.runner().execute(id).await.unwrap(), Outcome::Skipped);
    let done = job(&app, id).await;
    assert_eq!(done.attempts, 1);
    assert_eq!(done.worker_id.as_deref(), Some(app.runner().worker_id()));
}

#[tokio::test]
async fn concurrent_claims_of_one_job_have_one_winner() {
    let app = TestApp::init().await;
    let id = outbox::enqueue(
        app.db(),
        &Noop {
            tag: 1,
            sleep_ms: 50,
        },
    )
    .await
    .unwrap()
    .unwrap();
    let (a, b) = tokio::join!(app.runner().execute(id), app.runner().execute(id));
    let outcomes = [a.unwrap(), b.unwrap()];
    assert!(
        outcomes.contains(&Outcome::Done) && outcomes.contains(&Outcome::Skipped),
        "{outcomes:?}"
    );
}

#[tokio::test]
async fn dedupe_keys_make_enqueueing_idempotent() {
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Daily;
    impl worker::job::Job for Daily {
        type Context = api::jobs::JobContext;
        const JOB_NAME: &'static str = "noop";
        fn dedupe_key(&self) -> Option<String> {
            Some("daily:2026-11-24".into())
        }
        async fn run(
            &self,
            _: std::sync::Arc<api::jobs::JobContext>,
            _: worker::job::Attempt,
        ) -> Result<(), worker::job::JobError> {
            Ok(())
        }
    }
    let app = TestApp::init().await;
    assert!(outbox::enqueue(app.db(), &Daily).await.unwrap().is_some());
    assert!(outbox::enqueue(app.db(), &Daily).await.unwrap().is_none());
    assert_eq!(app.run_pending_jobs().await, 1);
}

#[tokio::test]
async fn retries_back_off_then_dead_letter_and_an_operator_can_retry() {
    // An email to an address the transport refuses fails every attempt.
    let app = TestApp::builder().embedded().build().await;
    let delivery = api::notifications::queue_email(
        app.db(),
        &api::notifications::Recipient { address: "not an address".into(), user_id: None },
        api::notifications::templates::EmailTemplate::PasswordChanged,
        json!({ "first_name": "Ada", "base_url": "http://portal.test", "changed_at": "2026-11-24T09:00:00Z" }),
    )
    .await
    .unwrap();
    app.run_pending_jobs().await;
    let jobs: Vec<outbox_job::Model> = outbox_job::Entity::find().all(app.db()).await.unwrap();
    assert_eq!(jobs.len(), 1);
    let dead = &jobs[0];
    assert_eq!(
        dead.status,
        JobStatus::Dead,
        "an invalid address is permanent: {dead:?}"
    );
    assert!(
        dead.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("address"),
        "{dead:?}"
    );
    let record = entities::notification_delivery::Entity::find_by_id(delivery)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status, entities::DeliveryStatus::Failed);
    assert_eq!(record.attempts, 1);

    // Operators list the dead-letter queue and retry through the API.
    let admin = app.service_admin().await;
    let list = app
        .graphql(
            Some(&admin.token),
            "{ jobs(status: DEAD) { edges { node { id kind status attempts lastError } } } }",
            json!({}),
        )
        .await;
    let edges = list.data()["jobs"]["edges"].as_array().unwrap().clone();
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0]["node"]["kind"], json!("send_email"));
    let id = edges[0]["node"]["id"].as_str().unwrap().to_owned();

    let retried = app
        .graphql(
            Some(&admin.token),
            "mutation($id: ID!) { retryJob(id: $id) { status attempts } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        retried.data()["retryJob"],
        json!({ "status": "PENDING", "attempts": 0 })
    );
    // The retry is in the audit log, naming the operator.
    let entry = entities::audit_log::Entity::find()
        .filter(entities::audit_log::Column::Action.eq("job.retried"))
        .one(app.db())
        .await
        .unwrap()
        .expect("an audit entry for the retry");
    assert_eq!(entry.actor_user_id, Some(admin.user.id));
    assert_eq!(entry.target_id, Some(portal_tests::uuid_of(&id)));
    // Retrying a job that is not dead is a conflict, and changes nothing.
    let again = app
        .graphql(
            Some(&admin.token),
            "mutation($id: ID!) { retryJob(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(again.error_code(), "CONFLICT");
    app.run_pending_jobs().await;
    assert_eq!(
        job(&app, portal_tests::uuid_of(&id)).await.status,
        JobStatus::Dead
    );
}

#[tokio::test]
async fn transient_failures_retry_with_growing_delays() {
    // SMTP on a port where nothing listens: every attempt fails transiently.
    let app = TestApp::builder()
        .embedded()
        .env("PORTAL_SMTP_URL", "smtp://127.0.0.1:1")
        .env("PORTAL_JOB_BACKOFF_BASE_MS", "1000")
        .build()
        .await;
    api::notifications::queue_email(
        app.db(),
        &api::notifications::Recipient { address: "ada@example.test".into(), user_id: None },
        api::notifications::templates::EmailTemplate::PasswordChanged,
        json!({ "first_name": "Ada", "base_url": "http://portal.test", "changed_at": "2026-11-24T09:00:00Z" }),
    )
    .await
    .unwrap();
    let mut delays = Vec::new();
    for attempt in 1..=3 {
        app.run_pending_jobs().await;
        let row = outbox_job::Entity::find()
            .one(app.db())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            row.status,
            JobStatus::Pending,
            "attempt {attempt} will be retried: {row:?}"
        );
        assert_eq!(row.attempts, attempt);
        delays.push((row.run_at - row.updated_at).num_milliseconds());
        app.skip_backoff().await;
    }
    // Equal jitter: attempt n waits between base*2^(n-1)/2 and base*2^(n-1).
    for (i, delay) in delays.iter().enumerate() {
        let full = 1000 * (1 << i);
        assert!(
            (full / 2 - 50..=full + 50).contains(delay),
            "attempt {} waited {delay} ms",
            i + 1
        );
    }
    // Put the job out of its misery so the harness sees no leftover work.
    sea_orm::ConnectionTrait::execute_unprepared(
        app.db(),
        "UPDATE outbox_jobs SET status = 'DEAD'",
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn only_service_administrators_see_jobs() {
    let app = TestApp::init().await;
    let query = "{ jobs { edges { node { id } } } }";
    assert_eq!(
        app.graphql(None, query, json!({})).await.error_code(),
        "UNAUTHENTICATED"
    );
    let caseworker = app.caseworker().await;
    assert_eq!(
        app.graphql(Some(&caseworker.token), query, json!({}))
            .await
            .error_code(),
        "FORBIDDEN"
    );
    let resident = app.resident().await;
    assert_eq!(
        app.graphql(Some(&resident.token), query, json!({}))
            .await
            .error_code(),
        "FORBIDDEN"
    );
    let retry = "mutation { retryJob(id: \"00000000-0000-0000-0000-000000000000\") { id } }";
    assert_eq!(
        app.graphql(Some(&resident.token), retry, json!({}))
            .await
            .error_code(),
        "FORBIDDEN"
    );
    let admin = app.service_admin().await;
    assert_eq!(
        app.graphql(Some(&admin.token), retry, json!({}))
            .await
            .error_code(),
        "NOT_FOUND"
    );
    assert_eq!(
        app.graphql(
            Some(&admin.token),
            "mutation { retryJob(id: \"nope\") { id } }",
            json!({})
        )
        .await
        .error_code(),
        "NOT_FOUND"
    );
}

#[tokio::test]
async fn job_list_paginates_with_cursors() {
    let app = TestApp::init().await;
    for tag in 0..5 {
        outbox::enqueue(app.db(), &Noop { tag, sleep_ms: 0 })
            .await
            .unwrap();
    }
    app.run_pending_jobs().await;
    let admin = app.service_admin().await;
    let query = "query($after: String) { jobs(first: 2, after: $after) { edges { cursor node { payload } } pageInfo { hasNextPage } } }";
    let mut tags = Vec::new();
    let mut after = serde_json::Value::Null;
    loop {
        let page = app
            .graphql(Some(&admin.token), query, json!({ "after": after }))
            .await;
        let jobs = &page.data()["jobs"];
        for edge in jobs["edges"].as_array().unwrap() {
            tags.push(edge["node"]["payload"]["tag"].as_u64().unwrap());
            after = edge["cursor"].clone();
        }
        if !jobs["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
    }
    assert_eq!(tags, vec![4, 3, 2, 1, 0], "newest first, each once");
    let bad = app
        .graphql(Some(&admin.token), query, json!({ "after": "!!" }))
        .await;
    assert_eq!(bad.error_code(), "BAD_USER_INPUT");
    let too_many = app
        .graphql(
            Some(&admin.token),
            "{ jobs(first: 1000) { edges { cursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(too_many.error_code(), "BAD_USER_INPUT");
}

/// Enqueue → relay → queue (apalis) → worker → done, through the real transport.
#[tokio::test]
async fn jobs_flow_through_the_real_queue() {
    let app = TestApp::builder().allow_leftover_jobs().build().await;
    let mut ids = Vec::new();
    for tag in 0..20 {
        ids.push(
            outbox::enqueue(app.db(), &Noop { tag, sleep_ms: 0 })
                .await
                .unwrap()
                .unwrap(),
        );
    }
    let shutdown = Shutdown::new();
    let worker = tokio::spawn(api::jobs::run_worker(
        app.state.config.clone(),
        app.db().clone(),
        app.state.queue.clone(),
        shutdown.clone(),
    ));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while app.unfinished_jobs().await > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "jobs did not complete through the queue"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shutdown.cancel();
    worker.await.unwrap().unwrap();
    for id in ids {
        let row = job(&app, id).await;
        assert_eq!(row.status, JobStatus::Done);
        assert_eq!(row.attempts, 1, "each ran once");
    }
}

#[tokio::test]
async fn lost_queue_entries_and_dead_workers_are_recovered_by_the_ledger() {
    let app = TestApp::builder()
        .env("PORTAL_JOB_REQUEUE_SECS", "1")
        .env("PORTAL_JOB_LEASE_SECS", "1")
        .build()
        .await;
    let relay = Relay::new(
        app.db().clone(),
        app.state.queue.clone(),
        app.state.config.jobs.clone(),
    );
    // Queued, but the queue lost it (e.g. a Redis flush): requeued after the timeout.
    let lost = outbox::enqueue(app.db(), &Noop::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outbox::take_due(app.db(), 10).await.unwrap(), vec![lost]);
    // Claimed by a worker that then died: its lease lapses.
    let orphan = outbox::enqueue(app.db(), &Noop::default())
        .await
        .unwrap()
        .unwrap();
    assert!(
        outbox::claim(
            app.db(),
            orphan,
            "dead-worker",
            chrono::Duration::milliseconds(10)
        )
        .await
        .unwrap()
        .is_some()
    );

    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(relay.recover().await.unwrap(), 2);
    assert_eq!(job(&app, lost).await.status, JobStatus::Pending);
    let reaped = job(&app, orphan).await;
    assert_eq!(reaped.status, JobStatus::Pending);
    assert!(reaped.last_error.unwrap().contains("dead-worker"));
    app.run_pending_jobs().await;
    assert_eq!(
        job(&app, orphan).await.attempts,
        2,
        "the interrupted attempt counts"
    );
}

/// The relay never leaves more than `MAX_BACKLOG` ids waiting in Redis: the
/// outbox is the buffer (apalis-redis cannot move ~8,000+ due entries at once).
#[tokio::test]
async fn the_relay_keeps_the_redis_backlog_bounded() {
    if portal_tests::skip_unless(
        &["TEST_REDIS_URL"],
        "the_relay_keeps_the_redis_backlog_bounded",
    )
    .is_none()
    {
        return;
    }
    let app = TestApp::builder().allow_leftover_jobs().build().await;
    let total = worker::queue::MAX_BACKLOG as usize + 700;
    let txn = platform::db::begin_write(app.db()).await.unwrap();
    for tag in 0..total as u64 {
        outbox::enqueue(&txn, &Noop { tag, sleep_ms: 0 })
            .await
            .unwrap();
    }
    txn.commit().await.unwrap();
    let relay = Relay::new(
        app.db().clone(),
        app.state.queue.clone(),
        app.config().jobs.clone(),
    );
    assert_eq!(
        relay.relay_once().await.unwrap(),
        worker::queue::MAX_BACKLOG as usize
    );
    assert_eq!(
        app.state.queue.backlog().await.unwrap(),
        worker::queue::MAX_BACKLOG
    );
    assert_eq!(
        relay.relay_once().await.unwrap(),
        0,
        "full: the rest waits in the outbox"
    );
    let pending = outbox_job::Entity::find()
        .filter(ColumnTrait::eq(
            &outbox_job::Column::Status,
            JobStatus::Pending,
        ))
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(pending.len(), 700);
}

/// The batched claim (`outbox::claim_many`, and the runner's group commit on
/// it) keeps the ledger's guarantees: a rolled-back batch gives nothing to
/// claim, an id asked for twice in one statement is claimed once, and an id
/// already claimed is not claimed again by a later batch.
#[tokio::test]
async fn a_batch_claim_skips_rolled_back_jobs_and_claims_each_once() {
    let app = TestApp::init().await;
    let jobs: Vec<Noop> = (0..5).map(|tag| Noop { tag, sleep_ms: 0 }).collect();
    let txn = platform::db::begin_write(app.db()).await.unwrap();
    let rolled_back = outbox::enqueue_many(&txn, &jobs).await.unwrap();
    txn.rollback().await.unwrap();
    let txn = platform::db::begin_write(app.db()).await.unwrap();
    let committed = outbox::enqueue_many(&txn, &jobs).await.unwrap();
    txn.commit().await.unwrap();

    let mut asked: Vec<uuid::Uuid> = rolled_back.iter().chain(&committed).copied().collect();
    asked.push(committed[0]);
    let lease = chrono::Duration::minutes(5);
    let claimed = outbox::claim_many(app.db(), &asked, "batch-worker", lease)
        .await
        .unwrap();
    let mut ids: Vec<_> = claimed.iter().map(|j| j.id).collect();
    ids.sort();
    let mut expected = committed.clone();
    expected.sort();
    assert_eq!(ids, expected, "only the committed jobs, each once");
    assert!(claimed.iter().all(|j| j.attempts == 1));
    assert!(
        outbox::claim_many(app.db(), &committed, "other-worker", lease)
            .await
            .unwrap()
            .is_empty(),
        "a claimed job is not claimed again"
    );
    assert_eq!(
        outbox::complete_many(app.db(), &committed, "other-worker")
            .await
            .unwrap(),
        0,
        "only the worker that claimed a job completes it"
    );
    assert_eq!(
        outbox::complete_many(app.db(), &committed, "batch-worker")
            .await
            .unwrap(),
        5
    );
    for id in committed {
        assert_eq!(job(&app, id).await.status, JobStatus::Done);
    }
}

/// A relay that crashed after pushing ids to the queue but before the ledger
/// knew they were delivered leaves them `QUEUED`; after `requeue_after` the
/// ledger hands them over again, so the queue carries every id twice. Run
/// through the runner's batched claims, all at once, each job still runs
/// exactly once.
#[tokio::test]
async fn jobs_pushed_twice_after_a_relay_crash_run_exactly_once() {
    let app = TestApp::builder()
        .env("PORTAL_JOB_REQUEUE_SECS", "1")
        .build()
        .await;
    let jobs: Vec<Noop> = (0..40).map(|tag| Noop { tag, sleep_ms: 5 }).collect();
    let txn = platform::db::begin_write(app.db()).await.unwrap();
    let ids = outbox::enqueue_many(&txn, &jobs).await.unwrap();
    txn.commit().await.unwrap();
    // The crashed relay's pass: taken from the outbox and pushed, then nothing.
    let taken = outbox::take_due(app.db(), 100).await.unwrap();
    assert_eq!(taken.len(), ids.len());
    app.state.queue.push(&taken).await.unwrap();
    // The next relay finds them stale and hands them over again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let relay = Relay::new(
        app.db().clone(),
        app.state.queue.clone(),
        app.state.config.jobs.clone(),
    );
    assert_eq!(relay.recover().await.unwrap(), ids.len() as u64);
    let again = outbox::take_due(app.db(), 100).await.unwrap();
    assert_eq!(again.len(), ids.len());
    // Both deliveries of every id reach the runner at once.
    let runner = app.runner().clone();
    let deliveries = taken.iter().chain(&again).map(|&id| {
        let runner = runner.clone();
        tokio::spawn(async move { runner.execute(id).await.unwrap() })
    });
    let outcomes: Vec<Outcome> = futures::future::join_all(deliveries)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let done = outcomes.iter().filter(|o| **o == Outcome::Done).count();
    let skipped = outcomes.iter().filter(|o| **o == Outcome::Skipped).count();
    assert_eq!((done, skipped), (ids.len(), ids.len()), "{outcomes:?}");
    for id in ids {
        let row = job(&app, id).await;
        assert_eq!(row.status, JobStatus::Done);
        assert_eq!(row.attempts, 1, "ran once");
    }
}

/// On PostgreSQL the relay does not wait for its poll: the commit's
/// `NOTIFY portal_outbox` wakes it. With a one-minute poll, a committed job
/// is handed to the queue within a couple of seconds, and a rolled-back one
/// never exists to be handed over.
#[tokio::test]
async fn a_commit_wakes_the_relay_on_postgres() {
    let app = TestApp::builder()
        .env("PORTAL_RELAY_INTERVAL_MS", "60000")
        .allow_leftover_jobs()
        .build()
        .await;
    if !app.is_postgres() {
        eprintln!("skipped: LISTEN/NOTIFY is PostgreSQL's");
        return;
    }
    let shutdown = Shutdown::new();
    let relay = Relay::new(
        app.db().clone(),
        app.state.queue.clone(),
        app.config().jobs.clone(),
    );
    let task = tokio::spawn(relay.run(shutdown.clone()));
    // Its first pass runs at once; give it time to LISTEN, then write.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let txn = platform::db::begin_write(app.db()).await.unwrap();
    outbox::enqueue(&txn, &Noop::default()).await.unwrap();
    txn.rollback().await.unwrap();
    let txn = platform::db::begin_write(app.db()).await.unwrap();
    let id = outbox::enqueue(&txn, &Noop::default())
        .await
        .unwrap()
        .unwrap();
    txn.commit().await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while job(&app, id).await.status == JobStatus::Pending {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the commit did not wake the relay"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(job(&app, id).await.status, JobStatus::Queued);
    assert_eq!(
        outbox_job::Entity::find()
            .all(app.db())
            .await
            .unwrap()
            .len(),
        1,
        "the rolled-back job never existed"
    );
    shutdown.cancel();
    task.await.unwrap();
}
