//! Tasks (Ombudsman seed "Tasks", "My tasks"): staff set a task for a party;
//! the assignee completes it or says they cannot, with a reason of at most
//! 280 characters that goes to the case owner by email; the owner reviews
//! that answer (new date, reassign, close). Someone else's task answers
//! `NOT_FOUND`; staff may see a task but not do it (`FORBIDDEN`); a closed
//! case's task is `CONFLICT`; every refusal changes nothing.

use chrono::{Duration, Utc};
use entities::{TaskStatus, task};
use portal_tests::TestApp;
use portal_tests::gid;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::support::casework::{create_task, email_filters, gql, world};

const MY_TASKS: &str = "query($filter: TaskFilter) { myTasks(filter: $filter) { edges { node {
  id title dueDate status overdue assigneeKind assigneeName case { reference } } } } }";
const COMPLETE: &str = "mutation($id: ID!) { completeTask(id: $id) { status completedAt } }";
const UNABLE: &str = "mutation($id: ID!, $reason: String!) {
  reportTaskUnableToComplete(id: $id, reason: $reason) { status unableReason } }";
const REVIEW: &str = "mutation($id: ID!, $input: ReviewTaskInput!) {
  reviewTask(id: $id, input: $input) { status dueDate assigneeKind unableReason reviewedAt } }";

async fn status(app: &TestApp, id: &str) -> task::Model {
    task::Entity::find_by_id(portal_tests::uuid_of(id))
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn my_tasks_lists_each_sides_own_tasks_across_cases() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    create_task(&app, &w, false, "Upload documents for investigation").await;
    create_task(&app, &w, true, "Provide your repair records").await;

    let mine = gql(&app, Some(&w.resident.token), MY_TASKS, json!({})).await;
    let edges = mine.data()["myTasks"]["edges"].as_array().unwrap().clone();
    assert_eq!(edges.len(), 1);
    let node = &edges[0]["node"];
    assert_eq!(node["title"], "Upload documents for investigation");
    assert_eq!(node["status"], "PENDING");
    assert_eq!(node["overdue"], false);
    assert_eq!(node["assigneeKind"], "RESIDENT");
    assert_eq!(node["assigneeName"], "Test Resident");
    assert_eq!(node["case"]["reference"], w.reference.as_str());

    let theirs = gql(&app, Some(&w.landlord.token), MY_TASKS, json!({})).await;
    let edges = theirs.data()["myTasks"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0]["node"]["assigneeName"], "Test Housing Association");

    let staff = gql(&app, Some(&w.staff.token), MY_TASKS, json!({})).await;
    assert_eq!(
        staff.data()["myTasks"]["edges"].as_array().map(Vec::len),
        Some(2)
    );
    for outsider in [&w.other_resident, &w.other_landlord] {
        let none = gql(&app, Some(&outsider.token), MY_TASKS, json!({})).await;
        assert_eq!(none.data()["myTasks"]["edges"], json!([]));
    }
    let overdue = gql(
        &app,
        Some(&w.resident.token),
        MY_TASKS,
        json!({ "filter": { "overdue": true } }),
    )
    .await;
    assert_eq!(overdue.data()["myTasks"]["edges"], json!([]));
}

#[tokio::test]
async fn the_assignee_completes_a_task_and_nobody_else_can() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let id = create_task(&app, &w, false, "Please complete this task").await;

    for (who, code) in [
        (&w.other_resident, "NOT_FOUND"),
        (&w.landlord, "NOT_FOUND"),
        (&w.other_landlord, "NOT_FOUND"),
        (&w.staff, "FORBIDDEN"),
    ] {
        let refused = gql(&app, Some(&who.token), COMPLETE, json!({ "id": id })).await;
        assert_eq!(refused.error_code(), code);
    }
    assert_eq!(
        gql(&app, None, COMPLETE, json!({ "id": id }))
            .await
            .error_code(),
        "UNAUTHENTICATED"
    );
    assert_eq!(status(&app, &id).await.status, TaskStatus::Pending);

    let done = gql(&app, Some(&w.resident.token), COMPLETE, json!({ "id": id })).await;
    assert_eq!(done.data()["completeTask"]["status"], "COMPLETED");
    let twice = gql(&app, Some(&w.resident.token), COMPLETE, json!({ "id": id })).await;
    assert_eq!(twice.error_code(), "CONFLICT");
}

