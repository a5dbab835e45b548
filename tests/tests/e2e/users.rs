//! Organisation user management (UC seed "Users" tab, with the Ombudsman
//! seed's landlord administrator): an administrator lists the organisation's
//! users, invites new ones, edits permissions, resets mobile numbers, sends
//! password resets, unlocks, suspends, reinstates and deactivates; staff do
//! the same for any organisation and restrict access under the
//! acceptable-use policy. Every action is audited and every failure changes
//! nothing.

use chrono::{Duration, Utc};
use entities::{
    Permission, TokenPurpose, UserStatus, audit_log, session, user, user_permission, user_token,
};
use portal_tests::gid;
use portal_tests::{TestApp, TestResponse, fixtures::TestUser};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, Set,
};
use serde_json::{Value, json};
use uuid::Uuid;

const USER_FIELDS: &str = "id kind organisation { id } firstName lastName email mobileNumber \
    permissions twoFactorMethod lastLoginAt mobileResetPending status lockedUntil isLocked \
    invitationPending invitedAt createdAt";

const DOMAIN: &str = "northside-housing.example";

/// An organisation with an administrator (`MANAGE_USERS`) and a second user.
struct Org {
    id: Uuid,
    admin: TestUser,
}

async fn organisation(app: &TestApp) -> Org {
    let id = app
        .create_organisation(&[DOMAIN, "northside.example"], false)
        .await;
    let admin = app.landlord_user(id, &[Permission::ManageUsers]).await;
    Org { id, admin }
}

fn invitation(email: &str) -> Value {
    json!({
        "firstName": "Priya",
        "lastName": "Shah",
        "email": email,
        "emailConfirmation": email,
        "permissions": ["PROVIDE_TENANCY_DETAILS", "VIEW_PAYMENTS"],
    })
}

async fn invite(app: &TestApp, token: Option<&str>, input: Value) -> TestResponse {
    app.graphql(
        token,
        &format!(
            "mutation($input: InviteUserInput!) {{ inviteUser(input: $input) {{ {USER_FIELDS} }} }}"
        ),
        json!({ "input": input }),
    )
    .await
}

/// Runs a user-management mutation that takes only `userId`.
async fn act(app: &TestApp, token: Option<&str>, mutation: &str, user_id: Uuid) -> TestResponse {
    app.graphql(
        token,
        &format!("mutation($id: ID!) {{ {mutation}(id: $id) {{ {USER_FIELDS} }} }}"),
        json!({ "id": gid("User", user_id) }),
    )
    .await
}

async fn reload(app: &TestApp, id: Uuid) -> user::Model {
    user::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
}

async fn audit_entries(app: &TestApp, action: &str) -> Vec<audit_log::Model> {
    audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq(action))
        .all(app.db())
        .await
        .unwrap()
}

async fn users_count(app: &TestApp) -> u64 {
    user::Entity::find().count(app.db()).await.unwrap()
}

/// Whether the user's session token still works (one that names no live
/// session is anonymous: `viewer` is null).
async fn signed_in(app: &TestApp, user: &TestUser) -> bool {
    let response = app
        .graphql(Some(&user.token), "{ viewer { id } }", json!({}))
        .await;
    !response.data()["viewer"].is_null()
}

