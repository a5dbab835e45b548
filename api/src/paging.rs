//! Keyset pages over time-ordered (UUID v7) ids, newest first.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

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
