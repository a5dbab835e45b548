//! A user's own sessions: listed with the current one marked, ended one at
//! a time or by signing out; someone else's session does not exist for them;
//! an ended or expired session signs nobody in: the request is anonymous
//! (`viewer` is null, what needs a user is `UNAUTHENTICATED`), so an old token
//! never stops anyone signing in again, while a malformed `Authorization`
//! header is refused as `UNAUTHENTICATED` before anything runs.

use chrono::{Duration, Utc};
use entities::{TwoFactorMethod, session};
use portal_tests::{TestApp, TestResponse};
use portal_tests::{gid, uuid_of};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set, sea_query::Expr};
use serde_json::json;

use crate::support::identity::*;

const MY_SESSIONS: &str =
    "{ mySessions { id createdAt lastSeenAt expiresAt ipAddress userAgent current } }";

async fn revoke(app: &TestApp, token: &str, id: &str) -> TestResponse {
    app.graphql(
        Some(token),
        "mutation($id: ID!) { revokeSession(id: $id) { sessionId signedOut } }",
        json!({ "id": id }),
    )
    .await
}

async fn viewer_code(app: &TestApp, token: &str) -> Option<String> {
    app.graphql(Some(token), "{ viewer { id } }", json!({}))
        .await
        .error_codes()
        .first()
        .cloned()
}

#[tokio::test]
async fn my_sessions_lists_the_live_ones_and_marks_the_current_one() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::None, None).await;
    let laptop = sign_in(&app, &ada.user.email).await;
    let phone = sign_in(&app, &ada.user.email).await;
    let other = landlord(&app, TwoFactorMethod::None, None).await;

    let list = app.graphql(Some(&laptop), MY_SESSIONS, json!({})).await;
    let sessions = list.data()["mySessions"].as_array().unwrap().clone();
    assert_eq!(
        sessions.len(),
        3,
        "fixture session + two sign-ins: {sessions:#?}"
    );
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    // Newest first: the phone, then the laptop (current).
    assert_eq!(sessions[1]["current"], true);
    assert_eq!(sessions[0]["current"], false);
    for s in &sessions {
        assert!(s["expiresAt"].as_str().unwrap() > s["createdAt"].as_str().unwrap());
    }
    // Other users' sessions are not in it.
    let other_ids: Vec<String> = session::Entity::find()
        .filter(session::Column::UserId.eq(other.user.id))
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|s| gid("Session", s.id))
        .collect();
    assert!(
        sessions
            .iter()
            .all(|s| !other_ids.contains(&s["id"].as_str().unwrap().to_owned()))
    );

    // Ending the phone's session from the laptop.
    let phone_id = sessions[0]["id"].as_str().unwrap();
    assert_eq!(
        revoke(&app, &laptop, phone_id).await.data()["revokeSession"],
        json!({ "sessionId": phone_id, "signedOut": false })
    );
    assert!(signed_out(&app, &phone).await);
    assert_eq!(viewer_code(&app, &laptop).await, None);
    let after = app.graphql(Some(&laptop), MY_SESSIONS, json!({})).await;
    assert_eq!(after.data()["mySessions"].as_array().unwrap().len(), 2);
    // Once ended, it is gone.
    assert_eq!(
        revoke(&app, &laptop, phone_id).await.error_code(),
        "NOT_FOUND"
    );
    assert!(
        audit_actions_of_sessions(&app)
            .await
            .contains(&"session.revoked".to_owned())
    );
}

async fn audit_actions_of_sessions(app: &TestApp) -> Vec<String> {
    entities::audit_log::Entity::find()
        .filter(entities::audit_log::Column::TargetType.eq("session"))
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

#[tokio::test]
async fn another_users_session_is_not_found_and_stays_alive() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::None, None).await;
    let bob = landlord(&app, TwoFactorMethod::None, None).await;
    let bobs = session::Entity::find()
        .filter(session::Column::UserId.eq(bob.user.id))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let response = revoke(&app, &ada.token, &gid("Session", bobs.id)).await;
    assert_eq!(response.error_code(), "NOT_FOUND");
    assert_eq!(message(&response), "Session not found.");
    assert_eq!(viewer_code(&app, &bob.token).await, None);
    // Malformed and unknown ids answer the same.
    assert_eq!(
        revoke(&app, &ada.token, "nope").await.error_code(),
        "NOT_FOUND"
    );
    assert_eq!(
        revoke(&app, &ada.token, &gid("Session", uuid::Uuid::now_v7()))
            .await
            .error_code(),
        "NOT_FOUND"
    );
}

