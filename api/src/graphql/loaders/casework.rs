//! Cases and what hangs off them (parties, tasks, messages and their
//! attachments, read and reply state, staff notes), each answered through
//! the reader's policy conditions, and the prefetching of a whole page of
//! cases or tasks.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use sea_orm::{
    ColumnTrait, DbErr, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect, RelationTrait,
    sea_query::{Expr, ExprTrait, IntoCondition},
};
use uuid::Uuid;

use entities::{case, case_note, case_party, message, message_read, organisation, task, user};

use super::{
    AttachmentsKey, DbLoader, DocumentsKey, LoadError, OrganisationKey, OrganisationViewKey,
    RequestLoader, UserKey, fetch, group, internal,
};
use crate::{casework, policy, policy::cases::Reader};

/// A case by id, if the reader may see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CaseKey(pub Uuid, pub Reader);

/// A message by id, if the reader may see it (a document's message, a
/// reply's parent, the message a task came from).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageKey(pub Uuid, pub Reader);

/// The parties of a case (the case was checked by whoever asks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PartiesKey(pub Uuid);

/// The tasks of a case that the reader may see, by due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TasksKey(pub Uuid, pub Reader);

/// The messages of a case that the reader may see, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessagesKey(pub Uuid, pub Reader);

/// The reader's unread messages on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnreadKey(pub Uuid, pub Reader);

/// Whether the reader's side has replied to a staff message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RepliedKey(pub Uuid, pub Reader);

/// The staff notes of a case, oldest first (staff only: the resolver asks
/// `policy::cases::can_manage` before loading).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NotesKey(pub Uuid);

/// Whether a user has read a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReadKey(pub Uuid, pub Uuid);

/// The outstanding (`PENDING`) tasks of a case that the reader may see, by
/// due date: the first is the home page's "next task".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PendingTasksKey(pub Uuid, pub Reader);

/// The tasks of a case that the reader may see, by due date, each with the
/// user or organisation it is assigned to: [`TasksKey`] and the assignees'
/// [`UserKey`] and [`OrganisationKey`] in one statement (the case page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TasksWithAssigneesKey(pub Uuid, pub Reader);

/// A task with its assignee.
#[derive(Debug, Clone)]
pub struct TaskRow {
    /// The task.
    pub task: task::Model,
    /// The assigned user (a resident).
    pub user: Option<user::Model>,
    /// The assigned organisation (a landlord).
    pub organisation: Option<organisation::Model>,
}

/// The messages of a case that the reader may see, oldest first, each with
/// its sender and whether the reader has read it: [`MessagesKey`], the
/// senders' [`UserKey`] and the reader's [`ReadKey`]s in one statement (the
/// case page; its `unreadCount` is counted from the same rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessagesWithStateKey(pub Uuid, pub Reader);

/// A message with its sender and the reader's read state.
#[derive(Debug, Clone)]
pub struct MessageRow {
    /// The message.
    pub message: message::Model,
    /// The sender.
    pub sender: Option<user::Model>,
    /// Whether the reader has a read receipt for it.
    pub read: bool,
}

/// A party with the user or organisation it names.
#[derive(Debug, Clone)]
pub struct PartyView {
    /// The party row.
    pub party: case_party::Model,
    /// The resident, for a resident party.
    pub user: Option<user::Model>,
    /// The organisation, for a landlord party.
    pub organisation: Option<organisation::Model>,
}

impl Loader<CaseKey> for DbLoader {
    type Value = case::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[CaseKey]) -> Result<HashMap<CaseKey, case::Model>, LoadError> {
        let mut out = HashMap::new();
        for (reader, ids) in group(keys, |k| (k.0, k.1)) {
            for c in case::Entity::find()
                .filter(case::Column::Id.is_in(ids))
                .filter(policy::cases::visible(reader))
                .all(&self.db)
                .await?
            {
                out.insert(CaseKey(c.id, reader), c);
            }
        }
        Ok(out)
    }
}

