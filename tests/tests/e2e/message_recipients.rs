//! Messages to chosen parties and internal notes (issue 15, point 3): a
//! caseworker writes to the resident alone (about medical evidence, say),
//! to the landlord alone, or to both; only the recipients see the message,
//! its attachments, its "Read message" task and its email, and only they
//! count it unread. Internal notes are for staff alone: no party sees one,
//! nobody is emailed, no task is set. Bad recipients store nothing.

use entities::{case_note, document, message, task};
use portal_tests::{TestApp, TestResponse};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::support::casework::{World, create_case, gql, world};

const SEND: &str = "mutation($c: ID!, $input: SendMessageInput!, $files: [DocumentUploadInput!]) {
  sendMessage(caseId: $c, input: $input, attachments: $files) {
    id recipients attachments { id fileName category }
  } }";
const THREAD: &str = "query($id: ID!) { case(id: $id) { unreadCount
  messages { id subject fromStaff recipients attachments { id fileName } }
  documents { id fileName message { id } } } }";
const UNREAD: &str = "{ unreadCounts { total byCase { caseId count } } }";
const ONE_MESSAGE: &str = "query($id: ID!) { message(id: $id) { id } }";
const ONE_DOCUMENT: &str = "query($id: ID!) { document(id: $id) { id downloadUrl } }";
const MY_TASKS: &str = "{ myTasks { edges { node { title sourceMessage { id } } } } }";
const REPLY: &str =
    "mutation($id: ID!) { replyToMessage(messageId: $id, body: \"Letter attached\") { id } }";

fn pdf(body: &str) -> Vec<u8> {
    format!("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% {body}\ntrailer << /Root 1 0 R >>\n%%EOF\n")
        .into_bytes()
}

