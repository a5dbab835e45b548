//! The GraphQL endpoints.
//!
//! `POST /graphql` reads the body itself rather than through a generic
//! extractor, so that it can (in this order, before any parsing or execution):
//! refuse content types a browser form can send cross-site (CSRF: only
//! `application/json` is accepted), enforce the body limit with a GraphQL
//! `PAYLOAD_TOO_LARGE` error, cap the batch size, and resolve the caller.
//!
//! The caller is resolved once per request (per operation over WebSocket:
//! see `websocket`), before anything runs, by [`session::authenticate`], the same way on both
//! transports: a live session is its user; a session token that is no longer
//! live (signed out, expired, revoked) makes the request anonymous, so sign-in
//! and the other operations before sign-in work whatever old token a client
//! still sends, and everything else answers `UNAUTHENTICATED` from its policy;
//! a malformed `Authorization` value is refused here with `UNAUTHENTICATED`.

use std::net::SocketAddr;

use async_graphql::{BatchRequest, BatchResponse, ErrorExtensions};
use axum::{
    Json,
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::json;

use super::{HttpState, REQUEST_ID};
use crate::{
    auth::{ClientInfo, Viewer, session},
    error::{ApiError, ErrorCode},
};

/// A transport-level error in the GraphQL response shape.
fn error_response(status: StatusCode, error: ApiError) -> Response {
    let code = error.code();
    let extended = error.extend();
    metrics::counter!("portal_graphql_errors_total", "code" => code.as_str()).increment(1);
    let mut body = json!({ "errors": [{ "message": extended.message, "extensions": { "code": code.as_str() } }] });
    if let Some(ext) = extended.extensions {
        body["errors"][0]["extensions"] = serde_json::to_value(ext).unwrap_or_default();
    }
    (status, Json(body)).into_response()
}

/// Body of a panicking request: a logged `INTERNAL`, like any other internal error.
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("request handler panicked");
    error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        ApiError::Internal(anyhow::anyhow!("panic")),
    )
}

/// The client's address: the TCP peer, or, behind `hops` trusted reverse
/// proxies, the entry of `X-Forwarded-For` that the outermost trusted proxy
/// added. Entries further left were written by the client and are not trusted.
fn client_ip(headers: &HeaderMap, peer: Option<SocketAddr>, hops: usize) -> Option<String> {
    if hops > 0 {
        let forwarded: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect();
        if let Some(ip) = forwarded
            .len()
            .checked_sub(hops)
            .and_then(|i| forwarded.get(i))
            .and_then(|v| v.parse::<std::net::IpAddr>().ok())
        {
            return Some(ip.to_string());
        }
    }
    peer.map(|p| p.ip().to_string())
}

pub(super) fn client_info(
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    hops: usize,
) -> ClientInfo {
    ClientInfo {
        ip: client_ip(headers, peer, hops),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(256).collect()),
        request_id: headers
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
    }
}

pub use crate::documents::MAX_FILES_PER_REQUEST;

/// Headers that make a multipart request "non-simple", so a browser must send
/// a CORS preflight before it (which the CORS policy refuses for foreign
/// origins): a form on another site cannot set them.
const PREFLIGHT_HEADERS: [&str; 2] = ["graphql-require-preflight", "apollo-require-preflight"];

/// The bound on a whole multipart request: the GraphQL document and map plus
/// at most four files of the largest size.
fn multipart_request_limit(limits: &platform::config::Limits) -> u64 {
    limits
        .max_upload_bytes
        .saturating_mul(4)
        .saturating_add(2 * limits.max_body_bytes as u64)
}

