//! Shared set-up of the casework tests: a case between a resident and a
//! landlord organisation, created through the API by a caseworker, and the
//! people around it (another resident, a user of another landlord).

use entities::Permission;
use portal_tests::gid;
use portal_tests::{TestApp, TestResponse, fixtures::TestUser};
use serde_json::{Value, json};
use uuid::Uuid;

/// The people of a casework story.
pub struct World {
    /// The caseworker who owns the case.
    pub staff: TestUser,
    /// The complainant.
    pub resident: TestUser,
    /// A resident with no part in the case.
    pub other_resident: TestUser,
    /// The landlord organisation of the case.
    pub org: Uuid,
    /// A user of that organisation.
    pub landlord: TestUser,
    /// Another landlord organisation.
    pub other_org: Uuid,
    /// A user of the other organisation.
    pub other_landlord: TestUser,
    /// The case id.
    pub case_id: String,
    /// Its reference.
    pub reference: String,
}

/// Runs an operation and returns the response.
pub async fn gql(
    app: &TestApp,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> TestResponse {
    app.graphql(token, query, variables).await
}

/// Creates a case through the API; returns (id, reference).
pub async fn create_case(
    app: &TestApp,
    staff: &TestUser,
    resident: Option<Uuid>,
    org: Option<Uuid>,
) -> (String, String) {
    let response = gql(
        app,
        Some(&staff.token),
        "mutation($input: CreateCaseInput!) { createCase(input: $input) { id reference } }",
        json!({ "input": {
            "type": "Complaint about a member landlord",
            "stage": "DR2 Review",
            "statusLabel": "Case under assessment",
            "category": "Asbestos",
            "residentUserId": resident.map(|id| gid("User", id)),
            "landlordOrganisationId": org.map(|id| gid("Organisation", id)),
        }}),
    )
    .await;
    let case = &response.data()["createCase"];
    (
        case["id"].as_str().expect("id").to_owned(),
        case["reference"].as_str().expect("reference").to_owned(),
    )
}

/// A caseworker, a resident and a landlord organisation with a case between
/// them, and outsiders.
pub async fn world(app: &TestApp) -> World {
    let staff = app.caseworker().await;
    let resident = app.resident().await;
    let other_resident = app.resident().await;
    let org = app
        .create_organisation(&["northside-housing.example"], false)
        .await;
    let landlord = app.landlord_user(org, &[Permission::ManageUsers]).await;
    let other_org = app
        .create_organisation(&["southside-homes.example"], false)
        .await;
    let other_landlord = app
        .landlord_user(other_org, &[Permission::ManageUsers])
        .await;
    let (case_id, reference) = create_case(app, &staff, Some(resident.user.id), Some(org)).await;
    World {
        staff,
        resident,
        other_resident,
        org,
        landlord,
        other_org,
        other_landlord,
        case_id,
        reference,
    }
}

/// Sets a task on the world's case for the resident (or the organisation)
/// through the API; returns its id.
pub async fn create_task(app: &TestApp, w: &World, for_landlord: bool, title: &str) -> String {
    let assignee = if for_landlord {
        json!({ "organisationId": gid("Organisation", w.org) })
    } else {
        json!({ "residentUserId": gid("User", w.resident.user.id) })
    };
    let due = (chrono::Utc::now().date_naive() + chrono::Duration::days(14)).to_string();
    let response = gql(
        app,
        Some(&w.staff.token),
        "mutation($case: ID!, $input: CreateTaskInput!) { createTask(caseId: $case, input: $input) { id } }",
        json!({ "case": w.case_id, "input": { "title": title, "dueDate": due, "assignee": assignee } }),
    )
    .await;
    response.data()["createTask"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

/// Sends a staff message on the world's case; returns its id.
pub async fn send_message(app: &TestApp, w: &World, subject: &str) -> String {
    let response = gql(
        app,
        Some(&w.staff.token),
        "mutation($case: ID!, $input: SendMessageInput!) { sendMessage(caseId: $case, input: $input) { id } }",
        json!({ "case": w.case_id, "input": { "subject": subject, "body": "Please send us the asbestos survey." } }),
    )
    .await;
    response.data()["sendMessage"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

/// Email snapshot filters (host, addresses, dates).
pub fn email_filters(app: &TestApp) -> Vec<(String, &'static str)> {
    vec![
        (app.host.replace('.', r"\."), "[host]"),
        (r"user-[0-9a-f]{32}@".to_owned(), "user-[id]@"),
        (r"\d{9}".to_owned(), "[reference]"),
    ]
}
