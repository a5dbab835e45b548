//! The signed-in user's own account: `viewer`, and switching two-factor
//! sign-in on (confirmed with a code) and off (with the password, unless the
//! organisation requires it).

use entities::{Permission, TwoFactorMethod, UserKind};
use portal_tests::gid;
use portal_tests::{TestApp, TestResponse};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};

use crate::support::identity::*;

const ME: &str = "id email firstName lastName kind staffRole organisation { id name requiresTwoFactor } \
    permissions twoFactorMethod maskedMobileNumber mobileResetPending lastLoginAt passwordChangedAt";

async fn enable(app: &TestApp, token: &str, method: &str, mobile: Option<&str>) -> TestResponse {
    app.graphql(
        Some(token),
        "mutation($m: TwoFactorChannel!, $n: String, $p: String!) { enableTwoFactor(method: $m, mobileNumber: $n, password: $p) { challengeToken channel maskedDestination codeSent } }",
        json!({ "m": method, "n": mobile, "p": PASSWORD }),
    )
    .await
}

async fn confirm(app: &TestApp, token: &str, challenge: &str, code: &str) -> TestResponse {
    app.graphql(
        Some(token),
        "mutation($t: String!, $c: String!) { confirmTwoFactor(challengeToken: $t, code: $c) { twoFactorMethod maskedMobileNumber } }",
        json!({ "t": challenge, "c": code }),
    )
    .await
}

async fn disable(app: &TestApp, token: &str, password: &str) -> TestResponse {
    app.graphql(
        Some(token),
        "mutation($p: String!) { disableTwoFactor(password: $p) { twoFactorMethod } }",
        json!({ "p": password }),
    )
    .await
}

fn challenge_of(response: &TestResponse) -> String {
    response.data()["enableTwoFactor"]["challengeToken"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn viewer_shows_the_account_with_the_mobile_number_masked() {
    let app = TestApp::init().await;
    let org = organisation(&app, false).await;
    let ada = account(
        &app,
        UserKind::Landlord,
        Some(&org),
        TwoFactorMethod::Sms,
        Some("+447700900123"),
    )
    .await;
    for permission in [Permission::ViewPayments, Permission::ManageUsers] {
        entities::user_permission::ActiveModel {
            user_id: Set(ada.user.id),
            permission: Set(permission),
            created_at: Set(chrono::Utc::now()),
        }
        .insert(app.db())
        .await
        .unwrap();
    }
    let me = app
        .graphql(
            Some(&ada.token),
            &format!("{{ viewer {{ {ME} }} }}"),
            json!({}),
        )
        .await;
    let mut me: Value = me.data()["viewer"].clone();
    assert_eq!(me["id"], json!(gid("User", ada.user.id)));
    assert_eq!(me["email"], json!(ada.user.email));
    assert_eq!(me["organisation"]["id"], json!(gid("Organisation", org.id)));
    for key in ["id", "email"] {
        me[key] = json!("[redacted]");
    }
    me["organisation"]["id"] = json!("[redacted]");
    insta::assert_json_snapshot!("viewer", me);

    let anonymous = app.graphql(None, "{ viewer { id } }", json!({})).await;
    assert_eq!(anonymous.data()["viewer"], Value::Null);
}

#[tokio::test]
async fn email_two_factor_is_switched_on_by_a_code_and_off_with_the_password() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::None, None).await;

    let started = enable(&app, &ada.token, "EMAIL", None).await;
    assert_eq!(started.data()["enableTwoFactor"]["channel"], "EMAIL");
    assert_eq!(started.data()["enableTwoFactor"]["codeSent"], true);
    let challenge = challenge_of(&started);
    assert_eq!(
        reload(&app, ada.user.id).await.two_factor_method,
        TwoFactorMethod::None,
        "not yet"
    );
    let code = emailed_code(&app, &ada.user.email).await;
    // The code is no good on the sign-in mutation.
    assert_bad_input(&verify(&app, &challenge, &code).await, "challengeToken");
    let done = confirm(&app, &ada.token, &challenge, &code).await;
    assert_eq!(done.data()["confirmTwoFactor"]["twoFactorMethod"], "EMAIL");
    assert!(
        audit_actions(&app, ada.user.id)
            .await
            .contains(&"two_factor.enabled".to_owned())
    );
    // Enabling it again is a conflict.
    assert_eq!(
        enable(&app, &ada.token, "EMAIL", None).await.error_code(),
        "CONFLICT"
    );
    // Signing in now asks for a code.
    assert_eq!(
        login_ok(&app, &ada.user.email, PASSWORD).await["__typename"],
        "TwoFactorRequired"
    );
    emailed_code(&app, &ada.user.email).await;

    let wrong = disable(&app, &ada.token, "Not-The-Password-1").await;
    assert_eq!(
        assert_bad_input(&wrong, "password"),
        "Your password is not correct."
    );
    assert_eq!(
        reload(&app, ada.user.id).await.two_factor_method,
        TwoFactorMethod::Email
    );
    let off = disable(&app, &ada.token, PASSWORD).await;
    assert_eq!(off.data()["disableTwoFactor"]["twoFactorMethod"], "NONE");
    assert!(
        audit_actions(&app, ada.user.id)
            .await
            .contains(&"two_factor.disabled".to_owned())
    );
    assert_eq!(
        login_ok(&app, &ada.user.email, PASSWORD).await["__typename"],
        "SignedIn"
    );
    // Each change is emailed to the account's address.
    app.run_pending_jobs().await;
    let subjects: Vec<String> = app.emails().await.into_iter().map(|e| e.subject).collect();
    assert!(
        subjects.iter().any(|s| s.contains("was changed"))
            && subjects.iter().any(|s| s.contains("was switched off")),
        "{subjects:?}"
    );
}

