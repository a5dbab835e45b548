//! Documents end to end: multipart uploads with categories, the checks
//! before anything is kept, the virus-scan job against clamd, downloads and
//! who sees what.
//!
//! clamd: the real one when `TEST_CLAMD_ADDR` is set (`.ci/run`), otherwise
//! a small fake speaking the INSTREAM protocol (answers `OK`, or `FOUND` for
//! the EICAR string); tests that need the real scanner's verdicts skip with a
//! printed reason. Storage: local, or S3 when `TEST_S3_ENDPOINT` is set.
//!
//! The helpers here (uploading, fetching a download link, counting what is
//! stored) are shared with `documents_types` (the accepted types) and
//! `documents_downloads` (who may download what, when).

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use entities::{ScanStatus, document};
use http_body_util::BodyExt;
use portal_tests::gid;
use portal_tests::{TestApp, TestResponse, require_env};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

use crate::support::casework::{World, gql, send_message, world};

pub(crate) const UPLOAD: &str = "mutation($case: ID!, $files: [DocumentUploadInput!]!, $same: DocumentCategory, $shared: Boolean) {
  uploadDocuments(caseId: $case, files: $files, sameCategoryForAll: $same, sharedWithParties: $shared) {
    id fileName category contentType sizeBytes scanStatus uploadedBy uploadedByMe downloadUrl sha256
  } }";
pub(crate) const LIST: &str = "query($id: ID!) { case(id: $id) { documents { id fileName category scanStatus downloadUrl message { id } uploadedBy } } }";
pub(crate) const ONE: &str =
    "query($id: ID!) { document(id: $id) { id fileName scanStatus downloadUrl } }";

pub(crate) const EICAR: &[u8] =
    br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

pub(crate) fn pdf(body: &str) -> Vec<u8> {
    format!("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% {body}\ntrailer << /Root 1 0 R >>\n%%EOF\n")
        .into_bytes()
}

pub(crate) const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

/// A fake clamd on a free port: answers `OK`, or `Eicar-Signature FOUND` for
/// content holding the EICAR string.
pub(crate) async fn fake_clamd() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    serve_fake_clamd(listener);
    addr
}

fn serve_fake_clamd(listener: TcpListener) {
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut command = [0u8; 10];
                if socket.read_exact(&mut command).await.is_err() {
                    return;
                }
                let mut content = Vec::new();
                loop {
                    let mut len = [0u8; 4];
                    if socket.read_exact(&mut len).await.is_err() {
                        return;
                    }
                    let len = u32::from_be_bytes(len) as usize;
                    if len == 0 {
                        break;
                    }
                    let mut chunk = vec![0u8; len];
                    socket.read_exact(&mut chunk).await.unwrap();
                    content.extend_from_slice(&chunk);
                }
                let infected = content.windows(EICAR.len()).any(|w| w == EICAR);
                let answer: &[u8] = if infected {
                    b"stream: Eicar-Signature FOUND\0"
                } else {
                    b"stream: OK\0"
                };
                let _ = socket.write_all(answer).await;
            });
        }
    });
}

/// The real clamd if configured, else the fake.
async fn clamd() -> String {
    match std::env::var("TEST_CLAMD_ADDR") {
        Ok(addr) if !addr.is_empty() => addr,
        _ => fake_clamd().await,
    }
}

pub(crate) async fn app_with_clamd() -> TestApp {
    TestApp::builder()
        .env("PORTAL_CLAMD_ADDR", clamd().await)
        .build()
        .await
}

pub(crate) async fn upload(
    app: &TestApp,
    token: &str,
    case_id: &str,
    files: &[(&str, &[u8], Option<&str>)],
    same: Option<&str>,
) -> TestResponse {
    let inputs: Vec<Value> = files
        .iter()
        .map(|(_, _, category)| json!({ "file": null, "category": category }))
        .collect();
    let paths: Vec<String> = (0..files.len())
        .map(|i| format!("variables.files.{i}.file"))
        .collect();
    let parts: Vec<(&str, &str, &[u8])> = files
        .iter()
        .zip(&paths)
        .map(|((name, bytes, _), path)| (path.as_str(), *name, *bytes))
        .collect();
    app.graphql_multipart(
        Some(token),
        UPLOAD,
        json!({ "case": case_id, "files": inputs, "same": same }),
        &parts,
    )
    .await
}

pub(crate) async fn document_count(app: &TestApp) -> u64 {
    document::Entity::find().count(app.db()).await.unwrap()
}

