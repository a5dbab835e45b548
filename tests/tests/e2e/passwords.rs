//! Passwords: forgot (the same answer for everyone), reset by emailed link
//! (single use, expiring, ending every session), change while signed in
//! (ending the other sessions), the policy's reasons, and the first password
//! from an invitation.

use chrono::{Duration, Utc};
use entities::{TokenPurpose, TwoFactorMethod, UserKind, user_token};
use portal_tests::{TestApp, TestResponse};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use serde_json::json;

use crate::support::identity::*;

const NEW_PASSWORD: &str = "Brand-New-Password-7";

async fn forgot(app: &TestApp, email: &str) -> TestResponse {
    app.graphql(
        None,
        "mutation($e: String!) { forgotPassword(email: $e) { email linkValidForMinutes } }",
        json!({ "e": email }),
    )
    .await
}

async fn reset(app: &TestApp, token: &str, password: &str, confirmation: &str) -> TestResponse {
    app.graphql(
        None,
        "mutation($t: String!, $p: String!, $c: String!) { resetPassword(token: $t, newPassword: $p, confirmation: $c) { email sessionsEnded } }",
        json!({ "t": token, "p": password, "c": confirmation }),
    )
    .await
}

async fn change(
    app: &TestApp,
    session: &str,
    current: &str,
    new: &str,
    confirmation: &str,
) -> TestResponse {
    app.graphql(
        Some(session),
        "mutation($o: String!, $p: String!, $c: String!) { changePassword(currentPassword: $o, newPassword: $p, confirmation: $c) { otherSessionsEnded me { email } } }",
        json!({ "o": current, "p": new, "c": confirmation }),
    )
    .await
}

async fn accept(app: &TestApp, token: &str, password: &str) -> TestResponse {
    app.graphql(
        None,
        &format!(
            "mutation($t: String!, $p: String!) {{ acceptInvitation(token: $t, newPassword: $p, confirmation: $p) {{ {LOGIN_RESULT} }} }}"
        ),
        json!({ "t": token, "p": password }),
    )
    .await
}

/// Whether the session token still works (one that names no live session
/// is anonymous: `viewer` is null).
async fn signed_in(app: &TestApp, token: &str) -> bool {
    let response = app
        .graphql(Some(token), "{ viewer { id } }", json!({}))
        .await;
    !response.data()["viewer"].is_null()
}

#[tokio::test]
async fn forgot_password_answers_the_same_for_an_unknown_address_and_sends_nothing() {
    let app = TestApp::init().await;
    let unknown = forgot(&app, "nobody@nowhere.example").await;
    assert_eq!(
        unknown.body,
        json!({ "data": { "forgotPassword": { "email": "nobody@nowhere.example", "linkValidForMinutes": 60 } } })
    );
    assert_eq!(app.run_pending_jobs().await, 0);
    assert!(app.emails().await.is_empty());

    let ada = landlord(&app, TwoFactorMethod::None, None).await;
    let known = forgot(&app, &ada.user.email.to_uppercase()).await;
    // The same answer: only the address as typed is echoed.
    assert_eq!(
        known.body,
        json!({ "data": { "forgotPassword": { "email": ada.user.email.to_uppercase(), "linkValidForMinutes": 60 } } })
    );
    assert_eq!(app.run_pending_jobs().await, 1);
    snapshot_email(&app, "password_reset_email", &ada.user.email).await;
    assert_eq!(
        audit_actions(&app, ada.user.id).await,
        vec!["password.reset_requested"]
    );
}

#[tokio::test]
async fn a_reset_link_sets_the_password_once_and_ends_every_session() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::None, None).await;
    let other_device = sign_in(&app, &ada.user.email).await;
    forgot(&app, &ada.user.email).await.data();
    let link = emailed_token(&app, &ada.user.email).await;

    let done = reset(&app, &link, NEW_PASSWORD, NEW_PASSWORD).await;
    // The fixture's session and the other device's.
    assert_eq!(
        done.data()["resetPassword"],
        json!({ "email": ada.user.email, "sessionsEnded": 2 })
    );
    assert!(!signed_in(&app, &ada.token).await);
    assert!(!signed_in(&app, &other_device).await);
    app.run_pending_jobs().await;
    snapshot_email(&app, "password_changed_email", &ada.user.email).await;

    // The old password is gone, the new one works.
    assert_eq!(
        login(&app, &ada.user.email, PASSWORD).await.error_code(),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        login_ok(&app, &ada.user.email, NEW_PASSWORD).await["__typename"],
        "SignedIn"
    );
    // The link works once.
    let again = reset(&app, &link, "Another-Password-8", "Another-Password-8").await;
    assert!(assert_bad_input(&again, "token").contains("has already been used"));
    assert!(
        audit_actions(&app, ada.user.id)
            .await
            .contains(&"password.reset".to_owned())
    );
}

