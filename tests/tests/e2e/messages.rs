//! Messages (Ombudsman seed "Messages"): a caseworker writes to the parties
//! of a case; every recipient is emailed and each party gets a "Read
//! message" task, completed when they read it; a party replies once to each
//! staff message (at most 2000 characters), even when two replies race;
//! unread counts per case and in total.

use entities::{TaskStatus, message, task};
use portal_tests::TestApp;
use portal_tests::gid;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use crate::support::casework::{create_case, email_filters, gql, send_message, world};

const REPLY: &str = "mutation($id: ID!, $body: String!) { replyToMessage(messageId: $id, body: $body) { id body fromStaff parentMessage { id fromStaff } senderName } }";
const UNREAD: &str = "{ unreadCounts { total byCase { caseId count } } }";
const UNREAD_CASES: &str = "{ unreadCounts { byCase { caseId case { id reference } } } }";
const THREAD: &str = "query($id: ID!) { case(id: $id) { unreadCount messages { subject body fromStaff senderName read } } }";

#[tokio::test]
async fn a_staff_message_emails_the_recipients_and_sets_read_message_tasks() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let colleague = app.landlord_user(w.org, &[]).await;
    send_message(&app, &w, "Evidence requested: asbestos survey").await;

    app.run_pending_jobs().await;
    let emails = app.emails().await;
    let mut to: Vec<&str> = emails.iter().map(|e| e.to.as_str()).collect();
    to.sort_unstable();
    let mut expected = vec![
        w.resident.user.email.as_str(),
        w.landlord.user.email.as_str(),
        colleague.user.email.as_str(),
    ];
    expected.sort_unstable();
    assert_eq!(to, expected, "the resident and every user of the landlord");
    let resident_email = emails
        .iter()
        .find(|e| e.to == w.resident.user.email)
        .unwrap();
    let filters = email_filters(&app);
    insta::with_settings!({ filters => filters.iter().map(|(a, b)| (a.as_str(), *b)).collect::<Vec<_>>() }, {
        insta::assert_yaml_snapshot!("new_message_email", resident_email);
    });

    let tasks = gql(
        &app,
        Some(&w.resident.token),
        "{ myTasks { edges { node { title status sourceMessage { id subject } } } } }",
        json!({}),
    )
    .await;
    let node = &tasks.data()["myTasks"]["edges"][0]["node"];
    assert_eq!(
        node["title"],
        format!("Read message from case {}", w.reference)
    );
    // The task links to the message it asks the resident to read.
    assert!(node["sourceMessage"]["id"].is_string(), "{node}");
    assert_eq!(
        task::Entity::find()
            .filter(task::Column::SourceMessageId.is_not_null())
            .count(app.db())
            .await
            .unwrap(),
        2,
        "one per party"
    );

    // Unread until read; reading completes the party's task.
    let unread = gql(&app, Some(&w.resident.token), UNREAD, json!({})).await;
    assert_eq!(
        unread.data()["unreadCounts"],
        json!({ "total": 1, "byCase": [{ "caseId": w.case_id, "count": 1 }] })
    );
    // Each count links to its case.
    let unread = gql(&app, Some(&w.resident.token), UNREAD_CASES, json!({})).await;
    assert_eq!(
        unread.data()["unreadCounts"]["byCase"][0]["case"],
        json!({ "id": w.case_id, "reference": w.reference })
    );
    let thread = gql(
        &app,
        Some(&w.resident.token),
        THREAD,
        json!({ "id": w.case_id }),
    )
    .await;
    assert_eq!(thread.data()["case"]["unreadCount"], 1);
    assert_eq!(thread.data()["case"]["messages"][0]["read"], false);
    assert_eq!(
        thread.data()["case"]["messages"][0]["senderName"],
        "Test Staff"
    );
    let read = gql(
        &app,
        Some(&w.resident.token),
        "mutation($id: ID!) { markMessagesRead(input: {caseId: $id}) { total } }",
        json!({ "id": w.case_id }),
    )
    .await;
    assert_eq!(read.data()["markMessagesRead"]["total"], 0);
    let statuses: Vec<(Option<Uuid>, TaskStatus)> = task::Entity::find()
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.assignee_user_id, t.status))
        .collect();
    assert!(statuses.contains(&(Some(w.resident.user.id), TaskStatus::Completed)));
    assert!(
        statuses.contains(&(None, TaskStatus::Pending)),
        "the landlord has not read it"
    );
    // The landlord's other users still have it unread until one reads it.
    let landlord_unread = gql(&app, Some(&colleague.token), UNREAD, json!({})).await;
    assert_eq!(landlord_unread.data()["unreadCounts"]["total"], 1);

    let outsider = gql(
        &app,
        Some(&w.other_resident.token),
        "mutation($id: ID!) { markMessagesRead(input: {caseId: $id}) { total } }",
        json!({ "id": w.case_id }),
    )
    .await;
    assert_eq!(outsider.error_code(), "NOT_FOUND");
}