/// Every object in storage (local: files under the data folder; S3: checked
/// per key by the callers instead).
pub(crate) fn local_objects(app: &TestApp) -> Vec<String> {
    let platform::config::StorageConfig::Local { root } = &app.config().storage else {
        return vec![];
    };
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                if e.path().is_dir() {
                    walk(&e.path(), out);
                } else {
                    out.push(e.path().display().to_string());
                }
            }
        }
    }
    let mut out = vec![];
    walk(&root.join("documents"), &mut out);
    out
}

/// Fetches a download URL: through the router for local storage, over HTTP
/// for presigned S3 URLs. (status, content-disposition, bytes)
pub(crate) async fn fetch(app: &TestApp, url: &str) -> (StatusCode, String, Vec<u8>) {
    let parsed = url::Url::parse(url).unwrap();
    if parsed.path().starts_with("/files/") {
        let path = format!("{}?{}", parsed.path(), parsed.query().unwrap_or_default());
        let response = app
            .request(Request::get(path).body(Body::empty()).unwrap())
            .await;
        let status = response.status();
        let disposition = response
            .headers()
            .get("content-disposition")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, disposition, bytes.to_vec())
    } else {
        let response = reqwest::get(url).await.unwrap();
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        let disposition = response
            .headers()
            .get("content-disposition")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (
            status,
            disposition,
            response.bytes().await.unwrap().to_vec(),
        )
    }
}

pub(crate) fn field_and_reasons(response: &TestResponse) -> (String, String) {
    let ext = &response.body["errors"][0]["extensions"];
    (
        ext["field"].as_str().unwrap_or_default().to_owned(),
        ext["reasons"].to_string(),
    )
}

