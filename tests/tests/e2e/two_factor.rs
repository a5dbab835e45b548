//! The second step of signing in: codes by email and SMS, read back from
//! the messages the user gets; re-sending, wrong and expired codes; and the
//! new mobile number a user enters after an administrator reset theirs (after
//! proving their mailbox). Authenticator apps, recovery codes, "Later" and
//! required enrolment are in `factors`.

use chrono::{Duration, Utc};
use entities::{TwoFactorMethod, UserStatus, two_factor_challenge};
use portal_tests::TestApp;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use serde_json::json;

use crate::support::identity::*;

const MOBILE: &str = "+447700900123";

async fn submit_mobile(app: &TestApp, challenge: &str, number: &str) -> portal_tests::TestResponse {
    app.graphql(
        None,
        "mutation($t: String!, $m: String!) { submitMobileNumber(challengeToken: $t, mobileNumber: $m) { challengeToken channel maskedDestination codeSent } }",
        json!({ "t": challenge, "m": number }),
    )
    .await
}

fn challenge_token(result: &serde_json::Value) -> String {
    result["challengeToken"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_email_code_completes_the_sign_in_once() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::Email, None).await;

    let step = login_ok(&app, &ada.user.email, PASSWORD).await;
    assert_eq!(step["__typename"], "TwoFactorRequired");
    assert_eq!(step["channel"], "EMAIL");
    assert_eq!(step["maskedDestination"], "u****@****.test");
    assert_eq!(step["codeSent"], true);
    assert!(
        reload(&app, ada.user.id).await.last_login_at.is_none(),
        "not signed in yet"
    );

    let code = emailed_code(&app, &ada.user.email).await;
    snapshot_email(&app, "two_factor_code_email", &ada.user.email).await;
    let challenge = challenge_token(&step);
    let done = verify(&app, &challenge, &code).await;
    let signed_in = &done.data()["verifyTwoFactor"];
    assert_eq!(signed_in["__typename"], "SignedIn");
    let token = signed_in["token"].as_str().unwrap();
    assert!(
        app.graphql(Some(token), "{ viewer { id } }", json!({}))
            .await
            .data()["viewer"]
            .is_object()
    );
    assert!(reload(&app, ada.user.id).await.last_login_at.is_some());

    // A code works once.
    let again = verify(&app, &challenge, &code).await;
    assert!(assert_bad_input(&again, "challengeToken").contains("Start again by signing in"));
}

#[tokio::test]
async fn an_sms_code_completes_the_sign_in() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::Sms, Some(MOBILE)).await;
    let step = login_ok(&app, &ada.user.email, PASSWORD).await;
    assert_eq!(step["channel"], "SMS");
    assert_eq!(step["maskedDestination"], "07*** ***123");
    let code = texted_code(&app, MOBILE).await;
    snapshot_sms(&app, "two_factor_code_sms", MOBILE);
    assert!(app.emails().await.is_empty(), "nothing by email");
    let done = verify(&app, &challenge_token(&step), &code).await;
    assert_eq!(done.data()["verifyTwoFactor"]["__typename"], "SignedIn");
}

#[tokio::test]
async fn a_resent_code_replaces_the_old_one() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::Email, None).await;
    let step = login_ok(&app, &ada.user.email, PASSWORD).await;
    let challenge = challenge_token(&step);
    let first = emailed_code(&app, &ada.user.email).await;

    let resent = resend(&app, &challenge).await;
    assert_eq!(resent.data()["resendTwoFactorCode"]["channel"], "EMAIL");
    let second = emailed_code(&app, &ada.user.email).await;
    assert_eq!(app.emails().await.len(), 2);

    if first != second {
        let old = verify(&app, &challenge, &first).await;
        assert!(assert_bad_input(&old, "code").starts_with("The code is not correct."));
    }
    let done = verify(&app, &challenge, &second).await;
    assert_eq!(done.data()["verifyTwoFactor"]["__typename"], "SignedIn");
}

/// A code that is certainly not the one sent.
fn wrong(code: &str) -> String {
    let last = (code.as_bytes()[5] - b'0' + 1) % 10;
    format!("{}{last}", &code[..5])
}

