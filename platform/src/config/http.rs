//! The HTTP and GraphQL surface: where the server listens, the links it
//! sends, input limits, developer switches, CORS, trusted proxies and the
//! lifetime of the API tokens it accepts.

use std::net::SocketAddr;

use url::Url;

use super::{ConfigError, Vars};

/// Input limits of the HTTP and GraphQL surface.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body other than file uploads.
    pub max_body_bytes: usize,
    /// Largest single uploaded file.
    pub max_upload_bytes: u64,
    /// Deepest GraphQL selection accepted.
    pub max_query_depth: usize,
    /// Highest GraphQL complexity accepted.
    pub max_query_complexity: usize,
    /// Most operations in one batched request.
    pub max_batch_size: usize,
    /// Cost each principal may spend per minute.
    pub cost_per_minute: u64,
}

/// Switches for the developer-facing parts of the GraphQL endpoint.
#[derive(Debug, Clone)]
pub struct GraphqlConfig {
    /// Serve the GraphiQL page on `GET /graphql`.
    pub graphiql: bool,
    /// Answer introspection queries.
    pub introspection: bool,
    /// Suggest field names in validation errors.
    pub field_suggestions: bool,
}

/// How long organisation API tokens live (whole days from their creation).
#[derive(Debug, Clone, Copy)]
pub struct ApiTokenConfig {
    /// The lifetime of a token created without an expiry.
    pub default_days: u32,
    /// The longest lifetime a creator may ask for.
    pub max_days: u32,
}

/// Most days `PORTAL_API_TOKEN_MAX_DAYS` may allow (ten years).
pub const API_TOKEN_MAX_DAYS_CEILING: u32 = 3650;

/// Reads `PORTAL_API_TOKEN_DEFAULT_DAYS` (90) and `PORTAL_API_TOKEN_MAX_DAYS`
/// (365): both at least 1, the default at most the maximum, the maximum at
/// most [`API_TOKEN_MAX_DAYS_CEILING`].
pub(super) fn api_tokens(vars: &Vars) -> Result<ApiTokenConfig, ConfigError> {
    let max_days: u32 = vars.positive("PORTAL_API_TOKEN_MAX_DAYS", 365)?;
    if max_days > API_TOKEN_MAX_DAYS_CEILING {
        return Err(ConfigError::new(
            "PORTAL_API_TOKEN_MAX_DAYS",
            format!("must be at most {API_TOKEN_MAX_DAYS_CEILING} (ten years)"),
        ));
    }
    let default_days: u32 = vars.positive("PORTAL_API_TOKEN_DEFAULT_DAYS", 90.min(max_days))?;
    if default_days > max_days {
        return Err(ConfigError::new(
            "PORTAL_API_TOKEN_DEFAULT_DAYS",
            format!("must be at most PORTAL_API_TOKEN_MAX_DAYS ({max_days})"),
        ));
    }
    Ok(ApiTokenConfig {
        default_days,
        max_days,
    })
}

/// Reads `PORTAL_BIND_ADDR` and `PORTAL_PUBLIC_BASE_URL` (which defaults to
/// the bind address).
pub(super) fn addresses(vars: &Vars) -> Result<(SocketAddr, Url), ConfigError> {
    let bind_addr: SocketAddr =
        vars.parse("PORTAL_BIND_ADDR", SocketAddr::from(([127, 0, 0, 1], 8080)))?;
    let public_base_url = match vars.url("PORTAL_PUBLIC_BASE_URL")? {
        Some(url) => url,
        None => Url::parse(&format!("http://{bind_addr}"))
            .map_err(|e| ConfigError::new("PORTAL_BIND_ADDR", e.to_string()))?,
    };
    Ok((bind_addr, public_base_url))
}

/// Reads the `PORTAL_MAX_*` limits.
pub(super) fn limits(vars: &Vars) -> Result<Limits, ConfigError> {
    Ok(Limits {
        max_body_bytes: vars.positive("PORTAL_MAX_BODY_BYTES", 1024 * 1024)?,
        max_upload_bytes: vars.positive("PORTAL_MAX_UPLOAD_BYTES", 55 * 1024 * 1024)?,
        max_query_depth: vars.positive("PORTAL_MAX_QUERY_DEPTH", 15)?,
        max_query_complexity: vars.positive("PORTAL_MAX_QUERY_COMPLEXITY", 5000)?,
        max_batch_size: vars.positive("PORTAL_MAX_BATCH_SIZE", 10)?,
        cost_per_minute: vars.positive("PORTAL_COST_PER_MINUTE", 60_000)?,
    })
}

/// Reads `PORTAL_GRAPHIQL`, `PORTAL_INTROSPECTION`, `PORTAL_FIELD_SUGGESTIONS`.
pub(super) fn graphql(vars: &Vars) -> Result<GraphqlConfig, ConfigError> {
    Ok(GraphqlConfig {
        graphiql: vars.bool("PORTAL_GRAPHIQL", true)?,
        introspection: vars.bool("PORTAL_INTROSPECTION", true)?,
        field_suggestions: vars.bool("PORTAL_FIELD_SUGGESTIONS", true)?,
    })
}

/// Reads `PORTAL_CORS_ORIGINS`: comma-separated origins, each without a path.
pub(super) fn cors_origins(vars: &Vars) -> Result<Vec<String>, ConfigError> {
    let Some(raw) = vars.get("PORTAL_CORS_ORIGINS") else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|origin| {
            Url::parse(origin)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.path() == "/")
                .map(|_| origin.trim_end_matches('/').to_owned())
                .ok_or_else(|| {
                    ConfigError::new(
                        "PORTAL_CORS_ORIGINS",
                        format!("{origin:?} is not an origin such as https://portal.example.org"),
                    )
                })
        })
        .collect()
}