/// The `token=` value of the link in an email's text.
fn link_token(text: &str) -> String {
    let start = text.find("token=").expect("a link with a token") + "token=".len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

/// The stored link of a raw link token.
async fn stored_link(app: &TestApp, raw: &str) -> Option<user_token::Model> {
    user_token::Entity::find()
        .filter(user_token::Column::TokenHash.eq(api::auth::token::hash(raw)))
        .one(app.db())
        .await
        .unwrap()
}

fn email_filters(app: &TestApp) -> Vec<(String, &'static str)> {
    vec![
        (app.host.replace('.', r"\."), "[host]"),
        (r"pl_[A-Za-z0-9_-]{43}".to_owned(), "[token]"),
        (r"user-[0-9a-f]{32}@".to_owned(), "user-[id]@"),
        (
            r"\d{1,2}(:\d{2})?(am|pm) on \d{1,2} [A-Z][a-z]+ \d{4}".to_owned(),
            "[time]",
        ),
    ]
}

fn field_reasons(response: &TestResponse) -> Vec<(String, Vec<String>)> {
    let mut fields: Vec<(String, Vec<String>)> = response.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT", "{e:#}");
            (
                e["extensions"]["field"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                e["extensions"]["reasons"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r.as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect();
    fields.sort();
    fields
}

#[tokio::test]
async fn administrators_see_the_live_users_of_their_organisation() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let colleague = app
        .landlord_user(
            org.id,
            &[Permission::ViewPayments, Permission::ProvideTenancyDetails],
        )
        .await;
    // A colleague whose number was reset and who is locked out.
    let mut edited = colleague.user.clone().into_active_model();
    edited.mobile_reset_pending = Set(true);
    edited.locked_until = Set(Some(Utc::now() + Duration::minutes(10)));
    edited.update(app.db()).await.unwrap();
    let suspended = app.landlord_user(org.id, &[]).await;
    let mut edited = suspended.user.clone().into_active_model();
    edited.status = Set(UserStatus::Suspended);
    edited.update(app.db()).await.unwrap();
    let gone = app.landlord_user(org.id, &[]).await;
    let mut edited = gone.user.clone().into_active_model();
    edited.status = Set(UserStatus::Deactivated);
    edited.update(app.db()).await.unwrap();
    // Someone else's user.
    let other = app.create_organisation(&["elsewhere.example"], false).await;
    app.landlord_user(other, &[Permission::ManageUsers]).await;

    let query = format!("{{ organisationUsers {{ edges {{ node {{ {USER_FIELDS} }} }} }} }}");
    let response = app.graphql(Some(&org.admin.token), &query, json!({})).await;
    let nodes: Vec<Value> = response.data()["organisationUsers"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    let ids: Vec<&str> = nodes.iter().map(|n| n["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        vec![
            gid("User", org.admin.user.id),
            gid("User", colleague.user.id),
            gid("User", suspended.user.id)
        ],
        "deactivated users and other organisations' users are not listed"
    );
    let colleague_node = &nodes[1];
    assert_eq!(
        colleague_node["permissions"],
        json!(["PROVIDE_TENANCY_DETAILS", "VIEW_PAYMENTS"])
    );
    assert_eq!(colleague_node["email"], json!(colleague.user.email));
    assert_eq!(colleague_node["firstName"], json!("Test"));
    assert_eq!(colleague_node["twoFactorMethod"], json!("NONE"));
    assert_eq!(colleague_node["mobileResetPending"], json!(true));
    assert_eq!(colleague_node["isLocked"], json!(true));
    assert!(colleague_node["lockedUntil"].is_string());
    assert!(colleague_node["lastLoginAt"].is_string());
    assert_eq!(colleague_node["invitationPending"], json!(false));
    assert_eq!(colleague_node["status"], json!("ACTIVE"));
    assert_eq!(nodes[2]["status"], json!("SUSPENDED"));
    assert_eq!(nodes[0]["permissions"], json!(["MANAGE_USERS"]));

    // One user by id, and the list of another organisation by id.
    let one = app
        .graphql(
            Some(&org.admin.token),
            "query($id: ID!) { organisationUser(id: $id) { email isLocked } }",
            json!({ "id": gid("User", colleague.user.id) }),
        )
        .await;
    assert_eq!(one.data()["organisationUser"]["isLocked"], json!(true));
    let foreign = app
        .graphql(
            Some(&org.admin.token),
            "query($org: ID) { organisationUsers(organisationId: $org) { edges { cursor } } }",
            json!({ "org": gid("Organisation", other) }),
        )
        .await;
    assert_eq!(foreign.error_code(), "NOT_FOUND");

    // Staff name the organisation; a missing one is NOT_FOUND.
    let caseworker = app.caseworker().await;
    let staff_list = app
        .graphql(
            Some(&caseworker.token),
            "query($org: ID) { organisationUsers(organisationId: $org) { edges { node { id } } } }",
            json!({ "org": gid("Organisation", org.id) }),
        )
        .await;
    assert_eq!(
        staff_list.data()["organisationUsers"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let unnamed = app
        .graphql(
            Some(&caseworker.token),
            "{ organisationUsers { edges { cursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(unnamed.error_code(), "BAD_USER_INPUT");
    let missing = app
        .graphql(
            Some(&caseworker.token),
            "query($org: ID) { organisationUsers(organisationId: $org) { edges { cursor } } }",
            json!({ "org": Uuid::now_v7() }),
        )
        .await;
    assert_eq!(missing.error_code(), "NOT_FOUND");
}

#[tokio::test]
async fn the_user_list_pages_with_cursors() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let mut expected = vec![gid("User", org.admin.user.id)];
    for _ in 0..4 {
        expected.push(gid("User", app.landlord_user(org.id, &[]).await.user.id));
    }
    let query = "query($after: String) { organisationUsers(first: 2, after: $after) { edges { cursor node { id permissions } } pageInfo { hasNextPage } } }";
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = app
            .graphql(Some(&org.admin.token), query, json!({ "after": after }))
            .await;
        let users = &page.data()["organisationUsers"];
        for edge in users["edges"].as_array().unwrap() {
            seen.push(edge["node"]["id"].as_str().unwrap().to_owned());
            after = edge["cursor"].clone();
        }
        if !users["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
    }
    assert_eq!(seen, expected);
    let too_many = app
        .graphql(
            Some(&org.admin.token),
            "{ organisationUsers(first: 101) { edges { cursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(too_many.error_code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn inviting_a_user_creates_the_account_and_emails_a_single_use_link() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let response = invite(
        &app,
        Some(&org.admin.token),
        json!({
            "firstName": "  Priya ",
            "lastName": "Shah",
            "email": "Priya.Shah@Northside-Housing.example",
            "emailConfirmation": "priya.shah@northside-housing.example",
            "permissions": ["VIEW_PAYMENTS", "PROVIDE_TENANCY_DETAILS", "VIEW_PAYMENTS"],
        }),
    )
    .await;
    let invited = response.data()["inviteUser"].clone();
    assert_eq!(invited["firstName"], json!("Priya"), "names are trimmed");
    assert_eq!(
        invited["email"],
        json!("Priya.Shah@Northside-Housing.example")
    );
    assert_eq!(
        invited["permissions"],
        json!(["PROVIDE_TENANCY_DETAILS", "VIEW_PAYMENTS"])
    );
    assert_eq!(invited["kind"], json!("LANDLORD"));
    assert_eq!(
        invited["organisation"]["id"],
        json!(gid("Organisation", org.id))
    );
    assert_eq!(invited["status"], json!("ACTIVE"));
    assert_eq!(invited["invitationPending"], json!(true));
    assert!(invited["invitedAt"].is_string());
    let id: Uuid = portal_tests::uuid_of(invited["id"].as_str().unwrap());
    let stored = reload(&app, id).await;
    assert_eq!(
        stored.email_normalized,
        "priya.shah@northside-housing.example"
    );
    assert!(stored.password_hash.is_none());

    // Nothing is sent inside the request; the worker sends one email.
    assert!(app.emails().await.is_empty());
    app.run_pending_jobs().await;
    let emails = app.emails().await;
    assert_eq!(emails.len(), 1);
    let raw = link_token(&emails[0].text);
    let link = stored_link(&app, &raw)
        .await
        .expect("the emailed link is stored hashed");
    assert_eq!(link.user_id, id);
    assert_eq!(link.purpose, TokenPurpose::Invitation);
    assert!(link.used_at.is_none());
    let hours = (link.expires_at - Utc::now()).num_minutes();
    assert!((23 * 60..=24 * 60).contains(&hours), "valid 24 hours");
    let filters = email_filters(&app);
    insta::with_settings!({ filters => filters.iter().map(|(a, b)| (a.as_str(), *b)).collect::<Vec<_>>() }, {
        insta::assert_yaml_snapshot!("invitation_email", emails[0]);
    });

    let entries = audit_entries(&app, "user.invite").await;
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(entry.actor_user_id, Some(org.admin.user.id));
    assert_eq!(entry.target_id, Some(id));
    assert_eq!(entry.organisation_id, Some(org.id));
    assert!(entry.before.is_none());
    let after = entry.after.clone().unwrap();
    assert_eq!(
        after["email"],
        json!("Priya.Shah@Northside-Housing.example")
    );
    assert_eq!(
        after["permissions"],
        json!(["PROVIDE_TENANCY_DETAILS", "VIEW_PAYMENTS"])
    );
    assert!(after.get("password_hash").is_none());
}

#[tokio::test]
async fn every_invitation_mistake_is_reported_and_changes_nothing() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let taken = app.landlord_user(org.id, &[]).await;
    let before = users_count(&app).await;

    // Each mistake on its own.
    let cases = [
        (
            json!({ "emailConfirmation": "priya.shah@northside.example" }),
            "input.emailConfirmation",
            "The email addresses do not match.",
        ),
        (
            json!({ "email": "priya@gmail.example", "emailConfirmation": "priya@gmail.example" }),
            "input.email",
            "The email address must be at one of the organisation's registered domains (@northside-housing.example, @northside.example). To register another domain, contact the service.",
        ),
        (
            json!({ "email": taken.user.email.to_uppercase(), "emailConfirmation": taken.user.email }),
            "input.email",
            "This email address is already used by another account.",
        ),
        (
            json!({ "email": "not an email", "emailConfirmation": "not an email" }),
            "input.email",
            "Enter an email address in the correct format, like name@example.com.",
        ),
        (
            json!({ "firstName": "   " }),
            "input.firstName",
            "Enter a first name.",
        ),
        (
            json!({ "lastName": "x".repeat(101) }),
            "input.lastName",
            "Must be at most 100 characters long.",
        ),
    ];
    for (change, field, reason) in cases {
        let mut input = invitation("priya.shah@northside-housing.example");
        for (k, v) in change.as_object().unwrap() {
            input[k] = v.clone();
        }
        let response = invite(&app, Some(&org.admin.token), input).await;
        assert_eq!(
            field_reasons(&response),
            vec![(field.to_owned(), vec![reason.to_owned()])],
            "{change}"
        );
        assert!(response.body["data"].is_null());
    }

    // Everything wrong at once: every field is reported.
    let response = invite(
        &app,
        Some(&org.admin.token),
        json!({
            "firstName": "",
            "lastName": "y".repeat(101),
            "email": "priya@gmail.example",
            "emailConfirmation": "someone.else@gmail.example",
            "permissions": [],
        }),
    )
    .await;
    let fields: Vec<String> = field_reasons(&response)
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(
        fields,
        vec![
            "input.email",
            "input.emailConfirmation",
            "input.firstName",
            "input.lastName"
        ]
    );

    // A name of exactly 100 characters, in any script, is fine.
    let mut input = invitation("ok@northside.example");
    input["lastName"] = json!("é".repeat(100));
    invite(&app, Some(&org.admin.token), input).await.data();
    app.run_pending_jobs().await;

    assert_eq!(
        users_count(&app).await,
        before + 1,
        "only the valid invitation created a user"
    );
    assert_eq!(
        app.emails().await.len(),
        1,
        "only the valid invitation sent an email"
    );
}

#[tokio::test]
async fn concurrent_invitations_of_one_address_make_one_account() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let input = invitation("twice@northside.example");
    let (a, b) = tokio::join!(
        invite(&app, Some(&org.admin.token), input.clone()),
        invite(&app, Some(&org.admin.token), input.clone())
    );
    let mut outcomes = [a, b].map(|r| {
        if r.body.get("errors").is_some() {
            field_reasons(&r)
        } else {
            vec![]
        }
    });
    outcomes.sort();
    assert_eq!(
        outcomes,
        [
            vec![],
            vec![(
                "input.email".to_owned(),
                vec!["This email address is already used by another account.".to_owned()]
            )]
        ]
    );
    app.run_pending_jobs().await;
    assert_eq!(app.emails().await.len(), 1);
}

#[tokio::test]
async fn a_deactivated_address_can_be_invited_again_as_a_new_account() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let first = invite(
        &app,
        Some(&org.admin.token),
        invitation("sam@northside.example"),
    )
    .await;
    let first_id: Uuid = portal_tests::uuid_of(first.data()["inviteUser"]["id"].as_str().unwrap());
    act(&app, Some(&org.admin.token), "deactivateUser", first_id)
        .await
        .data();
    let again = invite(
        &app,
        Some(&org.admin.token),
        invitation("SAM@northside.example"),
    )
    .await;
    let again_id: Uuid = portal_tests::uuid_of(again.data()["inviteUser"]["id"].as_str().unwrap());
    assert_ne!(first_id, again_id, "a new account");
    assert_eq!(reload(&app, first_id).await.status, UserStatus::Deactivated);
    app.run_pending_jobs().await;
    let subjects: Vec<String> = app.emails().await.into_iter().map(|e| e.subject).collect();
    assert_eq!(
        subjects.len(),
        3,
        "invitation, deactivation, invitation: {subjects:?}"
    );
}

#[tokio::test]
async fn administrators_change_permissions_and_the_change_is_audited() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let colleague = app
        .landlord_user(org.id, &[Permission::ProvideTenancyDetails])
        .await;
    let response = app
        .graphql(
            Some(&org.admin.token),
            "mutation($id: ID!, $p: [Permission!]!) { updateUserPermissions(id: $id, permissions: $p) { permissions } }",
            json!({ "id": gid("User", colleague.user.id), "p": ["EXPORT_PAYMENTS", "MANAGE_USERS", "EXPORT_PAYMENTS"] }),
        )
        .await;
    assert_eq!(
        response.data()["updateUserPermissions"]["permissions"],
        json!(["MANAGE_USERS", "EXPORT_PAYMENTS"])
    );
    let stored: Vec<Permission> = user_permission::Entity::find()
        .filter(user_permission::Column::UserId.eq(colleague.user.id))
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.permission)
        .collect();
    assert_eq!(stored.len(), 2);
    // The new administrator can now manage users.
    act(
        &app,
        Some(&colleague.token),
        "unlockUser",
        org.admin.user.id,
    )
    .await
    .data();

    let entry = audit_entries(&app, "user.update_permissions")
        .await
        .remove(0);
    assert_eq!(
        entry.before.unwrap()["permissions"],
        json!(["PROVIDE_TENANCY_DETAILS"])
    );
    assert_eq!(
        entry.after.unwrap()["permissions"],
        json!(["MANAGE_USERS", "EXPORT_PAYMENTS"])
    );
    assert_eq!(
        entry.ip_address.as_deref(),
        None,
        "in-process requests have no peer address"
    );
}

#[tokio::test]
async fn the_last_user_who_can_manage_users_stays() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let staff = app.service_admin().await;
    let remove = "mutation($id: ID!) { updateUserPermissions(id: $id, permissions: [VIEW_PAYMENTS]) { permissions } }";
    for response in [
        app.graphql(
            Some(&staff.token),
            remove,
            json!({ "id": gid("User", org.admin.user.id) }),
        )
        .await,
        act(&app, Some(&staff.token), "suspendUser", org.admin.user.id).await,
        act(
            &app,
            Some(&staff.token),
            "deactivateUser",
            org.admin.user.id,
        )
        .await,
    ] {
        assert_eq!(response.error_code(), "CONFLICT");
        assert_eq!(
            response.body["errors"][0]["message"],
            "This is the only active user who can manage users in this organisation. Give someone else the Manage users permission first."
        );
    }
    assert_eq!(
        reload(&app, org.admin.user.id).await.status,
        UserStatus::Active
    );

    // With a second administrator, the first can go.
    let deputy = app.landlord_user(org.id, &[Permission::ManageUsers]).await;
    act(&app, Some(&deputy.token), "suspendUser", org.admin.user.id)
        .await
        .data();
    // ... and now the deputy is the last one standing: a suspended
    // administrator does not count.
    let response = act(&app, Some(&staff.token), "deactivateUser", deputy.user.id).await;
    assert_eq!(response.error_code(), "CONFLICT");
    // Other permissions of the last administrator can still change.
    let keep = "mutation($id: ID!) { updateUserPermissions(id: $id, permissions: [MANAGE_USERS, VIEW_PAYMENTS]) { permissions } }";
    app.graphql(
        Some(&staff.token),
        keep,
        json!({ "id": gid("User", deputy.user.id) }),
    )
    .await
    .data();
}

#[tokio::test]
async fn nobody_changes_their_own_account_here() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    app.landlord_user(org.id, &[Permission::ManageUsers]).await;
    for mutation in [
        "suspendUser",
        "deactivateUser",
        "resetUserMobileNumber",
        "unlockUser",
        "sendPasswordReset",
    ] {
        let response = act(&app, Some(&org.admin.token), mutation, org.admin.user.id).await;
        assert_eq!(
            field_reasons(&response),
            vec![(
                "id".to_owned(),
                vec!["You cannot change your own account here. Ask another person who can manage users.".to_owned()]
            )],
            "{mutation}"
        );
    }
    let response = app
        .graphql(
            Some(&org.admin.token),
            "mutation($id: ID!) { updateUserPermissions(id: $id, permissions: [MANAGE_USERS, VIEW_PAYMENTS]) { id } }",
            json!({ "id": gid("User", org.admin.user.id) }),
        )
        .await;
    assert_eq!(response.error_code(), "BAD_USER_INPUT");
    assert_eq!(audit_entries(&app, "user.suspend").await.len(), 0);
}

