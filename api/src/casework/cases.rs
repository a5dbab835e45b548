//! Cases: the lists (home, open, closed), one case, and the back-office
//! changes (create, parties, owner, details, close, reopen), which take the
//! `Allowed<Staff>` of `policy::cases::can_manage` and read the case through
//! `policy::cases::find_managed`.
//!
//! Closed means Closed (the brief's status list ends with "Closed" and its
//! date): closing sets the status label to [`CLOSED`] (the date is
//! `closedAt`) and keeps the label it replaced, which reopening restores
//! (["Case reopened"](REOPENED) if there is none to restore). A closed case
//! is read-only for everything but reopening: every other change answers
//! `CONFLICT` with reason `CASE_CLOSED` ([`crate::error::ApiError::CaseClosed`]).
//! Because only closing may say "Closed", no open case is given that label
//! (`BAD_USER_INPUT`).

use chrono::{Datelike, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, Order,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set,
    sea_query::{Expr, ExprTrait, Func, SubQueryStatement},
};
use uuid::Uuid;

use entities::{
    PartyKind, TaskStatus, UserKind, UserStatus, case, case_party, organisation, task, user,
};

use super::{MAX_SHORT, reference, text};
use crate::{
    app::App,
    audit::{self, Actor, Entry},
    error::{ApiError, ApiResult},
    lists::{Total, contains, search_words},
    policy::{
        self, Allowed, Staff,
        cases::{Reader, find_managed},
    },
    users::{
        Rejection,
        residents::{self, NewResident},
    },
};

/// The status label of a closed case.
pub const CLOSED: &str = "Closed";

/// The status label of a reopened case that had none to restore (closed
/// before labels were kept).
pub const REOPENED: &str = "Case reopened";

/// A status label staff may set: any short text but [`CLOSED`], which only
/// closing gives (an open case labelled "Closed" would tell the parties the
/// opposite of what is true).
fn status_label(field: &str, value: &str) -> ApiResult<String> {
    let value = text(field, value, MAX_SHORT)?;
    if value.eq_ignore_ascii_case(CLOSED) {
        return Err(ApiError::bad_input(
            field,
            "\"Closed\" is set by closing the case (closeCase).",
        ));
    }
    Ok(value)
}

/// Which cases a list shows.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// `Some(true)`: open cases only; `Some(false)`: closed only.
    pub open: Option<bool>,
    /// Words that must each match the reference, the complainant's name or
    /// the landlord's name (case-insensitive, substring).
    pub search: Option<String>,
    /// Exact case type.
    pub case_type: Option<String>,
    /// Exact status label.
    pub status_label: Option<String>,
}

impl CaseFilter {
    /// A filter from what the client gave: every text has a limit, like
    /// every other input (`BAD_USER_INPUT` on `filter.search`, `filter.type`
    /// or `filter.status`); a blank search is no search.
    pub fn parse(
        open: Option<bool>,
        search: Option<String>,
        case_type: Option<String>,
        status_label: Option<String>,
    ) -> ApiResult<Self> {
        fn bounded(field: &str, value: Option<String>) -> ApiResult<Option<String>> {
            match value {
                Some(v) if v.chars().count() > MAX_SHORT => Err(ApiError::bad_input(
                    field,
                    format!("Must be at most {MAX_SHORT} characters."),
                )),
                other => Ok(other),
            }
        }
        Ok(Self {
            open,
            search: bounded("filter.search", search)?.filter(|s| !s.trim().is_empty()),
            case_type: bounded("filter.type", case_type)?,
            status_label: bounded("filter.status", status_label)?,
        })
    }
}

/// What a list is ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    /// The case reference (year, then sequence).
    Reference,
    /// When the case was created.
    CreatedAt,
    /// The due date of the caller's next outstanding task (cases without
    /// one last).
    NextDue,
    /// When the case was closed (open cases last).
    ClosedAt,
}

/// A page request: sort, offset and size.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// Sort key.
    pub field: SortField,
    /// Descending instead of ascending.
    pub descending: bool,
    /// Rows to skip (from the cursor).
    pub offset: u64,
    /// Rows to return.
    pub limit: u64,
}

