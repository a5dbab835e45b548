//! Changing someone's email address (issue 13): staff change a resident's,
//! an organisation's administrator (or a service administrator) a landlord
//! user's, with `changeUserEmail`; the change happens only when the link
//! emailed to the NEW address is followed (`confirmEmailChange`). The old
//! address is told both times, keeps signing in until then, and stops
//! afterwards; the account's sessions end.

use chrono::{Duration, Utc};
use entities::{
    Permission, TokenPurpose, TwoFactorMethod, UserKind, UserStatus, audit_log, session, user,
    user_token,
};
use portal_tests::gid;
use portal_tests::{TestApp, TestResponse, fixtures::TestUser};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::identity::*;

const PAYLOAD: &str = "user { id kind email status } pendingEmail confirmationExpiresAt";

/// A database user id as the user's global id; anything else (an id read
/// from a response, a malformed one) as it is.
fn user_ref(id: impl ToString) -> String {
    let id = id.to_string();
    Uuid::parse_str(&id).map_or(id, |uuid| gid("User", uuid))
}

async fn change_email(
    app: &TestApp,
    token: Option<&str>,
    user_id: impl ToString,
    email: &str,
) -> TestResponse {
    app.graphql(
        token,
        &format!(
            "mutation($input: ChangeUserEmailInput!) {{ changeUserEmail(input: $input) {{ {PAYLOAD} }} }}"
        ),
        json!({ "input": { "userId": user_ref(user_id), "email": email } }),
    )
    .await
}

async fn confirm(app: &TestApp, token: &str) -> TestResponse {
    app.graphql(
        None,
        "mutation($t: String!) { confirmEmailChange(token: $t) { email } }",
        json!({ "t": token }),
    )
    .await
}

/// A resident with a password, signing in with their address.
async fn resident(app: &TestApp) -> TestUser {
    account(app, UserKind::Resident, None, TwoFactorMethod::None, None).await
}

/// The audit entries `action` about `user_id`, oldest first.
async fn audit_entries(app: &TestApp, user_id: Uuid, action: &str) -> Vec<audit_log::Model> {
    audit_log::Entity::find()
        .filter(audit_log::Column::TargetId.eq(user_id))
        .filter(audit_log::Column::Action.eq(action))
        .order_by_asc(audit_log::Column::Id)
        .all(app.db())
        .await
        .unwrap()
}

/// The email-change links of `user_id`, oldest first.
async fn change_links(app: &TestApp, user_id: Uuid) -> Vec<user_token::Model> {
    user_token::Entity::find()
        .filter(user_token::Column::UserId.eq(user_id))
        .filter(user_token::Column::Purpose.eq(TokenPurpose::EmailChange))
        .order_by_asc(user_token::Column::Id)
        .all(app.db())
        .await
        .unwrap()
}

async fn live_sessions(app: &TestApp, user_id: Uuid) -> u64 {
    session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .count(app.db())
        .await
        .unwrap()
}

async fn viewer(app: &TestApp, token: &str) -> Value {
    app.graphql(Some(token), "{ viewer { id } }", json!({}))
        .await
        .data()["viewer"]
        .clone()
}

