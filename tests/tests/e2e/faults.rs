//! Fault tests against the real services: a worker killed mid-job, Redis down
//! while writes commit, SMTP down. Each runs when its services are configured
//! (`.ci/run` sets them) and is skipped with the reason otherwise.

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::Duration,
};

use api::notifications::{self, Recipient};
use api::{jobs::noop::Noop, notifications::templates::EmailTemplate};
use entities::{DeliveryStatus, JobStatus, notification_delivery, outbox_job};
use portal_tests::{TestApp, skip_unless};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::json;
use tokio::time::{Instant, sleep};
use uuid::Uuid;
use worker::{
    outbox,
    queue::Queue,
    runner::{Relay, Shutdown},
};

fn spawn_worker(app: &TestApp, worker_id: &str) -> Child {
    crate::support::worker::spawn_worker(app, worker_id, &[])
}

async fn job(app: &TestApp, id: Uuid) -> outbox_job::Model {
    outbox_job::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
}

/// Polls the ledger until `check` holds (bounded; these are real processes).
async fn wait_for(
    app: &TestApp,
    id: Uuid,
    what: &str,
    check: impl Fn(&outbox_job::Model) -> bool,
) -> outbox_job::Model {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let row = job(app, id).await;
        if check(&row) {
            return row;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {row:?}"
        );
        sleep(Duration::from_millis(50)).await;
    }
}

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn a_worker_killed_mid_job_loses_nothing() {
    if skip_unless(
        &["TEST_DATABASE_URL", "TEST_REDIS_URL"],
        "a_worker_killed_mid_job_loses_nothing",
    )
    .is_none()
    {
        return;
    }
    let app = TestApp::init().await;
    let id = outbox::enqueue(
        app.db(),
        &Noop {
            tag: 1,
            sleep_ms: 5_000,
        },
    )
    .await
    .unwrap()
    .unwrap();

    let mut first = spawn_worker(&app, "worker-a");
    wait_for(&app, id, "worker-a to start the job", |j| {
        j.status == JobStatus::Running && j.worker_id.as_deref() == Some("worker-a")
    })
    .await;
    first.kill().unwrap(); // SIGKILL: no chance to clean up
    first.wait().unwrap();
    assert_eq!(
        job(&app, id).await.status,
        JobStatus::Running,
        "held by a dead worker"
    );

    let mut second = spawn_worker(&app, "worker-b");
    let done = wait_for(&app, id, "worker-b to finish the job", |j| {
        j.status == JobStatus::Done
    })
    .await;
    assert_eq!(done.worker_id.as_deref(), Some("worker-b"));
    assert_eq!(
        done.attempts, 2,
        "the killed attempt and the one that finished"
    );
    assert!(done.last_error.is_none());

    // Graceful stop: SIGTERM lets the running job finish before the process exits.
    let slow = outbox::enqueue(
        app.db(),
        &Noop {
            tag: 2,
            sleep_ms: 1_500,
        },
    )
    .await
    .unwrap()
    .unwrap();
    wait_for(&app, slow, "worker-b to start the second job", |j| {
        j.status == JobStatus::Running
    })
    .await;
    sigterm(&second);
    let status = second.wait().unwrap();
    assert!(
        status.success(),
        "worker exits cleanly on SIGTERM: {status}"
    );
    let finished = job(&app, slow).await;
    assert_eq!(
        finished.status,
        JobStatus::Done,
        "in-flight job finished during shutdown: {finished:?}"
    );
    // Each worker's scheduler also enqueued the daily jobs at start-up (sweep,
    // reminders, export expiry, webhook log pruning); the killed and stopped workers may have left
    // some of them, which the next worker would run.
    app.run_pending_jobs().await;
}

/// A private `redis-server` on a free port, which the test can stop and start.
struct PrivateRedis {
    port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    fn start(port: u16) -> Option<Self> {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .ok()?;
        Some(Self {
            port,
            child: Some(child),
        })
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }

