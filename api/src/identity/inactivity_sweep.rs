//! The daily 90-day inactivity sweep (UC seed: "user accounts will be
//! automatically deactivated if there is no login for 90 days").
//!
//! A user's *last activity* is `COALESCE(last_login_at, invited_at,
//! created_at)`: their last sign-in, or for an invitee who never signed in the
//! invitation. Each run, in this order:
//!
//! 1. **Deactivates** users inactive for 90 days: `status = DEACTIVATED`,
//!    `deactivated_at`, `mobile_number = NULL` (the email address and the number
//!    are free for reuse: the unique indexes ignore deactivated rows), every
//!    session revoked, an `account_deactivated` email (`by_administrator:
//!    false`) and an audit entry `user.deactivated_inactive` with no actor.
//! 2. **Warns** users inactive for 76 days who have not been warned since their
//!    last activity: `inactivity_warned_at = now` and an `inactivity_warning`
//!    email giving the date of deactivation. Signing in moves the last activity
//!    past the warning, so the next idle spell is warned again.
//!
//! Who is swept (decisions the seeds leave open):
//! - **Residents and landlord users; never staff.** Staff accounts belong to
//!   the public body's back office, whose joiners-and-leavers process governs
//!   them; a caseworker on long leave must not come back to a closed account
//!   and orphaned cases.
//! - **`ACTIVE` and `SUSPENDED` users are deactivated.** A suspension is the
//!   organisation's own pause and no reason to keep an idle account forever.
//! - **`RESTRICTED` users are left alone**: the restriction is staff's decision
//!   under the acceptable-use policy, and deactivating would free the email
//!   address for the organisation to re-invite, lifting it by the back door.
//! - **Only `ACTIVE` users are warned**: the warning says "sign in before
//!   then", which a suspended user cannot do.
//!
//! How (the sweep must cope with a million users and with two workers running
//! it at once):
//! - **Set-based, in batches.** Each batch is one conditional `UPDATE users ...
//!   WHERE id IN (SELECT id ... ORDER BY id LIMIT n) RETURNING ...`, then the
//!   batch's sessions, deliveries, outbox jobs and audit entries are written
//!   with multi-row statements, and the whole batch commits in one transaction:
//!   never an email for a deactivation that rolled back, never a deactivation
//!   without its email. Batches walk the users by id (keyset), so a run reads
//!   the table once rather than once per batch, and no transaction holds more
//!   than one batch of rows.
//! - **Idempotent and concurrency-safe.** The `UPDATE` re-checks the whole
//!   predicate, so a user already deactivated (or warned) is not matched again.
//!   On PostgreSQL the id subquery takes `FOR UPDATE SKIP LOCKED`, so two sweeps
//!   split the users between them instead of queueing on the same rows; on
//!   SQLite [`platform::db::begin_write`] serialises writers. A sweep that fails
//!   half-way keeps its committed batches; its retry does what is left.
//! - **The audit `before`.** `RETURNING` sees only the new row, so the previous
//!   status could not be returned by the `UPDATE`; deactivation therefore runs
//!   once per swept status (`status = 'ACTIVE'`, then `'SUSPENDED'`), which
//!   gives the audit entry its `before` and lets the status index narrow the
//!   rarer status's pass.
//! - **Portable SQL.** Timestamps and ids are always bound (chrono and `Uuid`
//!   values), never `now()`: SQLite stores timestamps as RFC 3339 text, compared
//!   as text, so both sides must be written by the same encoder.
//!
//! The run is relative to the time it runs, not to the job's `day`: a sweep
//! that runs late, or a day the scheduler missed, is caught up by the next run.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, FromQueryResult, Value};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use entities::{UserKind, UserStatus};

use worker::{
    job::{Attempt, Job, JobError},
    outbox::{insert_rows, stmt},
    scheduler::DailyJob,
};

use crate::{
    jobs::JobContext,
    notifications::templates::EmailTemplate,
    notifications::{self, Recipient},
};

/// Days without a sign-in after which an account is deactivated.
pub const DEACTIVATE_AFTER_DAYS: i64 = 90;
/// Days without a sign-in after which the user is warned.
pub const WARN_AFTER_DAYS: i64 = 76;
/// Users per transaction. Big enough that a million users take a few hundred
/// statements, small enough that a batch holds its locks for well under a second.
pub const BATCH_SIZE: u64 = 2000;
/// The audit action of a deactivation by the sweep.
pub const AUDIT_ACTION: &str = "user.deactivated_inactive";

/// The statuses deactivated by the sweep (see the module docs for why not
/// `RESTRICTED`).
const DEACTIVATED_FROM: [UserStatus; 2] = [UserStatus::Active, UserStatus::Suspended];

/// A user's last activity, in SQL.
const LAST_ACTIVE: &str = "COALESCE(last_login_at, invited_at, created_at)";

/// Run the sweep for one day. The day only names the run: its dedupe key makes
/// any number of schedulers enqueue it once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InactivitySweep {
    /// The (UTC) day this run is for.
    pub day: NaiveDate,
}

