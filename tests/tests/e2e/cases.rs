//! Cases (Ombudsman seed "Home page", "Open / Closed cases", "Case screen"):
//! a caseworker opens a case between a resident and their landlord; each
//! party sees it in their lists with the seed's columns, and nobody else
//! does; staff change, close and reopen it. References are the year and a
//! 5-digit sequence, consecutive and unique under concurrent creation.

use chrono::{Datelike, Duration, Utc};
use entities::{case, task};
use portal_tests::TestApp;
use portal_tests::gid;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::casework::{create_case, create_task, gql, world};

const LIST: &str = "query($filter: CaseFilter, $sort: CaseSort, $first: Int, $after: String) {
  cases(filter: $filter, sort: $sort, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { id reference complainantName landlordName type statusLabel nextTaskDueDate closedAt } }
  }
}";

const CASE: &str = "query($id: ID!) { case(id: $id) {
  reference type stage statusLabel category createdAt closedAt isOpen
  resident { name address } landlord { name address } owner { name team role }
  parties { kind name }
  nextTasks { title dueDate status overdue }
  tasks { title } messages { subject } unreadCount
} }";

fn references(response: &portal_tests::TestResponse) -> Vec<String> {
    response.data()["cases"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| {
            e["node"]["reference"]
                .as_str()
                .expect("reference")
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn each_party_sees_the_case_with_the_seed_columns_and_nobody_else_does() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let year = Utc::now().year();
    assert_eq!(w.reference, format!("{year}00001"));
    create_task(&app, &w, false, "Upload documents for investigation").await;

    for user in [&w.resident, &w.landlord, &w.staff] {
        let list = gql(&app, Some(&user.token), LIST, json!({})).await;
        let node = &list.data()["cases"]["edges"][0]["node"];
        assert_eq!(node["reference"], w.reference.as_str());
        assert_eq!(node["landlordName"], "Test Housing Association");
        assert_eq!(node["complainantName"], "Test Resident");
        assert_eq!(node["type"], "Complaint about a member landlord");
        assert_eq!(node["statusLabel"], "Case under assessment");
        assert_eq!(node["closedAt"], Value::Null);
    }
    // The task is the resident's: it is their "task due date", not the landlord's.
    let due = (Utc::now().date_naive() + Duration::days(14)).to_string();
    let mine = gql(&app, Some(&w.resident.token), LIST, json!({})).await;
    assert_eq!(
        mine.data()["cases"]["edges"][0]["node"]["nextTaskDueDate"],
        due.as_str()
    );
    let theirs = gql(&app, Some(&w.landlord.token), LIST, json!({})).await;
    assert_eq!(
        theirs.data()["cases"]["edges"][0]["node"]["nextTaskDueDate"],
        Value::Null
    );

    for outsider in [&w.other_resident, &w.other_landlord] {
        let list = gql(&app, Some(&outsider.token), LIST, json!({})).await;
        assert_eq!(list.data()["cases"]["edges"], json!([]));
        let one = gql(
            &app,
            Some(&outsider.token),
            CASE,
            json!({ "id": w.case_id }),
        )
        .await;
        assert_eq!(one.error_code(), "NOT_FOUND");
    }
    let unknown = gql(
        &app,
        Some(&w.resident.token),
        CASE,
        json!({ "id": Uuid::now_v7() }),
    )
    .await;
    assert_eq!(unknown.error_code(), "NOT_FOUND");
    let anonymous = gql(&app, None, LIST, json!({})).await;
    assert_eq!(anonymous.error_code(), "UNAUTHENTICATED");

    let case = gql(
        &app,
        Some(&w.resident.token),
        CASE,
        json!({ "id": w.case_id }),
    )
    .await;
    let case = &case.data()["case"];
    assert_eq!(case["stage"], "DR2 Review");
    assert_eq!(case["category"], "Asbestos");
    assert_eq!(case["isOpen"], true);
    assert_eq!(case["resident"]["name"], "Test Resident");
    assert_eq!(
        case["landlord"]["address"],
        "1 Test Street, Testtown TE1 1ST"
    );
    assert_eq!(case["owner"]["name"], "Test Staff");
    assert_eq!(case["owner"]["role"], "CASEWORKER");
    assert_eq!(case["parties"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        case["nextTasks"][0]["title"],
        "Upload documents for investigation"
    );
    assert_eq!(case["nextTasks"][0]["overdue"], false);
}

#[tokio::test]
async fn the_home_page_shows_each_open_case_with_the_next_task_and_overdue() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let (second, _) = create_case(&app, &w.staff, Some(w.resident.user.id), None).await;
    let task_id = create_task(&app, &w, false, "Do that").await;
    // Two days late: written straight to the database (the API refuses past dates).
    let mut late = task::Entity::find_by_id(portal_tests::uuid_of(&task_id))
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    late.due_date = Set(Utc::now().date_naive() - Duration::days(2));
    late.update(app.db()).await.unwrap();

    let home = gql(
        &app,
        Some(&w.resident.token),
        "{ home { edges { node { case { id reference } nextTask { title } dueDate overdue } } } }",
        json!({}),
    )
    .await;
    let rows = home.data()["home"]["edges"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["node"]["case"]["id"], w.case_id.as_str());
    assert_eq!(rows[0]["node"]["nextTask"]["title"], "Do that");
    assert_eq!(rows[0]["node"]["overdue"], true);
    assert_eq!(rows[1]["node"]["case"]["id"], second.as_str());
    assert_eq!(rows[1]["node"]["nextTask"], Value::Null);
    assert_eq!(rows[1]["node"]["overdue"], false);
}

#[tokio::test]
async fn lists_filter_sort_and_page_and_closed_cases_show_their_closing_date() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let mut refs = vec![w.reference.clone()];
    for _ in 0..4 {
        refs.push(
            create_case(&app, &w.staff, Some(w.resident.user.id), Some(w.org))
                .await
                .1,
        );
    }
    // Close the second case.
    let (closed_id, closed_ref) = {
        let list = gql(&app, Some(&w.staff.token), LIST, json!({})).await;
        let node = list.data()["cases"]["edges"][1]["node"].clone();
        (
            node["id"].as_str().unwrap().to_owned(),
            node["reference"].as_str().unwrap().to_owned(),
        )
    };
    let closed = gql(
        &app,
        Some(&w.staff.token),
        "mutation($id: ID!) { closeCase(id: $id) { isOpen closedAt } }",
        json!({ "id": closed_id }),
    )
    .await;
    assert_eq!(closed.data()["closeCase"]["isOpen"], false);

    let open = gql(
        &app,
        Some(&w.resident.token),
        LIST,
        json!({ "filter": { "state": "OPEN" } }),
    )
    .await;
    assert_eq!(references(&open).len(), 4);
    assert!(!references(&open).contains(&closed_ref));
    let closed_list = gql(
        &app,
        Some(&w.resident.token),
        LIST,
        json!({ "filter": { "state": "CLOSED" } }),
    )
    .await;
    assert_eq!(references(&closed_list), vec![closed_ref.clone()]);
    assert!(closed_list.data()["cases"]["edges"][0]["node"]["closedAt"].is_string());

    // Sort descending, two per page, following the cursor.
    let page1 = gql(
        &app,
        Some(&w.landlord.token),
        LIST,
        json!({ "sort": { "field": "REFERENCE", "direction": "DESC" }, "first": 2 }),
    )
    .await;
    let mut expected = refs.clone();
    expected.reverse();
    assert_eq!(references(&page1), expected[..2]);
    assert_eq!(page1.data()["cases"]["pageInfo"]["hasNextPage"], true);
    let cursor = page1.data()["cases"]["pageInfo"]["endCursor"].clone();
    let page2 = gql(
        &app,
        Some(&w.landlord.token),
        LIST,
        json!({ "sort": { "field": "REFERENCE", "direction": "DESC" }, "first": 2, "after": cursor }),
    )
    .await;
    assert_eq!(references(&page2), expected[2..4]);

    // Search: reference, complainant, landlord (case-insensitive).
    for search in [refs[3].as_str(), "test RESIDENT", "housing assoc"] {
        let found = gql(
            &app,
            Some(&w.staff.token),
            LIST,
            json!({ "filter": { "search": search } }),
        )
        .await;
        let found = references(&found);
        if search == refs[3] {
            assert_eq!(found, vec![refs[3].clone()]);
        } else {
            assert_eq!(found.len(), 5, "search {search}");
        }
    }
    let none = gql(
        &app,
        Some(&w.staff.token),
        LIST,
        json!({ "filter": { "search": "nobody" } }),
    )
    .await;
    assert!(references(&none).is_empty());
    let by_type = gql(
        &app,
        Some(&w.staff.token),
        LIST,
        json!({ "filter": { "type": "Complaint about a member landlord", "status": "Case under assessment" }, "sort": { "field": "NEXT_DUE" } }),
    )
    .await;
    assert_eq!(
        references(&by_type).len(),
        4,
        "the closed case is labelled Closed"
    );
    let by_closed = gql(
        &app,
        Some(&w.staff.token),
        LIST,
        json!({ "filter": { "status": "Closed" } }),
    )
    .await;
    assert_eq!(references(&by_closed), vec![closed_ref.clone()]);
    let bad_cursor = gql(
        &app,
        Some(&w.staff.token),
        LIST,
        json!({ "after": "nonsense" }),
    )
    .await;
    assert_eq!(bad_cursor.error_code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn staff_change_parties_owner_and_details_and_close_and_reopen() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let second = app.caseworker().await;
    let staff = Some(w.staff.token.as_str());

    let updated = gql(
        &app,
        staff,
        "mutation($id: ID!) { updateCase(id: $id, input: { stage: \"DR2 Dispute Support\", statusLabel: \"Investigation\" }) { stage statusLabel category } }",
        json!({ "id": w.case_id }),
    )
    .await;
    assert_eq!(
        updated.data()["updateCase"],
        json!({ "stage": "DR2 Dispute Support", "statusLabel": "Investigation", "category": "Asbestos" })
    );
    let owner = gql(
        &app,
        staff,
        "mutation($id: ID!, $owner: ID!) { assignCaseOwner(id: $id, ownerUserId: $owner) { owner { id } } }",
        json!({ "id": w.case_id, "owner": gid("User", second.user.id) }),
    )
    .await;
    assert_eq!(
        owner.data()["assignCaseOwner"]["owner"]["id"],
        gid("User", second.user.id)
    );
    let not_staff = gql(
        &app,
        staff,
        "mutation($id: ID!, $owner: ID!) { assignCaseOwner(id: $id, ownerUserId: $owner) { id } }",
        json!({ "id": w.case_id, "owner": gid("User", w.resident.user.id) }),
    )
    .await;
    assert_eq!(not_staff.error_code(), "BAD_USER_INPUT");

    // The other resident joins; a second landlord is refused.
    let added = gql(
        &app,
        staff,
        "mutation($id: ID!, $input: CasePartyInput!) { addCaseParty(caseId: $id, input: $input) { parties { id kind } } }",
        json!({ "id": w.case_id, "input": { "residentUserId": gid("User", w.other_resident.user.id) } }),
    )
    .await;
    let parties = added.data()["addCaseParty"]["parties"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(parties.len(), 3);
    let seen = gql(&app, Some(&w.other_resident.token), LIST, json!({})).await;
    assert_eq!(references(&seen), vec![w.reference.clone()]);
    let again = gql(
        &app,
        staff,
        "mutation($id: ID!, $input: CasePartyInput!) { addCaseParty(caseId: $id, input: $input) { id } }",
        json!({ "id": w.case_id, "input": { "organisationId": gid("Organisation", w.other_org) } }),
    )
    .await;
    assert_eq!(again.error_code(), "CONFLICT");

    // The landlord leaves: their users no longer see the case.
    let landlord_party = parties.iter().find(|p| p["kind"] == "LANDLORD").unwrap()["id"].clone();
    let removed = gql(
        &app,
        staff,
        "mutation($id: ID!) { removeCaseParty(id: $id) { landlordName parties { kind } } }",
        json!({ "id": landlord_party }),
    )
    .await;
    assert_eq!(
        removed.data()["removeCaseParty"]["landlordName"],
        Value::Null
    );
    let gone = gql(&app, Some(&w.landlord.token), LIST, json!({})).await;
    assert!(references(&gone).is_empty());

    // Closed: read-only until reopened.
    let close = "mutation($id: ID!) { closeCase(id: $id) { isOpen } }";
    gql(&app, staff, close, json!({ "id": w.case_id }))
        .await
        .data();
    assert_eq!(
        gql(&app, staff, close, json!({ "id": w.case_id }))
            .await
            .error_code(),
        "CONFLICT"
    );
    let frozen = gql(
        &app,
        staff,
        "mutation($id: ID!) { updateCase(id: $id, input: { category: \"Damp\" }) { id } }",
        json!({ "id": w.case_id }),
    )
    .await;
    assert_eq!(frozen.error_code(), "CONFLICT");
    let reopened = gql(
        &app,
        staff,
        "mutation($id: ID!) { reopenCase(id: $id) { isOpen closedAt } }",
        json!({ "id": w.case_id }),
    )
    .await;
    assert_eq!(
        reopened.data()["reopenCase"],
        json!({ "isOpen": true, "closedAt": null })
    );

    // Every change is in the audit log, with who made it.
    let actions: Vec<(String, Option<Uuid>)> = entities::audit_log::Entity::find()
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.target_type == "case")
        .map(|e| (e.action, e.actor_user_id))
        .collect();
    for action in [
        "case.create",
        "case.update",
        "case.assign_owner",
        "case.add_party",
        "case.remove_party",
        "case.close",
        "case.reopen",
    ] {
        assert!(
            actions.contains(&(action.to_owned(), Some(w.staff.user.id))),
            "{action}: {actions:?}"
        );
    }

    // Portal users cannot run the back office.
    let forbidden = gql(
        &app,
        Some(&w.resident.token),
        close,
        json!({ "id": w.case_id }),
    )
    .await;
    assert_eq!(forbidden.error_code(), "FORBIDDEN");
    let empty = gql(
        &app,
        staff,
        "mutation { createCase(input: { type: \"\", stage: \"x\", statusLabel: \"x\", category: \"x\" }) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(empty.error_code(), "BAD_USER_INPUT");
    assert_eq!(
        empty.body["errors"][0]["extensions"]["field"],
        "input.caseType"
    );
}

#[tokio::test]
async fn twenty_concurrent_creations_get_twenty_consecutive_references() {
    let app = TestApp::init().await;
    let staff = app.caseworker().await;
    let created =
        futures::future::join_all((0..20).map(|_| create_case(&app, &staff, None, None))).await;
    let mut numbers: Vec<u32> = created
        .iter()
        .map(|(_, r)| r[4..].parse().unwrap())
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=20).collect::<Vec<_>>());
    let year = Utc::now().year().to_string();
    assert!(
        created
            .iter()
            .all(|(_, r)| r.len() == 9 && r.starts_with(&year))
    );
}

#[tokio::test]
async fn the_demo_casework_reads_through_the_api_and_new_references_continue_it() {
    use sea_orm::{ColumnTrait, QueryFilter};
    let app = TestApp::init().await;
    let logins = api::demo::load_demo_data(app.db(), app.config())
        .await
        .unwrap()
        .expect("seeded");
    let client = api::auth::ClientInfo {
        ip: None,
        user_agent: None,
        request_id: "test".into(),
    };
    let query = "{ home { edges { node { case { id reference complainantName landlordName owner { name }
        nextTasks { title } tasks { title assigneeName } messages { subject senderName read } unreadCount } nextTask { title } overdue } } }
        myTasks { edges { node { title case { reference } } } } unreadCounts { total } }";
    let mut staff_token = None;
    for (who, email) in &logins.accounts {
        let user = entities::user::Entity::find()
            .filter(entities::user::Column::EmailNormalized.eq(*email))
            .one(app.db())
            .await
            .unwrap()
            .unwrap();
        let token = api::auth::session::create(app.db(), user.id, &client, false)
            .await
            .unwrap();
        let response = gql(&app, Some(&token), query, json!({})).await;
        let data = response.data();
        if who.starts_with("Resident") {
            assert!(
                !data["home"]["edges"].as_array().unwrap().is_empty(),
                "{who} has a case"
            );
        }
        if user.kind == entities::UserKind::Staff && staff_token.is_none() {
            staff_token = Some(token);
        }
    }
    let staff = staff_token.expect("a staff login");
    let created = gql(
        &app,
        Some(&staff),
        "mutation { createCase(input: { type: \"T\", stage: \"S\", statusLabel: \"L\", category: \"C\" }) { reference } }",
        json!({}),
    )
    .await;
    let reference = created.data()["createCase"]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let existing = case::Entity::find().all(app.db()).await.unwrap();
    assert_eq!(
        existing.iter().filter(|c| c.reference == reference).count(),
        1,
        "{reference} is new"
    );
}

#[tokio::test]
async fn an_over_long_case_search_is_refused() {
    let app = TestApp::init().await;
    let staff = app.caseworker().await;
    let long = "x".repeat(201);
    let response = app
        .graphql(
            Some(&staff.token),
            "query($s: String) { cases(filter: { search: $s }) { edges { cursor } } }",
            serde_json::json!({ "s": long }),
        )
        .await;
    assert_eq!(response.error_code(), "BAD_USER_INPUT");
    assert_eq!(
        response.body["errors"][0]["extensions"]["field"],
        "filter.search"
    );
}
