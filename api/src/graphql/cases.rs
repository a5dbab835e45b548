//! Cases: the home list, the open and closed case lists, one case with its
//! overview, and the staff back office (create, parties, owner, details,
//! close, reopen).
//!
//! Lists go through `policy::cases::visible` as a query condition; every
//! relation of a case is read through [`super::loaders`], so a page costs the
//! same number of statements whatever its size. List cursors are offsets
//! (opaque to clients): the sort keys include derived values (the next due
//! date) that keyset cursors cannot express simply.

use async_graphql::{
    ComplexObject, Context, Enum, ID, InputObject, Object, OneofObject, SimpleObject,
};
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use entities::{PartyKind as DbPartyKind, TaskStatus as DbTaskStatus, case};

use super::{
    ContextExt,
    documents::Document,
    enums::PartyKind,
    loaders::{
        DocumentsKey, MessagesKey, NotesKey, OrganisationKey, PartiesKey, PartyView,
        PendingTasksKey, TasksKey, UnreadKey, UserKey, prefetch_cases, prefetch_tasks, prime,
    },
    messages::Message,
    notes::CaseNote,
    organisations::{Organisation, organisation_link},
    pagination::{Counted, counted_connection, decode_offset, page_size},
    residents::InviteResidentInput,
    residents::ResidentAccount,
    scalars::Date,
    scalars::{NodeKind, global_id, input_id, opt_input_id, parse_id},
    tasks::Task,
};
use crate::{
    casework::{
        self,
        cases::{CaseChanges, CaseFilter as Filter, NewCase, NewParty, Page, SortField},
    },
    error::ApiResult,
    policy,
};

/// Open or closed.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum CaseState {
    /// Not closed.
    Open,
    /// Closed (the list shows the closing date).
    Closed,
}

/// What case lists are sorted by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum CaseSortField {
    /// Case reference.
    Reference,
    /// Creation date.
    CreatedAt,
    /// Due date of my next outstanding task (cases without one last).
    NextDue,
    /// Closing date (open cases last).
    ClosedAt,
}

/// Sort direction.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum SortDirection {
    /// Ascending.
    #[default]
    Asc,
    /// Descending.
    Desc,
}

/// Case list filter.
#[derive(InputObject, Default)]
pub struct CaseFilter {
    /// Open or closed cases (default: both).
    pub state: Option<CaseState>,
    /// Words matched against the reference, complainant and landlord names.
    pub search: Option<String>,
    /// Exact case type.
    #[graphql(name = "type")]
    pub case_type: Option<String>,
    /// Exact status label.
    pub status: Option<String>,
}

/// Case list sort.
#[derive(InputObject)]
pub struct CaseSort {
    /// Sort key.
    pub field: CaseSortField,
    /// Direction (default ascending).
    #[graphql(default)]
    pub direction: SortDirection,
}

/// The counts behind a case overview's "My tasks (1 of N)".
#[derive(SimpleObject)]
pub struct MyTaskCounts {
    /// My outstanding (`PENDING`) tasks on the case: the N of "1 of N"
    /// (the seed's "tasks to be completed by you"; staff: every party's).
    pub outstanding: i32,
    /// Every task of mine on the case, whatever its status.
    pub total: i32,
}

/// A person or organisation shown on a case: name and address.
#[derive(SimpleObject)]
pub struct Contact {
    /// Name.
    pub name: String,
    /// Postal address.
    pub address: Option<String>,
}

/// The staff member who owns a case.
#[derive(SimpleObject)]
pub struct CaseOwner {
    /// User id.
    pub id: ID,
    /// Name.
    pub name: String,
    /// Team.
    pub team: Option<String>,
    /// Role.
    pub role: Option<super::enums::StaffRole>,
    /// Case-handling role shown beside the name (e.g. "Case Handler").
    pub role_label: Option<String>,
}

/// A party to a case.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct CaseParty {
    /// Party id (for `removeCaseParty`).
    pub id: ID,
    /// Resident or landlord.
    pub kind: PartyKind,
    /// The resident's or organisation's name.
    pub name: String,
    /// The resident user (see the `resident` field).
    #[graphql(skip)]
    pub user: Option<entities::user::Model>,
    /// The landlord organisation (see the `organisation` field).
    #[graphql(skip)]
    pub organisation_id: Option<Uuid>,
}

