//! The one configuration type of the service, read from the environment once.
//!
//! Both processes (`api` and `worker`, or the embedded all-in-one) read the same
//! [`Config`]. Every setting has an embedded default, so `cargo run` with an empty
//! environment starts a complete service on SQLite and local files; production turns
//! on PostgreSQL, Redis, S3, SMTP, the SMS provider and clamd by setting variables.
//!
//! Variables (the README has the same table):
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DATABASE_URL` | `sqlite://<data dir>/portal.db?mode=rwc` | SQLite or PostgreSQL URL |
//! | `REDIS_URL` | unset | Redis for the job queue and live updates; unset = SQLite queue (embedded only) |
//! | `PORTAL_DATA_DIR` | `./data` | local files: SQLite database, documents, exports, outbox |
//! | `PORTAL_BIND_ADDR` | `127.0.0.1:8080` | address the HTTP server listens on |
//! | `PORTAL_PUBLIC_BASE_URL` | `http://<bind addr>` | absolute base for links in emails |
//! | `PORTAL_S3_BUCKET` | unset | set = documents and exports go to S3 |
//! | `PORTAL_S3_ENDPOINT` | unset (AWS) | S3-compatible endpoint URL |
//! | `PORTAL_S3_REGION` | `us-east-1` | S3 region |
//! | `PORTAL_S3_ACCESS_KEY_ID` / `PORTAL_S3_SECRET_ACCESS_KEY` | unset (default AWS chain) | static credentials (both or neither) |
//! | `PORTAL_S3_FORCE_PATH_STYLE` | `false` | path-style addressing (most S3-compatible servers) |
//! | `PORTAL_SMTP_URL` | unset = `.eml` files | e.g. `smtps://user:pass@smtp.example.com` |
//! | `PORTAL_MAIL_FROM` | `Landlord & Resident Portal <no-reply@portal.localhost>` | sender mailbox |
//! | `PORTAL_SMS_PROVIDER_URL` / `PORTAL_SMS_API_KEY` | unset = `sms.log` | Notify-style SMS API (both or neither) |
//! | `PORTAL_CLAMD_ADDR` | unset | `host:port` of clamd; unset = uploads stay `PENDING_SCAN` |
//! | `PORTAL_MAX_BODY_BYTES` | `1048576` | largest non-upload request body |
//! | `PORTAL_MAX_UPLOAD_BYTES` | `57671680` (55 MiB) | largest uploaded file |
//! | `PORTAL_MAX_QUERY_DEPTH` | `15` | GraphQL depth limit |
//! | `PORTAL_MAX_QUERY_COMPLEXITY` | `2000` | GraphQL complexity limit |
//! | `PORTAL_MAX_BATCH_SIZE` | `10` | operations per batched GraphQL request |
//! | `PORTAL_GRAPHIQL` | `true` | serve GraphiQL on `GET /graphql` |
//! | `PORTAL_INTROSPECTION` | `true` | allow schema introspection |
//! | `PORTAL_FIELD_SUGGESTIONS` | `true` | "did you mean" hints in errors |
//! | `PORTAL_TRUSTED_PROXY_HOPS` | `0` | reverse proxies in front of the API whose `X-Forwarded-For` is trusted for the client address (rate limits, audit log); 0 = use the TCP peer |
//! | `PORTAL_CORS_ORIGINS` | empty (same origin only) | comma-separated allowed origins |
//! | `PORTAL_LOG_FORMAT` | `pretty` | `pretty` or `json` |
//! | `PORTAL_WORKER_ID` | `<host>-<pid>-<random>` | unique id of this worker process |
//! | `PORTAL_WORKER_CONCURRENCY` | `4` | jobs run at once per worker process |
//! | `PORTAL_JOB_BACKOFF_BASE_MS` | `2000` | first retry delay; doubles each attempt, with jitter |
//! | `PORTAL_JOB_BACKOFF_MAX_SECS` | `3600` | longest retry delay |
//! | `PORTAL_JOB_LEASE_SECS` | `300` | a running job whose worker stops heart-beating for this long is run again |
//! | `PORTAL_JOB_REQUEUE_SECS` | `600` | a job handed to the queue but not started in this time is handed over again |
//! | `PORTAL_RELAY_INTERVAL_MS` | `250` | how often the relay moves due outbox rows to the queue |
//! | `PORTAL_QUEUE_NAME` | `portal:jobs` | queue name (Redis key prefix): separates deployments sharing a Redis |
//!
//! `RUST_LOG` sets the log filter as usual. Any other variable starting with
//! `PORTAL_` is refused, so a typo cannot silently fall back to a default.

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf, str::FromStr, time::Duration};

