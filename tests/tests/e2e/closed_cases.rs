//! Closed means Closed (issue 15, point 4): closing a case labels it
//! "Closed" with its date, and reopening restores the label it had; a
//! closed case is read-only for everything but `reopenCase` — every other
//! change answers `CONFLICT` with reason `CASE_CLOSED` and changes nothing
//! (no row, no stored file, no job, no email); reading its messages still
//! records that they were read, but completes no "Read message" task.

use entities::{TaskStatus, case, case_note, case_party, document, message, outbox_job, task};
use portal_tests::gid;
use portal_tests::{TestApp, TestResponse};
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::support::casework::{World, create_task, gql, send_message, world};

const CASE: &str = "query($id: ID!) { case(id: $id) { statusLabel closedAt isOpen details { statusLabel closedAt } } }";

fn pdf(body: &str) -> Vec<u8> {
    format!("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% {body}\ntrailer << /Root 1 0 R >>\n%%EOF\n")
        .into_bytes()
}

/// Everything a change to the case could touch, as one value: the case, its
/// parties, tasks, messages, documents and notes, the jobs, and the files
/// in local storage.
async fn state(app: &TestApp) -> Value {
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                walk(&e.path(), out);
            } else {
                out.push(e.path().display().to_string());
            }
        }
    }
    let mut files = vec![];
    if let platform::config::StorageConfig::Local { root } = &app.config().storage {
        walk(root, &mut files);
    }
    files.sort();
    let db = app.db();
    json!({
        "cases": case::Entity::find().all(db).await.unwrap(),
        "parties": case_party::Entity::find().all(db).await.unwrap(),
        "tasks": task::Entity::find().all(db).await.unwrap(),
        "messages": message::Entity::find().all(db).await.unwrap(),
        "documents": document::Entity::find().all(db).await.unwrap(),
        "notes": case_note::Entity::find().all(db).await.unwrap(),
        "jobs": outbox_job::Entity::find().all(db).await.unwrap().len(),
        "files": files,
    })
}

fn assert_case_closed(response: &TestResponse, what: &str) {
    assert_eq!(
        response.error_code(),
        "CONFLICT",
        "{what}: {:#}",
        response.body
    );
    assert_eq!(
        response.body["errors"][0]["extensions"]["reason"], "CASE_CLOSED",
        "{what}: {:#}",
        response.body
    );
}

async fn close(app: &TestApp, w: &World) -> Value {
    gql(
        app,
        Some(&w.staff.token),
        "mutation($id: ID!) { closeCase(id: $id) { statusLabel closedAt isOpen } }",
        json!({ "id": w.case_id }),
    )
    .await
    .data()["closeCase"]
        .clone()
}

#[tokio::test]
async fn closing_labels_the_case_closed_with_its_date_and_reopening_restores_the_label() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    gql(
        &app,
        Some(&w.staff.token),
        "mutation($id: ID!) { updateCase(id: $id, input: { statusLabel: \"Investigation\" }) { id } }",
        json!({ "id": w.case_id }),
    )
    .await
    .data();

    let closed = close(&app, &w).await;
    assert_eq!(closed["statusLabel"], "Closed");
    assert_eq!(closed["isOpen"], false);
    let closed_at = closed["closedAt"].as_str().expect("the closing date");
    // The parties see the same: "Closed", and when.
    for user in [&w.resident, &w.landlord] {
        let seen = gql(&app, Some(&user.token), CASE, json!({ "id": w.case_id })).await;
        assert_eq!(
            seen.data()["case"],
            json!({
                "statusLabel": "Closed",
                "closedAt": closed_at,
                "isOpen": false,
                "details": { "statusLabel": "Closed", "closedAt": closed_at },
            })
        );
    }
    let list = gql(
        &app,
        Some(&w.resident.token),
        "{ cases(filter: { state: CLOSED }) { edges { node { reference statusLabel closedAt } } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        list.data()["cases"]["edges"][0]["node"],
        json!({ "reference": w.reference, "statusLabel": "Closed", "closedAt": closed_at })
    );

    let reopened = gql(
        &app,
        Some(&w.staff.token),
        "mutation($id: ID!) { reopenCase(id: $id) { statusLabel closedAt isOpen } }",
        json!({ "id": w.case_id }),
    )
    .await;
    assert_eq!(
        reopened.data()["reopenCase"],
        json!({ "statusLabel": "Investigation", "closedAt": null, "isOpen": true }),
        "the label it had when it was closed"
    );

    // Only closing says "Closed": an open case cannot be labelled so.
    let labelled = gql(
        &app,
        Some(&w.staff.token),
        "mutation($id: ID!) { updateCase(id: $id, input: { statusLabel: \"closed\" }) { id } }",
        json!({ "id": w.case_id }),
    )
    .await;
    assert_eq!(labelled.error_code(), "BAD_USER_INPUT");
    assert_eq!(
        labelled.body["errors"][0]["extensions"]["field"],
        "input.statusLabel"
    );
    let created = gql(
        &app,
        Some(&w.staff.token),
        "mutation { createCase(input: { type: \"Complaint\", stage: \"DR2 Review\", statusLabel: \"Closed\", category: \"Damp\" }) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(created.error_code(), "BAD_USER_INPUT");
    let seen = gql(&app, Some(&w.staff.token), CASE, json!({ "id": w.case_id })).await;
    assert_eq!(seen.data()["case"]["statusLabel"], "Investigation");
    app.run_pending_jobs().await;
}

