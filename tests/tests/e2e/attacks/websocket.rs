//! WebSocket connections obey the session rules of HTTP: every operation
//! resolves its caller again, an ended session closes the socket (4401),
//! and the limits hold (init timeout 4408, connections per session 4429,
//! operations per connection, message size). Both protocols.

use std::{net::SocketAddr, time::Duration};

use chrono::Utc;
use futures::{SinkExt, StreamExt};
use portal_tests::TestApp;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

use entities::{TwoFactorMethod, session};

use crate::support::identity::*;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const TRANSPORT_WS: &str = "graphql-transport-ws";
const LEGACY_WS: &str = "graphql-ws";

async fn serve(app: &TestApp) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = api::http::router(app.state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

async fn open(addr: SocketAddr, protocol: &'static str) -> Socket {
    let mut request = format!("ws://{addr}/graphql/ws")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_static(protocol));
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

/// The next message, as JSON, or `{"closed": code}`; `{"ended": true}` when
/// the connection ended without a close frame.
async fn next(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(20), socket.next())
            .await
            .expect("the server answers");
        return match message {
            Some(Ok(Message::Text(text))) => {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["type"] == "ka" || value["type"] == "ping" {
                    continue;
                }
                value
            }
            Some(Ok(Message::Close(frame))) => {
                json!({ "closed": frame.map(|f| u16::from(f.code)) })
            }
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => json!({ "ended": true }),
        };
    }
}

async fn connect(addr: SocketAddr, protocol: &'static str, token: Option<&str>) -> Socket {
    let mut socket = open(addr, protocol).await;
    let payload = match token {
        Some(token) => json!({ "authorization": format!("Bearer {token}") }),
        None => json!({}),
    };
    socket
        .send(Message::text(
            json!({ "type": "connection_init", "payload": payload }).to_string(),
        ))
        .await
        .unwrap();
    let ack = next(&mut socket).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    socket
}

/// Runs one query over the socket and returns its first answer.
async fn query(socket: &mut Socket, protocol: &str, id: &str, query: &str) -> Value {
    let kind = if protocol == TRANSPORT_WS {
        "subscribe"
    } else {
        "start"
    };
    socket
        .send(Message::text(
            json!({ "id": id, "type": kind, "payload": { "query": query } }).to_string(),
        ))
        .await
        .unwrap();
    loop {
        let answer = next(socket).await;
        // Earlier operations' `complete` messages are not this answer.
        if answer["id"].is_null() || (answer["id"] == id && answer["type"] != "complete") {
            return answer;
        }
    }
}

fn error_code(answer: &Value) -> Value {
    let payload = &answer["payload"];
    let error = if payload.is_array() {
        &payload[0]
    } else if payload["errors"].is_array() {
        &payload["errors"][0]
    } else {
        payload
    };
    error["extensions"]["code"].clone()
}

const PRIVATE: &str = "{ viewer { email } mySessions { id } }";

#[tokio::test]
async fn after_logout_the_socket_answers_nothing_and_closes_both_protocols() {
    let app = TestApp::init().await;
    let addr = serve(&app).await;
    for protocol in [TRANSPORT_WS, LEGACY_WS] {
        let ada = landlord(&app, TwoFactorMethod::None, None).await;
        let token = sign_in(&app, &ada.user.email).await;
        let mut socket = connect(addr, protocol, Some(&token)).await;
        let before = query(&mut socket, protocol, "1", PRIVATE).await;
        assert_eq!(
            before["payload"]["data"]["viewer"]["email"],
            json!(ada.user.email),
            "{before}"
        );

        let out = app
            .graphql(Some(&token), "mutation { logout { sessionId } }", json!({}))
            .await;
        assert!(out.data()["logout"]["sessionId"].is_string());
        let after = query(&mut socket, protocol, "2", PRIVATE).await;
        assert_eq!(error_code(&after), "UNAUTHENTICATED", "{protocol}: {after}");
        assert!(after.to_string().find(&ada.user.email).is_none(), "{after}");
        // Then the socket is closed with 4401.
        let mut closed = next(&mut socket).await;
        while closed.get("closed").is_none() && closed.get("ended").is_none() {
            closed = next(&mut socket).await;
        }
        assert_eq!(closed["closed"], 4401, "{protocol}: {closed}");
    }
}

