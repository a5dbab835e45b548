//! The one list of configuration variables.
//!
//! [`VARIABLES`] is read three ways: [`super::Config::from_vars`] refuses any
//! `PORTAL_*` variable not in it (a typo cannot silently fall back to a
//! default), [`markdown_table`] renders the README's configuration table
//! (`portal config-table` prints it, and a test fails when the README's copy
//! differs), and this page is the reference in the code. Add a variable here
//! and in the concern module that parses it (`http`, `storage`, `delivery`,
//! `jobs`), then paste `portal config-table` into the README.
//!
//! Two kinds of `PORTAL_*` name are accepted besides the list:
//! - `<SECRET>_FILE` for each name in [`SECRETS`]: the value is read from
//!   that file (Kubernetes and Docker mount secrets as files, and a value in
//!   a file does not show in `/proc/<pid>/environ` or `docker inspect`);
//! - the variables Kubernetes injects into every pod for a Service named
//!   `portal` ([`is_kubernetes_service_variable`]), which would otherwise
//!   stop the process in any namespace that has one.

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
        "PORTAL_DB_POOL_SIZE",
        "8 on SQLite, 32 on PostgreSQL",
        "most database connections each process keeps open (1 to 1000). Size it so that every API and worker process together stay under PostgreSQL's `max_connections` (100 by default) with room for migrations and `psql`; a request waits up to 30 s for a free connection, then fails with `INTERNAL`",
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
        "PORTAL_WORKER_BIND_ADDR",
        "`127.0.0.1:8081`",
        "address `portal worker` serves `/healthz`, `/readyz` and `/metrics` on (the combined `portal serve` uses `PORTAL_BIND_ADDR` for both)",
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
        "PORTAL_EMAIL_TRANSPORT",
        "`smtp` if `PORTAL_SMTP_URL` is set, else `file`",
        "how email leaves: `file` (`.eml` files in the outbox), `smtp` or `notify` (GOV.UK Notify: see \"GOV.UK Notify\")",
    ),
    var(
        "PORTAL_SMTP_URL",
        "unset",
        "SMTP relay for `PORTAL_EMAIL_TRANSPORT=smtp`, e.g. `smtps://user:pass@smtp.example.com`",
    ),
    var(
        "PORTAL_MAIL_FROM",
        "`Landlord & Resident Portal <no-reply@portal.localhost>`",
        "sender mailbox (SMTP and files; Notify sends from the address set on the Notify service)",
    ),
    var(
        "PORTAL_SMS_TRANSPORT",
        "`file`",
        "how text messages leave: `file` (a line each in `<data dir>/outbox/sms.log`) or `notify` (GOV.UK Notify)",
    ),
    var(
        "PORTAL_NOTIFY_API_KEY",
        "unset",
        "GOV.UK Notify API key (`{key name}-{service id}-{secret key}`; a secret): needed by a `notify` transport and by delivery-status callbacks",
    ),
    var(
        "PORTAL_NOTIFY_BASE_URL",
        "`https://api.notifications.service.gov.uk`",
        "GOV.UK Notify's API (change it only to test against a Notify-compatible server)",
    ),
    var(
        "PORTAL_NOTIFY_EMAIL_TEMPLATE_ID",
        "unset",
        "id of the Notify email template with subject `((subject))` and body `((body))` (needed when `PORTAL_EMAIL_TRANSPORT=notify`)",
    ),
    var(
        "PORTAL_NOTIFY_SMS_TEMPLATE_ID",
        "unset",
        "id of the Notify text message template with body `((body))` (needed when `PORTAL_SMS_TRANSPORT=notify`)",
    ),
    var(
        "PORTAL_NOTIFY_CALLBACK_TOKEN",
        "unset (callbacks off: 404)",
        "the bearer token (at least 16 characters; a secret) set in Notify's delivery-receipt callback settings for `POST /callbacks/notify/delivery-status`",
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
        "PORTAL_JOB_RETENTION_DAYS",
        "`14`",
        "finished (`DONE`) jobs older than this are pruned from the outbox by the relay, in batches; dead jobs are kept until retried",
    ),
    var(
        "PORTAL_QUEUE_NAME",
        "`portal:jobs`",
        "queue name (Redis key prefix): separates deployments sharing a Redis",
    ),
    var(
        "PORTAL_WEBHOOK_ALLOW_PRIVATE",
        "`false`",
        "`true` = webhook endpoints may resolve to loopback, private (RFC 1918), link-local, CGNAT, unique-local or metadata addresses; only for tests and closed networks (it allows server-side request forgery)",
    ),
    var(
        "PORTAL_WEBHOOK_ALLOW_HTTP",
        "`false`",
        "`true` = webhook endpoints may use plain `http://` (development only)",
    ),
    var(
        "PORTAL_WEBHOOK_TIMEOUT_SECS",
        "`10`",
        "one webhook delivery attempt (connect, send, read at most 64 KiB of the answer) fails after this long; at most 60",
    ),
    var(
        "PORTAL_WEBHOOK_ENDPOINT_CONCURRENCY",
        "`4`",
        "deliveries to one endpoint running at once in one worker process; more wait a moment in the outbox, so a slow endpoint never holds every worker slot",
    ),
    var(
        "PORTAL_WEBHOOK_DISABLE_AFTER_HOURS",
        "`72`",
        "an endpoint whose deliveries have failed without one success for this long is disabled and its organisation's administrators are emailed",
    ),
    var(
        "PORTAL_WEBHOOK_LOG_RETENTION_DAYS",
        "`30`",
        "webhook events, deliveries and attempts older than this are pruned (hourly, by the relay)",
    ),
    var(
        "PORTAL_WEBHOOK_MAX_ENDPOINTS",
        "`10`",
        "most webhook endpoints one organisation may have",
    ),
    var(
        "PORTAL_WEBHOOK_SECRET_KEY",
        "generated into `<data dir>/webhook-secret.key`",
        "32 bytes in base64 (`openssl rand -base64 32`): the key sealing webhook signing secrets in the database (XChaCha20-Poly1305). Set it whenever processes do not share one data folder; losing it makes every endpoint's secret unusable (rotate them)",
    ),
    var(
        "RUST_LOG",
        "`info`",
        "the log filter (`tracing` directives, e.g. `info,api=debug`)",
    ),
    // The standard OpenTelemetry variables, read by the SDK (`api::telemetry`).
    var(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "unset",
        "set = OpenTelemetry traces go over OTLP/HTTP (protobuf) to `<endpoint>/v1/traces`; unset = no exporter at all",
    ),
    var(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "unset",
        "the full traces URL, instead of the endpoint above",
    ),
    var(
        "OTEL_EXPORTER_OTLP_HEADERS",
        "unset",
        "headers for the collector, `key=value,...` (e.g. its API key; a secret, never logged)",
    ),
    var(
        "OTEL_SERVICE_NAME",
        "`portal`, `portal-api`, `portal-worker`",
        "the traces' `service.name` (the default names the command: `portal serve`, `portal api`, `portal worker`)",
    ),
    var(
        "OTEL_TRACES_SAMPLER",
        "`parentbased_always_on`",
        "which traces are kept (`parentbased_traceidratio` with `OTEL_TRACES_SAMPLER_ARG=0.1` keeps a tenth); the batch exporter's `OTEL_BSP_*` apply too",
    ),
];

