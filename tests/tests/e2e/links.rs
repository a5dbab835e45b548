//! Links, not foreign keys (issue 16 §1): the output fields that point at
//! another object give the object, resolved through the request's loaders
//! and through the object's own policy. A link to an object the reader may
//! not see answers null, never an error and never the object: a resident
//! reads no organisation, a landlord user without `MANAGE_USERS` no user
//! account, an API token no organisation, a party no message sent to the
//! other party.

use chrono::{Duration, Utc};
use entities::{PartyKind, Permission, TaskStatus, task};
use portal_tests::{TestApp, gid, uuid_of};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{
    casework::{gql, world},
    tenancy::{api_token, organisation, property, tenant},
};

const CASE: &str = "query($id: ID!) { case(id: $id) {
  parties { kind name resident { id email } organisation { id name domains } }
  messages { id subject parentMessage { id subject } attachments { id } }
  documents { id message { id } }
} }";

const MY_TASKS: &str = "{ myTasks { edges { node { title sourceMessage { id subject } } } } }";

const SEND: &str = "mutation($case: ID!, $input: SendMessageInput!) { sendMessage(caseId: $case, input: $input) { id } }";

const REPLY: &str =
    "mutation($id: ID!) { replyToMessage(messageId: $id, body: \"Survey attached\") { id } }";

