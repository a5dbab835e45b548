//! Large uploads stored as the request arrives (`api::documents::stream`):
//! read once, checked from their leading bytes (however they are split into
//! chunks) and as they pass, hashed on the way, and nothing kept when the
//! request fails mid-way, a check fails at the end, or the resolver refuses.
//! Storage: local, or S3 when `TEST_S3_ENDPOINT` is set (object counts are
//! checked on local storage, rows on both).

use axum::{
    body::{Body, Bytes},
    http::{Request, StatusCode, header},
};
use portal_tests::{TestApp, multipart_body};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::documents::{UPLOAD, document_count, fetch, field_and_reasons, local_objects, upload};
use crate::support::casework::world;

/// More than one part (8 MiB), so the file is streamed.
const BIG: usize = 9 * 1024 * 1024;

fn big(head: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut bytes = head.to_vec();
    // Bytes that pass every check: no `/`, no control characters.
    bytes.extend((0..BIG).map(|i| b'a' + (i % 26) as u8));
    bytes.extend_from_slice(tail);
    bytes
}

/// The multipart request of [`upload`] for one file, as a body that arrives
/// in pieces (the file's first 24 bytes three at a time, then 64 KiB), and
/// with `fail_after` fails after that many bytes of the file.
fn chunked_upload(
    case_id: &str,
    name: &str,
    bytes: &[u8],
    fail_after: Option<usize>,
) -> (String, Body) {
    let (content_type, body) = multipart_body(
        UPLOAD,
        json!({ "case": case_id, "files": [{ "file": null, "category": "EVIDENCE" }] }),
        &[("variables.files.0.file", name, bytes)],
    );
    let start = body
        .windows(bytes.len().min(64))
        .position(|w| w == &bytes[..bytes.len().min(64)])
        .expect("the file in the body");
    let end = fail_after.map_or(body.len(), |n| start + n);
    let mut pieces: Vec<Result<Bytes, std::io::Error>> =
        vec![Ok(Bytes::copy_from_slice(&body[..start]))];
    // The leading bytes three at a time, then 64 KiB pieces.
    let mut at = start;
    while at < end {
        let len = if at < start + 24 { 3 } else { 64 * 1024 };
        let next = (at + len).min(end);
        pieces.push(Ok(Bytes::copy_from_slice(&body[at..next])));
        at = next;
    }
    if fail_after.is_some() {
        pieces.push(Err(std::io::Error::other("the client went away")));
    }
    (
        content_type,
        Body::from_stream(futures::stream::iter(pieces)),
    )
}

