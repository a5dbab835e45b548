//! Real services for tests: per-test databases, and reading back email.
//!
//! A test that needs a service runs when its URL is set (`TEST_DATABASE_URL`,
//! `TEST_REDIS_URL`, `TEST_SMTP_URL`, ...) and otherwise is skipped with a
//! printed reason (see [`skip_unless`]); `.ci/run` sets them all.

use std::path::Path;

use sea_orm::{ConnectionTrait, Statement};
use uuid::Uuid;

use crate::Email;

/// A non-empty environment variable.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `PORTAL_S3_*` for the S3-compatible server in `TEST_S3_ENDPOINT` (with
/// `TEST_S3_BUCKET`, `TEST_S3_ACCESS_KEY_ID`, `TEST_S3_SECRET_ACCESS_KEY`,
/// `TEST_S3_REGION`), or nothing, leaving the local folder.
pub fn s3_vars() -> Vec<(String, String)> {
    let Some(endpoint) = env("TEST_S3_ENDPOINT") else {
        return Vec::new();
    };
    let or = |name: &str, default: &str| env(name).unwrap_or_else(|| default.to_owned());
    vec![
        ("PORTAL_S3_ENDPOINT".into(), endpoint),
        (
            "PORTAL_S3_BUCKET".into(),
            or("TEST_S3_BUCKET", "portal-test"),
        ),
        (
            "PORTAL_S3_ACCESS_KEY_ID".into(),
            or("TEST_S3_ACCESS_KEY_ID", "ci-access"),
        ),
        (
            "PORTAL_S3_SECRET_ACCESS_KEY".into(),
            or("TEST_S3_SECRET_ACCESS_KEY", "ci-secret-key-123"),
        ),
        ("PORTAL_S3_REGION".into(), or("TEST_S3_REGION", "us-east-1")),
        ("PORTAL_S3_FORCE_PATH_STYLE".into(), "true".into()),
    ]
}

/// The variable's value, or `None` after printing why the test is skipped.
pub fn require_env(name: &str, test: &str) -> Option<String> {
    let value = env(name);
    if value.is_none() {
        eprintln!("skipping {test}: {name} is not set (.ci/run sets it)");
    }
    value
}

/// `Some(values)` when every variable is set, else prints why and gives `None`.
pub fn skip_unless(names: &[&str], test: &str) -> Option<Vec<String>> {
    let missing: Vec<&str> = names.iter().copied().filter(|n| env(n).is_none()).collect();
    if !missing.is_empty() {
        eprintln!(
            "skipping {test}: {} not set (.ci/run sets them)",
            missing.join(", ")
        );
        return None;
    }
    Some(names.iter().filter_map(|n| env(n)).collect())
}

/// A database created for one test and dropped after it.
pub struct TestDatabase {
    /// URL of the test's database.
    pub url: String,
    /// For PostgreSQL: the server URL (admin connection) and database name.
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    /// PostgreSQL when `TEST_DATABASE_URL` is set, else a SQLite file in `dir`.
    pub async fn create(dir: &Path) -> Self {
        match env("TEST_DATABASE_URL") {
            Some(admin_url) => Self::postgres(&admin_url).await,
            None => Self::sqlite(dir).await,
        }
    }

    /// A SQLite file in `dir`.
    pub async fn sqlite(dir: &Path) -> Self {
        Self {
            url: format!("sqlite://{}/portal.db?mode=rwc", dir.display()),
            postgres: None,
        }
    }

    /// A new database on the PostgreSQL server of `admin_url`.
    pub async fn postgres(admin_url: &str) -> Self {
        let name = format!("portal_test_{}", Uuid::new_v4().simple());
        let admin = sea_orm::Database::connect(admin_url)
            .await
            .expect("connect to TEST_DATABASE_URL");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        admin.close().await.ok();
        Self {
            url: replace_database(admin_url, &name),
            postgres: Some((admin_url.to_owned(), name)),
        }
    }

    /// Whether this is SQLite.
    pub fn is_sqlite(&self) -> bool {
        self.postgres.is_none()
    }