#[tokio::test]
async fn several_files_with_their_categories_become_clean_and_downloadable() {
    let app = app_with_clamd().await;
    let w = world(&app).await;
    let report = pdf("repair report");
    let response = upload(
        &app,
        &w.resident.token,
        &w.case_id,
        &[
            ("Repair report.pdf", &report, Some("REPAIR_RECORD")),
            ("damp.png", PNG, Some("PHOTOGRAPH")),
            (
                "notes.txt",
                "Mould since March.\n".as_bytes(),
                Some("EVIDENCE"),
            ),
        ],
        None,
    )
    .await;
    let docs = response.data()["uploadDocuments"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(docs.len(), 3);
    assert_eq!(docs[0]["category"], "REPAIR_RECORD");
    assert_eq!(docs[0]["contentType"], "application/pdf");
    assert_eq!(docs[0]["sizeBytes"], report.len());
    assert_eq!(docs[1]["category"], "PHOTOGRAPH");
    assert_eq!(docs[1]["contentType"], "image/png");
    assert_eq!(docs[2]["category"], "EVIDENCE");
    for d in &docs {
        assert_eq!(d["scanStatus"], "PENDING_SCAN");
        assert!(
            d["downloadUrl"].is_string(),
            "the uploader's own, before the scan: {d:#}"
        );
        assert_eq!(d["uploadedByMe"], true);
    }
    assert_eq!(
        docs[0]["sha256"].as_str().unwrap().len(),
        64,
        "SHA-256 recorded"
    );

    // The scan: every file clean.
    assert!(app.run_pending_jobs().await >= 3);
    let list = gql(
        &app,
        Some(&w.resident.token),
        LIST,
        json!({ "id": w.case_id }),
    )
    .await;
    let listed = list.data()["case"]["documents"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 3);
    let report_doc = listed
        .iter()
        .find(|d| d["fileName"] == "Repair report.pdf")
        .unwrap();
    assert_eq!(report_doc["scanStatus"], "CLEAN");
    let url = report_doc["downloadUrl"]
        .as_str()
        .expect("a download URL")
        .to_owned();
    let (status, disposition, bytes) = fetch(&app, &url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, report, "the exact bytes");
    assert!(
        disposition.contains("Repair report.pdf") || disposition.contains("Repair%20report.pdf"),
        "{disposition}"
    );

    // Staff see them; the landlord does not (a resident's uploads go to staff).
    let staff = gql(&app, Some(&w.staff.token), LIST, json!({ "id": w.case_id })).await;
    assert_eq!(
        staff.data()["case"]["documents"].as_array().unwrap().len(),
        3
    );
    let landlord = gql(
        &app,
        Some(&w.landlord.token),
        LIST,
        json!({ "id": w.case_id }),
    )
    .await;
    assert_eq!(
        landlord.data()["case"]["documents"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let id = report_doc["id"].as_str().unwrap();
    let hidden = gql(&app, Some(&w.landlord.token), ONE, json!({ "id": id })).await;
    assert_eq!(hidden.error_code(), "NOT_FOUND");

    // "Same category for all".
    let same = upload(
        &app,
        &w.resident.token,
        &w.case_id,
        &[("a.txt", b"a", None), ("b.txt", b"b", None)],
        Some("CORRESPONDENCE"),
    )
    .await;
    let same = same.data()["uploadDocuments"].as_array().unwrap().clone();
    assert!(same.iter().all(|d| d["category"] == "CORRESPONDENCE"));
    // Neither: the field says which file lacks one.
    let none = upload(
        &app,
        &w.resident.token,
        &w.case_id,
        &[("a.txt", b"a", None)],
        None,
    )
    .await;
    assert_eq!(none.error_code(), "BAD_USER_INPUT");
    assert_eq!(field_and_reasons(&none).0, "files.0.category");
    app.run_pending_jobs().await;
}

#[tokio::test]
async fn refused_files_name_the_file_and_nothing_is_stored() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let mut encrypted = pdf("secret");
    encrypted.extend_from_slice(b"trailer << /Root 1 0 R /Encrypt 2 0 R >>\n");
    let mut escaped = pdf("secret");
    escaped.extend_from_slice(b"trailer<</Root 1 0 R/Encr#79pt 2 0 R>>\n");
    let mut polyglot = PNG.to_vec();
    polyglot.extend_from_slice(&pdf("hidden"));
    // Word 97: the FIB's fEncrypted flag; Excel: a FILEPASS record.
    let mut fib = [0u8; 32];
    fib[11] = 0x01;
    let word = compound(&[("/WordDocument", &fib)]);
    let excel = compound(&[(
        "/Workbook",
        &[
            0x09, 0x08, 0x04, 0x00, 0, 6, 0x10, 0, 0x2F, 0x00, 0x00, 0x00,
        ],
    )]);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("scan.pdf", PNG.to_vec(), "not a PDF"),
        ("statement.pdf", encrypted, "password-protected"),
        // The same key written with a name escape, as PDF readers accept it.
        ("escaped.pdf", escaped, "password-protected"),
        // A picture first and a PDF later: a polyglot is not a PDF.
        ("polyglot.pdf", polyglot, "not a PDF"),
        ("minutes.doc", word, "password-protected"),
        ("rents.xls", excel, "password-protected"),
        ("letter.odt", b"PK\x03\x04rest".to_vec(), "OpenDocument"),
        ("photos.zip", b"PK\x03\x04rest".to_vec(), "archive"),
        ("setup.exe", b"MZ\x90\0".to_vec(), "not an accepted type"),
        ("notes.txt", b"text\0with nul".to_vec(), "not text"),
        (
            "report.docx",
            b"PK\x03\x04 not really a zip".to_vec(),
            "not a Microsoft Office document",
        ),
    ];
    for (name, bytes, reason) in &cases {
        // A good file first: all or nothing.
        let response = upload(
            &app,
            &w.resident.token,
            &w.case_id,
            &[
                ("fine.txt", b"fine", Some("OTHER")),
                (name, bytes, Some("EVIDENCE")),
            ],
            None,
        )
        .await;
        assert_eq!(
            response.error_code(),
            "BAD_USER_INPUT",
            "{name}: {:#}",
            response.body
        );
        let (field, reasons) = field_and_reasons(&response);
        assert_eq!(field, "files.1.file", "{name}");
        assert!(reasons.contains(name), "{name}: {reasons}");
        assert!(reasons.contains(reason), "{name}: {reasons}");
    }
    assert_eq!(document_count(&app).await, 0);
    assert!(local_objects(&app).is_empty(), "{:?}", local_objects(&app));
}

#[tokio::test]
async fn a_file_over_the_size_limit_is_refused_and_nothing_is_stored() {
    let app = TestApp::builder()
        .env("PORTAL_MAX_UPLOAD_BYTES", "2048")
        .build()
        .await;
    let w = world(&app).await;
    let big = vec![b'a'; 2049];
    let response = upload(
        &app,
        &w.resident.token,
        &w.case_id,
        &[
            ("small.txt", b"ok", Some("OTHER")),
            ("big.txt", &big, Some("OTHER")),
        ],
        None,
    )
    .await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.error_code(), "PAYLOAD_TOO_LARGE");
    assert!(
        response.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("big.txt")
    );
    assert_eq!(document_count(&app).await, 0);
    assert!(local_objects(&app).is_empty());
}

