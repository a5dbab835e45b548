//! The authorization matrix of casework: every case, task and message
//! operation, run as the resident of the case, another resident, a user of
//! the case's landlord, a user of another landlord, staff and an anonymous
//! caller, with the answer each must get.
//!
//! Each operation runs on a fresh case (so one caller's success cannot
//! change another's answer) with a task for the resident, one for the
//! landlord, a resident task already reported "unable to complete" (for the
//! review) and a staff message.
//!
//! The rules the table encodes (see `api/src/policy`):
//! - anonymous: `UNAUTHENTICATED`, always;
//! - staff-only back office: portal users get `FORBIDDEN`;
//! - an object the caller may not see: `NOT_FOUND` (lists leave it out);
//! - a task visible to staff but not theirs to do: `FORBIDDEN`.

use chrono::{Duration, Utc};
use portal_tests::gid;
use portal_tests::{TestApp, TestResponse};
use serde_json::{Value, json};

use crate::support::casework::{World, create_case, gql, world};

/// What a caller must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Data, no error.
    Ok,
    /// Data that includes the fixture's object.
    Sees,
    /// Data that leaves the fixture's object out.
    Hidden,
    /// This error code.
    Err(&'static str),
}
use Expect::{Err, Hidden, Ok, Sees};

/// The objects of one row.
struct Fixture {
    case_id: String,
    resident_task: String,
    landlord_task: String,
    unable_task: String,
    message: String,
    landlord_party: String,
}

async fn fixture(app: &TestApp, w: &World) -> Fixture {
    let (case_id, _) = create_case(app, &w.staff, Some(w.resident.user.id), Some(w.org)).await;
    let due = (Utc::now().date_naive() + Duration::days(10)).to_string();
    let mut tasks = vec![];
    for assignee in [
        json!({ "residentUserId": gid("User", w.resident.user.id) }),
        json!({ "organisationId": gid("Organisation", w.org) }),
        json!({ "residentUserId": gid("User", w.resident.user.id) }),
    ] {
        let r = gql(app, Some(&w.staff.token),
            "mutation($c: ID!, $i: CreateTaskInput!) { createTask(caseId: $c, input: $i) { id } }",
            json!({ "c": case_id, "i": { "title": "Upload documents", "dueDate": due, "assignee": assignee } }),
        ).await;
        tasks.push(r.data()["createTask"]["id"].as_str().unwrap().to_owned());
    }
    gql(app, Some(&w.resident.token),
        "mutation($id: ID!) { reportTaskUnableToComplete(id: $id, reason: \"I do not have them\") { id } }",
        json!({ "id": tasks[2] }),
    ).await.data();
    let m = gql(app, Some(&w.staff.token),
        "mutation($c: ID!) { sendMessage(caseId: $c, input: { subject: \"Evidence\", body: \"Please send it.\" }) { id } }",
        json!({ "c": case_id }),
    ).await;
    let case = gql(
        app,
        Some(&w.staff.token),
        "query($id: ID!) { case(id: $id) { parties { id kind } } }",
        json!({ "id": case_id }),
    )
    .await;
    let landlord_party = case.data()["case"]["parties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "LANDLORD")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Fixture {
        case_id,
        resident_task: tasks[0].clone(),
        landlord_task: tasks[1].clone(),
        unable_task: tasks[2].clone(),
        message: m.data()["sendMessage"]["id"].as_str().unwrap().to_owned(),
        landlord_party,
    }
}

type Vars = fn(&Fixture, &World) -> Value;

/// One row: operation, its variables, and the answers of
/// [resident, other resident, landlord, other landlord, staff, anonymous].
struct Row {
    name: &'static str,
    query: &'static str,
    vars: Vars,
    marker: fn(&Fixture) -> String,
    expect: [Expect; 6],
}

fn case_marker(f: &Fixture) -> String {
    f.case_id.clone()
}
fn task_marker(f: &Fixture) -> String {
    f.resident_task.clone()
}

