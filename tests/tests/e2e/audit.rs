//! The audit log: every user-management action is recorded (who, what,
//! whom, when, before and after, from where); organisation administrators
//! read their own organisation's entries, staff read all; entries can be
//! filtered and paged, newest first, and can never be changed or deleted.

use chrono::{Duration, Utc};
use entities::{Permission, audit_log};
use portal_tests::gid;
use portal_tests::{TestApp, fixtures::TestUser};
use sea_orm::{ConnectionTrait, EntityTrait};
use serde_json::{Value, json};
use uuid::Uuid;

const LOG: &str = "query($filter: AuditLogFilter, $first: Int, $after: String) { auditLog(filter: $filter, first: $first, after: $after) { edges { cursor node { id action targetType targetId organisation { id name } actorUserId actorName before after requestId createdAt } } pageInfo { hasNextPage } } }";

async fn log(app: &TestApp, token: &str, filter: Value) -> Vec<Value> {
    let response = app
        .graphql(Some(token), LOG, json!({ "filter": filter }))
        .await;
    response.data()["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

fn actions(entries: &[Value]) -> Vec<&str> {
    entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect()
}

async fn act(app: &TestApp, token: &str, mutation: &str, user: Uuid) {
    app.graphql(
        Some(token),
        &format!("mutation($id: ID!) {{ {mutation}(id: $id) {{ id }} }}"),
        json!({ "id": gid("User", user) }),
    )
    .await
    .data();
}

/// Two organisations, each with an administrator who has done something to a colleague.
struct World {
    north: Uuid,
    north_admin: TestUser,
    north_colleague: TestUser,
    south_admin: TestUser,
    staff: TestUser,
}

async fn world(app: &TestApp) -> World {
    let north = app.create_organisation(&["north.example"], false).await;
    let south = app.create_organisation(&["south.example"], false).await;
    let north_admin = app.landlord_user(north, &[Permission::ManageUsers]).await;
    let north_colleague = app.landlord_user(north, &[]).await;
    let south_admin = app.landlord_user(south, &[Permission::ManageUsers]).await;
    let south_colleague = app.landlord_user(south, &[]).await;
    act(
        app,
        &north_admin.token,
        "unlockUser",
        north_colleague.user.id,
    )
    .await;
    act(
        app,
        &north_admin.token,
        "suspendUser",
        north_colleague.user.id,
    )
    .await;
    act(
        app,
        &south_admin.token,
        "unlockUser",
        south_colleague.user.id,
    )
    .await;
    let staff = app.caseworker().await;
    World {
        north,
        north_admin,
        north_colleague,
        south_admin,
        staff,
    }
}

#[tokio::test]
async fn administrators_read_their_organisations_entries_and_staff_read_all() {
    let app = TestApp::init().await;
    let w = world(&app).await;

    let north = log(&app, &w.north_admin.token, json!(null)).await;
    assert_eq!(
        actions(&north),
        vec!["user.suspend", "user.unlock"],
        "newest first"
    );
    assert!(
        north
            .iter()
            .all(|e| e["organisation"]["id"] == json!(gid("Organisation", w.north)))
    );
    let suspend = &north[0];
    assert_eq!(suspend["targetType"], json!("user"));
    assert_eq!(
        suspend["targetId"],
        json!(gid("User", w.north_colleague.user.id))
    );
    assert_eq!(
        suspend["actorUserId"],
        json!(gid("User", w.north_admin.user.id))
    );
    assert_eq!(suspend["actorName"], json!("Test Landlord"));
    assert_eq!(suspend["before"]["status"], json!("ACTIVE"));
    assert_eq!(suspend["after"]["status"], json!("SUSPENDED"));
    assert!(
        suspend["requestId"].is_string(),
        "the request can be found in the logs"
    );

    let south = log(&app, &w.south_admin.token, json!(null)).await;
    assert_eq!(actions(&south), vec!["user.unlock"]);
    // Asking for another organisation's entries finds nothing.
    let snooping = log(
        &app,
        &w.south_admin.token,
        json!({ "organisationId": gid("Organisation", w.north) }),
    )
    .await;
    assert!(snooping.is_empty());

    let all = log(&app, &w.staff.token, json!(null)).await;
    assert_eq!(
        actions(&all),
        vec!["user.unlock", "user.suspend", "user.unlock"]
    );
    let north_only = log(
        &app,
        &w.staff.token,
        json!({ "organisationId": gid("Organisation", w.north) }),
    )
    .await;
    assert_eq!(north_only.len(), 2);
}

#[tokio::test]
async fn only_administrators_and_staff_read_the_log() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let colleague = app
        .landlord_user(w.north, &[Permission::ViewPayments])
        .await;
    let resident = app.resident().await;
    for (token, code) in [
        (Some(colleague.token.as_str()), "FORBIDDEN"),
        (Some(resident.token.as_str()), "FORBIDDEN"),
        (None, "UNAUTHENTICATED"),
    ] {
        let response = app.graphql(token, LOG, json!({})).await;
        assert_eq!(response.error_code(), code);
    }
}

#[tokio::test]
async fn entries_can_be_filtered() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let by_action = log(&app, &w.staff.token, json!({ "action": "user.unlock" })).await;
    assert_eq!(actions(&by_action), vec!["user.unlock", "user.unlock"]);
    let by_actor = log(
        &app,
        &w.staff.token,
        json!({ "actorId": gid("User", w.south_admin.user.id) }),
    )
    .await;
    assert_eq!(actions(&by_actor), vec!["user.unlock"]);
    let by_target = log(
        &app,
        &w.staff.token,
        json!({ "targetId": gid("User", w.north_colleague.user.id), "action": "user.suspend" }),
    )
    .await;
    assert_eq!(actions(&by_target), vec!["user.suspend"]);

    let now = Utc::now();
    let window = |from: chrono::DateTime<Utc>, to: chrono::DateTime<Utc>| json!({ "from": from.to_rfc3339(), "to": to.to_rfc3339() });
    let recent = log(
        &app,
        &w.staff.token,
        window(now - Duration::hours(1), now + Duration::hours(1)),
    )
    .await;
    assert_eq!(recent.len(), 3);
    let old = log(
        &app,
        &w.staff.token,
        window(now - Duration::days(2), now - Duration::days(1)),
    )
    .await;
    assert!(old.is_empty());
    let future = log(
        &app,
        &w.staff.token,
        json!({ "from": (now + Duration::hours(1)).to_rfc3339() }),
    )
    .await;
    assert!(future.is_empty());

    for (filter, field) in [
        (window(now, now - Duration::hours(1)), "filter.to"),
        (json!({ "actorId": "nope" }), "filter.actorId"),
        (json!({ "action": "x".repeat(65) }), "filter.action"),
    ] {
        let response = app
            .graphql(Some(&w.staff.token), LOG, json!({ "filter": filter }))
            .await;
        assert_eq!(response.error_code(), "BAD_USER_INPUT");
        assert_eq!(
            response.body["errors"][0]["extensions"]["field"],
            json!(field)
        );
    }
}

