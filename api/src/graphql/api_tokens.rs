//! Organisation API tokens for partner dashboards: administrators
//! (`MANAGE_USERS`) create them (the secret is shown once), list them and
//! revoke them. Who may is [`policy::api_tokens`]. A page of tokens costs two
//! statements whatever its size.

use async_graphql::{
    Context, ID, InputObject, Object, SimpleObject,
    connection::{Connection, EmptyFields},
};
use chrono::{DateTime, Utc};

use super::{
    ContextExt,
    enums::Permission,
    pagination::{decode_cursor, keyset_connection, page_size},
    scalars::parse_id,
};
use crate::{
    policy,
    users::api_tokens::{self, TokenWithPermissions},
};

/// An organisation API token (never its secret).
#[derive(SimpleObject)]
pub struct ApiToken {
    /// Token id.
    pub id: ID,
    /// The name it was given, e.g. "Finance dashboard".
    pub name: String,
    /// The token's first characters (`pat_` and 8 more), to tell tokens apart.
    pub token_prefix: String,
    /// What it may do.
    pub permissions: Vec<Permission>,
    /// Who created it.
    pub created_by_user_id: Option<ID>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last used (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked; a revoked token never works again.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<TokenWithPermissions> for ApiToken {
    fn from(t: TokenWithPermissions) -> Self {
        let m = t.token;
        Self {
            id: ID(m.id.to_string()),
            name: m.name,
            token_prefix: m.token_prefix,
            permissions: t.permissions.into_iter().map(Into::into).collect(),
            created_by_user_id: m.created_by_user_id.map(|u| ID(u.to_string())),
            created_at: m.created_at,
            last_used_at: m.last_used_at,
            revoked_at: m.revoked_at,
        }
    }
}

/// A new API token.
#[derive(InputObject)]
pub struct CreateApiTokenInput {
    /// A name to recognise it by (at most 100 characters).
    pub name: String,
    /// What it may do: one or both of `VIEW_PAYMENTS` and `EXPORT_PAYMENTS`.
    pub permissions: Vec<Permission>,
}

/// The answer to `createApiToken`.
#[derive(SimpleObject)]
pub struct CreateApiTokenPayload {
    /// The secret, to send as `Authorization: Bearer <token>`. Shown this
    /// once: only its hash is kept.
    pub token: String,
    /// The stored token.
    pub api_token: ApiToken,
}

/// API token queries.
#[derive(Default)]
pub struct ApiTokensQuery;

#[Object]
impl ApiTokensQuery {
    /// The organisation's API tokens, revoked ones included, newest first.
    async fn api_tokens(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, ApiToken, EmptyFields, EmptyFields>> {
        let admin = policy::api_tokens::can_administer(&ctx.caller())?;
        let limit = page_size(first)?;
        let after = after.as_deref().map(decode_cursor).transpose()?;
        let (tokens, has_next) = api_tokens::list(ctx.app(), &admin, limit, after).await?;
        Ok(keyset_connection(
            tokens,
            false,
            has_next,
            |t| t.token.id,
            ApiToken::from,
        ))
    }
}

/// API token mutations.
#[derive(Default)]
pub struct ApiTokensMutation;

#[Object]
impl ApiTokensMutation {
    /// Creates an API token for the organisation and returns its secret, once.
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        input: CreateApiTokenInput,
    ) -> async_graphql::Result<CreateApiTokenPayload> {
        let admin = policy::api_tokens::can_administer(&ctx.caller())?;
        let permissions = input.permissions.into_iter().map(Into::into).collect();
        let (token, created) = api_tokens::create(ctx.app(), &admin, &input.name, permissions)
            .await
            .map_err(|r| ctx.reject(r))?;
        Ok(CreateApiTokenPayload {
            token,
            api_token: created.into(),
        })
    }

    /// Revokes an API token: it stops working at once.
    async fn revoke_api_token(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ApiToken> {
        let admin = policy::api_tokens::can_administer(&ctx.caller())?;
        let id = parse_id(&id, "API token")?;
        Ok(api_tokens::revoke(ctx.app(), &admin, id).await?.into())
    }
}
