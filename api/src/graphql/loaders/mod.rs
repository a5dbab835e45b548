//! DataLoaders for every relation a list can ask for.
//!
//! One [`DbLoader`] answers every key type, split by domain below
//! ([`casework`], [`documents`], [`tenancy`], [`users`], [`webhooks`]); keys that depend on
//! who asks carry the casework [`Reader`] and are answered through that caller's
//! policy conditions, like any other query.
//!
//! Two loaders use it:
//! - [`RequestLoader`], made for each `POST /graphql` request, with a cache
//!   that lives as long as the request. The list resolvers (`cases`, `home`,
//!   `myTasks`) look ahead at the fields asked for and load each relation
//!   for the whole page with one `load_many` (one statement per relation,
//!   whatever the page size); the field resolvers then find their rows in the
//!   cache. Prefetching rather than relying on the loader's batching window
//!   alone matters: the window is a timer (1 ms), and a large page can take
//!   longer than that to resolve, which would split a relation into several
//!   statements depending on the machine's speed.
//! - The schema-wide `DataLoader<DbLoader>` without a cache (see
//!   [`super::build`]), for operations that come without a request loader
//!   (subscriptions over WebSocket): it only batches, so it never serves one
//!   operation's rows to another.

mod casework;
mod documents;
mod tenancy;
mod users;
mod webhooks;

pub use casework::*;
pub use documents::*;
pub use tenancy::*;
pub use users::*;
pub use webhooks::*;

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use sea_orm::{DatabaseConnection, DbErr};
use uuid::Uuid;

use crate::policy::cases::Reader;

/// The loader of casework relations.
pub struct DbLoader {
    db: DatabaseConnection,
}

impl DbLoader {
    /// A loader reading from `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

/// The loader of one request, with a cache that ends with the request.
pub struct RequestLoader(pub DataLoader<DbLoader, HashMapCache>, DatabaseConnection);

impl RequestLoader {
    /// A fresh loader for one request.
    pub fn new(db: &DatabaseConnection) -> Self {
        Self(
            DataLoader::with_cache(
                DbLoader::new(db.clone()),
                tokio::spawn,
                HashMapCache::default(),
            ),
            db.clone(),
        )
    }
}

/// A clone is a fresh loader with an empty cache: each operation of a batched
/// request gets its own (a query after a mutation in the same batch must not
/// see rows cached before the mutation).
impl Clone for RequestLoader {
    fn clone(&self) -> Self {
        Self::new(&self.1)
    }
}

/// Loader errors are shared between every key of a batch.
pub type LoadError = Arc<DbErr>;

fn group<K, F>(keys: &[K], split: F) -> HashMap<Reader, Vec<Uuid>>
where
    F: Fn(&K) -> (Uuid, Reader),
{
    let mut groups: HashMap<Reader, Vec<Uuid>> = HashMap::new();
    for key in keys {
        let (id, caller) = split(key);
        groups.entry(caller).or_default().push(id);
    }
    groups
}

/// A relation to load for a page when `wanted`: one `load_many` of `keys`.
async fn fetch<K, I>(
    loader: &DataLoader<DbLoader, HashMapCache>,
    wanted: bool,
    keys: I,
) -> Result<HashMap<K, <DbLoader as Loader<K>>::Value>, LoadError>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    I: IntoIterator<Item = K>,
    DbLoader: Loader<K, Error = LoadError>,
{
    if !wanted {
        return Ok(HashMap::new());
    }
    let keys: HashSet<K> = keys.into_iter().collect();
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    loader.load_many(keys).await
}

fn internal(e: LoadError) -> crate::error::ApiError {
    crate::error::ApiError::Internal(anyhow::Error::new(e))
}

/// Loads the tenants and properties a page of tenancy rows points at, one
/// statement each, before the rows' fields ask for them one by one.
pub async fn prefetch<K>(ctx: &async_graphql::Context<'_>, keys: impl IntoIterator<Item = K>)
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    DbLoader: Loader<K, Error = LoadError>,
{
    if let Some(request) = ctx.data_opt::<RequestLoader>() {
        // A failure here surfaces again (and is reported) when the field
        // loads its own key.
        let _ = request.0.load_many(keys).await;
    }
}

/// Puts rows the request already holds into its loader (a page of
/// properties is also what their tenants' `property` asks for), so that
/// looking them up again costs no statement.
pub async fn prime<K>(
    ctx: &async_graphql::Context<'_>,
    rows: impl IntoIterator<Item = (K, <DbLoader as Loader<K>>::Value)>,
) where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    DbLoader: Loader<K, Error = LoadError>,
{
    if let Some(request) = ctx.data_opt::<RequestLoader>() {
        request.0.feed_many(rows).await;
    }
}
