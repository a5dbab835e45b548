//! Users and organisations by id: the people and landlords that cases,
//! tasks and messages name.

use async_graphql::dataloader::Loader;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::collections::HashMap;
use uuid::Uuid;

use entities::{organisation, user};

use super::{DbLoader, LoadError};

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
