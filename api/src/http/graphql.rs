//! The GraphQL endpoints.
//!
//! `POST /graphql` reads the body itself rather than through a generic
//! extractor, so that it can (in this order, before any parsing or execution):
//! refuse content types a browser form can send cross-site (CSRF: only
//! `application/json` is accepted), enforce the body limit with a GraphQL
//! `PAYLOAD_TOO_LARGE` error, cap the batch size, and resolve the caller.

use std::net::SocketAddr;

use async_graphql::{
    BatchRequest, BatchResponse, Data, ErrorExtensions,
    http::{ALL_WEBSOCKET_PROTOCOLS, GraphiQLSource},
};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::{
    Json,
    extract::{ConnectInfo, Request, State, WebSocketUpgrade},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::json;

use super::{HttpState, REQUEST_ID};
use crate::{
    auth::{ClientInfo, session},
    error::{ApiError, ErrorCode},
};

/// A transport-level error in the GraphQL response shape.
fn error_response(status: StatusCode, error: ApiError) -> Response {
    let code = error.code();
    let extended = error.extend();
    metrics::counter!("graphql_errors_total", "code" => code.as_str()).increment(1);
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

fn client_info(headers: &HeaderMap, peer: Option<SocketAddr>, hops: usize) -> ClientInfo {
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

/// `POST /graphql`.
pub async fn graphql_post(State(state): State<HttpState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let limits = &state.app.config.limits;

    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !content_type.starts_with("application/json") {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::bad_input(
                "content-type",
                "GraphQL requests must be sent as application/json.",
            ),
        );
    }

    let too_large = || {
        error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::PayloadTooLarge(format!(
                "The request body is larger than the limit of {} bytes.",
                limits.max_body_bytes
            )),
        )
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
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

    let batch: BatchRequest = match serde_json::from_slice(&bytes) {
        Ok(batch) => batch,
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                ApiError::bad_input("body", format!("Malformed GraphQL request: {e}")),
            );
        }
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

    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let viewer = match session::authenticate(&state.app.db, authorization).await {
        Ok(viewer) => viewer,
        Err(e) => return error_response(StatusCode::OK, e),
    };
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
    count_errors(&response);
    Json(response).into_response()
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
        metrics::counter!("graphql_errors_total", "code" => code).increment(1);
    }
}

/// `GET /graphql`: the GraphiQL page, when enabled.
pub async fn graphiql(State(state): State<HttpState>) -> Response {
    if !state.app.config.graphql.graphiql {
        return StatusCode::NOT_FOUND.into_response();
    }
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .title("Landlord & Resident Portal API")
            .finish(),
    )
    .into_response()
}

/// `GET /graphql/ws`: subscriptions (graphql-transport-ws and the older
/// graphql-ws protocol). The session token goes in the `connection_init`
/// payload as `{"authorization": "Bearer ..."}`, since browsers cannot set
/// headers on a WebSocket.
pub async fn graphql_ws(
    State(state): State<HttpState>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
    headers: HeaderMap,
    extensions: http::Extensions,
) -> Response {
    let HttpState { app, schema } = state;
    // The peer address matters here too: operations sent over the socket are
    // rate-limited and audited like those over POST.
    let peer = extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let client = client_info(&headers, peer, app.config.trusted_proxy_hops);
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |stream| {
            GraphQLWebSocket::new(stream, schema, protocol)
                .on_connection_init(move |payload: serde_json::Value| async move {
                    let token = ["authorization", "Authorization"]
                        .iter()
                        .find_map(|k| payload.get(*k).and_then(|v| v.as_str()))
                        .map(str::to_owned);
                    let viewer = session::authenticate(&app.db, token.as_deref())
                        .await
                        .map_err(|e| e.extend())?;
                    let mut data = Data::default();
                    data.insert(viewer);
                    data.insert(client);
                    Ok(data)
                })
                .serve()
        })
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
