//! DataLoaders for every casework relation a list can ask for.
//!
//! One [`CaseworkLoader`] answers every key type below; async-graphql
//! batches the keys of one type that a request asks for while resolving a
//! level of the query, so a page of cases costs one statement per relation
//! (plus one per relation of a relation), whatever the page size. The
//! loader lives in the schema data (see [`super::build`]) with no cache: it
//! only batches, so it never serves one request's rows to another, and keys
//! that depend on who asks carry the [`Caller`] and are answered through that
//! caller's policy conditions, like any other query.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use async_graphql::dataloader::Loader;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use entities::{case, case_party, message, message_read, organisation, task, user};

use crate::{casework, policy, policy::cases::Caller};

/// The loader of casework relations.
pub struct CaseworkLoader {
    db: DatabaseConnection,
}

impl CaseworkLoader {
    /// A loader reading from `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

/// Loader errors are shared between every key of a batch.
pub type LoadError = Arc<DbErr>;

/// A user by id (case owners, message senders, task assignees).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserKey(pub Uuid);

/// An organisation by id (landlords, task assignees).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrganisationKey(pub Uuid);

/// A case by id, if the caller may see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CaseKey(pub Uuid, pub Caller);

/// The parties of a case (the case was checked by whoever asks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PartiesKey(pub Uuid);

/// The tasks of a case that the caller may see, by due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TasksKey(pub Uuid, pub Caller);

/// The messages of a case that the caller may see, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessagesKey(pub Uuid, pub Caller);

/// The caller's unread messages on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnreadKey(pub Uuid, pub Caller);

/// Whether a user has read a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReadKey(pub Uuid, pub Uuid);

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

fn group<K, F>(keys: &[K], split: F) -> HashMap<Caller, Vec<Uuid>>
where
    F: Fn(&K) -> (Uuid, Caller),
{
    let mut groups: HashMap<Caller, Vec<Uuid>> = HashMap::new();
    for key in keys {
        let (id, caller) = split(key);
        groups.entry(caller).or_default().push(id);
    }
    groups
}

impl Loader<UserKey> for CaseworkLoader {
    type Value = user::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[UserKey]) -> Result<HashMap<UserKey, user::Model>, LoadError> {
        Ok(user::Entity::find()
            .filter(user::Column::Id.is_in(keys.iter().map(|k| k.0)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|u| (UserKey(u.id), u))
            .collect())
    }
}

impl Loader<OrganisationKey> for CaseworkLoader {
    type Value = organisation::Model;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[OrganisationKey],
    ) -> Result<HashMap<OrganisationKey, organisation::Model>, LoadError> {
        Ok(organisation::Entity::find()
            .filter(organisation::Column::Id.is_in(keys.iter().map(|k| k.0)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|o| (OrganisationKey(o.id), o))
            .collect())
    }
}

impl Loader<CaseKey> for CaseworkLoader {
    type Value = case::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[CaseKey]) -> Result<HashMap<CaseKey, case::Model>, LoadError> {
        let mut out = HashMap::new();
        for (caller, ids) in group(keys, |k| (k.0, k.1)) {
            for c in case::Entity::find()
                .filter(case::Column::Id.is_in(ids))
                .filter(policy::cases::visible_to(caller))
                .all(&self.db)
                .await?
            {
                out.insert(CaseKey(c.id, caller), c);
            }
        }
        Ok(out)
    }
}

