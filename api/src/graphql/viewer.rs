//! `viewer`: the signed-in user.

use async_graphql::{Context, ID, Object, SimpleObject};
use sea_orm::EntityTrait;

use entities::user;

use super::{ContextExt, enums::UserKind};
use crate::error::ApiError;

/// The signed-in user's own view of themselves.
#[derive(SimpleObject)]
pub struct Me {
    /// User id.
    pub id: ID,
    /// Email address (the username).
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Resident, landlord user or staff.
    pub kind: UserKind,
}

/// Viewer queries.
#[derive(Default)]
pub struct ViewerQuery;

#[Object]
impl ViewerQuery {
    /// The signed-in user, or null when anonymous.
    async fn viewer(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Me>> {
        let Some(auth) = ctx.viewer().user() else {
            return Ok(None);
        };
        let me = user::Entity::find_by_id(auth.id)
            .one(&ctx.app().db)
            .await
            .map_err(ApiError::from)?
            .ok_or(ApiError::Unauthenticated)?;
        Ok(Some(Me {
            id: ID(me.id.to_string()),
            email: me.email,
            first_name: me.first_name,
            last_name: me.last_name,
            kind: me.kind.into(),
        }))
    }
}
