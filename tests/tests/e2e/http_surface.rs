//! The HTTP surface: probes, metrics, request ids, limits, CSRF refusals,
//! error codes, GraphiQL and configuration switches.

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use portal_tests::TestApp;
use serde_json::json;

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::init().await;
    let health = app
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(health.status, StatusCode::OK);
    let ready = app
        .send(Request::get("/readyz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(ready.status, StatusCode::OK, "{:?}", ready.body);
    assert_eq!(
        ready.body,
        json!({ "database": "ok", "queue": "ok", "storage": "ok" })
    );
}

#[tokio::test]
async fn readiness_fails_when_the_queue_is_unreachable() {
    // A Redis URL where nothing listens: the queue connects lazily, so the app
    // starts, and /readyz must report the queue, not pretend.
    let app = TestApp::builder().embedded().build().await;
    let queue = worker::queue::Queue::connect_redis("redis://127.0.0.1:1", "nowhere").await;
    let Ok(queue) = queue else {
        // Connecting eagerly failed: that is the same verdict, earlier.
        return;
    };
    let state = api::run::build_app(app.state.config.clone(), app.db().clone(), queue)
        .await
        .expect("build app");
    let router = api::http::router(state);
    let response =
        tower::ServiceExt::oneshot(router, Request::get("/readyz").body(Body::empty()).unwrap())
            .await
            .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn every_response_has_a_request_id_and_keeps_the_callers() {
    let app = TestApp::init().await;
    let fresh = app
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    let id = fresh
        .headers
        .get("x-request-id")
        .expect("request id")
        .to_str()
        .unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let given = app
        .send(
            Request::get("/healthz")
                .header("x-request-id", "abc-123")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(given.headers["x-request-id"], "abc-123");
}

#[tokio::test]
async fn metrics_expose_requests_latency_and_jobs() {
    let app = TestApp::init().await;
    app.send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    let metrics = app
        .send(Request::get("/metrics").body(Body::empty()).unwrap())
        .await;
    assert_eq!(metrics.status, StatusCode::OK);
    let text = metrics.body.as_str().unwrap();
    assert!(text.contains("http_requests_total"), "{text}");
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("jobs{status=\"PENDING\"}"), "{text}");
}

#[tokio::test]
async fn anonymous_viewer_is_null() {
    let app = TestApp::init().await;
    let response = app.graphql(None, "{ viewer { id } }", json!({})).await;
    assert_eq!(response.data()["viewer"], json!(null));
}

#[tokio::test]
async fn signed_in_viewer_sees_themselves() {
    let app = TestApp::init().await;
    let admin = app.service_admin().await;
    let response = app
        .graphql(Some(&admin.token), "{ viewer { email kind } }", json!({}))
        .await;
    assert_eq!(response.data()["viewer"]["email"], json!(admin.user.email));
    assert_eq!(response.data()["viewer"]["kind"], json!("STAFF"));
}

#[tokio::test]
async fn an_unknown_session_token_is_anonymous_and_a_malformed_one_unauthenticated() {
    let app = TestApp::init().await;
    // A session token that names no session (an old one a client still
    // sends): the request runs as anonymous.
    let response = app
        .graphql(Some("ps_not-a-real-token"), "{ viewer { id } }", json!({}))
        .await;
    assert_eq!(response.data()["viewer"], json!(null));
    let response = app
        .graphql(
            Some("ps_not-a-real-token"),
            "{ mySessions { id } }",
            json!({}),
        )
        .await;
    assert_eq!(response.error_code(), "UNAUTHENTICATED");
    // Not a token this server issues: refused before anything runs.
    let response = app
        .graphql(Some("not-a-real-token"), "{ viewer { id } }", json!({}))
        .await;
    assert_eq!(response.error_code(), "UNAUTHENTICATED");
    assert!(response.body.get("data").is_none(), "{:#}", response.body);
}

#[tokio::test]
async fn a_body_over_the_limit_is_payload_too_large_by_length_or_by_stream() {
    let app = TestApp::builder()
        .env("PORTAL_MAX_BODY_BYTES", "256")
        .build()
        .await;
    let big = json!({ "query": format!("{{ viewer {{ id }} }} #{}", "x".repeat(400)) });
    let declared = app.graphql_raw(None, big.clone()).await;
    assert_eq!(declared.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(declared.error_code(), "PAYLOAD_TOO_LARGE");

    // Without a Content-Length (chunked), the limit still holds while reading.
    let chunks = futures::stream::iter(
        serde_json::to_vec(&big)
            .unwrap()
            .chunks(64)
            .map(|c| Ok::<_, std::io::Error>(bytes_of(c)))
            .collect::<Vec<_>>(),
    );
    let streamed = app
        .send(
            Request::post("/graphql")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from_stream(chunks))
                .unwrap(),
        )
        .await;
    assert_eq!(streamed.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(streamed.error_code(), "PAYLOAD_TOO_LARGE");
}

fn bytes_of(chunk: &[u8]) -> Vec<u8> {
    chunk.to_vec()
}

#[tokio::test]
async fn batches_run_up_to_the_cap_and_are_refused_beyond_it() {
    let app = TestApp::builder()
        .env("PORTAL_MAX_BATCH_SIZE", "3")
        .build()
        .await;
    let op = json!({ "query": "{ viewer { id } }" });
    let ok = app.graphql_raw(None, json!([op, op, op])).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.body.as_array().unwrap().len(), 3);

    let refused = app.graphql_raw(None, json!([op, op, op, op])).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.error_code(), "BAD_USER_INPUT");
    let empty = app.graphql_raw(None, json!([])).await;
    assert_eq!(empty.error_code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn depth_and_complexity_limits_refuse_before_execution() {
    let app = TestApp::builder()
        .env("PORTAL_MAX_QUERY_DEPTH", "2")
        .env("PORTAL_MAX_QUERY_COMPLEXITY", "3")
        .build()
        .await;
    let admin = app.service_admin().await;
    let deep = app
        .graphql(
            Some(&admin.token),
            "{ jobs { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(deep.error_code(), "BAD_USER_INPUT");
    assert!(
        deep.body["data"].is_null(),
        "nothing executed: {:#}",
        deep.body
    );

    let wide = app
        .graphql(
            Some(&admin.token),
            "{ viewer { id email firstName lastName kind } }",
            json!({}),
        )
        .await;
    assert_eq!(wide.error_code(), "BAD_USER_INPUT");
    assert!(
        wide.body["data"].is_null(),
        "nothing executed: {:#}",
        wide.body
    );
}

#[tokio::test]
async fn malformed_requests_get_standard_errors() {
    let app = TestApp::init().await;
    let syntax = app.graphql(None, "{ viewer { id ", json!({})).await;
    assert_eq!(syntax.status, StatusCode::OK);
    assert_eq!(syntax.error_code(), "BAD_USER_INPUT");
    assert!(
        syntax.body["errors"][0]["locations"].is_array(),
        "{:#}",
        syntax.body
    );

    let unknown = app.graphql(None, "{ nope }", json!({})).await;
    assert_eq!(unknown.error_code(), "BAD_USER_INPUT");

    let not_json = app
        .send(
            Request::post("/graphql")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{not json"))
                .unwrap(),
        )
        .await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
    assert_eq!(not_json.error_code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn cross_site_form_posts_are_refused() {
    let app = TestApp::init().await;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let response = app
            .send(
                Request::post("/graphql")
                    .header(header::CONTENT_TYPE, content_type)
                    .body(Body::from(
                        r#"{"query":"mutation { retryJob(id: \"x\") { id } }"}"#,
                    ))
                    .unwrap(),
            )
            .await;
        assert_eq!(
            response.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}"
        );
        assert_eq!(response.error_code(), "BAD_USER_INPUT");
    }
}

#[tokio::test]
async fn graphiql_is_served_unless_switched_off() {
    let app = TestApp::init().await;
    let page = app
        .send(Request::get("/graphql").body(Body::empty()).unwrap())
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.as_str().unwrap().contains("graphiql"));

    let off = TestApp::builder()
        .env("PORTAL_GRAPHIQL", "false")
        .build()
        .await;
    let page = off
        .send(Request::get("/graphql").body(Body::empty()).unwrap())
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn introspection_and_suggestions_can_be_switched_off() {
    let on = TestApp::init().await;
    let schema = on
        .graphql(None, "{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(
        schema.data()["__schema"]["queryType"]["name"],
        json!("Query")
    );

    let off = TestApp::builder()
        .env("PORTAL_INTROSPECTION", "false")
        .env("PORTAL_FIELD_SUGGESTIONS", "false")
        .build()
        .await;
    let schema = off
        .graphql(None, "{ __schema { queryType { name } } }", json!({}))
        .await;
    assert!(
        schema.body.get("errors").is_some() || schema.body["data"]["__schema"].is_null(),
        "{:#}",
        schema.body
    );
    let typo = off.graphql(None, "{ viewr { id } }", json!({})).await;
    let message = typo.body["errors"][0]["message"].as_str().unwrap();
    assert!(!message.contains("Did you mean"), "{message}");
    let typo_on = on.graphql(None, "{ viewr { id } }", json!({})).await;
    assert!(
        typo_on.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Did you mean")
    );
}

#[tokio::test]
async fn internal_errors_are_generic_and_never_leak_sql() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::init().await;
    let admin = app.service_admin().await;
    // Break the database under the API: the next query fails inside SQL.
    app.db()
        .execute_unprepared("ALTER TABLE outbox_jobs RENAME TO outbox_jobs_gone")
        .await
        .unwrap();
    let response = app
        .graphql(
            Some(&admin.token),
            "{ jobs { edges { node { id } } } }",
            json!({}),
        )
        .await;
    app.db()
        .execute_unprepared("ALTER TABLE outbox_jobs_gone RENAME TO outbox_jobs")
        .await
        .unwrap();
    assert_eq!(response.error_code(), "INTERNAL");
    let text = response.body.to_string().to_lowercase();
    for leak in [
        "select",
        "outbox_jobs",
        "sqlite",
        "postgres",
        "relation",
        "no such table",
    ] {
        assert!(!text.contains(leak), "leaked {leak:?}: {text}");
    }
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins() {
    let app = TestApp::builder()
        .env("PORTAL_CORS_ORIGINS", "https://portal.example.org")
        .build()
        .await;
    let preflight = |origin: &'static str| {
        Request::builder()
            .method("OPTIONS")
            .uri("/graphql")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .body(Body::empty())
            .unwrap()
    };
    let allowed = app.send(preflight("https://portal.example.org")).await;
    assert_eq!(
        allowed.headers["access-control-allow-origin"],
        "https://portal.example.org"
    );
    let other = app.send(preflight("https://evil.example")).await;
    assert!(other.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn a_null_for_a_non_null_input_field_is_bad_user_input() {
    let app = TestApp::init().await;
    let staff = app.caseworker().await;
    for (query, variables) in [
        (
            "query($r: Boolean) { properties(filter: { includeRemoved: $r }) { edges { node { id } } } }",
            json!({ "r": null }),
        ),
        (
            "query($f: PropertyFilter) { properties(filter: $f) { edges { node { id } } } }",
            json!({ "f": { "includeRemoved": null } }),
        ),
        (
            "query { properties(filter: { includeRemoved: null }) { edges { node { id } } } }",
            json!({}),
        ),
    ] {
        let r = app.graphql(Some(&staff.token), query, variables).await;
        assert_eq!(r.error_code(), "BAD_USER_INPUT", "{query}: {:?}", r.body);
    }
}