#[ComplexObject]
impl CaseParty {
    /// A resident party's account, as staff see it (it came with the
    /// parties: no further statement). Null for a landlord party, and for
    /// anyone but staff, who alone may see residents' accounts; `name`
    /// names the resident to everyone who sees the case.
    async fn resident(&self, ctx: &Context<'_>) -> Option<ResidentAccount> {
        self.user
            .as_ref()
            .filter(|u| policy::users::may_view_resident(&ctx.caller(), u))
            .cloned()
            .map(Into::into)
    }
    /// A landlord party's organisation, through the request's loader. Null
    /// for a resident party, and for a reader who may not see the
    /// organisation (residents).
    async fn organisation(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organisation>> {
        let Some(id) = self.organisation_id else {
            return Ok(None);
        };
        organisation_link(ctx, id).await
    }
}

impl From<&PartyView> for CaseParty {
    fn from(v: &PartyView) -> Self {
        Self {
            id: global_id(NodeKind::CaseParty, v.party.id),
            kind: v.party.party_kind.into(),
            name: party_name(v),
            user: v.user.clone(),
            organisation_id: v.party.organisation_id,
        }
    }
}

fn party_name(v: &PartyView) -> String {
    match (&v.user, &v.organisation) {
        (Some(u), _) => format!("{} {}", u.first_name, u.last_name),
        (_, Some(o)) => o.name.clone(),
        _ => String::new(),
    }
}

/// The details of a case, as the overview shows them.
#[derive(SimpleObject)]
pub struct CaseDetails {
    /// e.g. "Complaint about a member landlord".
    #[graphql(name = "type")]
    pub case_type: String,
    /// e.g. "DR2 Review".
    pub stage: String,
    /// e.g. "Case under assessment"; "Closed" while the case is closed.
    pub status_label: String,
    /// e.g. "Asbestos".
    pub category: String,
    /// When the case was created.
    pub created_at: DateTime<Utc>,
    /// When the case was closed (closed cases).
    pub closed_at: Option<DateTime<Utc>>,
}

/// A case.
pub struct Case(pub case::Model);

impl Case {
    async fn parties_of(&self, ctx: &Context<'_>) -> ApiResult<Vec<PartyView>> {
        Ok(ctx.load(PartiesKey(self.0.id)).await?.unwrap_or_default())
    }

