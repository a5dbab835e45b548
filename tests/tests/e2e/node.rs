//! Global object identification: typed global ids, `node` and `nodes`.

use portal_tests::{TestApp, gid};
use serde_json::{Value, json};

use crate::{
    documents::{app_with_clamd, pdf, upload},
    support::casework::{create_task, gql, send_message, world},
};

const NODE: &str = "query($id: ID!) { node(id: $id) { __typename id
  ... on Case { reference } ... on Task { title } ... on Message { subject }
  ... on Document { fileName } } }";
const NODES: &str = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }";

#[tokio::test]
async fn a_case_task_message_and_document_are_refetched_through_node() {
    let app = app_with_clamd().await;
    let w = world(&app).await;
    let task = create_task(&app, &w, false, "Send photos").await;
    let message = send_message(&app, &w, "Asbestos survey").await;
    let report = pdf("survey");
    let uploaded = upload(
        &app,
        &w.resident.token,
        &w.case_id,
        &[("Survey.pdf", &report, Some("EVIDENCE"))],
        None,
    )
    .await;
    let document = uploaded.data()["uploadDocuments"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.run_pending_jobs().await;

    for (id, type_name, field, value) in [
        (&w.case_id, "Case", "reference", w.reference.as_str()),
        (&task, "Task", "title", "Send photos"),
        (&message, "Message", "subject", "Asbestos survey"),
        (&document, "Document", "fileName", "Survey.pdf"),
    ] {
        assert!(id.starts_with(&format!("{type_name}_")), "{id}");
        let found = gql(&app, Some(&w.resident.token), NODE, json!({ "id": id })).await;
        let node = &found.data()["node"];
        assert_eq!(node["__typename"], type_name, "{found:?}");
        assert_eq!(node["id"], json!(id));
        assert_eq!(node[field], value);
    }

    // nodes: in the order given, null where node is null.
    let unknown = gid("Case", uuid::Uuid::now_v7());
    let many = gql(
        &app,
        Some(&w.resident.token),
        NODES,
        json!({ "ids": [task, "not-an-id", w.case_id, unknown] }),
    )
    .await;
    assert_eq!(
        many.data()["nodes"],
        json!([
            { "__typename": "Task", "id": task },
            null,
            { "__typename": "Case", "id": w.case_id },
            null,
        ])
    );
}

#[tokio::test]
async fn an_id_of_another_type_names_nothing() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let task = create_task(&app, &w, false, "Send photos").await;
    let token = Some(w.staff.token.as_str());
    // A task id where a case id is expected: NOT_FOUND, as an unknown id.
    let wrong = gql(
        &app,
        token,
        "query($id: ID!) { case(id: $id) { id } }",
        json!({ "id": task }),
    )
    .await;
    assert_eq!(wrong.error_code(), "NOT_FOUND");
    // The bare UUID inside a global id is no id either.
    let bare = portal_tests::uuid_of(&w.case_id).to_string();
    let bare = gql(
        &app,
        token,
        "query($id: ID!) { case(id: $id) { id } }",
        json!({ "id": bare }),
    )
    .await;
    assert_eq!(bare.error_code(), "NOT_FOUND");
    // As an input field, BAD_USER_INPUT on the field.
    let due = (chrono::Utc::now().date_naive() + chrono::Duration::days(3)).to_string();
    let input = gql(
        &app,
        token,
        "mutation($case: ID!, $input: CreateTaskInput!) { createTask(caseId: $case, input: $input) { id } }",
        json!({ "case": w.case_id, "input": { "title": "T", "dueDate": due,
            "assignee": { "residentUserId": gid("Organisation", w.org) } } }),
    )
    .await;
    assert_eq!(input.error_code(), "BAD_USER_INPUT");
    assert_eq!(
        input.body["errors"][0]["extensions"]["field"], "input.assignee",
        "{input:?}"
    );
    // Through node the task id is the task, never the case.
    let found = gql(&app, token, NODE, json!({ "id": task })).await;
    assert_eq!(found.data()["node"]["__typename"], "Task");
}

#[tokio::test]
async fn another_organisations_objects_are_null_through_node() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let task = create_task(&app, &w, true, "Send the survey").await;
    // The landlord of the case sees both; the other landlord neither, and
    // cannot tell them from ids that name nothing.
    let ids = json!({ "ids": [w.case_id, task] });
    let own = gql(&app, Some(&w.landlord.token), NODES, ids.clone()).await;
    assert_eq!(own.data()["nodes"][0]["id"], json!(w.case_id), "{own:?}");
    assert_eq!(own.data()["nodes"][1]["id"], json!(task));
    for id in [&w.case_id, &task] {
        let theirs = gql(
            &app,
            Some(&w.other_landlord.token),
            NODE,
            json!({ "id": id }),
        )
        .await;
        assert!(theirs.body.get("errors").is_none(), "{theirs:?}");
        assert_eq!(theirs.data()["node"], Value::Null);
    }
    let theirs = gql(&app, Some(&w.other_landlord.token), NODES, ids).await;
    assert_eq!(theirs.data()["nodes"], json!([null, null]));
    // Another organisation itself, asked for by a landlord user.
    let org = gid("Organisation", w.org);
    let theirs = gql(
        &app,
        Some(&w.other_landlord.token),
        NODE,
        json!({ "id": org }),
    )
    .await;
    assert_eq!(theirs.data()["node"], Value::Null, "{theirs:?}");
    let staff = gql(&app, Some(&w.staff.token), NODE, json!({ "id": org })).await;
    assert_eq!(
        staff.data()["node"]["__typename"],
        "Organisation",
        "{staff:?}"
    );
}