#[tokio::test]
async fn staff_change_a_residents_email_and_it_moves_when_the_new_address_confirms() {
    let app = TestApp::init().await;
    let caseworker = app.caseworker().await;
    let rose = resident(&app).await;
    let old = rose.user.email.clone();
    let session = sign_in(&app, &old).await;

    let response = change_email(
        &app,
        Some(&caseworker.token),
        rose.user.id,
        " Rose.New@Mail.example ",
    )
    .await;
    let payload = &response.data()["changeUserEmail"];
    assert_eq!(
        payload["user"]["email"],
        json!(old),
        "unchanged until confirmed"
    );
    assert_eq!(payload["user"]["kind"], json!("RESIDENT"));
    assert_eq!(payload["pendingEmail"], json!("Rose.New@Mail.example"));
    let expires: chrono::DateTime<Utc> = payload["confirmationExpiresAt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let minutes = (expires - Utc::now()).num_minutes();
    assert!((23 * 60..=24 * 60).contains(&minutes), "valid 24 hours");
    let links = change_links(&app, rose.user.id).await;
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].new_email.as_deref(), Some("Rose.New@Mail.example"));

    // One email to each address; nothing about the account has changed.
    app.run_pending_jobs().await;
    assert_eq!(app.emails().await.len(), 2);
    snapshot_email(&app, "confirm_email_change_email", "rose.new@mail.example").await;
    snapshot_email(&app, "email_change_requested_email", &old).await;
    let stored = reload(&app, rose.user.id).await;
    assert_eq!(
        (stored.email.as_str(), stored.email_normalized.as_str()),
        (old.as_str(), old.as_str())
    );
    sign_in(&app, &old).await;
    assert_eq!(
        login(&app, "rose.new@mail.example", PASSWORD)
            .await
            .error_code(),
        "UNAUTHENTICATED"
    );
    let requested = audit_entries(&app, rose.user.id, "user.email_change_requested").await;
    assert_eq!(requested.len(), 1);
    assert_eq!(requested[0].actor_user_id, Some(caseworker.user.id));
    assert_eq!(requested[0].organisation_id, None);
    assert_eq!(requested[0].before, Some(json!({ "email": old })));
    assert_eq!(
        requested[0].after.as_ref().unwrap()["pending_email"],
        json!("Rose.New@Mail.example")
    );

    // The link confirms.
    let token = emailed_token(&app, "rose.new@mail.example").await;
    assert_eq!(
        confirm(&app, &token).await.data()["confirmEmailChange"],
        json!({ "email": "Rose.New@Mail.example" })
    );
    let stored = reload(&app, rose.user.id).await;
    assert_eq!(stored.email, "Rose.New@Mail.example");
    assert_eq!(stored.email_normalized, "rose.new@mail.example");
    assert!(stored.password_hash.is_some(), "the password stays");

    // Every session ended: the sign-in name changed.
    assert_eq!(live_sessions(&app, rose.user.id).await, 0);
    assert_eq!(viewer(&app, &session).await, Value::Null);
    assert_eq!(viewer(&app, &rose.token).await, Value::Null);
    // The new address signs in, the old one does not.
    let new_session = sign_in(&app, "rose.new@mail.example").await;
    assert_eq!(
        viewer(&app, &new_session).await["id"],
        json!(gid("User", rose.user.id))
    );
    assert_eq!(
        login(&app, &old, PASSWORD).await.error_code(),
        "UNAUTHENTICATED"
    );

    // The old address is told; the audit log says who and what.
    app.run_pending_jobs().await;
    assert_eq!(app.emails().await.len(), 3);
    snapshot_email(&app, "email_changed_email", &old).await;
    let changed = audit_entries(&app, rose.user.id, "user.email_changed").await;
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].actor_user_id, Some(rose.user.id));
    assert_eq!(changed[0].before, Some(json!({ "email": old })));
    assert_eq!(
        changed[0].after,
        Some(
            json!({ "email": "Rose.New@Mail.example", "sessions_ended": 3, "invitation_resent": false })
        )
    );

    // The link works once.
    assert_bad_input(&confirm(&app, &token).await, "token");
    assert_eq!(
        audit_entries(&app, rose.user.id, "user.email_changed")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn landlord_users_are_changed_by_their_administrator_or_a_service_administrator() {
    let app = TestApp::init().await;
    let org = app
        .create_organisation(&["northside.example", "northside-homes.example"], false)
        .await;
    let manager = app.landlord_user(org, &[Permission::ManageUsers]).await;
    let ada = app.landlord_user(org, &[]).await;
    let other_org = app.create_organisation(&["southside.example"], false).await;
    let other_manager = app
        .landlord_user(other_org, &[Permission::ManageUsers])
        .await;
    let caseworker = app.caseworker().await;
    let admin = app.service_admin().await;

    // A caseworker is the residents' support desk, not the organisation's.
    let refused = change_email(
        &app,
        Some(&caseworker.token),
        ada.user.id,
        "ada@northside.example",
    )
    .await;
    assert_eq!(refused.error_code(), "FORBIDDEN");
    // Another organisation's administrator cannot see her.
    let refused = change_email(
        &app,
        Some(&other_manager.token),
        ada.user.id,
        "ada@northside.example",
    )
    .await;
    assert_eq!(refused.error_code(), "NOT_FOUND");
    // Nobody changes their own address here.
    let own = change_email(
        &app,
        Some(&manager.token),
        manager.user.id,
        "me@northside.example",
    )
    .await;
    assert_bad_input(&own, "input.userId");
    // The address must be at one of the organisation's domains.
    let elsewhere = change_email(&app, Some(&manager.token), ada.user.id, "ada@mail.example").await;
    assert!(assert_bad_input(&elsewhere, "input.email").contains("registered domains"));
    assert!(change_links(&app, ada.user.id).await.is_empty());

    let first = change_email(
        &app,
        Some(&manager.token),
        ada.user.id,
        "ada@northside.example",
    )
    .await;
    assert_eq!(
        first.data()["changeUserEmail"]["user"]["kind"],
        json!("LANDLORD")
    );
    let first_token = emailed_token(&app, "ada@northside.example").await;
    // A service administrator asks again with another address: the earlier
    // link stops working.
    change_email(
        &app,
        Some(&admin.token),
        ada.user.id,
        "Ada.Lovelace@northside-homes.example",
    )
    .await
    .data();
    let second_token = emailed_token(&app, "ada.lovelace@northside-homes.example").await;
    assert_bad_input(&confirm(&app, &first_token).await, "token");
    assert_eq!(reload(&app, ada.user.id).await.email, ada.user.email);

    confirm(&app, &second_token).await.data();
    assert_eq!(
        reload(&app, ada.user.id).await.email,
        "Ada.Lovelace@northside-homes.example"
    );
    let requested = audit_entries(&app, ada.user.id, "user.email_change_requested").await;
    let actors: Vec<_> = requested.iter().map(|e| e.actor_user_id).collect();
    assert_eq!(actors, [Some(manager.user.id), Some(admin.user.id)]);
    assert!(requested.iter().all(|e| e.organisation_id == Some(org)));
    // Landlord users are sent to their administrator if it was not them.
    app.run_pending_jobs().await;
    let emails = app.emails().await;
    let notice = emails
        .iter()
        .rev()
        .find(|e| e.to == ada.user.email)
        .expect("the old address is told");
    assert!(
        notice.subject.contains("email address was changed"),
        "{}",
        notice.subject
    );
    assert!(
        notice
            .text
            .contains("tell an administrator in your organisation")
    );
}

#[tokio::test]
async fn an_invitee_gets_a_fresh_invitation_at_the_confirmed_address() {
    let app = TestApp::init().await;
    let caseworker = app.caseworker().await;
    let invitee = app.resident().await; // invited, no password yet
    let resent = app
        .graphql(
            Some(&caseworker.token),
            "mutation($id: ID!) { resendInvitation(id: $id) { id } }",
            json!({ "id": gid("User", invitee.user.id) }),
        )
        .await;
    resent.data();
    let old_invitation = emailed_token(&app, &invitee.user.email).await;

    change_email(
        &app,
        Some(&caseworker.token),
        invitee.user.id,
        "tom@mail.example",
    )
    .await
    .data();
    let token = emailed_token(&app, "tom@mail.example").await;
    confirm(&app, &token).await.data();

    // The invitation that went to the old address is void; a new one went
    // to the new address.
    let accept = |t: String| {
        let app = &app;
        async move {
            app.graphql(
                None,
                "mutation($t: String!, $p: String!) { acceptInvitation(token: $t, newPassword: $p, confirmation: $p) { __typename } }",
                json!({ "t": t, "p": PASSWORD }),
            )
            .await
        }
    };
    assert_bad_input(&accept(old_invitation).await, "token");
    let new_invitation = emailed_token(&app, "tom@mail.example").await;
    assert_ne!(new_invitation, token);
    let accepted = accept(new_invitation).await;
    assert!(accepted.error_codes().is_empty(), "{:#}", accepted.body);
    let after = audit_entries(&app, invitee.user.id, "user.email_changed").await[0]
        .after
        .clone()
        .unwrap();
    assert_eq!(after["invitation_resent"], json!(true));
    app.run_pending_jobs().await;
}

#[tokio::test]
async fn bad_requests_are_refused_on_their_field_and_change_nothing() {
    let app = TestApp::init().await;
    let caseworker = app.caseworker().await;
    let rose = resident(&app).await;
    let other = resident(&app).await;
    let restricted = resident(&app).await;
    set_status(&app, restricted.user.id, UserStatus::Restricted).await;
    let deactivated = resident(&app).await;
    set_status(&app, deactivated.user.id, UserStatus::Deactivated).await;
    let org = app.create_organisation(&["northside.example"], false).await;
    let org_admin = app.landlord_user(org, &[Permission::ManageUsers]).await;
    let landlord = app.landlord_user(org, &[]).await;
    let staff = Some(caseworker.token.as_str());

    let own_address = rose.user.email.to_uppercase();
    for (email, reason) in [
        (
            "not an email",
            "Enter an email address in the correct format, like name@example.com.",
        ),
        ("", "Enter an email address."),
        (
            own_address.as_str(),
            "This is already the account's email address. Enter the new address.",
        ),
        (
            other.user.email.as_str(),
            "This email address is already used by another account.",
        ),
        (
            org_admin.user.email.as_str(),
            "This email address is already used by another account.",
        ),
    ] {
        let response = change_email(&app, staff, rose.user.id, email).await;
        assert_eq!(
            assert_bad_input(&response, "input.email"),
            reason,
            "{email}"
        );
        assert!(response.body["data"].is_null());
    }
    // A restricted account's address stays taken, with its own reason.
    let response = change_email(&app, staff, rose.user.id, &restricted.user.email).await;
    assert!(assert_bad_input(&response, "input.email").contains("restricted"));

    // Who may not: residents and landlord users are FORBIDDEN, an
    // organisation's administrator does not see residents.
    for (token, code) in [
        (Some(rose.token.as_str()), "FORBIDDEN"),
        (Some(other.token.as_str()), "FORBIDDEN"),
        (Some(landlord.token.as_str()), "FORBIDDEN"),
        (Some(org_admin.token.as_str()), "NOT_FOUND"),
        (None, "UNAUTHENTICATED"),
    ] {
        let response = change_email(&app, token, rose.user.id, "rose@mail.example").await;
        assert_eq!(response.error_code(), code);
    }
    // Targets: deactivated, unknown and malformed ids are NOT_FOUND; a
    // restricted account is a CONFLICT.
    for (target, code) in [
        (gid("User", deactivated.user.id), "NOT_FOUND"),
        (gid("User", Uuid::now_v7()), "NOT_FOUND"),
        ("not-an-id".to_owned(), "NOT_FOUND"),
        (gid("User", caseworker.user.id), "NOT_FOUND"),
        (gid("User", restricted.user.id), "CONFLICT"),
    ] {
        let response = change_email(&app, staff, &target, "rose@mail.example").await;
        assert_eq!(response.error_code(), code, "{target}");
    }

    // Nothing changed: rows, links, audit log, emails.
    for person in [&rose, &other, &restricted, &deactivated] {
        let stored = reload(&app, person.user.id).await;
        assert_eq!(stored.email, person.user.email);
        assert_eq!(stored.email_normalized, person.user.email_normalized);
        assert!(change_links(&app, person.user.id).await.is_empty());
        assert!(
            audit_entries(&app, person.user.id, "user.email_change_requested")
                .await
                .is_empty()
        );
    }
    assert_eq!(live_sessions(&app, rose.user.id).await, 1);
    app.run_pending_jobs().await;
    assert!(app.emails().await.is_empty());

    // A suspended account can be changed, and so can an address a
    // deactivated account had.
    set_status(&app, other.user.id, UserStatus::Suspended).await;
    change_email(&app, staff, other.user.id, &deactivated.user.email)
        .await
        .data();
    let token = emailed_token(&app, &deactivated.user.email).await;
    confirm(&app, &token).await.data();
    let stored = reload(&app, other.user.id).await;
    assert_eq!(stored.email, deactivated.user.email);
    assert_eq!(stored.status, UserStatus::Suspended);
    app.run_pending_jobs().await;
}

#[tokio::test]
async fn unknown_used_expired_and_overtaken_links_change_nothing() {
    let app = TestApp::init().await;
    let caseworker = app.caseworker().await;
    let rose = resident(&app).await;
    let staff = Some(caseworker.token.as_str());

    for token in ["pl_unknown".to_owned(), String::new(), "x".repeat(500)] {
        assert_bad_input(&confirm(&app, &token).await, "token");
    }
    // A password-reset link is no email-change link.
    app.graphql(
        staff,
        "mutation($id: ID!) { sendPasswordReset(id: $id) { id } }",
        json!({ "id": gid("User", rose.user.id) }),
    )
    .await
    .data();
    let reset = emailed_token(&app, &rose.user.email).await;
    assert_bad_input(&confirm(&app, &reset).await, "token");

    // An expired link.
    change_email(&app, staff, rose.user.id, "rose@mail.example")
        .await
        .data();
    let token = emailed_token(&app, "rose@mail.example").await;
    let link = change_links(&app, rose.user.id).await.remove(0);
    let mut row = link.into_active_model();
    row.expires_at = Set(Utc::now() - Duration::minutes(1));
    row.update(app.db()).await.unwrap();
    assert_bad_input(&confirm(&app, &token).await, "token");
    assert_eq!(reload(&app, rose.user.id).await.email, rose.user.email);

    // An address another account took after the request: CONFLICT, nothing
    // changes, and the link is left unused.
    change_email(&app, staff, rose.user.id, "rose@mail.example")
        .await
        .data();
    let token = emailed_token(&app, "rose@mail.example").await;
    app.graphql(
        staff,
        "mutation { inviteResident(input: { firstName: \"Rosa\", lastName: \"Other\", email: \"ROSE@mail.example\" }) { id } }",
        json!({}),
    )
    .await
    .data();
    let response = confirm(&app, &token).await;
    assert_eq!(response.error_code(), "CONFLICT", "{:#}", response.body);
    let stored = reload(&app, rose.user.id).await;
    assert_eq!(stored.email, rose.user.email);
    assert_eq!(live_sessions(&app, rose.user.id).await, 1);
    let links = change_links(&app, rose.user.id).await;
    assert!(links.last().unwrap().used_at.is_none());
    assert!(
        audit_entries(&app, rose.user.id, "user.email_changed")
            .await
            .is_empty()
    );
    app.run_pending_jobs().await;
}

#[tokio::test]
async fn two_accounts_confirming_one_address_at_once_get_one_change_and_one_conflict() {
    let app = TestApp::init().await;
    let caseworker = app.caseworker().await;
    let (rose, ruth) = (resident(&app).await, resident(&app).await);
    let mut tokens = Vec::new();
    for person in [&rose, &ruth] {
        change_email(
            &app,
            Some(&caseworker.token),
            person.user.id,
            "shared@mail.example",
        )
        .await
        .data();
        tokens.push(emailed_token(&app, "shared@mail.example").await);
    }
    let (a, b) = tokio::join!(confirm(&app, &tokens[0]), confirm(&app, &tokens[1]));
    let mut codes = [a.error_codes(), b.error_codes()];
    codes.sort();
    // The loser is refused by the check or, on PostgreSQL when both checks
    // ran before either commit, by the unique index: never INTERNAL.
    assert!(codes[0].is_empty(), "{:#} {:#}", a.body, b.body);
    assert_eq!(codes[1], ["CONFLICT"], "{:#} {:#}", a.body, b.body);
    let holders = user::Entity::find()
        .filter(user::Column::EmailNormalized.eq("shared@mail.example"))
        .count(app.db())
        .await
        .unwrap();
    assert_eq!(holders, 1);
    app.run_pending_jobs().await;
}