#[tokio::test]
async fn five_wrong_codes_lock_the_step_until_the_user_signs_in_again() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::Email, None).await;
    let step = login_ok(&app, &ada.user.email, PASSWORD).await;
    let challenge = challenge_token(&step);
    let code = emailed_code(&app, &ada.user.email).await;

    for left in (1..=4).rev() {
        let response = verify(&app, &challenge, &wrong(&code)).await;
        let message = assert_bad_input(&response, "code");
        let times = if left == 1 { "time" } else { "times" };
        assert_eq!(
            message,
            format!("The code is not correct. You can try {left} more {times}.")
        );
    }
    let fifth = verify(&app, &challenge, &wrong(&code)).await;
    assert_eq!(
        assert_bad_input(&fifth, "challengeToken"),
        "Too many wrong codes were entered. Start again by signing in."
    );
    // Even the right code no longer works, and re-sending does not reopen it.
    let right = verify(&app, &challenge, &code).await;
    assert!(assert_bad_input(&right, "challengeToken").starts_with("Too many wrong codes"));
    assert!(
        assert_bad_input(&resend(&app, &challenge).await, "challengeToken").starts_with("Too many")
    );
    assert!(
        audit_actions(&app, ada.user.id)
            .await
            .contains(&"two_factor.locked".to_owned())
    );

    // Signing in again starts a fresh step.
    let again = login_ok(&app, &ada.user.email, PASSWORD).await;
    let code = emailed_code(&app, &ada.user.email).await;
    let done = verify(&app, &challenge_token(&again), &code).await;
    assert_eq!(done.data()["verifyTwoFactor"]["__typename"], "SignedIn");
}

#[tokio::test]
async fn malformed_codes_are_refused_without_counting_as_guesses() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::Email, None).await;
    let step = login_ok(&app, &ada.user.email, PASSWORD).await;
    let challenge = challenge_token(&step);
    let code = emailed_code(&app, &ada.user.email).await;
    for bad in ["12345", "1234567", "abcdef", ""] {
        let response = verify(&app, &challenge, bad).await;
        assert_eq!(
            assert_bad_input(&response, "code"),
            "Enter the 6-digit code."
        );
    }
    // Spaces inside a pasted code are fine.
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    let done = verify(&app, &challenge, &spaced).await;
    assert_eq!(done.data()["verifyTwoFactor"]["__typename"], "SignedIn");
}

#[tokio::test]
async fn an_expired_code_is_refused_and_a_new_one_can_be_sent() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::Email, None).await;
    let step = login_ok(&app, &ada.user.email, PASSWORD).await;
    let challenge = challenge_token(&step);
    let code = emailed_code(&app, &ada.user.email).await;
    let row = two_factor_challenge::Entity::find()
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let mut row = row.into_active_model();
    row.expires_at = Set(Utc::now() - Duration::seconds(1));
    row.update(app.db()).await.unwrap();

    let late = verify(&app, &challenge, &code).await;
    assert_eq!(
        assert_bad_input(&late, "code"),
        "This code has expired. Ask for a new code."
    );
    resend(&app, &challenge).await.data();
    let fresh = emailed_code(&app, &ada.user.email).await;
    let done = verify(&app, &challenge, &fresh).await;
    assert_eq!(done.data()["verifyTwoFactor"]["__typename"], "SignedIn");
}