use secrecy::SecretString;
use url::Url;

/// A configuration error: the process refuses to start and names the variable.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {variable}: {reason}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub variable: String,
    /// What is wrong with it, in words an operator can act on.
    pub reason: String,
}

impl ConfigError {
    fn new(variable: &str, reason: impl Into<String>) -> Self {
        Self {
            variable: variable.to_owned(),
            reason: reason.into(),
        }
    }
}

/// Where documents and exports are stored.
#[derive(Debug, Clone)]
pub enum StorageConfig {
    /// A folder on the local disk (embedded default).
    Local {
        /// Root folder; objects are stored under generated keys, never user file names.
        root: PathBuf,
    },
    /// S3 or any S3-compatible store.
    S3(S3Config),
}

/// Settings of an S3 or S3-compatible store.
#[derive(Debug, Clone)]
pub struct S3Config {
    /// Bucket holding every object of this deployment.
    pub bucket: String,
    /// Endpoint of an S3-compatible server; `None` means AWS.
    pub endpoint: Option<Url>,
    /// Region name (S3-compatible servers usually accept any).
    pub region: String,
    /// Static credentials; `None` uses the default AWS credential chain.
    pub credentials: Option<(String, SecretString)>,
    /// Path-style addressing (`endpoint/bucket/key`), needed by most S3-compatible servers.
    pub force_path_style: bool,
}

/// Email delivery settings.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// SMTP URL; `None` writes `.eml` files under `<data dir>/outbox/`.
    pub smtp_url: Option<SecretString>,
    /// The `From:` mailbox of every email.
    pub from: String,
}

/// SMS delivery settings.
#[derive(Debug, Clone)]
pub struct SmsConfig {
    /// Notify-style provider endpoint and bearer key; `None` appends to `<data dir>/outbox/sms.log`.
    pub provider: Option<(Url, SecretString)>,
}

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

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (development).
    Pretty,
    /// One JSON object per line (production log shippers).
    Json,
}

/// How jobs are retried, leased and relayed.
#[derive(Debug, Clone)]
pub struct JobConfig {
    /// Unique id of this worker process, recorded on every job it runs.
    pub worker_id: String,
    /// Jobs run at once by this process.
    pub concurrency: usize,
    /// Delay before the first retry; doubled each attempt, with full jitter.
    pub backoff_base: Duration,
    /// Cap on the retry delay.
    pub backoff_max: Duration,
    /// How long a running job's lease lasts without a heartbeat before another worker may run it.
    pub lease: Duration,
    /// How long a job may sit in the queue unstarted before the relay hands it over again.
    pub requeue_after: Duration,
    /// Poll interval of the outbox relay.
    pub relay_interval: Duration,
    /// Name of the queue (a Redis key prefix).
    pub queue_name: String,
}

/// Everything the service reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// SeaORM database URL (`sqlite://...` or `postgres://...`).
    pub database_url: SecretString,
    /// Redis URL for the production job queue and live updates.
    pub redis_url: Option<SecretString>,
    /// Folder for embedded-mode files (database, documents, outbox).
    pub data_dir: PathBuf,
    /// Document and export storage.
    pub storage: StorageConfig,
    /// Email delivery.
    pub mail: MailConfig,
    /// SMS delivery.
    pub sms: SmsConfig,
    /// clamd address (`host:port`), if virus scanning is on.
    pub clamd_addr: Option<String>,
    /// Absolute base URL used in links sent to users.
    pub public_base_url: Url,
    /// Address the HTTP server binds.
    pub bind_addr: SocketAddr,
    /// Input limits.
    pub limits: Limits,
    /// GraphQL developer switches.
    pub graphql: GraphqlConfig,
    /// Origins allowed by CORS (empty: same origin only).
    pub cors_origins: Vec<String>,
    /// Reverse proxies whose `X-Forwarded-For` entries are trusted.
    pub trusted_proxy_hops: usize,
    /// Log format.
    pub log_format: LogFormat,
    /// Job pipeline settings.
    pub jobs: JobConfig,
}