impl Loader<MessageKey> for DbLoader {
    type Value = message::Model;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[MessageKey],
    ) -> Result<HashMap<MessageKey, message::Model>, LoadError> {
        let mut out = HashMap::new();
        for (reader, ids) in group(keys, |k| (k.0, k.1)) {
            for m in message::Entity::find()
                .filter(message::Column::Id.is_in(ids))
                .filter(policy::messages::visible(reader))
                .all(&self.db)
                .await?
            {
                out.insert(MessageKey(m.id, reader), m);
            }
        }
        Ok(out)
    }
}

impl Loader<PartiesKey> for DbLoader {
    type Value = Vec<PartyView>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[PartiesKey],
    ) -> Result<HashMap<PartiesKey, Vec<PartyView>>, LoadError> {
        // One statement: each party with the user or organisation it names.
        let rows = case_party::Entity::find()
            .filter(case_party::Column::CaseId.is_in(keys.iter().map(|k| k.0)))
            .find_also_related(user::Entity)
            .find_also_related(organisation::Entity)
            .order_by_asc(case_party::Column::CreatedAt)
            .order_by_asc(case_party::Column::Id)
            .all(&self.db)
            .await?;
        let mut out: HashMap<PartiesKey, Vec<PartyView>> =
            keys.iter().map(|k| (*k, vec![])).collect();
        for (party, user, organisation) in rows {
            let view = PartyView {
                user,
                organisation,
                party,
            };
            out.entry(PartiesKey(view.party.case_id))
                .or_default()
                .push(view);
        }
        Ok(out)
    }
}

impl Loader<TasksKey> for DbLoader {
    type Value = Vec<task::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[TasksKey],
    ) -> Result<HashMap<TasksKey, Vec<task::Model>>, LoadError> {
        let keys: Vec<(Uuid, Reader)> = keys.iter().map(|k| (k.0, k.1)).collect();
        Ok(tasks_of_cases(&self.db, &keys, false)
            .await?
            .into_iter()
            .map(|((case, reader), tasks)| (TasksKey(case, reader), tasks))
            .collect())
    }
}

impl Loader<PendingTasksKey> for DbLoader {
    type Value = Vec<task::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[PendingTasksKey],
    ) -> Result<HashMap<PendingTasksKey, Vec<task::Model>>, LoadError> {
        let keys: Vec<(Uuid, Reader)> = keys.iter().map(|k| (k.0, k.1)).collect();
        Ok(tasks_of_cases(&self.db, &keys, true)
            .await?
            .into_iter()
            .map(|((case, reader), tasks)| (PendingTasksKey(case, reader), tasks))
            .collect())
    }
}

/// The tasks of each (case, reader) that the reader may see, by due date
/// (only the outstanding ones when `pending_only`): one statement per reader.
async fn tasks_of_cases(
    db: &sea_orm::DatabaseConnection,
    keys: &[(Uuid, Reader)],
    pending_only: bool,
) -> Result<HashMap<(Uuid, Reader), Vec<task::Model>>, LoadError> {
    let mut out: HashMap<(Uuid, Reader), Vec<task::Model>> =
        keys.iter().map(|k| (*k, vec![])).collect();
    for (reader, ids) in group(keys, |k| (k.0, k.1)) {
        let mut query = task::Entity::find()
            .filter(task::Column::CaseId.is_in(ids))
            .filter(policy::tasks::visible(reader));
        if pending_only {
            query = query.filter(task::Column::Status.eq(entities::TaskStatus::Pending));
        }
        for t in query
            .order_by_asc(task::Column::DueDate)
            .order_by_asc(task::Column::Id)
            .all(db)
            .await?
        {
            out.entry((t.case_id, reader)).or_default().push(t);
        }
    }
    Ok(out)
}