#[tokio::test]
async fn a_closed_case_refuses_every_change_but_reopening_and_changes_nothing() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let resident_task = create_task(&app, &w, false, "Send photos").await;
    let landlord_task = create_task(&app, &w, true, "Send the repair log").await;
    let unable_task = create_task(&app, &w, false, "Send the tenancy agreement").await;
    gql(
        &app,
        Some(&w.resident.token),
        "mutation($id: ID!) { reportTaskUnableToComplete(id: $id, reason: \"I never had one\") { id } }",
        json!({ "id": unable_task }),
    )
    .await
    .data();
    let message = send_message(&app, &w, "Evidence requested").await;
    let staff_doc = app
        .graphql_multipart(
            Some(&w.staff.token),
            "mutation($case: ID!, $files: [DocumentUploadInput!]!) { uploadDocuments(caseId: $case, files: $files) { id } }",
            json!({ "case": w.case_id, "files": [{ "file": null, "category": "CORRESPONDENCE" }] }),
            &[("variables.files.0.file", "Decision.pdf", &pdf("decision"))],
        )
        .await;
    let staff_doc = staff_doc.data()["uploadDocuments"][0]["id"].clone();
    let parties = gql(
        &app,
        Some(&w.staff.token),
        "query($id: ID!) { case(id: $id) { parties { id kind } } }",
        json!({ "id": w.case_id }),
    )
    .await;
    let landlord_party = parties.data()["case"]["parties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "LANDLORD")
        .unwrap()["id"]
        .clone();
    app.run_pending_jobs().await;
    close(&app, &w).await;
    app.run_pending_jobs().await;
    let emails = app.emails().await.len();
    let before = state(&app).await;

    let due = (chrono::Utc::now().date_naive() + chrono::Duration::days(14)).to_string();
    let staff = Some(w.staff.token.as_str());
    let resident = Some(w.resident.token.as_str());
    let landlord = Some(w.landlord.token.as_str());
    let refused: Vec<(&str, Option<&str>, &str, Value)> = vec![
        (
            "sendMessage",
            staff,
            "mutation($c: ID!) { sendMessage(caseId: $c, input: { subject: \"S\", body: \"B\" }) { id } }",
            json!({ "c": w.case_id }),
        ),
        (
            "replyToMessage",
            resident,
            "mutation($m: ID!) { replyToMessage(messageId: $m, body: \"Late\") { id } }",
            json!({ "m": message }),
        ),
        (
            "addCaseNote",
            staff,
            "mutation($c: ID!) { addCaseNote(caseId: $c, body: \"Called the resident\") { id } }",
            json!({ "c": w.case_id }),
        ),
        (
            "shareDocument",
            staff,
            "mutation($d: ID!) { shareDocument(id: $d, shared: true) { id } }",
            json!({ "d": staff_doc }),
        ),
        (
            "createTask",
            staff,
            "mutation($c: ID!, $due: Date!, $r: ID!) { createTask(caseId: $c, input: { title: \"T\", dueDate: $due, assignee: { residentUserId: $r } }) { id } }",
            json!({ "c": w.case_id, "due": due, "r": gid("User", w.resident.user.id) }),
        ),
        (
            "completeTask",
            resident,
            "mutation($t: ID!) { completeTask(id: $t) { id } }",
            json!({ "t": resident_task }),
        ),
        (
            "reportTaskUnableToComplete",
            landlord,
            "mutation($t: ID!) { reportTaskUnableToComplete(id: $t, reason: \"No records\") { id } }",
            json!({ "t": landlord_task }),
        ),
        (
            "reviewTask",
            staff,
            "mutation($t: ID!) { reviewTask(id: $t, input: { close: true }) { id } }",
            json!({ "t": unable_task }),
        ),
        (
            "addCaseParty",
            staff,
            "mutation($c: ID!, $r: ID!) { addCaseParty(caseId: $c, input: { residentUserId: $r }) { id } }",
            json!({ "c": w.case_id, "r": gid("User", w.other_resident.user.id) }),
        ),
        (
            "removeCaseParty",
            staff,
            "mutation($p: ID!) { removeCaseParty(id: $p) { id } }",
            json!({ "p": landlord_party }),
        ),
        (
            "assignCaseOwner",
            staff,
            "mutation($c: ID!, $o: ID!) { assignCaseOwner(id: $c, ownerUserId: $o) { id } }",
            json!({ "c": w.case_id, "o": gid("User", w.staff.user.id) }),
        ),
        (
            "updateCase (stage)",
            staff,
            "mutation($c: ID!) { updateCase(id: $c, input: { stage: \"DR2 Dispute Support\" }) { id } }",
            json!({ "c": w.case_id }),
        ),
        (
            "updateCase (status)",
            staff,
            "mutation($c: ID!) { updateCase(id: $c, input: { statusLabel: \"Investigation\" }) { id } }",
            json!({ "c": w.case_id }),
        ),
    ];
    for (what, token, query, vars) in refused {
        let response = gql(&app, token, query, vars).await;
        assert_case_closed(&response, what);
        assert_eq!(state(&app).await, before, "{what} changed something");
    }

    // Uploads, by staff and by a party, and a message with an attachment:
    // refused before any file is kept.
    let upload = "mutation($case: ID!, $files: [DocumentUploadInput!]!) { uploadDocuments(caseId: $case, files: $files) { id } }";
    let files = json!([{ "file": null, "category": "PHOTOGRAPH" }]);
    let report = pdf("report");
    let part = [("variables.files.0.file", "Report.pdf", report.as_slice())];
    for (who, token) in [("staff", &w.staff.token), ("resident", &w.resident.token)] {
        let response = app
            .graphql_multipart(
                Some(token),
                upload,
                json!({ "case": w.case_id, "files": files }),
                &part,
            )
            .await;
        assert_case_closed(&response, &format!("uploadDocuments by {who}"));
        assert_eq!(
            state(&app).await,
            before,
            "an upload by {who} changed something"
        );
    }
    let with_attachment = app
        .graphql_multipart(
            staff,
            "mutation($c: ID!, $files: [DocumentUploadInput!]) { sendMessage(caseId: $c, input: { subject: \"S\", body: \"B\" }, attachments: $files) { id } }",
            json!({ "c": w.case_id, "files": files }),
            &[("variables.files.0.file", "Report.pdf", report.as_slice())],
        )
        .await;
    assert_case_closed(&with_attachment, "sendMessage with an attachment");
    assert_eq!(state(&app).await, before);

    // Closing again is a conflict too (but not "closed" as a reason to
    // reopen: it already is).
    let again = close_again(&app, &w).await;
    assert_eq!(again.error_code(), "CONFLICT");

    // Reading is not changing the case: the receipt is kept (the unread
    // count drops), the "Read message" task stays as it was.
    let read = gql(
        &app,
        resident,
        "mutation($c: ID!) { markMessagesRead(input: {caseId: $c}) { total } }",
        json!({ "c": w.case_id }),
    )
    .await;
    assert_eq!(read.data()["markMessagesRead"]["total"], 0);
    assert_eq!(state(&app).await, before, "no task was completed");
    let read_task = task::Entity::find()
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.source_message_id.is_some() && t.assignee_user_id == Some(w.resident.user.id))
        .unwrap();
    assert_eq!(read_task.status, TaskStatus::Pending);

    assert_eq!(
        app.run_pending_jobs().await,
        0,
        "no job for a refused change"
    );
    assert_eq!(app.emails().await.len(), emails, "nobody was emailed");

    // Reopened, the case takes changes again.
    gql(
        &app,
        staff,
        "mutation($id: ID!) { reopenCase(id: $id) { id } }",
        json!({ "id": w.case_id }),
    )
    .await
    .data();
    gql(
        &app,
        staff,
        "mutation($c: ID!) { addCaseNote(caseId: $c, body: \"Reopened after new evidence\") { id } }",
        json!({ "c": w.case_id }),
    )
    .await
    .data();
    gql(
        &app,
        resident,
        "mutation($t: ID!) { completeTask(id: $t) { id } }",
        json!({ "t": resident_task }),
    )
    .await
    .data();
    app.run_pending_jobs().await;
}

async fn close_again(app: &TestApp, w: &World) -> TestResponse {
    gql(
        app,
        Some(&w.staff.token),
        "mutation($id: ID!) { closeCase(id: $id) { id } }",
        json!({ "id": w.case_id }),
    )
    .await
}
