//! `GET /graphql/ws`: GraphQL over WebSocket (graphql-transport-ws, and the
//! older graphql-ws protocol), under the same rules as `POST /graphql`.
//!
//! - The token goes in the `connection_init` payload as `{"authorization":
//!   "Bearer ..."}` (browsers cannot set headers on a WebSocket) and is
//!   resolved like the `Authorization` header: a stale session token gives an
//!   anonymous connection, a malformed value refuses it. The connection keeps
//!   that value, not the caller: **every operation resolves its caller
//!   again** ([`crate::graphql::socket`]), so it obeys the session's idle and
//!   absolute expiry, and a sign-out, revocation, password change or reset,
//!   suspension, deactivation or `revokeApiToken` applies to the next
//!   operation over the socket as it does over HTTP. An anonymous
//!   connection runs exactly what anonymous HTTP runs.
//! - Every [`RECHECK`] the server checks the connection's credential without
//!   counting it as use (an idle socket does not keep a session alive), so
//!   an ended session also stops the subscriptions already running.
//! - Limits: `connection_init` within [`INIT_TIMEOUT`]; at most
//!   [`MAX_OPERATIONS`] operations (subscriptions included) running per
//!   connection (more answer an error for that id, code `RATE_LIMITED`); at
//!   most [`MAX_SOCKETS_PER_CREDENTIAL`] connections per session or API
//!   token in this process; each message within `PORTAL_MAX_BODY_BYTES`,
//!   like an HTTP body.
//!
//! Close codes (as graphql-transport-ws defines them where it does):
//!
//! | code | why |
//! |---|---|
//! | 4401 | the session or token the connection opened with ended |
//! | 4408 | no `connection_init` within [`INIT_TIMEOUT`] |
//! | 4429 | too many connections for this session or token (or a second `connection_init`) |
//! | 1002 | a malformed message, or a refused `connection_init` (malformed token) |
//! | 1009 | a message over the size limit |

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, LazyLock, Mutex},
    time::Duration,
};

use async_graphql::{
    Data, ErrorExtensions,
    http::{ALL_WEBSOCKET_PROTOCOLS, WebSocketProtocols, WsMessage},
};
use axum::{
    extract::{
        ConnectInfo, State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use futures::{SinkExt, StreamExt, future};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::HttpState;
use crate::{
    app::AppState,
    auth::{ClientInfo, session},
    error::ApiError,
    graphql::{
        PortalSchema,
        socket::{CLOSE_SESSION_ENDED, SocketSession},
    },
};

/// How long a client has to send `connection_init`.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often an open connection's credential is checked.
pub const RECHECK: Duration = Duration::from_secs(10);
/// Operations (queries, mutations, subscriptions) running at once per
/// connection.
pub const MAX_OPERATIONS: usize = 20;
/// Connections per session or API token, in one API process.
pub const MAX_SOCKETS_PER_CREDENTIAL: usize = 5;

const CLOSE_INIT_TIMEOUT: u16 = 4408;
const CLOSE_TOO_MANY: u16 = 4429;

/// Open connections per credential, in this process.
static OPEN: LazyLock<Mutex<HashMap<Uuid, usize>>> = LazyLock::new(Default::default);

/// One connection's place in [`OPEN`], given back when it closes.
struct Slot(Uuid);

impl Slot {
    fn take(credential: Uuid) -> Option<Self> {
        let mut open = OPEN.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(credential).or_default();
        if *count >= MAX_SOCKETS_PER_CREDENTIAL {
            return None;
        }
        *count += 1;
        Some(Self(credential))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = OPEN.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.0) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.0);
            }
        }
    }
}

/// `GET /graphql/ws` (module docs).
pub async fn graphql_ws(
    State(state): State<HttpState>,
    upgrade: WebSocketUpgrade,
    headers: HeaderMap,
    extensions: http::Extensions,
) -> Response {
    let HttpState { app, schema, .. } = state;
    // The subprotocol: the first of the client's that we speak.
    let Some(protocol) = headers
        .get(http::header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|list| {
            list.split(',')
                .find_map(|p| p.trim().parse::<WebSocketProtocols>().ok())
        })
    else {
        return (
            http::StatusCode::BAD_REQUEST,
            "Ask for the graphql-transport-ws (or graphql-ws) subprotocol.",
        )
            .into_response();
    };
    // The peer address matters here too: operations sent over the socket are
    // rate-limited and audited like those over POST.
    let peer = extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0);
    let client = super::graphql::client_info(&headers, peer, app.config.trusted_proxy_hops);
    let limit = app.config.limits.max_body_bytes;
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| serve(socket, app, schema, protocol, client))
}

/// The `type` and `id` of a protocol message, when it has them.
fn kind_and_id(text: &[u8]) -> Option<(String, Option<String>)> {
    let value: Value = serde_json::from_slice(text).ok()?;
    let kind = value.get("type")?.as_str()?.to_owned();
    let id = value.get("id").and_then(Value::as_str).map(str::to_owned);
    Some((kind, id))
}

/// The error message for operation `id` refused before it started.
fn refusal(protocol: WebSocketProtocols, id: &str, error: &ApiError) -> String {
    let extended = error.extend();
    let payload = json!([{ "message": extended.message, "extensions": extended.extensions }]);
    match protocol {
        WebSocketProtocols::GraphQLWS => json!({ "type": "error", "id": id, "payload": payload }),
        WebSocketProtocols::SubscriptionsTransportWS => {
            json!({ "type": "error", "id": id, "payload": payload[0] })
        }
    }
    .to_string()
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.to_owned().into(),
    }))
}

