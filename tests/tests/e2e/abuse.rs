//! GraphQL abuse, with the default limits (not lowered for the test):
//! fragment cycles, deep and wide queries, directive overloading and alias
//! overloading are refused before anything executes; mutations only run over a
//! JSON POST; the production configuration switches introspection, field
//! suggestions and GraphiQL off. (Batched and aliased sign-in and code attempts
//! are counted one by one: `rate_limits.rs`. SQL never reaches an error
//! message: `http_surface.rs`.)

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use entities::audit_log;
use portal_tests::TestApp;
use portal_tests::gid;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;

/// Refused before execution: `BAD_USER_INPUT` and no data at all.
fn assert_refused(r: &portal_tests::TestResponse, what: &str) {
    assert_eq!(r.error_code(), "BAD_USER_INPUT", "{what}: {:#}", r.body);
    assert!(r.body["data"].is_null(), "{what} executed: {:#}", r.body);
}

#[tokio::test]
async fn fragment_cycles_are_refused() {
    let app = TestApp::init().await;
    let user = app.resident().await;
    for query in [
        "query { viewer { ...A } } fragment A on User { id ...A }",
        "query { viewer { ...A } } fragment A on User { id ...B } fragment B on User { email ...A }",
    ] {
        let r = app.graphql(Some(&user.token), query, json!({})).await;
        // Validation refuses it (possibly with more than one message).
        let codes = r.error_codes();
        assert!(!codes.is_empty(), "{query}: {:#}", r.body);
        assert!(codes.iter().all(|c| c == "BAD_USER_INPUT"), "{codes:?}");
        assert!(r.body["data"].is_null(), "{query} executed");
    }
}

#[tokio::test]
async fn deep_wide_and_overloaded_queries_are_refused_by_the_default_limits() {
    let app = TestApp::init().await;
    let staff = app.caseworker().await;

    // Deep: cases → tasks → case → tasks → ... far beyond the depth limit.
    let mut deep = String::from("id");
    for _ in 0..12 {
        deep = format!("tasks {{ case {{ {deep} }} }}");
    }
    let r = app
        .graphql(
            Some(&staff.token),
            &format!("{{ cases(first: 1) {{ edges {{ node {{ {deep} }} }} }} }}"),
            json!({}),
        )
        .await;
    assert_refused(&r, "deep");

    // Wide: the same list aliased hundreds of times.
    let wide: String = (0..500)
        .map(|i| format!("a{i}: cases(first: 100) {{ edges {{ node {{ id reference }} }} }} "))
        .collect();
    let r = app
        .graphql(Some(&staff.token), &format!("{{ {wide} }}"), json!({}))
        .await;
    assert_refused(&r, "wide");

    // Directive overloading: one field carrying a thousand directives.
    let directives = "@include(if: true) ".repeat(1000);
    let r = app
        .graphql(
            Some(&staff.token),
            &format!("{{ viewer {{ id {directives} }} }}"),
            json!({}),
        )
        .await;
    assert_refused(&r, "directives");

    // A huge document is refused before parsing by the body limit.
    let huge = format!("{{ viewer {{ id {} }} }}", " ".repeat(2 * 1024 * 1024));
    let r = app.graphql(Some(&staff.token), &huge, json!({})).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
}

async fn audit_rows(app: &TestApp) -> u64 {
    audit_log::Entity::find().count(app.db()).await.unwrap()
}

#[tokio::test]
async fn mutations_run_only_over_a_json_post() {
    let app = TestApp::init().await;
    let user = app.resident().await;
    let mutation = "mutation { logout { sessionId } }";
    let before = audit_rows(&app).await;

    // Over GET (the query string is never executed: GET serves GraphiQL or 404).
    let uri = format!(
        "/graphql?query={}",
        url::form_urlencoded::byte_serialize(mutation.as_bytes()).collect::<String>()
    );
    let r = app
        .send(
            Request::get(&uri)
                .header(header::AUTHORIZATION, format!("Bearer {}", user.token))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(
        r.body.get("data").is_none(),
        "a GET executed GraphQL: {:#}",
        r.body
    );

    // Over the content types a cross-site form can send without a preflight.
    let body = json!({ "query": mutation }).to_string();
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "text/plain; charset=utf-8",
    ] {
        let r = app
            .send(
                Request::post("/graphql")
                    .header(header::CONTENT_TYPE, content_type)
                    .header(header::AUTHORIZATION, format!("Bearer {}", user.token))
                    .body(Body::from(body.clone()))
                    .unwrap(),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}"
        );
    }
    // A multipart form without a preflight-forcing header is refused too.
    let (content_type, multipart) = portal_tests::multipart_body(mutation, json!({}), &[]);
    let r = app
        .send(
            Request::post("/graphql")
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(multipart))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // The session still works: nothing above signed it out.
    let r = app
        .graphql(Some(&user.token), "{ viewer { id } }", json!({}))
        .await;
    assert_eq!(r.data()["viewer"]["id"], json!(gid("User", user.user.id)));
    assert_eq!(audit_rows(&app).await, before, "nothing was written");
}

#[tokio::test]
async fn the_production_configuration_hides_the_schema() {
    // The shipped example must be a valid configuration with introspection,
    // suggestions and GraphiQL off.
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/production.env.example"
    ))
    .unwrap();
    let vars: Vec<(String, String)> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let config = platform::config::Config::from_vars(vars.clone()).expect("a valid configuration");
    assert!(!config.graphql.introspection);
    assert!(!config.graphql.field_suggestions);
    assert!(!config.graphql.graphiql);

    // Served with those three settings, the API answers accordingly.
    let mut builder = TestApp::builder();
    for (k, v) in vars.iter().filter(|(k, _)| {
        matches!(
            k.as_str(),
            "PORTAL_INTROSPECTION" | "PORTAL_FIELD_SUGGESTIONS" | "PORTAL_GRAPHIQL"
        )
    }) {
        builder = builder.env(k, v.clone());
    }
    let app = builder.build().await;
    // Introspection answers nothing (null, or an error), and no type name
    // appears anywhere in the answer.
    for (query, root) in [
        ("{ __schema { types { name } } }", "__schema"),
        ("{ __type(name: \"Case\") { fields { name } } }", "__type"),
    ] {
        let r = app.graphql(None, query, json!({})).await;
        assert!(r.body["data"][root].is_null(), "{query}: {:#}", r.body);
        let text = r.body.to_string();
        assert!(
            !text.contains("PaymentArrangement") && !text.contains("reference"),
            "{query} leaked the schema: {text}"
        );
    }
    let r = app.graphql(None, "{ viewr { id } }", json!({})).await;
    let message = r.body["errors"][0]["message"].as_str().unwrap();
    assert!(!message.contains("Did you mean"), "{message}");
    let r = app
        .send(Request::get("/graphql").body(Body::empty()).unwrap())
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// Found by the schema fuzzer (`.ci/fuzz`): a string where an `Upload` must
/// be answered INTERNAL.
#[tokio::test]
async fn an_upload_given_as_json_is_bad_user_input() {
    let app = TestApp::init().await;
    let staff = app.caseworker().await;
    let r = app
        .graphql(
            Some(&staff.token),
            "mutation { uploadDocuments(caseId: \"x\", files: [{ file: \"\", category: OTHER }]) { id } }",
            json!({}),
        )
        .await;
    let codes = r.error_codes();
    assert!(!codes.is_empty(), "{:#}", r.body);
    assert!(codes.iter().all(|c| c == "BAD_USER_INPUT"), "{:#}", r.body);
}