#[tokio::test]
async fn sms_two_factor_needs_a_number_and_confirms_it_by_a_code_sent_to_it() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::None, None).await;
    let bob = landlord(&app, TwoFactorMethod::None, Some("+447700900002")).await;

    let no_number = enable(&app, &ada.token, "SMS", None).await;
    assert_bad_input(&no_number, "mobileNumber");
    assert_bad_input(
        &enable(&app, &ada.token, "SMS", Some("not a number")).await,
        "mobileNumber",
    );
    let taken = enable(
        &app,
        &ada.token,
        "SMS",
        Some(bob.user.mobile_number.as_deref().unwrap()),
    )
    .await;
    // A number another account holds gets the same answer as any other
    // (numbers cannot be probed), but nothing is sent to it, and no code
    // completes the step.
    let taken = &taken.data()["enableTwoFactor"];
    assert_eq!(taken["codeSent"], true);
    let taken_challenge = taken["challengeToken"].as_str().unwrap().to_owned();
    app.run_pending_jobs().await;
    assert!(
        app.sms().iter().all(|(to, _)| to != "+447700900002"),
        "{:?}",
        app.sms()
    );
    assert_bad_input(
        &confirm(&app, &ada.token, &taken_challenge, "000000").await,
        "code",
    );

    let started = enable(&app, &ada.token, "SMS", Some("07700 900123")).await;
    assert_eq!(
        started.data()["enableTwoFactor"]["maskedDestination"],
        "07*** ***123"
    );
    let challenge = challenge_of(&started);
    let code = texted_code(&app, "+447700900123").await;
    // Someone else's session cannot complete it.
    assert_bad_input(
        &confirm(&app, &bob.token, &challenge, &code).await,
        "challengeToken",
    );
    let done = confirm(&app, &ada.token, &challenge, &code).await;
    assert_eq!(
        done.data()["confirmTwoFactor"],
        json!({ "twoFactorMethod": "SMS", "maskedMobileNumber": "07*** ***123" })
    );
    assert_eq!(
        reload(&app, ada.user.id).await.mobile_number.as_deref(),
        Some("+447700900123")
    );
    assert_eq!(
        login_ok(&app, &ada.user.email, PASSWORD).await["channel"],
        "SMS"
    );
    texted_code(&app, "+447700900123").await;
}

#[tokio::test]
async fn two_factor_cannot_be_switched_off_where_the_organisation_requires_it() {
    let app = TestApp::init().await;
    let org = organisation(&app, true).await;
    let ada = account(
        &app,
        UserKind::Landlord,
        Some(&org),
        TwoFactorMethod::Email,
        None,
    )
    .await;
    let refused = disable(&app, &ada.token, PASSWORD).await;
    assert_eq!(refused.error_code(), "CONFLICT");
    assert!(message(&refused).contains("organisation requires two-factor"));
    assert_eq!(
        reload(&app, ada.user.id).await.two_factor_method,
        TwoFactorMethod::Email
    );
    let anonymous = app
        .graphql(
            None,
            "mutation { disableTwoFactor(password: \"x\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(anonymous.error_code(), "UNAUTHENTICATED");
}
