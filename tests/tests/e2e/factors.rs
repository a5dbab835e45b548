//! Second factors that mean something: "Later" declines enrolment (never a
//! code), enrolment-only sessions where two-factor is required (staff
//! always; an organisation may name the methods that count), authenticator
//! apps (RFC 6238, one use per code), and recovery codes (hashed, single
//! use, audited and emailed). Over the HTTP GraphQL surface.

use chrono::{Duration, Utc};
use entities::{TwoFactorMethod, UserKind, recovery_code, session};
use portal_tests::gid;
use portal_tests::{TestApp, TestResponse};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::support::identity::*;

const ME: &str = "twoFactorMethod twoFactorSetup recoveryCodesRemaining";

async fn call(app: &TestApp, token: &str, query: &str, vars: Value) -> TestResponse {
    app.graphql(Some(token), query, vars).await
}

async fn viewer(app: &TestApp, token: &str) -> Value {
    call(app, token, &format!("{{ viewer {{ {ME} }} }}"), json!({}))
        .await
        .data()["viewer"]
        .clone()
}

async fn decline(app: &TestApp, token: &str) -> TestResponse {
    call(
        app,
        token,
        &format!("mutation {{ declineTwoFactorSetup {{ {ME} }} }}"),
        json!({}),
    )
    .await
}

async fn enable_email(app: &TestApp, token: &str, password: &str) -> TestResponse {
    call(
        app,
        token,
        "mutation($p: String!) { enableTwoFactor(method: EMAIL, password: $p) { challengeToken channel codeSent } }",
        json!({ "p": password }),
    )
    .await
}

async fn set_up_app(app: &TestApp, token: &str, password: &str) -> TestResponse {
    call(
        app,
        token,
        "mutation($p: String!) { setUpAuthenticatorApp(password: $p) { challengeToken secret provisioningUri expiresAt } }",
        json!({ "p": password }),
    )
    .await
}

async fn confirm(app: &TestApp, token: &str, challenge: &str, code: &str) -> TestResponse {
    call(
        app,
        token,
        &format!(
            "mutation($t: String!, $c: String!) {{ confirmTwoFactor(challengeToken: $t, code: $c) {{ {ME} }} }}"
        ),
        json!({ "t": challenge, "c": code }),
    )
    .await
}

async fn generate_codes(app: &TestApp, token: &str, password: &str) -> TestResponse {
    call(
        app,
        token,
        &format!(
            "mutation($p: String!) {{ generateRecoveryCodes(password: $p) {{ codes user {{ {ME} }} }} }}"
        ),
        json!({ "p": password }),
    )
    .await
}

async fn use_recovery_code(app: &TestApp, challenge: &str, code: &str) -> TestResponse {
    app.graphql(
        None,
        &format!(
            "mutation($t: String!, $c: String!) {{ verifyRecoveryCode(challengeToken: $t, recoveryCode: $c) {{ {LOGIN_RESULT} }} }}"
        ),
        json!({ "t": challenge, "c": code }),
    )
    .await
}

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {value:#}"))
}

/// The code an authenticator app with `secret` shows `ahead` time steps
/// from now.
fn app_code(secret: &str, ahead: i64) -> String {
    api::identity::totp::current_code(secret, Utc::now() + Duration::seconds(30 * ahead)).unwrap()
}

/// Asserts the enrolment-only answer.
fn assert_setup_required(response: &TestResponse) {
    assert_eq!(response.error_code(), "FORBIDDEN", "{:#}", response.body);
    assert_eq!(ext(response, "reason"), "TWO_FACTOR_SETUP_REQUIRED");
}

#[tokio::test]
async fn later_declines_the_offer_for_thirty_days_and_never_skips_a_code() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::None, None).await;
    let first = login_ok(&app, &ada.user.email, PASSWORD).await;
    assert_eq!(first["__typename"], "SignedIn");
    assert_eq!(first["twoFactorSetup"], "OFFERED");
    let token = str_of(&first, "token").to_owned();

    let later = decline(&app, &token).await;
    assert_eq!(
        later.data()["declineTwoFactorSetup"]["twoFactorSetup"],
        "NONE"
    );
    assert!(
        reload(&app, ada.user.id)
            .await
            .two_factor_declined_at
            .is_some()
    );
    assert!(
        audit_actions(&app, ada.user.id)
            .await
            .contains(&"two_factor.declined".to_owned())
    );
    let next = login_ok(&app, &ada.user.email, PASSWORD).await;
    assert_eq!(next["twoFactorSetup"], "NONE");

    // Thirty days on, the offer comes back.
    update_user(&app, ada.user.id, |u| {
        u.two_factor_declined_at = Set(Some(Utc::now() - Duration::days(30)))
    })
    .await;
    assert_eq!(
        login_ok(&app, &ada.user.email, PASSWORD).await["twoFactorSetup"],
        "OFFERED"
    );

    // With a factor on, "Later" is not an answer to anything, and the
    // password alone never gives a session.
    let bob = landlord(&app, TwoFactorMethod::Email, None).await;
    let conflict = decline(&app, &bob.token).await;
    assert_eq!(conflict.error_code(), "CONFLICT");
    let step = login_ok(&app, &bob.user.email, PASSWORD).await;
    assert_eq!(step["__typename"], "TwoFactorRequired");
    assert!(step.get("token").is_none_or(Value::is_null));
    app.run_pending_jobs().await;
}