#[tokio::test]
async fn unable_to_complete_emails_the_case_owner_who_reviews_it() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let id = create_task(&app, &w, true, "Provide your repair records").await;

    // Too long: field error, nothing changed, nobody emailed.
    let long = "x".repeat(281);
    let refused = gql(
        &app,
        Some(&w.landlord.token),
        UNABLE,
        json!({ "id": id, "reason": long }),
    )
    .await;
    assert_eq!(refused.error_code(), "BAD_USER_INPUT");
    assert_eq!(refused.body["errors"][0]["extensions"]["field"], "reason");
    assert_eq!(
        refused.body["errors"][0]["extensions"]["reasons"],
        json!(["Must be at most 280 characters (this is 281)."])
    );
    assert_eq!(status(&app, &id).await.status, TaskStatus::Pending);
    assert_eq!(app.run_pending_jobs().await, 0);

    let reason = "x".repeat(280);
    let ok = gql(
        &app,
        Some(&w.landlord.token),
        UNABLE,
        json!({ "id": id, "reason": reason }),
    )
    .await;
    assert_eq!(
        ok.data()["reportTaskUnableToComplete"]["status"],
        "UNABLE_TO_COMPLETE"
    );
    let reason = "The records were destroyed in a flood in 2019.";
    // A reported task is no longer pending.
    let again = gql(
        &app,
        Some(&w.landlord.token),
        UNABLE,
        json!({ "id": id, "reason": reason }),
    )
    .await;
    assert_eq!(again.error_code(), "CONFLICT");

    app.run_pending_jobs().await;
    let emails = app.emails().await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].to, w.staff.user.email);
    let filters = email_filters(&app);
    insta::with_settings!({ filters => filters.iter().map(|(a, b)| (a.as_str(), *b)).collect::<Vec<_>>() }, {
        insta::assert_yaml_snapshot!("task_unable_to_complete_email", &emails[0]);
    });

    // Review: another date puts it back to pending for the same party.
    let past = (Utc::now().date_naive() - Duration::days(1)).to_string();
    let bad_date = gql(
        &app,
        Some(&w.staff.token),
        REVIEW,
        json!({ "id": id, "input": { "newDueDate": past } }),
    )
    .await;
    assert_eq!(bad_date.error_code(), "BAD_USER_INPUT");
    let not_a_date = gql(
        &app,
        Some(&w.staff.token),
        REVIEW,
        json!({ "id": id, "input": { "newDueDate": "31/02/2026" } }),
    )
    .await;
    assert_eq!(not_a_date.error_code(), "BAD_USER_INPUT");
    let by_landlord = gql(
        &app,
        Some(&w.landlord.token),
        REVIEW,
        json!({ "id": id, "input": { "close": true } }),
    )
    .await;
    assert_eq!(by_landlord.error_code(), "FORBIDDEN");
    let later = (Utc::now().date_naive() + Duration::days(30)).to_string();
    let reviewed = gql(
        &app,
        Some(&w.staff.token),
        REVIEW,
        json!({ "id": id, "input": { "newDueDate": later } }),
    )
    .await;
    let reviewed = &reviewed.data()["reviewTask"];
    assert_eq!(reviewed["status"], "PENDING");
    assert_eq!(reviewed["dueDate"], later.as_str());
    assert_eq!(reviewed["unableReason"], Value::Null);
    // Pending again: not reviewable.
    let pending = gql(
        &app,
        Some(&w.staff.token),
        REVIEW,
        json!({ "id": id, "input": { "close": true } }),
    )
    .await;
    assert_eq!(pending.error_code(), "CONFLICT");

    // Unable again, then reassigned to the resident, then unable and closed.
    gql(
        &app,
        Some(&w.landlord.token),
        UNABLE,
        json!({ "id": id, "reason": reason }),
    )
    .await
    .data();
    let reassigned = gql(
        &app,
        Some(&w.staff.token),
        REVIEW,
        json!({ "id": id, "input": { "reassignTo": { "residentUserId": gid("User", w.resident.user.id) } } }),
    )
    .await;
    assert_eq!(reassigned.data()["reviewTask"]["assigneeKind"], "RESIDENT");
    let gone = gql(&app, Some(&w.landlord.token), COMPLETE, json!({ "id": id })).await;
    assert_eq!(gone.error_code(), "NOT_FOUND");
    gql(
        &app,
        Some(&w.resident.token),
        UNABLE,
        json!({ "id": id, "reason": reason }),
    )
    .await
    .data();
    let closed = gql(
        &app,
        Some(&w.staff.token),
        REVIEW,
        json!({ "id": id, "input": { "close": true } }),
    )
    .await;
    let closed = &closed.data()["reviewTask"];
    assert_eq!(closed["status"], "UNABLE_TO_COMPLETE");
    assert!(closed["reviewedAt"].is_string());
    app.run_pending_jobs().await;
}

