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
        json!({ "status": "ok", "database": "ok", "queue": "ok", "storage": "ok" })
    );
}

#[tokio::test]
async fn a_redis_outage_degrades_readiness_but_the_api_keeps_serving() {
    // REDIS_URL where nothing listens: the API still starts (jobs wait in
    // the outbox), says the queue is degraded with a 200 so the load
    // balancer keeps it, and answers GraphQL.
    let app = TestApp::builder().embedded().build().await;
    let mut config = (*app.state.config).clone();
    config.redis_url = Some("redis://127.0.0.1:1".to_owned().into());
    let config = std::sync::Arc::new(config);
    let queue = worker::queue::Queue::connect_or_degraded(&config, app.db())
        .await
        .expect("a degraded queue, not an error");
    assert!(matches!(queue, worker::queue::Queue::Unreachable { .. }));
    let state = api::run::build_app(config, app.db().clone(), queue)
        .await
        .expect("build app");
    let router = api::http::router(state);
    let response = tower::ServiceExt::oneshot(
        router.clone(),
        Request::get("/readyz").body(Body::empty()).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        body,
        json!({ "status": "degraded", "database": "ok", "queue": "degraded", "storage": "ok" })
    );
    let response = tower::ServiceExt::oneshot(
        router,
        Request::post("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"query":"{ viewer { id } }"}"#))
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn without_the_database_the_api_is_unready() {
    let app = TestApp::init().await;
    let db = platform::db::connect_url(app.database_url())
        .await
        .expect("a second pool");
    let state = api::run::build_app(
        app.state.config.clone(),
        db.clone(),
        app.state.queue.clone(),
    )
    .await
    .expect("build app");
    db.close_by_ref().await.expect("close the pool");
    let response = tower::ServiceExt::oneshot(
        api::http::router(state),
        Request::get("/readyz").body(Body::empty()).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["status"], json!("unavailable"));
    assert_eq!(body["database"], json!("unreachable"));
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
async fn metrics_follow_prometheus_naming_and_describe_themselves() {
    let app = TestApp::init().await;
    app.send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    let metrics = app
        .send(Request::get("/metrics").body(Body::empty()).unwrap())
        .await;
    assert_eq!(metrics.status, StatusCode::OK);
    let text = metrics.body.as_str().unwrap();
    for expected in [
        "# HELP portal_http_requests_total ",
        "# TYPE portal_http_requests_total counter",
        "portal_http_request_duration_seconds_bucket",
        "# TYPE portal_http_request_duration_seconds histogram",
        "portal_jobs{status=\"PENDING\"}",
        "portal_jobs{status=\"DEAD\"}",
        "portal_build_info{version=\"",
        "# TYPE process_cpu_seconds_total counter",
        "process_resident_memory_bytes ",
        "process_open_fds ",
        "process_start_time_seconds ",
    ] {
        assert!(text.contains(expected), "{expected} missing:\n{text}");
    }
    // The gauge counts only what is bounded: finished jobs are history.
    assert!(!text.contains("status=\"DONE\""), "{text}");
    // Every series is namespaced, every counter ends in _total, and every
    // metric has its help text.
    let mut described = std::collections::BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            described.insert(rest.split(' ').next().unwrap().to_owned());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
            assert!(described.contains(name), "{name} has no HELP line");
            if kind == "counter" {
                assert!(name.ends_with("_total"), "counter {name}");
            }
        } else if !line.is_empty() && !line.starts_with('#') {
            assert!(
                line.starts_with("portal_") || line.starts_with("process_"),
                "not namespaced: {line}"
            );
        }
    }
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

/// The GraphiQL page and every file it loads come from the API itself, each
/// with an integrity hash, under a policy that allows nothing else; both
/// routes answer 404 when GraphiQL is switched off. (The browser test in
/// `.ci/browser/` runs the page in Chromium.)
#[tokio::test]
async fn graphiql_is_served_from_the_binary_unless_switched_off() {
    let app = TestApp::init().await;
    let page = app
        .send(Request::get("/graphql").body(Body::empty()).unwrap())
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.body.as_str().unwrap().to_owned();
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(csp.contains("connect-src 'self';"), "{csp}");
    assert!(
        !html.contains("unpkg") && !html.contains("https://"),
        "{html}"
    );
    let assets: Vec<&str> = html
        .split("=\"/graphiql/")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap())
        .collect();
    assert_eq!(assets.len(), 6, "{html}");
    for path in &assets {
        let url = format!("/graphiql/{path}");
        let asset = app
            .request(Request::get(&url).body(Body::empty()).unwrap())
            .await;
        assert_eq!(asset.status(), StatusCode::OK, "{url}");
        let content_type = asset.headers()["content-type"].to_str().unwrap();
        assert!(
            content_type.starts_with("text/javascript") || content_type.starts_with("text/css"),
            "{url}: {content_type}"
        );
        assert!(
            asset.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
    }
    let version = assets[0].split('/').next().unwrap();
    for missing in [
        "/graphiql/0.0.0/graphiql.min.js".to_owned(),
        format!("/graphiql/{version}/secret.txt"),
        format!("/graphiql/{version}/..%2F..%2FCargo.toml"),
    ] {
        let response = app
            .request(Request::get(&missing).body(Body::empty()).unwrap())
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{missing}");
    }

    let off = TestApp::builder()
        .env("PORTAL_GRAPHIQL", "false")
        .build()
        .await;
    let page = off
        .send(Request::get("/graphql").body(Body::empty()).unwrap())
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let asset = off
        .request(
            Request::get(format!("/graphiql/{}", assets[0]))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(asset.status(), StatusCode::NOT_FOUND);
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

/// Variables a client got wrong are the client's error (`BAD_USER_INPUT`,
/// nothing runs), never `INTERNAL`: a required one left out or null, one of
/// the wrong type, one used but not declared, one of a type the schema does
/// not have, and an input object missing a required field.
#[tokio::test]
async fn variables_the_client_got_wrong_are_bad_user_input() {
    let app = TestApp::init().await;
    let admin = app.service_admin().await;
    let cases = [
        ("query($id: ID!) { case(id: $id) { id } }", json!({})),
        (
            "query($id: ID!) { case(id: $id) { id } }",
            json!({ "id": null }),
        ),
        (
            "query($id: ID!) { case(id: $id) { id } }",
            json!({ "id": true }),
        ),
        (
            "query($id: ID!) { case(id: $id) { id } }",
            json!({ "id": ["a"] }),
        ),
        ("query { case(id: $id) { id } }", json!({ "id": "x" })),
        (
            "query($id: Nope!) { case(id: $id) { id } }",
            json!({ "id": "x" }),
        ),
        (
            "query($n: Int) { cases(first: $n) { totalCount } }",
            json!({ "n": "ten" }),
        ),
        (
            "query($n: Int) { cases(first: $n) { totalCount } }",
            json!({ "n": 1.5 }),
        ),
        (
            "mutation($input: CreateCaseInput!) { createCase(input: $input) { id } }",
            json!({}),
        ),
        (
            "mutation($input: CreateCaseInput!) { createCase(input: $input) { id } }",
            json!({ "input": {} }),
        ),
        (
            "mutation($input: CreateCaseInput!) { createCase(input: $input) { id } }",
            json!({ "input": "a string" }),
        ),
        (
            "mutation($e: String!) { forgotPassword(email: $e) { email } }",
            json!({ "e": { "nested": true } }),
        ),
    ];
    for (query, variables) in cases {
        let response = app
            .graphql(Some(&admin.token), query, variables.clone())
            .await;
        let codes = response.error_codes();
        assert!(
            !codes.is_empty() && codes.iter().all(|c| c == "BAD_USER_INPUT"),
            "{query} with {variables}: {:#?}",
            response.body
        );
        let message = response.body["errors"][0]["message"].as_str().unwrap();
        assert!(
            !message.contains("Internal") && !message.is_empty(),
            "{query}: {message}"
        );
    }
    assert_eq!(app.run_pending_jobs().await, 0, "nothing ran");
}