/// `POST /graphql`.
///
/// Two encodings are accepted:
/// - `application/json`: a single operation or a batch, within
///   `PORTAL_MAX_BODY_BYTES`;
/// - `multipart/form-data` following the GraphQL multipart request spec
///   (`operations`, `map`, then the files), for operations taking `Upload`s.
///   Such a request must also carry a `GraphQL-Require-Preflight` (or
///   `Apollo-Require-Preflight`) or an `Authorization` header: a form on
///   another site can post multipart bodies, but cannot set those headers.
///   Files are spooled to anonymous temporary files as they arrive, or,
///   when large and of a kind checked as it streams, stored as they arrive
///   (`documents::stream`; what no operation claims is deleted before the
///   response); never held whole in memory; each within `PORTAL_MAX_UPLOAD_BYTES`, at most
///   [`MAX_FILES_PER_REQUEST`] of them, the whole request within
///   four times the file limit.
pub async fn graphql_post(State(state): State<HttpState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let limits = &state.app.config.limits;

    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let lowercase = content_type.to_ascii_lowercase();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());

    // A header that is not visible ASCII cannot be a bearer token: it is
    // malformed, not absent.
    let authorization = match parts.headers.get(header::AUTHORIZATION) {
        None => None,
        Some(value) => match value.to_str() {
            Ok(value) => Some(value),
            Err(_) => return error_response(StatusCode::OK, ApiError::Unauthenticated),
        },
    };
    // Before the body is read, and before any operation runs; a stale
    // session token is anonymous (module docs).
    let viewer = match session::authenticate(&state.app.db, authorization).await {
        Ok(viewer) => viewer,
        Err(e) => return error_response(StatusCode::OK, e),
    };
    if let Some(slot) = parts.extensions.get::<super::access_log::PrincipalSlot>() {
        slot.record(&viewer);
    }
    // Files a multipart request stored while it arrived: what no resolver
    // claims is deleted before the response goes out (`documents::stream`).
    let mut streamed: Option<crate::documents::stream::StreamedSet> = None;
    let batch = if lowercase.starts_with("application/json") {
        let too_large = || {
            error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                ApiError::PayloadTooLarge(format!(
                    "The request body is larger than the limit of {} bytes.",
                    limits.max_body_bytes
                )),
            )
        };
        if declared.is_some_and(|n| n > limits.max_body_bytes as u64) {
            return too_large();
        }
        let bytes = match Limited::new(body, limits.max_body_bytes).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<LengthLimitError>() => return too_large(),
            Err(_) => {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    ApiError::bad_input("body", "The request body could not be read."),
                );
            }
        };
        match parse_operations(&bytes) {
            Ok(batch) => batch,
            Err(e) => return error_response(StatusCode::BAD_REQUEST, e),
        }
    } else if lowercase.starts_with("multipart/form-data") {
        let preflighted = PREFLIGHT_HEADERS
            .iter()
            .any(|h| parts.headers.contains_key(*h))
            || parts.headers.contains_key(header::AUTHORIZATION);
        if !preflighted {
            return error_response(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ApiError::bad_input(
                    "content-type",
                    "Multipart GraphQL requests must carry a GraphQL-Require-Preflight \
                     (or Apollo-Require-Preflight) header, or an Authorization header.",
                ),
            );
        }
        // Uploads are for signed-in users: an anonymous caller, an API token
        // or an enrolment-only session is answered before a single file
        // byte is read (nothing is spooled, scanned or stored for them).
        match &viewer {
            Viewer::User(_) => {}
            Viewer::Anonymous => {
                return error_response(StatusCode::UNAUTHORIZED, ApiError::Unauthenticated);
            }
            Viewer::Enrolling(_) => {
                return error_response(StatusCode::FORBIDDEN, ApiError::TwoFactorSetupRequired);
            }
            Viewer::ApiToken(_) => {
                return error_response(StatusCode::FORBIDDEN, ApiError::Forbidden);
            }
        }
        let total = multipart_request_limit(limits);
        if declared.is_some_and(|n| n > total) {
            return error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                ApiError::PayloadTooLarge(format!(
                    "The request is larger than the limit of {total} bytes for all its files together."
                )),
            );
        }
        match multipart::receive(&content_type, body, limits, total, &state.app.storage).await {
            Ok((batch, set)) => {
                streamed = Some(set);
                batch
            }
            Err(e) => {
                let status = match e.code() {
                    ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                    ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
                    _ => StatusCode::BAD_REQUEST,
                };
                return error_response(status, e);
            }
        }
    } else {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::bad_input(
                "content-type",
                "GraphQL requests must be sent as application/json \
                 (or multipart/form-data for file uploads).",
            ),
        );
    };

    if let BatchRequest::Batch(requests) = &batch
        && (requests.is_empty() || requests.len() > limits.max_batch_size)
    {
        return error_response(
            StatusCode::BAD_REQUEST,
            ApiError::bad_input(
                "body",
                format!(
                    "A batch must hold between 1 and {} operations; this one holds {}.",
                    limits.max_batch_size,
                    requests.len()
                ),
            ),
        );
    }
    // The operation's name on the request's trace span, when the client
    // named it (the query is not parsed for it): `graphql.operation.name`.
    if let BatchRequest::Single(request) = &batch
        && let Some(name) = &request.operation_name
    {
        use tracing_opentelemetry::OpenTelemetrySpanExt as _;
        let name: String = name.chars().take(100).collect();
        tracing::Span::current().set_attribute("graphql.operation.name", name);
    }

    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let client = client_info(&parts.headers, peer, state.app.config.trusted_proxy_hops);

    let batch = batch
        .data(viewer)
        .data(client)
        .data(crate::graphql::loaders::RequestLoader::new(&state.app.db));
    let response = state.schema.execute_batch(batch).await;
    if let Some(set) = streamed.take() {
        set.cleanup().await;
    }
    count_errors(&response);
    // Every operation refused for the caller's cost budget: the whole
    // request was refused, so say so in HTTP too (`graphql::cost`).
    let waits: Option<Vec<u64>> = match &response {
        BatchResponse::Single(r) => crate::graphql::cost::budget_refusal(r).map(|w| vec![w]),
        BatchResponse::Batch(rs) => rs
            .iter()
            .map(crate::graphql::cost::budget_refusal)
            .collect(),
    };
    if let Some(wait) = waits.and_then(|w| w.into_iter().max()) {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, wait.to_string())],
            Json(response),
        )
            .into_response();
    }
    Json(response).into_response()
}