/// The earliest due date of the outstanding tasks `reader` sees on the case
/// of the outer query, as a scalar subquery (NULL when there is none).
fn next_due(reader: Reader) -> Expr {
    let query = task::Entity::find()
        .select_only()
        .expr(Expr::col((task::Entity, task::Column::DueDate)).min())
        .filter(
            Expr::col((task::Entity, task::Column::CaseId))
                .equals((case::Entity, case::Column::Id)),
        )
        .filter(task::Column::Status.eq(TaskStatus::Pending))
        .filter(policy::tasks::visible(reader))
        .into_query();
    Expr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(query)))
}

/// A far-future date standing in for "none" so that cases without a date sort
/// last in ascending order on both databases (SQLite sorts NULL first,
/// PostgreSQL last).
fn never() -> NaiveDate {
    NaiveDate::from_ymd_opt(9999, 12, 31).expect("valid date")
}

fn search_condition(search: &str) -> Condition {
    let mut all = Condition::all();
    // `%` and `_` are matched literally (escaped), so a search for `_`
    // finds only what contains an underscore.
    for word in search_words(search) {
        let names = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .filter(
                Condition::any()
                    .add(contains(user::Column::FirstName, &word))
                    .add(contains(user::Column::LastName, &word)),
            )
            .into_query();
        let complainant = case_party::Entity::find()
            .select_only()
            .column(case_party::Column::CaseId)
            .filter(case_party::Column::UserId.in_subquery(names))
            .into_query();
        let landlords = organisation::Entity::find()
            .select_only()
            .column(organisation::Column::Id)
            .filter(contains(organisation::Column::Name, &word))
            .into_query();
        all = all.add(
            Condition::any()
                .add(contains(case::Column::Reference, &word))
                .add(case::Column::Id.in_subquery(complainant))
                .add(case::Column::LandlordOrganisationId.in_subquery(landlords)),
        );
    }
    all
}

/// One page of the cases `reader` may see, whether there are more, and the
/// total of the whole list.
pub async fn list(
    app: &App,
    reader: Reader,
    filter: &CaseFilter,
    page: Page,
) -> ApiResult<(Vec<case::Model>, bool, Total)> {
    let mut query = case::Entity::find().filter(policy::cases::visible(reader));
    match filter.open {
        Some(true) => query = query.filter(case::Column::ClosedAt.is_null()),
        Some(false) => query = query.filter(case::Column::ClosedAt.is_not_null()),
        None => {}
    }
    if let Some(search) = filter.search.as_deref() {
        query = query.filter(search_condition(search));
    }
    if let Some(t) = &filter.case_type {
        query = query.filter(case::Column::CaseType.eq(t.as_str()));
    }
    if let Some(s) = &filter.status_label {
        query = query.filter(case::Column::StatusLabel.eq(s.as_str()));
    }
    let total = Total::of(&query);
    let order = if page.descending {
        Order::Desc
    } else {
        Order::Asc
    };
    query = match page.field {
        SortField::Reference => query.order_by(case::Column::Reference, order.clone()),
        SortField::CreatedAt => query.order_by(case::Column::CreatedAt, order.clone()),
        SortField::NextDue => query.order_by(
            Expr::expr(Func::coalesce([next_due(reader), Expr::val(never())])),
            order.clone(),
        ),
        SortField::ClosedAt => query
            .order_by(Expr::expr(case::Column::ClosedAt.is_null()), Order::Asc)
            .order_by(case::Column::ClosedAt, order.clone()),
    };
    let mut rows = query
        .order_by(case::Column::Id, order)
        .offset(page.offset)
        .limit(page.limit + 1)
        .all(&app.db)
        .await?;
    let has_next = rows.len() as u64 > page.limit;
    rows.truncate(page.limit as usize);
    Ok((rows, has_next, total))
}