#[tokio::test]
async fn another_organisations_user_answers_exactly_like_a_missing_one() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let other = app.create_organisation(&["elsewhere.example"], false).await;
    let stranger = app.landlord_user(other, &[]).await;
    let staff = app.caseworker().await;
    let deactivated = app.landlord_user(org.id, &[]).await;
    act(
        &app,
        Some(&org.admin.token),
        "deactivateUser",
        deactivated.user.id,
    )
    .await
    .data();
    app.run_pending_jobs().await;

    let missing = Uuid::now_v7();
    for mutation in [
        "resendInvitation",
        "resetUserMobileNumber",
        "sendPasswordReset",
        "unlockUser",
        "suspendUser",
        "reinstateUser",
        "deactivateUser",
    ] {
        let expected = act(&app, Some(&org.admin.token), mutation, missing)
            .await
            .body;
        assert_eq!(expected["errors"][0]["extensions"]["code"], "NOT_FOUND");
        for hidden in [stranger.user.id, deactivated.user.id, staff.user.id] {
            let body = act(&app, Some(&org.admin.token), mutation, hidden)
                .await
                .body;
            assert_eq!(body, expected, "{mutation} on {hidden}");
        }
    }
    let read = "query($id: ID!) { organisationUser(id: $id) { id } }";
    let expected = app
        .graphql(Some(&org.admin.token), read, json!({ "id": missing }))
        .await
        .body;
    let hidden = app
        .graphql(
            Some(&org.admin.token),
            read,
            json!({ "id": gid("User", stranger.user.id) }),
        )
        .await
        .body;
    assert_eq!(hidden, expected);
    let malformed = app
        .graphql(Some(&org.admin.token), read, json!({ "id": "not-an-id" }))
        .await
        .body;
    assert_eq!(malformed, expected);
    assert_eq!(
        reload(&app, stranger.user.id).await.status,
        UserStatus::Active
    );
}