#[tokio::test]
async fn the_log_pages_newest_first() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    for _ in 0..3 {
        act(
            &app,
            &w.north_admin.token,
            "unlockUser",
            w.north_colleague.user.id,
        )
        .await;
    }
    let expected: Vec<Uuid> = audit_log::Entity::find()
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .rev()
        .map(|e| e.id)
        .collect();
    assert_eq!(expected.len(), 6);
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = app
            .graphql(
                Some(&w.staff.token),
                LOG,
                json!({ "first": 4, "after": after }),
            )
            .await;
        let log = &page.data()["auditLog"];
        for edge in log["edges"].as_array().unwrap() {
            seen.push(edge["node"]["id"].as_str().unwrap().to_owned());
            after = edge["cursor"].clone();
        }
        if !log["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
    }
    let mut sorted = expected.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    let sorted: Vec<String> = sorted
        .into_iter()
        .map(|id| gid("AuditLogEntry", id))
        .collect();
    assert_eq!(seen, sorted, "newest first (UUID v7 order), each once");
}

#[tokio::test]
async fn entries_can_never_be_changed_or_deleted() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let before = audit_log::Entity::find().all(app.db()).await.unwrap();
    for sql in [
        "UPDATE audit_log SET action = 'user.nothing_happened'",
        "DELETE FROM audit_log",
    ] {
        assert!(
            app.db().execute_unprepared(sql).await.is_err(),
            "{sql} must be refused"
        );
    }
    assert_eq!(
        audit_log::Entity::find().all(app.db()).await.unwrap(),
        before
    );
    // And the API has no way to try.
    let response = app
        .graphql(
            Some(&w.staff.token),
            "mutation { deleteAuditLogEntry(id: \"x\") }",
            json!({}),
        )
        .await;
    assert_eq!(response.error_code(), "BAD_USER_INPUT");
}

/// An entry written by someone outside the organisation (here a service
/// administrator) is filed under it, but its details are withheld from the
/// organisation's administrators: no before/after, no client address, no
/// request id. Staff see it whole; the organisation's own entries stay whole.
#[tokio::test]
async fn administrators_see_outsiders_entries_without_their_details() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let admin = app.service_admin().await;
    act(
        &app,
        &admin.token,
        "reinstateUser",
        w.north_colleague.user.id,
    )
    .await;
    let query = "query { auditLog(first: 50) { edges { node { action actorUserId actorName before after ipAddress requestId redacted } } } }";
    let entries = |token: String| {
        let app = &app;
        async move {
            app.graphql(Some(&token), query, json!({})).await.data()["auditLog"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"].clone())
                .collect::<Vec<Value>>()
        }
    };
    let seen = entries(w.north_admin.token.clone()).await;
    let by_staff = seen
        .iter()
        .find(|e| e["action"] == "user.reinstate")
        .expect("the staff entry is listed");
    assert_eq!(by_staff["redacted"], true);
    assert_eq!(by_staff["actorUserId"], json!(gid("User", admin.user.id)));
    for field in ["before", "after", "ipAddress", "requestId"] {
        assert_eq!(by_staff[field], Value::Null, "{field}: {by_staff:#}");
    }
    let own = seen
        .iter()
        .find(|e| e["action"] == "user.suspend")
        .expect("their own entry");
    assert_eq!(own["redacted"], false);
    assert!(!own["after"].is_null(), "{own:#}");

    let staff_view = entries(w.staff.token.clone()).await;
    let whole = staff_view
        .iter()
        .find(|e| e["action"] == "user.reinstate")
        .unwrap();
    assert_eq!(whole["redacted"], false);
    assert!(
        !whole["after"].is_null() && !whole["requestId"].is_null(),
        "{whole:#}"
    );
}