/// One case, if `reader` may see it (`NOT_FOUND` otherwise).
pub async fn get(app: &App, reader: Reader, id: Uuid) -> ApiResult<case::Model> {
    policy::cases::find_visible(&app.db, reader, id).await
}

/// [`get`] with the case's owner, in one statement.
pub async fn get_with_owner(
    app: &App,
    reader: Reader,
    id: Uuid,
) -> ApiResult<(case::Model, Option<user::Model>)> {
    policy::cases::find_visible_with_owner(&app.db, reader, id).await
}

/// A new case.
#[derive(Debug, Clone)]
pub struct NewCase {
    /// e.g. "Complaint about a member landlord".
    pub case_type: String,
    /// e.g. "DR2 Review".
    pub stage: String,
    /// e.g. "Case under assessment".
    pub status_label: String,
    /// e.g. "Asbestos".
    pub category: String,
    /// The resident (complainant), if known yet.
    pub resident_user_id: Option<Uuid>,
    /// The landlord organisation, if known yet.
    pub landlord_organisation_id: Option<Uuid>,
    /// The owner (staff); the creator when `None`.
    pub owner_user_id: Option<Uuid>,
}

/// Changes to a case's details (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct CaseChanges {
    /// Case type.
    pub case_type: Option<String>,
    /// Stage.
    pub stage: Option<String>,
    /// Status label.
    pub status_label: Option<String>,
    /// Category.
    pub category: Option<String>,
}

async fn active_user(
    conn: &impl ConnectionTrait,
    id: Uuid,
    kind: UserKind,
    field: &str,
    what: &str,
) -> ApiResult<user::Model> {
    user::Entity::find_by_id(id)
        .filter(user::Column::Kind.eq(kind))
        .filter(user::Column::Status.ne(UserStatus::Deactivated))
        .one(conn)
        .await?
        .ok_or_else(|| ApiError::bad_input(field, format!("Not {what}.")))
}

async fn existing_organisation(
    conn: &impl ConnectionTrait,
    id: Uuid,
    field: &str,
) -> ApiResult<organisation::Model> {
    organisation::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| ApiError::bad_input(field, "Not a landlord organisation."))
}

async fn staff_owner(conn: &impl ConnectionTrait, id: Uuid, field: &str) -> ApiResult<user::Model> {
    active_user(conn, id, UserKind::Staff, field, "a staff member").await
}

fn party(
    case_id: Uuid,
    kind: PartyKind,
    user_id: Option<Uuid>,
    org: Option<Uuid>,
) -> case_party::ActiveModel {
    case_party::ActiveModel {
        id: Set(Uuid::now_v7()),
        case_id: Set(case_id),
        party_kind: Set(kind),
        user_id: Set(user_id),
        organisation_id: Set(org),
        created_at: Set(Utc::now()),
    }
}

/// Creates a case with its reference, parties and owner (the back office).
pub async fn create(app: &App, staff: &Allowed<Staff>, input: NewCase) -> ApiResult<case::Model> {
    let case_type = text("input.caseType", &input.case_type, MAX_SHORT)?;
    let stage = text("input.stage", &input.stage, MAX_SHORT)?;
    let status_label = status_label("input.statusLabel", &input.status_label)?;
    let category = text("input.category", &input.category, MAX_SHORT)?;
    let owner_id = input.owner_user_id.unwrap_or(staff.user_id);
    let now = Utc::now();

    let txn = platform::db::begin_write(&app.db).await?;
    // First statement of the transaction: see `reference`.
    let reference = reference::allocate(&txn, now.year()).await?;
    staff_owner(&txn, owner_id, "input.ownerUserId").await?;
    if let Some(id) = input.resident_user_id {
        active_user(
            &txn,
            id,
            UserKind::Resident,
            "input.residentUserId",
            "a resident",
        )
        .await?;
    }
    if let Some(id) = input.landlord_organisation_id {
        existing_organisation(&txn, id, "input.landlordOrganisationId").await?;
    }
    let id = Uuid::now_v7();
    let created = case::ActiveModel {
        id: Set(id),
        reference: Set(reference),
        case_type: Set(case_type),
        stage: Set(stage),
        status_label: Set(status_label),
        category: Set(category),
        landlord_organisation_id: Set(input.landlord_organisation_id),
        owner_user_id: Set(Some(owner_id)),
        closed_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        status_label_before_close: Set(None),
    }
    .insert(&txn)
    .await?;
    if let Some(user_id) = input.resident_user_id {
        party(id, PartyKind::Resident, Some(user_id), None)
            .insert(&txn)
            .await?;
    }
    if let Some(org) = input.landlord_organisation_id {
        party(id, PartyKind::Landlord, None, Some(org))
            .insert(&txn)
            .await?;
    }
    record(&txn, staff.actor(), "case.create", &created, None).await?;
    txn.commit().await?;
    Ok(created)
}