async fn send(
    app: &TestApp,
    w: &crate::support::casework::World,
    subject: &str,
    to: Value,
) -> String {
    let r = gql(
        app,
        Some(&w.staff.token),
        SEND,
        json!({ "case": w.case_id, "input": { "subject": subject, "body": "Please reply.", "recipients": to } }),
    )
    .await;
    r.data()["sendMessage"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn case_links_resolve_for_those_who_may_see_the_object_and_are_null_otherwise() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let to_both = send(&app, &w, "Survey", json!(null)).await;
    let to_landlord = send(&app, &w, "Landlord only", json!(["LANDLORD"])).await;
    let reply = gql(
        &app,
        Some(&w.resident.token),
        REPLY,
        json!({ "id": to_both }),
    )
    .await;
    let reply = reply.data()["replyToMessage"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let case = |token: &str| {
        let token = token.to_owned();
        let app = &app;
        let id = w.case_id.clone();
        async move {
            gql(app, Some(&token), CASE, json!({ "id": id }))
                .await
                .data()["case"]
                .clone()
        }
    };
    let org = json!(gid("Organisation", w.org));
    let resident = json!(gid("User", w.resident.user.id));

    // Staff see the resident's account and the organisation behind the
    // parties, and a reply's parent.
    let seen = case(&w.staff.token).await;
    let parties = seen["parties"].as_array().unwrap();
    let by_kind = |kind: &str| parties.iter().find(|p| p["kind"] == kind).unwrap().clone();
    assert_eq!(by_kind("RESIDENT")["resident"]["id"], resident);
    assert!(by_kind("RESIDENT")["organisation"].is_null());
    assert_eq!(by_kind("LANDLORD")["organisation"]["id"], org);
    assert_eq!(
        by_kind("LANDLORD")["organisation"]["domains"],
        json!(["northside-housing.example"])
    );
    assert!(by_kind("LANDLORD")["resident"].is_null());
    let messages = seen["messages"].as_array().unwrap();
    let the_reply = messages.iter().find(|m| m["id"] == reply.as_str()).unwrap();
    assert_eq!(the_reply["parentMessage"]["id"], to_both.as_str());
    assert_eq!(the_reply["parentMessage"]["subject"], "Survey");
    assert!(
        messages
            .iter()
            .filter(|m| m["id"] != reply.as_str())
            .all(|m| m["parentMessage"].is_null())
    );

    // The resident sees the case's parties by name, but neither their own
    // account as staff see it nor the organisation.
    let seen = case(&w.resident.token).await;
    for party in seen["parties"].as_array().unwrap() {
        assert!(party["resident"].is_null(), "{party}");
        assert!(party["organisation"].is_null(), "{party}");
        assert!(party["name"].is_string());
    }
    let messages = seen["messages"].as_array().unwrap();
    assert!(messages.iter().all(|m| m["id"] != to_landlord.as_str()));
    let the_reply = messages.iter().find(|m| m["id"] == reply.as_str()).unwrap();
    assert_eq!(the_reply["parentMessage"]["id"], to_both.as_str());

    // The landlord's administrator sees its own organisation, no resident
    // account, and not the resident's reply.
    let seen = case(&w.landlord.token).await;
    let parties = seen["parties"].as_array().unwrap();
    let landlord = parties.iter().find(|p| p["kind"] == "LANDLORD").unwrap();
    assert_eq!(landlord["organisation"]["id"], org);
    assert!(parties.iter().all(|p| p["resident"].is_null()));
    assert!(
        seen["messages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["id"] != reply.as_str())
    );

    // A "Read message" task links to its message for its assignee.
    let tasks = gql(&app, Some(&w.landlord.token), MY_TASKS, json!({})).await;
    let tasks = tasks.data()["myTasks"]["edges"].as_array().unwrap().clone();
    assert!(
        tasks
            .iter()
            .any(|t| t["node"]["sourceMessage"]["id"] == to_landlord.as_str()),
        "{tasks:?}"
    );

    // A task whose message the assignee may not see (written straight to the
    // database: the API never makes one) links to nothing rather than leak it.
    let now = Utc::now();
    task::ActiveModel {
        id: Set(Uuid::now_v7()),
        case_id: Set(uuid_of(&w.case_id)),
        title: Set("Odd task".into()),
        description: Set(None),
        due_date: Set(now.date_naive() + Duration::days(3)),
        status: Set(TaskStatus::Pending),
        assignee_kind: Set(PartyKind::Resident),
        assignee_user_id: Set(Some(w.resident.user.id)),
        assignee_organisation_id: Set(None),
        source_message_id: Set(Some(uuid_of(&to_landlord))),
        unable_reason: Set(None),
        completed_at: Set(None),
        completed_by_user_id: Set(None),
        reviewed_at: Set(None),
        reviewed_by_user_id: Set(None),
        due_soon_reminded_at: Set(None),
        overdue_reminded_at: Set(None),
        created_by_user_id: Set(Some(w.staff.user.id)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(app.db())
    .await
    .unwrap();
    let tasks = gql(&app, Some(&w.resident.token), MY_TASKS, json!({})).await;
    let tasks = tasks.data()["myTasks"]["edges"].as_array().unwrap().clone();
    let odd = tasks
        .iter()
        .find(|t| t["node"]["title"] == "Odd task")
        .unwrap();
    assert!(odd["node"]["sourceMessage"].is_null(), "{odd}");
    let survey = tasks
        .iter()
        .find(|t| t["node"]["sourceMessage"]["id"] == to_both.as_str());
    assert!(survey.is_some(), "{tasks:?}");
    // The messages' emails.
    app.run_pending_jobs().await;
}

const PROPERTY: &str = "query($id: ID!) { property(id: $id) { organisation { id name } tenants { organisation { id } } } }";
const PAYMENTS: &str = "{ payments { edges { node { tenant { id } organisation { id name } } } } }";
const RECORD: &str = "mutation($org: ID!, $input: [PaymentInput!]!) { recordPayments(organisationId: $org, input: $input) { id } }";
const USERS: &str = "query($org: ID) { organisationUsers(organisationId: $org) { edges { node { id organisation { id } } } } }";

#[tokio::test]
async fn organisation_links_answer_staff_and_the_organisations_own_users_and_null_for_tokens() {
    let app = TestApp::init().await;
    let staff = app.caseworker().await;
    let org = organisation(&app).await;
    let other = organisation(&app).await;
    let home = property(&app, org, "P-1", "LS1 4AP").await;
    let who = tenant(&app, org, "Aisha", "Rahman", "UC-1", Some(home.id)).await;
    let reader = app.landlord_user(org, &[Permission::ViewPayments]).await;
    let outsider = app.landlord_user(other, &[Permission::ViewPayments]).await;
    let token = api_token(&app, org, &[Permission::ViewPayments]).await;
    let day = Utc::now().date_naive();
    gql(
        &app,
        Some(&staff.token),
        RECORD,
        json!({ "org": gid("Organisation", org), "input": [{
            "tenantId": gid("Tenant", who.id), "amount": "450.00",
            "paymentDate": day.to_string(), "periodStart": (day - Duration::days(30)).to_string(),
            "periodEnd": (day - Duration::days(1)).to_string(),
        }] }),
    )
    .await
    .data();
    let org_id = json!(gid("Organisation", org));

    for user in [&staff.token, &reader.token] {
        let r = gql(
            &app,
            Some(user),
            PROPERTY,
            json!({ "id": gid("Property", home.id) }),
        )
        .await;
        let seen = &r.data()["property"];
        assert_eq!(seen["organisation"]["id"], org_id);
        assert_eq!(seen["tenants"][0]["organisation"]["id"], org_id);
    }
    // Another organisation's user does not get the property at all.
    let r = gql(
        &app,
        Some(&outsider.token),
        PROPERTY,
        json!({ "id": gid("Property", home.id) }),
    )
    .await;
    assert_eq!(r.error_code(), "NOT_FOUND");

    let r = gql(&app, Some(&reader.token), PAYMENTS, json!({})).await;
    let node = &r.data()["payments"]["edges"][0]["node"];
    assert_eq!(node["organisation"]["id"], org_id);
    assert_eq!(node["tenant"]["id"], json!(gid("Tenant", who.id)));
    // An API token reads its organisation's payments, but organisations are
    // not for tokens to see: the link is null, with no error.
    let r = gql(&app, Some(&token), PAYMENTS, json!({})).await;
    let node = &r.data()["payments"]["edges"][0]["node"];
    assert!(node["organisation"].is_null(), "{node}");
    assert_eq!(node["tenant"]["id"], json!(gid("Tenant", who.id)));

    // A user account links to its organisation.
    let r = gql(&app, Some(&staff.token), USERS, json!({ "org": org_id })).await;
    let users = r.data()["organisationUsers"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    assert!(!users.is_empty());
    assert!(
        users
            .iter()
            .all(|u| u["node"]["organisation"]["id"] == org_id)
    );
}

const TODO: &str = "query($id: ID!) { tenancyRequest(id: $id) { answeredBy { id email permissions } organisation { id } } }";

#[tokio::test]
async fn user_links_answer_those_who_manage_the_account_and_null_otherwise() {
    use entities::{TenancyRequestReason, TenancyRequestStatus, UserStatus, tenancy_request, user};
    use sea_orm::{EntityTrait, IntoActiveModel};

    let app = TestApp::init().await;
    let staff = app.caseworker().await;
    let org = organisation(&app).await;
    let admin = app.landlord_user(org, &[Permission::ManageUsers]).await;
    let answerer = app
        .landlord_user(org, &[Permission::ProvideTenancyDetails])
        .await;
    let other_admin = app
        .landlord_user(organisation(&app).await, &[Permission::ManageUsers])
        .await;
    let who = tenant(&app, org, "Aisha", "Rahman", "UC-1", None).await;
    let now = Utc::now();
    let request = tenancy_request::ActiveModel {
        id: Set(Uuid::now_v7()),
        organisation_id: Set(org),
        tenant_id: Set(who.id),
        postcode: Set("LS1 4AP".into()),
        status: Set(TenancyRequestStatus::NotTenant),
        reason: Set(TenancyRequestReason::NewClaim),
        property_id: Set(None),
        due_date: Set(now.date_naive()),
        created_by_user_id: Set(Some(staff.user.id)),
        answered_by_user_id: Set(Some(answerer.user.id)),
        answered_at: Set(Some(now)),
        tenancy_start_date: Set(None),
        rent_pence: Set(None),
        rent_frequency: Set(None),
        service_charge_pence: Set(None),
        in_arrears: Set(None),
        arrears_pence: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(app.db())
    .await
    .unwrap();
    let id = json!({ "id": gid("TenancyRequest", request.id) });
    let answered_by = |token: String| {
        let app = &app;
        let id = id.clone();
        async move {
            gql(app, Some(&token), TODO, id).await.data()["tenancyRequest"]["answeredBy"].clone()
        }
    };
    let expected = json!({
        "id": gid("User", answerer.user.id),
        "email": answerer.user.email,
        "permissions": ["PROVIDE_TENANCY_DETAILS"],
    });
    assert_eq!(answered_by(staff.token.clone()).await, expected);
    assert_eq!(answered_by(admin.token.clone()).await, expected);
    // Not a user manager: null, though the request itself is theirs to see.
    assert!(answered_by(answerer.token.clone()).await.is_null());
    // Another organisation's administrator does not see the request at all.
    let r = gql(&app, Some(&other_admin.token), TODO, id.clone()).await;
    assert_eq!(r.error_code(), "NOT_FOUND");

    // Once the account is deactivated nobody sees it as a user account.
    let mut row = user::Entity::find_by_id(answerer.user.id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    row.status = Set(UserStatus::Deactivated);
    row.update(app.db()).await.unwrap();
    assert!(answered_by(staff.token.clone()).await.is_null());
    assert!(answered_by(admin.token.clone()).await.is_null());
}
