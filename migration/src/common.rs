//! Small builders shared by the migrations, so each table reads as a list of
//! columns, keys and indexes rather than builder boilerplate.
//!
//! These functions are part of every migration that calls them: changing what
//! they emit changes already-released migrations. Add a new helper instead.

use sea_orm_migration::prelude::*;

/// A foreign key `from_table(from_col) -> to_table(to_col)`, named
/// `fk_<from_table>_<from_col>`, with the given `ON DELETE` action.
///
/// `ON UPDATE` is left at the default (`NO ACTION`): primary keys are UUIDs and
/// never change.
pub(crate) fn fk<FT, FC, TT, TC>(
    from_table: FT,
    from_col: FC,
    to_table: TT,
    to_col: TC,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement
where
    FT: IntoIden,
    FC: IntoIden,
    TT: IntoIden,
    TC: IntoIden,
{
    let from_table = from_table.into_iden();
    let from_col = from_col.into_iden();
    ForeignKey::create()
        .name(format!("fk_{from_table}_{from_col}"))
        .from(from_table, from_col)
        .to(to_table.into_iden(), to_col.into_iden())
        .on_delete(on_delete)
        .take()
}

/// A plain (non-unique) index on `columns` of `table`.
pub(crate) fn index<T, C>(
    name: &str,
    table: T,
    columns: impl IntoIterator<Item = C>,
) -> IndexCreateStatement
where
    T: IntoIden,
    C: IntoIndexColumn,
{
    let mut stmt = Index::create();
    stmt.name(name).table(table.into_iden());
    for column in columns {
        stmt.col(column);
    }
    stmt
}

/// A unique index on `columns` of `table`.
pub(crate) fn unique_index<T, C>(
    name: &str,
    table: T,
    columns: impl IntoIterator<Item = C>,
) -> IndexCreateStatement
where
    T: IntoIden,
    C: IntoIndexColumn,
{
    index(name, table, columns).unique().take()
}

/// Creates every index in `indexes`, in order.
pub(crate) async fn create_indexes(
    manager: &SchemaManager<'_>,
    indexes: impl IntoIterator<Item = IndexCreateStatement>,
) -> Result<(), DbErr> {
    for stmt in indexes {
        manager.create_index(stmt).await?;
    }
    Ok(())
}

/// Drops `tables` in the given order (children before parents, so foreign
/// keys never block a drop). Their indexes and triggers go with them.
pub(crate) async fn drop_tables(
    manager: &SchemaManager<'_>,
    tables: impl IntoIterator<Item = DynIden>,
) -> Result<(), DbErr> {
    for table in tables {
        manager
            .drop_table(Table::drop().table(table).to_owned())
            .await?;
    }
    Ok(())
}
