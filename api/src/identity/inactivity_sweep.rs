//! The daily 90-day inactivity sweep (UC seed: "user accounts will be
//! automatically deactivated if there is no login for 90 days").
//!
//! A user's *last activity* is `COALESCE(last_login_at, invited_at,
//! created_at)`: their last sign-in, or for an invitee who never signed in the
//! invitation. For a resident it is also the closing of their most recent
//! case, when that is later (see below). Each run, in this order:
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
//! 3. **Keeps, and tells staff about,** an organisation's last user manager
//!    (below): every active service administrator gets one
//!    `last_manager_kept` email per idle spell, and the audit log one
//!    `user.sweep_kept_last_manager` entry.
//!
//! Who is swept (decisions the seeds leave open):
//! - **Residents and landlord users; never staff.** Staff accounts belong to
//!   the public body's back office, whose joiners-and-leavers process governs
//!   them; a caseworker on long leave must not come back to a closed account
//!   and orphaned cases.
//! - **Never a resident with an open case**, neither warned nor deactivated:
//!   the case is why they have the account, and a complainant waiting for a
//!   decision may well not sign in for months. Closing the case starts their
//!   90 days again (the closing counts as their last activity), so they are
//!   warned 76 days after it and deactivated 14 days later, never behind their
//!   back.
//! - **Never an organisation's last user manager.** A landlord user with
//!   `MANAGE_USERS` is not deactivated while no other active user of the
//!   organisation with that permission has been active within the 90 days:
//!   deactivating them would leave nobody to manage the organisation's users
//!   (two idle managers are both kept: each is the other's only cover). They
//!   are warned like anyone; at 90 days the sweep keeps them and tells the
//!   service administrators, who can help the organisation (invite or
//!   promote someone, then deactivate). The sweep never decides alone.
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

use entities::{Permission, StaffRole, UserKind, UserStatus};

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

/// The audit action of keeping an organisation's last user manager.
pub const KEPT_AUDIT_ACTION: &str = "user.sweep_kept_last_manager";

/// A user's last sign-in or invitation, in SQL.
const SIGNED_IN: &str = "COALESCE(last_login_at, invited_at, created_at)";

/// A user's last activity, in SQL (see the module docs): the closing of a
/// resident's most recent case when it came after their last sign-in (only
/// residents are parties by `user_id`), else the last sign-in or invitation.
/// One correlated subquery a row (its columns qualified: `cases` and
/// `case_parties` have a `created_at` too).
fn last_active() -> String {
    format!(
        "COALESCE((SELECT MAX(c.closed_at) FROM case_parties cp \
           JOIN cases c ON c.id = cp.case_id \
           WHERE cp.user_id = users.id \
             AND c.closed_at > COALESCE(users.last_login_at, users.invited_at, users.created_at)), \
         {SIGNED_IN})"
    )
}

/// Whether a user is a resident with an open case, in SQL.
const HAS_OPEN_CASE: &str = "EXISTS (SELECT 1 FROM case_parties cp JOIN cases c \
     ON c.id = cp.case_id WHERE cp.user_id = users.id AND c.closed_at IS NULL)";

/// Whether a user is their organisation's last user manager, in SQL: they have
/// `MANAGE_USERS` and no other active user of the organisation with it was
/// active since `cutoff` (a placeholder such as `$4`).
fn last_manager(cutoff: &str) -> String {
    format!(
        "(kind = '{landlord}' \
         AND EXISTS (SELECT 1 FROM user_permissions p \
             WHERE p.user_id = users.id AND p.permission = '{manage}') \
         AND NOT EXISTS (SELECT 1 FROM users o JOIN user_permissions op ON op.user_id = o.id \
             WHERE o.organisation_id = users.organisation_id AND o.id <> users.id \
               AND o.status = '{active}' AND op.permission = '{manage}' \
               AND COALESCE(o.last_login_at, o.invited_at, o.created_at) >= {cutoff}))",
        landlord = UserKind::Landlord.as_str(),
        manage = Permission::ManageUsers.as_str(),
        active = UserStatus::Active.as_str(),
    )
}

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
    /// Works through every account in batches.
    const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30 * 60);

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
    /// Last user managers kept (and reported to staff) by this run.
    pub kept: u64,
}

/// A user changed by a batch, as `RETURNING` gives it.
#[derive(Debug, FromQueryResult)]
struct SweptUser {
    id: Uuid,
    email: String,
    first_name: String,
    organisation_id: Option<Uuid>,
    last_login_at: Option<DateTime<Utc>>,
    last_active: DateTime<Utc>,
}

impl SweptUser {
    fn last_active(&self) -> DateTime<Utc> {
        self.last_active
    }

    fn recipient(&self) -> Recipient {
        Recipient {
            address: self.email.clone(),
            user_id: Some(self.id),
        }
    }
}