fn rows() -> Vec<Row> {
    const NF: Expect = Err("NOT_FOUND");
    const FB: Expect = Err("FORBIDDEN");
    const UA: Expect = Err("UNAUTHENTICATED");
    vec![
        Row {
            name: "cases",
            query: "{ cases(first: 100) { edges { node { id } } } }",
            vars: |_, _| json!({}),
            marker: case_marker,
            expect: [Sees, Hidden, Sees, Hidden, Sees, UA],
        },
        Row {
            name: "home",
            query: "{ home(first: 100) { edges { node { case { id } overdue } } } }",
            vars: |_, _| json!({}),
            marker: case_marker,
            expect: [Sees, Hidden, Sees, Hidden, Sees, UA],
        },
        Row {
            name: "case",
            query: "query($id: ID!) { case(id: $id) { id owner { name } tasks { id } messages { id } unreadCount } }",
            vars: |f, _| json!({ "id": f.case_id }),
            marker: case_marker,
            expect: [Sees, NF, Sees, NF, Sees, UA],
        },
        Row {
            name: "myTasks",
            query: "{ myTasks(first: 100) { edges { node { id } } } }",
            vars: |_, _| json!({}),
            marker: task_marker,
            expect: [Sees, Hidden, Hidden, Hidden, Sees, UA],
        },
        Row {
            name: "task",
            query: "query($id: ID!) { task(id: $id) { id } }",
            vars: |f, _| json!({ "id": f.resident_task }),
            marker: task_marker,
            expect: [Sees, NF, NF, NF, Sees, UA],
        },
        Row {
            name: "message",
            query: "query($id: ID!) { message(id: $id) { id body } }",
            vars: |f, _| json!({ "id": f.message }),
            marker: |f| f.message.clone(),
            expect: [Sees, NF, Sees, NF, Sees, UA],
        },
        Row {
            name: "unreadCounts",
            query: "{ unreadCounts { total byCase { caseId } } }",
            vars: |_, _| json!({}),
            marker: case_marker,
            expect: [Sees, Hidden, Sees, Hidden, Ok, UA],
        },
        Row {
            name: "createCase",
            query: "mutation { createCase(input: { type: \"T\", stage: \"S\", statusLabel: \"L\", category: \"C\" }) { id } }",
            vars: |_, _| json!({}),
            marker: case_marker,
            expect: [FB, FB, FB, FB, Ok, UA],
        },
        Row {
            name: "updateCase",
            query: "mutation($id: ID!) { updateCase(id: $id, input: { stage: \"DR2 Review\" }) { id } }",
            vars: |f, _| json!({ "id": f.case_id }),
            marker: case_marker,
            expect: [FB, FB, FB, FB, Ok, UA],
        },
        Row {
            name: "assignCaseOwner",
            query: "mutation($id: ID!, $o: ID!) { assignCaseOwner(id: $id, ownerUserId: $o) { id } }",
            vars: |f, w| json!({ "id": f.case_id, "o": gid("User", w.staff.user.id) }),
            marker: case_marker,
            expect: [FB, FB, FB, FB, Ok, UA],
        },
        Row {
            name: "addCaseParty",
            query: "mutation($id: ID!, $u: ID!) { addCaseParty(caseId: $id, input: { residentUserId: $u }) { id } }",
            vars: |f, w| json!({ "id": f.case_id, "u": gid("User", w.other_resident.user.id) }),
            marker: case_marker,
            expect: [FB, FB, FB, FB, Ok, UA],
        },
        Row {
            name: "removeCaseParty",
            query: "mutation($p: ID!) { removeCaseParty(id: $p) { id } }",
            vars: |f, _| json!({ "p": f.landlord_party }),
            marker: case_marker,
            expect: [FB, FB, FB, FB, Ok, UA],
        },
        Row {
            name: "closeCase",
            query: "mutation($id: ID!) { closeCase(id: $id) { id } }",
            vars: |f, _| json!({ "id": f.case_id }),
            marker: case_marker,
            expect: [FB, FB, FB, FB, Ok, UA],
        },
        Row {
            name: "reopenCase (open case)",
            query: "mutation($id: ID!) { reopenCase(id: $id) { id } }",
            vars: |f, _| json!({ "id": f.case_id }),
            marker: case_marker,
            expect: [FB, FB, FB, FB, Err("CONFLICT"), UA],
        },
        Row {
            name: "createTask",
            query: "mutation($id: ID!, $u: ID!, $d: Date!) { createTask(caseId: $id, input: { title: \"T\", dueDate: $d, assignee: { residentUserId: $u } }) { id } }",
            vars: |f, w| json!({ "id": f.case_id, "u": gid("User", w.resident.user.id), "d": (Utc::now().date_naive() + Duration::days(3)).to_string() }),
            marker: case_marker,
            expect: [FB, FB, FB, FB, Ok, UA],
        },
        Row {
            name: "reviewTask",
            query: "mutation($id: ID!) { reviewTask(id: $id, input: { close: true }) { id } }",
            vars: |f, _| json!({ "id": f.unable_task }),
            marker: case_marker,
            expect: [FB, FB, FB, FB, Ok, UA],
        },
        Row {
            name: "completeTask (resident's)",
            query: "mutation($id: ID!) { completeTask(id: $id) { id } }",
            vars: |f, _| json!({ "id": f.resident_task }),
            marker: case_marker,
            expect: [Ok, NF, NF, NF, FB, UA],
        },
        Row {
            name: "reportTaskUnableToComplete (landlord's)",
            query: "mutation($id: ID!) { reportTaskUnableToComplete(id: $id, reason: \"No records\") { id } }",
            vars: |f, _| json!({ "id": f.landlord_task }),
            marker: case_marker,
            expect: [NF, NF, Ok, NF, FB, UA],
        },
        Row {
            name: "sendMessage",
            query: "mutation($id: ID!) { sendMessage(caseId: $id, input: { subject: \"S\", body: \"B\" }) { id } }",
            vars: |f, _| json!({ "id": f.case_id }),
            marker: case_marker,
            expect: [FB, FB, FB, FB, Ok, UA],
        },
        Row {
            name: "replyToMessage",
            query: "mutation($id: ID!) { replyToMessage(messageId: $id, body: \"Sent today\") { id } }",
            vars: |f, _| json!({ "id": f.message }),
            marker: case_marker,
            expect: [Ok, NF, Ok, NF, FB, UA],
        },
        Row {
            name: "addCaseNote",
            query: "mutation($id: ID!) { addCaseNote(caseId: $id, body: \"Called the resident\") { id } }",
            vars: |f, _| json!({ "id": f.case_id }),
            marker: case_marker,
            expect: [FB, FB, FB, FB, Ok, UA],
        },
        Row {
            name: "case notes",
            query: "query($id: ID!) { case(id: $id) { notes { id } } }",
            vars: |f, _| json!({ "id": f.case_id }),
            marker: case_marker,
            expect: [FB, NF, FB, NF, Ok, UA],
        },
        Row {
            name: "markMessagesRead",
            query: "mutation($id: ID!) { markMessagesRead(input: {caseId: $id}) { total } }",
            vars: |f, _| json!({ "id": f.case_id }),
            marker: case_marker,
            expect: [Ok, NF, Ok, NF, Ok, UA],
        },
    ]
}

