//! "I don't recognise this case": a party's report that they can see a case
//! they have nothing to do with, and the staff to-do it becomes.
//!
//! The Ombudsman seed: "By design, portal users should only be able to see
//! cases which they are involved in. If you have access to cases which you
//! do not recognise, please contact us as soon as possible and let us know."
//! A wrong party on a case is a data breach in the making, so the report is
//! made from the case itself (no email address to look up) and reaches staff
//! at once:
//!
//! - [`report`] writes an `OPEN` report, assigned to the case owner (if the
//!   case has an active one), audited (`case.access_reported`), and emails
//!   the owner, or every service administrator when there is no owner to
//!   tell (`case_access_reported`). Reporting the same case again while the
//!   first report is open answers that report and sends nothing more, so a
//!   double click is no second alarm. A closed case can be reported too: the
//!   report changes nothing on the case, and a closed case is still visible.
//! - [`list`] is the staff queue (and a party's own reports).
//! - [`resolve`] records what staff found and did (e.g. "removed the wrong
//!   resident from the case"), audited (`case.access_report_resolved`). The
//!   fix itself is the ordinary back-office change (`removeCaseParty`).

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, IntoActiveModel, QueryFilter,
    QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use entities::{
    AccessReportStatus, StaffRole, UserKind, UserStatus, case, case_access_report, user,
};

use super::{MAX_BODY, staff_reader, text};
use crate::{
    app::App,
    audit::{self, Entry},
    error::{ApiError, ApiResult},
    lists::Total,
    notifications::{self, Recipient, templates::EmailTemplate},
    policy::{self, Allowed, Staff, cases::Reader},
};

/// Which reports to list.
#[derive(Debug, Clone, Default)]
pub struct ReportFilter {
    /// Only reports in this state.
    pub status: Option<AccessReportStatus>,
    /// Only reports about this case.
    pub case_id: Option<Uuid>,
    /// Only reports assigned to the caller (staff: "my to-do").
    pub assigned_to_me: bool,
}