#[tokio::test]
async fn where_two_factor_is_required_the_session_can_only_enrol_until_it_has() {
    let app = TestApp::init().await;
    let org = organisation(&app, true).await;
    let ada = account(
        &app,
        UserKind::Landlord,
        Some(&org),
        TwoFactorMethod::None,
        None,
    )
    .await;
    let signed_in = login_ok(&app, &ada.user.email, PASSWORD).await;
    assert_eq!(signed_in["__typename"], "SignedIn");
    assert_eq!(signed_in["twoFactorSetup"], "REQUIRED");
    let token = str_of(&signed_in, "token").to_owned();

    // Nothing but setting up works, over each kind of operation.
    for query in [
        "{ cases(first: 1) { nodes { id } } }",
        "{ mySessions { id } }",
        "{ organisationUsers(first: 1) { nodes { id } } }",
        "mutation { declineTwoFactorSetup { twoFactorSetup } }",
    ] {
        assert_setup_required(&call(&app, &token, query, json!({})).await);
    }
    // An alias does not get past the fence.
    assert_setup_required(&call(&app, &token, "{ me: mySessions { id } }", json!({})).await);
    assert_eq!(viewer(&app, &token).await["twoFactorSetup"], "REQUIRED");

    // Setting up needs the password.
    let wrong = enable_email(&app, &token, "Not-The-Password-1").await;
    assert_eq!(
        assert_bad_input(&wrong, "password"),
        "Your password is not correct."
    );
    let started = enable_email(&app, &token, PASSWORD).await;
    let challenge = str_of(&started.data()["enableTwoFactor"], "challengeToken").to_owned();
    let code = emailed_code(&app, &ada.user.email).await;
    let done = confirm(&app, &token, &challenge, &code).await;
    assert_eq!(done.data()["confirmTwoFactor"]["twoFactorMethod"], "EMAIL");
    assert_eq!(done.data()["confirmTwoFactor"]["twoFactorSetup"], "NONE");
    // The same session is now a full one.
    let sessions = call(&app, &token, "{ mySessions { id } }", json!({})).await;
    assert_eq!(sessions.data()["mySessions"].as_array().unwrap().len(), 2);
    // The next sign-in asks for the new factor.
    let next = login_ok(&app, &ada.user.email, PASSWORD).await;
    assert_eq!(next["__typename"], "TwoFactorRequired");
    assert_eq!(next["channel"], "EMAIL");
    emailed_code(&app, &ada.user.email).await;
}

#[tokio::test]
async fn staff_always_use_two_factor() {
    let app = TestApp::init().await;
    let priya = account(&app, UserKind::Staff, None, TwoFactorMethod::None, None).await;
    let signed_in = login_ok(&app, &priya.user.email, PASSWORD).await;
    assert_eq!(signed_in["twoFactorSetup"], "REQUIRED");
    assert_setup_required(
        &call(
            &app,
            str_of(&signed_in, "token"),
            "{ cases(first: 1) { nodes { id } } }",
            json!({}),
        )
        .await,
    );
    let tom = account(&app, UserKind::Staff, None, TwoFactorMethod::Email, None).await;
    let off = call(
        &app,
        &tom.token,
        "mutation($p: String!) { disableTwoFactor(password: $p) { twoFactorMethod } }",
        json!({ "p": PASSWORD }),
    )
    .await;
    assert_eq!(off.error_code(), "CONFLICT");
    assert_eq!(
        reload(&app, tom.user.id).await.two_factor_method,
        TwoFactorMethod::Email
    );
}