    fn restart(&mut self) {
        self.stop();
        *self = Self::start(self.port).expect("restart redis-server");
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn redis_down_while_writes_commit_loses_nothing_and_runs_nothing_twice() {
    if skip_unless(
        &["TEST_DATABASE_URL", "TEST_REDIS_URL"],
        "redis_down_while_writes_commit",
    )
    .is_none()
    {
        return;
    }
    let Some(mut redis) = PrivateRedis::start(free_port()) else {
        eprintln!("skipping redis_down_while_writes_commit: redis-server not on PATH");
        return;
    };
    let app = TestApp::init().await;
    let queue_name = format!("fault:{}", Uuid::new_v4().simple());
    let queue = connect_retrying(&redis.url(), &queue_name).await;
    let relay = Relay::new(app.db().clone(), queue.clone(), app.config().jobs.clone());

    redis.stop();
    // The API keeps committing writes that need email while Redis is down.
    let mut deliveries = Vec::new();
    for n in 0..20 {
        let txn = app.db().begin().await.unwrap();
        let id = notifications::queue_email(
            &txn,
            &Recipient {
                address: format!("resident{n}@example.test"),
                user_id: None,
            },
            EmailTemplate::PasswordChanged,
            json!({ "first_name": format!("Resident {n}"), "changed_at": "2026-11-24T09:00:00Z" }),
        )
        .await
        .unwrap();
        txn.commit().await.unwrap();
        deliveries.push(id);
    }
    assert!(relay.relay_once().await.is_err(), "the queue is down");
    assert_eq!(app.unfinished_jobs().await, 20, "all kept in the outbox");
    let pending = outbox_job::Entity::find()
        .filter(outbox_job::Column::Status.eq(JobStatus::Pending))
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(
        pending.len(),
        20,
        "released back to PENDING, not stuck as QUEUED"
    );

    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut relayed = 0;
    while relayed < 20 {
        match relay.relay_once().await {
            Ok(n) => relayed += n,
            Err(e) => {
                assert!(Instant::now() < deadline, "relay did not recover: {e}");
                sleep(Duration::from_millis(200)).await;
            }
        }
    }
    assert_eq!(relayed, 20);

    let runner = std::sync::Arc::new(
        api::jobs::runner(app.state.config.clone(), app.db().clone())
            .await
            .unwrap(),
    );
    let shutdown = Shutdown::new();
    let stop = shutdown.clone();
    let consumer = tokio::spawn(queue.consume(runner, async move { stop.cancelled().await }));
    let deadline = Instant::now() + Duration::from_secs(60);
    while app.unfinished_jobs().await > 0 {
        assert!(
            Instant::now() < deadline,
            "jobs did not finish after Redis came back"
        );
        sleep(Duration::from_millis(100)).await;
    }
    shutdown.cancel();
    consumer.await.unwrap().unwrap();

    for id in deliveries {
        let d = notification_delivery::Entity::find_by_id(id)
            .one(app.db())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(d.status, DeliveryStatus::Sent);
        assert_eq!(d.attempts, 1, "sent exactly once");
    }
    let jobs = outbox_job::Entity::find().all(app.db()).await.unwrap();
    assert!(
        jobs.iter()
            .all(|j| j.status == JobStatus::Done && j.attempts == 1),
        "{jobs:?}"
    );
    let emails = app.emails().await;
    assert_eq!(emails.len(), 20, "one email per write, none twice");
}

async fn connect_retrying(url: &str, queue: &str) -> Queue {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match Queue::connect_redis(url, queue).await {
            Ok(q) => return q,
            Err(e) => {
                assert!(Instant::now() < deadline, "{e}");
                sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Forwards TCP connections from a port to the real SMTP server, from the
/// moment it is started: "the SMTP server comes back" on the same address.
async fn forward(listener: tokio::net::TcpListener, target: String) {
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else {
            return;
        };
        let target = target.clone();
        tokio::spawn(async move {
            if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}

#[tokio::test]
async fn smtp_down_is_retried_then_delivered() {
    let Some(vars) = skip_unless(
        &["TEST_SMTP_URL", "TEST_SMTP_API_URL"],
        "smtp_down_is_retried_then_delivered",
    ) else {
        return;
    };
    let smtp = url::Url::parse(&vars[0]).unwrap();
    let target = format!("{}:{}", smtp.host_str().unwrap(), smtp.port().unwrap_or(25));
    let port = free_port(); // nothing listens here yet: SMTP is "down"
    let app = TestApp::builder()
        .env("PORTAL_SMTP_URL", format!("smtp://127.0.0.1:{port}"))
        .build()
        .await;
    let delivery = notifications::queue_email(
        app.db(),
        &Recipient {
            address: "ada@example.test".into(),
            user_id: None,
        },
        EmailTemplate::PasswordChanged,
        json!({ "first_name": "Ada", "changed_at": "2026-11-24T09:00:00Z" }),
    )
    .await
    .unwrap();
    app.run_pending_jobs().await;
    let failed = notification_delivery::Entity::find_by_id(delivery)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        failed.status,
        DeliveryStatus::Queued,
        "still queued: will retry"
    );
    assert_eq!(failed.attempts, 1);
    assert!(failed.last_error.is_some());
    assert!(app.emails().await.is_empty());

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let proxy = tokio::spawn(forward(listener, target));
    app.skip_backoff().await;
    app.run_pending_jobs().await;
    proxy.abort();

    let sent = notification_delivery::Entity::find_by_id(delivery)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sent.status, DeliveryStatus::Sent);
    assert_eq!(sent.attempts, 2);
    assert!(sent.provider_reference.is_some());
    let emails = app.emails().await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(emails[0].to, "ada@example.test");
}