/// Every `PORTAL_*` variable this module reads; anything else starting with
/// `PORTAL_` is an error.
pub const KNOWN: &[&str] = &[
    "PORTAL_DATA_DIR",
    "PORTAL_BIND_ADDR",
    "PORTAL_PUBLIC_BASE_URL",
    "PORTAL_S3_BUCKET",
    "PORTAL_S3_ENDPOINT",
    "PORTAL_S3_REGION",
    "PORTAL_S3_ACCESS_KEY_ID",
    "PORTAL_S3_SECRET_ACCESS_KEY",
    "PORTAL_S3_FORCE_PATH_STYLE",
    "PORTAL_SMTP_URL",
    "PORTAL_MAIL_FROM",
    "PORTAL_SMS_PROVIDER_URL",
    "PORTAL_SMS_API_KEY",
    "PORTAL_CLAMD_ADDR",
    "PORTAL_MAX_BODY_BYTES",
    "PORTAL_MAX_UPLOAD_BYTES",
    "PORTAL_MAX_QUERY_DEPTH",
    "PORTAL_MAX_QUERY_COMPLEXITY",
    "PORTAL_MAX_BATCH_SIZE",
    "PORTAL_GRAPHIQL",
    "PORTAL_INTROSPECTION",
    "PORTAL_FIELD_SUGGESTIONS",
    "PORTAL_CORS_ORIGINS",
    "PORTAL_TRUSTED_PROXY_HOPS",
    "PORTAL_LOG_FORMAT",
    "PORTAL_WORKER_ID",
    "PORTAL_WORKER_CONCURRENCY",
    "PORTAL_JOB_BACKOFF_BASE_MS",
    "PORTAL_JOB_BACKOFF_MAX_SECS",
    "PORTAL_JOB_LEASE_SECS",
    "PORTAL_JOB_REQUEUE_SECS",
    "PORTAL_RELAY_INTERVAL_MS",
    "PORTAL_QUEUE_NAME",
];

/// A view of the variables with typed accessors that name the variable on error.
struct Vars(BTreeMap<String, String>);

impl Vars {
    /// The value, or `None` when unset or empty (an empty value means "default").
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    fn parse<T: FromStr>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => raw
                .parse()
                .map_err(|e| ConfigError::new(name, format!("cannot parse {raw:?}: {e}"))),
        }
    }

    fn positive<T: FromStr + PartialOrd + Default>(
        &self,
        name: &str,
        default: T,
    ) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        let value = self.parse(name, default)?;
        if value <= T::default() {
            return Err(ConfigError::new(name, "must be greater than zero"));
        }
        Ok(value)
    }

    fn bool(&self, name: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("true" | "1" | "yes" | "on") => Ok(true),
            Some("false" | "0" | "no" | "off") => Ok(false),
            Some(other) => Err(ConfigError::new(
                name,
                format!("expected true or false, got {other:?}"),
            )),
        }
    }

    fn url(&self, name: &str) -> Result<Option<Url>, ConfigError> {
        self.get(name)
            .map(|raw| {
                let url = Url::parse(raw)
                    .map_err(|e| ConfigError::new(name, format!("not a URL: {e}")))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(ConfigError::new(name, "must be an http:// or https:// URL"));
                }
                Ok(url)
            })
            .transpose()
    }

    fn secret(&self, name: &str) -> Option<SecretString> {
        self.get(name).map(|v| SecretString::from(v.to_owned()))
    }
}