/// Sends a staff message to `recipients` (`None`: left out) with one PDF
/// attachment, through the multipart spec.
async fn send_with_letter(
    app: &TestApp,
    w: &World,
    case_id: &str,
    subject: &str,
    recipients: Option<Value>,
) -> TestResponse {
    let mut input = json!({ "subject": subject, "body": "Please see the attached letter." });
    if let Some(r) = recipients {
        input["recipients"] = r;
    }
    let letter = pdf(subject);
    app.graphql_multipart(
        Some(&w.staff.token),
        SEND,
        json!({ "c": case_id, "input": input, "files": [{ "file": null, "category": "MEDICAL" }] }),
        &[("variables.files.0.file", "Letter.pdf", letter.as_slice())],
    )
    .await
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .map(|v| v["id"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn emailed(app: &TestApp) -> Vec<String> {
    let mut to: Vec<String> = app.emails().await.into_iter().map(|e| e.to).collect();
    to.sort();
    to
}

#[tokio::test]
async fn a_caseworker_writes_to_the_resident_alone_and_the_landlord_sees_none_of_it() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let colleague = app.landlord_user(w.org, &[]).await;

    let sent = send_with_letter(
        &app,
        &w,
        &w.case_id,
        "Your medical evidence",
        Some(json!(["RESIDENT"])),
    )
    .await;
    let sent = sent.data()["sendMessage"].clone();
    let message_id = sent["id"].as_str().unwrap().to_owned();
    assert_eq!(sent["recipients"], json!(["RESIDENT"]));
    let attachment = sent["attachments"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(sent["attachments"][0]["fileName"], "Letter.pdf");
    app.run_pending_jobs().await;

    // Only the resident is emailed and given a "Read message" task.
    assert_eq!(emailed(&app).await, vec![w.resident.user.email.clone()]);
    let resident_tasks = gql(&app, Some(&w.resident.token), MY_TASKS, json!({})).await;
    assert_eq!(
        resident_tasks.data()["myTasks"]["edges"][0]["node"]["sourceMessage"]["id"],
        message_id.as_str()
    );
    assert_eq!(
        task::Entity::find().count(app.db()).await.unwrap(),
        1,
        "no task for the landlord"
    );

    // The resident sees the message, its letter, and counts it unread.
    let thread = gql(
        &app,
        Some(&w.resident.token),
        THREAD,
        json!({ "id": w.case_id }),
    )
    .await;
    let case = &thread.data()["case"];
    assert_eq!(ids(&case["messages"]), vec![message_id.clone()]);
    assert_eq!(case["messages"][0]["recipients"], json!(["RESIDENT"]));
    assert_eq!(
        ids(&case["messages"][0]["attachments"]),
        vec![attachment.clone()]
    );
    assert_eq!(ids(&case["documents"]), vec![attachment.clone()]);
    assert_eq!(case["unreadCount"], 1);
    let unread = gql(&app, Some(&w.resident.token), UNREAD, json!({})).await;
    assert_eq!(unread.data()["unreadCounts"]["total"], 1);
    let own = gql(
        &app,
        Some(&w.resident.token),
        ONE_DOCUMENT,
        json!({ "id": attachment }),
    )
    .await;
    assert_eq!(own.data()["document"]["id"], attachment.as_str());

    // Every user of the landlord: nothing at all.
    for user in [&w.landlord, &colleague] {
        let token = Some(user.token.as_str());
        let thread = gql(&app, token, THREAD, json!({ "id": w.case_id })).await;
        let case = &thread.data()["case"];
        assert_eq!(case["messages"], json!([]));
        assert_eq!(case["documents"], json!([]));
        assert_eq!(case["unreadCount"], 0);
        let unread = gql(&app, token, UNREAD, json!({})).await;
        assert_eq!(
            unread.data()["unreadCounts"],
            json!({ "total": 0, "byCase": [] })
        );
        for (query, id) in [(ONE_MESSAGE, &message_id), (ONE_DOCUMENT, &attachment)] {
            let hidden = gql(&app, token, query, json!({ "id": id })).await;
            assert_eq!(hidden.error_code(), "NOT_FOUND", "{query}");
        }
        let tasks = gql(&app, token, MY_TASKS, json!({})).await;
        assert_eq!(tasks.data()["myTasks"]["edges"], json!([]));
        let mark = gql(
            &app,
            token,
            "mutation($ids: [ID!]!) { markMessagesRead(input: {messageIds: $ids}) { total } }",
            json!({ "ids": [message_id] }),
        )
        .await;
        assert_eq!(mark.error_code(), "NOT_FOUND");
        let reply = gql(&app, token, REPLY, json!({ "id": message_id })).await;
        assert_eq!(reply.error_code(), "NOT_FOUND");
    }
    // Nor in the landlord administrator's audit log.
    let audit = gql(
        &app,
        Some(&w.landlord.token),
        "{ auditLog(first: 100) { edges { node { targetId } } } }",
        json!({}),
    )
    .await;
    let audit = audit.data()["auditLog"].to_string();
    assert!(!audit.contains(&message_id) && !audit.contains(&attachment));

    // The resident's reply stays between them and the caseworker.
    let reply = gql(
        &app,
        Some(&w.resident.token),
        REPLY,
        json!({ "id": message_id }),
    )
    .await;
    let reply_id = reply.data()["replyToMessage"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let landlord_thread = gql(
        &app,
        Some(&w.landlord.token),
        THREAD,
        json!({ "id": w.case_id }),
    )
    .await;
    assert_eq!(landlord_thread.data()["case"]["messages"], json!([]));
    let staff_thread = gql(
        &app,
        Some(&w.staff.token),
        THREAD,
        json!({ "id": w.case_id }),
    )
    .await;
    let case = &staff_thread.data()["case"];
    assert_eq!(
        ids(&case["messages"]),
        vec![message_id.clone(), reply_id.clone()]
    );
    assert_eq!(case["messages"][0]["recipients"], json!(["RESIDENT"]));
    assert_eq!(case["messages"][1]["recipients"], json!([]), "a reply");
    assert_eq!(
        ids(&case["messages"][0]["attachments"]),
        vec![attachment.clone()]
    );
    app.run_pending_jobs().await;
}

#[tokio::test]
async fn a_message_to_both_reaches_both_and_one_to_the_landlord_only_the_landlord() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let colleague = app.landlord_user(w.org, &[]).await;

    let both = send_with_letter(
        &app,
        &w,
        &w.case_id,
        "To you both",
        Some(json!(["RESIDENT", "LANDLORD"])),
    )
    .await;
    let both = both.data()["sendMessage"].clone();
    assert_eq!(both["recipients"], json!(["RESIDENT", "LANDLORD"]));
    app.run_pending_jobs().await;
    let mut everyone = vec![
        w.resident.user.email.clone(),
        w.landlord.user.email.clone(),
        colleague.user.email.clone(),
    ];
    everyone.sort();
    assert_eq!(emailed(&app).await, everyone);
    assert_eq!(task::Entity::find().count(app.db()).await.unwrap(), 2);

    let to_landlord = send_with_letter(
        &app,
        &w,
        &w.case_id,
        "Repair records",
        Some(json!(["LANDLORD"])),
    )
    .await;
    let to_landlord = to_landlord.data()["sendMessage"].clone();
    app.run_pending_jobs().await;
    assert_eq!(app.emails().await.len(), 5, "the landlord's two users only");
    assert_eq!(task::Entity::find().count(app.db()).await.unwrap(), 3);

    let both_id = both["id"].as_str().unwrap().to_owned();
    let landlord_id = to_landlord["id"].as_str().unwrap().to_owned();
    let both_letter = both["attachments"][0]["id"].as_str().unwrap().to_owned();
    let landlord_letter = to_landlord["attachments"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (user, messages, letters) in [
        (
            &w.resident,
            vec![both_id.clone()],
            vec![both_letter.clone()],
        ),
        (
            &w.landlord,
            vec![both_id.clone(), landlord_id.clone()],
            vec![landlord_letter.clone(), both_letter.clone()],
        ),
    ] {
        let thread = gql(&app, Some(&user.token), THREAD, json!({ "id": w.case_id })).await;
        let case = &thread.data()["case"];
        assert_eq!(ids(&case["messages"]), messages);
        assert_eq!(ids(&case["documents"]), letters, "newest first");
        assert_eq!(case["unreadCount"], messages.len());
    }
    let hidden = gql(
        &app,
        Some(&w.resident.token),
        ONE_DOCUMENT,
        json!({ "id": landlord_letter }),
    )
    .await;
    assert_eq!(hidden.error_code(), "NOT_FOUND");

    // Left out, the recipients are every party on the case.
    let (resident_only_case, _) = create_case(&app, &w.staff, Some(w.resident.user.id), None).await;
    let default = gql(
        &app,
        Some(&w.staff.token),
        SEND,
        json!({ "c": resident_only_case, "input": { "subject": "S", "body": "B" } }),
    )
    .await;
    assert_eq!(
        default.data()["sendMessage"]["recipients"],
        json!(["RESIDENT"])
    );
    app.run_pending_jobs().await;
}

#[tokio::test]
async fn bad_recipients_are_refused_on_the_field_and_store_nothing() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let (resident_only_case, _) = create_case(&app, &w.staff, Some(w.resident.user.id), None).await;
    let (no_party_case, _) = create_case(&app, &w.staff, None, None).await;

    for (case_id, recipients, reason) in [
        (&w.case_id, Some(json!([])), "Choose who the message is for"),
        (
            &resident_only_case,
            Some(json!(["LANDLORD"])),
            "no landlord party",
        ),
        (
            &resident_only_case,
            Some(json!(["RESIDENT", "LANDLORD"])),
            "no landlord party",
        ),
        (&no_party_case, None, "no party to send it to"),
    ] {
        let refused = send_with_letter(&app, &w, case_id, "Refused", recipients.clone()).await;
        assert_eq!(refused.error_code(), "BAD_USER_INPUT", "{recipients:?}");
        let ext = &refused.body["errors"][0]["extensions"];
        assert_eq!(ext["field"], "input.recipients");
        assert!(ext["reasons"].to_string().contains(reason), "{ext}");
    }
    // Not a kind of party at all: refused by the schema.
    let unknown = gql(
        &app,
        Some(&w.staff.token),
        SEND,
        json!({ "c": w.case_id, "input": { "subject": "S", "body": "B", "recipients": ["TENANT"] } }),
    )
    .await;
    assert_eq!(unknown.error_code(), "BAD_USER_INPUT");

    assert_eq!(message::Entity::find().count(app.db()).await.unwrap(), 0);
    assert_eq!(document::Entity::find().count(app.db()).await.unwrap(), 0);
    assert_eq!(task::Entity::find().count(app.db()).await.unwrap(), 0);
    if let platform::config::StorageConfig::Local { root } = &app.config().storage {
        let stored = std::fs::read_dir(root.join("documents"))
            .map(|d| d.count())
            .unwrap_or(0);
        assert_eq!(stored, 0, "no file kept");
    }
    assert_eq!(
        app.run_pending_jobs().await,
        0,
        "nothing emailed or scanned"
    );
}

#[tokio::test]
async fn internal_notes_are_read_by_staff_only_and_reach_no_party() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let mut events = app.state.events.subscribe();
    let add = "mutation($c: ID!, $b: String!) { addCaseNote(caseId: $c, body: $b) { id body authorName createdAt } }";

    let note = gql(
        &app,
        Some(&w.staff.token),
        add,
        json!({ "c": w.case_id, "b": "Resident called: medical letter to follow." }),
    )
    .await;
    let note = note.data()["addCaseNote"].clone();
    assert_eq!(note["authorName"], "Test Staff");
    let note_id = note["id"].as_str().unwrap().to_owned();
    assert!(events.try_recv().is_err(), "no live update");
    assert_eq!(app.run_pending_jobs().await, 0, "nobody is emailed");
    assert_eq!(task::Entity::find().count(app.db()).await.unwrap(), 0);

    let notes = "query($id: ID!) { case(id: $id) { notes { id body authorName } } }";
    let staff_view = gql(
        &app,
        Some(&w.staff.token),
        notes,
        json!({ "id": w.case_id }),
    )
    .await;
    assert_eq!(
        staff_view.data()["case"]["notes"],
        json!([{ "id": note_id, "body": "Resident called: medical letter to follow.", "authorName": "Test Staff" }])
    );
    for user in [&w.resident, &w.landlord] {
        let token = Some(user.token.as_str());
        let refused = gql(&app, token, notes, json!({ "id": w.case_id })).await;
        assert_eq!(refused.error_code(), "FORBIDDEN");
        let thread = gql(&app, token, THREAD, json!({ "id": w.case_id })).await;
        assert_eq!(thread.data()["case"]["messages"], json!([]));
        assert_eq!(thread.data()["case"]["unreadCount"], 0);
        let unread = gql(&app, token, UNREAD, json!({})).await;
        assert_eq!(unread.data()["unreadCounts"]["total"], 0);
        let write = gql(&app, token, add, json!({ "c": w.case_id, "b": "Mine" })).await;
        assert_eq!(write.error_code(), "FORBIDDEN");
    }
    let staff_thread = gql(
        &app,
        Some(&w.staff.token),
        THREAD,
        json!({ "id": w.case_id }),
    )
    .await;
    assert_eq!(
        staff_thread.data()["case"]["messages"],
        json!([]),
        "a note is not a message"
    );
    // Audited for staff, not in the landlord administrator's log, and the
    // entry does not copy the text.
    let staff_audit = gql(
        &app,
        Some(&w.staff.token),
        "query($id: ID!) { auditLog(filter: { targetId: $id }) { edges { node { action after } } } }",
        json!({ "id": note_id }),
    )
    .await;
    let entry = &staff_audit.data()["auditLog"]["edges"][0]["node"];
    assert_eq!(entry["action"], "case.add_note");
    assert!(!entry["after"].to_string().contains("medical"));
    let landlord_audit = gql(
        &app,
        Some(&w.landlord.token),
        "{ auditLog(first: 100) { edges { node { targetId } } } }",
        json!({}),
    )
    .await;
    assert!(
        !landlord_audit.data()["auditLog"]
            .to_string()
            .contains(&note_id)
    );

    // Bad input stores nothing.
    for body in ["   ".to_owned(), "x".repeat(2001)] {
        let bad = gql(
            &app,
            Some(&w.staff.token),
            add,
            json!({ "c": w.case_id, "b": body }),
        )
        .await;
        assert_eq!(bad.error_code(), "BAD_USER_INPUT");
        assert_eq!(bad.body["errors"][0]["extensions"]["field"], "body");
    }
    let missing = gql(
        &app,
        Some(&w.staff.token),
        add,
        json!({ "c": uuid::Uuid::now_v7(), "b": "Lost" }),
    )
    .await;
    assert_eq!(missing.error_code(), "NOT_FOUND");
    assert_eq!(case_note::Entity::find().count(app.db()).await.unwrap(), 1);
}