impl Loader<TasksWithAssigneesKey> for DbLoader {
    type Value = Vec<TaskRow>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[TasksWithAssigneesKey],
    ) -> Result<HashMap<TasksWithAssigneesKey, Vec<TaskRow>>, LoadError> {
        let mut out: HashMap<TasksWithAssigneesKey, Vec<TaskRow>> =
            keys.iter().map(|k| (*k, vec![])).collect();
        for (reader, ids) in group(keys, |k| (k.0, k.1)) {
            // The same conditions as `TasksKey`; the assignees are joined.
            for (task, user, organisation) in task::Entity::find()
                .filter(task::Column::CaseId.is_in(ids))
                .filter(policy::tasks::visible(reader))
                .join(JoinType::LeftJoin, task::Relation::AssigneeUser.def())
                .select_also(user::Entity)
                .find_also_related(organisation::Entity)
                .order_by_asc(task::Column::DueDate)
                .order_by_asc(task::Column::Id)
                .all(&self.db)
                .await?
            {
                out.entry(TasksWithAssigneesKey(task.case_id, reader))
                    .or_default()
                    .push(TaskRow {
                        task,
                        user,
                        organisation,
                    });
            }
        }
        Ok(out)
    }
}

impl Loader<MessagesWithStateKey> for DbLoader {
    type Value = Vec<MessageRow>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[MessagesWithStateKey],
    ) -> Result<HashMap<MessagesWithStateKey, Vec<MessageRow>>, LoadError> {
        let mut out: HashMap<MessagesWithStateKey, Vec<MessageRow>> =
            keys.iter().map(|k| (*k, vec![])).collect();
        for (reader, ids) in group(keys, |k| (k.0, k.1)) {
            let me = reader.user_id;
            // The reader's own receipt only (at most one per message: the
            // key is (message, user)), in the join's ON clause so that an
            // unread message still comes.
            let receipt = message::Relation::MessageRead
                .def()
                .on_condition(move |_, read| {
                    Expr::col((read, message_read::Column::UserId))
                        .eq(me)
                        .into_condition()
                });
            // The same conditions as `MessagesKey`.
            for (message, receipt, sender) in message::Entity::find()
                .filter(message::Column::CaseId.is_in(ids))
                .filter(policy::messages::visible(reader))
                .join(JoinType::LeftJoin, receipt)
                .select_also(message_read::Entity)
                .find_also_related(user::Entity)
                .order_by_asc(message::Column::CreatedAt)
                .order_by_asc(message::Column::Id)
                .all(&self.db)
                .await?
            {
                out.entry(MessagesWithStateKey(message.case_id, reader))
                    .or_default()
                    .push(MessageRow {
                        message,
                        sender,
                        read: receipt.is_some(),
                    });
            }
        }
        Ok(out)
    }
}

impl Loader<MessagesKey> for DbLoader {
    type Value = Vec<message::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[MessagesKey],
    ) -> Result<HashMap<MessagesKey, Vec<message::Model>>, LoadError> {
        let mut out: HashMap<MessagesKey, Vec<message::Model>> =
            keys.iter().map(|k| (*k, vec![])).collect();
        for (reader, ids) in group(keys, |k| (k.0, k.1)) {
            for m in message::Entity::find()
                .filter(message::Column::CaseId.is_in(ids))
                .filter(policy::messages::visible(reader))
                .order_by_asc(message::Column::CreatedAt)
                .order_by_asc(message::Column::Id)
                .all(&self.db)
                .await?
            {
                out.entry(MessagesKey(m.case_id, reader))
                    .or_default()
                    .push(m);
            }
        }
        Ok(out)
    }
}

impl Loader<UnreadKey> for DbLoader {
    type Value = i64;
    type Error = LoadError;

    async fn load(&self, keys: &[UnreadKey]) -> Result<HashMap<UnreadKey, i64>, LoadError> {
        let mut out: HashMap<UnreadKey, i64> = keys.iter().map(|k| (*k, 0)).collect();
        for (reader, ids) in group(keys, |k| (k.0, k.1)) {
            let counts = casework::messages::unread_counts_on(&self.db, reader, &ids)
                .await
                .map_err(|e| Arc::new(DbErr::Custom(e.to_string())))?;
            for (case_id, n) in counts {
                out.insert(UnreadKey(case_id, reader), n);
            }
        }
        Ok(out)
    }
}