/// The GraphQL request(s) of a JSON body or of a multipart `operations` part.
fn parse_operations(bytes: &[u8]) -> Result<BatchRequest, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_input("body", format!("Malformed GraphQL request: {e}")))
}

/// The GraphQL multipart request spec, read with `multer` so that each part
/// has its own limit: `operations` and `map` within the JSON body limit, each
/// file within the upload limit (the error names the file), the number of
/// files bounded, and the whole stream bounded.
mod multipart {
    use std::collections::HashMap;

    use std::sync::Arc;

    use async_graphql::{BatchRequest, UploadValue};
    use axum::body::Body;
    use platform::storage::Storage;

    use crate::documents::stream::{
        FileSink, Received, StreamedFile, StreamedSet, StreamedUploads,
    };

    use super::{MAX_FILES_PER_REQUEST, parse_operations};
    use crate::error::ApiError;

    fn too_large(message: String) -> ApiError {
        ApiError::PayloadTooLarge(message)
    }

    fn malformed(reason: impl Into<String>) -> ApiError {
        ApiError::bad_input("body", reason)
    }

    /// What went wrong in the stream, as an API error.
    fn stream_error(
        e: multer::Error,
        file: Option<&str>,
        limits: &platform::config::Limits,
        total: u64,
    ) -> ApiError {
        match e {
            multer::Error::FieldSizeExceeded { field_name, .. } => {
                match (file, field_name.as_deref()) {
                    (Some(file), _) => too_large(format!(
                        "The file \"{file}\" is larger than the limit of {} bytes.",
                        limits.max_upload_bytes
                    )),
                    (None, name) => too_large(format!(
                        "The multipart part \"{}\" is larger than the limit of {} bytes.",
                        name.unwrap_or("?"),
                        limits.max_body_bytes
                    )),
                }
            }
            multer::Error::StreamSizeExceeded { .. } => too_large(format!(
                "The request is larger than the limit of {total} bytes for all its files together."
            )),
            other => malformed(format!("Malformed multipart request: {other}")),
        }
    }