async fn serve(
    socket: WebSocket,
    app: AppState,
    schema: PortalSchema,
    protocol: WebSocketProtocols,
    client: ClientInfo,
) {
    let (mut sink, stream) = socket.split();
    let (close_tx, mut close_rx) = mpsc::unbounded_channel::<(u16, String)>();
    let (reply_tx, mut reply_rx) = mpsc::unbounded_channel::<String>();
    // The operations running, by id: the client's `subscribe`/`start` adds
    // one, its `complete`/`stop` or the server's `complete`/`error` ends it.
    let running: Arc<Mutex<HashSet<String>>> = Arc::default();
    let session: Arc<Mutex<Option<Arc<SocketSession>>>> = Arc::default();
    let slot: Arc<Mutex<Option<Slot>>> = Arc::default();

    let input = {
        let running = running.clone();
        stream
            .take_while(|message| future::ready(message.is_ok()))
            .filter_map(move |message| {
                let data = match message {
                    Ok(Message::Text(text)) => Some(text.as_str().as_bytes().to_vec()),
                    Ok(Message::Binary(bytes)) => Some(bytes.to_vec()),
                    _ => None,
                };
                let forward = data.and_then(|data| match kind_and_id(&data) {
                    Some((kind, Some(id))) if kind == "subscribe" || kind == "start" => {
                        let mut running = running.lock().unwrap_or_else(|e| e.into_inner());
                        if running.len() >= MAX_OPERATIONS && !running.contains(&id) {
                            let error = ApiError::RateLimited {
                                retry_after_secs: 1,
                            };
                            let _ = reply_tx.send(refusal(protocol, &id, &error));
                            None
                        } else {
                            running.insert(id);
                            Some(data)
                        }
                    }
                    Some((kind, Some(id))) if kind == "complete" || kind == "stop" => {
                        running
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .remove(&id);
                        Some(data)
                    }
                    _ => Some(data),
                });
                future::ready(forward)
            })
    };

    let init = {
        let (app, session, slot, close_tx) =
            (app.clone(), session.clone(), slot.clone(), close_tx.clone());
        move |payload: Value| async move {
            // Present but not a string is malformed, not absent.
            let authorization = match ["authorization", "Authorization"]
                .iter()
                .find_map(|k| payload.get(*k))
            {
                None => None,
                Some(value) => Some(
                    value
                        .as_str()
                        .ok_or_else(|| ApiError::Unauthenticated.extend())?
                        .to_owned(),
                ),
            };
            let viewer = session::authenticate(&app.db, authorization.as_deref())
                .await
                .map_err(|e| e.extend())?;
            let credential = viewer.credential();
            if let Some(credential) = credential {
                let Some(taken) = Slot::take(credential) else {
                    let reason = "Too many connections for this session.";
                    let _ = close_tx.send((CLOSE_TOO_MANY, reason.to_owned()));
                    return Err(async_graphql::Error::new(reason));
                };
                *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(taken);
            }
            let socket = Arc::new(SocketSession {
                authorization,
                credential,
                close: close_tx,
            });
            *session.lock().unwrap_or_else(|e| e.into_inner()) = Some(socket.clone());
            // No caller in the connection's data: each operation resolves
            // its own (`graphql::socket`).
            let mut data = Data::default();
            data.insert(socket);
            data.insert(client);
            Ok(data)
        }
    };

    let outgoing = async_graphql::http::WebSocket::new(schema, input, protocol)
        .on_connection_init(init)
        .map(|message| match message {
            WsMessage::Text(text) => Message::Text(text.into()),
            WsMessage::Close(code, reason) => close(code, &reason),
        });
    futures::pin_mut!(outgoing);

    let init_deadline = tokio::time::sleep(INIT_TIMEOUT);
    tokio::pin!(init_deadline);
    let mut recheck = tokio::time::interval(RECHECK);
    recheck.tick().await;
    loop {
        let initialised = session.lock().unwrap_or_else(|e| e.into_inner()).is_some();
        tokio::select! {
            message = outgoing.next() => {
                let Some(message) = message else { break };
                let message = match message {
                    // A refused `connection_init` that asked for its own code.
                    Message::Close(_) => match close_rx.try_recv() {
                        Ok((code, reason)) => close(code, &reason),
                        Err(_) => message,
                    },
                    Message::Text(ref text) => {
                        if let Some((kind, Some(id))) = kind_and_id(text.as_str().as_bytes())
                            && (kind == "complete" || kind == "error")
                        {
                            running.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
                        }
                        message
                    }
                    other => other,
                };
                let closing = matches!(message, Message::Close(_));
                if sink.send(message).await.is_err() || closing {
                    break;
                }
            }
            Some(text) = reply_rx.recv() => {
                if sink.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            Some((code, reason)) = close_rx.recv() => {
                let _ = sink.send(close(code, &reason)).await;
                break;
            }
            () = &mut init_deadline, if !initialised => {
                let _ = sink.send(close(CLOSE_INIT_TIMEOUT, "Connection initialisation timeout")).await;
                break;
            }
            _ = recheck.tick(), if initialised => {
                let socket = session.lock().unwrap_or_else(|e| e.into_inner()).clone();
                if let Some(socket) = socket.filter(|s| s.credential.is_some()) {
                    match socket.caller(&app.db, false).await {
                        Ok(_) => {}
                        Err(ApiError::Unauthenticated) => {
                            let _ = sink.send(close(CLOSE_SESSION_ENDED, "Session ended")).await;
                            break;
                        }
                        // A database hiccup is not the session's end: check
                        // again at the next tick.
                        Err(e) => tracing::warn!(error = %e, "WebSocket session check failed"),
                    }
                }
            }
        }
    }
    drop(slot);
}