#[tokio::test]
async fn a_suspension_a_password_change_or_the_absolute_expiry_end_the_socket_too() {
    let app = TestApp::init().await;
    let addr = serve(&app).await;

    // Absolute expiry.
    let ada = landlord(&app, TwoFactorMethod::None, None).await;
    let mut socket = connect(addr, TRANSPORT_WS, Some(&ada.token)).await;
    session::Entity::update_many()
        .col_expr(session::Column::AbsoluteExpiresAt, Expr::value(Utc::now()))
        .filter(session::Column::UserId.eq(ada.user.id))
        .exec(app.db())
        .await
        .unwrap();
    let expired = query(&mut socket, TRANSPORT_WS, "1", PRIVATE).await;
    assert_eq!(error_code(&expired), "UNAUTHENTICATED", "{expired}");

    // A password change ends the other sessions.
    let bob = landlord(&app, TwoFactorMethod::None, None).await;
    let mut socket = connect(addr, LEGACY_WS, Some(&bob.token)).await;
    let other = sign_in(&app, &bob.user.email).await;
    let changed = app
        .graphql(
            Some(&other),
            "mutation($c: String!, $p: String!) { changePassword(currentPassword: $c, newPassword: $p, confirmation: $p) { otherSessionsEnded me { email } } }",
            json!({ "c": PASSWORD, "p": "Brand-New-Password-7" }),
        )
        .await;
    assert!(changed.data()["changePassword"]["otherSessionsEnded"].is_u64());
    let after = query(&mut socket, LEGACY_WS, "1", PRIVATE).await;
    assert_eq!(error_code(&after), "UNAUTHENTICATED", "{after}");

    // A suspension.
    let carol = landlord(&app, TwoFactorMethod::None, None).await;
    let mut socket = connect(addr, TRANSPORT_WS, Some(&carol.token)).await;
    set_status(&app, carol.user.id, entities::UserStatus::Suspended).await;
    let suspended = query(&mut socket, TRANSPORT_WS, "1", PRIVATE).await;
    assert_eq!(error_code(&suspended), "UNAUTHENTICATED", "{suspended}");
    app.run_pending_jobs().await;
}

#[tokio::test]
async fn an_idle_socket_is_closed_once_its_session_ends_without_any_operation() {
    let app = TestApp::init().await;
    let addr = serve(&app).await;
    let ada = landlord(&app, TwoFactorMethod::None, None).await;
    let mut socket = connect(addr, TRANSPORT_WS, Some(&ada.token)).await;
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Some(Utc::now())))
        .filter(session::Column::UserId.eq(ada.user.id))
        .exec(app.db())
        .await
        .unwrap();
    // The periodic check (every 10 seconds) closes it.
    assert_eq!(next(&mut socket).await["closed"], 4401);
}

#[tokio::test]
async fn anonymous_sockets_run_only_what_anonymous_http_runs() {
    let app = TestApp::init().await;
    let addr = serve(&app).await;
    let mut socket = connect(addr, TRANSPORT_WS, None).await;
    let answer = query(&mut socket, TRANSPORT_WS, "1", "{ mySessions { id } }").await;
    assert_eq!(error_code(&answer), "UNAUTHENTICATED", "{answer}");
    let viewer = query(&mut socket, TRANSPORT_WS, "2", "{ viewer { email } }").await;
    assert_eq!(viewer["payload"]["data"]["viewer"], Value::Null, "{viewer}");
}

#[tokio::test]
async fn a_socket_must_initialise_within_ten_seconds() {
    let app = TestApp::init().await;
    let addr = serve(&app).await;
    let mut socket = open(addr, TRANSPORT_WS).await;
    assert_eq!(next(&mut socket).await["closed"], 4408);
}

#[tokio::test]
async fn connections_per_session_and_operations_per_connection_are_capped() {
    let app = TestApp::init().await;
    let addr = serve(&app).await;
    let ada = landlord(&app, TwoFactorMethod::None, None).await;
    let mut open_sockets = Vec::new();
    for _ in 0..5 {
        open_sockets.push(connect(addr, TRANSPORT_WS, Some(&ada.token)).await);
    }
    let mut sixth = open(addr, TRANSPORT_WS).await;
    sixth
        .send(Message::text(
            json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", ada.token) } }).to_string(),
        ))
        .await
        .unwrap();
    assert_eq!(next(&mut sixth).await["closed"], 4429);
    // Closing one frees a place.
    open_sockets.pop().unwrap().close(None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut socket = connect(addr, TRANSPORT_WS, Some(&ada.token)).await;

    // Twenty subscriptions run at once; the twenty-first is refused.
    for id in 0..20 {
        socket
            .send(Message::text(
                json!({ "id": id.to_string(), "type": "subscribe", "payload": { "query": "subscription { messagePosted { messageId } }" } }).to_string(),
            ))
            .await
            .unwrap();
    }
    let refused = query(
        &mut socket,
        TRANSPORT_WS,
        "21",
        "subscription { messagePosted { messageId } }",
    )
    .await;
    assert_eq!(refused["id"], "21", "{refused}");
    assert_eq!(error_code(&refused), "RATE_LIMITED", "{refused}");
}

#[tokio::test]
async fn a_message_larger_than_an_http_body_ends_the_connection() {
    let app = TestApp::init().await;
    let addr = serve(&app).await;
    let mut socket = connect(addr, TRANSPORT_WS, None).await;
    let huge = "x".repeat(app.config().limits.max_body_bytes + 1);
    let _ = socket
        .send(Message::text(
            json!({ "id": "1", "type": "subscribe", "payload": { "query": huge } }).to_string(),
        ))
        .await;
    let end = next(&mut socket).await;
    assert!(
        end.get("closed").is_some() || end.get("ended").is_some(),
        "{end}"
    );
}
