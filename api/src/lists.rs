//! What every list shares, as the screens show them: the count of the whole
//! list ("Showing 5 out of 5 results") and text search that means what was
//! typed.
//!
//! - [`Total`] keeps a list's filtered query (authorization included, before
//!   ordering and paging) so the count is taken only when a client asks for
//!   `totalCount`, with exactly the condition that chose the rows: a count
//!   can never show rows the caller may not see.
//! - [`contains`] and [`contains_pattern`] match a word anywhere in a
//!   column, with `%`, `_` and `\` taken literally (`LIKE … ESCAPE '\'`,
//!   which SQLite and PostgreSQL read the same way). Dropping the wildcards
//!   instead would turn a search for `_` into no condition at all, which
//!   matches every row.

use sea_orm::{
    ConnectionTrait, EntityTrait, QueryTrait, Select,
    sea_query::{
        Alias, Asterisk, Condition, Expr, ExprTrait, Func, IntoColumnRef, LikeExpr, Query,
        SelectStatement,
    },
};

use crate::error::{ApiError, ApiResult};

/// The filtered query of a list, counted on demand.
#[derive(Debug, Clone)]
pub struct Total(SelectStatement);

impl Total {
    /// The total of `query`: give it with every filter (and the caller's
    /// visibility condition) applied, before ordering, cursor and limit.
    pub fn of<E: EntityTrait>(query: &Select<E>) -> Self {
        Self(query.clone().into_query())
    }

    /// How many rows the list has over every page (one `COUNT(*)`).
    pub async fn count(&self, conn: &impl ConnectionTrait) -> ApiResult<i64> {
        let statement = Query::select()
            .expr_as(Func::count(Expr::col(Asterisk)), Alias::new("total"))
            .from_subquery(self.0.clone(), Alias::new("listed"))
            .to_owned();
        let row = conn
            .query_one(&statement)
            .await?
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("COUNT returned no row")))?;
        Ok(row.try_get::<i64>("", "total")?)
    }
}

/// `%text%` for a `LIKE … ESCAPE '\'` pattern matching `text` anywhere, its
/// `%`, `_` and `\` escaped.
pub fn contains_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// `pattern` as a `LIKE` operand with `\` as its escape character.
pub fn like(pattern: String) -> LikeExpr {
    LikeExpr::new(pattern).escape('\\')
}

/// `LOWER(column) LIKE '%word%' ESCAPE '\'`: `word` (already lower case)
/// anywhere in the column, taken literally.
pub fn contains(column: impl IntoColumnRef, word: &str) -> Condition {
    Condition::all()
        .add(Expr::expr(Func::lower(Expr::col(column))).like(like(contains_pattern(word))))
}

/// The lower-cased words of a search text (at most 8), as typed: `%` and
/// `_` are words like any other.
pub fn search_words(search: &str) -> Vec<String> {
    search
        .split_whitespace()
        .take(8)
        .map(|w| w.chars().flat_map(char::to_lowercase).collect::<String>())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{contains_pattern, search_words};

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(contains_pattern("a_b%c\\"), "%a\\_b\\%c\\\\%");
    }

    #[test]
    fn wildcards_are_words() {
        assert_eq!(search_words(" _  Flat%2 "), vec!["_", "flat%2"]);
    }
}
