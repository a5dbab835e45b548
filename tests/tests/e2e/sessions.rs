//! A user's own sessions: listed with the current one marked, ended one at
//! a time or by signing out; someone else's session does not exist for them;
//! ended and expired sessions are `UNAUTHENTICATED`.

use chrono::{Duration, Utc};
use entities::{TwoFactorMethod, session};
use portal_tests::{TestApp, TestResponse};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::json;

use crate::support::identity::*;

const MY_SESSIONS: &str =
    "{ mySessions { id createdAt lastSeenAt expiresAt ipAddress userAgent current } }";

async fn revoke(app: &TestApp, token: &str, id: &str) -> TestResponse {
    app.graphql(
        Some(token),
        "mutation($id: ID!) { revokeSession(id: $id) }",
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
        .map(|s| s.id.to_string())
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
        true
    );
    assert_eq!(
        viewer_code(&app, &phone).await.as_deref(),
        Some("UNAUTHENTICATED")
    );
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
    let response = revoke(&app, &ada.token, &bobs.id.to_string()).await;
    assert_eq!(response.error_code(), "NOT_FOUND");
    assert_eq!(message(&response), "Session not found.");
    assert_eq!(viewer_code(&app, &bob.token).await, None);
    // Malformed and unknown ids answer the same.
    assert_eq!(
        revoke(&app, &ada.token, "nope").await.error_code(),
        "NOT_FOUND"
    );
    assert_eq!(
        revoke(&app, &ada.token, &uuid::Uuid::now_v7().to_string())
            .await
            .error_code(),
        "NOT_FOUND"
    );
}

#[tokio::test]
async fn logout_ends_the_current_session_only() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::None, None).await;
    let here = sign_in(&app, &ada.user.email).await;
    let out = app
        .graphql(Some(&here), "mutation { logout }", json!({}))
        .await;
    assert_eq!(out.data()["logout"], true);
    assert_eq!(
        viewer_code(&app, &here).await.as_deref(),
        Some("UNAUTHENTICATED")
    );
    assert_eq!(
        viewer_code(&app, &ada.token).await,
        None,
        "the other session lives"
    );
    let again = app
        .graphql(Some(&here), "mutation { logout }", json!({}))
        .await;
    assert_eq!(again.error_code(), "UNAUTHENTICATED");
    let anonymous = app.graphql(None, "mutation { logout }", json!({})).await;
    assert_eq!(anonymous.error_code(), "UNAUTHENTICATED");
    assert_eq!(
        app.graphql(None, MY_SESSIONS, json!({})).await.error_code(),
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn idle_and_absolutely_expired_sessions_are_unauthenticated() {
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
    assert_eq!(
        viewer_code(&app, &idle).await.as_deref(),
        Some("UNAUTHENTICATED")
    );
    assert_eq!(
        viewer_code(&app, &old).await.as_deref(),
        Some("UNAUTHENTICATED")
    );
    let list = app.graphql(Some(&ada.token), MY_SESSIONS, json!({})).await;
    assert_eq!(list.data()["mySessions"].as_array().unwrap().len(), 1);
}