impl Loader<RepliedKey> for DbLoader {
    type Value = bool;
    type Error = LoadError;

    async fn load(&self, keys: &[RepliedKey]) -> Result<HashMap<RepliedKey, bool>, LoadError> {
        let mut out: HashMap<RepliedKey, bool> = keys.iter().map(|k| (*k, false)).collect();
        for (reader, ids) in group(keys, |k| (k.0, k.1)) {
            // Staff are no party: they never reply.
            let Some(side) = reader.side else { continue };
            for reply in message::Entity::find()
                .filter(message::Column::ParentMessageId.is_in(ids))
                .filter(
                    message::Column::ReplyingPartyId.in_subquery(policy::cases::party_ids(side)),
                )
                .all(&self.db)
                .await?
            {
                if let Some(parent) = reply.parent_message_id {
                    out.insert(RepliedKey(parent, reader), true);
                }
            }
        }
        Ok(out)
    }
}

impl Loader<NotesKey> for DbLoader {
    type Value = Vec<case_note::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[NotesKey],
    ) -> Result<HashMap<NotesKey, Vec<case_note::Model>>, LoadError> {
        let mut out: HashMap<NotesKey, Vec<case_note::Model>> =
            keys.iter().map(|k| (*k, vec![])).collect();
        for n in case_note::Entity::find()
            .filter(case_note::Column::CaseId.is_in(keys.iter().map(|k| k.0)))
            .order_by_asc(case_note::Column::CreatedAt)
            .order_by_asc(case_note::Column::Id)
            .all(&self.db)
            .await?
        {
            out.entry(NotesKey(n.case_id)).or_default().push(n);
        }
        Ok(out)
    }
}

impl Loader<ReadKey> for DbLoader {
    type Value = bool;
    type Error = LoadError;

    async fn load(&self, keys: &[ReadKey]) -> Result<HashMap<ReadKey, bool>, LoadError> {
        let mut out: HashMap<ReadKey, bool> = keys.iter().map(|k| (*k, false)).collect();
        let users: HashSet<Uuid> = keys.iter().map(|k| k.1).collect();
        for r in message_read::Entity::find()
            .filter(message_read::Column::MessageId.is_in(keys.iter().map(|k| k.0)))
            .filter(message_read::Column::UserId.is_in(users))
            .all(&self.db)
            .await?
        {
            out.insert(ReadKey(r.message_id, r.user_id), true);
        }
        Ok(out)
    }
}