#[tokio::test]
async fn revoking_the_current_session_says_the_client_is_signed_out() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::None, None).await;
    let here = sign_in(&app, &ada.user.email).await;
    let list = app.graphql(Some(&here), MY_SESSIONS, json!({})).await;
    let current = list.data()["mySessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        revoke(&app, &here, &current).await.data()["revokeSession"],
        json!({ "sessionId": current, "signedOut": true })
    );
    assert!(signed_out(&app, &here).await);
    assert_eq!(viewer_code(&app, &ada.token).await, None);
}

#[tokio::test]
async fn logout_ends_the_current_session_only() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::None, None).await;
    let here = sign_in(&app, &ada.user.email).await;
    let out = app
        .graphql(Some(&here), "mutation { logout { sessionId } }", json!({}))
        .await;
    let ended = out.data()["logout"]["sessionId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(signed_out(&app, &here).await);
    let live: Vec<String> = session::Entity::find()
        .filter(session::Column::UserId.eq(ada.user.id))
        .filter(session::Column::RevokedAt.is_null())
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|s| gid("Session", s.id))
        .collect();
    assert!(
        !live.contains(&ended),
        "the named session is the one that ended"
    );
    assert_eq!(live.len(), 1);
    let named = session::Entity::find_by_id(uuid_of(&ended))
        .one(app.db())
        .await
        .unwrap()
        .expect("the session named exists");
    assert!(named.revoked_at.is_some(), "and it is the one that ended");
    assert_eq!(
        viewer_code(&app, &ada.token).await,
        None,
        "the other session lives"
    );
    let again = app
        .graphql(Some(&here), "mutation { logout { sessionId } }", json!({}))
        .await;
    assert_eq!(again.error_code(), "UNAUTHENTICATED");
    let anonymous = app
        .graphql(None, "mutation { logout { sessionId } }", json!({}))
        .await;
    assert_eq!(anonymous.error_code(), "UNAUTHENTICATED");
    assert_eq!(
        app.graphql(None, MY_SESSIONS, json!({})).await.error_code(),
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn idle_and_absolutely_expired_sessions_sign_nobody_in() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::None, None).await;
    let idle = sign_in(&app, &ada.user.email).await;
    let old = sign_in(&app, &ada.user.email).await;
    let hash = |t: &str| api::auth::token::hash(t);
    session::Entity::update_many()
        .col_expr(
            session::Column::IdleExpiresAt,
            Expr::value(Utc::now() - Duration::seconds(1)),
        )
        .filter(session::Column::TokenHash.eq(hash(&idle)))
        .exec(app.db())
        .await
        .unwrap();
    session::Entity::update_many()
        .col_expr(
            session::Column::AbsoluteExpiresAt,
            Expr::value(Utc::now() - Duration::seconds(1)),
        )
        .filter(session::Column::TokenHash.eq(hash(&old)))
        .exec(app.db())
        .await
        .unwrap();
    assert!(signed_out(&app, &idle).await);
    assert!(signed_out(&app, &old).await);
    let list = app.graphql(Some(&ada.token), MY_SESSIONS, json!({})).await;
    assert_eq!(list.data()["mySessions"].as_array().unwrap().len(), 1);
}

/// Whether `token` signs nobody in any more: the request is anonymous, so
/// `viewer` is null and what needs a user is `UNAUTHENTICATED`.
async fn signed_out(app: &TestApp, token: &str) -> bool {
    let viewer = app
        .graphql(Some(token), "{ viewer { id } }", json!({}))
        .await;
    let sessions = app.graphql(Some(token), MY_SESSIONS, json!({})).await;
    viewer.data()["viewer"].is_null() && sessions.error_code() == "UNAUTHENTICATED"
}

/// Session tokens a client may still hold that name no live session: signed
/// out, idle-expired, past the absolute limit, of a suspended user, and one
/// this server never issued.
async fn stale_tokens(app: &TestApp) -> Vec<(&'static str, String)> {
    let old = landlord(app, TwoFactorMethod::None, None).await;
    let signed_out = sign_in(app, &old.user.email).await;
    app.graphql(
        Some(&signed_out),
        "mutation { logout { sessionId } }",
        json!({}),
    )
    .await
    .data();
    let idle = sign_in(app, &old.user.email).await;
    let absolute = sign_in(app, &old.user.email).await;
    for (token, column) in [
        (&idle, session::Column::IdleExpiresAt),
        (&absolute, session::Column::AbsoluteExpiresAt),
    ] {
        session::Entity::update_many()
            .col_expr(column, Expr::value(Utc::now() - Duration::seconds(1)))
            .filter(session::Column::TokenHash.eq(api::auth::token::hash(token)))
            .exec(app.db())
            .await
            .unwrap();
    }
    let suspended = landlord(app, TwoFactorMethod::None, None).await;
    set_status(app, suspended.user.id, entities::UserStatus::Suspended).await;
    vec![
        ("signed out", signed_out),
        ("idle expired", idle),
        ("absolutely expired", absolute),
        ("user suspended", suspended.token),
        (
            "never issued",
            api::auth::token::generate(api::auth::token::SESSION_PREFIX),
        ),
    ]
}