#[tokio::test]
async fn a_user_whose_mobile_was_reset_enters_and_confirms_a_new_one() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::Sms, Some("+447700900001")).await;
    update_user(&app, ada.user.id, |u| u.mobile_reset_pending = Set(true)).await;
    // Someone else, still active, holds this number; a deactivated user held another.
    let bob = landlord(&app, TwoFactorMethod::None, Some("+447700900002")).await;
    let gone = landlord(&app, TwoFactorMethod::None, Some(MOBILE)).await;
    set_status(&app, gone.user.id, UserStatus::Deactivated).await;

    // The phone is gone: the password alone does not reach the mobile step.
    // The mailbox stands in for the second factor first.
    let step = login_ok(&app, &ada.user.email, PASSWORD).await;
    assert_eq!(step["__typename"], "TwoFactorRequired", "{step:#}");
    assert_eq!(step["channel"], "EMAIL");
    let emailed = emailed_code(&app, &ada.user.email).await;
    let step = verify(&app, &challenge_token(&step), &emailed).await;
    let step = &step.data()["verifyTwoFactor"];
    assert_eq!(step["__typename"], "MobileNumberRequired", "{step:#}");
    let challenge = challenge_token(step);
    // Nothing was sent to the old number.
    app.run_pending_jobs().await;
    assert!(app.sms().is_empty());
    // Verifying before a number is entered explains what to do.
    assert!(
        assert_bad_input(&verify(&app, &challenge, "123456").await, "challengeToken")
            .contains("mobile number first")
    );

    let malformed = submit_mobile(&app, &challenge, "020 7946 0000").await;
    assert_bad_input(&malformed, "mobileNumber");
    assert_eq!(ext(&malformed, "reasons").as_array().unwrap().len(), 1);
    // A number another account holds: the same answer as any other, and
    // nothing is sent to it (numbers cannot be probed).
    let taken = submit_mobile(&app, &challenge, "07700 900002").await;
    assert_eq!(taken.data()["submitMobileNumber"]["codeSent"], true);
    app.run_pending_jobs().await;
    assert!(
        app.sms()
            .iter()
            .all(|(to, _)| to != bob.user.mobile_number.as_deref().unwrap()),
        "{:?}",
        app.sms()
    );

    let sent = submit_mobile(&app, &challenge, "07700 900-123").await;
    let sent = &sent.data()["submitMobileNumber"];
    assert_eq!(sent["channel"], "SMS");
    assert_eq!(sent["maskedDestination"], "07*** ***123");
    assert_eq!(sent["codeSent"], true);
    let code = texted_code(&app, MOBILE).await;
    snapshot_sms(&app, "confirm_mobile_code_sms", MOBILE);

    let done = verify(&app, &challenge, &code).await;
    assert_eq!(done.data()["verifyTwoFactor"]["__typename"], "SignedIn");
    let user = reload(&app, ada.user.id).await;
    assert_eq!(user.mobile_number.as_deref(), Some(MOBILE));
    assert!(!user.mobile_reset_pending);
    assert!(
        audit_actions(&app, ada.user.id)
            .await
            .contains(&"mobile_number.confirmed".to_owned())
    );

    // The next sign-in sends the usual code to the new number.
    let next = login_ok(&app, &ada.user.email, PASSWORD).await;
    assert_eq!(next["__typename"], "TwoFactorRequired");
    assert_eq!(next["channel"], "SMS");
    texted_code(&app, MOBILE).await;
}

#[tokio::test]
async fn an_email_user_whose_mobile_was_reset_proves_the_email_first() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::Email, Some("+447700900001")).await;
    update_user(&app, ada.user.id, |u| u.mobile_reset_pending = Set(true)).await;

    let step = login_ok(&app, &ada.user.email, PASSWORD).await;
    assert_eq!(step["__typename"], "TwoFactorRequired");
    assert_eq!(step["channel"], "EMAIL");
    let code = emailed_code(&app, &ada.user.email).await;
    let next = verify(&app, &challenge_token(&step), &code).await;
    let next = &next.data()["verifyTwoFactor"];
    assert_eq!(next["__typename"], "MobileNumberRequired");

    let challenge = challenge_token(next);
    submit_mobile(&app, &challenge, "+44 7700 900123")
        .await
        .data();
    let code = texted_code(&app, MOBILE).await;
    let done = verify(&app, &challenge, &code).await;
    assert_eq!(done.data()["verifyTwoFactor"]["__typename"], "SignedIn");
}

#[tokio::test]
async fn a_suspended_user_cannot_finish_a_sign_in_started_before() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::Email, None).await;
    let step = login_ok(&app, &ada.user.email, PASSWORD).await;
    let code = emailed_code(&app, &ada.user.email).await;
    set_status(&app, ada.user.id, UserStatus::Suspended).await;
    let refused = verify(&app, &challenge_token(&step), &code).await;
    assert_bad_input(&refused, "challengeToken");
}

#[tokio::test]
async fn a_code_entered_twice_at_once_signs_in_once() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::Email, None).await;
    let step = login_ok(&app, &ada.user.email, PASSWORD).await;
    let challenge = challenge_token(&step);
    let code = emailed_code(&app, &ada.user.email).await;
    let (a, b) = tokio::join!(
        verify(&app, &challenge, &code),
        verify(&app, &challenge, &code)
    );
    let signed_in = [&a, &b]
        .iter()
        .filter(|r| r.body["data"]["verifyTwoFactor"]["__typename"] == "SignedIn")
        .count();
    assert_eq!(signed_in, 1, "{:#} {:#}", a.body, b.body);
}