/// Loads, for a page of cases, every relation that `node` (the selection of
/// one case) asks for, and the relations of those relations, in two rounds of
/// statements run side by side: first the cases' own relations (parties with
/// their users and organisations, tasks, messages, unread counts,
/// documents), then the people and organisations all of those name (owners,
/// landlords, task assignees, message senders: one statement each, for
/// whoever the parties did not already bring), the parties' organisations
/// as `CaseParty.organisation` shows them, the messages the rows link to
/// (`parentMessage`, `Document.message`, `Task.sourceMessage`: one statement)
/// and the messages' read and reply state.
pub async fn prefetch_cases(
    ctx: &async_graphql::Context<'_>,
    reader: Reader,
    cases: &[case::Model],
    node: async_graphql::Lookahead<'_>,
) -> crate::error::ApiResult<()> {
    let Some(RequestLoader(loader, _)) = ctx.data_opt::<RequestLoader>() else {
        return Ok(());
    };
    if cases.is_empty() {
        return Ok(());
    }
    let want = |f: &str| node.field(f).exists();
    let ids = || cases.iter().map(|c| c.id);
    let tasks_node = if node.field("tasks").exists() {
        node.field("tasks")
    } else {
        node.field("nextTasks")
    };
    let messages_node = node.field("messages");
    let want_tasks =
        want("tasks") || want("nextTasks") || want("nextTaskDueDate") || want("myTaskCounts");
    let assignees = tasks_node.field("assigneeName").exists();
    // Tasks asked for with their assignees' names come with them; messages
    // asked for with their senders, read state or the unread count come
    // with the senders and the reader's receipts (and the count is taken
    // from those rows): one statement each instead of two or three.
    let tasks_with_assignees = want_tasks && assignees;
    let want_messages = want("messages");
    let messages_with_state = want_messages
        && (messages_node.field("senderName").exists()
            || messages_node.field("read").exists()
            || want("unreadCount"));
    // 1. The cases' own relations.
    let (parties, tasks, task_rows, messages, message_rows, unread, documents, notes) = futures::join!(
        fetch(
            loader,
            want("complainantName") || want("resident") || want("parties"),
            ids().map(PartiesKey),
        ),
        fetch(
            loader,
            want_tasks && !tasks_with_assignees,
            ids().map(|id| TasksKey(id, reader)),
        ),
        fetch(
            loader,
            tasks_with_assignees,
            ids().map(|id| TasksWithAssigneesKey(id, reader)),
        ),
        fetch(
            loader,
            want_messages && !messages_with_state,
            ids().map(|id| MessagesKey(id, reader)),
        ),
        fetch(
            loader,
            messages_with_state,
            ids().map(|id| MessagesWithStateKey(id, reader)),
        ),
        fetch(
            loader,
            want("unreadCount") && !messages_with_state,
            ids().map(|id| UnreadKey(id, reader)),
        ),
        fetch(
            loader,
            want("documents"),
            ids().map(|id| DocumentsKey(id, reader)),
        ),
        // Staff only: for anyone else the field answers FORBIDDEN unloaded.
        fetch(
            loader,
            want("notes") && reader.is_staff(),
            ids().map(NotesKey)
        ),
    );
    unread.map_err(internal)?;
    let documents: Vec<entities::document::Model> = documents
        .map_err(internal)?
        .into_values()
        .flatten()
        .collect();
    let notes: Vec<case_note::Model> = notes.map_err(internal)?.into_values().flatten().collect();
    // The parties' users and organisations came with them: later lookups of
    // the same people (a resident's replies, the landlord) find them here.
    let parties: Vec<PartyView> = parties.map_err(internal)?.into_values().flatten().collect();
    loader
        .feed_many(
            parties
                .iter()
                .filter_map(|p| p.user.clone())
                .map(|u| (UserKey(u.id), u)),
        )
        .await;
    loader
        .feed_many(
            parties
                .iter()
                .filter_map(|p| p.organisation.clone())
                .map(|o| (OrganisationKey(o.id), o)),
        )
        .await;
    let mut tasks: Vec<task::Model> = tasks.map_err(internal)?.into_values().flatten().collect();
    let task_rows = task_rows.map_err(internal)?;
    if tasks_with_assignees {
        loader
            .feed_many(task_rows.iter().map(|(key, rows)| {
                (
                    TasksKey(key.0, key.1),
                    rows.iter().map(|r| r.task.clone()).collect(),
                )
            }))
            .await;
        let rows = || task_rows.values().flatten();
        loader
            .feed_many(
                rows()
                    .filter_map(|r| r.user.clone())
                    .map(|u| (UserKey(u.id), u)),
            )
            .await;
        loader
            .feed_many(
                rows()
                    .filter_map(|r| r.organisation.clone())
                    .map(|o| (OrganisationKey(o.id), o)),
            )
            .await;
        tasks.extend(rows().map(|r| r.task.clone()));
    }
    let mut messages: Vec<message::Model> = messages
        .map_err(internal)?
        .into_values()
        .flatten()
        .collect();
    let message_rows = message_rows.map_err(internal)?;
    if messages_with_state {
        loader
            .feed_many(message_rows.iter().map(|(key, rows)| {
                (
                    MessagesKey(key.0, key.1),
                    rows.iter().map(|r| r.message.clone()).collect(),
                )
            }))
            .await;
        let rows = || message_rows.values().flatten();
        loader
            .feed_many(
                rows()
                    .filter_map(|r| r.sender.clone())
                    .map(|u| (UserKey(u.id), u)),
            )
            .await;
        loader
            .feed_many(rows().map(|r| (ReadKey(r.message.id, reader.user_id), r.read)))
            .await;
        if want("unreadCount") {
            // What `UnreadKey` counts (`casework::messages::unread_counts_on`):
            // the visible messages that are notable for the reader and
            // that they have not read.
            loader
                .feed_many(message_rows.iter().map(|(key, rows)| {
                    let unread = rows
                        .iter()
                        .filter(|r| !r.read && policy::messages::is_notable(reader, &r.message))
                        .count() as i64;
                    (UnreadKey(key.0, key.1), unread)
                }))
                .await;
        }
        messages.extend(rows().map(|r| r.message.clone()));
    }
    // 2. Everyone those rows name, in one statement per table (none for
    // those already fed above).
    let mut users: Vec<UserKey> = Vec::new();
    let mut orgs: Vec<OrganisationKey> = Vec::new();
    if want("owner") {
        users.extend(cases.iter().filter_map(|c| c.owner_user_id).map(UserKey));
    }
    if want("landlordName") || want("landlord") {
        orgs.extend(
            cases
                .iter()
                .filter_map(|c| c.landlord_organisation_id)
                .map(OrganisationKey),
        );
    }
    if assignees {
        users.extend(tasks.iter().filter_map(|t| t.assignee_user_id).map(UserKey));
        orgs.extend(
            tasks
                .iter()
                .filter_map(|t| t.assignee_organisation_id)
                .map(OrganisationKey),
        );
    }
    if messages_node.field("senderName").exists() {
        users.extend(messages.iter().map(|m| UserKey(m.sender_user_id)));
    }
    if node.field("notes").field("authorName").exists() {
        users.extend(notes.iter().map(|n| UserKey(n.author_user_id)));
    }
    // The messages the rows link to (a reply's parent, a document's
    // message, a task's message to read), in one statement.
    let mut linked: Vec<MessageKey> = Vec::new();
    if node.field("documents").field("message").exists() {
        linked.extend(
            documents
                .iter()
                .filter_map(|d| d.message_id)
                .map(|id| MessageKey(id, reader)),
        );
    }
    if tasks_node.field("sourceMessage").exists() {
        linked.extend(
            tasks
                .iter()
                .filter_map(|t| t.source_message_id)
                .map(|id| MessageKey(id, reader)),
        );
    }
    let (users, orgs, party_orgs, task_cases, linked, m) = futures::join!(
        fetch(loader, true, users),
        fetch(loader, true, orgs),
        fetch(
            loader,
            node.field("parties").field("organisation").exists(),
            parties
                .iter()
                .filter_map(|p| p.party.organisation_id)
                .map(OrganisationViewKey),
        ),
        fetch(
            loader,
            tasks_node.field("case").exists(),
            tasks.iter().map(|t| CaseKey(t.case_id, reader)),
        ),
        fetch(loader, true, linked),
        prefetch_messages_with(loader, reader, &messages, messages_node),
    );
    users.map_err(internal)?;
    orgs.map_err(internal)?;
    party_orgs.map_err(internal)?;
    task_cases.map_err(internal)?;
    linked.map_err(internal)?;
    m
}