#[tokio::test]
async fn only_people_who_manage_users_may() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let colleague = app
        .landlord_user(
            org.id,
            &[Permission::ViewPayments, Permission::ExportPayments],
        )
        .await;
    let target = app.landlord_user(org.id, &[]).await;
    let resident = app.resident().await;
    let list = "{ organisationUsers { edges { cursor } } }";
    for (token, code) in [
        (Some(colleague.token.as_str()), "FORBIDDEN"),
        (Some(resident.token.as_str()), "FORBIDDEN"),
        (None, "UNAUTHENTICATED"),
    ] {
        assert_eq!(app.graphql(token, list, json!({})).await.error_code(), code);
        assert_eq!(
            act(&app, token, "suspendUser", target.user.id)
                .await
                .error_code(),
            code
        );
        assert_eq!(
            invite(&app, token, invitation("x@northside.example"))
                .await
                .error_code(),
            code
        );
    }
    // A landlord administrator cannot restrict: that is the service's call.
    let restrict = app
        .graphql(
            Some(&org.admin.token),
            "mutation($id: ID!) { restrictUser(id: $id, reason: \"Abuse\") { id } }",
            json!({ "id": gid("User", target.user.id) }),
        )
        .await;
    assert_eq!(restrict.error_code(), "FORBIDDEN");
    // Caseworkers do the support desk's actions but not the administrator's.
    let caseworker = app.caseworker().await;
    act(&app, Some(&caseworker.token), "unlockUser", target.user.id)
        .await
        .data();
    assert_eq!(
        act(&app, Some(&caseworker.token), "suspendUser", target.user.id)
            .await
            .error_code(),
        "FORBIDDEN"
    );
    let mut staff_invite = invitation("new@northside.example");
    staff_invite["organisationId"] = json!(gid("Organisation", org.id));
    assert_eq!(
        invite(&app, Some(&caseworker.token), staff_invite.clone())
            .await
            .error_code(),
        "FORBIDDEN"
    );
    // A service administrator may do everything, in any organisation.
    let admin = app.service_admin().await;
    invite(&app, Some(&admin.token), staff_invite).await.data();
    act(&app, Some(&admin.token), "suspendUser", target.user.id)
        .await
        .data();
    app.run_pending_jobs().await;
    assert_eq!(
        reload(&app, target.user.id).await.status,
        UserStatus::Suspended
    );
}