#[tokio::test]
async fn an_old_session_token_does_not_stop_anyone_signing_in() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::None, None).await;
    // The fixture's session, not a sign-in: five stale kinds, two sign-ins
    // each, are all the per-account limit allows.
    let live = ada.token.clone();
    for (kind, stale) in stale_tokens(&app).await {
        assert!(signed_out(&app, &stale).await, "{kind}");
        let response = app
            .graphql(
                Some(&stale),
                &format!(
                    "mutation($input: LoginInput!) {{ login(input: $input) {{ {LOGIN_RESULT} }} }}"
                ),
                json!({ "input": { "email": ada.user.email, "password": PASSWORD } }),
            )
            .await;
        let result = &response.data()["login"];
        assert_eq!(result["__typename"], "SignedIn", "{kind}: {result:#}");
        let new = result["token"].as_str().unwrap();
        let me = app
            .graphql(Some(new), "{ viewer { email } }", json!({}))
            .await;
        assert_eq!(
            me.data()["viewer"]["email"],
            json!(ada.user.email),
            "{kind}"
        );
        // Still nothing for the old token: signing out needs a session.
        assert_eq!(
            app.graphql(Some(&stale), "mutation { logout { sessionId } }", json!({}))
                .await
                .error_code(),
            "UNAUTHENTICATED",
            "{kind}"
        );
        // A wrong password is refused as ever.
        let wrong = app
            .graphql(
                Some(&stale),
                "mutation($input: LoginInput!) { login(input: $input) { __typename } }",
                json!({ "input": { "email": ada.user.email, "password": "Not-The-Password-1" } }),
            )
            .await;
        assert_eq!(wrong.error_code(), "UNAUTHENTICATED", "{kind}");
        assert_eq!(
            message(&wrong),
            "Email address or password is incorrect.",
            "{kind}"
        );
    }
    // A live session is still its user.
    let me = app
        .graphql(Some(&live), "{ viewer { email } }", json!({}))
        .await;
    assert_eq!(me.data()["viewer"]["email"], json!(ada.user.email));
}