#[tokio::test]
async fn staff_set_tasks_only_for_parties_with_valid_dates_and_closed_cases_are_frozen() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let create = "mutation($case: ID!, $input: CreateTaskInput!) { createTask(caseId: $case, input: $input) { id } }";
    let due = (Utc::now().date_naive() + Duration::days(7)).to_string();
    let outsider = gql(
        &app,
        Some(&w.staff.token),
        create,
        json!({ "case": w.case_id, "input": { "title": "T", "dueDate": due, "assignee": { "residentUserId": gid("User", w.other_resident.user.id) } } }),
    )
    .await;
    assert_eq!(outsider.error_code(), "BAD_USER_INPUT");
    assert_eq!(
        outsider.body["errors"][0]["extensions"]["field"],
        "input.assignee"
    );
    let both = gql(
        &app,
        Some(&w.staff.token),
        create,
        json!({ "case": w.case_id, "input": { "title": "T", "dueDate": due, "assignee": { "residentUserId": gid("User", w.resident.user.id), "organisationId": gid("Organisation", w.org) } } }),
    )
    .await;
    assert_eq!(both.error_code(), "BAD_USER_INPUT");
    let by_resident = gql(
        &app,
        Some(&w.resident.token),
        create,
        json!({ "case": w.case_id, "input": { "title": "T", "dueDate": due, "assignee": { "residentUserId": gid("User", w.resident.user.id) } } }),
    )
    .await;
    assert_eq!(by_resident.error_code(), "FORBIDDEN");

    let yesterday = (Utc::now().date_naive() - Duration::days(1)).to_string();
    let past = gql(
        &app,
        Some(&w.staff.token),
        create,
        json!({ "case": w.case_id, "input": { "title": "T", "dueDate": yesterday, "assignee": { "residentUserId": gid("User", w.resident.user.id) } } }),
    )
    .await;
    assert_eq!(past.error_code(), "BAD_USER_INPUT");
    assert_eq!(
        past.body["errors"][0]["extensions"]["field"],
        "input.dueDate"
    );
    let not_a_date = gql(
        &app,
        Some(&w.staff.token),
        create,
        json!({ "case": w.case_id, "input": { "title": "T", "dueDate": "2026-13-01", "assignee": { "residentUserId": gid("User", w.resident.user.id) } } }),
    )
    .await;
    assert_eq!(not_a_date.error_code(), "BAD_USER_INPUT");
    assert_eq!(
        task::Entity::find().all(app.db()).await.unwrap().len(),
        0,
        "nothing was created"
    );

    let id = create_task(&app, &w, false, "Upload documents").await;
    gql(
        &app,
        Some(&w.staff.token),
        "mutation($id: ID!) { closeCase(id: $id) { id } }",
        json!({ "id": w.case_id }),
    )
    .await
    .data();
    let frozen = gql(&app, Some(&w.resident.token), COMPLETE, json!({ "id": id })).await;
    assert_eq!(frozen.error_code(), "CONFLICT");
    let frozen = gql(
        &app,
        Some(&w.resident.token),
        UNABLE,
        json!({ "id": id, "reason": "No" }),
    )
    .await;
    assert_eq!(frozen.error_code(), "CONFLICT");
    let no_new = gql(
        &app,
        Some(&w.staff.token),
        create,
        json!({ "case": w.case_id, "input": { "title": "T", "dueDate": due, "assignee": { "residentUserId": gid("User", w.resident.user.id) } } }),
    )
    .await;
    assert_eq!(no_new.error_code(), "CONFLICT");
    assert_eq!(status(&app, &id).await.status, TaskStatus::Pending);
    // Closed cases' tasks leave "My tasks" unless asked for.
    let open_only = gql(&app, Some(&w.resident.token), MY_TASKS, json!({})).await;
    assert_eq!(open_only.data()["myTasks"]["edges"], json!([]));
    let all = gql(
        &app,
        Some(&w.resident.token),
        MY_TASKS,
        json!({ "filter": { "includeClosedCases": true } }),
    )
    .await;
    assert_eq!(
        all.data()["myTasks"]["edges"].as_array().map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn two_landlord_users_completing_one_task_at_once_leave_one_success() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let colleague = app.landlord_user(w.org, &[]).await;
    let id = create_task(&app, &w, true, "Provide your repair records").await;
    let (a, b) = tokio::join!(
        gql(&app, Some(&w.landlord.token), COMPLETE, json!({ "id": id })),
        gql(
            &app,
            Some(&colleague.token),
            UNABLE,
            json!({ "id": id, "reason": "We have none" })
        ),
    );
    let mut codes = vec![a.error_codes(), b.error_codes()];
    codes.sort();
    assert_eq!(codes, vec![vec![], vec!["CONFLICT".to_owned()]]);
    let task = status(&app, &id).await;
    let unable_won = b.error_codes().is_empty();
    assert_eq!(
        task.status,
        if unable_won {
            TaskStatus::UnableToComplete
        } else {
            TaskStatus::Completed
        }
    );
    app.run_pending_jobs().await;
}

/// A due date must be exactly `YYYY-MM-DD`: anything else is
/// `BAD_USER_INPUT` naming the format, and no task is made.
#[tokio::test]
async fn a_due_date_that_is_not_yyyy_mm_dd_is_refused() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    for bad in ["2030-3-5", "05/03/2030", "2030-02-30"] {
        let response = gql(
            &app,
            Some(&w.staff.token),
            "mutation($case: ID!, $input: CreateTaskInput!) { createTask(caseId: $case, input: $input) { id } }",
            json!({ "case": w.case_id, "input": { "title": "Send photos", "dueDate": bad,
                "assignee": { "residentUserId": gid("User", w.resident.user.id) } } }),
        )
        .await;
        assert_eq!(response.error_code(), "BAD_USER_INPUT", "{bad}");
        let message = response.body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("YYYY-MM-DD"), "{bad}: {message}");
    }
    assert!(task::Entity::find().all(app.db()).await.unwrap().is_empty());
}
