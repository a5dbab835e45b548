//! Every background job of the portal, in one registry, and the daily
//! schedule as one table.
//!
//! Each job lives beside its domain, one file each, as a small struct of ids
//! with its `JOB_NAME` (the runtime that runs them is the `worker` crate):
//!
//! | job | file | what it does |
//! |---|---|---|
//! | `send_email` | [`crate::notifications::send_email`] | renders and sends one queued email |
//! | `send_sms` | [`crate::notifications::send_sms`] | renders and sends one queued SMS |
//! | `scan_document` | [`crate::documents::scan_document`] | virus-scans an upload with clamd and records the verdict |
//! | `export_payments` | [`crate::exports::export_payments`] | builds a payments CSV export and emails its link |
//! | `expire_exports` | [`crate::exports::expire_exports`] | daily: deletes expired export files |
//! | `apply_housing_costs` | [`crate::housing_costs::apply`] | applies a bulk housing-cost CSV, all or nothing |
//! | `inactivity_sweep` | [`crate::identity::inactivity_sweep`] | daily: warns, then deactivates, accounts idle for 90 days |
//! | `task_reminders` | [`crate::casework::task_reminders`] | daily: emails reminders of tasks due soon or overdue |
//! | `deliver_webhook` | [`crate::webhooks::deliver`] | sends one webhook event to one endpoint, schedules its retry |
//! | `prune_webhook_log` | [`crate::webhooks::prune`] | daily: deletes webhook events, deliveries and attempts past their retention |
//! | `noop` | [`noop`] | nothing: measures the pipeline (bench) and drives it in tests |
//!
//! Operators read and retry jobs through [`ledger`].
//!
//! To add a job: write `<domain>/<job>.rs` with a struct implementing
//! [`Job`] (`type Context = JobContext`), add it to [`registry`], and if it
//! runs daily, to [`SCHEDULE`].

pub mod ledger;
pub mod noop;

use std::sync::Arc;

use anyhow::Context as _;
use platform::{config::Config, storage::Storage};
use sea_orm::DatabaseConnection;
use worker::{
    delivery::{Mailer, NotifyClient, SmsSender},
    job::Registry,
    queue::Queue,
    runner::{Runner, Shutdown},
    scheduler::Daily,
};

use crate::{
    casework::task_reminders::TaskReminders,
    documents::scan_document::ScanDocument,
    exports::{expire_exports::ExpireExports, export_payments::ExportPayments},
    housing_costs::apply::ApplyHousingCosts,
    identity::inactivity_sweep::InactivitySweep,
    notifications::{send_email::SendEmail, send_sms::SendSms},
    webhooks::{deliver::DeliverWebhook, prune::PruneWebhookLog},
};

#[allow(unused_imports)]
use worker::job::Job;

/// What a running job can use. Built once per worker process.
pub struct JobContext {
    /// Database pool.
    pub db: DatabaseConnection,
    /// Service configuration.
    pub config: Arc<Config>,
    /// Email transport (SMTP, GOV.UK Notify or `.eml` files).
    pub mailer: Mailer,
    /// SMS transport (GOV.UK Notify or log file).
    pub sms: SmsSender,
    /// Documents, exports and uploaded CSVs.
    pub storage: Storage,
}

impl JobContext {
    /// Builds the delivery transports and storage from the configuration.
    pub async fn new(config: Arc<Config>, db: DatabaseConnection) -> anyhow::Result<Self> {
        use platform::config::{EmailTransport, SmsTransport};
        use secrecy::ExposeSecret;
        // Configuration has checked that a `notify` transport has a key.
        let notify = || -> anyhow::Result<NotifyClient> {
            let notify = config
                .notify
                .as_ref()
                .context("a notify transport without PORTAL_NOTIFY_API_KEY")?;
            Ok(NotifyClient::new(
                notify.base_url.clone(),
                notify.service_id,
                notify.secret_key.clone(),
            )?)
        };
        let mailer = match &config.mail.transport {
            EmailTransport::Smtp(url) => Mailer::smtp(url.expose_secret())?,
            EmailTransport::Notify { template_id } => Mailer::notify(notify()?, *template_id),
            EmailTransport::File => Mailer::file(&config.outbox_dir())?,
        };
        let sms = match &config.sms.transport {
            SmsTransport::Notify { template_id } => SmsSender::notify(notify()?, *template_id),
            SmsTransport::File => SmsSender::log_file(config.outbox_dir().join("sms.log")),
        };
        let storage = Storage::from_config(&config)
            .await
            .context("storage unusable (PORTAL_DATA_DIR or PORTAL_S3_*)")?;
        Ok(Self {
            db,
            config,
            mailer,
            sms,
            storage,
        })
    }
}

/// Every job of the portal, by name.
pub fn registry() -> Registry<JobContext> {
    Registry::new()
        .register::<SendEmail>()
        .register::<SendSms>()
        .register::<ScanDocument>()
        .register::<ExportPayments>()
        .register::<ExpireExports>()
        .register::<ApplyHousingCosts>()
        .register::<InactivitySweep>()
        .register::<TaskReminders>()
        .register::<DeliverWebhook>()
        .register::<PruneWebhookLog>()
        .register::<noop::Noop>()
}

/// The 90-day sweep: 02:00 UTC, a quiet hour in the UK in both summer and
/// winter time.
pub const INACTIVITY_SWEEP: Daily = Daily::of::<InactivitySweep>("inactivity sweep", 2, 0);
/// The expiry of payments exports: 03:00 UTC, after the sweep.
pub const EXPORT_EXPIRY: Daily = Daily::of::<ExpireExports>("payments export expiry", 3, 0);
/// The task reminders: 06:00 UTC, so the emails are waiting at the start of
/// the working day.
pub const TASK_REMINDERS: Daily = Daily::of::<TaskReminders>("task reminders", 6, 0);

/// The pruning of the webhook delivery log: 03:30 UTC, after the exports.
pub const WEBHOOK_LOG_PRUNE: Daily = Daily::of::<PruneWebhookLog>("webhook log pruning", 3, 30);

/// The daily schedule: every job the worker's clock enqueues once a day
/// (see `worker::scheduler` for the once-a-day rule).
pub const SCHEDULE: &[Daily] = &[
    INACTIVITY_SWEEP,
    EXPORT_EXPIRY,
    WEBHOOK_LOG_PRUNE,
    TASK_REMINDERS,
];

/// A runner of every job of the portal (used by the worker process and by
/// the test harness).
pub async fn runner(
    config: Arc<Config>,
    db: DatabaseConnection,
) -> anyhow::Result<Runner<JobContext>> {
    let ctx = JobContext::new(config.clone(), db.clone()).await?;
    Ok(Runner::new(
        Arc::new(ctx),
        db,
        registry(),
        config.jobs.clone(),
    ))
}

/// Runs a complete worker process (schedule, relay, queue consumer) until
/// `shutdown`.
pub async fn run_worker(
    config: Arc<Config>,
    db: DatabaseConnection,
    queue: Queue,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let runner = Arc::new(runner(config, db).await?);
    worker::runner::run_worker(runner, queue, SCHEDULE, shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_has_one_name() {
        // `register` panics on a duplicate name; this builds the registry.
        let names = registry().names();
        assert_eq!(names.len(), 11, "{names:?}");
    }

    #[test]
    fn the_schedule_is_in_time_order() {
        let times: Vec<_> = SCHEDULE.iter().map(|d| d.at).collect();
        let mut sorted = times.clone();
        sorted.sort();
        assert_eq!(times, sorted);
    }
}