#[tokio::test]
async fn an_expired_reset_link_is_refused_and_changes_nothing() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::None, None).await;
    forgot(&app, &ada.user.email).await.data();
    let link = emailed_token(&app, &ada.user.email).await;
    let row = user_token::Entity::find()
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let mut row = row.into_active_model();
    row.expires_at = Set(Utc::now() - Duration::seconds(1));
    row.update(app.db()).await.unwrap();

    let late = reset(&app, &link, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_bad_input(&late, "token");
    assert!(signed_in(&app, &ada.token).await);
    assert_eq!(
        login_ok(&app, &ada.user.email, PASSWORD).await["__typename"],
        "SignedIn"
    );
}

#[tokio::test]
async fn a_reset_clears_a_lock_out() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::None, None).await;
    for _ in 0..5 {
        login(&app, &ada.user.email, "Not-The-Password-1").await;
    }
    assert!(reload(&app, ada.user.id).await.locked_until.is_some());
    forgot(&app, &ada.user.email).await.data();
    let link = emailed_token(&app, &ada.user.email).await;
    reset(&app, &link, NEW_PASSWORD, NEW_PASSWORD).await.data();
    app.run_pending_jobs().await;
    assert_eq!(
        login_ok(&app, &ada.user.email, NEW_PASSWORD).await["__typename"],
        "SignedIn"
    );
}

#[tokio::test]
async fn a_rejected_password_lists_every_rule_it_fails_and_keeps_the_link() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::None, None).await;
    forgot(&app, &ada.user.email).await.data();
    let link = emailed_token(&app, &ada.user.email).await;

    let weak = reset(&app, &link, "qzvkw", "qzvkw").await;
    assert_bad_input(&weak, "newPassword");
    let reasons = ext(&weak, "reasons");
    let reasons = reasons.as_array().unwrap();
    assert_eq!(
        reasons[..4],
        [
            "Must be at least 10 characters long.",
            "Must contain an upper-case letter.",
            "Must contain a number.",
            "Must contain a symbol (a character that is not a letter or a number).",
        ]
    );
    assert!(
        reasons[4]
            .as_str()
            .unwrap()
            .starts_with("Must be harder to guess."),
        "{reasons:?}"
    );
    let common = reset(&app, &link, "Password1!", "Password1!").await;
    assert_eq!(
        ext(&common, "reasons")[0],
        json!("Must not be a commonly used password.")
    );
    // Meets every composition rule and is not on the list as written: the
    // strength estimate refuses it, with zxcvbn's advice as the message.
    let guessable = reset(&app, &link, "Password123!", "Password123!").await;
    assert_eq!(
        assert_bad_input(&guessable, "newPassword"),
        "The password is too easy to guess. This is similar to a commonly used password. \
         Add another word or two. Uncommon words are better. \
         Capitalization doesn't help very much."
    );
    assert_eq!(
        ext(&guessable, "reasons"),
        json!([
            "Must be harder to guess. This is similar to a commonly used password. \
             Add another word or two. Uncommon words are better. \
             Capitalization doesn't help very much."
        ])
    );
    let own_email = reset(&app, &link, &ada.user.email, &ada.user.email).await;
    assert!(
        ext(&own_email, "reasons")
            .as_array()
            .unwrap()
            .contains(&json!("Must not be your email address."))
    );
    let mismatch = reset(&app, &link, NEW_PASSWORD, "Brand-New-Password-8").await;
    assert_eq!(
        assert_bad_input(&mismatch, "confirmation"),
        "The passwords do not match."
    );
    let too_long = "Aa1!".repeat(33);
    assert_bad_input(
        &reset(&app, &link, &too_long, &too_long).await,
        "newPassword",
    );

    // None of that used the link up; a passphrase passes every rule.
    let passphrase = "Kettle-Umbrella-Quarry-7";
    assert!(
        reset(&app, &link, passphrase, passphrase).await.data()["resetPassword"]["sessionsEnded"]
            .is_u64()
    );
    app.run_pending_jobs().await;
    assert_eq!(
        login_ok(&app, &ada.user.email, passphrase).await["__typename"],
        "SignedIn"
    );
    app.run_pending_jobs().await;
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions_and_tells_the_user() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::None, None).await;
    let here = sign_in(&app, &ada.user.email).await;
    let elsewhere = sign_in(&app, &ada.user.email).await;

    let wrong = change(
        &app,
        &here,
        "Not-The-Password-1",
        NEW_PASSWORD,
        NEW_PASSWORD,
    )
    .await;
    assert_eq!(
        assert_bad_input(&wrong, "currentPassword"),
        "Your current password is not correct."
    );
    let mismatch = change(&app, &here, PASSWORD, NEW_PASSWORD, "Brand-New-Password-8").await;
    assert_bad_input(&mismatch, "confirmation");
    let weak = change(&app, &here, PASSWORD, "password", "password").await;
    assert_bad_input(&weak, "newPassword");
    // Nothing changed so far.
    assert!(signed_in(&app, &elsewhere).await);
    assert_eq!(app.run_pending_jobs().await, 0);

    let done = change(&app, &here, PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(
        done.data()["changePassword"],
        json!({ "otherSessionsEnded": 2, "me": { "email": ada.user.email } })
    );
    assert!(signed_in(&app, &here).await, "the current session stays");
    assert!(!signed_in(&app, &elsewhere).await);
    assert!(!signed_in(&app, &ada.token).await);
    assert_eq!(app.run_pending_jobs().await, 1);
    let emails = app.emails().await;
    assert_eq!(emails.len(), 1);
    assert!(
        emails[0].subject.to_lowercase().contains("password"),
        "{}",
        emails[0].subject
    );
    assert_eq!(
        login_ok(&app, &ada.user.email, NEW_PASSWORD).await["__typename"],
        "SignedIn"
    );
    assert!(
        audit_actions(&app, ada.user.id)
            .await
            .contains(&"password.changed".to_owned())
    );

    let anonymous = app
        .graphql(
            None,
            "mutation { changePassword(currentPassword: \"a\", newPassword: \"b\", confirmation: \"b\") { otherSessionsEnded } }",
            json!({}),
        )
        .await;
    assert_eq!(anonymous.error_code(), "UNAUTHENTICATED");
}