    pub(crate) async fn tasks_of(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<entities::task::Model>> {
        Ok(ctx
            .load(TasksKey(self.0.id, ctx.reader()?))
            .await?
            .unwrap_or_default())
    }

    pub(crate) async fn next_task(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Option<entities::task::Model>> {
        Ok(self
            .tasks_of(ctx)
            .await?
            .into_iter()
            .find(|t| t.status == DbTaskStatus::Pending))
    }
}

/// A case brought to the service (the seed's complaint about a member
/// landlord): its reference, type, stage, status and category, its parties (the
/// resident and the landlord organisation), its owner, tasks, messages and
/// documents. Staff see every case; a resident the cases they are a party to; a
/// landlord user their organisation's.
#[Object]
impl Case {
    /// Case id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Case, self.0.id)
    }
    /// Year and 5-digit sequence, e.g. `202600046`.
    async fn reference(&self) -> &str {
        &self.0.reference
    }
    /// e.g. "Complaint about a member landlord".
    #[graphql(name = "type")]
    async fn case_type(&self) -> &str {
        &self.0.case_type
    }
    /// e.g. "DR2 Review".
    async fn stage(&self) -> &str {
        &self.0.stage
    }
    /// e.g. "Case under assessment"; "Closed" while the case is closed
    /// (with `closedAt`, its date).
    async fn status_label(&self) -> &str {
        &self.0.status_label
    }
    /// e.g. "Asbestos".
    async fn category(&self) -> &str {
        &self.0.category
    }
    /// When the case was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the case was closed (closed cases).
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
    /// The details together (the same values as the fields above).
    async fn details(&self) -> CaseDetails {
        CaseDetails {
            case_type: self.0.case_type.clone(),
            stage: self.0.stage.clone(),
            status_label: self.0.status_label.clone(),
            category: self.0.category.clone(),
            created_at: self.0.created_at,
            closed_at: self.0.closed_at,
        }
    }
    /// Whether the case is open.
    async fn is_open(&self) -> bool {
        self.0.closed_at.is_none()
    }
    /// The complainant's name (the first resident party).
    async fn complainant_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(self
            .parties_of(ctx)
            .await?
            .iter()
            .find(|p| p.party.party_kind == DbPartyKind::Resident)
            .map(party_name))
    }
    /// The landlord's name.
    async fn landlord_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let Some(org) = self.0.landlord_organisation_id else {
            return Ok(None);
        };
        Ok(ctx.load(OrganisationKey(org)).await?.map(|o| o.name))
    }
    /// The resident (main contact): name and address.
    async fn resident(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Contact>> {
        Ok(self
            .parties_of(ctx)
            .await?
            .iter()
            .find_map(|p| p.user.as_ref())
            .map(|u| Contact {
                name: format!("{} {}", u.first_name, u.last_name),
                address: u.address.clone(),
            }))
    }
    /// The landlord organisation: name and address.
    async fn landlord(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Contact>> {
        let Some(org) = self.0.landlord_organisation_id else {
            return Ok(None);
        };
        Ok(ctx.load(OrganisationKey(org)).await?.map(|o| Contact {
            name: o.name,
            address: Some(o.address),
        }))
    }
    /// The case owner: staff name, team and role.
    async fn owner(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<CaseOwner>> {
        let Some(owner) = self.0.owner_user_id else {
            return Ok(None);
        };
        Ok(ctx.load(UserKey(owner)).await?.map(|u| CaseOwner {
            id: global_id(NodeKind::User, u.id),
            name: format!("{} {}", u.first_name, u.last_name),
            team: u.staff_team,
            role: u.staff_role.map(Into::into),
            role_label: u.staff_role_label,
        }))
    }
    /// The parties: residents and the landlord organisation.
    async fn parties(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CaseParty>> {
        Ok(self.parties_of(ctx).await?.iter().map(Into::into).collect())
    }
    /// My next outstanding tasks on the case, soonest first (the overview
    /// shows five). Staff see every party's.
    async fn next_tasks(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "How many of my outstanding tasks to show, soonest due first (the overview shows 5).",
            default = 5
        )]
        first: i32,
    ) -> async_graphql::Result<Vec<Task>> {
        let first = first.clamp(0, 100) as usize;
        Ok(self
            .tasks_of(ctx)
            .await?
            .into_iter()
            .filter(|t| t.status == DbTaskStatus::Pending)
            .take(first)
            .map(Task)
            .collect())
    }
    /// How many tasks I have on the case: the overview's "My tasks (1 of
    /// N)" shows `nextTasks` (at most five) of `outstanding`. Counted from
    /// the same tasks `tasks` lists (no extra statement).
    async fn my_task_counts(&self, ctx: &Context<'_>) -> async_graphql::Result<MyTaskCounts> {
        let tasks = self.tasks_of(ctx).await?;
        let outstanding = tasks
            .iter()
            .filter(|t| t.status == DbTaskStatus::Pending)
            .count();
        Ok(MyTaskCounts {
            outstanding: outstanding as i32,
            total: tasks.len() as i32,
        })
    }
    /// The due date of my next outstanding task (the lists' "Task due date").
    async fn next_task_due_date(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Date>> {
        Ok(self.next_task(ctx).await?.map(|t| Date(t.due_date)))
    }
    /// Every task on the case I may see (mine; staff: all), by due date.
    async fn tasks(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Task>> {
        Ok(self.tasks_of(ctx).await?.into_iter().map(Task).collect())
    }
    /// The message thread I may see, oldest first: staff see every message;
    /// a party the staff messages sent to it and its own replies.
    async fn messages(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Message>> {
        Ok(ctx
            .load(MessagesKey(self.0.id, ctx.reader()?))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Message)
            .collect())
    }
    /// The documents I may see, newest first: my side's uploads, those
    /// staff shared, and attachments of the replies I may see (staff: all).
    async fn documents(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Document>> {
        Ok(ctx
            .load(DocumentsKey(self.0.id, ctx.reader()?))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Document)
            .collect())
    }
    /// The internal notes on the case, oldest first. Staff only
    /// (`FORBIDDEN` for the parties, who never see a note).
    async fn notes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CaseNote>> {
        policy::cases::can_manage(&ctx.caller())?;
        Ok(ctx
            .load(NotesKey(self.0.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(CaseNote)
            .collect())
    }
    /// My unread messages on the case.
    async fn unread_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(ctx
            .load(UnreadKey(self.0.id, ctx.reader()?))
            .await?
            .unwrap_or(0))
    }
}

/// A row of the home page: an open case and my next outstanding task on it
/// (found by `home` for the whole page, when asked for).
pub struct HomeItem(Case, Option<entities::task::Model>);

/// A row of the home page: an open case and my next outstanding task on it,
/// with its due date.
#[Object]
impl HomeItem {
    /// The case.
    async fn case(&self) -> &Case {
        &self.0
    }
    /// My next outstanding task ("No outstanding actions" when none).
    async fn next_task(&self) -> Option<Task> {
        self.1.clone().map(Task)
    }
    /// Its due date.
    async fn due_date(&self) -> Option<Date> {
        self.1.as_ref().map(|t| Date(t.due_date))
    }
    /// Whether that date has passed ("Overdue").
    async fn overdue(&self) -> bool {
        self.1
            .as_ref()
            .is_some_and(|t| t.due_date < casework::today())
    }
}

/// Case queries.
#[derive(Default)]
pub struct CasesQuery;

#[Object]
impl CasesQuery {
    /// The cases I may see (residents: where they are a party; landlord
    /// users: their organisation's; staff: all), filtered and sorted
    /// (default: by reference).
    #[graphql(complexity = "super::pagination::connection_cost(first, child_complexity)")]
    async fn cases(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which cases (default: every case I can see, open and closed).")]
        filter: Option<CaseFilter>,
        #[graphql(desc = "The order (default: by reference, ascending).")] sort: Option<CaseSort>,
        #[graphql(desc = "How many to return: 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page: the page starts after it.")] after: Option<String>,
    ) -> async_graphql::Result<Counted<Case>> {
        let reader = ctx.reader()?;
        let limit = page_size(first)?;
        let offset = decode_offset(after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let filter = Filter::parse(
            filter.state.map(|s| s == CaseState::Open),
            filter.search,
            filter.case_type,
            filter.status,
        )?;
        let (field, descending) = match sort {
            Some(s) => (s.field, s.direction == SortDirection::Desc),
            None => (CaseSortField::Reference, false),
        };
        let page = Page {
            field: match field {
                CaseSortField::Reference => SortField::Reference,
                CaseSortField::CreatedAt => SortField::CreatedAt,
                CaseSortField::NextDue => SortField::NextDue,
                CaseSortField::ClosedAt => SortField::ClosedAt,
            },
            descending,
            offset,
            limit,
        };
        let (rows, has_next, total) =
            casework::cases::list(ctx.app(), reader, &filter, page).await?;
        prefetch_cases(
            ctx,
            reader,
            &rows,
            ctx.look_ahead().field("edges").field("node"),
        )
        .await?;
        Ok(counted_connection(rows, offset, has_next, total, Case))
    }

    /// One case (`NOT_FOUND` when it does not exist or I may not see it).
    pub async fn case(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case.")] id: ID,
    ) -> async_graphql::Result<Case> {
        let id = parse_id(&id, NodeKind::Case)?;
        let reader = ctx.reader()?;
        // The owner, when asked for, comes with the case.
        let found = if ctx.look_ahead().field("owner").exists() {
            let (found, owner) = casework::cases::get_with_owner(ctx.app(), reader, id).await?;
            prime(ctx, owner.map(|u| (UserKey(u.id), u))).await;
            found
        } else {
            casework::cases::get(ctx.app(), reader, id).await?
        };
        // The case page asks for most relations at once: load them in one
        // round (each relation with the people it names) rather than one
        // statement per field as each resolves.
        prefetch_cases(ctx, reader, std::slice::from_ref(&found), ctx.look_ahead()).await?;
        Ok(Case(found))
    }

    /// The home page: each open case I may see with my next outstanding task,
    /// soonest first (cases with nothing to do last).
    #[graphql(complexity = "super::pagination::connection_cost(first, child_complexity)")]
    async fn home(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return: 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page: the page starts after it.")] after: Option<String>,
    ) -> async_graphql::Result<Counted<HomeItem>> {
        let reader = ctx.reader()?;
        let limit = page_size(first)?;
        let offset = decode_offset(after.as_deref())?;
        let filter = Filter {
            open: Some(true),
            ..Filter::default()
        };
        let page = Page {
            field: SortField::NextDue,
            descending: false,
            offset,
            limit,
        };
        let (rows, has_next, total) =
            casework::cases::list(ctx.app(), reader, &filter, page).await?;
        let node = ctx.look_ahead().field("edges").field("node");
        prefetch_cases(ctx, reader, &rows, node.field("case")).await?;
        // My next outstanding task on each case: the first of the pending
        // tasks I may see, by due date. When the case's own fields load its
        // tasks, they are in the request's cache already; otherwise only the
        // pending ones are read.
        let mut next: HashMap<Uuid, entities::task::Model> = HashMap::new();
        if node.field("nextTask").exists()
            || node.field("dueDate").exists()
            || node.field("overdue").exists()
        {
            let cached = ["tasks", "nextTasks", "nextTaskDueDate", "myTaskCounts"]
                .iter()
                .any(|f| node.field("case").field(f).exists());
            let tasks: Vec<Vec<entities::task::Model>> = if cached {
                futures::future::try_join_all(rows.iter().map(|c| ctx.load(TasksKey(c.id, reader))))
                    .await?
                    .into_iter()
                    .flatten()
                    .collect()
            } else {
                futures::future::try_join_all(
                    rows.iter().map(|c| ctx.load(PendingTasksKey(c.id, reader))),
                )
                .await?
                .into_iter()
                .flatten()
                .collect()
            };
            for task in tasks
                .into_iter()
                .flat_map(|ts| ts.into_iter().find(|t| t.status == DbTaskStatus::Pending))
            {
                next.insert(task.case_id, task);
            }
            let first: Vec<_> = next.values().cloned().collect();
            prefetch_tasks(ctx, reader, &first, node.field("nextTask")).await?;
        }
        Ok(counted_connection(rows, offset, has_next, total, |c| {
            let task = next.get(&c.id).cloned();
            HomeItem(Case(c), task)
        }))
    }
}

/// A new case.
#[derive(InputObject)]
pub struct CreateCaseInput {
    /// e.g. "Complaint about a member landlord".
    #[graphql(name = "type")]
    pub case_type: String,
    /// e.g. "DR2 Review".
    pub stage: String,
    /// e.g. "Case under assessment" (not "Closed": closing a case sets it).
    pub status_label: String,
    /// e.g. "Asbestos".
    pub category: String,
    /// The complainant (a resident user).
    pub resident_user_id: Option<ID>,
    /// The landlord organisation.
    pub landlord_organisation_id: Option<ID>,
    /// The case owner (staff); default: me.
    pub owner_user_id: Option<ID>,
}

/// Changes to a case's details; left-out fields stay as they are.
#[derive(InputObject)]
pub struct UpdateCaseInput {
    /// Case type.
    #[graphql(name = "type")]
    pub case_type: Option<String>,
    /// Stage.
    pub stage: Option<String>,
    /// Status label (not "Closed": closing a case sets it).
    pub status_label: Option<String>,
    /// Category.
    pub category: Option<String>,
}

/// A new party: exactly one of a resident, a new resident or a landlord
/// organisation.
#[derive(OneofObject)]
pub enum CasePartyInput {
    /// A resident user.
    ResidentUserId(ID),
    /// A resident who has no account yet: they are invited (as by
    /// `inviteResident`) and added in one step; if either fails, neither
    /// happens. Field errors are reported under `input.newResident`.
    NewResident(InviteResidentInput),
    /// A landlord organisation.
    OrganisationId(ID),
}

/// Case mutations (staff).
#[derive(Default)]
pub struct CasesMutation;

#[Object]
impl CasesMutation {
    /// Opens a case; its reference is the year and the next 5-digit number.
    async fn create_case(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case's details and parties.")] input: CreateCaseInput,
    ) -> async_graphql::Result<Case> {
        let allowed = policy::cases::can_manage(&ctx.caller())?;
        let new = NewCase {
            case_type: input.case_type,
            stage: input.stage,
            status_label: input.status_label,
            category: input.category,
            resident_user_id: opt_input_id(
                input.resident_user_id.as_ref(),
                NodeKind::User,
                "input.residentUserId",
            )?,
            landlord_organisation_id: opt_input_id(
                input.landlord_organisation_id.as_ref(),
                NodeKind::Organisation,
                "input.landlordOrganisationId",
            )?,
            owner_user_id: opt_input_id(
                input.owner_user_id.as_ref(),
                NodeKind::User,
                "input.ownerUserId",
            )?,
        };
        Ok(Case(
            casework::cases::create(ctx.app(), &allowed, new).await?,
        ))
    }

    /// Changes a case's type, stage, status label or category.
    async fn update_case(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case.")] id: ID,
        #[graphql(desc = "What to change (fields left out stay as they are).")]
        input: UpdateCaseInput,
    ) -> async_graphql::Result<Case> {
        let allowed = policy::cases::can_manage(&ctx.caller())?;
        let id = parse_id(&id, NodeKind::Case)?;
        let changes = CaseChanges {
            case_type: input.case_type,
            stage: input.stage,
            status_label: input.status_label,
            category: input.category,
        };
        Ok(Case(
            casework::cases::update(ctx.app(), &allowed, id, changes).await?,
        ))
    }

    /// Makes a staff member the case owner.
    async fn assign_case_owner(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "id", desc = "The case.")] case_id: ID,
        #[graphql(desc = "The staff member who is to own it.")] owner_user_id: ID,
    ) -> async_graphql::Result<Case> {
        let allowed = policy::cases::can_manage(&ctx.caller())?;
        let id = parse_id(&case_id, NodeKind::Case)?;
        let owner = input_id(&owner_user_id, NodeKind::User, "ownerUserId")?;
        Ok(Case(
            casework::cases::assign_owner(ctx.app(), &allowed, id, owner).await?,
        ))
    }

    /// Adds a resident (an existing one, or a new one who is invited at the
    /// same time) or the landlord organisation to a case.
    async fn add_case_party(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case.")] case_id: ID,
        #[graphql(
            desc = "The party: an existing resident, a new resident (invited at once), or the landlord organisation."
        )]
        input: CasePartyInput,
    ) -> async_graphql::Result<Case> {
        let allowed = policy::cases::can_manage(&ctx.caller())?;
        let id = parse_id(&case_id, NodeKind::Case)?;
        let who = match input {
            CasePartyInput::ResidentUserId(u) => {
                NewParty::Resident(input_id(&u, NodeKind::User, "input.residentUserId")?)
            }
            CasePartyInput::NewResident(new) => NewParty::NewResident(new.into()),
            CasePartyInput::OrganisationId(o) => NewParty::Landlord(input_id(
                &o,
                NodeKind::Organisation,
                "input.organisationId",
            )?),
        };
        casework::cases::add_party(ctx.app(), &allowed, id, who)
            .await
            .map_err(|r| ctx.reject(r))?;
        Ok(Case(
            casework::cases::get(ctx.app(), ctx.reader()?, id).await?,
        ))
    }

    /// Removes a party from a case.
    async fn remove_case_party(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "id", desc = "The party, one of `Case.parties`.")] party_id: ID,
    ) -> async_graphql::Result<Case> {
        let allowed = policy::cases::can_manage(&ctx.caller())?;
        let id = parse_id(&party_id, NodeKind::CaseParty)?;
        Ok(Case(
            casework::cases::remove_party(ctx.app(), &allowed, id).await?,
        ))
    }

    /// Closes a case: its status label becomes "Closed" (`closedAt` is the
    /// date) and everything on it becomes read-only until it is reopened
    /// (other changes answer `CONFLICT` with reason `CASE_CLOSED`).
    async fn close_case(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case.")] id: ID,
    ) -> async_graphql::Result<Case> {
        let allowed = policy::cases::can_manage(&ctx.caller())?;
        let id = parse_id(&id, NodeKind::Case)?;
        Ok(Case(
            casework::cases::set_closed(ctx.app(), &allowed, id, true).await?,
        ))
    }

    /// Reopens a closed case, restoring the status label it had when it was
    /// closed ("Case reopened" if it had none kept).
    async fn reopen_case(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The closed case.")] id: ID,
    ) -> async_graphql::Result<Case> {
        let allowed = policy::cases::can_manage(&ctx.caller())?;
        let id = parse_id(&id, NodeKind::Case)?;
        Ok(Case(
            casework::cases::set_closed(ctx.app(), &allowed, id, false).await?,
        ))
    }
}