impl Config {
    /// Reads the process environment. Call once at startup.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars())
    }

    /// Builds the configuration from explicit variables (used by tests and benches).
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let vars = Vars(vars.into_iter().collect());
        if let Some(unknown) = vars
            .0
            .keys()
            .find(|k| k.starts_with("PORTAL_") && !KNOWN.contains(&k.as_str()))
        {
            return Err(ConfigError::new(
                unknown,
                "unknown setting (see the configuration table in the README)",
            ));
        }

        let data_dir = PathBuf::from(vars.get("PORTAL_DATA_DIR").unwrap_or("./data"));
        let database_url = match vars.get("DATABASE_URL") {
            Some(url)
                if url.starts_with("sqlite:")
                    || url.starts_with("postgres://")
                    || url.starts_with("postgresql://") =>
            {
                url.to_owned()
            }
            Some(_) => {
                return Err(ConfigError::new(
                    "DATABASE_URL",
                    "must start with sqlite: or postgres://",
                ));
            }
            None => format!("sqlite://{}/portal.db?mode=rwc", data_dir.display()),
        };
        let redis_url = match vars.get("REDIS_URL") {
            Some(url) if url.starts_with("redis://") || url.starts_with("rediss://") => {
                Some(SecretString::from(url.to_owned()))
            }
            Some(_) => {
                return Err(ConfigError::new(
                    "REDIS_URL",
                    "must start with redis:// or rediss://",
                ));
            }
            None => None,
        };
        if redis_url.is_none() && !database_url.starts_with("sqlite:") {
            // The embedded queue lives in the SQLite file; with PostgreSQL there is
            // no such file, and a queue that silently did nothing would lose jobs.
            return Err(ConfigError::new(
                "REDIS_URL",
                "required when DATABASE_URL is PostgreSQL (the embedded queue needs SQLite)",
            ));
        }

        let bind_addr: SocketAddr =
            vars.parse("PORTAL_BIND_ADDR", SocketAddr::from(([127, 0, 0, 1], 8080)))?;
        let public_base_url = match vars.url("PORTAL_PUBLIC_BASE_URL")? {
            Some(url) => url,
            None => Url::parse(&format!("http://{bind_addr}"))
                .map_err(|e| ConfigError::new("PORTAL_BIND_ADDR", e.to_string()))?,
        };

        let storage = match vars.get("PORTAL_S3_BUCKET") {
            None => {
                for name in [
                    "PORTAL_S3_ENDPOINT",
                    "PORTAL_S3_ACCESS_KEY_ID",
                    "PORTAL_S3_SECRET_ACCESS_KEY",
                ] {
                    if vars.get(name).is_some() {
                        return Err(ConfigError::new(
                            name,
                            "set, but PORTAL_S3_BUCKET is not (set the bucket to use S3)",
                        ));
                    }
                }
                StorageConfig::Local {
                    root: data_dir.join("files"),
                }
            }
            Some(bucket) => {
                let credentials = match (
                    vars.get("PORTAL_S3_ACCESS_KEY_ID"),
                    vars.secret("PORTAL_S3_SECRET_ACCESS_KEY"),
                ) {
                    (Some(id), Some(secret)) => Some((id.to_owned(), secret)),
                    (None, None) => None,
                    (Some(_), None) => {
                        return Err(ConfigError::new(
                            "PORTAL_S3_SECRET_ACCESS_KEY",
                            "required when PORTAL_S3_ACCESS_KEY_ID is set",
                        ));
                    }
                    (None, Some(_)) => {
                        return Err(ConfigError::new(
                            "PORTAL_S3_ACCESS_KEY_ID",
                            "required when PORTAL_S3_SECRET_ACCESS_KEY is set",
                        ));
                    }
                };
                StorageConfig::S3(S3Config {
                    bucket: bucket.to_owned(),
                    endpoint: vars.url("PORTAL_S3_ENDPOINT")?,
                    region: vars
                        .get("PORTAL_S3_REGION")
                        .unwrap_or("us-east-1")
                        .to_owned(),
                    credentials,
                    force_path_style: vars.bool("PORTAL_S3_FORCE_PATH_STYLE", false)?,
                })
            }
        };

        let smtp_url = match vars.get("PORTAL_SMTP_URL") {
            Some(url) if url.starts_with("smtp://") || url.starts_with("smtps://") => {
                Some(SecretString::from(url.to_owned()))
            }
            Some(_) => {
                return Err(ConfigError::new(
                    "PORTAL_SMTP_URL",
                    "must start with smtp:// or smtps://",
                ));
            }
            None => None,
        };
        let from = vars
            .get("PORTAL_MAIL_FROM")
            .unwrap_or("Landlord & Resident Portal <no-reply@portal.localhost>")
            .to_owned();
        if !from.contains('@') {
            return Err(ConfigError::new(
                "PORTAL_MAIL_FROM",
                "must be a mailbox such as `Name <user@example.org>`",
            ));
        }

        let sms_provider = match (
            vars.url("PORTAL_SMS_PROVIDER_URL")?,
            vars.secret("PORTAL_SMS_API_KEY"),
        ) {
            (Some(url), Some(key)) => Some((url, key)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::new(
                    "PORTAL_SMS_API_KEY",
                    "required when PORTAL_SMS_PROVIDER_URL is set",
                ));
            }
            (None, Some(_)) => {
                return Err(ConfigError::new(
                    "PORTAL_SMS_PROVIDER_URL",
                    "required when PORTAL_SMS_API_KEY is set",
                ));
            }
        };

        let clamd_addr = match vars.get("PORTAL_CLAMD_ADDR") {
            Some(addr)
                if addr
                    .rsplit_once(':')
                    .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok()) =>
            {
                Some(addr.to_owned())
            }
            Some(_) => {
                return Err(ConfigError::new("PORTAL_CLAMD_ADDR", "must be host:port"));
            }
            None => None,
        };

        let limits = Limits {
            max_body_bytes: vars.positive("PORTAL_MAX_BODY_BYTES", 1024 * 1024)?,
            max_upload_bytes: vars.positive("PORTAL_MAX_UPLOAD_BYTES", 55 * 1024 * 1024)?,
            max_query_depth: vars.positive("PORTAL_MAX_QUERY_DEPTH", 15)?,
            max_query_complexity: vars.positive("PORTAL_MAX_QUERY_COMPLEXITY", 2000)?,
            max_batch_size: vars.positive("PORTAL_MAX_BATCH_SIZE", 10)?,
        };
        let graphql = GraphqlConfig {
            graphiql: vars.bool("PORTAL_GRAPHIQL", true)?,
            introspection: vars.bool("PORTAL_INTROSPECTION", true)?,
            field_suggestions: vars.bool("PORTAL_FIELD_SUGGESTIONS", true)?,
        };
        let cors_origins = vars
            .get("PORTAL_CORS_ORIGINS")
            .map(|raw| {
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
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        let log_format = match vars
            .get("PORTAL_LOG_FORMAT")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::new(
                    "PORTAL_LOG_FORMAT",
                    format!("expected pretty or json, got {other:?}"),
                ));
            }
        };

        let backoff_base_ms: u64 = vars.positive("PORTAL_JOB_BACKOFF_BASE_MS", 2000)?;
        let jobs = JobConfig {
            worker_id: vars
                .get("PORTAL_WORKER_ID")
                .map(str::to_owned)
                .unwrap_or_else(default_worker_id),
            concurrency: vars.positive("PORTAL_WORKER_CONCURRENCY", 4)?,
            backoff_base: Duration::from_millis(backoff_base_ms),
            backoff_max: Duration::from_secs(vars.positive("PORTAL_JOB_BACKOFF_MAX_SECS", 3600)?),
            lease: Duration::from_secs(vars.positive("PORTAL_JOB_LEASE_SECS", 300)?),
            requeue_after: Duration::from_secs(vars.positive("PORTAL_JOB_REQUEUE_SECS", 600)?),
            relay_interval: Duration::from_millis(vars.positive("PORTAL_RELAY_INTERVAL_MS", 250)?),
            queue_name: vars
                .get("PORTAL_QUEUE_NAME")
                .unwrap_or("portal:jobs")
                .to_owned(),
        };

        Ok(Self {
            database_url: SecretString::from(database_url),
            redis_url,
            data_dir,
            storage,
            mail: MailConfig { smtp_url, from },
            sms: SmsConfig {
                provider: sms_provider,
            },
            clamd_addr,
            public_base_url,
            bind_addr,
            limits,
            graphql,
            cors_origins,
            trusted_proxy_hops: vars.parse("PORTAL_TRUSTED_PROXY_HOPS", 0)?,
            log_format,
            jobs,
        })
    }

    /// Whether the database is SQLite (the embedded mode).
    pub fn is_sqlite(&self) -> bool {
        use secrecy::ExposeSecret;
        self.database_url.expose_secret().starts_with("sqlite:")
    }

    /// Folder of the embedded email and SMS outbox.
    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }
}

