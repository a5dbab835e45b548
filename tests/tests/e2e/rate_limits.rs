//! Rate limits on sign-in, code checks, code sends and forgot-password:
//! per account and per client address, counted per resolver call, so neither
//! a batch of operations nor aliased fields in one document get extra tries.

use entities::{TwoFactorMethod, session};
use portal_tests::{TestApp, TestResponse};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::support::identity::*;

fn login_body(email: &str, password: &str) -> Value {
    json!({
        "query": "mutation($input: LoginInput!) { login(input: $input) { __typename } }",
        "variables": { "input": { "email": email, "password": password } },
    })
}

fn codes_of(responses: &Value) -> Vec<String> {
    responses
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or("OK")
                .to_owned()
        })
        .collect()
}

fn assert_rate_limited(response: &TestResponse) {
    assert_eq!(response.error_code(), "RATE_LIMITED", "{:#}", response.body);
    let retry = ext(response, "retryAfterSeconds").as_u64().unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
}

#[tokio::test]
async fn a_batch_of_eleven_logins_counts_as_eleven_attempts() {
    let app = TestApp::builder()
        .env("PORTAL_MAX_BATCH_SIZE", "11")
        .build()
        .await;
    let ada = landlord(&app, TwoFactorMethod::None, None).await;
    let batch: Vec<Value> = (0..11)
        .map(|_| login_body(&ada.user.email, "Not-The-Password-1"))
        .collect();
    let response = graphql_from(&app, &random_ip(), None, json!(batch)).await;
    let mut expected = vec!["UNAUTHENTICATED".to_owned(); 10];
    expected.push("RATE_LIMITED".to_owned());
    assert_eq!(codes_of(&response.body), expected);
    // The account stays limited for the next request, even with the right password.
    assert_rate_limited(&login(&app, &ada.user.email, PASSWORD).await);
}

#[tokio::test]
async fn eleven_aliased_logins_in_one_document_count_as_eleven_attempts() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::None, None).await;
    let fields: String = (1..=11)
        .map(|i| format!("a{i}: login(input: $input) {{ __typename }} "))
        .collect();
    let response = app
        .graphql(
            None,
            &format!("mutation($input: LoginInput!) {{ {fields} }}"),
            json!({ "input": { "email": ada.user.email, "password": PASSWORD } }),
        )
        .await;
    // Ten sign-ins went through; the eleventh was refused.
    assert_rate_limited(&response);
    assert_eq!(response.body["errors"][0]["path"], json!(["a11"]));
    let sessions = session::Entity::find()
        .filter(session::Column::UserId.eq(ada.user.id))
        .count(app.db())
        .await
        .unwrap();
    assert_eq!(sessions, 1 + 10, "the fixture's session and ten sign-ins");
}

#[tokio::test]
async fn one_address_trying_many_accounts_is_limited() {
    let app = TestApp::init().await;
    let ip = random_ip();
    for i in 0..50 {
        let body = login_body(&format!("guess{i}@example.test"), "Not-The-Password-1");
        let response = graphql_from(&app, &ip, None, body).await;
        assert_eq!(response.error_code(), "UNAUTHENTICATED", "attempt {i}");
    }
    let ada = landlord(&app, TwoFactorMethod::None, None).await;
    let limited = graphql_from(&app, &ip, None, login_body(&ada.user.email, PASSWORD)).await;
    assert_rate_limited(&limited);
    // Another address is not affected.
    let elsewhere = graphql_from(
        &app,
        &random_ip(),
        None,
        login_body(&ada.user.email, PASSWORD),
    )
    .await;
    assert_eq!(elsewhere.body["data"]["login"]["__typename"], "SignedIn");
}