#[tokio::test]
async fn an_authenticator_app_is_set_up_with_its_first_code_and_each_code_works_once() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::None, None).await;

    let wrong = set_up_app(&app, &ada.token, "Not-The-Password-1").await;
    assert_bad_input(&wrong, "password");
    let setup = set_up_app(&app, &ada.token, PASSWORD).await;
    let setup = &setup.data()["setUpAuthenticatorApp"];
    let secret = str_of(setup, "secret").to_owned();
    assert_eq!(secret.len(), 32);
    let uri = str_of(setup, "provisioningUri");
    assert!(
        uri.starts_with("otpauth://totp/Landlord%20%26%20Resident%20Portal:")
            && uri.contains(&format!("secret={secret}"))
            && uri.contains("digits=6&period=30"),
        "{uri}"
    );
    let challenge = str_of(setup, "challengeToken").to_owned();
    // Nothing changes until the app's code confirms it.
    assert_eq!(reload(&app, ada.user.id).await.totp_secret, None);
    assert_bad_input(
        &confirm(&app, &ada.token, &challenge, "12ab56").await,
        "code",
    );
    let bad = confirm(
        &app,
        &ada.token,
        &challenge,
        &wrong_code(&app_code(&secret, 0)),
    )
    .await;
    assert!(assert_bad_input(&bad, "code").starts_with("The code is not correct."));
    assert_eq!(
        reload(&app, ada.user.id).await.two_factor_method,
        TwoFactorMethod::None
    );

    let first_code = app_code(&secret, 0);
    let done = confirm(&app, &ada.token, &challenge, &first_code).await;
    assert_eq!(
        done.data()["confirmTwoFactor"]["twoFactorMethod"],
        "AUTHENTICATOR_APP"
    );
    let user = reload(&app, ada.user.id).await;
    assert_eq!(user.totp_secret.as_deref(), Some(secret.as_str()));
    app.run_pending_jobs().await;
    snapshot_email(&app, "two_factor_changed_email", &ada.user.email).await;

    // Signing in: nothing is sent, the app's code is asked for.
    let step = login_ok(&app, &ada.user.email, PASSWORD).await;
    assert_eq!(step["__typename"], "TwoFactorRequired");
    assert_eq!(step["channel"], "AUTHENTICATOR_APP");
    assert_eq!(step["codeSent"], false);
    assert_eq!(step["maskedDestination"], "your authenticator app");
    let token = str_of(&step, "challengeToken").to_owned();
    assert_bad_input(&resend(&app, &token).await, "challengeToken");
    // The code that confirmed the app is used up.
    let reused = verify(&app, &token, &first_code).await;
    assert_bad_input(&reused, "code");
    let next = app_code(&secret, 1);
    let done = verify(&app, &token, &next).await;
    assert_eq!(done.data()["verifyTwoFactor"]["__typename"], "SignedIn");
    // And so is this one, on the next sign-in.
    let again = login_ok(&app, &ada.user.email, PASSWORD).await;
    let replay = verify(&app, str_of(&again, "challengeToken"), &next).await;
    assert_bad_input(&replay, "code");
    app.run_pending_jobs().await;
}

/// A 6-digit code that is certainly not `code`.
fn wrong_code(code: &str) -> String {
    let last = (code.as_bytes()[5] - b'0' + 1) % 10;
    format!("{}{last}", &code[..5])
}

#[tokio::test]
async fn recovery_codes_are_shown_once_stored_hashed_and_each_works_once() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::None, None).await;
    // Nothing to recover without a factor.
    assert_eq!(
        generate_codes(&app, &ada.token, PASSWORD)
            .await
            .error_code(),
        "CONFLICT"
    );
    update_user(&app, ada.user.id, |u| {
        u.two_factor_method = Set(TwoFactorMethod::Email)
    })
    .await;
    assert_bad_input(
        &generate_codes(&app, &ada.token, "Not-The-Password-1").await,
        "password",
    );

    let made = generate_codes(&app, &ada.token, PASSWORD).await;
    let made = &made.data()["generateRecoveryCodes"];
    let codes: Vec<String> = made["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    assert_eq!(made["user"]["recoveryCodesRemaining"], 10);
    let stored = recovery_code::Entity::find()
        .filter(recovery_code::Column::UserId.eq(ada.user.id))
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(stored.len(), 10);
    assert!(stored.iter().all(|r| {
        !codes
            .iter()
            .any(|c| r.code_hash.contains(&c.replace('-', "")))
    }));
    app.run_pending_jobs().await;
    snapshot_email(&app, "recovery_codes_generated_email", &ada.user.email).await;

    // At sign-in, a recovery code answers the code step. (The code emailed
    // for the step goes out first, so the snapshot below is of the notice.)
    let step = login_ok(&app, &ada.user.email, PASSWORD).await;
    app.run_pending_jobs().await;
    let challenge = str_of(&step, "challengeToken").to_owned();
    assert_bad_input(
        &use_recovery_code(&app, &challenge, "not-a-code").await,
        "recoveryCode",
    );
    let upper = codes[0].to_uppercase().replace('-', " ");
    let done = use_recovery_code(&app, &challenge, &upper).await;
    assert_eq!(done.data()["verifyRecoveryCode"]["__typename"], "SignedIn");
    let token = str_of(&done.data()["verifyRecoveryCode"], "token").to_owned();
    assert_eq!(viewer(&app, &token).await["recoveryCodesRemaining"], 9);
    assert!(
        audit_actions(&app, ada.user.id)
            .await
            .contains(&"two_factor.recovery_code_used".to_owned())
    );
    app.run_pending_jobs().await;
    snapshot_email(&app, "recovery_code_used_email", &ada.user.email).await;

    // A used code is refused, and counts as a wrong code on the step.
    let step = login_ok(&app, &ada.user.email, PASSWORD).await;
    let challenge = str_of(&step, "challengeToken").to_owned();
    let reused = use_recovery_code(&app, &challenge, &codes[0]).await;
    assert!(
        assert_bad_input(&reused, "recoveryCode").contains("or it has been used"),
        "{:#}",
        reused.body
    );
    assert_eq!(viewer(&app, &token).await["recoveryCodesRemaining"], 9);

    // A new set replaces the old one.
    generate_codes(&app, &token, PASSWORD).await.data();
    let old = use_recovery_code(&app, &challenge, &codes[1]).await;
    assert_bad_input(&old, "recoveryCode");
    app.run_pending_jobs().await;
}