#[tokio::test]
async fn suspending_ends_sessions_until_reinstated() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let colleague = app.landlord_user(org.id, &[]).await;
    assert!(signed_in(&app, &colleague).await);
    let suspended = act(
        &app,
        Some(&org.admin.token),
        "suspendUser",
        colleague.user.id,
    )
    .await;
    assert_eq!(
        suspended.data()["suspendUser"]["status"],
        json!("SUSPENDED")
    );
    assert!(!signed_in(&app, &colleague).await);
    let live_sessions = session::Entity::find()
        .filter(session::Column::UserId.eq(colleague.user.id))
        .filter(session::Column::RevokedAt.is_null())
        .count(app.db())
        .await
        .unwrap();
    assert_eq!(live_sessions, 0);
    // Suspending twice, or reinstating an active account, is a conflict.
    assert_eq!(
        act(
            &app,
            Some(&org.admin.token),
            "suspendUser",
            colleague.user.id
        )
        .await
        .error_code(),
        "CONFLICT"
    );
    let reinstated = act(
        &app,
        Some(&org.admin.token),
        "reinstateUser",
        colleague.user.id,
    )
    .await;
    assert_eq!(
        reinstated.data()["reinstateUser"]["status"],
        json!("ACTIVE")
    );
    assert_eq!(
        act(
            &app,
            Some(&org.admin.token),
            "reinstateUser",
            colleague.user.id
        )
        .await
        .error_code(),
        "CONFLICT"
    );
    let entry = audit_entries(&app, "user.suspend").await.remove(0);
    assert_eq!(entry.before.unwrap()["status"], json!("ACTIVE"));
    assert_eq!(entry.after.unwrap()["status"], json!("SUSPENDED"));
    assert_eq!(audit_entries(&app, "user.reinstate").await.len(), 1);
}