#[tokio::test]
async fn code_checks_are_limited_per_account() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::Email, None).await;
    let step = login_ok(&app, &ada.user.email, PASSWORD).await;
    let challenge = step["challengeToken"].as_str().unwrap();
    let code = emailed_code(&app, &ada.user.email).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for i in 0..10 {
        let response = graphql_from(
            &app,
            &random_ip(),
            None,
            json!({
                "query": "mutation($t: String!, $c: String!) { verifyTwoFactor(challengeToken: $t, code: $c) { __typename } }",
                "variables": { "t": challenge, "c": wrong },
            }),
        )
        .await;
        assert_eq!(response.error_code(), "BAD_USER_INPUT", "check {i}");
    }
    assert_rate_limited(&verify(&app, challenge, &code).await);
}

#[tokio::test]
async fn code_checks_are_limited_per_address() {
    let app = TestApp::init().await;
    let ip = random_ip();
    let body = json!({
        "query": "mutation { verifyTwoFactor(challengeToken: \"pc_guess\", code: \"123456\") { __typename } }",
    });
    for i in 0..50 {
        let response = graphql_from(&app, &ip, None, body.clone()).await;
        assert_eq!(response.error_code(), "BAD_USER_INPUT", "check {i}");
    }
    assert_rate_limited(&graphql_from(&app, &ip, None, body.clone()).await);
    let elsewhere = graphql_from(&app, &random_ip(), None, body).await;
    assert_eq!(elsewhere.error_code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn codes_sent_are_limited_per_account() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::Email, None).await;
    let step = login_ok(&app, &ada.user.email, PASSWORD).await;
    let challenge = step["challengeToken"].as_str().unwrap();
    for _ in 0..4 {
        resend(&app, challenge).await.data();
    }
    assert_rate_limited(&resend(&app, challenge).await);
    app.run_pending_jobs().await;
    assert_eq!(app.emails().await.len(), 5);
}

#[tokio::test]
async fn forgot_password_is_limited_per_address_and_the_same_for_unknown_addresses() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::None, None).await;
    let forgot = |email: String| {
        json!({
            "query": "mutation($e: String!) { forgotPassword(email: $e) { email linkValidForMinutes } }",
            "variables": { "e": email },
        })
    };
    for email in [ada.user.email.clone(), "nobody@nowhere.example".to_owned()] {
        for _ in 0..3 {
            let ok = graphql_from(&app, &random_ip(), None, forgot(email.clone())).await;
            assert_eq!(ok.body["data"]["forgotPassword"]["linkValidForMinutes"], 60);
        }
        let limited = graphql_from(&app, &random_ip(), None, forgot(email.clone())).await;
        assert_rate_limited(&limited);
    }
    app.run_pending_jobs().await;
    assert_eq!(app.emails().await.len(), 3);

    let ip = random_ip();
    for i in 0..20 {
        let ok = graphql_from(&app, &ip, None, forgot(format!("someone{i}@example.test"))).await;
        assert_eq!(ok.body["data"]["forgotPassword"]["linkValidForMinutes"], 60);
    }
    assert_rate_limited(&graphql_from(&app, &ip, None, forgot("late@example.test".into())).await);
}

/// The stored challenge of a raw challenge token.
async fn challenge_of(app: &TestApp, token: &str) -> entities::two_factor_challenge::Model {
    use entities::two_factor_challenge;
    two_factor_challenge::Entity::find()
        .filter(two_factor_challenge::Column::ChallengeTokenHash.eq(api::auth::token::hash(token)))
        .one(app.db())
        .await
        .unwrap()
        .expect("a challenge")
}

