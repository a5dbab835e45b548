//! Who may see and act on a case, and as which party.
//!
//! - Staff (any role) see every case and run the back office.
//! - A resident sees the cases where they are a party.
//! - A landlord user sees the cases where their organisation is the landlord
//!   party.
//! - API tokens (partner dashboards) and anonymous callers see no case.
//!
//! Every resolver that returns or changes a case, or anything hanging off a
//! case (tasks, messages, parties, documents), goes through [`visible_cases`]
//! (for lists, as a query condition, so a page never loads rows it must then
//! hide) or [`find_visible`] (for one case by id). A case the caller may not
//! see answers `NOT_FOUND`, exactly like an id that does not exist.
//!
//! [`Caller`] is the same decision reduced to a small hashable value, so that
//! DataLoader keys can carry it; [`visible_to`] gives the condition for it
//! (and `visible_cases` is `visible_to(caller(viewer)?)`). The task and
//! message policies build on [`party_cases`] and [`party_ids`].

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait,
};
use uuid::Uuid;

use entities::{UserKind, case, case_party};

use crate::{
    auth::{AuthUser, Viewer},
    error::{ApiError, ApiResult},
};

/// Which side of a case a portal user is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The resident party (`case_parties.user_id`).
    Resident(Uuid),
    /// The landlord party (`case_parties.organisation_id`).
    Landlord(Uuid),
}

/// The caller's side on cases: `None` for staff (who are not a party).
pub fn side(user: &AuthUser) -> ApiResult<Option<Side>> {
    match user.kind {
        UserKind::Staff => Ok(None),
        UserKind::Resident => Ok(Some(Side::Resident(user.id))),
        UserKind::Landlord => user
            .organisation_id
            .map(|org| Some(Side::Landlord(org)))
            .ok_or(ApiError::Forbidden),
    }
}

/// A signed-in user who may use casework at all.
pub fn casework_user(viewer: &Viewer) -> ApiResult<&AuthUser> {
    match viewer {
        Viewer::Anonymous => Err(ApiError::Unauthenticated),
        Viewer::ApiToken(_) => Err(ApiError::Forbidden),
        Viewer::User(user) => Ok(user),
    }
}

/// A casework user reduced to what the policies need: who they are and
/// which side of a case they are on (`None` for staff). Small and hashable,
/// so DataLoader keys can carry it (a batch then answers each caller with
/// what that caller may see).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Caller {
    /// The user.
    pub user_id: Uuid,
    /// Their side, `None` for staff.
    pub side: Option<Side>,
}

impl Caller {
    /// Whether the caller is staff.
    pub fn is_staff(&self) -> bool {
        self.side.is_none()
    }
}

/// The caller of a casework operation (`UNAUTHENTICATED` / `FORBIDDEN` for
/// anonymous callers and API tokens).
pub fn caller(viewer: &Viewer) -> ApiResult<Caller> {
    let user = casework_user(viewer)?;
    Ok(Caller {
        user_id: user.id,
        side: side(user)?,
    })
}

/// The ids of the cases where `side` is a party, as a subquery.
pub fn party_cases(side: Side) -> sea_orm::sea_query::SelectStatement {
    let parties = case_party::Entity::find()
        .select_only()
        .column(case_party::Column::CaseId);
    match side {
        Side::Resident(id) => parties.filter(case_party::Column::UserId.eq(id)),
        Side::Landlord(org) => parties.filter(case_party::Column::OrganisationId.eq(org)),
    }
    .into_query()
}

/// The ids of the party rows of `side` (on any case), as a subquery.
pub fn party_ids(side: Side) -> sea_orm::sea_query::SelectStatement {
    let parties = case_party::Entity::find()
        .select_only()
        .column(case_party::Column::Id);
    match side {
        Side::Resident(id) => parties.filter(case_party::Column::UserId.eq(id)),
        Side::Landlord(org) => parties.filter(case_party::Column::OrganisationId.eq(org)),
    }
    .into_query()
}

/// The condition on `cases` selecting exactly the cases `caller` may see.
pub fn visible_to(caller: Caller) -> Condition {
    match caller.side {
        None => Condition::all(),
        Some(side) => Condition::all().add(case::Column::Id.in_subquery(party_cases(side))),
    }
}

/// The condition on `cases` selecting exactly the cases `viewer` may see.
pub fn visible_cases(viewer: &Viewer) -> ApiResult<Condition> {
    Ok(visible_to(caller(viewer)?))
}

/// One case by id, if `viewer` may see it; `NOT_FOUND` otherwise.
pub async fn find_visible(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    id: Uuid,
) -> ApiResult<case::Model> {
    case::Entity::find_by_id(id)
        .filter(visible_cases(viewer)?)
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Case"))
}

/// Back-office actions on cases (create, parties, owner, status, tasks,
/// messages, close, reopen): staff only. Portal users get `FORBIDDEN` (they
/// know cases exist: they see their own).
pub fn can_manage(viewer: &Viewer) -> ApiResult<&AuthUser> {
    let user = casework_user(viewer)?;
    if user.kind == UserKind::Staff {
        Ok(user)
    } else {
        Err(ApiError::Forbidden)
    }
}

/// The caller's party row on a visible case (for replies and tasks), or
/// `None` for staff.
pub async fn party_on(
    conn: &impl ConnectionTrait,
    viewer: &Viewer,
    case_id: Uuid,
) -> ApiResult<Option<case_party::Model>> {
    let user = casework_user(viewer)?;
    let Some(side) = side(user)? else {
        return Ok(None);
    };
    let query = case_party::Entity::find().filter(case_party::Column::CaseId.eq(case_id));
    let query = match side {
        Side::Resident(id) => query.filter(case_party::Column::UserId.eq(id)),
        Side::Landlord(org) => query.filter(case_party::Column::OrganisationId.eq(org)),
    };
    query
        .one(conn)
        .await?
        .map(Some)
        .ok_or(ApiError::NotFound("Case"))
}