#[tokio::test]
async fn unlocking_clears_the_lock_out() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let colleague = app.landlord_user(org.id, &[]).await;
    let mut locked = colleague.user.clone().into_active_model();
    locked.failed_login_attempts = Set(5);
    locked.locked_until = Set(Some(Utc::now() + Duration::minutes(15)));
    locked.update(app.db()).await.unwrap();
    let response = act(
        &app,
        Some(&org.admin.token),
        "unlockUser",
        colleague.user.id,
    )
    .await;
    assert_eq!(response.data()["unlockUser"]["isLocked"], json!(false));
    let stored = reload(&app, colleague.user.id).await;
    assert_eq!(stored.failed_login_attempts, 0);
    assert!(stored.locked_until.is_none());
    let entry = audit_entries(&app, "user.unlock").await.remove(0);
    assert_eq!(entry.before.unwrap()["failed_login_attempts"], json!(5));
}

#[tokio::test]
async fn resetting_a_mobile_number_makes_the_user_enter_a_new_one() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let colleague = app.landlord_user(org.id, &[]).await;
    let mut with_mobile = colleague.user.clone().into_active_model();
    with_mobile.mobile_number = Set(Some("+447700900123".into()));
    with_mobile.update(app.db()).await.unwrap();
    let response = act(
        &app,
        Some(&org.admin.token),
        "resetUserMobileNumber",
        colleague.user.id,
    )
    .await;
    let node = &response.data()["resetUserMobileNumber"];
    assert_eq!(node["mobileNumber"], Value::Null);
    assert_eq!(node["mobileResetPending"], json!(true));
    assert!(
        !signed_in(&app, &colleague).await,
        "they sign in again to enter it"
    );
    let entry = audit_entries(&app, "user.reset_mobile_number")
        .await
        .remove(0);
    assert_eq!(
        entry.before.unwrap()["mobile_number"],
        json!("+447700900123")
    );
    assert_eq!(entry.after.unwrap()["mobile_number"], Value::Null);
}

#[tokio::test]
async fn an_administrator_can_send_a_password_reset() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let colleague = app.landlord_user(org.id, &[]).await;
    act(
        &app,
        Some(&org.admin.token),
        "sendPasswordReset",
        colleague.user.id,
    )
    .await
    .data();
    app.run_pending_jobs().await;
    let emails = app.emails().await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].to, colleague.user.email);
    assert!(emails[0].text.contains("/reset-password?token="));
    let link = stored_link(&app, &link_token(&emails[0].text))
        .await
        .unwrap();
    assert_eq!(link.purpose, TokenPurpose::PasswordReset);
    assert_eq!(link.user_id, colleague.user.id);
    assert!(
        signed_in(&app, &colleague).await,
        "sending a reset ends nothing"
    );

    // Someone who has not accepted their invitation gets the invitation again instead.
    let invited = invite(
        &app,
        Some(&org.admin.token),
        invitation("new@northside.example"),
    )
    .await;
    let invited_id: Uuid =
        portal_tests::uuid_of(invited.data()["inviteUser"]["id"].as_str().unwrap());
    let response = act(
        &app,
        Some(&org.admin.token),
        "sendPasswordReset",
        invited_id,
    )
    .await;
    assert_eq!(response.error_code(), "CONFLICT");
    app.run_pending_jobs().await;
    assert_eq!(
        audit_entries(&app, "user.send_password_reset").await.len(),
        1
    );
}

