//! What every resolver reads from the GraphQL context, as methods on it:
//! `ctx.app()`, `ctx.caller()` (the caller every policy takes),
//! `ctx.reader()` (the casework reader), `ctx.load(key)` (one row through the
//! request's DataLoader), `ctx.client()` and `ctx.reject(rejection)`.

use async_graphql::{Context, ErrorExtensions, dataloader::DataLoader, dataloader::Loader};

use super::loaders::{DbLoader, LoadError, RequestLoader};
use crate::{
    app::AppState,
    auth::{ClientInfo, Viewer},
    error::{ApiError, ApiResult},
    policy::{Caller, cases::Reader},
    users::Rejection,
};

/// Accessors for what every resolver needs from the context.
pub trait ContextExt {
    /// Application state.
    fn app(&self) -> &AppState;
    /// Who is signed in.
    fn viewer(&self) -> &Viewer;
    /// The request's client (address, user agent, request id).
    fn client(&self) -> ClientInfo;
    /// The caller, with the audit actor of this request: what every policy
    /// function takes.
    fn caller(&self) -> Caller<'_>;
    /// The casework reader (`UNAUTHENTICATED` / `FORBIDDEN` for anonymous
    /// callers and API tokens).
    fn reader(&self) -> ApiResult<Reader>;
    /// Loads one value through the request's loader (or the schema-wide one
    /// over WebSocket).
    fn load<K>(
        &self,
        key: K,
    ) -> impl Future<Output = ApiResult<Option<<DbLoader as Loader<K>>::Value>>> + Send
    where
        K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
        DbLoader: Loader<K, Error = LoadError>;
    /// Turns a [`Rejection`] into the resolver's error. Each extra error (one
    /// per further input field at fault) is added to the response beside it,
    /// so the client sees every field at once.
    fn reject(&self, rejection: Rejection) -> async_graphql::Error;
}

impl ContextExt for Context<'_> {
    fn app(&self) -> &AppState {
        self.data_unchecked::<AppState>()
    }

    fn viewer(&self) -> &Viewer {
        self.data_opt::<Viewer>().unwrap_or(&Viewer::Anonymous)
    }

    fn client(&self) -> ClientInfo {
        self.data_opt::<ClientInfo>()
            .cloned()
            .unwrap_or(ClientInfo {
                ip: None,
                user_agent: None,
                request_id: String::new(),
            })
    }

    fn caller(&self) -> Caller<'_> {
        Caller::new(self.viewer(), self.client())
    }

    fn reader(&self) -> ApiResult<Reader> {
        crate::policy::cases::reader_of(self.viewer())
    }

    async fn load<K>(&self, key: K) -> ApiResult<Option<<DbLoader as Loader<K>>::Value>>
    where
        K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
        DbLoader: Loader<K, Error = LoadError>,
    {
        let loaded = match self.data_opt::<RequestLoader>() {
            Some(request) => request.0.load_one(key).await,
            None => {
                self.data_unchecked::<DataLoader<DbLoader>>()
                    .load_one(key)
                    .await
            }
        };
        loaded.map_err(|e| ApiError::Internal(anyhow::Error::new(e)))
    }

    fn reject(&self, rejection: Rejection) -> async_graphql::Error {
        let mut errors = rejection.0.into_iter();
        let Some(first) = errors.next() else {
            return ApiError::Internal(anyhow::anyhow!("empty rejection")).into();
        };
        for extra in errors {
            let error = extra.extend().into_server_error(self.item.pos);
            self.add_error(self.set_error_path(error));
        }
        first.into()
    }
}