fn answer(response: &TestResponse, marker: &str) -> Expect {
    let codes = response.error_codes();
    match codes.first() {
        Some(code) => Err(match code.as_str() {
            "NOT_FOUND" => "NOT_FOUND",
            "FORBIDDEN" => "FORBIDDEN",
            "UNAUTHENTICATED" => "UNAUTHENTICATED",
            "CONFLICT" => "CONFLICT",
            "BAD_USER_INPUT" => "BAD_USER_INPUT",
            _ => "OTHER",
        }),
        None if response.body["data"].to_string().contains(marker) => Sees,
        None => Hidden,
    }
}

#[tokio::test]
async fn every_casework_operation_answers_each_kind_of_caller_as_the_policy_says() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let mut failures = vec![];
    for row in rows() {
        let f = fixture(&app, &w).await;
        let callers = [
            ("resident", Some(w.resident.token.as_str())),
            ("other resident", Some(w.other_resident.token.as_str())),
            ("landlord", Some(w.landlord.token.as_str())),
            ("other landlord", Some(w.other_landlord.token.as_str())),
            ("staff", Some(w.staff.token.as_str())),
            ("anonymous", None),
        ];
        for ((who, token), expected) in callers.into_iter().zip(row.expect) {
            let response = gql(&app, token, row.query, (row.vars)(&f, &w)).await;
            let got = answer(&response, &(row.marker)(&f));
            let ok = match expected {
                Ok => matches!(got, Sees | Hidden),
                other => got == other,
            };
            if !ok {
                failures.push(format!(
                    "{} as {who}: expected {expected:?}, got {got:?}: {}",
                    row.name, response.body
                ));
            }
        }
    }
    app.run_pending_jobs().await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
