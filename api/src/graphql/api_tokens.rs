//! Organisation API tokens for partner dashboards: administrators
//! (`MANAGE_USERS`) create them (the secret is shown once), list them and
//! revoke them. Who may is [`policy::api_tokens`]; what a token may carry,
//! how long it lives and when it stops working is
//! [`crate::users::api_tokens`]. A page of tokens costs two statements
//! whatever its size.

use async_graphql::{
    ComplexObject, Context, ID, InputObject, Object, SimpleObject,
    connection::{Connection, EmptyFields},
};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    ContextExt,
    enums::Permission,
    pagination::{decode_cursor, keyset_connection, page_size},
    scalars::{NodeKind, global_id, parse_id},
    users::{UserAccount, user_link},
};
use crate::{
    policy,
    users::api_tokens::{self, TokenWithPermissions},
};

/// An organisation API token (never its secret).
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ApiToken {
    /// Token id.
    pub id: ID,
    /// The name it was given, e.g. "Finance dashboard".
    pub name: String,
    /// The token's first characters (`pat_` and 8 more), to tell tokens apart.
    pub token_prefix: String,
    /// The permissions it was given. It can use only those its creator still
    /// holds, and nothing once its creator is suspended, restricted or
    /// deactivated: a token acts for the user who created it.
    pub permissions: Vec<Permission>,
    /// Who created it (see the `createdBy` field).
    #[graphql(skip)]
    pub created_by_user_id: Option<Uuid>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last used (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it expires: from then on it is refused like an unknown token.
    /// Set at creation and never extended; create a new token before then.
    pub expires_at: DateTime<Utc>,
    /// When it was revoked; a revoked token never works again.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<TokenWithPermissions> for ApiToken {
    fn from(t: TokenWithPermissions) -> Self {
        let m = t.token;
        Self {
            id: global_id(NodeKind::ApiToken, m.id),
            name: m.name,
            token_prefix: m.token_prefix,
            permissions: t.permissions.into_iter().map(Into::into).collect(),
            created_by_user_id: m.created_by_user_id,
            created_at: m.created_at,
            last_used_at: m.last_used_at,
            expires_at: m.expires_at,
            revoked_at: m.revoked_at,
        }
    }
}

#[ComplexObject]
impl ApiToken {
    /// Who created it: the user it acts for, through the request's loader
    /// (null once that account is deactivated: the token then no longer
    /// works either).
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<UserAccount>> {
        let Some(id) = self.created_by_user_id else {
            return Ok(None);
        };
        user_link(ctx, id).await
    }
}

/// A new API token.
#[derive(InputObject)]
pub struct CreateApiTokenInput {
    /// A name to recognise it by (at most 100 characters).
    pub name: String,
    /// What it may do: any of `VIEW_PAYMENTS`, `EXPORT_PAYMENTS` and
    /// `MANAGE_WEBHOOKS`, each one a permission the creator holds.
    pub permissions: Vec<Permission>,
    /// How many days it lives, from 1 to the service's maximum (365 unless
    /// the operator set `PORTAL_API_TOKEN_MAX_DAYS`). Left out: the default
    /// (90 unless the operator set `PORTAL_API_TOKEN_DEFAULT_DAYS`).
    pub expires_in_days: Option<i32>,
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
    /// The organisation's API tokens, revoked and expired ones included,
    /// newest first.
    #[graphql(complexity = "super::pagination::connection_cost(first, child_complexity)")]
    async fn api_tokens(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return: 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page: the page starts after it.")] after: Option<String>,
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
    /// The token acts for its creator: it carries only permissions they hold,
    /// and works until it expires, is revoked, or its creator is no longer
    /// active.
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The token's name, permissions and expiry.")] input: CreateApiTokenInput,
    ) -> async_graphql::Result<CreateApiTokenPayload> {
        let admin = policy::api_tokens::can_administer(&ctx.caller())?;
        let permissions = input.permissions.into_iter().map(Into::into).collect();
        let (token, created) = api_tokens::create(
            ctx.app(),
            &admin,
            &input.name,
            permissions,
            input.expires_in_days,
        )
        .await
        .map_err(|r| ctx.reject(r))?;
        Ok(CreateApiTokenPayload {
            token,
            api_token: created.into(),
        })
    }

    /// Revokes an API token: it stops working at once.
    async fn revoke_api_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The API token, one of `apiTokens`.")] id: ID,
    ) -> async_graphql::Result<ApiToken> {
        let admin = policy::api_tokens::can_administer(&ctx.caller())?;
        let id = parse_id(&id, NodeKind::ApiToken)?;
        Ok(api_tokens::revoke(ctx.app(), &admin, id).await?.into())
    }
}