/// The variables that hold secrets: each may instead be given as
/// `<NAME>_FILE=/path`, read once at startup (see [`super::Config::from_vars`]).
pub const SECRETS: &[&str] = &[
    "DATABASE_URL",
    "REDIS_URL",
    "PORTAL_S3_ACCESS_KEY_ID",
    "PORTAL_S3_SECRET_ACCESS_KEY",
    "PORTAL_SMTP_URL",
    "PORTAL_NOTIFY_API_KEY",
    "PORTAL_NOTIFY_CALLBACK_TOKEN",
    "PORTAL_METRICS_TOKEN",
    "PORTAL_WEBHOOK_SECRET_KEY",
];

/// Whether `name` is a variable of this service (or the `_FILE` form of a
/// secret, or one Kubernetes injects for a Service named `portal`).
pub fn is_known(name: &str) -> bool {
    VARIABLES.iter().any(|v| v.name == name)
        || name
            .strip_suffix("_FILE")
            .is_some_and(|secret| SECRETS.contains(&secret))
        || is_kubernetes_service_variable(name)
}

/// Whether `name` has the shape of a variable Kubernetes injects into every
/// pod of a namespace with a Service named `portal` (the "Docker links"
/// variables of the Service's cluster IP and ports):
///
/// - `PORTAL_SERVICE_HOST`, `PORTAL_SERVICE_PORT`, `PORTAL_SERVICE_PORT_<PORT NAME>`;
/// - `PORTAL_PORT`, `PORTAL_PORT_<number>_<TCP|UDP|SCTP>` and that followed
///   by `_PROTO`, `_PORT` or `_ADDR`.
///
/// Exactly these shapes: anything else starting `PORTAL_` (a typo such as
/// `PORTAL_BIND_ADRR`) is still refused.
pub fn is_kubernetes_service_variable(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("PORTAL_") else {
        return false;
    };
    if matches!(rest, "SERVICE_HOST" | "SERVICE_PORT" | "PORT") {
        return true;
    }
    if let Some(port_name) = rest.strip_prefix("SERVICE_PORT_") {
        // A port's name: lowercase alphanumerics and dashes, upper-cased
        // with dashes as underscores by Kubernetes.
        return !port_name.is_empty()
            && port_name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    }
    let Some(port) = rest.strip_prefix("PORT_") else {
        return false;
    };
    let mut parts = port.splitn(3, '_');
    let (Some(number), Some(protocol)) = (parts.next(), parts.next()) else {
        return false;
    };
    !number.is_empty()
        && number.len() <= 5
        && number.chars().all(|c| c.is_ascii_digit())
        && matches!(protocol, "TCP" | "UDP" | "SCTP")
        && matches!(parts.next(), None | Some("PROTO" | "PORT" | "ADDR"))
}