impl Job for InactivitySweep {
    type Context = JobContext;
    const JOB_NAME: &'static str = "inactivity_sweep";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::JOB_NAME, self.day))
    }

    async fn run(&self, ctx: Arc<JobContext>, _attempt: Attempt) -> Result<(), JobError> {
        let report = sweep(&ctx.db, Utc::now(), BATCH_SIZE).await?;
        tracing::info!(
            day = %self.day,
            deactivated = report.deactivated,
            warned = report.warned,
            "inactivity sweep done"
        );
        Ok(())
    }
}

impl DailyJob for InactivitySweep {
    fn for_day(day: NaiveDate) -> Self {
        Self { day }
    }
}

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Users deactivated by this run.
    pub deactivated: u64,
    /// Users warned by this run.
    pub warned: u64,
}

/// A user changed by a batch, as `RETURNING` gives it.
#[derive(Debug, FromQueryResult)]
struct SweptUser {
    id: Uuid,
    email: String,
    first_name: String,
    organisation_id: Option<Uuid>,
    last_login_at: Option<DateTime<Utc>>,
    invited_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl SweptUser {
    fn last_active(&self) -> DateTime<Utc> {
        self.last_login_at
            .or(self.invited_at)
            .unwrap_or(self.created_at)
    }

    fn recipient(&self) -> Recipient {
        Recipient {
            address: self.email.clone(),
            user_id: Some(self.id),
        }
    }
}

/// Runs the sweep as of `now`, `batch_size` users per transaction: first
/// [`deactivate_idle`], then [`warn_idle`]. Safe to run concurrently with
/// itself. Public so tests and the benchmark can drive it with a chosen clock
/// and batch size.
pub async fn sweep(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    batch_size: u64,
) -> Result<SweepReport, DbErr> {
    Ok(SweepReport {
        deactivated: deactivate_idle(db, now, batch_size).await?,
        warned: warn_idle(db, now, batch_size).await?,
    })
}

/// The first half of the sweep: deactivates every user due. Returns how many.
pub async fn deactivate_idle(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    batch_size: u64,
) -> Result<u64, DbErr> {
    let mut total = 0;
    for from in DEACTIVATED_FROM {
        let mut after = Uuid::nil();
        while let (n, Some(last)) = deactivate_batch(db, now, from, after, batch_size).await? {
            total += n;
            after = last;
        }
    }
    Ok(total)
}

/// The second half of the sweep: warns every user due a warning. Returns how many.
pub async fn warn_idle(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    batch_size: u64,
) -> Result<u64, DbErr> {
    let mut total = 0;
    let mut after = Uuid::nil();
    while let (n, Some(last)) = warn_batch(db, now, after, batch_size).await? {
        total += n;
        after = last;
    }
    Ok(total)
}

/// `FOR UPDATE SKIP LOCKED` where the backend has it (see the module docs).
fn skip_locked(backend: DbBackend) -> &'static str {
    if backend == DbBackend::Postgres {
        "FOR UPDATE SKIP LOCKED"
    } else {
        ""
    }
}

/// Deactivates up to `limit` users of status `from` with ids after `after`, in
/// one transaction. Returns how many, and the largest id (`None`: none left).
async fn deactivate_batch(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    from: UserStatus,
    after: Uuid,
    limit: u64,
) -> Result<(u64, Option<Uuid>), DbErr> {
    let txn = platform::db::begin_write(db).await?;
    let backend = txn.get_database_backend();
    // $1 now, $2 status swept, $3 staff, $4 cutoff, $5 keyset, $6 limit, $7 deactivated
    let due = format!("status = $2 AND kind <> $3 AND {LAST_ACTIVE} < $4");
    let sql = format!(
        "UPDATE users SET status = $7, deactivated_at = $1, mobile_number = NULL, updated_at = $1 \
         WHERE id IN (SELECT id FROM users WHERE {due} AND id > $5 ORDER BY id LIMIT $6 {lock}) \
           AND {due} \
         RETURNING id, email, first_name, organisation_id, last_login_at, invited_at, created_at",
        lock = skip_locked(backend),
    );
    let users = SweptUser::find_by_statement(stmt(
        backend,
        &sql,
        vec![
            now.into(),
            from.as_str().into(),
            UserKind::Staff.as_str().into(),
            (now - Duration::days(DEACTIVATE_AFTER_DAYS)).into(),
            after.into(),
            (limit as i64).into(),
            UserStatus::Deactivated.as_str().into(),
        ],
    ))
    .all(&txn)
    .await?;
    let Some(last) = users.iter().map(|u| u.id).max() else {
        txn.rollback().await?;
        return Ok((0, None));
    };

    // Every session ends (the API refuses a deactivated user's token anyway; a
    // revoked session also disappears from "your sessions" lists and exports).
    let mut values: Vec<Value> = vec![now.into()];
    values.extend(users.iter().map(|u| Value::from(u.id)));
    let placeholders: Vec<String> = (2..=values.len()).map(|i| format!("${i}")).collect();
    txn.execute_raw(stmt(
        backend,
        &format!(
            "UPDATE sessions SET revoked_at = $1 WHERE revoked_at IS NULL AND user_id IN ({})",
            placeholders.join(", ")
        ),
        values,
    ))
    .await?;

    notifications::queue_emails(
        &txn,
        EmailTemplate::AccountDeactivated,
        users
            .iter()
            .map(|u| {
                let params = json!({
                    "first_name": u.first_name,
                    "by_administrator": false,
                    "organisation_member": u.organisation_id.is_some(),
                });
                (u.recipient(), params)
            })
            .collect(),
    )
    .await?;

    let audit = users
        .iter()
        .map(|u| {
            let before = json!({
                "status": from.as_str(),
                "last_login_at": u.last_login_at,
                "inactive_since": u.last_active(),
            });
            let after = json!({
                "status": UserStatus::Deactivated.as_str(),
                "deactivated_at": now,
            });
            vec![
                Uuid::now_v7().into(),
                u.organisation_id.into(),
                u.id.into(),
                before.into(),
                after.into(),
            ]
        })
        .collect();
    // Actor columns stay NULL: the system did it.
    insert_rows(
        &txn,
        "audit_log",
        &[
            "id",
            "organisation_id",
            "action",
            "target_type",
            "target_id",
            "before",
            "after",
            "created_at",
        ],
        &["$", "$", "$1", "$2", "$", "$", "$", "$3"],
        vec![AUDIT_ACTION.into(), "user".into(), now.into()],
        audit,
    )
    .await?;
    txn.commit().await?;
    tracing::debug!(count = users.len(), from = %from, "inactivity sweep: batch deactivated");
    Ok((users.len() as u64, Some(last)))
}