async fn record(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    after: &case::Model,
    before: Option<&case::Model>,
) -> ApiResult<()> {
    audit::record_change(conn, actor, action, before, after).await
}

/// Changes type, stage, status label and category. Open cases.
pub async fn update(
    app: &App,
    staff: &Allowed<Staff>,
    id: Uuid,
    changes: CaseChanges,
) -> ApiResult<case::Model> {
    let case_type = changes
        .case_type
        .map(|v| text("input.caseType", &v, MAX_SHORT))
        .transpose()?;
    let stage = changes
        .stage
        .map(|v| text("input.stage", &v, MAX_SHORT))
        .transpose()?;
    let status_label = changes
        .status_label
        .map(|v| status_label("input.statusLabel", &v))
        .transpose()?;
    let category = changes
        .category
        .map(|v| text("input.category", &v, MAX_SHORT))
        .transpose()?;
    let txn = platform::db::begin_write(&app.db).await?;
    let before = find_managed(&txn, staff, id, false).await?;
    let mut model = before.clone().into_active_model();
    if let Some(v) = case_type {
        model.case_type = Set(v);
    }
    if let Some(v) = stage {
        model.stage = Set(v);
    }
    if let Some(v) = status_label {
        model.status_label = Set(v);
    }
    if let Some(v) = category {
        model.category = Set(v);
    }
    model.updated_at = Set(Utc::now());
    let after = model.update(&txn).await?;
    record(&txn, staff.actor(), "case.update", &after, Some(&before)).await?;
    txn.commit().await?;
    Ok(after)
}

