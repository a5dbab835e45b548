//! The attack suite (issue 14): requests an attacker would send, over the
//! real HTTP and WebSocket surface, each of which must be refused or
//! harmless: `websocket` for sockets that outlive their session, `cost`
//! for aliases and batches that multiply work.

mod cost;
mod websocket;

use entities::{TokenPurpose, TwoFactorMethod, session};
use portal_tests::TestApp;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use crate::support::identity::*;

const NEW_PASSWORD: &str = "Brand-New-Password-7";

/// A sign-in with the old password that races a password reset never ends
/// with a live session: either it finished first (and the reset ended its
/// session) or it is refused. The password is checked before the row lock,
/// so without the check under the lock the old password would win whenever
/// the reset committed in between.
#[tokio::test]
async fn a_sign_in_racing_a_password_reset_never_outlives_it() {
    let app = TestApp::init().await;
    for _ in 0..8 {
        let ada = landlord(&app, TwoFactorMethod::None, None).await;
        let (link, _) =
            api::identity::links::issue(app.db(), ada.user.id, TokenPurpose::PasswordReset)
                .await
                .unwrap();
        let (signed_in, reset) = tokio::join!(
            login(&app, &ada.user.email, PASSWORD),
            app.graphql(
                None,
                "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p, confirmation: $p) { email sessionsEnded } }",
                json!({ "t": link, "p": NEW_PASSWORD }),
            )
        );
        assert!(reset.data()["resetPassword"]["sessionsEnded"].is_u64());
        let live = session::Entity::find()
            .filter(session::Column::UserId.eq(ada.user.id))
            .filter(session::Column::RevokedAt.is_null())
            .count(app.db())
            .await
            .unwrap();
        assert_eq!(
            live, 0,
            "a session signed in with the old password outlived the reset: {:#}",
            signed_in.body
        );
    }
    app.run_pending_jobs().await;
}

/// A password-reset link sent before a password change (say, to a mailbox
/// someone else reads) no longer works after it.
#[tokio::test]
async fn a_reset_link_does_not_survive_a_password_change() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::None, None).await;
    let (link, _) = api::identity::links::issue(app.db(), ada.user.id, TokenPurpose::PasswordReset)
        .await
        .unwrap();
    let changed = app
        .graphql(
            Some(&ada.token),
            "mutation($c: String!, $p: String!) { changePassword(currentPassword: $c, newPassword: $p, confirmation: $p) { otherSessionsEnded me { email } } }",
            json!({ "c": PASSWORD, "p": NEW_PASSWORD }),
        )
        .await;
    assert!(changed.data()["changePassword"]["otherSessionsEnded"].is_u64());
    let late = app
        .graphql(
            None,
            "mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p, confirmation: $p) { email sessionsEnded } }",
            json!({ "t": link, "p": "Another-Password-9" }),
        )
        .await;
    assert_bad_input(&late, "token");
    assert_eq!(
        login_ok(&app, &ada.user.email, NEW_PASSWORD).await["__typename"],
        "SignedIn"
    );
    app.run_pending_jobs().await;
}

/// `/readyz` is unauthenticated, so hammering it must not hammer the
/// database, queue and storage: its answer is reused for a second. Shown by
/// closing the database under it: the cached "ready" still stands within the
/// second, and the next check after it sees the failure.
#[tokio::test]
async fn readiness_is_checked_at_most_once_a_second() {
    use axum::{body::Body, http::Request};
    use tower::ServiceExt;

    let app = TestApp::init().await;
    let router = api::http::router(app.state.clone());
    let ready = |router: axum::Router| async move {
        router
            .oneshot(Request::get("/readyz").body(Body::empty()).unwrap())
            .await
            .unwrap()
            .status()
    };
    assert_eq!(ready(router.clone()).await, 200);
    app.state.db.clone().close().await.unwrap();
    assert_eq!(
        ready(router.clone()).await,
        200,
        "the answer of the last second"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(ready(router).await, 503);
}

/// With `PORTAL_METRICS_TOKEN` set, `/metrics` answers only with it.
#[tokio::test]
async fn metrics_need_the_metrics_token_when_one_is_set() {
    use axum::{body::Body, http::Request};

    let app = TestApp::builder()
        .env("PORTAL_METRICS_TOKEN", "metrics-token-0123456789")
        .build()
        .await;
    for header in [
        None,
        Some("Bearer wrong-token-0123456789"),
        Some("metrics-token-0123456789"),
    ] {
        let mut request = Request::get("/metrics");
        if let Some(value) = header {
            request = request.header("authorization", value);
        }
        let response = app.send(request.body(Body::empty()).unwrap()).await;
        assert_eq!(response.status, 401, "{header:?}");
    }
    let response = app
        .send(
            Request::get("/metrics")
                .header("authorization", "Bearer metrics-token-0123456789")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status, 200);
    assert!(
        response
            .body
            .as_str()
            .unwrap()
            .contains("portal_jobs{status=")
    );
}