/// Runs the sweep as of `now`, `batch_size` users per transaction: first
/// [`deactivate_idle`], then [`warn_idle`], then [`keep_last_managers`]. Safe
/// to run concurrently with itself. Public so tests and the benchmark can drive it with a chosen clock
/// and batch size.
pub async fn sweep(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    batch_size: u64,
) -> Result<SweepReport, DbErr> {
    Ok(SweepReport {
        deactivated: deactivate_idle(db, now, batch_size).await?,
        warned: warn_idle(db, now, batch_size).await?,
        kept: keep_last_managers(db, now).await?,
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

/// An organisation's last user manager, idle for 90 days, not yet reported
/// in this idle spell.
#[derive(Debug, FromQueryResult)]
struct KeptManager {
    id: Uuid,
    email: String,
    first_name: String,
    last_name: String,
    organisation_id: Option<Uuid>,
    organisation_name: Option<String>,
    last_active: DateTime<Utc>,
}

/// A service administrator to tell.
#[derive(Debug, FromQueryResult)]
struct ServiceAdmin {
    id: Uuid,
    email: String,
    first_name: String,
}

/// The third part of the sweep: every organisation's last user manager whom
/// the 90 days would deactivate is kept instead, and the service
/// administrators are told, once per idle spell (an audit entry
/// `user.sweep_kept_last_manager` since the user's last activity means they
/// were told already). Returns how many were reported.
pub async fn keep_last_managers(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let txn = platform::db::begin_write(db).await?;
    let backend = txn.get_database_backend();
    // $1 cutoff, $2 active, $3 suspended, $4 the audit action.
    let sql = format!(
        "SELECT id, email, first_name, last_name, organisation_id, \
           (SELECT name FROM organisations WHERE organisations.id = users.organisation_id) \
             AS organisation_name, \
           {last_active} AS last_active \
         FROM users \
         WHERE status IN ($2, $3) AND {last_active} < $1 AND {last_manager} \
           AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.target_id = users.id \
             AND a.action = $4 \
             AND a.created_at >= COALESCE(users.last_login_at, users.invited_at, users.created_at)) \
         ORDER BY id",
        last_active = last_active(),
        last_manager = last_manager("$1"),
    );
    let kept = KeptManager::find_by_statement(stmt(
        backend,
        &sql,
        vec![
            (now - Duration::days(DEACTIVATE_AFTER_DAYS)).into(),
            UserStatus::Active.as_str().into(),
            UserStatus::Suspended.as_str().into(),
            KEPT_AUDIT_ACTION.into(),
        ],
    ))
    .all(&txn)
    .await?;
    if kept.is_empty() {
        txn.rollback().await?;
        return Ok(0);
    }
    let admins = ServiceAdmin::find_by_statement(stmt(
        backend,
        "SELECT id, email, first_name FROM users \
         WHERE kind = $1 AND staff_role = $2 AND status = $3 ORDER BY id",
        vec![
            UserKind::Staff.as_str().into(),
            StaffRole::ServiceAdmin.as_str().into(),
            UserStatus::Active.as_str().into(),
        ],
    ))
    .all(&txn)
    .await?;
    let mut emails = Vec::with_capacity(kept.len() * admins.len());
    for user in &kept {
        for admin in &admins {
            emails.push((
                Recipient {
                    address: admin.email.clone(),
                    user_id: Some(admin.id),
                },
                json!({
                    "first_name": admin.first_name,
                    "user_name": format!("{} {}", user.first_name, user.last_name),
                    "user_email": user.email,
                    "organisation_name": user.organisation_name,
                    "organisation_id": user.organisation_id,
                    "inactive_since": crate::calendar::uk_date(user.last_active).to_string(),
                }),
            ));
        }
    }
    notifications::queue_emails(&txn, EmailTemplate::LastManagerKept, emails).await?;
    let audit = kept
        .iter()
        .map(|u| {
            let after = json!({ "inactive_since": u.last_active, "told": admins.len() });
            vec![
                Uuid::now_v7().into(),
                u.organisation_id.into(),
                u.id.into(),
                after.into(),
            ]
        })
        .collect();
    insert_rows(
        &txn,
        "audit_log",
        &[
            "id",
            "organisation_id",
            "action",
            "target_type",
            "target_id",
            "after",
            "created_at",
        ],
        &["$", "$", "$1", "$2", "$", "$", "$3"],
        vec![KEPT_AUDIT_ACTION.into(), "user".into(), now.into()],
        audit,
    )
    .await?;
    txn.commit().await?;
    tracing::info!(
        kept = kept.len(),
        told = admins.len(),
        "inactivity sweep: kept organisations' last user managers"
    );
    Ok(kept.len() as u64)
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
    let due = format!(
        "status = $2 AND kind <> $3 AND {last_active} < $4 AND NOT {HAS_OPEN_CASE} \
         AND NOT {last_manager}",
        last_active = last_active(),
        last_manager = last_manager("$4"),
    );
    let sql = format!(
        "UPDATE users SET status = $7, deactivated_at = $1, mobile_number = NULL, updated_at = $1 \
         WHERE id IN (SELECT id FROM users WHERE {due} AND id > $5 ORDER BY id LIMIT $6 {lock}) \
           AND {due} \
         RETURNING id, email, first_name, organisation_id, last_login_at, \
           {last_active} AS last_active",
        lock = skip_locked(backend),
        last_active = last_active(),
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
        "status = $2 AND kind <> $3 AND {last_active} < $4 AND {last_active} >= $5 \
         AND (inactivity_warned_at IS NULL OR inactivity_warned_at < {last_active}) \
         AND NOT {HAS_OPEN_CASE}",
        last_active = last_active(),
    );
    let sql = format!(
        "UPDATE users SET inactivity_warned_at = $1, updated_at = $1 \
         WHERE id IN (SELECT id FROM users WHERE {due} AND id > $6 ORDER BY id LIMIT $7 {lock}) \
           AND {due} \
         RETURNING id, email, first_name, organisation_id, last_login_at, \
           {last_active} AS last_active",
        lock = skip_locked(backend),
        last_active = last_active(),
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
    (days, crate::calendar::uk_date(now) + Duration::days(days))
}