#[tokio::test]
async fn a_new_invitation_replaces_the_old_link() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let invited = invite(
        &app,
        Some(&org.admin.token),
        invitation("late@northside.example"),
    )
    .await;
    let id: Uuid = portal_tests::uuid_of(invited.data()["inviteUser"]["id"].as_str().unwrap());
    app.run_pending_jobs().await;
    let first = link_token(&app.emails().await[0].text);

    let resent = act(&app, Some(&org.admin.token), "resendInvitation", id).await;
    assert_eq!(
        resent.data()["resendInvitation"]["invitationPending"],
        json!(true)
    );
    app.run_pending_jobs().await;
    let emails = app.emails().await;
    assert_eq!(emails.len(), 2);
    // The other email's link (the mailbox's order is not relied on).
    let tokens: Vec<String> = emails.iter().map(|e| link_token(&e.text)).collect();
    assert!(tokens.contains(&first));
    let second = tokens
        .into_iter()
        .find(|t| *t != first)
        .expect("a new link");
    assert!(
        stored_link(&app, &first).await.unwrap().used_at.is_some(),
        "the old link is dead"
    );
    assert!(stored_link(&app, &second).await.unwrap().used_at.is_none());

    // Someone with a password needs a reset, not an invitation.
    let colleague = app.landlord_user(org.id, &[]).await;
    assert_eq!(
        act(
            &app,
            Some(&org.admin.token),
            "resendInvitation",
            colleague.user.id
        )
        .await
        .error_code(),
        "CONFLICT"
    );
}

#[tokio::test]
async fn deactivation_ends_sessions_frees_the_address_and_number_and_tells_the_user() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let colleague = app.landlord_user(org.id, &[Permission::ViewPayments]).await;
    let mut with_mobile = colleague.user.clone().into_active_model();
    with_mobile.mobile_number = Set(Some("+447700900456".into()));
    with_mobile.first_name = Set("John".into());
    with_mobile.last_name = Set("Smith".into());
    with_mobile.update(app.db()).await.unwrap();
    assert!(signed_in(&app, &colleague).await);

    let response = act(
        &app,
        Some(&org.admin.token),
        "deactivateUser",
        colleague.user.id,
    )
    .await;
    assert_eq!(
        response.data()["deactivateUser"]["status"],
        json!("DEACTIVATED")
    );
    assert!(!signed_in(&app, &colleague).await);
    let stored = reload(&app, colleague.user.id).await;
    assert_eq!(stored.status, UserStatus::Deactivated);
    assert!(stored.deactivated_at.is_some());
    assert!(stored.mobile_number.is_none());

    // Gone from the list.
    let list = app
        .graphql(
            Some(&org.admin.token),
            "{ organisationUsers { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        list.data()["organisationUsers"]["edges"],
        json!([{ "node": { "id": gid("User", org.admin.user.id) } }])
    );
    // The number is free for someone else...
    let mut taker = org.admin.user.clone().into_active_model();
    taker.mobile_number = Set(Some("+447700900456".into()));
    taker.update(app.db()).await.unwrap();
    // ... and so is the address (a new account).
    let again = invite(
        &app,
        Some(&org.admin.token),
        invitation(&colleague.user.email),
    )
    .await;
    again.data();

    app.run_pending_jobs().await;
    let emails = app.emails().await;
    let notice = emails
        .iter()
        .find(|e| e.text.contains("deactivated"))
        .expect("a deactivation email");
    let filters = email_filters(&app);
    insta::with_settings!({ filters => filters.iter().map(|(a, b)| (a.as_str(), *b)).collect::<Vec<_>>() }, {
        insta::assert_yaml_snapshot!("deactivation_email", notice);
    });
    let entry = audit_entries(&app, "user.deactivate").await.remove(0);
    assert_eq!(entry.after.unwrap()["status"], json!("DEACTIVATED"));
}

#[tokio::test]
async fn staff_restrict_access_under_the_acceptable_use_policy() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let landlord = app.landlord_user(org.id, &[]).await;
    let resident = app.resident().await;
    let caseworker = app.caseworker().await;
    let restrict = "mutation($id: ID!, $reason: String!) { restrictUser(id: $id, reason: $reason) { id kind status } }";

    for (reason, problem) in [
        ("  ", "Enter the reason for the restriction."),
        (&"r".repeat(501)[..], "Must be at most 500 characters long."),
    ] {
        let response = app
            .graphql(
                Some(&caseworker.token),
                restrict,
                json!({ "id": gid("User", resident.user.id), "reason": reason }),
            )
            .await;
        assert_eq!(
            field_reasons(&response),
            vec![("reason".to_owned(), vec![problem.to_owned()])]
        );
    }
    assert!(signed_in(&app, &resident).await);

    for target in [&resident, &landlord] {
        let response = app
            .graphql(
                Some(&caseworker.token),
                restrict,
                json!({ "id": gid("User", target.user.id), "reason": "Abusive messages to staff" }),
            )
            .await;
        assert_eq!(
            response.data()["restrictUser"]["status"],
            json!("RESTRICTED")
        );
        assert!(!signed_in(&app, target).await);
    }
    let entries = audit_entries(&app, "user.restrict").await;
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|e| {
        e.after.as_ref().unwrap()["reason"] == json!("Abusive messages to staff")
            && e.actor_user_id == Some(caseworker.user.id)
    }));
    let landlord_entry = entries
        .iter()
        .find(|e| e.target_id == Some(landlord.user.id))
        .unwrap();
    assert_eq!(landlord_entry.organisation_id, Some(org.id));

    // The organisation cannot undo the service's decision; staff can.
    let response = act(
        &app,
        Some(&org.admin.token),
        "reinstateUser",
        landlord.user.id,
    )
    .await;
    assert_eq!(response.error_code(), "CONFLICT");
    let lifted = act(
        &app,
        Some(&caseworker.token),
        "liftRestriction",
        landlord.user.id,
    )
    .await;
    assert_eq!(lifted.data()["liftRestriction"]["status"], json!("ACTIVE"));
    assert_eq!(
        act(
            &app,
            Some(&caseworker.token),
            "liftRestriction",
            landlord.user.id
        )
        .await
        .error_code(),
        "CONFLICT"
    );
    // Staff accounts are not restricted through this.
    let other_staff = app.service_admin().await;
    let response = app
        .graphql(
            Some(&caseworker.token),
            restrict,
            json!({ "id": gid("User", other_staff.user.id), "reason": "No" }),
        )
        .await;
    assert_eq!(response.error_code(), "NOT_FOUND");
}