/// Makes a staff member the case owner. Open cases.
pub async fn assign_owner(
    app: &App,
    staff: &Allowed<Staff>,
    id: Uuid,
    owner_id: Uuid,
) -> ApiResult<case::Model> {
    let txn = platform::db::begin_write(&app.db).await?;
    let before = find_managed(&txn, staff, id, false).await?;
    staff_owner(&txn, owner_id, "ownerUserId").await?;
    let mut model = before.clone().into_active_model();
    model.owner_user_id = Set(Some(owner_id));
    model.updated_at = Set(Utc::now());
    let after = model.update(&txn).await?;
    record(
        &txn,
        staff.actor(),
        "case.assign_owner",
        &after,
        Some(&before),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// Closes (`close == true`) or reopens a case. Closing labels it
/// [`CLOSED`] and keeps the label it had; reopening restores that label (or
/// [`REOPENED`]). Closing a closed case or reopening an open one is a
/// `CONFLICT`.
pub async fn set_closed(
    app: &App,
    staff: &Allowed<Staff>,
    id: Uuid,
    close: bool,
) -> ApiResult<case::Model> {
    let txn = platform::db::begin_write(&app.db).await?;
    let before = find_managed(&txn, staff, id, true).await?;
    if before.closed_at.is_some() == close {
        return Err(ApiError::Conflict(if close {
            "The case is already closed.".into()
        } else {
            "The case is open.".into()
        }));
    }
    let now = Utc::now();
    let mut model = before.clone().into_active_model();
    model.closed_at = Set(close.then_some(now));
    if close {
        model.status_label = Set(CLOSED.to_owned());
        model.status_label_before_close = Set(Some(before.status_label.clone()));
    } else {
        model.status_label = Set(before
            .status_label_before_close
            .clone()
            .unwrap_or_else(|| REOPENED.to_owned()));
        model.status_label_before_close = Set(None);
    }
    model.updated_at = Set(now);
    let after = model.update(&txn).await?;
    let action = if close { "case.close" } else { "case.reopen" };
    record(&txn, staff.actor(), action, &after, Some(&before)).await?;
    txn.commit().await?;
    Ok(after)
}

/// Who a new party is.
#[derive(Debug, Clone)]
pub enum NewParty {
    /// A resident user.
    Resident(Uuid),
    /// A resident who has no account yet: invited
    /// ([`crate::users::residents::create_invited`]) in the same
    /// transaction, so a failure adds nobody and invites nobody.
    NewResident(NewResident),
    /// A landlord organisation (all of its users).
    Landlord(Uuid),
}

/// Adds a party (for a new resident, invites them too). Open cases. A case has at most one landlord organisation
/// (it is the case's "Landlord"), and a resident is on a case once
/// (`CONFLICT` otherwise).
pub async fn add_party(
    app: &App,
    staff: &Allowed<Staff>,
    case_id: Uuid,
    who: NewParty,
) -> Result<case_party::Model, Rejection> {
    let txn = platform::db::begin_write(&app.db).await?;
    let case = find_managed(&txn, staff, case_id, false).await?;
    let row = match who {
        NewParty::NewResident(input) => {
            let created =
                residents::create_invited(&txn, staff.actor(), input, "input.newResident").await?;
            party(case_id, PartyKind::Resident, Some(created.user.id), None)
        }
        NewParty::Resident(user_id) => {
            active_user(
                &txn,
                user_id,
                UserKind::Resident,
                "input.residentUserId",
                "a resident",
            )
            .await?;
            party(case_id, PartyKind::Resident, Some(user_id), None)
        }
        NewParty::Landlord(org) => {
            existing_organisation(&txn, org, "input.organisationId").await?;
            if case.landlord_organisation_id.is_some() {
                return Err(ApiError::Conflict(
                    "The case already has a landlord: remove it first.".into(),
                )
                .into());
            }
            let mut model = case.clone().into_active_model();
            model.landlord_organisation_id = Set(Some(org));
            model.updated_at = Set(Utc::now());
            model.update(&txn).await?;
            party(case_id, PartyKind::Landlord, None, Some(org))
        }
    };
    let created = row.insert(&txn).await.map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            ApiError::Conflict("This party is already on the case.".into())
        }
        _ => e.into(),
    })?;
    audit::record(
        &txn,
        staff.actor(),
        Entry {
            action: "case.add_party",
            target_type: "case",
            target_id: Some(case_id),
            organisation_id: created.organisation_id,
        },
        None,
        audit::snapshot(&created),
    )
    .await?;
    txn.commit().await?;
    Ok(created)
}

/// Removes a party. Open cases. Its replies stay (their `replying_party_id`
/// becomes NULL), its tasks stay on the case for staff.
pub async fn remove_party(
    app: &App,
    staff: &Allowed<Staff>,
    party_id: Uuid,
) -> ApiResult<case::Model> {
    let txn = platform::db::begin_write(&app.db).await?;
    let party = case_party::Entity::find_by_id(party_id)
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound("Case party"))?;
    let case = find_managed(&txn, staff, party.case_id, false).await?;
    case_party::Entity::delete_by_id(party_id)
        .exec(&txn)
        .await?;
    let case = if party.party_kind == PartyKind::Landlord {
        let mut model = case.into_active_model();
        model.landlord_organisation_id = Set(None);
        model.updated_at = Set(Utc::now());
        model.update(&txn).await?
    } else {
        case
    };
    audit::record(
        &txn,
        staff.actor(),
        Entry {
            action: "case.remove_party",
            target_type: "case",
            target_id: Some(case.id),
            organisation_id: party.organisation_id,
        },
        audit::snapshot(&party),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(case)
}
