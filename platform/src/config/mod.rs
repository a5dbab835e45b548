//! The one configuration type of the service, read from the environment once.
//!
//! Both processes (`api` and `worker`, or the embedded all-in-one) read the same
//! [`Config`]. Every setting has an embedded default, so `cargo run` with an empty
//! environment starts a complete service on SQLite and local files; production turns
//! on PostgreSQL, Redis, S3, SMTP, the SMS provider and clamd by setting variables.
//!
//! The variables are listed once, in [`vars::VARIABLES`] (name, default,
//! meaning): the unknown-variable check below and the README's table are made
//! from that list. Each concern parses its own:
//!
//! - [`http`]: bind address, public URL, input limits, GraphQL switches, CORS,
//!   API-token lifetimes;
//! - [`storage`]: local folder or S3;
//! - [`delivery`]: the email and SMS transports (files, SMTP, GOV.UK Notify),
//!   clamd;
//! - [`jobs`]: worker id, concurrency, retries, leases, relay, queue name;
//! - [`webhooks`]: webhook addresses, timeouts, concurrency, log retention,
//!   the key sealing signing secrets;
//! - this module: the database, Redis, the data folder, the log format.
//!
//! `RUST_LOG` sets the log filter as usual. Any other variable starting with
//! `PORTAL_` is refused, so a typo cannot silently fall back to a default
//! (except the shapes Kubernetes injects for a Service named `portal`: see
//! [`vars::is_kubernetes_service_variable`]).
//!
//! Every secret ([`vars::SECRETS`]) may come from a file instead:
//! `DATABASE_URL_FILE=/run/secrets/database-url` reads the value from that
//! file (one trailing newline trimmed). Setting both forms is an error, so
//! an operator never wonders which one won.

pub mod delivery;
pub mod http;
pub mod jobs;
pub mod storage;
pub mod vars;
pub mod webhooks;

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf, str::FromStr};

use secrecy::SecretString;
use url::Url;

pub use self::{
    delivery::{EmailTransport, MailConfig, NotifyConfig, SmsConfig, SmsTransport},
    http::{ApiTokenConfig, GraphqlConfig, Limits},
    jobs::JobConfig,
    storage::{S3Config, StorageConfig},
    webhooks::WebhookConfig,
};

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

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (development).
    Pretty,
    /// One JSON object per line (production log shippers).
    Json,
}

/// Everything the service reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// SeaORM database URL (`sqlite://...` or `postgres://...`).
    pub database_url: SecretString,
    /// Most connections in the database pool (`None`: 8 on SQLite, 32 on
    /// PostgreSQL).
    pub db_pool_size: Option<u32>,
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
    /// The GOV.UK Notify service, when an API key is configured.
    pub notify: Option<NotifyConfig>,
    /// clamd address (`host:port`), if virus scanning is on.
    pub clamd_addr: Option<String>,
    /// Absolute base URL used in links sent to users.
    pub public_base_url: Url,
    /// Address the HTTP server binds.
    pub bind_addr: SocketAddr,
    /// Address the worker-only process (`portal worker`) serves its probes
    /// and metrics on.
    pub worker_bind_addr: SocketAddr,
    /// Input limits.
    pub limits: Limits,
    /// GraphQL developer switches.
    pub graphql: GraphqlConfig,
    /// Origins allowed by CORS (empty: same origin only).
    pub cors_origins: Vec<String>,
    /// The bearer token `GET /metrics` needs, if any.
    pub metrics_token: Option<SecretString>,
    /// The email domains staff accounts must be at (lowercase); empty: any.
    pub staff_email_domains: Vec<String>,
    /// Reverse proxies whose `X-Forwarded-For` entries are trusted.
    pub trusted_proxy_hops: usize,
    /// Lifetimes of organisation API tokens.
    pub api_tokens: ApiTokenConfig,
    /// Log format.
    pub log_format: LogFormat,
    /// Job pipeline settings.
    pub jobs: JobConfig,
    /// Webhook delivery settings.
    pub webhooks: WebhookConfig,
}

