//! Database connection, migrations, the write-transaction helper and the
//! keyset page ([`newest_first`]) every id-ordered list uses.
//!
//! The same code runs on SQLite (embedded) and PostgreSQL (production). The one
//! difference that leaks into callers is how write transactions begin: SQLite's
//! default `BEGIN DEFERRED` takes the write lock only at the first write, and a
//! transaction that read first then fails with `SQLITE_BUSY` straight away when
//! another connection committed in between (the busy timeout does not apply to
//! lock upgrades). [`begin_write`] therefore starts SQLite write transactions
//! with `BEGIN IMMEDIATE`, which waits for the lock up front, and is a plain
//! `BEGIN` on PostgreSQL.

use std::time::Duration;

use migration::MigratorTrait;
use sea_orm::{
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DatabaseTransaction, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Select, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use secrecy::ExposeSecret;
use uuid::Uuid;

use crate::config::Config;

/// Connects to the configured database, creating the SQLite file's folder if needed.
pub async fn connect(config: &Config) -> Result<DatabaseConnection, DbErr> {
    connect_with(config.database_url.expose_secret(), config.db_pool_size).await
}

/// Connects to a database URL with the pool settings this service uses.
pub async fn connect_url(url: &str) -> Result<DatabaseConnection, DbErr> {
    connect_with(url, None).await
}

/// The pool's size when `PORTAL_DB_POOL_SIZE` is unset: SQLite has one
/// writer, so a few connections serve it; PostgreSQL gets enough for the API
/// and the worker in one process at the bench's concurrency.
pub const DEFAULT_POOL_SIZE_SQLITE: u32 = 8;
/// See [`DEFAULT_POOL_SIZE_SQLITE`].
pub const DEFAULT_POOL_SIZE_POSTGRES: u32 = 32;

/// Connects with an explicit pool size (`None`: the default for the database).
pub async fn connect_with(url: &str, pool_size: Option<u32>) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30))
        // sqlx pings a pooled connection on every checkout by default: one
        // extra round trip per statement. Only a connection idle long enough
        // to have been dropped (by the server, a proxy or a firewall) is
        // pinged first; a dead connection that slips through fails its
        // statement, which the caller sees as a database error like any other.
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        // Statements are traced by our own spans; sqlx's per-statement INFO logs
        // would drown the request logs (and may print parameter values).
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        if let Some(dir) = sqlite_path(url).and_then(|p| p.parent().map(|d| d.to_path_buf()))
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(&dir).map_err(|e| {
                DbErr::Custom(format!(
                    "cannot create database folder {}: {e}",
                    dir.display()
                ))
            })?;
        }
        options
            .max_connections(pool_size.unwrap_or(DEFAULT_POOL_SIZE_SQLITE))
            .min_connections(1);
        options.map_sqlx_sqlite_opts(|opts| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
                .create_if_missing(true)
        });
    } else {
        let size = pool_size.unwrap_or(DEFAULT_POOL_SIZE_POSTGRES);
        options.max_connections(size).min_connections(2.min(size));
    }
    Database::connect(options).await
}

/// The file behind a `sqlite://path?query` URL, if it is a file (not `:memory:`).
fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && !path.contains(":memory:")).then(|| path.into())
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    migration::Migrator::up(db, None).await
}

/// Begins a transaction that will write (see the module docs for why this matters on SQLite).
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        isolation_level: None,
        access_mode: None,
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
    })
    .await
}

/// Cheap liveness probe of the database, for `/readyz`.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}

/// Whether the connection is SQLite.
pub fn is_sqlite(db: &impl ConnectionTrait) -> bool {
    db.get_database_backend() == DbBackend::Sqlite
}

/// Up to `limit` rows of `select` newest first, after the row `after` (ids
/// are v7, so id order is creation order), and whether more follow.
pub async fn newest_first<E: EntityTrait>(
    conn: &impl ConnectionTrait,
    select: Select<E>,
    id: E::Column,
    after: Option<Uuid>,
    limit: u64,
) -> Result<(Vec<E::Model>, bool), DbErr> {
    let mut select = select.order_by_desc(id);
    if let Some(after) = after {
        select = select.filter(id.lt(after));
    }
    let mut rows = select.limit(limit + 1).all(conn).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, more))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_pool_holds_at_most_the_configured_connections() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/pool.db?mode=rwc", dir.path().display());
        let db = connect_with(&url, Some(3)).await.unwrap();
        let pool = db.get_sqlite_connection_pool();
        assert_eq!(pool.options().get_max_connections(), 3);
        let db = connect_url(&url).await.unwrap();
        assert_eq!(
            db.get_sqlite_connection_pool()
                .options()
                .get_max_connections(),
            DEFAULT_POOL_SIZE_SQLITE
        );
    }
}
