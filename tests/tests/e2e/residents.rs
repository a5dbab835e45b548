//! Residents (issue 13): residents have no organisation administrator, so
//! staff are their support desk. Caseworkers re-send invitations, send
//! password resets, unlock and reset mobile numbers; service administrators
//! also suspend, reinstate and deactivate. Each is audited; organisation
//! administrators never see residents. Staff invite residents
//! (`inviteResident`) and find them (`residents`).

use chrono::{Duration, Utc};
use entities::{Permission, TokenPurpose, UserKind, UserStatus, audit_log, user, user_token};
use portal_tests::gid;
use portal_tests::{TestApp, TestResponse, fixtures::TestUser};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, Set,
};
use serde_json::{Value, json};
use uuid::Uuid;

/// Runs a user-management mutation that takes only `userId`.
async fn act(app: &TestApp, token: Option<&str>, mutation: &str, user_id: Uuid) -> TestResponse {
    app.graphql(
        token,
        &format!("mutation($id: ID!) {{ {mutation}(id: $id) {{ id kind status isLocked mobileNumber mobileResetPending }} }}"),
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

/// A resident who has set a password, is locked out and has a mobile number.
async fn resident(app: &TestApp) -> TestUser {
    let resident = app.resident().await;
    let mut row = resident.user.clone().into_active_model();
    row.password_hash = Set(Some("not-a-real-hash".into()));
    row.failed_login_attempts = Set(5);
    row.locked_until = Set(Some(Utc::now() + Duration::minutes(15)));
    row.mobile_number = Set(Some("+447700900123".into()));
    let user = row.update(app.db()).await.unwrap();
    TestUser {
        user,
        token: resident.token,
    }
}

#[tokio::test]
async fn caseworkers_are_the_support_desk_for_residents() {
    let app = TestApp::init().await;
    let resident = resident(&app).await;
    let caseworker = app.caseworker().await;

    let unlocked = act(
        &app,
        Some(&caseworker.token),
        "unlockUser",
        resident.user.id,
    )
    .await;
    assert_eq!(unlocked.data()["unlockUser"]["kind"], json!("RESIDENT"));
    assert_eq!(unlocked.data()["unlockUser"]["isLocked"], json!(false));
    assert_eq!(
        reload(&app, resident.user.id).await.failed_login_attempts,
        0
    );

    act(
        &app,
        Some(&caseworker.token),
        "sendPasswordReset",
        resident.user.id,
    )
    .await
    .data();
    app.run_pending_jobs().await;
    let emails = app.emails().await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].to, resident.user.email);
    assert!(emails[0].text.contains("/reset-password?token="));

    let reset = act(
        &app,
        Some(&caseworker.token),
        "resetUserMobileNumber",
        resident.user.id,
    )
    .await;
    assert_eq!(
        reset.data()["resetUserMobileNumber"]["mobileNumber"],
        Value::Null
    );
    assert_eq!(
        reset.data()["resetUserMobileNumber"]["mobileResetPending"],
        json!(true)
    );

    // Suspending is the service administrator's call.
    assert_eq!(
        act(
            &app,
            Some(&caseworker.token),
            "suspendUser",
            resident.user.id
        )
        .await
        .error_code(),
        "FORBIDDEN"
    );
    assert_eq!(
        reload(&app, resident.user.id).await.status,
        UserStatus::Active
    );

    // Residents have no permissions to edit.
    let permissions = app
        .graphql(
            Some(&app.service_admin().await.token),
            "mutation($id: ID!) { updateUserPermissions(id: $id, permissions: [VIEW_PAYMENTS]) { id } }",
            json!({ "id": gid("User", resident.user.id) }),
        )
        .await;
    assert_eq!(permissions.error_code(), "NOT_FOUND");

    for (action, count) in [
        ("user.unlock", 1),
        ("user.send_password_reset", 1),
        ("user.reset_mobile_number", 1),
        ("user.suspend", 0),
        ("user.update_permissions", 0),
    ] {
        let entries = audit_entries(&app, action).await;
        assert_eq!(entries.len(), count, "{action}");
        for entry in entries {
            assert_eq!(entry.actor_user_id, Some(caseworker.user.id));
            assert_eq!(entry.target_id, Some(resident.user.id));
            assert_eq!(entry.organisation_id, None);
        }
    }
}

