//! Case references: the year and a 5-digit sequence, e.g. `202600046`.
//!
//! The sequence of a year lives in `case_reference_counters`. One statement
//! both creates the year's row (at 1) and increments it:
//!
//! ```sql
//! INSERT INTO case_reference_counters (year, last_value) VALUES ($1, 1)
//! ON CONFLICT (year) DO UPDATE SET last_value = case_reference_counters.last_value + 1
//! RETURNING last_value
//! ```
//!
//! It runs inside the transaction that creates the case, so the row stays
//! locked until that transaction ends: concurrent creations queue on the
//! lock (PostgreSQL row lock; SQLite's single writer with `BEGIN IMMEDIATE`)
//! and each gets the next number; a rollback gives the number back. Both
//! databases support `ON CONFLICT ... DO UPDATE ... RETURNING` (SQLite 3.35+).

use sea_orm::{ConnectionTrait, Statement};

use crate::error::{ApiError, ApiResult};

const SQL: &str = "INSERT INTO case_reference_counters (year, last_value) VALUES ($1, 1) \
     ON CONFLICT (year) DO UPDATE SET last_value = case_reference_counters.last_value + 1 \
     RETURNING last_value";

/// Allocates the next reference of `year`. Call it first in a write
/// transaction (on SQLite the write lock is then held from the start).
pub async fn allocate(conn: &impl ConnectionTrait, year: i32) -> ApiResult<String> {
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            match backend {
                sea_orm::DbBackend::Sqlite => SQL.replace("$1", "?"),
                _ => SQL.to_owned(),
            },
            [year.into()],
        ))
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no counter row returned")))?;
    let value: i32 = row.try_get("", "last_value")?;
    if value > 99_999 {
        return Err(ApiError::Conflict(format!(
            "The case references of {year} are used up."
        )));
    }
    Ok(format!("{year}{value:05}"))
}
