//! Who may download a document, and when (issue 15, point 2): the uploader
//! downloads what they uploaded whatever its scan status (the seed: "download
//! any documents you have previously uploaded"), except an infected file,
//! which nobody gets back; everybody else who can see it, staff included,
//! only once it is `CLEAN`. Without a scanner (no clamd) nothing is ever
//! scanned, and the uploader can still download their own.

use axum::http::StatusCode;
use portal_tests::{TestApp, fixtures::TestUser};
use serde_json::{Value, json};

use crate::{
    documents::{EICAR, ONE, PNG, UPLOAD, app_with_clamd, fetch, pdf, upload},
    support::casework::{World, gql, world},
};

/// Uploads one file as `who`; the new document's id and download link.
async fn upload_one(
    app: &TestApp,
    who: &TestUser,
    w: &World,
    name: &str,
    bytes: &[u8],
) -> (String, Option<String>) {
    let response = upload(
        app,
        &who.token,
        &w.case_id,
        &[(name, bytes, Some("EVIDENCE"))],
        None,
    )
    .await;
    let doc = &response.data()["uploadDocuments"][0];
    assert_eq!(doc["scanStatus"], "PENDING_SCAN", "{:#}", response.body);
    assert_eq!(doc["uploadedByMe"], true);
    (
        doc["id"].as_str().unwrap().to_owned(),
        doc["downloadUrl"].as_str().map(str::to_owned),
    )
}

/// The document as `who` sees it: `None` when it answers `NOT_FOUND`, else
/// (scan status, download link).
async fn seen_by(app: &TestApp, who: &TestUser, id: &str) -> Option<(String, Option<String>)> {
    let response = gql(app, Some(&who.token), ONE, json!({ "id": id })).await;
    if response.body["errors"].is_array() {
        assert_eq!(response.error_code(), "NOT_FOUND", "{:#}", response.body);
        return None;
    }
    let doc = &response.data()["document"];
    Some((
        doc["scanStatus"].as_str().unwrap().to_owned(),
        doc["downloadUrl"].as_str().map(str::to_owned),
    ))
}

/// Fetches a link and checks it serves exactly `bytes`.
async fn downloads(app: &TestApp, url: &str, bytes: &[u8]) {
    let (status, _, got) = fetch(app, url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, bytes, "the exact bytes");
}

#[tokio::test]
async fn a_resident_downloads_their_upload_at_once_and_staff_once_it_is_clean() {
    let app = app_with_clamd().await;
    let w = world(&app).await;
    let photo = PNG.to_vec();

    // Uploaded a moment ago, not scanned yet: the resident's own link works.
    let (id, url) = upload_one(&app, &w.resident, &w, "Damp in back bedroom.png", &photo).await;
    downloads(
        &app,
        &url.expect("the uploader's link, before the scan"),
        &photo,
    )
    .await;
    let (status, again) = seen_by(&app, &w.resident, &id).await.unwrap();
    assert_eq!(status, "PENDING_SCAN");
    downloads(&app, &again.unwrap(), &photo).await;

    // The caseworker sees it waiting, without a link.
    assert_eq!(
        seen_by(&app, &w.staff, &id).await,
        Some(("PENDING_SCAN".into(), None))
    );
    // The landlord's users and other residents do not see a resident's
    // upload at all (before or after the scan).
    assert_eq!(seen_by(&app, &w.landlord, &id).await, None);
    assert_eq!(seen_by(&app, &w.other_resident, &id).await, None);

    // Scanned clean: now staff download it too.
    app.run_pending_jobs().await;
    let (status, url) = seen_by(&app, &w.staff, &id).await.unwrap();
    assert_eq!(status, "CLEAN");
    downloads(&app, &url.unwrap(), &photo).await;
    assert!(seen_by(&app, &w.resident, &id).await.unwrap().1.is_some());
    assert_eq!(seen_by(&app, &w.landlord, &id).await, None);
}

