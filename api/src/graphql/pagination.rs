//! Paging for every connection: page sizes, the two kinds of opaque cursor
//! and the connection built from a page of rows.
//!
//! - **Keyset** cursors ([`encode_cursor`], [`decode_cursor`]) name the last
//!   row seen by its (v7, time-ordered) id; the next page is the rows after
//!   it (`platform::db::newest_first`). Lists ordered by id use them.
//! - **Offset** cursors ([`offset_cursor`], [`decode_offset`]) name a
//!   position; lists whose sort keys include derived values (a case's next
//!   due date) that keyset cursors cannot express simply use them.
//! - The payment search keeps its own keyset cursor on `(payment_date, id)`
//!   (`crate::payments::search::Cursor`), encoded the same way.
//!
//! Cursors are opaque to clients (URL-safe base64); a cursor this API did not
//! make is `BAD_USER_INPUT` on `after`.
//!
//! The lists the screens show with "Showing 5 out of 5 results" (cases, my
//! tasks, the to-do list, properties, tenants, the organisation's users) carry
//! [`ListTotal`]: `totalCount` over every page, counted only when selected
//! and priced like the payment search's totals
//! ([`super::cost::TOTALS_COST`]).

use async_graphql::{
    Context, Object,
    connection::{Connection, Edge, EmptyFields},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use tokio::sync::OnceCell;
use uuid::Uuid;

use super::context::ContextExt;
use crate::{
    error::{ApiError, ApiResult},
    lists::Total,
};

/// The page size when `first` is not given.
pub const DEFAULT_PAGE_SIZE: u64 = 20;
/// The largest page.
pub const MAX_PAGE_SIZE: u64 = 100;

/// What a connection field costs against the complexity limit and the
/// caller's cost budget: its selection once per node it may return (`first`,
/// or the default page size), plus one. So `payments(first: 100) { nodes {
/// amount } totalCount }` costs as much as the hundred rows it reads, and a
/// hundred aliases of it cost a hundred times that (see `graphql::cost`).
pub fn connection_cost(first: Option<i32>, child_complexity: usize) -> usize {
    let nodes = first.map_or(DEFAULT_PAGE_SIZE, |n| {
        n.clamp(1, MAX_PAGE_SIZE as i32) as u64
    });
    1 + nodes as usize * child_complexity.max(1)
}

/// Clamps a requested page size: default 20, at most 100.
pub fn page_size(first: Option<i32>) -> ApiResult<u64> {
    match first {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(n) if (1..=MAX_PAGE_SIZE as i32).contains(&n) => Ok(n as u64),
        Some(_) => Err(ApiError::bad_input("first", "Must be between 1 and 100.")),
    }
}

/// An opaque keyset cursor for a position after `id`.
pub fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

/// Reads a cursor made by [`encode_cursor`].
pub fn decode_cursor(cursor: &str) -> ApiResult<Uuid> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| Uuid::from_slice(&b).ok())
        .ok_or_else(|| ApiError::bad_input("after", "Not a cursor returned by this API."))
}

/// An opaque cursor for the row after `offset` rows.
pub fn offset_cursor(offset: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("o{offset}"))
}

/// The offset a cursor made by [`offset_cursor`] stands for.
pub fn decode_offset(cursor: Option<&str>) -> ApiResult<u64> {
    let Some(cursor) = cursor else { return Ok(0) };
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix('o').and_then(|n| n.parse::<u64>().ok()))
        .map(|n| n + 1)
        .ok_or_else(|| ApiError::bad_input("after", "Not a cursor returned by this API."))
}

/// Builds an offset-paged connection from a page of rows starting at
/// `offset`.
pub fn connection<T, N: async_graphql::OutputType>(
    rows: Vec<T>,
    offset: u64,
    has_next: bool,
    node: impl Fn(T) -> N,
) -> Connection<String, N, EmptyFields, EmptyFields> {
    let mut connection = Connection::new(offset > 0, has_next);
    connection.edges.extend(
        rows.into_iter()
            .enumerate()
            .map(|(i, row)| Edge::new(offset_cursor(offset + i as u64), node(row))),
    );
    connection
}

/// Builds a keyset-paged connection from a page of rows (`id` gives each
/// row's cursor); `has_previous` when the page started after a cursor.
pub fn keyset_connection<T, N: async_graphql::OutputType>(
    rows: Vec<T>,
    has_previous: bool,
    has_next: bool,
    id: impl Fn(&T) -> Uuid,
    node: impl Fn(T) -> N,
) -> Connection<String, N, EmptyFields, EmptyFields> {
    let mut connection = Connection::new(has_previous, has_next);
    connection.edges.extend(
        rows.into_iter()
            .map(|row| Edge::new(encode_cursor(id(&row)), node(row))),
    );
    connection
}

/// The fields a counted list adds to its connection.
pub struct ListTotal {
    total: Total,
    count: OnceCell<i64>,
}

impl ListTotal {
    /// The total of the list the service built (see [`Total::of`]).
    pub fn new(total: Total) -> Self {
        Self {
            total,
            count: OnceCell::new(),
        }
    }
}

#[Object]
impl ListTotal {
    /// How many items the whole list has, over every page, with the same
    /// filter (and only what I may see): the screens' "Showing 5 out of 5
    /// results". Counted only when asked for.
    #[graphql(complexity = "super::cost::TOTALS_COST + child_complexity")]
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(*self
            .count
            .get_or_try_init(|| self.total.count(&ctx.app().db))
            .await?)
    }
}

/// A counted connection: the list's edges and its [`ListTotal`].
pub type Counted<N> = Connection<String, N, ListTotal, EmptyFields>;

/// Builds an offset-paged counted connection (see [`connection`]).
pub fn counted_connection<T, N: async_graphql::OutputType>(
    rows: Vec<T>,
    offset: u64,
    has_next: bool,
    total: Total,
    node: impl Fn(T) -> N,
) -> Counted<N> {
    let mut connection =
        Connection::with_additional_fields(offset > 0, has_next, ListTotal::new(total));
    connection.edges.extend(
        rows.into_iter()
            .enumerate()
            .map(|(i, row)| Edge::new(offset_cursor(offset + i as u64), node(row))),
    );
    connection
}

/// Builds a keyset-paged counted connection (see [`keyset_connection`]).
pub fn counted_keyset_connection<T, N: async_graphql::OutputType>(
    rows: Vec<T>,
    has_previous: bool,
    has_next: bool,
    total: Total,
    id: impl Fn(&T) -> Uuid,
    node: impl Fn(T) -> N,
) -> Counted<N> {
    let mut connection =
        Connection::with_additional_fields(has_previous, has_next, ListTotal::new(total));
    connection.edges.extend(
        rows.into_iter()
            .map(|row| Edge::new(encode_cursor(id(&row)), node(row))),
    );
    connection
}