#[tokio::test]
async fn the_code_send_limit_refuses_the_resend_not_the_sign_in() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::Email, None).await;
    let first = login_ok(&app, &ada.user.email, PASSWORD).await;
    let first = first["challengeToken"].as_str().unwrap().to_owned();
    for _ in 0..4 {
        // One at a time, so the newest email holds the valid code.
        app.run_pending_jobs().await;
        resend(&app, &first).await.data();
    }
    assert_rate_limited(&resend(&app, &first).await);
    let code = emailed_code(&app, &ada.user.email).await;
    assert_eq!(app.emails().await.len(), 5);

    // The right password still gets the two-factor step: no new code is
    // sent, and the one already sent completes it.
    let again = login(&app, &ada.user.email, PASSWORD).await;
    let step = &again.data()["login"];
    assert_eq!(step["__typename"], "TwoFactorRequired", "{step:#}");
    assert_eq!(step["channel"], "EMAIL");
    let token = step["challengeToken"].as_str().unwrap().to_owned();
    assert_ne!(token, first, "a new token for the step");
    let reused = challenge_of(&app, &token).await;
    assert_eq!(reused.sends, 5, "the step whose code was sent last");
    let expires_at: chrono::DateTime<chrono::Utc> =
        step["expiresAt"].as_str().unwrap().parse().unwrap();
    assert!(
        (expires_at - reused.expires_at).num_seconds().abs() <= 1,
        "the expiry of the code already sent: {expires_at} {}",
        reused.expires_at
    );
    app.run_pending_jobs().await;
    assert_eq!(app.emails().await.len(), 5, "nothing more was sent");
    // The re-send is what the limit refuses.
    assert_rate_limited(&resend(&app, &token).await);
    // The replaced token no longer works; the new one does, with the code.
    assert_bad_input(&verify(&app, &first, &code).await, "challengeToken");
    let done = verify(&app, &token, &code).await;
    assert_eq!(done.data()["verifyTwoFactor"]["__typename"], "SignedIn");
    // A wrong password is refused as ever, not rate-limited.
    let wrong = login(&app, &ada.user.email, "Not-The-Password-1").await;
    assert_eq!(wrong.error_code(), "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_sign_in_over_the_code_send_limit_with_no_code_to_reuse_sends_none() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::Email, None).await;
    // Five complete sign-ins in a few minutes use up the codes.
    for _ in 0..5 {
        let step = login_ok(&app, &ada.user.email, PASSWORD).await;
        let code = emailed_code(&app, &ada.user.email).await;
        let done = verify(&app, step["challengeToken"].as_str().unwrap(), &code).await;
        assert_eq!(done.data()["verifyTwoFactor"]["__typename"], "SignedIn");
    }
    assert_eq!(app.emails().await.len(), 5);

    // The sixth still gets the step, without a code.
    let step = login(&app, &ada.user.email, PASSWORD).await;
    let step = &step.data()["login"];
    assert_eq!(step["__typename"], "TwoFactorRequired", "{step:#}");
    // The client is told no code went out, and when it can ask for one.
    assert_eq!(step["codeSent"], false);
    let wait = step["resendAvailableInSeconds"].as_u64().expect("a wait");
    assert!(wait > 0 && wait <= 15 * 60, "{wait}");
    let token = step["challengeToken"].as_str().unwrap().to_owned();
    assert_eq!(challenge_of(&app, &token).await.sends, 0);
    app.run_pending_jobs().await;
    assert_eq!(app.emails().await.len(), 5, "nothing was sent");

    // Entering a code says that none was sent; the re-send is refused with
    // when to try again.
    let message = assert_bad_input(&verify(&app, &token, "123456").await, "challengeToken");
    assert!(
        message.starts_with("No code has been sent for this step yet"),
        "{message}"
    );
    assert_rate_limited(&resend(&app, &token).await);
    // Bad input is still bad input.
    assert_bad_input(&verify(&app, &token, "12ab").await, "code");
    assert_bad_input(&resend(&app, "pc_not-a-challenge").await, "challengeToken");
    // Nothing changed: still no code, nothing sent, not signed in.
    assert_eq!(challenge_of(&app, &token).await.sends, 0);
    assert!(challenge_of(&app, &token).await.consumed_at.is_none());
    app.run_pending_jobs().await;
    assert_eq!(app.emails().await.len(), 5);
}