#[tokio::test]
async fn an_old_session_token_does_not_block_the_steps_before_sign_in() {
    let app = TestApp::init().await;
    let stale = stale_tokens(&app).await;
    let stale = |i: usize| stale[i % stale.len()].1.clone();
    let call = |token: String, query: String, variables: serde_json::Value| {
        let app = &app;
        async move { app.graphql(Some(&token), &query, variables).await }
    };

    // Forgot password, then the reset link.
    let ada = landlord(&app, TwoFactorMethod::None, None).await;
    let forgot = call(
        stale(0),
        "mutation($e: String!) { forgotPassword(email: $e) { email linkValidForMinutes } }".into(),
        json!({ "e": ada.user.email }),
    )
    .await;
    assert_eq!(forgot.data()["forgotPassword"]["linkValidForMinutes"], 60);
    let link = emailed_token(&app, &ada.user.email).await;
    let reset = call(
        stale(1),
        "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p, confirmation: $p) { email sessionsEnded } }".into(),
        json!({ "t": link, "p": "Brand-New-Password-7" }),
    )
    .await;
    assert!(reset.data()["resetPassword"]["sessionsEnded"].is_u64());

    // An invitation.
    let priya = landlord(&app, TwoFactorMethod::None, None).await;
    update_user(&app, priya.user.id, |u| u.password_hash = Set(None)).await;
    let (link, _) =
        api::identity::links::issue(app.db(), priya.user.id, entities::TokenPurpose::Invitation)
            .await
            .unwrap();
    let accepted = call(
        stale(2),
        format!("mutation($t: String!, $p: String!) {{ acceptInvitation(token: $t, newPassword: $p, confirmation: $p) {{ {LOGIN_RESULT} }} }}"),
        json!({ "t": link, "p": "Brand-New-Password-7" }),
    )
    .await;
    assert_eq!(
        accepted.data()["acceptInvitation"]["__typename"],
        "SignedIn"
    );

    // The two-factor step: re-send, verify, and "Later".
    let bob = landlord(&app, TwoFactorMethod::Email, None).await;
    let step = login_ok(&app, &bob.user.email, PASSWORD).await;
    let challenge = step["challengeToken"].as_str().unwrap().to_owned();
    // The first code's email goes out before the second is queued, so the
    // newest email holds the valid code.
    app.run_pending_jobs().await;
    let resent = call(
        stale(3),
        "mutation($t: String!) { resendTwoFactorCode(challengeToken: $t) { channel } }".into(),
        json!({ "t": challenge }),
    )
    .await;
    assert_eq!(resent.data()["resendTwoFactorCode"]["channel"], "EMAIL");
    let code = emailed_code(&app, &bob.user.email).await;
    let verified = call(
        stale(4),
        format!("mutation($t: String!, $c: String!) {{ verifyTwoFactor(challengeToken: $t, code: $c) {{ {LOGIN_RESULT} }} }}"),
        json!({ "t": challenge, "c": code }),
    )
    .await;
    assert_eq!(verified.data()["verifyTwoFactor"]["__typename"], "SignedIn");
    // A recovery code in place of the code: a wrong one is a wrong code on
    // the step, not a refused header.
    let step = login_ok(&app, &bob.user.email, PASSWORD).await;
    let recovery = call(
        stale(0),
        format!(
            "mutation($t: String!) {{ verifyRecoveryCode(challengeToken: $t, recoveryCode: \"abcde-23456\") {{ {LOGIN_RESULT} }} }}"
        ),
        json!({ "t": step["challengeToken"] }),
    )
    .await;
    assert_bad_input(&recovery, "recoveryCode");

    // The new mobile number after an administrator reset it.
    let carol = landlord(&app, TwoFactorMethod::None, None).await;
    update_user(&app, carol.user.id, |u| u.mobile_reset_pending = Set(true)).await;
    let step = login_ok(&app, &carol.user.email, PASSWORD).await;
    assert_eq!(step["__typename"], "MobileNumberRequired", "{step:#}");
    let submitted = call(
        stale(1),
        "mutation($t: String!, $m: String!) { submitMobileNumber(challengeToken: $t, mobileNumber: $m) { channel } }".into(),
        json!({ "t": step["challengeToken"], "m": "07700 900456" }),
    )
    .await;
    assert_eq!(submitted.data()["submitMobileNumber"]["channel"], "SMS");
    let code = texted_code(&app, "+447700900456").await;
    let done = call(
        stale(2),
        format!("mutation($t: String!, $c: String!) {{ verifyTwoFactor(challengeToken: $t, code: $c) {{ {LOGIN_RESULT} }} }}"),
        json!({ "t": step["challengeToken"], "c": code }),
    )
    .await;
    assert_eq!(done.data()["verifyTwoFactor"]["__typename"], "SignedIn");
}

#[tokio::test]
async fn a_malformed_authorization_header_is_refused_before_anything_runs() {
    use axum::{
        body::Body,
        http::{HeaderValue, Request, StatusCode, header},
    };
    use sea_orm::PaginatorTrait;

    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::None, None).await;
    let sessions = || {
        session::Entity::find()
            .filter(session::Column::UserId.eq(ada.user.id))
            .count(app.db())
    };
    let before = sessions().await.unwrap();
    let body = json!({
        "query": "mutation($input: LoginInput!) { login(input: $input) { __typename } }",
        "variables": { "input": { "email": ada.user.email, "password": PASSWORD } },
    });
    let over_long = format!("Bearer ps_{}", "a".repeat(300));
    let values: Vec<(&str, HeaderValue)> = vec![
        (
            "another scheme",
            HeaderValue::from_static("Basic YWRhOnBhc3N3b3Jk"),
        ),
        (
            "no scheme",
            HeaderValue::from_static("ps_no-scheme-in-front"),
        ),
        ("no token", HeaderValue::from_static("Bearer")),
        ("an empty token", HeaderValue::from_static("Bearer   ")),
        (
            "not a token of ours",
            HeaderValue::from_static("Bearer not-a-token"),
        ),
        ("over-long", HeaderValue::from_str(&over_long).unwrap()),
        (
            "not visible ASCII",
            HeaderValue::from_bytes(b"Bearer ps_\xe9t\xe9").unwrap(),
        ),
    ];
    for (case, value) in values {
        let response = app
            .send(
                Request::post("/graphql")
                    .header(header::CONTENT_TYPE, "application/json")
                    .header(header::AUTHORIZATION, value)
                    .body(Body::from(serde_json::to_vec(&body).unwrap()))
                    .unwrap(),
            )
            .await;
        assert_eq!(response.status, StatusCode::OK, "{case}");
        assert_eq!(response.error_code(), "UNAUTHENTICATED", "{case}");
        assert!(
            response.body.get("data").is_none(),
            "{case}: nothing ran: {:#}",
            response.body
        );
    }
    assert_eq!(sessions().await.unwrap(), before, "no sign-in happened");
    assert!(
        !audit_actions(&app, ada.user.id)
            .await
            .contains(&"session.login".to_owned())
    );
}