#[tokio::test]
async fn multipart_uploads_need_the_preflight_header() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let (content_type, body) = portal_tests::multipart_body(
        UPLOAD,
        json!({ "case": w.case_id, "files": [{ "file": null, "category": "OTHER" }] }),
        &[("variables.files.0.file", "a.txt", b"a")],
    );
    let response = app
        .send(
            Request::post("/graphql")
                .header("content-type", content_type)
                .header("cookie", "session=whatever")
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(response.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(response.error_code(), "BAD_USER_INPUT");
    assert_eq!(document_count(&app).await, 0);
}

#[tokio::test]
async fn other_cases_and_organisations_answer_not_found() {
    let app = app_with_clamd().await;
    let w = world(&app).await;
    let shared = upload(
        &app,
        &w.staff.token,
        &w.case_id,
        &[("decision.pdf", &pdf("decision"), Some("CORRESPONDENCE"))],
        None,
    )
    .await;
    let id = shared.data()["uploadDocuments"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.run_pending_jobs().await;
    // Not shared yet: the parties do not see it.
    let resident = gql(&app, Some(&w.resident.token), ONE, json!({ "id": id })).await;
    assert_eq!(resident.error_code(), "NOT_FOUND");
    let share = gql(
        &app,
        Some(&w.staff.token),
        "mutation($id: ID!) { shareDocument(id: $id, shared: true) { sharedWithParties } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(share.data()["shareDocument"]["sharedWithParties"], true);
    let resident = gql(&app, Some(&w.resident.token), ONE, json!({ "id": id })).await;
    assert!(
        resident.data()["document"]["downloadUrl"].is_string(),
        "{:#}",
        resident.body
    );
    let landlord = gql(&app, Some(&w.landlord.token), ONE, json!({ "id": id })).await;
    assert!(landlord.data()["document"]["downloadUrl"].is_string());

    // Another resident and another organisation: as if it did not exist.
    for token in [&w.other_resident.token, &w.other_landlord.token] {
        let response = gql(&app, Some(token), ONE, json!({ "id": id })).await;
        assert_eq!(response.error_code(), "NOT_FOUND");
        let upload_there = upload(
            &app,
            token,
            &w.case_id,
            &[("x.txt", b"x", Some("OTHER"))],
            None,
        )
        .await;
        assert_eq!(upload_there.error_code(), "NOT_FOUND");
    }
    // A party may not share.
    let refused = gql(
        &app,
        Some(&w.resident.token),
        "mutation($id: ID!) { shareDocument(id: $id, shared: false) { id } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(refused.error_code(), "FORBIDDEN");
    assert_eq!(document_count(&app).await, 1);
}

#[tokio::test]
async fn reply_attachments_appear_in_the_case_documents_of_who_may_see_the_reply() {
    let app = app_with_clamd().await;
    let w: World = world(&app).await;
    let message_id = send_message(&app, &w, "Evidence please").await;
    let photo: &[u8] = PNG;
    let reply = app
        .graphql_multipart(
            Some(&w.resident.token),
            "mutation($id: ID!, $files: [DocumentUploadInput!]) { replyToMessage(messageId: $id, body: \"Attached\", attachments: $files) { id } }",
            json!({ "id": message_id, "files": [{ "file": null, "category": "PHOTOGRAPH" }] }),
            &[("variables.files.0.file", "kitchen.png", photo)],
        )
        .await;
    let reply_id = reply.data()["replyToMessage"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.run_pending_jobs().await;
    for (token, expected) in [
        (&w.resident.token, 1),
        (&w.staff.token, 1),
        (&w.landlord.token, 0),
    ] {
        let list = gql(&app, Some(token), LIST, json!({ "id": w.case_id })).await;
        let docs = list.data()["case"]["documents"].as_array().unwrap().clone();
        assert_eq!(docs.len(), expected);
        if expected == 1 {
            assert_eq!(docs[0]["message"]["id"], reply_id.as_str());
            assert_eq!(docs[0]["fileName"], "kitchen.png");
            assert_eq!(docs[0]["scanStatus"], "CLEAN");
        }
    }
}

#[tokio::test]
async fn an_infected_upload_is_quarantined_undownloadable_and_reported() {
    let Some(addr) = require_env(
        "TEST_CLAMD_ADDR",
        "an_infected_upload_is_quarantined_undownloadable_and_reported",
    ) else {
        return;
    };
    let app = TestApp::builder()
        .env("PORTAL_CLAMD_ADDR", addr)
        .build()
        .await;
    let w = world(&app).await;
    let response = upload(
        &app,
        &w.resident.token,
        &w.case_id,
        &[("eicar.txt", EICAR, Some("EVIDENCE"))],
        None,
    )
    .await;
    let id = response.data()["uploadDocuments"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.run_pending_jobs().await;
    for token in [&w.resident.token, &w.staff.token] {
        let doc = gql(&app, Some(token), ONE, json!({ "id": id })).await;
        assert_eq!(doc.data()["document"]["scanStatus"], "INFECTED");
        assert_eq!(doc.data()["document"]["downloadUrl"], Value::Null);
    }
    let row = document::Entity::find_by_id(portal_tests::uuid_of(&id))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.scan_status, ScanStatus::Infected);
    assert!(
        row.storage_key.starts_with("quarantine/"),
        "{}",
        row.storage_key
    );
    assert!(
        row.scan_detail
            .as_deref()
            .unwrap_or_default()
            .contains("Eicar")
    );
    let storage = &app.state.storage;
    assert_eq!(
        storage.size(&format!("documents/{id}")).await.unwrap(),
        None
    );
    assert!(storage.size(&row.storage_key).await.unwrap().is_some());
    let emails = app.emails().await;
    let to: Vec<&str> = emails.iter().map(|e| e.to.as_str()).collect();
    assert!(to.contains(&w.resident.user.email.as_str()), "{to:?}");
    assert!(
        to.contains(&w.staff.user.email.as_str()),
        "the case owner: {to:?}"
    );
}

#[tokio::test]
async fn clamd_down_keeps_the_document_pending_and_retries_until_it_is_up() {
    // A port nobody listens on yet.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let app = TestApp::builder()
        .env("PORTAL_CLAMD_ADDR", addr.clone())
        .build()
        .await;
    let w = world(&app).await;
    let response = upload(
        &app,
        &w.resident.token,
        &w.case_id,
        &[("a.txt", b"hello", Some("OTHER"))],
        None,
    )
    .await;
    let id: uuid::Uuid = portal_tests::uuid_of(
        response.data()["uploadDocuments"][0]["id"]
            .as_str()
            .unwrap(),
    );
    app.run_pending_jobs().await;
    let row = document::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.scan_status, ScanStatus::PendingScan);
    assert_eq!(app.unfinished_jobs().await, 1, "the scan waits for a retry");
    let pending = gql(
        &app,
        Some(&w.resident.token),
        ONE,
        json!({ "id": gid("Document", id) }),
    )
    .await;
    // Its uploader may download it while it waits; staff may not yet.
    assert!(pending.data()["document"]["downloadUrl"].is_string());
    let staff_view = gql(
        &app,
        Some(&w.staff.token),
        ONE,
        json!({ "id": gid("Document", id) }),
    )
    .await;
    assert_eq!(staff_view.data()["document"]["scanStatus"], "PENDING_SCAN");
    assert_eq!(staff_view.data()["document"]["downloadUrl"], Value::Null);

    // clamd comes up on that address (the real one behind a relay when
    // configured): the retry scans it clean.
    let listener = TcpListener::bind(&addr).await.unwrap();
    match std::env::var("TEST_CLAMD_ADDR") {
        Ok(real) if !real.is_empty() => {
            tokio::spawn(async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    let real = real.clone();
                    tokio::spawn(async move {
                        let mut upstream = tokio::net::TcpStream::connect(real).await.unwrap();
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    });
                }
            });
        }
        _ => serve_fake_clamd(listener),
    }
    app.skip_backoff().await;
    app.run_pending_jobs().await;
    let row = document::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.scan_status, ScanStatus::Clean);
    let clean = gql(
        &app,
        Some(&w.resident.token),
        ONE,
        json!({ "id": gid("Document", id) }),
    )
    .await;
    let url = clean.data()["document"]["downloadUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(fetch(&app, &url).await.2, b"hello");
}

/// A compound (OLE2) file with the given streams.
fn compound(streams: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut cursor = std::io::Cursor::new(Vec::new());
    {
        let mut file = cfb::CompoundFile::create(&mut cursor).unwrap();
        for (path, content) in streams {
            file.create_stream(path)
                .unwrap()
                .write_all(content)
                .unwrap();
        }
        file.flush().unwrap();
    }
    cursor.into_inner()
}