/// `<host>-<pid>-<random>`: unique across restarts and across processes on one host,
/// and readable in logs and in the job ledger.
fn default_worker_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".to_owned());
    let suffix: u32 = rand::random();
    format!("{host}-{}-{suffix:08x}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_documents_every_variable() {
        let readme = include_str!("../../README.md");
        for name in KNOWN
            .iter()
            .chain(&["DATABASE_URL", "REDIS_URL", "RUST_LOG"])
        {
            assert!(readme.contains(&format!("`{name}`")), "README lacks {name}");
        }
    }

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn empty_environment_gives_the_embedded_defaults() {
        let c = config(&[]).unwrap();
        assert!(c.is_sqlite());
        assert!(c.redis_url.is_none());
        assert!(matches!(c.storage, StorageConfig::Local { .. }));
        assert_eq!(c.bind_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.public_base_url.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(c.limits.max_batch_size, 10);
        assert_eq!(c.limits.max_upload_bytes, 55 * 1024 * 1024);
    }

    #[test]
    fn errors_name_the_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("PORTAL_MAX_BATCH_SIZE", "ten")], "PORTAL_MAX_BATCH_SIZE"),
            (&[("PORTAL_MAX_BATCH_SIZE", "0")], "PORTAL_MAX_BATCH_SIZE"),
            (&[("PORTAL_GRAPHIQL", "maybe")], "PORTAL_GRAPHIQL"),
            (&[("PORTAL_BIND_ADDR", "localhost")], "PORTAL_BIND_ADDR"),
            (&[("PORTAL_BIND_ADRR", "127.0.0.1:1")], "PORTAL_BIND_ADRR"),
            (&[("DATABASE_URL", "mysql://x")], "DATABASE_URL"),
            (&[("DATABASE_URL", "postgres://db/x")], "REDIS_URL"),
            (&[("PORTAL_S3_ENDPOINT", "http://s3")], "PORTAL_S3_ENDPOINT"),
            (
                &[("PORTAL_S3_BUCKET", "b"), ("PORTAL_S3_ACCESS_KEY_ID", "k")],
                "PORTAL_S3_SECRET_ACCESS_KEY",
            ),
            (
                &[("PORTAL_SMS_PROVIDER_URL", "https://sms")],
                "PORTAL_SMS_API_KEY",
            ),
            (&[("PORTAL_SMTP_URL", "http://mail")], "PORTAL_SMTP_URL"),
            (&[("PORTAL_CLAMD_ADDR", "clamd")], "PORTAL_CLAMD_ADDR"),
            (
                &[("PORTAL_CORS_ORIGINS", "not a url")],
                "PORTAL_CORS_ORIGINS",
            ),
            (&[("PORTAL_LOG_FORMAT", "xml")], "PORTAL_LOG_FORMAT"),
        ];
        for (vars, expected) in cases {
            let err = config(vars).expect_err(expected);
            assert_eq!(err.variable, *expected, "{err}");
        }
    }

    #[test]
    fn production_settings_are_read() {
        let c = config(&[
            ("DATABASE_URL", "postgres://postgres@db/portal"),
            ("REDIS_URL", "redis://cache:6379"),
            ("PORTAL_S3_BUCKET", "docs"),
            ("PORTAL_S3_ENDPOINT", "http://127.0.0.1:9000"),
            ("PORTAL_S3_FORCE_PATH_STYLE", "true"),
            (
                "PORTAL_CORS_ORIGINS",
                "https://a.example, https://b.example/",
            ),
            ("PORTAL_LOG_FORMAT", "json"),
            ("PORTAL_INTROSPECTION", "false"),
        ])
        .unwrap();
        assert!(!c.is_sqlite());
        assert!(
            matches!(&c.storage, StorageConfig::S3(s) if s.force_path_style && s.bucket == "docs")
        );
        assert_eq!(
            c.cors_origins,
            vec!["https://a.example", "https://b.example"]
        );
        assert_eq!(c.log_format, LogFormat::Json);
        assert!(!c.graphql.introspection);
    }
}