#[tokio::test]
async fn a_party_replies_once_within_2000_characters_and_only_its_side_sees_the_reply() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let staff_message = send_message(&app, &w, "Evidence requested").await;
    app.run_pending_jobs().await;

    let long = "x".repeat(2001);
    let refused = gql(
        &app,
        Some(&w.resident.token),
        REPLY,
        json!({ "id": staff_message, "body": long }),
    )
    .await;
    assert_eq!(refused.error_code(), "BAD_USER_INPUT");
    assert_eq!(refused.body["errors"][0]["extensions"]["field"], "body");
    let blank = gql(
        &app,
        Some(&w.resident.token),
        REPLY,
        json!({ "id": staff_message, "body": "   " }),
    )
    .await;
    assert_eq!(blank.error_code(), "BAD_USER_INPUT");

    let body = "x".repeat(2000);
    let reply = gql(
        &app,
        Some(&w.resident.token),
        REPLY,
        json!({ "id": staff_message, "body": body }),
    )
    .await;
    let reply = reply.data()["replyToMessage"].clone();
    assert_eq!(reply["fromStaff"], false);
    assert_eq!(reply["parentMessage"]["id"], staff_message.as_str());
    assert_eq!(reply["parentMessage"]["fromStaff"], true);
    let second = gql(
        &app,
        Some(&w.resident.token),
        REPLY,
        json!({ "id": staff_message, "body": "Again" }),
    )
    .await;
    assert_eq!(second.error_code(), "CONFLICT");
    // The thread tells each caller whether they may still reply.
    let flags = "query($id: ID!) { case(id: $id) { messages { fromStaff repliedByMe canReply } } }";
    for (user, replied) in [(&w.resident, true), (&w.landlord, false), (&w.staff, false)] {
        let thread = gql(&app, Some(&user.token), flags, json!({ "id": w.case_id })).await;
        let first = &thread.data()["case"]["messages"][0];
        assert_eq!(first["fromStaff"], true);
        assert_eq!(first["repliedByMe"], replied);
        let may = !replied && user.user.kind != entities::UserKind::Staff;
        assert_eq!(first["canReply"], may);
    }
    // Replies cannot be replied to; staff do not reply; outsiders see nothing.
    let to_reply = gql(
        &app,
        Some(&w.resident.token),
        REPLY,
        json!({ "id": reply["id"], "body": "Hi" }),
    )
    .await;
    assert_eq!(to_reply.error_code(), "CONFLICT");
    let by_staff = gql(
        &app,
        Some(&w.staff.token),
        REPLY,
        json!({ "id": staff_message, "body": "Hi" }),
    )
    .await;
    assert_eq!(by_staff.error_code(), "FORBIDDEN");
    let outsider = gql(
        &app,
        Some(&w.other_landlord.token),
        REPLY,
        json!({ "id": staff_message, "body": "Hi" }),
    )
    .await;
    assert_eq!(outsider.error_code(), "NOT_FOUND");

    // The landlord may reply too (its own party), but never sees the resident's reply.
    let landlord_thread = gql(
        &app,
        Some(&w.landlord.token),
        THREAD,
        json!({ "id": w.case_id }),
    )
    .await;
    assert_eq!(
        landlord_thread.data()["case"]["messages"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let landlord_reads_reply = gql(
        &app,
        Some(&w.landlord.token),
        "query($id: ID!) { message(id: $id) { id } }",
        json!({ "id": reply["id"] }),
    )
    .await;
    assert_eq!(landlord_reads_reply.error_code(), "NOT_FOUND");
    gql(
        &app,
        Some(&w.landlord.token),
        REPLY,
        json!({ "id": staff_message, "body": "We will send it." }),
    )
    .await
    .data();
    let staff_thread = gql(
        &app,
        Some(&w.staff.token),
        THREAD,
        json!({ "id": w.case_id }),
    )
    .await;
    assert_eq!(
        staff_thread.data()["case"]["messages"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    assert_eq!(
        staff_thread.data()["case"]["unreadCount"],
        2,
        "two replies for the caseworker"
    );
    let staff_unread = gql(&app, Some(&w.staff.token), UNREAD, json!({})).await;
    assert_eq!(staff_unread.data()["unreadCounts"]["total"], 2);
}

#[tokio::test]
async fn two_concurrent_replies_from_one_party_leave_exactly_one() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let staff_message = send_message(&app, &w, "Evidence requested").await;
    app.run_pending_jobs().await;
    let (a, b) = tokio::join!(
        gql(
            &app,
            Some(&w.resident.token),
            REPLY,
            json!({ "id": staff_message, "body": "First" })
        ),
        gql(
            &app,
            Some(&w.resident.token),
            REPLY,
            json!({ "id": staff_message, "body": "Second" })
        ),
    );
    let mut codes = vec![a.error_codes(), b.error_codes()];
    codes.sort();
    assert_eq!(codes, vec![vec![], vec!["CONFLICT".to_owned()]]);
    let replies = message::Entity::find()
        .filter(message::Column::ParentMessageId.is_not_null())
        .count(app.db())
        .await
        .unwrap();
    assert_eq!(replies, 1);
}

#[tokio::test]
async fn closed_cases_take_no_messages_or_replies() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let staff_message = send_message(&app, &w, "Evidence requested").await;
    app.run_pending_jobs().await;
    gql(
        &app,
        Some(&w.staff.token),
        "mutation($id: ID!) { closeCase(id: $id) { id } }",
        json!({ "id": w.case_id }),
    )
    .await
    .data();
    let reply = gql(
        &app,
        Some(&w.resident.token),
        REPLY,
        json!({ "id": staff_message, "body": "Late" }),
    )
    .await;
    assert_eq!(reply.error_code(), "CONFLICT");
    let send = gql(
        &app,
        Some(&w.staff.token),
        "mutation($case: ID!) { sendMessage(caseId: $case, input: { subject: \"S\", body: \"B\" }) { id } }",
        json!({ "case": w.case_id }),
    )
    .await;
    assert_eq!(send.error_code(), "CONFLICT");
    assert_eq!(app.run_pending_jobs().await, 0, "nothing was emailed");
}

#[tokio::test]
async fn marking_given_messages_read_needs_every_one_visible_and_changes_nothing_otherwise() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let first = send_message(&app, &w, "First").await;
    let second = send_message(&app, &w, "Second").await;
    app.run_pending_jobs().await;
    let mark = "mutation($input: MarkMessagesReadInput!) { markMessagesRead(input: $input) { total byCase { count } } }";

    // One id the caller cannot see: NOT_FOUND, and nothing is marked.
    let (other_case, _) = create_case(&app, &w.staff, Some(w.other_resident.user.id), None).await;
    let hidden = gql(
        &app,
        Some(&w.staff.token),
        "mutation($c: ID!) { sendMessage(caseId: $c, input: { subject: \"S\", body: \"B\" }) { id } }",
        json!({ "c": other_case }),
    )
    .await;
    let hidden = hidden.data()["sendMessage"]["id"].clone();
    app.run_pending_jobs().await;
    let refused = gql(
        &app,
        Some(&w.resident.token),
        mark,
        json!({ "input": { "messageIds": [first, hidden] } }),
    )
    .await;
    assert_eq!(refused.error_code(), "NOT_FOUND");
    let unread = gql(&app, Some(&w.resident.token), UNREAD, json!({})).await;
    assert_eq!(unread.data()["unreadCounts"]["total"], 2);

    // Neither or both of caseId and messageIds, or no message at all:
    // BAD_USER_INPUT.
    for vars in [
        json!({ "input": {} }),
        json!({ "input": { "caseId": w.case_id, "messageIds": [first] } }),
        json!({ "input": { "messageIds": [] } }),
    ] {
        let bad = gql(&app, Some(&w.resident.token), mark, vars).await;
        assert_eq!(bad.error_code(), "BAD_USER_INPUT");
    }

    let read = gql(
        &app,
        Some(&w.resident.token),
        mark,
        json!({ "input": { "messageIds": [first] } }),
    )
    .await;
    assert_eq!(read.data()["markMessagesRead"]["total"], 1);
    // Only the first message's "Read message" task is done.
    let tasks: Vec<(Option<Uuid>, TaskStatus)> = task::Entity::find()
        .filter(task::Column::AssigneeUserId.eq(w.resident.user.id))
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.source_message_id, t.status))
        .collect();
    let first = portal_tests::uuid_of(&first);
    let second = portal_tests::uuid_of(&second);
    assert!(tasks.contains(&(Some(first), TaskStatus::Completed)));
    assert!(tasks.contains(&(Some(second), TaskStatus::Pending)));

    // Over-long subject or body of a staff message: field errors, nothing sent.
    let long = gql(
        &app,
        Some(&w.staff.token),
        "mutation($c: ID!, $b: String!) { sendMessage(caseId: $c, input: { subject: \"S\", body: $b }) { id } }",
        json!({ "c": w.case_id, "b": "x".repeat(2001) }),
    )
    .await;
    assert_eq!(long.error_code(), "BAD_USER_INPUT");
    assert_eq!(long.body["errors"][0]["extensions"]["field"], "input.body");
    assert_eq!(app.run_pending_jobs().await, 0);
}