    /// Drops a PostgreSQL test database (SQLite files go with the temp dir).
    pub fn drop_database(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                if let Ok(admin) = sea_orm::Database::connect(&admin_url).await {
                    let _ = admin
                        .execute_raw(Statement::from_string(
                            admin.get_database_backend(),
                            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                        ))
                        .await;
                    admin.close().await.ok();
                }
            });
        })
        .join();
    }
}

/// Deletes a test's queue keys from Redis (apalis names them `<queue>:...`).
pub fn delete_redis_keys(url: &str, queue: &str) {
    let url = url.to_owned();
    let pattern = format!("{queue}:*");
    let _ = std::thread::spawn(move || {
        let Ok(client) = redis::Client::open(url) else {
            return;
        };
        let Ok(mut conn) = client.get_connection() else {
            return;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(&pattern)
            .query(&mut conn)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: Result<(), _> = redis::cmd("DEL").arg(keys).query(&mut conn);
        }
    })
    .join();
}

/// The same server URL with another database name.
fn replace_database(url: &str, name: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("TEST_DATABASE_URL is a URL");
    parsed.set_path(&format!("/{name}"));
    parsed.to_string()
}

/// Emails written as `.eml` files (embedded mode), oldest first.
pub fn eml_files(dir: &Path) -> Vec<Email> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|(_, path)| parse_eml(&std::fs::read(path).ok()?))
        .collect()
}

/// Parses a raw message into an [`Email`] (`None` when it is not MIME a
/// mail client could read).
pub fn parse_eml(raw: &[u8]) -> Option<Email> {
    use mailparse::MailHeaderMap;
    let message = mailparse::parse_mail(raw).ok()?;
    let to = message
        .headers
        .get_first_header("To")
        .and_then(|h| mailparse::addrparse_header(h).ok())
        .and_then(|list| {
            list.iter().find_map(|a| match a {
                mailparse::MailAddr::Single(one) => Some(one.addr.clone()),
                mailparse::MailAddr::Group(group) => group.addrs.first().map(|a| a.addr.clone()),
            })
        })
        .unwrap_or_default();
    Some(Email {
        to,
        subject: message
            .headers
            .get_first_value("Subject")
            .unwrap_or_default(),
        text: first_body(&message, "text/plain").replace("\r\n", "\n"),
        html: first_body(&message, "text/html").replace("\r\n", "\n"),
    })
}

/// The decoded body of the first inline part of type `mimetype`, depth
/// first (the order a mail client reads `multipart/alternative` in), or "".
fn first_body(part: &mailparse::ParsedMail<'_>, mimetype: &str) -> String {
    let inline = part.get_content_disposition().disposition == mailparse::DispositionType::Inline;
    if part.subparts.is_empty() {
        if inline && part.ctype.mimetype.eq_ignore_ascii_case(mimetype) {
            return part.get_body().unwrap_or_default();
        }
        return String::new();
    }
    part.subparts
        .iter()
        .map(|p| first_body(p, mimetype))
        .find(|body| !body.is_empty())
        .unwrap_or_default()
}

/// Emails received by maildev whose Message-ID names this test's host.
pub async fn maildev_emails(api: &str, host: &str) -> Vec<Email> {
    let client = reqwest::Client::new();
    let list: Vec<serde_json::Value> = client
        .get(format!("{}/email", api.trim_end_matches('/')))
        .send()
        .await
        .expect("maildev API")
        .json()
        .await
        .expect("maildev JSON");
    let mut emails = Vec::new();
    for item in list {
        let message_id = item["messageId"]
            .as_str()
            .or_else(|| item["headers"]["message-id"].as_str())
            .unwrap_or_default();
        if !message_id.contains(host) {
            continue;
        }
        let Some(id) = item["id"].as_str() else {
            continue;
        };
        // The raw source gives exactly what a mail client would parse.
        let raw = client
            .get(format!("{}/email/{id}/source", api.trim_end_matches('/')))
            .send()
            .await
            .expect("maildev source")
            .bytes()
            .await
            .expect("maildev source body");
        if let Some(email) = parse_eml(&raw) {
            emails.push(email);
        }
    }
    emails
}