/// Loads, for a page of tasks, every relation that `node` asks for.
pub async fn prefetch_tasks(
    ctx: &async_graphql::Context<'_>,
    reader: Reader,
    tasks: &[task::Model],
    node: async_graphql::Lookahead<'_>,
) -> crate::error::ApiResult<()> {
    let Some(RequestLoader(loader, _)) = ctx.data_opt::<RequestLoader>() else {
        return Ok(());
    };
    prefetch_tasks_with(loader, reader, tasks, node, true).await
}

async fn prefetch_tasks_with(
    loader: &DataLoader<DbLoader, HashMapCache>,
    reader: Reader,
    tasks: &[task::Model],
    node: async_graphql::Lookahead<'_>,
    with_cases: bool,
) -> crate::error::ApiResult<()> {
    if tasks.is_empty() {
        return Ok(());
    }
    let assignee = node.field("assigneeName").exists();
    let case_node = node.field("case");
    let (users, orgs, cases, sources) = futures::join!(
        fetch(
            loader,
            assignee,
            tasks.iter().filter_map(|t| t.assignee_user_id).map(UserKey),
        ),
        fetch(
            loader,
            assignee,
            tasks
                .iter()
                .filter_map(|t| t.assignee_organisation_id)
                .map(OrganisationKey),
        ),
        fetch(
            loader,
            case_node.exists(),
            tasks.iter().map(|t| CaseKey(t.case_id, reader)),
        ),
        fetch(
            loader,
            node.field("sourceMessage").exists(),
            tasks
                .iter()
                .filter_map(|t| t.source_message_id)
                .map(|id| MessageKey(id, reader)),
        ),
    );
    users.map_err(internal)?;
    orgs.map_err(internal)?;
    sources.map_err(internal)?;
    let cases: Vec<case::Model> = cases.map_err(internal)?.into_values().collect();
    if with_cases && !cases.is_empty() {
        // The cases of "My tasks" rows, one level down (not recursive: a
        // case's tasks' cases are the same cases).
        prefetch_case_rows(loader, reader, &cases, case_node).await?;
    }
    Ok(())
}