#[tokio::test]
async fn casework_changes_publish_their_events_after_commit() {
    use api::events::CaseEvent;
    let app = TestApp::init().await;
    let w = world(&app).await;
    let mut events = app.state.events.subscribe();
    let case_id = portal_tests::uuid_of(&w.case_id);

    let message = portal_tests::uuid_of(&send_message(&app, &w, "Evidence").await);
    app.run_pending_jobs().await;
    let mut seen = vec![];
    while let Ok(event) = events.try_recv() {
        seen.push(event);
    }
    assert_eq!(
        seen[0],
        CaseEvent::MessagePosted {
            case_id,
            message_id: message
        }
    );
    assert_eq!(
        seen.iter()
            .filter(|e| matches!(e, CaseEvent::TaskChanged { .. }))
            .count(),
        2,
        "a Read message task per party: {seen:?}"
    );

    // A refused reply publishes nothing.
    let refused = gql(
        &app,
        Some(&w.other_resident.token),
        REPLY,
        json!({ "id": gid("Message", message), "body": "Hi" }),
    )
    .await;
    assert_eq!(refused.error_code(), "NOT_FOUND");
    assert!(events.try_recv().is_err());

    gql(
        &app,
        Some(&w.resident.token),
        REPLY,
        json!({ "id": gid("Message", message), "body": "Sent" }),
    )
    .await
    .data();
    assert!(matches!(
        events.try_recv(),
        Ok(CaseEvent::MessagePosted { .. })
    ));
    gql(
        &app,
        Some(&w.resident.token),
        "mutation($id: ID!) { markMessagesRead(input: {caseId: $id}) { total } }",
        json!({ "id": w.case_id }),
    )
    .await
    .data();
    assert_eq!(
        events.try_recv().ok(),
        Some(CaseEvent::MessagesRead {
            user_id: w.resident.user.id,
            case_id
        })
    );
    assert!(
        matches!(events.try_recv(), Ok(CaseEvent::TaskChanged { .. })),
        "the Read message task"
    );
}