#[tokio::test]
async fn a_landlord_users_upload_is_theirs_at_once_and_their_colleagues_once_clean() {
    let app = app_with_clamd().await;
    let w = world(&app).await;
    let colleague = app.landlord_user(w.org, &[]).await;
    let report = pdf("repairs schedule");

    let (id, url) = upload_one(&app, &w.landlord, &w, "Repairs schedule.pdf", &report).await;
    downloads(&app, &url.expect("the uploader's link"), &report).await;
    // A colleague in the same organisation sees the organisation's upload,
    // but may download it only once it is scanned clean; so may staff.
    assert_eq!(
        seen_by(&app, &colleague, &id).await,
        Some(("PENDING_SCAN".into(), None))
    );
    assert_eq!(
        seen_by(&app, &w.staff, &id).await,
        Some(("PENDING_SCAN".into(), None))
    );
    assert_eq!(seen_by(&app, &w.resident, &id).await, None);
    assert_eq!(seen_by(&app, &w.other_landlord, &id).await, None);

    app.run_pending_jobs().await;
    for who in [&colleague, &w.staff, &w.landlord] {
        let (status, url) = seen_by(&app, who, &id).await.unwrap();
        assert_eq!(status, "CLEAN");
        downloads(&app, &url.unwrap(), &report).await;
    }
}

#[tokio::test]
async fn without_a_scanner_uploaders_still_download_their_own_and_nobody_else_does() {
    // No PORTAL_CLAMD_ADDR: the scan job ends with the documents pending.
    let app = TestApp::init().await;
    let w = world(&app).await;
    let notes = b"Mould since March.\n".to_vec();
    let (resident_doc, _) = upload_one(&app, &w.resident, &w, "Notes.txt", &notes).await;

    // A caseworker's letter shared with the parties.
    let letter = pdf("our decision");
    let shared = app
        .graphql_multipart(
            Some(&w.staff.token),
            UPLOAD,
            json!({
                "case": w.case_id,
                "files": [{ "file": null, "category": "CORRESPONDENCE" }],
                "shared": true,
            }),
            &[("variables.files.0.file", "Decision.pdf", &letter)],
        )
        .await;
    let staff_doc = shared.data()["uploadDocuments"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    app.run_pending_jobs().await;
    // Still pending: nothing scans them.
    let (status, url) = seen_by(&app, &w.resident, &resident_doc).await.unwrap();
    assert_eq!(status, "PENDING_SCAN");
    downloads(&app, &url.expect("the resident's own"), &notes).await;
    let (status, url) = seen_by(&app, &w.staff, &staff_doc).await.unwrap();
    assert_eq!(status, "PENDING_SCAN");
    downloads(&app, &url.expect("the caseworker's own"), &letter).await;

    // Everybody else sees them waiting, with no link.
    assert_eq!(
        seen_by(&app, &w.staff, &resident_doc).await,
        Some(("PENDING_SCAN".into(), None))
    );
    let other_staff = app.caseworker().await;
    assert_eq!(
        seen_by(&app, &other_staff, &staff_doc).await,
        Some(("PENDING_SCAN".into(), None))
    );
    for party in [&w.resident, &w.landlord] {
        assert_eq!(
            seen_by(&app, party, &staff_doc).await,
            Some(("PENDING_SCAN".into(), None))
        );
    }
}

#[tokio::test]
async fn an_infected_upload_is_served_to_nobody_not_even_its_uploader() {
    let app = app_with_clamd().await;
    let w = world(&app).await;
    let (id, url) = upload_one(&app, &w.resident, &w, "Suspicious.txt", EICAR).await;
    // Before the scan it is the resident's own file, like any other.
    let early = url.expect("the uploader's link, before the scan");

    app.run_pending_jobs().await;
    for who in [&w.resident, &w.staff] {
        assert_eq!(
            seen_by(&app, who, &id).await,
            Some(("INFECTED".into(), None))
        );
    }
    // The link issued before the scan no longer serves it: the file is in
    // quarantine.
    let (status, _, _) = fetch(&app, &early).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let response = gql(&app, Some(&w.resident.token), ONE, json!({ "id": id })).await;
    assert_eq!(response.data()["document"]["downloadUrl"], Value::Null);
}