/// A view of the variables with typed accessors that name the variable on error.
pub(crate) struct Vars(BTreeMap<String, String>);

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

    /// Two variables that go together: both set, or neither.
    fn pair(&self, first: &str, second: &str) -> Result<Option<(&str, &str)>, ConfigError> {
        match (self.get(first), self.get(second)) {
            (Some(a), Some(b)) => Ok(Some((a, b))),
            (None, None) => Ok(None),
            (Some(_), None) => Err(ConfigError::new(
                second,
                format!("required when {first} is set"),
            )),
            (None, Some(_)) => Err(ConfigError::new(
                first,
                format!("required when {second} is set"),
            )),
        }
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
        let vars = Vars(read_secret_files(vars.into_iter().collect())?);
        if let Some(unknown) = vars
            .0
            .keys()
            .find(|k| k.starts_with("PORTAL_") && !vars::is_known(k))
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
        let db_pool_size = match vars.get("PORTAL_DB_POOL_SIZE") {
            None => None,
            Some(_) => {
                let size: u32 = vars.positive("PORTAL_DB_POOL_SIZE", 1)?;
                if size > 1000 {
                    return Err(ConfigError::new(
                        "PORTAL_DB_POOL_SIZE",
                        "at most 1000 (PostgreSQL's max_connections is the real bound)",
                    ));
                }
                Some(size)
            }
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

        let (bind_addr, public_base_url) = http::addresses(&vars)?;
        let worker_bind_addr = vars.parse(
            "PORTAL_WORKER_BIND_ADDR",
            SocketAddr::from(([127, 0, 0, 1], 8081)),
        )?;
        let storage = storage::read(&vars, &data_dir)?;
        let notify = delivery::notify(&vars)?;
        let mail = delivery::mail(&vars, notify.as_ref())?;
        let sms = delivery::sms(&vars, notify.as_ref())?;
        let clamd_addr = delivery::clamd(&vars)?;
        let limits = http::limits(&vars)?;
        let graphql = http::graphql(&vars)?;
        let cors_origins = http::cors_origins(&vars)?;
        let metrics_token = match vars.get("PORTAL_METRICS_TOKEN") {
            None => None,
            Some(token) if token.len() >= 16 => Some(SecretString::from(token.to_owned())),
            Some(_) => {
                return Err(ConfigError::new(
                    "PORTAL_METRICS_TOKEN",
                    "must be at least 16 characters",
                ));
            }
        };
        let staff_email_domains = staff_email_domains(&vars)?;
        let api_tokens = http::api_tokens(&vars)?;
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
        let jobs = jobs::read(&vars)?;
        let webhooks = webhooks::read(&vars)?;

        Ok(Self {
            database_url: SecretString::from(database_url),
            db_pool_size,
            redis_url,
            data_dir,
            storage,
            mail,
            sms,
            notify,
            clamd_addr,
            public_base_url,
            bind_addr,
            worker_bind_addr,
            limits,
            graphql,
            cors_origins,
            metrics_token,
            staff_email_domains,
            trusted_proxy_hops: vars.parse("PORTAL_TRUSTED_PROXY_HOPS", 0)?,
            api_tokens,
            log_format,
            jobs,
            webhooks,
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

/// Replaces every `<SECRET>_FILE` of [`vars::SECRETS`] by `<SECRET>` with the
/// file's content, minus trailing line breaks (what `echo` and editors add).
/// Errors name the variables and the path, never what the file holds.
fn read_secret_files(
    mut vars: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, ConfigError> {
    for secret in vars::SECRETS {
        let file_var = format!("{secret}_FILE");
        let Some(path) = vars
            .get(&file_var)
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
        else {
            continue;
        };
        if vars.get(*secret).is_some_and(|v| !v.trim().is_empty()) {
            return Err(ConfigError::new(
                secret,
                format!("both {secret} and {file_var} are set: set only one"),
            ));
        }
        let value = std::fs::read_to_string(&path)
            .map_err(|e| ConfigError::new(&file_var, format!("cannot read {path}: {e}")))?;
        vars.insert(
            (*secret).to_owned(),
            value.trim_end_matches(['\n', '\r']).to_owned(),
        );
    }
    Ok(vars)
}

/// Reads `PORTAL_STAFF_EMAIL_DOMAINS`: comma-separated domain names (a
/// leading `@` is allowed), lowercased.
fn staff_email_domains(vars: &Vars) -> Result<Vec<String>, ConfigError> {
    let Some(raw) = vars.get("PORTAL_STAFF_EMAIL_DOMAINS") else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|d| {
            let domain = d.trim_start_matches('@').to_ascii_lowercase();
            let label_ok = |l: &str| {
                (1..=63).contains(&l.len())
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            };
            if domain.split('.').count() >= 2 && domain.split('.').all(label_ok) {
                Ok(domain)
            } else {
                Err(ConfigError::new(
                    "PORTAL_STAFF_EMAIL_DOMAINS",
                    format!("{d:?} is not a domain such as ombudsman.example.org"),
                ))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(c.api_tokens.default_days, 90);
        assert_eq!(c.api_tokens.max_days, 365);
    }

    #[test]
    fn the_pool_size_is_read_and_checked() {
        assert_eq!(config(&[]).unwrap().db_pool_size, None);
        assert_eq!(
            config(&[("PORTAL_DB_POOL_SIZE", "12")])
                .unwrap()
                .db_pool_size,
            Some(12)
        );
        for bad in ["0", "-3", "many", "1001"] {
            let err = config(&[("PORTAL_DB_POOL_SIZE", bad)]).unwrap_err();
            assert_eq!(err.variable, "PORTAL_DB_POOL_SIZE", "{bad}: {err}");
        }
    }

    #[test]
    fn api_token_lifetimes_are_read_and_checked() {
        let c = config(&[("PORTAL_API_TOKEN_MAX_DAYS", "30")]).unwrap();
        assert_eq!((c.api_tokens.default_days, c.api_tokens.max_days), (30, 30));
        let c = config(&[
            ("PORTAL_API_TOKEN_DEFAULT_DAYS", "7"),
            ("PORTAL_API_TOKEN_MAX_DAYS", "3650"),
        ])
        .unwrap();
        assert_eq!(
            (c.api_tokens.default_days, c.api_tokens.max_days),
            (7, 3650)
        );
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
                &[("PORTAL_SMS_TRANSPORT", "notify")],
                "PORTAL_NOTIFY_API_KEY",
            ),
            (
                &[("PORTAL_SMS_TRANSPORT", "carrier-pigeon")],
                "PORTAL_SMS_TRANSPORT",
            ),
            (&[("PORTAL_EMAIL_TRANSPORT", "smtp")], "PORTAL_SMTP_URL"),
            (
                &[
                    ("PORTAL_EMAIL_TRANSPORT", "notify"),
                    ("PORTAL_NOTIFY_API_KEY", NOTIFY_KEY),
                ],
                "PORTAL_NOTIFY_EMAIL_TEMPLATE_ID",
            ),
            (
                &[
                    ("PORTAL_SMS_TRANSPORT", "notify"),
                    ("PORTAL_NOTIFY_API_KEY", NOTIFY_KEY),
                    ("PORTAL_NOTIFY_SMS_TEMPLATE_ID", "sms-template"),
                ],
                "PORTAL_NOTIFY_SMS_TEMPLATE_ID",
            ),
            (
                &[("PORTAL_NOTIFY_API_KEY", "CHANGE-ME")],
                "PORTAL_NOTIFY_API_KEY",
            ),
            (
                &[("PORTAL_NOTIFY_CALLBACK_TOKEN", "a-long-enough-token")],
                "PORTAL_NOTIFY_API_KEY",
            ),
            (
                &[
                    ("PORTAL_NOTIFY_API_KEY", NOTIFY_KEY),
                    ("PORTAL_NOTIFY_CALLBACK_TOKEN", "short"),
                ],
                "PORTAL_NOTIFY_CALLBACK_TOKEN",
            ),
            (&[("PORTAL_SMTP_URL", "http://mail")], "PORTAL_SMTP_URL"),
            (&[("PORTAL_CLAMD_ADDR", "clamd")], "PORTAL_CLAMD_ADDR"),
            (
                &[("PORTAL_CORS_ORIGINS", "not a url")],
                "PORTAL_CORS_ORIGINS",
            ),
            (&[("PORTAL_LOG_FORMAT", "xml")], "PORTAL_LOG_FORMAT"),
            (
                &[("PORTAL_API_TOKEN_DEFAULT_DAYS", "0")],
                "PORTAL_API_TOKEN_DEFAULT_DAYS",
            ),
            (
                &[("PORTAL_API_TOKEN_DEFAULT_DAYS", "400")],
                "PORTAL_API_TOKEN_DEFAULT_DAYS",
            ),
            (
                &[("PORTAL_API_TOKEN_MAX_DAYS", "3651")],
                "PORTAL_API_TOKEN_MAX_DAYS",
            ),
            (
                &[("PORTAL_API_TOKEN_MAX_DAYS", "-1")],
                "PORTAL_API_TOKEN_MAX_DAYS",
            ),
        ];
        for (vars, expected) in cases {
            let err = config(vars).expect_err(expected);
            assert_eq!(err.variable, *expected, "{err}");
        }
    }

    const NOTIFY_KEY: &str =
        "portal_live-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0";

    #[test]
    fn notify_transports_are_read() {
        let c = config(&[
            ("PORTAL_NOTIFY_API_KEY", NOTIFY_KEY),
            ("PORTAL_EMAIL_TRANSPORT", "notify"),
            (
                "PORTAL_NOTIFY_EMAIL_TEMPLATE_ID",
                "f33517ff-2a88-4f6e-b855-c550268ce08a",
            ),
            ("PORTAL_SMS_TRANSPORT", "Notify"),
            (
                "PORTAL_NOTIFY_SMS_TEMPLATE_ID",
                "2d8b1cf6-5b4b-4f53-9a1e-3f3bdf4e0c11",
            ),
            ("PORTAL_NOTIFY_CALLBACK_TOKEN", "callback-token-0123456789"),
        ])
        .unwrap();
        let notify = c.notify.as_ref().unwrap();
        assert_eq!(
            notify.service_id.to_string(),
            "26785a09-ab16-4eb0-8407-a37497a57506"
        );
        assert_eq!(
            notify.base_url.as_str(),
            "https://api.notifications.service.gov.uk/"
        );
        assert!(notify.callback_token.is_some());
        assert!(matches!(
            c.mail.transport,
            EmailTransport::Notify { template_id } if template_id.to_string() == "f33517ff-2a88-4f6e-b855-c550268ce08a"
        ));
        assert!(matches!(c.sms.transport, SmsTransport::Notify { .. }));
        // The key's secret never shows in Debug output.
        assert!(!format!("{c:?}").contains("3d844edf"));
    }

    #[test]
    fn an_smtp_url_alone_still_chooses_smtp() {
        let c = config(&[("PORTAL_SMTP_URL", "smtp://127.0.0.1:1025")]).unwrap();
        assert!(c.mail.smtp_url().is_some());
        let c = config(&[
            ("PORTAL_SMTP_URL", "smtp://127.0.0.1:1025"),
            ("PORTAL_EMAIL_TRANSPORT", "file"),
        ])
        .unwrap();
        assert!(matches!(c.mail.transport, EmailTransport::File));
        assert!(matches!(
            config(&[]).unwrap().sms.transport,
            SmsTransport::File
        ));
    }

    #[test]
    fn secrets_can_come_from_files() {
        use secrecy::ExposeSecret;
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("metrics-token");
        std::fs::write(&token, "a-metrics-token-of-some-length\n").unwrap();
        let redis = dir.path().join("redis-url");
        std::fs::write(&redis, "redis://secret@cache:6379").unwrap();
        let c = config(&[
            ("PORTAL_METRICS_TOKEN_FILE", token.to_str().unwrap()),
            ("REDIS_URL_FILE", redis.to_str().unwrap()),
        ])
        .unwrap();
        assert_eq!(
            c.metrics_token.unwrap().expose_secret(),
            "a-metrics-token-of-some-length"
        );
        assert_eq!(
            c.redis_url.unwrap().expose_secret(),
            "redis://secret@cache:6379"
        );
        // A value read from a file is checked like any other.
        std::fs::write(&token, "short\n").unwrap();
        let err = config(&[("PORTAL_METRICS_TOKEN_FILE", token.to_str().unwrap())]).unwrap_err();
        assert_eq!(err.variable, "PORTAL_METRICS_TOKEN");
        assert!(!err.to_string().contains("short"), "{err}");
    }

    #[test]
    fn a_secret_set_twice_or_in_an_unreadable_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("notify-key");
        std::fs::write(&key, "the-key-itself").unwrap();
        let err = config(&[
            ("PORTAL_NOTIFY_API_KEY", "another-key"),
            ("PORTAL_NOTIFY_API_KEY_FILE", key.to_str().unwrap()),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "PORTAL_NOTIFY_API_KEY");
        let message = err.to_string();
        assert!(message.contains("PORTAL_NOTIFY_API_KEY_FILE"), "{message}");
        assert!(!message.contains("the-key-itself") && !message.contains("another-key"));

        let missing = dir.path().join("nowhere");
        let err = config(&[("DATABASE_URL_FILE", missing.to_str().unwrap())]).unwrap_err();
        assert_eq!(err.variable, "DATABASE_URL_FILE");
        assert!(err.to_string().contains(missing.to_str().unwrap()), "{err}");
    }

    #[test]
    fn kubernetes_service_variables_do_not_stop_the_process() {
        let c = config(&[
            ("PORTAL_SERVICE_HOST", "10.0.0.11"),
            ("PORTAL_SERVICE_PORT", "8080"),
            ("PORTAL_SERVICE_PORT_HTTP", "8080"),
            ("PORTAL_PORT", "tcp://10.0.0.11:8080"),
            ("PORTAL_PORT_8080_TCP", "tcp://10.0.0.11:8080"),
            ("PORTAL_PORT_8080_TCP_PROTO", "tcp"),
            ("PORTAL_PORT_8080_TCP_PORT", "8080"),
            ("PORTAL_PORT_8080_TCP_ADDR", "10.0.0.11"),
        ]);
        assert!(c.is_ok(), "{c:?}");
        let err = config(&[("PORTAL_PORT_8080_TCP_HOST", "x")]).unwrap_err();
        assert_eq!(err.variable, "PORTAL_PORT_8080_TCP_HOST");
    }

    #[test]
    fn the_worker_listener_and_job_retention_have_defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c.worker_bind_addr.to_string(), "127.0.0.1:8081");
        assert_eq!(
            c.jobs.retention,
            std::time::Duration::from_secs(14 * 86_400)
        );
        let c = config(&[
            ("PORTAL_WORKER_BIND_ADDR", "0.0.0.0:9100"),
            ("PORTAL_JOB_RETENTION_DAYS", "3"),
        ])
        .unwrap();
        assert_eq!(c.worker_bind_addr.to_string(), "0.0.0.0:9100");
        assert_eq!(c.jobs.retention, std::time::Duration::from_secs(3 * 86_400));
        let err = config(&[("PORTAL_JOB_RETENTION_DAYS", "0")]).unwrap_err();
        assert_eq!(err.variable, "PORTAL_JOB_RETENTION_DAYS");
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