    /// The `UploadValue` content of a streamed file: an anonymous file of its
    /// size with no bytes written (sparse: no disk used), so a resolver that
    /// only asks for the size (the housing-cost CSV limit) sees it. The bytes
    /// are in storage (`documents::stream`).
    fn placeholder(size: u64) -> Result<std::fs::File, ApiError> {
        let file = tempfile::tempfile()
            .and_then(|f| f.set_len(size).map(|()| f))
            .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("upload placeholder")))?;
        Ok(file)
    }

    /// Reads a multipart GraphQL request, spooling each file to an anonymous
    /// temporary file (removed when the last handle closes).
    pub(super) async fn receive(
        content_type: &str,
        body: Body,
        limits: &platform::config::Limits,
        total: u64,
        storage: &Storage,
    ) -> Result<(BatchRequest, StreamedSet), ApiError> {
        let mut set = StreamedSet::new(storage.clone());
        match receive_into(content_type, body, limits, total, storage, &mut set).await {
            Ok(batch) => Ok((batch, set)),
            Err(e) => {
                // Nothing a refused request streamed is kept.
                set.cleanup().await;
                Err(e)
            }
        }
    }

    async fn receive_into(
        content_type: &str,
        body: Body,
        limits: &platform::config::Limits,
        total: u64,
        storage: &Storage,
        set: &mut StreamedSet,
    ) -> Result<BatchRequest, ApiError> {
        let boundary = multer::parse_boundary(content_type)
            .map_err(|_| malformed("The multipart request has no boundary."))?;
        let json_limit = limits.max_body_bytes as u64;
        let constraints = multer::Constraints::new().size_limit(
            multer::SizeLimit::new()
                .whole_stream(total)
                .per_field(limits.max_upload_bytes)
                .for_field("operations", json_limit)
                .for_field("map", json_limit),
        );
        let mut multipart =
            multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);

        let mut operations = None;
        let mut map: Option<HashMap<String, Vec<String>>> = None;
        let mut files: Vec<(String, UploadValue, Option<Arc<StreamedFile>>)> = Vec::new();
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(field)) => field,
                Ok(None) => break,
                Err(e) => return Err(stream_error(e, None, limits, total)),
            };
            let name = field.name().unwrap_or_default().to_owned();
            match (name.as_str(), field.file_name().map(str::to_owned)) {
                ("operations", _) => {
                    let bytes = field
                        .bytes()
                        .await
                        .map_err(|e| stream_error(e, None, limits, total))?;
                    operations = Some(parse_operations(&bytes)?);
                }
                ("map", _) => {
                    let bytes = field
                        .bytes()
                        .await
                        .map_err(|e| stream_error(e, None, limits, total))?;
                    let parsed: HashMap<String, Vec<String>> = serde_json::from_slice(&bytes)
                        .map_err(|e| {
                            malformed(format!(
                                "The multipart \"map\" is not a JSON object of paths: {e}"
                            ))
                        })?;
                    // One variable per file part: a part mapped to many would be checked,
                    // scanned and stored once per variable from one upload.
                    if let Some((part, paths)) = parsed.iter().find(|(_, paths)| paths.len() != 1) {
                        return Err(ApiError::bad_input(
                            "map",
                            format!(
                                "Each file part is mapped to exactly one variable; \"{part}\" is mapped to {}.",
                                paths.len()
                            ),
                        ));
                    }
                    map = Some(parsed);
                }
                (_, Some(filename)) => {
                    if files.len() >= MAX_FILES_PER_REQUEST {
                        return Err(too_large(format!(
                            "A request may carry at most {MAX_FILES_PER_REQUEST} files."
                        )));
                    }
                    let content_type = field.content_type().map(ToString::to_string);
                    let internal = |e: platform::storage::StorageError| {
                        ApiError::Internal(anyhow::Error::new(e).context("receiving an upload"))
                    };
                    let mut sink = FileSink::new(storage.clone(), &filename).map_err(|e| {
                        ApiError::Internal(anyhow::Error::new(e).context("spool file"))
                    })?;
                    let mut field = field;
                    loop {
                        match field.chunk().await {
                            Ok(Some(chunk)) => {
                                if let Err(e) = sink.write(chunk).await {
                                    sink.fail().await;
                                    return Err(internal(e));
                                }
                            }
                            Ok(None) => break,
                            Err(e) => {
                                sink.fail().await;
                                return Err(stream_error(e, Some(&filename), limits, total));
                            }
                        }
                    }
                    let (content, streamed) = match sink.finish().await.map_err(internal)? {
                        Received::Spooled(spool) => (spool, None),
                        Received::Streamed(file) => {
                            set.push(file.clone());
                            (placeholder(file.size)?, Some(file))
                        }
                    };
                    files.push((
                        name,
                        UploadValue {
                            filename,
                            content_type,
                            content,
                        },
                        streamed,
                    ));
                }
                // Unknown non-file parts are ignored, as the spec allows.
                _ => {}
            }
        }

        let mut request = operations
            .ok_or_else(|| malformed("The multipart request has no \"operations\" part."))?;
        let mut map = map.ok_or_else(|| malformed("The multipart request has no \"map\" part."))?;
        // The streamed files of each operation, by its `Upload` index.
        let mut streamed_by_request: HashMap<usize, StreamedUploads> = HashMap::new();
        for (name, upload, streamed) in files {
            // Files the map does not mention are dropped (and their spool
            // removed; a streamed one is deleted as unclaimed).
            let Some(paths) = map.remove(&name) else {
                continue;
            };
            for path in paths {
                let upload = upload.try_clone().map_err(|e| {
                    ApiError::Internal(anyhow::Error::new(e).context("spool handle"))
                })?;
                let (index, request, before) = match &mut request {
                    BatchRequest::Single(request) => {
                        let before = request.uploads.len();
                        request.set_upload(&path, upload);
                        (0, request, before)
                    }
                    BatchRequest::Batch(requests) => {
                        let (index, rest) = path.split_once('.').unwrap_or((path.as_str(), ""));
                        match index
                            .parse::<usize>()
                            .ok()
                            .and_then(|i| requests.get_mut(i).map(|r| (i, r)))
                        {
                            Some((i, request)) => {
                                let before = request.uploads.len();
                                request.set_upload(rest, upload);
                                (i, request, before)
                            }
                            None => {
                                return Err(malformed(format!(
                                    "The multipart map names the operation path \"{path}\", which does not exist."
                                )));
                            }
                        }
                    }
                };
                // `set_upload` appends when the path names a variable.
                if let Some(file) = &streamed
                    && request.uploads.len() > before
                {
                    streamed_by_request
                        .entry(index)
                        .or_default()
                        .0
                        .insert(before, file.clone());
                }
            }
        }
        for (index, uploads) in streamed_by_request {
            match &mut request {
                BatchRequest::Single(request) => request.data.insert(uploads),
                BatchRequest::Batch(requests) => {
                    if let Some(request) = requests.get_mut(index) {
                        request.data.insert(uploads);
                    }
                }
            }
        }
        if let Some(missing) = map.keys().next() {
            return Err(malformed(format!(
                "The multipart map names the file part \"{missing}\", which the request does not carry."
            )));
        }
        Ok(request)
    }
}

