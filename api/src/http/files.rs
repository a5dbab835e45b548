//! `GET /files/<key>`: serves local-storage objects behind the signed,
//! expiring URLs that [`platform::storage::Storage::download_url`] makes (S3
//! deployments hand out presigned S3 URLs instead, and this route answers 404).
//!
//! The URL is the authorization: it was minted by a resolver that checked the
//! caller may download the object, and it names the key, file name, type and
//! expiry under one HMAC. Anything wrong answers 404, like a missing object.

use axum::{
    body::Body,
    extract::{Path, Query, State, rejection::QueryRejection},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use platform::storage::{Storage, StorageError, content_disposition};
use serde::Deserialize;
use tokio_util::io::ReaderStream;

use super::HttpState;

/// The signed query string.
#[derive(Debug, Deserialize)]
pub struct Signed {
    expires: i64,
    name: String,
    #[serde(rename = "type")]
    content_type: String,
    signature: String,
}

/// Streams a signed local object.
pub async fn download(
    State(state): State<HttpState>,
    Path(key): Path<String>,
    query: Result<Query<Signed>, QueryRejection>,
) -> Response {
    let Ok(Query(q)) = query else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Storage::Local(local) = &state.app.storage else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(file) = local.verify(&key, q.expires, &q.name, &q.content_type, &q.signature) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let size = match state.app.storage.size(&file.key).await {
        Ok(Some(size)) => size,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "reading a stored file failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let reader = match state.app.storage.get(&file.key).await {
        Ok(r) => r,
        Err(StorageError::NotFound(_)) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "reading a stored file failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let content_type = HeaderValue::from_str(&file.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let disposition = HeaderValue::from_str(&content_disposition(&file.filename))
        .unwrap_or(HeaderValue::from_static("attachment"));
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CONTENT_LENGTH, HeaderValue::from(size)),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; sandbox"),
            ),
        ],
        Body::from_stream(ReaderStream::with_capacity(reader, 64 * 1024)),
    )
        .into_response()
}
