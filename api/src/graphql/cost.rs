//! What an operation costs, reported to the client and charged to its
//! principal's budget (as GitHub's `rateLimit` and Shopify's `cost` do).
//!
//! - **Cost** is the operation's complexity as the schema weighs it: a field
//!   costs 1; a connection costs its selection once per node it may return
//!   (`first`, or the default page of 20), plus one
//!   ([`super::pagination::connection_cost`]); a search's totals
//!   (`totalCount`, `totalAmount`: a count-and-sum statement) cost
//!   [`TOTALS_COST`] each; a download link (`downloadUrl`: signed, and
//!   audited) costs [`DOWNLOAD_URL_COST`]. So aliases pay for themselves:
//!   660 aliases of `payments { totalCount totalAmount }` are far over the
//!   per-operation limit (`PORTAL_MAX_QUERY_COMPLEXITY`, 5,000) and are
//!   refused before anything runs.
//! - **Budget**: each principal — a signed-in user (all their sessions), an
//!   API token, an anonymous client address — may spend
//!   `PORTAL_COST_PER_MINUTE` (60,000) per minute, in fixed one-minute
//!   windows (in Redis when configured, so every API instance shares them).
//!   An operation that would go over is refused before it runs:
//!   `RATE_LIMITED` with `retryAfterSeconds` and `extensions.reason:
//!   "COST_BUDGET"`; when every operation of a request is refused so, the
//!   HTTP answer is 429 with `Retry-After`.
//! - **Report**: every response carries `extensions.cost`:
//!   `{ requestedQueryCost, maximumQueryCost, throttleStatus: {
//!   maximumAvailable, currentlyAvailable, resetInSeconds } }`.

use std::sync::{Arc, Mutex};

use async_graphql::{
    ErrorExtensions, Pos, Response, ServerError, ValidationResult, Value,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextRequest, NextValidation},
};
use serde_json::json;

use crate::{
    app::AppState,
    auth::{ClientInfo, Viewer},
    ratelimit::{Budget, Limit},
};

/// What `totalCount` and `totalAmount` of a search each cost.
pub const TOTALS_COST: usize = 5;
/// What a `downloadUrl` costs.
pub const DOWNLOAD_URL_COST: usize = 20;

/// The marker on a refusal for the cost budget.
pub const COST_BUDGET: &str = "COST_BUDGET";

/// Extension factory registered on the schema.
pub struct CostLimits;

impl ExtensionFactory for CostLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(CostExtension::default())
    }
}

#[derive(Default)]
struct CostExtension {
    charged: Mutex<Option<(usize, Budget)>>,
}

/// Whose budget an operation is charged to.
fn principal(viewer: Option<&Viewer>, client: Option<&ClientInfo>) -> String {
    match viewer {
        Some(Viewer::User(u) | Viewer::Enrolling(u)) => format!("user:{}", u.id),
        Some(Viewer::ApiToken(t)) => format!("token:{}", t.id),
        _ => format!(
            "address:{}",
            client.and_then(|c| c.ip.as_deref()).unwrap_or("unknown")
        ),
    }
}

#[async_trait::async_trait]
impl Extension for CostExtension {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        let Some(app) = ctx.data_opt::<AppState>() else {
            return Ok(result);
        };
        let subject = principal(ctx.data_opt::<Viewer>(), ctx.data_opt::<ClientInfo>());
        let limit = Limit {
            max: u32::try_from(app.config.limits.cost_per_minute).unwrap_or(u32::MAX),
            window: std::time::Duration::from_secs(60),
        };
        let cost = u32::try_from(result.complexity).unwrap_or(u32::MAX);
        match app.rate_limiter.spend("cost", &subject, cost, limit).await {
            Ok(budget) => {
                *self.charged.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some((result.complexity, budget));
                Ok(result)
            }
            Err(error) => {
                let mut refused = error.extend();
                refused = refused.extend_with(|_, ext| ext.set("reason", COST_BUDGET));
                Err(vec![refused.into_server_error(Pos::default())])
            }
        }
    }

    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        let charged = *self.charged.lock().unwrap_or_else(|e| e.into_inner());
        if let (Some((cost, budget)), Some(app)) = (charged, ctx.data_opt::<AppState>()) {
            let report = json!({
                "requestedQueryCost": cost,
                "maximumQueryCost": app.config.limits.max_query_complexity,
                "throttleStatus": {
                    "maximumAvailable": app.config.limits.cost_per_minute,
                    "currentlyAvailable": budget.remaining,
                    "resetInSeconds": budget.resets_in.as_secs(),
                },
            });
            if let Ok(value) = Value::from_json(report) {
                response.extensions.insert("cost".to_owned(), value);
            }
        }
        response
    }
}

/// Whether a response is a refusal for the cost budget, and if so after how
/// many seconds to try again.
pub fn budget_refusal(response: &Response) -> Option<u64> {
    if response.data != Value::Null || response.errors.is_empty() {
        return None;
    }
    response
        .errors
        .iter()
        .map(|e| {
            let ext = e.extensions.as_ref()?;
            match (ext.get("reason"), ext.get("retryAfterSeconds")) {
                (Some(Value::String(r)), Some(Value::Number(n))) if r == COST_BUDGET => n.as_u64(),
                _ => None,
            }
        })
        .collect::<Option<Vec<u64>>>()
        .and_then(|waits| waits.into_iter().max())
}