/// The README's configuration table, rendered from [`VARIABLES`].
pub fn markdown_table() -> String {
    let mut out = String::from("| variable | default | meaning |\n|---|---|---|\n");
    for v in VARIABLES {
        let name = if SECRETS.contains(&v.name) {
            format!("`{}` (or `{}_FILE`)", v.name, v.name)
        } else {
            format!("`{}`", v.name)
        };
        out.push_str(&format!("| {name} | {} | {} |\n", v.default, v.meaning));
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
    fn kubernetes_service_variables_are_tolerated_and_typos_are_not() {
        for name in [
            "PORTAL_SERVICE_HOST",
            "PORTAL_SERVICE_PORT",
            "PORTAL_SERVICE_PORT_HTTP",
            "PORTAL_SERVICE_PORT_METRICS_2",
            "PORTAL_PORT",
            "PORTAL_PORT_8080_TCP",
            "PORTAL_PORT_8080_TCP_PROTO",
            "PORTAL_PORT_8080_TCP_PORT",
            "PORTAL_PORT_8080_TCP_ADDR",
            "PORTAL_PORT_53_UDP",
        ] {
            assert!(is_known(name), "{name} should be tolerated");
        }
        for name in [
            "PORTAL_BIND_ADRR",
            "PORTAL_SERVICE_HOSTS",
            "PORTAL_SERVICE_PORT_",
            "PORTAL_SERVICE_PORT_http",
            "PORTAL_PORT_8080",
            "PORTAL_PORT_HTTP_TCP",
            "PORTAL_PORT_8080_TCP_HOST",
            "PORTAL_PORT_8080_ICMP",
            "PORTAL_PORT_123456_TCP",
            "PORTAL_PORTS",
            "PORTAL_GRAPHIQL_FILE",
        ] {
            assert!(!is_known(name), "{name} should be refused");
        }
    }

    #[test]
    fn every_secret_is_a_listed_variable() {
        for secret in SECRETS {
            assert!(VARIABLES.iter().any(|v| v.name == *secret), "{secret}");
            assert!(is_known(&format!("{secret}_FILE")), "{secret}_FILE");
        }
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
