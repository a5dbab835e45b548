//! The one list of configuration variables.
//!
//! [`VARIABLES`] is read three ways: [`super::Config::from_vars`] refuses any
//! `PORTAL_*` variable not in it (a typo cannot silently fall back to a
//! default), [`markdown_table`] renders the README's configuration table
//! (`portal config-table` prints it, and a test fails when the README's copy
//! differs), and this page is the reference in the code. Add a variable here
//! and in the concern module that parses it (`http`, `storage`, `delivery`,
//! `jobs`), then paste `portal config-table` into the README.

/// One environment variable the service reads.
#[derive(Debug, Clone, Copy)]
pub struct Variable {
    /// The variable's name.
    pub name: &'static str,
    /// The default, in words (Markdown).
    pub default: &'static str,
    /// What it does (Markdown).
    pub meaning: &'static str,
}

const fn var(name: &'static str, default: &'static str, meaning: &'static str) -> Variable {
    Variable {
        name,
        default,
        meaning,
    }
}

/// Every variable, in the README's order.
pub const VARIABLES: &[Variable] = &[
    var(
        "DATABASE_URL",
        "`sqlite://<data dir>/portal.db?mode=rwc`",
        "SQLite or PostgreSQL URL. For PostgreSQL, say what TLS you want: `?sslmode=verify-full` to a server across a network; `?sslmode=disable` on loopback or a private socket, where TLS only costs CPU (without `sslmode`, the driver negotiates TLS whenever the server offers it; on the case page that was a fifth of the API's CPU). Pooled connections are checked with a ping only after 30 s idle.",
    ),
    var(
        "REDIS_URL",
        "unset",
        "Redis for the job queue, rate limits and live updates; unset = SQLite queue (embedded only)",
    ),
    var(
        "PORTAL_DATA_DIR",
        "`./data`",
        "local files: SQLite database, documents, exports, outbox",
    ),
    var(
        "PORTAL_BIND_ADDR",
        "`127.0.0.1:8080`",
        "address the HTTP server listens on",
    ),
    var(
        "PORTAL_PUBLIC_BASE_URL",
        "`http://<bind addr>`",
        "absolute base for links in emails",
    ),
    var(
        "PORTAL_S3_BUCKET",
        "unset",
        "set = documents and exports go to S3",
    ),
    var(
        "PORTAL_S3_ENDPOINT",
        "unset (AWS)",
        "S3-compatible endpoint URL",
    ),
    var("PORTAL_S3_REGION", "`us-east-1`", "S3 region"),
    var(
        "PORTAL_S3_ACCESS_KEY_ID",
        "unset (default AWS chain)",
        "static access key id (with `PORTAL_S3_SECRET_ACCESS_KEY`: both or neither)",
    ),
    var(
        "PORTAL_S3_SECRET_ACCESS_KEY",
        "unset (default AWS chain)",
        "static secret key (with `PORTAL_S3_ACCESS_KEY_ID`: both or neither)",
    ),
    var(
        "PORTAL_S3_FORCE_PATH_STYLE",
        "`false`",
        "path-style addressing (most S3-compatible servers)",
    ),
    var(
        "PORTAL_SMTP_URL",
        "unset = `.eml` files",
        "e.g. `smtps://user:pass@smtp.example.com`",
    ),
    var(
        "PORTAL_MAIL_FROM",
        "`Landlord & Resident Portal <no-reply@portal.localhost>`",
        "sender mailbox",
    ),
    var(
        "PORTAL_SMS_PROVIDER_URL",
        "unset = `sms.log`",
        "Notify-style SMS API endpoint (with `PORTAL_SMS_API_KEY`: both or neither)",
    ),
    var(
        "PORTAL_SMS_API_KEY",
        "unset",
        "bearer key of the SMS API (with `PORTAL_SMS_PROVIDER_URL`)",
    ),
    var(
        "PORTAL_CLAMD_ADDR",
        "unset",
        "`host:port` of clamd; unset = uploads stay `PENDING_SCAN`",
    ),
    var(
        "PORTAL_MAX_BODY_BYTES",
        "`1048576`",
        "largest non-upload request body",
    ),
    var(
        "PORTAL_MAX_UPLOAD_BYTES",
        "`57671680` (55 MiB)",
        "largest uploaded file",
    ),
    var("PORTAL_MAX_QUERY_DEPTH", "`15`", "GraphQL depth limit"),
    var(
        "PORTAL_MAX_QUERY_COMPLEXITY",
        "`5000`",
        "the most one GraphQL operation may cost (a field 1, a connection its selection times `first`, totals and download links more; see \"Cost\")",
    ),
    var(
        "PORTAL_COST_PER_MINUTE",
        "`60000`",
        "cost each principal (user, API token, anonymous address) may spend per minute; over it `RATE_LIMITED` with `retryAfterSeconds` (HTTP 429 and `Retry-After`)",
    ),
    var(
        "PORTAL_MAX_BATCH_SIZE",
        "`10`",
        "operations per batched GraphQL request",
    ),
    var(
        "PORTAL_GRAPHIQL",
        "`true`",
        "serve GraphiQL on `GET /graphql`",
    ),
    var(
        "PORTAL_INTROSPECTION",
        "`true`",
        "allow schema introspection",
    ),
    var(
        "PORTAL_FIELD_SUGGESTIONS",
        "`true`",
        "\"did you mean\" hints in errors",
    ),
    var(
        "PORTAL_TRUSTED_PROXY_HOPS",
        "`0`",
        "reverse proxies in front of the API whose `X-Forwarded-For` is trusted for the client address (rate limits, audit log); 0 = use the TCP peer",
    ),
    var(
        "PORTAL_API_TOKEN_DEFAULT_DAYS",
        "`90` (or the maximum, if lower)",
        "lifetime in days of an organisation API token created without `expiresInDays`; at most `PORTAL_API_TOKEN_MAX_DAYS`",
    ),
    var(
        "PORTAL_API_TOKEN_MAX_DAYS",
        "`365`",
        "longest lifetime in days `createApiToken` accepts (`expiresInDays`); at most 3650",
    ),
    var(
        "PORTAL_METRICS_TOKEN",
        "unset (open)",
        "when set (at least 16 characters), `GET /metrics` needs `Authorization: Bearer <token>` (401 otherwise); set it in production",
    ),
    var(
        "PORTAL_CORS_ORIGINS",
        "empty (same origin only)",
        "comma-separated allowed origins",
    ),
    var(
        "PORTAL_STAFF_EMAIL_DOMAINS",
        "empty (any domain)",
        "comma-separated email domains staff accounts must be at (e.g. `ombudsman.example.org`); `inviteStaffMember` refuses other addresses",
    ),
    var("PORTAL_LOG_FORMAT", "`pretty`", "`pretty` or `json`"),
    var(
        "PORTAL_WORKER_ID",
        "`<host>-<pid>-<random>`",
        "unique id of this worker process",
    ),
    var(
        "PORTAL_WORKER_CONCURRENCY",
        "`4`",
        "jobs run at once per worker process",
    ),
    var(
        "PORTAL_JOB_BACKOFF_BASE_MS",
        "`2000`",
        "first retry delay; doubles each attempt, with equal jitter (half fixed, half random)",
    ),
    var(
        "PORTAL_JOB_BACKOFF_MAX_SECS",
        "`3600`",
        "longest retry delay",
    ),
    var(
        "PORTAL_JOB_LEASE_SECS",
        "`300`",
        "a running job whose worker stops heart-beating for this long is run again",
    ),
    var(
        "PORTAL_JOB_REQUEUE_SECS",
        "`600`",
        "a job handed to the queue but not started in this time is handed over again",
    ),
    var(
        "PORTAL_RELAY_INTERVAL_MS",
        "`250`",
        "how often the relay moves due outbox rows to the queue",
    ),
    var(
        "PORTAL_QUEUE_NAME",
        "`portal:jobs`",
        "queue name (Redis key prefix): separates deployments sharing a Redis",
    ),
    var(
        "RUST_LOG",
        "`info`",
        "the log filter (`tracing` directives, e.g. `info,api=debug`)",
    ),
];

/// Whether `name` is a variable of this service.
pub fn is_known(name: &str) -> bool {
    VARIABLES.iter().any(|v| v.name == name)
}

/// The README's configuration table, rendered from [`VARIABLES`].
pub fn markdown_table() -> String {
    let mut out = String::from("| variable | default | meaning |\n|---|---|---|\n");
    for v in VARIABLES {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            v.name, v.default, v.meaning
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_table_is_rendered_from_the_list() {
        let readme = include_str!("../../../README.md");
        let table = markdown_table();
        assert!(
            readme.contains(&table),
            "README.md's configuration table differs from platform::config::vars::VARIABLES; \
             replace it with the output of `cargo run -q -- config-table`:\n\n{table}"
        );
    }

    #[test]
    fn names_are_unique() {
        for (i, v) in VARIABLES.iter().enumerate() {
            assert!(
                VARIABLES[i + 1..].iter().all(|w| w.name != v.name),
                "{} twice",
                v.name
            );
        }
    }
}