/// A party reports `case_id` as a case they do not recognise (see the
/// module docs). `comment` is optional, at most 2000 characters.
pub async fn report(
    app: &App,
    reporter: &Allowed<Reader>,
    case_id: Uuid,
    comment: Option<&str>,
) -> ApiResult<case_access_report::Model> {
    let comment = comment
        .filter(|c| !c.trim().is_empty())
        .map(|c| text("input.comment", c, MAX_BODY))
        .transpose()?;
    let txn = platform::db::begin_write(&app.db).await?;
    // Visible to the reporter (else NOT_FOUND, like any case they cannot
    // see), and locked so that two reports at once make one.
    let case = policy::cases::find_visible(&txn, **reporter, case_id).await?;
    case::Entity::find_by_id(case.id)
        .lock_exclusive()
        .one(&txn)
        .await?;
    let open = case_access_report::Entity::find()
        .filter(case_access_report::Column::CaseId.eq(case.id))
        .filter(case_access_report::Column::ReportedByUserId.eq(reporter.user_id))
        .filter(case_access_report::Column::Status.eq(AccessReportStatus::Open))
        .one(&txn)
        .await?;
    if let Some(open) = open {
        return Ok(open);
    }
    let me = user::Entity::find_by_id(reporter.user_id)
        .one(&txn)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let owner = match case.owner_user_id {
        Some(id) => {
            user::Entity::find_by_id(id)
                .filter(user::Column::Status.eq(UserStatus::Active))
                .one(&txn)
                .await?
        }
        None => None,
    };
    let now = Utc::now();
    let row = case_access_report::ActiveModel {
        id: Set(Uuid::now_v7()),
        case_id: Set(case.id),
        reported_by_user_id: Set(me.id),
        reporter_organisation_id: Set(me.organisation_id.filter(|_| me.kind == UserKind::Landlord)),
        comment: Set(comment.clone()),
        status: Set(AccessReportStatus::Open),
        assigned_to_user_id: Set(owner.as_ref().map(|o| o.id)),
        resolution: Set(None),
        resolved_at: Set(None),
        resolved_by_user_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let tell = match owner {
        Some(owner) => vec![owner],
        None => {
            user::Entity::find()
                .filter(user::Column::Kind.eq(UserKind::Staff))
                .filter(user::Column::StaffRole.eq(StaffRole::ServiceAdmin))
                .filter(user::Column::Status.eq(UserStatus::Active))
                .all(&txn)
                .await?
        }
    };
    let reporter_name = format!("{} {}", me.first_name, me.last_name);
    for staff in tell {
        notifications::queue_email(
            &txn,
            &Recipient {
                address: staff.email.clone(),
                user_id: Some(staff.id),
            },
            EmailTemplate::CaseAccessReported,
            json!({
                "first_name": staff.first_name,
                "case_reference": case.reference,
                "reported_by": reporter_name,
                "reporter_kind": if me.kind == UserKind::Landlord { "landlord user" } else { "resident" },
                "comment": comment,
                "is_owner": case.owner_user_id == Some(staff.id),
            }),
        )
        .await?;
    }
    record(&txn, reporter.actor(), "case.access_reported", None, &row).await?;
    txn.commit().await?;
    Ok(row)
}

/// A page of the reports `reader` may see, newest first, after the report
/// `after`, whether more follow, and the list's total (counted on demand).
pub async fn list(
    app: &App,
    reader: Reader,
    filter: &ReportFilter,
    after: Option<Uuid>,
    limit: u64,
) -> ApiResult<(Vec<case_access_report::Model>, bool, Total)> {
    let select = case_access_report::Entity::find().filter(condition(reader, filter));
    let total = Total::of(&select);
    let (rows, more) = platform::db::newest_first(
        &app.db,
        select,
        case_access_report::Column::Id,
        after,
        limit,
    )
    .await?;
    Ok((rows, more, total))
}

fn condition(reader: Reader, filter: &ReportFilter) -> Condition {
    let mut condition = policy::access_reports::visible(reader);
    if let Some(status) = filter.status {
        condition = condition.add(case_access_report::Column::Status.eq(status));
    }
    if let Some(case_id) = filter.case_id {
        condition = condition.add(case_access_report::Column::CaseId.eq(case_id));
    }
    if filter.assigned_to_me {
        condition = condition.add(case_access_report::Column::AssignedToUserId.eq(reader.user_id));
    }
    condition
}

/// Staff resolve an open report, saying what they found and did (required,
/// at most 2000 characters). A resolved report is `CONFLICT`.
pub async fn resolve(
    app: &App,
    staff: &Allowed<Staff>,
    id: Uuid,
    resolution: &str,
) -> ApiResult<case_access_report::Model> {
    let resolution = text("input.resolution", resolution, MAX_BODY)?;
    let txn = platform::db::begin_write(&app.db).await?;
    let before = policy::access_reports::find_visible(&txn, staff_reader(staff), id).await?;
    let locked = case_access_report::Entity::find_by_id(before.id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound("Case access report"))?;
    if locked.status != AccessReportStatus::Open {
        return Err(ApiError::Conflict(
            "This report has already been resolved.".into(),
        ));
    }
    let now = Utc::now();
    let mut model = locked.clone().into_active_model();
    model.status = Set(AccessReportStatus::Resolved);
    model.resolution = Set(Some(resolution));
    model.resolved_at = Set(Some(now));
    model.resolved_by_user_id = Set(Some(staff.user_id));
    model.updated_at = Set(now);
    let after = model.update(&txn).await?;
    record(
        &txn,
        staff.actor(),
        "case.access_report_resolved",
        Some(&locked),
        &after,
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// The audit entry, about the report (target `case_access_report`), readable
/// by the reporter's organisation's administrators for a landlord user.
async fn record(
    conn: &impl sea_orm::ConnectionTrait,
    actor: &audit::Actor,
    action: &str,
    before: Option<&case_access_report::Model>,
    after: &case_access_report::Model,
) -> ApiResult<()> {
    audit::record(
        conn,
        actor,
        Entry {
            action,
            target_type: "case_access_report",
            target_id: Some(after.id),
            organisation_id: after.reporter_organisation_id,
        },
        before.and_then(audit::snapshot),
        audit::snapshot(after),
    )
    .await
}
