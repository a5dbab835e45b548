//! GraphQL over WebSocket at `/graphql/ws`, served on a real socket: the
//! session token travels in `connection_init`; one that names no live
//! session gives an anonymous connection (as over `POST /graphql`), and a
//! malformed value is refused.

use futures::{SinkExt, StreamExt};
use portal_tests::TestApp;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

async fn serve(app: &TestApp) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = api::http::router(app.state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

async fn init(addr: std::net::SocketAddr, payload: Value) -> Value {
    let mut request = format!("ws://{addr}/graphql/ws")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        "graphql-transport-ws"
    );
    socket
        .send(Message::text(
            json!({ "type": "connection_init", "payload": payload }).to_string(),
        ))
        .await
        .unwrap();
    match socket.next().await {
        Some(Ok(Message::Text(text))) => serde_json::from_str(&text).unwrap(),
        Some(Ok(Message::Close(frame))) => json!({ "closed": frame.map(|f| f.reason.to_string()) }),
        other => panic!("unexpected: {other:?}"),
    }
}

#[tokio::test]
async fn a_signed_in_client_is_acknowledged_and_a_malformed_token_is_refused() {
    let app = TestApp::init().await;
    let addr = serve(&app).await;
    let user = app.resident().await;

    let ack = init(
        addr,
        json!({ "authorization": format!("Bearer {}", user.token) }),
    )
    .await;
    assert_eq!(ack["type"], json!("connection_ack"), "{ack}");

    let anonymous = init(addr, json!({})).await;
    assert_eq!(anonymous["type"], json!("connection_ack"), "{anonymous}");

    // An old or unknown session token: anonymous, like no token.
    let stale = init(addr, json!({ "authorization": "Bearer ps_forged" })).await;
    assert_eq!(stale["type"], json!("connection_ack"), "{stale}");

    for malformed in [
        json!({ "authorization": "Basic YWRhOnBhc3N3b3Jk" }),
        json!({ "authorization": "Bearer not-a-token" }),
        json!({ "authorization": 42 }),
    ] {
        let refused = init(addr, malformed.clone()).await;
        assert!(refused.get("closed").is_some(), "{malformed}: {refused}");
    }
}
