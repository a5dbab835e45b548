//! Users and organisations by id: the people and landlords that cases,
//! tasks and messages name, and the same rows as the `UserAccount` and
//! `Organisation` links of other objects show them.

use async_graphql::dataloader::Loader;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};
use std::{collections::HashMap, sync::Arc};
use uuid::Uuid;

use entities::{organisation, user};

use super::{DbLoader, LoadError};
use crate::users::{
    ManagedUser, organisations::OrganisationWithDomains, organisations::with_domains,
    permissions_of,
};

/// A user by id (case owners, message senders, task assignees).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserKey(pub Uuid);

/// An organisation by id (landlords, task assignees).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrganisationKey(pub Uuid);

impl Loader<UserKey> for DbLoader {
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

impl Loader<OrganisationKey> for DbLoader {
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

/// An organisation with its email domains, as the `Organisation` type shows
/// it (the links `organisation` of tenancy, payment and user rows; the
/// resolver asks `policy::organisations` before showing it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrganisationViewKey(pub Uuid);

/// A user with their permissions, as the `UserAccount` type shows it (the
/// links `uploadedBy`, `appliedBy`, `answeredBy`, …; the resolver asks
/// `policy::users` before showing it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ManagedUserKey(pub Uuid);

impl Loader<OrganisationViewKey> for DbLoader {
    type Value = OrganisationWithDomains;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[OrganisationViewKey],
    ) -> Result<HashMap<OrganisationViewKey, OrganisationWithDomains>, LoadError> {
        let rows = organisation::Entity::find()
            .filter(organisation::Column::Id.is_in(keys.iter().map(|k| k.0)))
            .all(&self.db)
            .await?;
        Ok(with_domains(&self.db, rows)
            .await
            .map_err(|e| Arc::new(DbErr::Custom(e.to_string())))?
            .into_iter()
            .map(|o| (OrganisationViewKey(o.organisation.id), o))
            .collect())
    }
}

impl Loader<ManagedUserKey> for DbLoader {
    type Value = ManagedUser;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[ManagedUserKey],
    ) -> Result<HashMap<ManagedUserKey, ManagedUser>, LoadError> {
        let rows = user::Entity::find()
            .filter(user::Column::Id.is_in(keys.iter().map(|k| k.0)))
            .all(&self.db)
            .await?;
        let ids: Vec<Uuid> = rows.iter().map(|u| u.id).collect();
        let mut permissions = permissions_of(&self.db, &ids).await?;
        Ok(rows
            .into_iter()
            .map(|user| {
                let managed = ManagedUser {
                    permissions: permissions.remove(&user.id).unwrap_or_default(),
                    user,
                };
                (ManagedUserKey(managed.user.id), managed)
            })
            .collect())
    }
}