fn count_errors(response: &BatchResponse) {
    let responses: Vec<&async_graphql::Response> = match response {
        BatchResponse::Single(r) => vec![r],
        BatchResponse::Batch(rs) => rs.iter().collect(),
    };
    for error in responses.iter().flat_map(|r| r.errors.iter()) {
        let code = error
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .and_then(|v| match v {
                async_graphql::Value::String(s) => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_else(|| ErrorCode::Internal.as_str().to_owned());
        metrics::counter!("portal_graphql_errors_total", "code" => code).increment(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn the_client_address_trusts_only_the_configured_proxies() {
        let peer = Some(SocketAddr::from(([10, 0, 0, 1], 443)));
        let h = headers("6.6.6.6, 203.0.113.7, 10.0.0.2");
        assert_eq!(
            client_ip(&h, peer, 0).as_deref(),
            Some("10.0.0.1"),
            "no proxies: the peer"
        );
        assert_eq!(client_ip(&h, peer, 1).as_deref(), Some("10.0.0.2"));
        assert_eq!(client_ip(&h, peer, 2).as_deref(), Some("203.0.113.7"));
        // A spoofed header shorter than the proxy chain falls back to the peer.
        assert_eq!(
            client_ip(&headers("1.2.3.4"), peer, 2).as_deref(),
            Some("10.0.0.1")
        );
        assert_eq!(
            client_ip(&headers("not-an-ip"), peer, 1).as_deref(),
            Some("10.0.0.1")
        );
    }
}