#[tokio::test]
async fn staff_choose_whether_an_organisation_requires_two_factor_and_which_methods_count() {
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
    let admin = app.service_admin().await;
    let caseworker = app.caseworker().await;
    let id = gid("Organisation", org.id);
    let forbidden = rule(
        &app,
        &caseworker.token,
        json!({ "organisationId": id, "required": true }),
    )
    .await;
    assert_eq!(forbidden.error_code(), "FORBIDDEN");
    assert_bad_input(
        &rule(
            &app,
            &admin.token,
            json!({ "organisationId": id, "required": true, "methods": ["NONE"] }),
        )
        .await,
        "input.methods",
    );
    assert_bad_input(
        &rule(
            &app,
            &admin.token,
            json!({ "organisationId": id, "required": false, "methods": ["SMS"] }),
        )
        .await,
        "input.methods",
    );
    assert!(
        !organisation_row(&app, org.id).await.requires_two_factor,
        "nothing changed"
    );

    let set = rule(
        &app,
        &admin.token,
        json!({ "organisationId": id, "required": true, "methods": ["AUTHENTICATOR_APP"] }),
    )
    .await;
    let set = &set.data()["setOrganisationTwoFactorRule"];
    assert_eq!(set["requiresTwoFactor"], true);
    assert_eq!(
        set["acceptedTwoFactorMethods"],
        json!(["AUTHENTICATOR_APP"])
    );
    // Ada's live session may now only set up an accepted method.
    assert_setup_required(&call(&app, &ada.token, "{ mySessions { id } }", json!({})).await);
    assert_eq!(viewer(&app, &ada.token).await["twoFactorSetup"], "REQUIRED");
    let refused = enable_email(&app, &ada.token, PASSWORD).await;
    assert!(assert_bad_input(&refused, "method").contains("an authenticator app"));

    // Signing in, her SMS code is still asked for first.
    let step = login_ok(&app, &ada.user.email, PASSWORD).await;
    assert_eq!(step["channel"], "SMS");
    let code = texted_code(&app, "+447700900123").await;
    let signed_in = verify(&app, str_of(&step, "challengeToken"), &code).await;
    let signed_in = &signed_in.data()["verifyTwoFactor"];
    assert_eq!(signed_in["twoFactorSetup"], "REQUIRED");
    let token = str_of(signed_in, "token").to_owned();
    let setup = set_up_app(&app, &token, PASSWORD).await;
    let setup = &setup.data()["setUpAuthenticatorApp"];
    let secret = str_of(setup, "secret").to_owned();
    confirm(
        &app,
        &token,
        str_of(setup, "challengeToken"),
        &app_code(&secret, 0),
    )
    .await
    .data();
    assert_eq!(viewer(&app, &token).await["twoFactorSetup"], "NONE");
    let full = session::Entity::find()
        .filter(session::Column::UserId.eq(ada.user.id))
        .filter(session::Column::EnrolmentOnly.eq(false))
        .count(app.db())
        .await
        .unwrap();
    assert_eq!(full, 1, "only the session that set it up became a full one");
    app.run_pending_jobs().await;
}

async fn rule(app: &TestApp, token: &str, input: Value) -> TestResponse {
    call(
        app,
        token,
        "mutation($i: SetOrganisationTwoFactorRuleInput!) { setOrganisationTwoFactorRule(input: $i) { requiresTwoFactor acceptedTwoFactorMethods } }",
        json!({ "i": input }),
    )
    .await
}

async fn organisation_row(app: &TestApp, id: uuid::Uuid) -> entities::organisation::Model {
    entities::organisation::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
}
