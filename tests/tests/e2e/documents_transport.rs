//! The multipart transport of `POST /graphql` (the GraphQL multipart request
//! spec): the CSRF header rule, authentication before the body is read, and
//! the size and count limits, before any resolver runs.

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use portal_tests::{TestApp, multipart_body};
use serde_json::json;

// Transport only: the schema need not use `Upload` for these (a mapped
// path that names no variable is ignored, as in async-graphql).
const QUERY: &str = "{ __typename }";

#[tokio::test]
async fn multipart_needs_a_header_a_cross_site_form_cannot_send() {
    let app = TestApp::init().await;
    let file: &[u8] = b"hello";
    let (content_type, body) =
        multipart_body(QUERY, json!({}), &[("variables.file", "a.txt", file)]);

    let refused = app
        .send(
            Request::post("/graphql")
                .header(header::CONTENT_TYPE, &content_type)
                .body(Body::from(body.clone()))
                .unwrap(),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(refused.error_code(), "BAD_USER_INPUT");
    assert!(
        refused.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("GraphQL-Require-Preflight"),
        "{:#}",
        refused.body
    );

    for (name, value) in [
        ("graphql-require-preflight", "1"),
        ("apollo-require-preflight", "true"),
        ("authorization", "Bearer not-a-token"),
    ] {
        let response = app
            .send(
                Request::post("/graphql")
                    .header(header::CONTENT_TYPE, &content_type)
                    .header(name, value)
                    .body(Body::from(body.clone()))
                    .unwrap(),
            )
            .await;
        // Past the CSRF rule; then an anonymous caller (or a bad token) is
        // refused before the body is read: uploads need a signed-in user.
        assert_eq!(response.error_code(), "UNAUTHENTICATED", "{name}");
    }
    let user = app.resident().await;
    let signed_in = app
        .graphql_multipart(
            Some(&user.token),
            QUERY,
            json!({}),
            &[("variables.file", "a.txt", file)],
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::OK, "{:#}", signed_in.body);
    assert_eq!(signed_in.data()["__typename"], "Query");
}

#[tokio::test]
async fn a_file_over_the_limit_is_refused_naming_it() {
    let app = TestApp::builder()
        .env("PORTAL_MAX_UPLOAD_BYTES", "1000")
        .build()
        .await;
    let user = app.resident().await;
    let small = vec![b'a'; 1000];
    let big = vec![b'a'; 1001];
    let ok = app
        .graphql_multipart(
            Some(&user.token),
            QUERY,
            json!({}),
            &[("variables.file", "exact.txt", &small)],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{:#}", ok.body);

    let response = app
        .graphql_multipart(
            Some(&user.token),
            QUERY,
            json!({}),
            &[("variables.file", "big-photo.jpg", &big)],
        )
        .await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.error_code(), "PAYLOAD_TOO_LARGE");
    let message = response.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("big-photo.jpg"), "{message}");
    assert!(message.contains("1000"), "{message}");
}

#[tokio::test]
async fn the_number_of_files_and_the_whole_request_are_bounded() {
    let app = TestApp::builder()
        .env("PORTAL_MAX_UPLOAD_BYTES", "1000")
        .env("PORTAL_MAX_BODY_BYTES", "2000")
        .build()
        .await;
    let user = app.resident().await;
    let content = vec![b'a'; 10];
    let paths: Vec<String> = (0..21).map(|i| format!("variables.files.{i}")).collect();
    let files: Vec<(&str, &str, &[u8])> = paths
        .iter()
        .map(|p| (p.as_str(), "a.txt", content.as_slice()))
        .collect();
    let query = QUERY;
    let too_many = app
        .graphql_multipart(Some(&user.token), query, json!({}), &files)
        .await;
    assert_eq!(too_many.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        too_many.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("at most 20 files")
    );

    // Nine files at the limit exceed the whole-request bound
    // (4 × the file limit + 2 × the body limit = 8000 bytes).
    let full = vec![b'a'; 1000];
    let files: Vec<(&str, &str, &[u8])> = paths[..9]
        .iter()
        .map(|p| (p.as_str(), "a.txt", full.as_slice()))
        .collect();
    let whole = app
        .graphql_multipart(Some(&user.token), query, json!({}), &files)
        .await;
    assert_eq!(
        whole.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{:#}",
        whole.body
    );
    assert_eq!(whole.error_code(), "PAYLOAD_TOO_LARGE");
}

#[tokio::test]
async fn malformed_multipart_requests_are_bad_input() {
    let app = TestApp::init().await;
    let bearer = format!("Bearer {}", app.resident().await.token);
    // The map names a file part the request does not carry.
    let (content_type, body) = multipart_body(QUERY, json!({}), &[]);
    let body = String::from_utf8(body).unwrap().replace(
        "name=\"map\"\r\n\r\n{}",
        "name=\"map\"\r\n\r\n{\"0\":[\"variables.file\"]}",
    );
    let missing = app
        .send(
            Request::post("/graphql")
                .header(header::CONTENT_TYPE, &content_type)
                .header(header::AUTHORIZATION, &bearer)
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(
        missing.status,
        StatusCode::BAD_REQUEST,
        "{:#}",
        missing.body
    );
    assert_eq!(missing.error_code(), "BAD_USER_INPUT");

    let no_boundary = app
        .send(
            Request::post("/graphql")
                .header(header::CONTENT_TYPE, "multipart/form-data")
                .header(header::AUTHORIZATION, &bearer)
                .body(Body::from("x"))
                .unwrap(),
        )
        .await;
    assert_eq!(no_boundary.status, StatusCode::BAD_REQUEST);
    assert_eq!(no_boundary.error_code(), "BAD_USER_INPUT");
}

/// An anonymous upload is answered before its file parts are read: the
/// request below sends `operations` and `map`, then holds the file back.
#[tokio::test]
async fn an_anonymous_upload_is_refused_before_its_files_are_read() {
    let app = TestApp::init().await;
    let (content_type, body) =
        multipart_body(QUERY, json!({}), &[("variables.file", "a.txt", b"x")]);
    let head_end = body
        .windows(8)
        .position(|w| w == b"filename")
        .expect("a file part");
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    tx.send(Ok(body[..head_end].to_vec())).await.unwrap();
    let stream = tokio_stream_from(rx);
    let answered = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        app.send(
            Request::post("/graphql")
                .header(header::CONTENT_TYPE, &content_type)
                .header("graphql-require-preflight", "1")
                .body(Body::from_stream(stream))
                .unwrap(),
        ),
    )
    .await
    .expect("answered while the file part is still held back");
    assert_eq!(answered.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answered.error_code(), "UNAUTHENTICATED");
    drop(tx);
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// One file part mapped to many variables would be checked, scanned and
/// stored once per variable: refused before any file is read.
#[tokio::test]
async fn a_file_part_mapped_to_two_variables_is_refused() {
    let app = TestApp::init().await;
    let user = app.resident().await;
    let (content_type, body) = multipart_body(QUERY, json!({}), &[("variables.a", "a.txt", b"x")]);
    let body = String::from_utf8(body).unwrap().replace(
        "{\"0\":[\"variables.a\"]}",
        "{\"0\":[\"variables.a\",\"variables.b\"]}",
    );
    let refused = app
        .send(
            Request::post("/graphql")
                .header(header::CONTENT_TYPE, &content_type)
                .header(header::AUTHORIZATION, format!("Bearer {}", user.token))
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "{:#}",
        refused.body
    );
    assert_eq!(refused.error_code(), "BAD_USER_INPUT");
    assert_eq!(refused.body["errors"][0]["extensions"]["field"], "map");
}