#[tokio::test]
async fn changing_the_password_abandons_a_half_done_sign_in() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::Email, None).await;
    // Someone with the old password got as far as the code.
    let step = login_ok(&app, &ada.user.email, PASSWORD).await;
    let code = emailed_code(&app, &ada.user.email).await;
    change(&app, &ada.token, PASSWORD, NEW_PASSWORD, NEW_PASSWORD)
        .await
        .data();
    app.run_pending_jobs().await;
    let late = verify(&app, step["challengeToken"].as_str().unwrap(), &code).await;
    assert_bad_input(&late, "challengeToken");
}

#[tokio::test]
async fn accepting_an_invitation_sets_the_password_and_signs_in() {
    let app = TestApp::init().await;
    let org = organisation(&app, true).await;
    let priya = account(
        &app,
        UserKind::Landlord,
        Some(&org),
        TwoFactorMethod::None,
        None,
    )
    .await;
    update_user(&app, priya.user.id, |u| u.password_hash = Set(None)).await;
    let (link, _) = api::identity::links::issue(app.db(), priya.user.id, TokenPurpose::Invitation)
        .await
        .unwrap();

    let weak = accept(&app, &link, "short").await;
    assert_bad_input(&weak, "newPassword");
    // The link proves the mailbox: no email code. The organisation
    // requires two-factor and none is set up, so the session may only set
    // it up.
    let done = accept(&app, &link, NEW_PASSWORD).await;
    let result = &done.data()["acceptInvitation"];
    assert_eq!(result["__typename"], "SignedIn", "{result:#}");
    assert_eq!(result["twoFactorSetup"], "REQUIRED");
    assert!(reload(&app, priya.user.id).await.last_login_at.is_some());

    assert_bad_input(&accept(&app, &link, NEW_PASSWORD).await, "token");
    assert_bad_input(
        &accept(&app, "pl_not-a-real-link", NEW_PASSWORD).await,
        "token",
    );
    // So does the next sign-in, until a method is set up.
    let next = login_ok(&app, &priya.user.email, NEW_PASSWORD).await;
    assert_eq!(next["__typename"], "SignedIn");
    assert_eq!(next["twoFactorSetup"], "REQUIRED");
}

#[tokio::test]
async fn an_invitation_for_an_sms_user_still_asks_for_the_sms_code() {
    let app = TestApp::init().await;
    let priya = landlord(&app, TwoFactorMethod::Sms, Some("+447700900123")).await;
    let (link, _) = api::identity::links::issue(app.db(), priya.user.id, TokenPurpose::Invitation)
        .await
        .unwrap();
    let result = accept(&app, &link, NEW_PASSWORD).await;
    let result = &result.data()["acceptInvitation"];
    assert_eq!(result["__typename"], "TwoFactorRequired");
    assert_eq!(result["channel"], "SMS");
    let code = texted_code(&app, "+447700900123").await;
    let done = verify(&app, result["challengeToken"].as_str().unwrap(), &code).await;
    assert_eq!(done.data()["verifyTwoFactor"]["__typename"], "SignedIn");
}