impl Loader<PartiesKey> for CaseworkLoader {
    type Value = Vec<PartyView>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[PartiesKey],
    ) -> Result<HashMap<PartiesKey, Vec<PartyView>>, LoadError> {
        let parties = case_party::Entity::find()
            .filter(case_party::Column::CaseId.is_in(keys.iter().map(|k| k.0)))
            .order_by_asc(case_party::Column::CreatedAt)
            .order_by_asc(case_party::Column::Id)
            .all(&self.db)
            .await?;
        let user_ids: HashSet<Uuid> = parties.iter().filter_map(|p| p.user_id).collect();
        let org_ids: HashSet<Uuid> = parties.iter().filter_map(|p| p.organisation_id).collect();
        let users: HashMap<Uuid, user::Model> = if user_ids.is_empty() {
            HashMap::new()
        } else {
            user::Entity::find()
                .filter(user::Column::Id.is_in(user_ids))
                .all(&self.db)
                .await?
                .into_iter()
                .map(|u| (u.id, u))
                .collect()
        };
        let orgs: HashMap<Uuid, organisation::Model> = if org_ids.is_empty() {
            HashMap::new()
        } else {
            organisation::Entity::find()
                .filter(organisation::Column::Id.is_in(org_ids))
                .all(&self.db)
                .await?
                .into_iter()
                .map(|o| (o.id, o))
                .collect()
        };
        let mut out: HashMap<PartiesKey, Vec<PartyView>> =
            keys.iter().map(|k| (*k, vec![])).collect();
        for party in parties {
            let view = PartyView {
                user: party.user_id.and_then(|id| users.get(&id).cloned()),
                organisation: party.organisation_id.and_then(|id| orgs.get(&id).cloned()),
                party,
            };
            out.entry(PartiesKey(view.party.case_id))
                .or_default()
                .push(view);
        }
        Ok(out)
    }
}

impl Loader<TasksKey> for CaseworkLoader {
    type Value = Vec<task::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[TasksKey],
    ) -> Result<HashMap<TasksKey, Vec<task::Model>>, LoadError> {
        let mut out: HashMap<TasksKey, Vec<task::Model>> =
            keys.iter().map(|k| (*k, vec![])).collect();
        for (caller, ids) in group(keys, |k| (k.0, k.1)) {
            for t in task::Entity::find()
                .filter(task::Column::CaseId.is_in(ids))
                .filter(policy::tasks::visible_to(caller))
                .order_by_asc(task::Column::DueDate)
                .order_by_asc(task::Column::Id)
                .all(&self.db)
                .await?
            {
                out.entry(TasksKey(t.case_id, caller)).or_default().push(t);
            }
        }
        Ok(out)
    }
}

impl Loader<MessagesKey> for CaseworkLoader {
    type Value = Vec<message::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[MessagesKey],
    ) -> Result<HashMap<MessagesKey, Vec<message::Model>>, LoadError> {
        let mut out: HashMap<MessagesKey, Vec<message::Model>> =
            keys.iter().map(|k| (*k, vec![])).collect();
        for (caller, ids) in group(keys, |k| (k.0, k.1)) {
            for m in message::Entity::find()
                .filter(message::Column::CaseId.is_in(ids))
                .filter(policy::messages::visible_to(caller))
                .order_by_asc(message::Column::CreatedAt)
                .order_by_asc(message::Column::Id)
                .all(&self.db)
                .await?
            {
                out.entry(MessagesKey(m.case_id, caller))
                    .or_default()
                    .push(m);
            }
        }
        Ok(out)
    }
}

impl Loader<UnreadKey> for CaseworkLoader {
    type Value = i64;
    type Error = LoadError;

    async fn load(&self, keys: &[UnreadKey]) -> Result<HashMap<UnreadKey, i64>, LoadError> {
        let mut out: HashMap<UnreadKey, i64> = keys.iter().map(|k| (*k, 0)).collect();
        for (caller, ids) in group(keys, |k| (k.0, k.1)) {
            let counts = casework::messages::unread_counts(&self.db, caller, Some(&ids))
                .await
                .map_err(|e| Arc::new(DbErr::Custom(e.to_string())))?;
            for (case_id, n) in counts {
                out.insert(UnreadKey(case_id, caller), n);
            }
        }
        Ok(out)
    }
}

impl Loader<ReadKey> for CaseworkLoader {
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