/// The direct relations of cases reached from tasks (owner, landlord, parties).
async fn prefetch_case_rows(
    loader: &DataLoader<DbLoader, HashMapCache>,
    reader: Reader,
    cases: &[case::Model],
    node: async_graphql::Lookahead<'_>,
) -> crate::error::ApiResult<()> {
    let want = |f: &str| node.field(f).exists();
    let (parties, landlords, owners, unread) = futures::join!(
        fetch(
            loader,
            want("complainantName") || want("resident") || want("parties"),
            cases.iter().map(|c| PartiesKey(c.id)),
        ),
        fetch(
            loader,
            want("landlordName") || want("landlord"),
            cases
                .iter()
                .filter_map(|c| c.landlord_organisation_id)
                .map(OrganisationKey),
        ),
        fetch(
            loader,
            want("owner"),
            cases.iter().filter_map(|c| c.owner_user_id).map(UserKey),
        ),
        fetch(
            loader,
            want("unreadCount"),
            cases.iter().map(|c| UnreadKey(c.id, reader)),
        ),
    );
    parties.map_err(internal)?;
    landlords.map_err(internal)?;
    owners.map_err(internal)?;
    unread.map_err(internal)?;
    Ok(())
}

/// The read and reply state of messages, their cases (for `canReply`) and
/// their attachments.
async fn prefetch_messages_with(
    loader: &DataLoader<DbLoader, HashMapCache>,
    reader: Reader,
    messages: &[message::Model],
    node: async_graphql::Lookahead<'_>,
) -> crate::error::ApiResult<()> {
    if messages.is_empty() {
        return Ok(());
    }
    let replied = node.field("repliedByMe").exists() || node.field("canReply").exists();
    // Their senders come with the other users (see `prefetch_cases`).
    let (reads, replies, cases, attachments, parents) = futures::join!(
        fetch(
            loader,
            node.field("read").exists(),
            messages.iter().map(|m| ReadKey(m.id, reader.user_id)),
        ),
        fetch(
            loader,
            replied,
            messages.iter().map(|m| RepliedKey(m.id, reader)),
        ),
        fetch(
            loader,
            node.field("canReply").exists(),
            messages.iter().map(|m| CaseKey(m.case_id, reader)),
        ),
        fetch(
            loader,
            node.field("attachments").exists(),
            messages.iter().map(|m| AttachmentsKey(m.id, reader)),
        ),
        fetch(
            loader,
            node.field("parentMessage").exists(),
            messages
                .iter()
                .filter_map(|m| m.parent_message_id)
                .map(|id| MessageKey(id, reader)),
        ),
    );
    parents.map_err(internal)?;
    reads.map_err(internal)?;
    replies.map_err(internal)?;
    cases.map_err(internal)?;
    attachments.map_err(internal)?;
    Ok(())
}