#[tokio::test]
async fn a_resident_who_never_accepted_gets_the_invitation_again() {
    let app = TestApp::init().await;
    let resident = app.resident().await; // no password yet
    let caseworker = app.caseworker().await;
    assert_eq!(
        act(
            &app,
            Some(&caseworker.token),
            "sendPasswordReset",
            resident.user.id
        )
        .await
        .error_code(),
        "CONFLICT"
    );
    act(
        &app,
        Some(&caseworker.token),
        "resendInvitation",
        resident.user.id,
    )
    .await
    .data();
    app.run_pending_jobs().await;
    let emails = app.emails().await;
    assert_eq!(emails.len(), 1);
    assert!(emails[0].text.contains("/accept-invitation?token="));
    assert!(
        emails[0]
            .text
            .contains("An account has been set up for you"),
        "{}",
        emails[0].text
    );
    assert_eq!(audit_entries(&app, "user.resend_invitation").await.len(), 1);
    assert!(
        audit_entries(&app, "user.send_password_reset")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn service_administrators_suspend_reinstate_and_deactivate_residents() {
    let app = TestApp::init().await;
    let resident = resident(&app).await;
    let admin = app.service_admin().await;

    let suspended = act(&app, Some(&admin.token), "suspendUser", resident.user.id).await;
    assert_eq!(
        suspended.data()["suspendUser"]["status"],
        json!("SUSPENDED")
    );
    let reinstated = act(&app, Some(&admin.token), "reinstateUser", resident.user.id).await;
    assert_eq!(
        reinstated.data()["reinstateUser"]["status"],
        json!("ACTIVE")
    );
    let deactivated = act(&app, Some(&admin.token), "deactivateUser", resident.user.id).await;
    assert_eq!(
        deactivated.data()["deactivateUser"]["status"],
        json!("DEACTIVATED")
    );
    assert_eq!(
        reload(&app, resident.user.id).await.status,
        UserStatus::Deactivated
    );
    // Once deactivated, the resident is gone like any other account.
    assert_eq!(
        act(&app, Some(&admin.token), "unlockUser", resident.user.id)
            .await
            .error_code(),
        "NOT_FOUND"
    );
    for action in ["user.suspend", "user.reinstate", "user.deactivate"] {
        let entries = audit_entries(&app, action).await;
        assert_eq!(entries.len(), 1, "{action}");
        assert_eq!(entries[0].actor_user_id, Some(admin.user.id));
        assert_eq!(entries[0].target_id, Some(resident.user.id));
    }
    app.run_pending_jobs().await;
    let emails = app.emails().await;
    assert_eq!(emails.len(), 1, "the deactivation email");
    assert_eq!(emails[0].to, resident.user.email);
}

#[tokio::test]
async fn organisation_administrators_and_residents_never_manage_residents() {
    let app = TestApp::init().await;
    let resident = resident(&app).await;
    let other_resident = app.resident().await;
    let org = app.create_organisation(&["northside.example"], false).await;
    let org_admin = app.landlord_user(org, &[Permission::ManageUsers]).await;
    let plain_landlord = app.landlord_user(org, &[]).await;
    for mutation in [
        "unlockUser",
        "sendPasswordReset",
        "resetUserMobileNumber",
        "suspendUser",
        "deactivateUser",
    ] {
        // Residents are invisible to an organisation administrator: the
        // same answer as a missing id.
        assert_eq!(
            act(&app, Some(&org_admin.token), mutation, resident.user.id)
                .await
                .error_code(),
            "NOT_FOUND",
            "{mutation}"
        );
        for (token, code) in [
            (Some(plain_landlord.token.as_str()), "FORBIDDEN"),
            (Some(other_resident.token.as_str()), "FORBIDDEN"),
            (None, "UNAUTHENTICATED"),
        ] {
            assert_eq!(
                act(&app, token, mutation, resident.user.id)
                    .await
                    .error_code(),
                code,
                "{mutation}"
            );
        }
    }
    let stored = reload(&app, resident.user.id).await;
    assert_eq!(stored.status, UserStatus::Active);
    assert_eq!(stored.failed_login_attempts, 5);
    assert!(stored.mobile_number.is_some());
    assert!(
        audit_entries(&app, "user.unlock").await.is_empty()
            && audit_entries(&app, "user.suspend").await.is_empty()
    );
}

const RESIDENT_FIELDS: &str = "id firstName lastName email mobileNumber address status \
    twoFactorMethod isLocked invitationPending invitedAt lastLoginAt createdAt";

fn new_resident(email: &str) -> Value {
    json!({
        "firstName": " Aisha ",
        "lastName": "Okafor",
        "email": email,
        "mobileNumber": "07700 900456",
        "address": "Flat 2, 14 Mill Lane\nLeeds\nls6 2ab",
    })
}

async fn invite_resident(app: &TestApp, token: Option<&str>, input: Value) -> TestResponse {
    app.graphql(
        token,
        &format!(
            "mutation($input: InviteResidentInput!) {{ inviteResident(input: $input) {{ {RESIDENT_FIELDS} }} }}"
        ),
        json!({ "input": input }),
    )
    .await
}

async fn users_count(app: &TestApp) -> u64 {
    user::Entity::find().count(app.db()).await.unwrap()
}

fn email_filters(app: &TestApp) -> Vec<(String, &'static str)> {
    vec![
        (app.host.replace('.', r"\."), "[host]"),
        (r"pl_[A-Za-z0-9_-]{43}".to_owned(), "[token]"),
        (
            r"\d{1,2}(:\d{2})?(am|pm) on \d{1,2} [A-Z][a-z]+ \d{4}".to_owned(),
            "[time]",
        ),
    ]
}

/// The `token=` value of the link in an email's text.
fn link_token(text: &str) -> String {
    let start = text.find("token=").expect("a link with a token") + "token=".len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

/// Every `BAD_USER_INPUT` error as (field, reasons), sorted by field.
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
async fn any_staff_member_invites_a_resident_who_accepts_like_a_landlord_user() {
    let app = TestApp::init().await;
    let caseworker = app.caseworker().await;
    let response = invite_resident(
        &app,
        Some(&caseworker.token),
        new_resident("Aisha.Okafor@Mail.example"),
    )
    .await;
    let invited = response.data()["inviteResident"].clone();
    assert_eq!(invited["firstName"], json!("Aisha"), "names are trimmed");
    assert_eq!(invited["email"], json!("Aisha.Okafor@Mail.example"));
    assert_eq!(invited["mobileNumber"], json!("+447700900456"));
    assert_eq!(
        invited["address"],
        json!("Flat 2, 14 Mill Lane\nLeeds\nls6 2ab")
    );
    assert_eq!(invited["status"], json!("ACTIVE"));
    assert_eq!(invited["invitationPending"], json!(true));
    let id: Uuid = portal_tests::uuid_of(invited["id"].as_str().unwrap());
    let stored = reload(&app, id).await;
    assert_eq!(stored.kind, UserKind::Resident);
    assert_eq!(stored.organisation_id, None);
    assert_eq!(stored.email_normalized, "aisha.okafor@mail.example");
    assert!(stored.password_hash.is_none());

    app.run_pending_jobs().await;
    let emails = app.emails().await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].to, "Aisha.Okafor@Mail.example");
    let raw = link_token(&emails[0].text);
    let link = user_token::Entity::find()
        .filter(user_token::Column::TokenHash.eq(api::auth::token::hash(&raw)))
        .one(app.db())
        .await
        .unwrap()
        .expect("the emailed link is stored hashed");
    assert_eq!(link.user_id, id);
    assert_eq!(link.purpose, TokenPurpose::Invitation);
    let minutes = (link.expires_at - Utc::now()).num_minutes();
    assert!((23 * 60..=24 * 60).contains(&minutes), "valid 24 hours");
    let filters = email_filters(&app);
    insta::with_settings!({ filters => filters.iter().map(|(a, b)| (a.as_str(), *b)).collect::<Vec<_>>() }, {
        insta::assert_yaml_snapshot!("resident_invitation_email", emails[0]);
    });

    let entries = audit_entries(&app, "user.invite_resident").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].actor_user_id, Some(caseworker.user.id));
    assert_eq!(entries[0].target_id, Some(id));
    assert_eq!(entries[0].organisation_id, None);
    let after = entries[0].after.clone().unwrap();
    assert_eq!(after["kind"], json!("RESIDENT"), "{after}");
    assert!(after.get("password_hash").is_none());

    // The resident accepts the invitation like a landlord user.
    let accepted = app
        .graphql(
            None,
            "mutation($t: String!, $p: String!) { acceptInvitation(token: $t, newPassword: $p, confirmation: $p) { __typename } }",
            json!({ "t": raw, "p": "A long and unusual passphrase 42!" }),
        )
        .await;
    assert!(accepted.error_codes().is_empty(), "{:?}", accepted.body);
    assert!(reload(&app, id).await.password_hash.is_some());

    // Mobile number and address are optional; a service administrator may
    // invite too.
    let admin = app.service_admin().await;
    let response = invite_resident(
        &app,
        Some(&admin.token),
        json!({ "firstName": "Tom", "lastName": "Reed", "email": "tom@mail.example" }),
    )
    .await;
    let invited = &response.data()["inviteResident"];
    assert_eq!(invited["mobileNumber"], Value::Null);
    assert_eq!(invited["address"], Value::Null);
    app.run_pending_jobs().await;
}