#[tokio::test]
async fn nodes_takes_at_most_100_ids_and_a_caller_must_be_signed_in() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let ids: Vec<String> = (0..101).map(|_| w.case_id.clone()).collect();
    let refused = gql(&app, Some(&w.staff.token), NODES, json!({ "ids": ids })).await;
    assert_eq!(refused.error_code(), "BAD_USER_INPUT");
    assert_eq!(refused.body["errors"][0]["extensions"]["field"], "ids");
    let hundred: Vec<String> = (0..100).map(|_| w.case_id.clone()).collect();
    let ok = gql(&app, Some(&w.staff.token), NODES, json!({ "ids": hundred })).await;
    assert_eq!(ok.data()["nodes"].as_array().unwrap().len(), 100, "{ok:?}");

    let anonymous = gql(&app, None, NODE, json!({ "id": w.case_id })).await;
    assert_eq!(anonymous.error_code(), "UNAUTHENTICATED");
    let anonymous = gql(&app, None, NODES, json!({ "ids": [w.case_id] })).await;
    assert_eq!(anonymous.error_code(), "UNAUTHENTICATED");
}

/// `nodes` costs its selection once per id, as a connection costs it once
/// per node: 100 objects are not the price of one.
#[tokio::test]
async fn nodes_costs_its_selection_once_per_id() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let cost = |n: usize| {
        let ids: Vec<String> = (0..n).map(|_| w.case_id.clone()).collect();
        let app = &app;
        let token = w.staff.token.clone();
        async move {
            let r = gql(app, Some(&token), NODES, json!({ "ids": ids })).await;
            r.cost["requestedQueryCost"]
                .as_u64()
                .unwrap_or_else(|| panic!("{:#}", r.cost))
        }
    };
    let (one, ten) = (cost(1).await, cost(10).await);
    // `nodes` itself once, its selection (`id`) per id.
    assert_eq!(one, 2, "one id");
    assert_eq!(ten, 11, "ten ids");
}

const USER_NODE: &str = "query($id: ID!) { node(id: $id) { __typename id
  ... on ResidentAccount { email } ... on StaffMember { email } ... on UserAccount { email } } }";

#[tokio::test]
async fn a_user_id_refetches_the_account_as_whoever_may_see_it_sees_it() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let admin = app.service_admin().await;
    let node = |token: String, user: uuid::Uuid| {
        let app = &app;
        async move {
            gql(
                app,
                Some(&token),
                USER_NODE,
                json!({ "id": gid("User", user) }),
            )
            .await
            .data()["node"]
                .clone()
        }
    };

    // Staff refetch a resident (who is no organisation user) as a resident
    // account; a landlord administrator and another resident may not.
    let seen = node(w.staff.token.clone(), w.resident.user.id).await;
    assert_eq!(seen["__typename"], "ResidentAccount");
    assert_eq!(seen["email"], json!(w.resident.user.email));
    for token in [&w.landlord.token, &w.other_resident.token] {
        assert_eq!(node(token.clone(), w.resident.user.id).await, Value::Null);
    }

    // A landlord user: their organisation's administrator and staff, as a
    // user account; another organisation's administrator gets null.
    let colleague = app
        .landlord_user(w.org, &[entities::Permission::ViewPayments])
        .await;
    for token in [&w.landlord.token, &w.staff.token] {
        let seen = node(token.clone(), colleague.user.id).await;
        assert_eq!(seen["__typename"], "UserAccount");
        assert_eq!(seen["email"], json!(colleague.user.email));
    }
    assert_eq!(
        node(w.other_landlord.token.clone(), colleague.user.id).await,
        Value::Null
    );

    // A staff member: service administrators only.
    let seen = node(admin.token.clone(), w.staff.user.id).await;
    assert_eq!(seen["__typename"], "StaffMember");
    assert_eq!(seen["email"], json!(w.staff.user.email));
    for token in [&w.landlord.token, &w.resident.token] {
        assert_eq!(node(token.clone(), w.staff.user.id).await, Value::Null);
    }
    let other_caseworker = app.caseworker().await;
    assert_eq!(
        node(other_caseworker.token.clone(), w.staff.user.id).await,
        Value::Null
    );
}
