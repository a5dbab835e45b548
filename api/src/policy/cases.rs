//! Who may see and act on a case, and as which party.
//!
//! - Staff (any role) see every case and run the back office.
//! - A resident sees the cases where they are a party.
//! - A landlord user sees the cases where their organisation is the landlord
//!   party.
//! - API tokens (partner dashboards) and anonymous callers see no case.
//!
//! Every casework policy works on a [`Reader`]: the caller reduced to who
//! they are and which side of a case they are on, a small hashable value so
//! that DataLoader keys can carry it ([`reader`] makes it from the request's
//! caller). Every resolver that returns or changes a case, or anything
//! hanging off a case (tasks, messages, parties, documents), goes through
//! [`visible`] (for lists, as a query condition, so a page never loads rows
//! it must then hide) or [`find_visible`] (for one case by id). A case the
//! caller may not see answers `NOT_FOUND`, exactly like an id that does not
//! exist. The task, message and document policies build on [`party_cases`]
//! and [`party_ids`].
//!
//! Two capabilities: [`can_manage`] (the back office, staff) gives an
//! `Allowed<Staff>`; [`can_act`] (any casework user, on the objects the
//! `find_*` functions then allow) gives an `Allowed<Reader>`.

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait,
};
use uuid::Uuid;

use entities::{UserKind, case, case_party, user};

use super::{Allowed, Caller, Staff};
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
        Viewer::Enrolling(_) => Err(ApiError::TwoFactorSetupRequired),
        Viewer::User(user) => Ok(user),
    }
}

/// A casework user reduced to what the policies need: who they are and
/// which side of a case they are on (`None` for staff). Small and hashable,
/// so DataLoader keys can carry it (a batch then answers each reader with
/// what that reader may see).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reader {
    /// The user.
    pub user_id: Uuid,
    /// Their side, `None` for staff.
    pub side: Option<Side>,
}

impl Reader {
    /// Whether the reader is staff.
    pub fn is_staff(&self) -> bool {
        self.side.is_none()
    }
}

/// The casework reader the caller is (`UNAUTHENTICATED` / `FORBIDDEN` for
/// anonymous callers and API tokens).
pub fn reader(caller: &Caller<'_>) -> ApiResult<Reader> {
    reader_of(caller.viewer)
}

/// [`reader`] from the viewer alone: what every casework field resolver
/// needs, without building the request's audit actor each time.
pub fn reader_of(viewer: &Viewer) -> ApiResult<Reader> {
    let user = casework_user(viewer)?;
    Ok(Reader {
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

/// The condition on `cases` selecting exactly the cases `reader` may see.
pub fn visible(reader: Reader) -> Condition {
    match reader.side {
        None => Condition::all(),
        Some(side) => Condition::all().add(case::Column::Id.in_subquery(party_cases(side))),
    }
}

/// One case by id, if `reader` may see it; `NOT_FOUND` otherwise.
pub async fn find_visible(
    conn: &impl ConnectionTrait,
    reader: Reader,
    id: Uuid,
) -> ApiResult<case::Model> {
    case::Entity::find_by_id(id)
        .filter(visible(reader))
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Case"))
}

/// [`find_visible`] with the case's owner joined (one statement): the
/// case page shows the owner.
pub async fn find_visible_with_owner(
    conn: &impl ConnectionTrait,
    reader: Reader,
    id: Uuid,
) -> ApiResult<(case::Model, Option<user::Model>)> {
    case::Entity::find_by_id(id)
        .filter(visible(reader))
        .find_also_related(user::Entity)
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Case"))
}

/// Back-office actions on cases (create, parties, owner, status, tasks,
/// messages, sharing documents, close, reopen): staff only. Portal users get
/// `FORBIDDEN` (they know cases exist: they see their own).
pub fn can_manage(caller: &Caller<'_>) -> ApiResult<Allowed<Staff>> {
    super::staff(caller)
}

/// Acting on the cases one can see (replying, doing one's tasks, uploading,
/// reading messages): any casework user. Which objects they may act on is
/// decided by the `find_*` function of each object's policy.
pub fn can_act(caller: &Caller<'_>) -> ApiResult<Allowed<Reader>> {
    Ok(Allowed::grant(caller, reader(caller)?))
}

/// A case staff may change: visible (staff see all), and open unless
/// `allow_closed` (`CONFLICT`, reason `CASE_CLOSED`).
pub async fn find_managed(
    conn: &impl ConnectionTrait,
    _staff: &Allowed<Staff>,
    id: Uuid,
    allow_closed: bool,
) -> ApiResult<case::Model> {
    let case = case::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Case"))?;
    if case.closed_at.is_some() && !allow_closed {
        return Err(ApiError::CaseClosed);
    }
    Ok(case)
}

/// The reader's party row on a visible case (for replies and tasks), or
/// `None` for staff.
pub async fn party_on(
    conn: &impl ConnectionTrait,
    reader: Reader,
    case_id: Uuid,
) -> ApiResult<Option<case_party::Model>> {
    let Some(side) = reader.side else {
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