#[tokio::test]
async fn every_resident_invitation_mistake_is_reported_and_changes_nothing() {
    let app = TestApp::init().await;
    let caseworker = app.caseworker().await;
    let org = app.create_organisation(&["northside.example"], false).await;
    let landlord = app.landlord_user(org, &[]).await;
    let live_resident = resident(&app).await;
    let before = users_count(&app).await;

    let cases = [
        (
            json!({ "email": landlord.user.email.to_uppercase() }),
            "input.email",
            "This email address is already used by another account.",
        ),
        (
            json!({ "email": live_resident.user.email }),
            "input.email",
            "This email address is already used by another account.",
        ),
        (
            json!({ "email": "not an email" }),
            "input.email",
            "Enter an email address in the correct format, like name@example.com.",
        ),
        (
            json!({ "firstName": "  " }),
            "input.firstName",
            "Enter a first name.",
        ),
        (
            json!({ "lastName": "x".repeat(101) }),
            "input.lastName",
            "Must be at most 100 characters long.",
        ),
        (
            json!({ "mobileNumber": "020 7946 0000" }),
            "input.mobileNumber",
            "This is not a UK mobile number: mobile numbers start with 07 (or +44 7).",
        ),
        (
            json!({ "mobileNumber": "07000 123456" }),
            "input.mobileNumber",
            "070 numbers are personal numbers that forward calls, not mobiles: enter your mobile number.",
        ),
        (
            json!({ "mobileNumber": "07640 123456" }),
            "input.mobileNumber",
            "076 numbers are pagers, not mobiles: enter your mobile number.",
        ),
        (
            json!({ "mobileNumber": "+44 7700 900123" }),
            "input.mobileNumber",
            "This mobile number is already used by another account.",
        ),
        (
            json!({ "address": "a".repeat(501) }),
            "input.address",
            "Must be at most 500 characters long.",
        ),
    ];
    for (change, field, reason) in cases {
        let mut input = new_resident("aisha@mail.example");
        for (k, v) in change.as_object().unwrap() {
            input[k] = v.clone();
        }
        let response = invite_resident(&app, Some(&caseworker.token), input).await;
        assert_eq!(
            field_reasons(&response),
            vec![(field.to_owned(), vec![reason.to_owned()])],
            "{change}"
        );
        assert!(response.body["data"].is_null());
    }

    // Everything wrong at once: every field is reported.
    let response = invite_resident(
        &app,
        Some(&caseworker.token),
        json!({
            "firstName": "",
            "lastName": "y".repeat(101),
            "email": live_resident.user.email,
            "mobileNumber": "12",
            "address": "b".repeat(501),
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
            "input.address",
            "input.email",
            "input.firstName",
            "input.lastName",
            "input.mobileNumber",
        ]
    );

    // Nobody but staff.
    for (token, code) in [
        (Some(landlord.token.as_str()), "FORBIDDEN"),
        (Some(live_resident.token.as_str()), "FORBIDDEN"),
        (None, "UNAUTHENTICATED"),
    ] {
        assert_eq!(
            invite_resident(&app, token, new_resident("aisha@mail.example"))
                .await
                .error_code(),
            code
        );
    }

    // An address 500 characters long is fine.
    let mut input = new_resident("ok@mail.example");
    input["address"] = json!("é".repeat(500));
    input["mobileNumber"] = Value::Null;
    invite_resident(&app, Some(&caseworker.token), input)
        .await
        .data();
    app.run_pending_jobs().await;
    assert_eq!(users_count(&app).await, before + 1);
    assert_eq!(app.emails().await.len(), 1);
    assert_eq!(audit_entries(&app, "user.invite_resident").await.len(), 1);
}

async fn search(
    app: &TestApp,
    token: Option<&str>,
    search: &str,
    first: Option<i32>,
    after: Option<&str>,
) -> TestResponse {
    app.graphql(
        token,
        "query($s: String!, $first: Int, $after: String) { residents(search: $s, first: $first, after: $after) { pageInfo { hasNextPage endCursor } edges { cursor node { id email address } } } }",
        json!({ "s": search, "first": first, "after": after }),
    )
    .await
}

fn found(response: &TestResponse) -> Vec<String> {
    response.data()["residents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["email"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn staff_find_residents_by_name_email_or_postcode() {
    let app = TestApp::init().await;
    let caseworker = app.caseworker().await;
    for (first, last, email, address) in [
        (
            "Aisha",
            "Okafor",
            "aisha@mail.example",
            "14 Mill Lane\nLeeds\nLS6 2AB",
        ),
        (
            "Tom",
            "Reed",
            "tom.reed@post.example",
            "3 High St, York yo1 7hh",
        ),
        (
            "Ann",
            "Mills",
            "ann_50%@mail.example",
            "9 Park Rd, Leeds LS62AB",
        ),
    ] {
        invite_resident(
            &app,
            Some(&caseworker.token),
            json!({ "firstName": first, "lastName": last, "email": email, "address": address }),
        )
        .await
        .data();
    }
    app.run_pending_jobs().await;
    // A landlord user and a deactivated resident never appear.
    let org = app.create_organisation(&["mail.example"], false).await;
    app.landlord_user(org, &[]).await;
    let gone = resident(&app).await;
    let mut row = gone.user.clone().into_active_model();
    row.first_name = Set("Aisha".into());
    row.status = Set(UserStatus::Deactivated);
    row.update(app.db()).await.unwrap();

    let token = Some(caseworker.token.as_str());
    assert_eq!(
        found(&search(&app, token, "aisha", None, None).await),
        ["aisha@mail.example"]
    );
    assert_eq!(
        found(&search(&app, token, "AISHA OKA", None, None).await),
        ["aisha@mail.example"]
    );
    assert_eq!(
        found(&search(&app, token, "post.example", None, None).await),
        ["tom.reed@post.example"]
    );
    // The postcode whatever its spacing or case, on either side.
    for postcode in ["ls6 2ab", "LS62AB", " Ls6  2aB "] {
        assert_eq!(
            found(&search(&app, token, postcode, None, None).await),
            ["aisha@mail.example", "ann_50%@mail.example"],
            "{postcode}"
        );
    }
    assert_eq!(
        found(&search(&app, token, "YO1 7HH", None, None).await),
        ["tom.reed@post.example"]
    );
    // LIKE wildcards are plain characters.
    assert_eq!(
        found(&search(&app, token, "_50%", None, None).await),
        ["ann_50%@mail.example"]
    );
    assert!(found(&search(&app, token, "%%", None, None).await).is_empty());
    // Mills (name) and Mill Lane (address).
    let page = search(&app, token, "mill", Some(1), None).await;
    assert_eq!(found(&page), ["aisha@mail.example"]);
    assert_eq!(
        page.data()["residents"]["pageInfo"]["hasNextPage"],
        json!(true)
    );
    let cursor = page.data()["residents"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let next = search(&app, token, "mill", Some(1), Some(&cursor)).await;
    assert_eq!(found(&next), ["ann_50%@mail.example"]);
    assert_eq!(
        next.data()["residents"]["pageInfo"]["hasNextPage"],
        json!(false)
    );

    // Too short a search, too big a page.
    for (text, first, field) in [
        ("a", None, "search"),
        ("  a ", None, "search"),
        ("mill", Some(21), "first"),
        ("mill", Some(0), "first"),
    ] {
        let response = search(&app, token, text, first, None).await;
        assert_eq!(response.error_code(), "BAD_USER_INPUT", "{text} {first:?}");
        assert_eq!(
            response.body["errors"][0]["extensions"]["field"],
            json!(field)
        );
    }
    assert_eq!(
        found(&search(&app, token, "mill", Some(20), None).await).len(),
        2
    );

    // Staff only.
    let landlord = app.landlord_user(org, &[Permission::ManageUsers]).await;
    let a_resident = app.resident().await;
    for (token, code) in [
        (Some(landlord.token.as_str()), "FORBIDDEN"),
        (Some(a_resident.token.as_str()), "FORBIDDEN"),
        (None, "UNAUTHENTICATED"),
    ] {
        assert_eq!(
            search(&app, token, "aisha", None, None).await.error_code(),
            code
        );
        assert_eq!(
            search(&app, token, "a", Some(50), None).await.error_code(),
            code,
            "the policy comes first"
        );
    }
}

async fn add_party(
    app: &TestApp,
    token: Option<&str>,
    case_id: Uuid,
    input: Value,
) -> TestResponse {
    app.graphql(
        token,
        "mutation($id: ID!, $input: CasePartyInput!) { addCaseParty(caseId: $id, input: $input) { parties { kind name resident { id email } } } }",
        json!({ "id": gid("Case", case_id), "input": input }),
    )
    .await
}

#[tokio::test]
async fn a_new_resident_is_invited_and_added_to_a_case_in_one_step() {
    let app = TestApp::init().await;
    let caseworker = app.caseworker().await;
    let case = app.create_case("2026-00042", None, None, None).await;
    let taken = resident(&app).await;
    let before = users_count(&app).await;

    // Every field at fault, under `input.newResident`; nothing is created.
    let mut bad = new_resident(&taken.user.email);
    bad["firstName"] = json!("");
    bad["mobileNumber"] = json!("12");
    let response = add_party(
        &app,
        Some(&caseworker.token),
        case.id,
        json!({ "newResident": bad }),
    )
    .await;
    let fields: Vec<String> = field_reasons(&response)
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(
        fields,
        [
            "input.newResident.email",
            "input.newResident.firstName",
            "input.newResident.mobileNumber"
        ]
    );
    // A missing case invites nobody either.
    let missing = add_party(
        &app,
        Some(&caseworker.token),
        Uuid::now_v7(),
        json!({ "newResident": new_resident("aisha@mail.example") }),
    )
    .await;
    assert_eq!(missing.error_code(), "NOT_FOUND");
    // Nor does a closed case.
    let closed = app.create_case("2026-00043", None, None, None).await;
    let mut row = closed.clone().into_active_model();
    row.closed_at = Set(Some(Utc::now()));
    row.update(app.db()).await.unwrap();
    let refused = add_party(
        &app,
        Some(&caseworker.token),
        closed.id,
        json!({ "newResident": new_resident("aisha@mail.example") }),
    )
    .await;
    assert_eq!(refused.error_code(), "CONFLICT");
    // Nor anyone but staff.
    let landlord = app
        .landlord_user(app.create_organisation(&["n.example"], false).await, &[])
        .await;
    for (token, code) in [
        (Some(landlord.token.as_str()), "FORBIDDEN"),
        (Some(taken.token.as_str()), "FORBIDDEN"),
        (None, "UNAUTHENTICATED"),
    ] {
        assert_eq!(
            add_party(
                &app,
                token,
                case.id,
                json!({ "newResident": new_resident("aisha@mail.example") })
            )
            .await
            .error_code(),
            code
        );
    }
    app.run_pending_jobs().await;
    assert_eq!(
        users_count(&app).await,
        before + 1,
        "only the landlord user"
    );
    assert!(app.emails().await.is_empty());
    assert!(audit_entries(&app, "user.invite_resident").await.is_empty());
    assert!(audit_entries(&app, "case.add_party").await.is_empty());

    let added = add_party(
        &app,
        Some(&caseworker.token),
        case.id,
        json!({ "newResident": new_resident("aisha@mail.example") }),
    )
    .await;
    let parties = added.data()["addCaseParty"]["parties"].as_array().unwrap();
    assert_eq!(parties.len(), 1);
    assert_eq!(parties[0]["kind"], json!("RESIDENT"));
    assert_eq!(parties[0]["name"], json!("Aisha Okafor"));
    let id: Uuid = portal_tests::uuid_of(parties[0]["resident"]["id"].as_str().unwrap());
    assert_eq!(parties[0]["resident"]["email"], json!("aisha@mail.example"));
    let stored = reload(&app, id).await;
    assert_eq!(stored.kind, UserKind::Resident);
    assert_eq!(stored.mobile_number.as_deref(), Some("+447700900456"));
    app.run_pending_jobs().await;
    let emails = app.emails().await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].to, "aisha@mail.example");
    assert!(emails[0].text.contains("/accept-invitation?token="));
    let invited = audit_entries(&app, "user.invite_resident").await;
    assert_eq!(invited.len(), 1);
    assert_eq!(invited[0].target_id, Some(id));
    assert_eq!(invited[0].actor_user_id, Some(caseworker.user.id));
    let added = audit_entries(&app, "case.add_party").await;
    assert_eq!(added.len(), 1);
    assert_eq!(added[0].target_id, Some(case.id));

    // The same address again is refused and adds nobody.
    let again = add_party(
        &app,
        Some(&caseworker.token),
        case.id,
        json!({ "newResident": new_resident("AISHA@mail.example") }),
    )
    .await;
    assert_eq!(
        field_reasons(&again),
        [
            (
                "input.newResident.email".to_owned(),
                vec!["This email address is already used by another account.".to_owned()]
            ),
            (
                "input.newResident.mobileNumber".to_owned(),
                vec!["This mobile number is already used by another account.".to_owned()]
            )
        ]
    );
    assert_eq!(audit_entries(&app, "case.add_party").await.len(), 1);
}