async fn send(
    app: &TestApp,
    token: &str,
    (content_type, body): (String, Body),
) -> portal_tests::TestResponse {
    app.send(
        Request::post("/graphql")
            .header(header::CONTENT_TYPE, content_type)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(body)
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn a_large_pdf_is_stored_once_with_its_hash_and_scanned() {
    let app = crate::documents::app_with_clamd().await;
    let w = world(&app).await;
    let pdf = big(b"%PDF-1.7\n", b"\ntrailer << /Root 1 0 R >>\n%%EOF\n");
    let response = send(
        &app,
        &w.resident.token,
        chunked_upload(&w.case_id, "survey.pdf", &pdf, None),
    )
    .await;
    assert_eq!(response.status, StatusCode::OK, "{:#}", response.body);
    let doc = response.data()["uploadDocuments"][0].clone();
    assert_eq!(doc["contentType"], "application/pdf");
    assert_eq!(doc["sizeBytes"], pdf.len());
    assert_eq!(doc["sha256"], format!("{:x}", Sha256::digest(&pdf)));
    assert_eq!(doc["scanStatus"], "PENDING_SCAN");
    let (status, _, bytes) = fetch(&app, doc["downloadUrl"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(bytes == pdf, "the stored bytes differ from the upload");
    // The virus-scan hand-off works as for a spooled file.
    assert!(app.run_pending_jobs().await >= 1);
    let one = crate::support::casework::gql(
        &app,
        Some(&w.resident.token),
        crate::documents::ONE,
        json!({ "id": doc["id"] }),
    )
    .await;
    assert_eq!(
        one.data()["document"]["scanStatus"],
        "CLEAN",
        "{:#}",
        one.body
    );
    assert_eq!(document_count(&app).await, 1);
    let local = matches!(
        app.config().storage,
        platform::config::StorageConfig::Local { .. }
    );
    assert_eq!(local_objects(&app).len(), usize::from(local));
}

#[tokio::test]
async fn an_upload_aborted_mid_stream_stores_nothing() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let pdf = big(b"%PDF-1.7\n", b"\n%%EOF\n");
    // The connection fails after 8.5 MiB of the file: past the first part.
    let response = send(
        &app,
        &w.resident.token,
        chunked_upload(
            &w.case_id,
            "survey.pdf",
            &pdf,
            Some(8 * 1024 * 1024 + 512 * 1024),
        ),
    )
    .await;
    assert_ne!(response.status, StatusCode::OK, "{:#}", response.body);
    assert!(response.body["data"].is_null(), "{:#}", response.body);
    assert_eq!(document_count(&app).await, 0);
    assert!(local_objects(&app).is_empty(), "{:?}", local_objects(&app));
}

#[tokio::test]
async fn a_spoofed_type_is_refused_from_leading_bytes_split_across_chunks() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    // A PNG named .pdf, its signature arriving three bytes at a time.
    let png = big(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", b"");
    let response = send(
        &app,
        &w.resident.token,
        chunked_upload(&w.case_id, "survey.pdf", &png, None),
    )
    .await;
    assert_eq!(
        response.error_code(),
        "BAD_USER_INPUT",
        "{:#}",
        response.body
    );
    let (field, reasons) = field_and_reasons(&response);
    assert_eq!(field, "files.0.file");
    assert!(
        reasons.contains("survey.pdf") && reasons.contains("not a PDF"),
        "{reasons}"
    );
    // A text file whose control byte comes after the first part.
    let text = big(b"Rent statement\n", b"\0");
    let response = send(
        &app,
        &w.resident.token,
        chunked_upload(&w.case_id, "rent.txt", &text, None),
    )
    .await;
    assert_eq!(
        response.error_code(),
        "BAD_USER_INPUT",
        "{:#}",
        response.body
    );
    assert!(field_and_reasons(&response).1.contains("not text"));
    assert_eq!(document_count(&app).await, 0);
    assert!(local_objects(&app).is_empty(), "{:?}", local_objects(&app));
}

#[tokio::test]
async fn a_large_file_refused_after_it_was_stored_leaves_nothing() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    // Password-protected: the `/Encrypt` name is in the trailer, at the end.
    let encrypted = big(
        b"%PDF-1.7\n",
        b"\ntrailer << /Root 1 0 R /Encrypt 2 0 R >>\n%%EOF\n",
    );
    let fine = big(b"%PDF-1.7\n", b"\n%%EOF\n");
    let response = upload(
        &app,
        &w.resident.token,
        &w.case_id,
        &[
            ("fine.pdf", &fine, Some("OTHER")),
            ("secret.pdf", &encrypted, Some("OTHER")),
        ],
        None,
    )
    .await;
    assert_eq!(
        response.error_code(),
        "BAD_USER_INPUT",
        "{:#}",
        response.body
    );
    let (field, reasons) = field_and_reasons(&response);
    assert_eq!(field, "files.1.file");
    assert!(reasons.contains("password-protected"), "{reasons}");

    // A case the caller cannot see: stored while it arrived, then deleted.
    let unknown = portal_tests::gid("Case", uuid::Uuid::now_v7());
    let response = upload(
        &app,
        &w.resident.token,
        &unknown,
        &[("fine.pdf", &fine, Some("OTHER"))],
        None,
    )
    .await;
    assert_eq!(response.error_code(), "NOT_FOUND", "{:#}", response.body);

    // A query that maps the file to no upload argument.
    let response = app
        .graphql_multipart(
            Some(&w.resident.token),
            "{ __typename }",
            json!({}),
            &[("variables.file", "fine.pdf", &fine)],
        )
        .await;
    assert_eq!(response.data()["__typename"], Value::from("Query"));
    assert_eq!(document_count(&app).await, 0);
    assert!(local_objects(&app).is_empty(), "{:?}", local_objects(&app));
}