/// Warns up to `limit` users with ids after `after`, in one transaction.
/// Returns how many, and the largest id (`None`: none left).
async fn warn_batch(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    after: Uuid,
    limit: u64,
) -> Result<(u64, Option<Uuid>), DbErr> {
    let txn = platform::db::begin_write(db).await?;
    let backend = txn.get_database_backend();
    // $1 now, $2 active, $3 staff, $4 warn cutoff, $5 deactivation cutoff, $6 keyset, $7 limit.
    // "Not warned since the last activity" is what makes the warning once per
    // idle spell; the lower bound leaves users already due to the deactivation.
    let due = format!(
        "status = $2 AND kind <> $3 AND {LAST_ACTIVE} < $4 AND {LAST_ACTIVE} >= $5 \
         AND (inactivity_warned_at IS NULL OR inactivity_warned_at < {LAST_ACTIVE})"
    );
    let sql = format!(
        "UPDATE users SET inactivity_warned_at = $1, updated_at = $1 \
         WHERE id IN (SELECT id FROM users WHERE {due} AND id > $6 ORDER BY id LIMIT $7 {lock}) \
           AND {due} \
         RETURNING id, email, first_name, organisation_id, last_login_at, invited_at, created_at",
        lock = skip_locked(backend),
    );
    let users = SweptUser::find_by_statement(stmt(
        backend,
        &sql,
        vec![
            now.into(),
            UserStatus::Active.as_str().into(),
            UserKind::Staff.as_str().into(),
            (now - Duration::days(WARN_AFTER_DAYS)).into(),
            (now - Duration::days(DEACTIVATE_AFTER_DAYS)).into(),
            after.into(),
            (limit as i64).into(),
        ],
    ))
    .all(&txn)
    .await?;
    let Some(last) = users.iter().map(|u| u.id).max() else {
        txn.rollback().await?;
        return Ok((0, None));
    };
    notifications::queue_emails(
        &txn,
        EmailTemplate::InactivityWarning,
        users
            .iter()
            .map(|u| {
                let (days_remaining, deactivates_on) = remaining(u.last_active(), now);
                let params = json!({
                    "first_name": u.first_name,
                    "days_remaining": days_remaining,
                    "deactivates_on": deactivates_on.to_string(),
                    "organisation_member": u.organisation_id.is_some(),
                });
                (u.recipient(), params)
            })
            .collect(),
    )
    .await?;
    txn.commit().await?;
    tracing::debug!(count = users.len(), "inactivity sweep: batch warned");
    Ok((users.len() as u64, Some(last)))
}

/// Days until deactivation (90 minus the whole days inactive) and that day.
///
/// The sweep runs daily at the same time, so a user `d` whole days (and some
/// hours) inactive now crosses 90 days before the sweep `90 - d` days from now,
/// which is the one that deactivates them: the date is that sweep's, not the
/// moment the 90 days end.
pub fn remaining(last_active: DateTime<Utc>, now: DateTime<Utc>) -> (i64, NaiveDate) {
    let days = DEACTIVATE_AFTER_DAYS - (now - last_active).num_days();
    (days, now.date_naive() + Duration::days(days))
}