#[tokio::test]
async fn a_rejected_change_changes_nothing() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let audit_before = audit_log::Entity::find().count(app.db()).await.unwrap();
    // The last administrator, so the deactivation is refused after the
    // target was read and the organisation locked.
    let staff = app.service_admin().await;
    let response = act(
        &app,
        Some(&staff.token),
        "deactivateUser",
        org.admin.user.id,
    )
    .await;
    assert_eq!(response.error_code(), "CONFLICT");
    assert!(signed_in(&app, &org.admin).await);
    assert_eq!(
        audit_log::Entity::find().count(app.db()).await.unwrap(),
        audit_before
    );
    assert_eq!(app.unfinished_jobs().await, 0, "no email was queued");
}

#[tokio::test]
async fn a_restriction_cannot_be_undone_by_deactivating_and_inviting_again() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let landlord = app.landlord_user(org.id, &[]).await;
    let caseworker = app.caseworker().await;
    let service_admin = app.service_admin().await;
    let restricted = app
        .graphql(
            Some(&caseworker.token),
            "mutation($id: ID!) { restrictUser(id: $id, reason: \"Abusive messages to staff\") { status } }",
            json!({ "id": gid("User", landlord.user.id) }),
        )
        .await;
    assert_eq!(
        restricted.data()["restrictUser"]["status"],
        json!("RESTRICTED")
    );
    let (users_before, audit_before, jobs_before) = (
        users_count(&app).await,
        audit_log::Entity::find().count(app.db()).await.unwrap(),
        app.unfinished_jobs().await,
    );

    // The organisation cannot close the account (which would free the
    // address for a new invitation) ...
    let refused = act(
        &app,
        Some(&org.admin.token),
        "deactivateUser",
        landlord.user.id,
    )
    .await;
    assert_eq!(refused.error_code(), "CONFLICT", "{:#}", refused.body);
    assert_eq!(
        refused.body["errors"][0]["message"],
        "This account's access has been restricted by the service, so it cannot be deactivated. \
         Only the service can lift the restriction."
    );
    assert!(refused.body["data"].is_null());
    // ... nor can a service administrator without lifting the restriction first.
    let refused = act(
        &app,
        Some(&service_admin.token),
        "deactivateUser",
        landlord.user.id,
    )
    .await;
    assert_eq!(refused.error_code(), "CONFLICT", "{:#}", refused.body);
    assert!(
        refused.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("This account's access is restricted. Lift the restriction first")
    );

    // Inviting the address again is refused with its own reason, in any
    // case, by the organisation and by staff, and alongside other mistakes.
    let restricted_reason = "This email address belongs to an account whose access has been \
        restricted by the service. It cannot be invited again until the service lifts the restriction.";
    let again = invite(
        &app,
        Some(&org.admin.token),
        invitation(&landlord.user.email.to_uppercase()),
    )
    .await;
    assert_eq!(
        field_reasons(&again),
        vec![("input.email".to_owned(), vec![restricted_reason.to_owned()])]
    );
    let mut by_staff = invitation(&landlord.user.email);
    by_staff["organisationId"] = json!(gid("Organisation", org.id));
    by_staff["firstName"] = json!(" ");
    let again = invite(&app, Some(&service_admin.token), by_staff).await;
    assert_eq!(
        field_reasons(&again),
        vec![
            ("input.email".to_owned(), vec![restricted_reason.to_owned()]),
            (
                "input.firstName".to_owned(),
                vec!["Enter a first name.".to_owned()]
            ),
        ]
    );

    // Nothing changed: still restricted, no new account, nothing audited or sent.
    assert_eq!(
        reload(&app, landlord.user.id).await.status,
        UserStatus::Restricted
    );
    assert_eq!(users_count(&app).await, users_before);
    assert_eq!(
        audit_log::Entity::find().count(app.db()).await.unwrap(),
        audit_before
    );
    assert_eq!(app.unfinished_jobs().await, jobs_before);

    // Once staff lift the restriction, the usual deactivate-and-re-invite works.
    act(
        &app,
        Some(&caseworker.token),
        "liftRestriction",
        landlord.user.id,
    )
    .await
    .data();
    act(
        &app,
        Some(&org.admin.token),
        "deactivateUser",
        landlord.user.id,
    )
    .await
    .data();
    invite(
        &app,
        Some(&org.admin.token),
        invitation(&landlord.user.email),
    )
    .await
    .data();
    assert_eq!(users_count(&app).await, users_before + 1);
    app.run_pending_jobs().await;
}
