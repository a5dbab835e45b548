//! GOV.UK Notify for real: sign-in codes and emails go through a
//! Notify-compatible server ([`portal_tests::notify::NotifyServer`]: real
//! HTTP, the JWT verified), failures are retried or dead-lettered as Notify's
//! answers say, Notify's delivery receipts are recorded on the deliveries,
//! and support staff can see a user's recent deliveries.

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use entities::{
    DeliveryStatus, JobStatus, Permission, TwoFactorMethod, UserKind, notification_delivery,
    outbox_job,
};
use portal_tests::gid;
use portal_tests::{
    TestApp, TestResponse,
    notify::{CALLBACK_TOKEN, NotifyServer},
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::identity::{self, login_ok, verify};

const MOBILE: &str = "+447700900123";

async fn notify_app(server: &NotifyServer) -> TestApp {
    TestApp::builder().with_notify(server).build().await
}

async fn delivery(app: &TestApp, id: Uuid) -> notification_delivery::Model {
    notification_delivery::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .expect("delivery")
}

async fn deliveries_to(app: &TestApp, user: Uuid) -> Vec<notification_delivery::Model> {
    notification_delivery::Entity::find()
        .filter(notification_delivery::Column::UserId.eq(user))
        .all(app.db())
        .await
        .unwrap()
}

/// POSTs a delivery receipt with `token` (`None`: no Authorization header).
async fn callback(app: &TestApp, token: Option<&str>, body: &Value) -> TestResponse {
    let mut request = Request::post("/callbacks/notify/delivery-status")
        .header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    app.send(request.body(Body::from(body.to_string())).unwrap())
        .await
}

/// A landlord user who signs in with a code by text message, signed in
/// through Notify; returns the user and the delivery of the code.
async fn signed_in_by_sms(
    app: &TestApp,
    server: &NotifyServer,
) -> (portal_tests::fixtures::TestUser, Uuid) {
    let user = identity::landlord(app, TwoFactorMethod::Sms, Some(MOBILE)).await;
    let step = login_ok(app, &user.user.email, identity::PASSWORD).await;
    assert_eq!(step["__typename"], "TwoFactorRequired", "{step:#}");
    app.run_pending_jobs().await;

    let texts = server.accepted();
    assert_eq!(texts.len(), 1, "{texts:#?}");
    let text = &texts[0];
    assert_eq!(text.kind, "sms");
    assert_eq!(text.to, MOBILE);
    assert_eq!(text.template_id, server.sms_template_id.to_string());
    let body = text.personalisation["body"].as_str().unwrap();
    let code = identity::code_in(body);
    let signed_in = verify(app, step["challengeToken"].as_str().unwrap(), &code).await;
    assert_eq!(
        signed_in.data()["verifyTwoFactor"]["__typename"],
        "SignedIn",
        "{:#}",
        signed_in.body
    );
    let delivery_id: Uuid = text
        .reference
        .parse()
        .expect("our reference is the delivery id");
    (user, delivery_id)
}

#[tokio::test]
async fn a_sign_in_code_by_text_goes_through_notify() {
    let server = NotifyServer::start().await;
    let app = notify_app(&server).await;

    let (user, delivery_id) = signed_in_by_sms(&app, &server).await;

    let record = delivery(&app, delivery_id).await;
    assert_eq!(record.user_id, Some(user.user.id));
    assert_eq!(record.status, DeliveryStatus::Sent);
    assert_eq!(
        record.provider_reference,
        Some(server.accepted()[0].id.to_string()),
        "Notify's id is the provider reference"
    );
    assert_eq!(
        record.params["code"],
        json!("[sent]"),
        "the code is not kept"
    );
    assert!(app.sms().is_empty(), "nothing went to the log file");
}

#[tokio::test]
async fn an_email_goes_through_notify_with_our_subject_and_text() {
    let server = NotifyServer::start().await;
    let app = notify_app(&server).await;
    let user = identity::landlord(&app, TwoFactorMethod::None, None).await;
    let caseworker = app.caseworker().await;

    let r = app
        .graphql(
            Some(&caseworker.token),
            "mutation($id: ID!) { sendPasswordReset(id: $id) { id } }",
            json!({ "id": gid("User", user.user.id) }),
        )
        .await;
    r.data();
    app.run_pending_jobs().await;

    let emails = server.accepted();
    assert_eq!(emails.len(), 1, "{emails:#?}");
    let email = &emails[0];
    assert_eq!(email.kind, "email");
    assert_eq!(email.to, user.user.email, "a bare address");
    assert_eq!(email.template_id, server.email_template_id.to_string());
    assert!(
        email.personalisation["subject"]
            .as_str()
            .unwrap()
            .contains("password"),
        "{:#}",
        email.personalisation
    );
    assert!(
        email.personalisation["body"]
            .as_str()
            .unwrap()
            .contains("reset-password?token="),
        "the plain-text part: {:#}",
        email.personalisation
    );
    let record = delivery(&app, email.reference.parse().unwrap()).await;
    assert_eq!(record.status, DeliveryStatus::Sent);
    assert_eq!(record.provider_reference, Some(email.id.to_string()));
    assert!(app.emails().await.is_empty(), "no .eml file was written");
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried_until_notify_accepts() {
    let server = NotifyServer::start().await;
    // A backoff long enough that no retry is due before `skip_backoff`.
    let app = TestApp::builder()
        .with_notify(&server)
        .env("PORTAL_JOB_BACKOFF_BASE_MS", "600000")
        .build()
        .await;
    server.answer_next(
        StatusCode::TOO_MANY_REQUESTS,
        "RateLimitError",
        "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds",
    );
    server.answer_next(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Exception",
        "Internal server error",
    );
    let id = api::notifications::queue_sms(
        app.db(),
        &api::notifications::Recipient {
            address: MOBILE.into(),
            user_id: None,
        },
        api::notifications::templates::SmsTemplate::TwoFactorCode,
        json!({ "code": "048213", "valid_minutes": 15 }),
    )
    .await
    .unwrap();

    // Each attempt is Notify's answer, recorded, and a retry after backoff.
    for expected in ["429", "500"] {
        app.run_pending_jobs().await;
        let retrying = delivery(&app, id).await;
        assert_eq!(retrying.status, DeliveryStatus::Queued, "to be retried");
        let error = retrying.last_error.unwrap();
        assert!(error.contains(expected), "Notify's answer: {error}");
        app.skip_backoff().await;
    }
    app.run_pending_jobs().await;

    let sent = delivery(&app, id).await;
    assert_eq!(sent.status, DeliveryStatus::Sent, "{:?}", sent.last_error);
    assert_eq!(sent.attempts, 3);
    assert_eq!(sent.last_error, None);
    assert_eq!(server.requests(), 3);
    assert_eq!(server.accepted().len(), 1, "sent once");
    assert_eq!(
        sent.provider_reference,
        Some(server.accepted()[0].id.to_string())
    );
}

#[tokio::test]
async fn a_refused_message_is_dead_lettered_with_notifys_reason() {
    let server = NotifyServer::start().await;
    let app = TestApp::builder()
        .with_notify(&server)
        .allow_leftover_jobs()
        .build()
        .await;
    server.answer_next(
        StatusCode::BAD_REQUEST,
        "BadRequestError",
        "Can't send to this recipient using a team-only API key",
    );
    let id = api::notifications::queue_sms(
        app.db(),
        &api::notifications::Recipient {
            address: MOBILE.into(),
            user_id: None,
        },
        api::notifications::templates::SmsTemplate::TwoFactorCode,
        json!({ "code": "048213", "valid_minutes": 15 }),
    )
    .await
    .unwrap();

    app.run_pending_jobs().await;

    let failed = delivery(&app, id).await;
    assert_eq!(failed.status, DeliveryStatus::Failed);
    assert_eq!(failed.attempts, 1, "not retried");
    let error = failed.last_error.unwrap();
    assert!(error.contains("400"), "{error}");
    assert!(
        error.contains("BadRequestError: Can't send to this recipient using a team-only API key"),
        "{error}"
    );
    assert_eq!(failed.params["code"], json!("[discarded]"));
    let job = outbox_job::Entity::find()
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.status, JobStatus::Dead);
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn a_wrong_api_key_fails_notifys_token_check_and_is_recorded() {
    let server = NotifyServer::start().await;
    let key = server.wrong_api_key();
    let app = TestApp::builder()
        .with_notify(&server)
        .env("PORTAL_NOTIFY_API_KEY", key.clone())
        .allow_leftover_jobs()
        .build()
        .await;
    let id = api::notifications::queue_sms(
        app.db(),
        &api::notifications::Recipient {
            address: MOBILE.into(),
            user_id: None,
        },
        api::notifications::templates::SmsTemplate::TwoFactorCode,
        json!({ "code": "048213", "valid_minutes": 15 }),
    )
    .await
    .unwrap();

    app.run_pending_jobs().await;

    assert_eq!(
        server.refused(),
        vec!["Invalid token: signature, api token not found".to_owned()],
        "the server checked the signature"
    );
    assert!(server.accepted().is_empty());
    let failed = delivery(&app, id).await;
    assert_eq!(failed.status, DeliveryStatus::Failed);
    let error = failed.last_error.unwrap();
    assert!(error.contains("403"), "{error}");
    assert!(error.contains("AuthError: Invalid token"), "{error}");
    assert!(
        !error.contains(&key[key.len() - 36..]),
        "no secret in the record"
    );
}

#[tokio::test]
async fn delivery_receipts_update_the_record() {
    let server = NotifyServer::start().await;
    let app = notify_app(&server).await;
    let (_, id) = signed_in_by_sms(&app, &server).await;
    let text = server.accepted()[0].clone();

    // `sending` first: recorded, still SENT.
    let r = callback(
        &app,
        Some(CALLBACK_TOKEN),
        &NotifyServer::receipt(&text, "sending"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.body);
    assert_eq!(r.body, json!({ "recorded": true }));
    let record = delivery(&app, id).await;
    assert_eq!(record.status, DeliveryStatus::Sent);
    assert_eq!(record.provider_status.as_deref(), Some("sending"));

    // Then `delivered`, twice (Notify retries): the same record.
    for _ in 0..2 {
        let r = callback(
            &app,
            Some(CALLBACK_TOKEN),
            &NotifyServer::receipt(&text, "delivered"),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        let record = delivery(&app, id).await;
        assert_eq!(record.status, DeliveryStatus::Delivered);
        assert_eq!(record.provider_status.as_deref(), Some("delivered"));
        assert_eq!(
            record.provider_status_at.unwrap().to_rfc3339(),
            "2026-12-03T09:00:05+00:00",
            "Notify's completed_at"
        );
        assert_eq!(record.provider_reference, Some(text.id.to_string()));
    }

    // A late `sending` does not undo `delivered`.
    callback(
        &app,
        Some(CALLBACK_TOKEN),
        &NotifyServer::receipt(&text, "sending"),
    )
    .await;
    assert_eq!(delivery(&app, id).await.status, DeliveryStatus::Delivered);

    // Each failure is recorded with what it means.
    for (status, meaning) in [
        ("permanent-failure", "does not exist"),
        ("temporary-failure", "72 hours"),
        ("technical-failure", "technical problem"),
    ] {
        let r = callback(
            &app,
            Some(CALLBACK_TOKEN),
            &NotifyServer::receipt(&text, status),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        let record = delivery(&app, id).await;
        assert_eq!(record.status, DeliveryStatus::Failed, "{status}");
        assert_eq!(record.provider_status.as_deref(), Some(status));
        let error = record.last_error.unwrap();
        assert!(
            error.contains(status) && error.contains(meaning),
            "{status}: {error}"
        );
    }

    // Found by Notify's id alone, too.
    let mut by_id = NotifyServer::receipt(&text, "delivered");
    by_id["reference"] = Value::Null;
    callback(&app, Some(CALLBACK_TOKEN), &by_id).await;
    assert_eq!(delivery(&app, id).await.status, DeliveryStatus::Delivered);
}

#[tokio::test]
async fn receipts_without_the_token_or_for_nothing_of_ours_change_nothing() {
    let server = NotifyServer::start().await;
    let app = notify_app(&server).await;
    let (_, id) = signed_in_by_sms(&app, &server).await;
    let text = server.accepted()[0].clone();
    let before = delivery(&app, id).await;
    let receipt = NotifyServer::receipt(&text, "permanent-failure");

    for token in [None, Some("wrong-token"), Some(&CALLBACK_TOKEN[1..])] {
        let r = callback(&app, token, &receipt).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{token:?}");
    }
    assert_eq!(delivery(&app, id).await, before, "nothing stored");

    // A receipt for a message we never sent: 200, so Notify stops retrying.
    let mut unknown = receipt.clone();
    unknown["id"] = json!(Uuid::new_v4());
    unknown["reference"] = json!(Uuid::new_v4());
    let r = callback(&app, Some(CALLBACK_TOKEN), &unknown).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!({ "recorded": false }));
    // Our reference with another notification's id, or the wrong channel.
    let mut mismatched = receipt.clone();
    mismatched["id"] = json!(Uuid::new_v4());
    let r = callback(&app, Some(CALLBACK_TOKEN), &mismatched).await;
    assert_eq!(r.body, json!({ "recorded": false }));
    let mut email = receipt.clone();
    email["notification_type"] = json!("email");
    let r = callback(&app, Some(CALLBACK_TOKEN), &email).await;
    assert_eq!(r.body, json!({ "recorded": false }));
    // Not a receipt at all.
    let r = callback(&app, Some(CALLBACK_TOKEN), &json!({ "hello": "world" })).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Too large.
    let huge = json!({ "id": "x".repeat(20_000), "status": "delivered" });
    let r = callback(&app, Some(CALLBACK_TOKEN), &huge).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(delivery(&app, id).await, before, "nothing stored");
}

#[tokio::test]
async fn without_a_callback_token_the_route_is_off() {
    let app = TestApp::init().await;
    let r = callback(&app, Some(CALLBACK_TOKEN), &json!({})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

const DELIVERIES: &str = "query($id: ID!, $first: Int) { userDeliveries(userId: $id, first: $first) { \
    id channel template destination status providerStatus providerStatusAt providerReference \
    attempts lastError createdAt sentAt } }";

#[tokio::test]
async fn support_staff_see_a_users_recent_deliveries() {
    let server = NotifyServer::start().await;
    let app = notify_app(&server).await;
    let (user, id) = signed_in_by_sms(&app, &server).await;
    let text = server.accepted()[0].clone();
    callback(
        &app,
        Some(CALLBACK_TOKEN),
        &NotifyServer::receipt(&text, "permanent-failure"),
    )
    .await;
    // "I never got the email": a password reset, delivered.
    let caseworker = app.caseworker().await;
    app.graphql(
        Some(&caseworker.token),
        "mutation($id: ID!) { sendPasswordReset(id: $id) { id } }",
        json!({ "id": gid("User", user.user.id) }),
    )
    .await
    .data();
    app.run_pending_jobs().await;
    let email = server.accepted()[1].clone();
    callback(
        &app,
        Some(CALLBACK_TOKEN),
        &NotifyServer::receipt(&email, "delivered"),
    )
    .await;

    let r = app
        .graphql(
            Some(&caseworker.token),
            DELIVERIES,
            json!({ "id": gid("User", user.user.id) }),
        )
        .await;
    let list = r.data()["userDeliveries"].as_array().unwrap().clone();
    assert_eq!(list.len(), 2, "{list:#?}");
    let (newest, oldest) = (&list[0], &list[1]);
    assert_eq!(newest["channel"], "EMAIL");
    assert_eq!(newest["template"], "password_reset");
    assert_eq!(newest["status"], "DELIVERED");
    assert_eq!(newest["providerStatus"], "delivered");
    assert_eq!(newest["providerReference"], json!(email.id.to_string()));
    let domain = user.user.email.split_once('@').unwrap().1;
    assert_eq!(newest["destination"], json!(format!("u•••@{domain}")));
    assert_eq!(oldest["id"], json!(gid("NotificationDelivery", id)));
    assert_eq!(oldest["channel"], "SMS");
    assert_eq!(oldest["status"], "FAILED");
    assert_eq!(oldest["providerStatus"], "permanent-failure");
    assert_eq!(oldest["destination"], "+44•••••••123");
    assert!(
        oldest["lastError"]
            .as_str()
            .unwrap()
            .contains("permanent-failure")
    );
    assert_eq!(oldest["attempts"], 1);
    assert!(oldest["sentAt"].is_string());
    let shown = r.body.to_string();
    assert!(!shown.contains("reset-password"), "no message contents");

    // `first` bounds the list.
    let r = app
        .graphql(
            Some(&caseworker.token),
            DELIVERIES,
            json!({ "id": gid("User", user.user.id), "first": 1 }),
        )
        .await;
    assert_eq!(r.data()["userDeliveries"].as_array().unwrap().len(), 1);
    let r = app
        .graphql(
            Some(&caseworker.token),
            DELIVERIES,
            json!({ "id": gid("User", user.user.id), "first": 51 }),
        )
        .await;
    assert_eq!(r.error_code(), "BAD_USER_INPUT");
    assert_eq!(deliveries_to(&app, user.user.id).await.len(), 2);
}

#[tokio::test]
async fn who_may_see_a_users_deliveries() {
    let app = TestApp::init().await;
    let org = app.create_organisation(&["northside.example"], false).await;
    let other_org = app.create_organisation(&["southside.example"], false).await;
    let landlord = app.landlord_user(org, &[]).await;
    let admin = app.landlord_user(org, &[Permission::ManageUsers]).await;
    let other_admin = app
        .landlord_user(other_org, &[Permission::ManageUsers])
        .await;
    let resident = app.resident().await;
    let caseworker = app.caseworker().await;
    let service_admin = app.service_admin().await;
    let staff_member = app.create_user(UserKind::Staff, None, None).await;
    api::notifications::queue_email(
        app.db(),
        &api::notifications::Recipient {
            address: landlord.user.email.clone(),
            user_id: Some(landlord.user.id),
        },
        api::notifications::templates::EmailTemplate::PasswordChanged,
        json!({ "first_name": "Test", "changed_at": "2026-12-03T09:00:00Z" }),
    )
    .await
    .unwrap();
    app.run_pending_jobs().await;

    let ask = |token: String, user: Uuid| {
        let app = &app;
        async move {
            app.graphql(Some(&token), DELIVERIES, json!({ "id": gid("User", user) }))
                .await
        }
    };
    // Their organisation's administrator, and any staff member, see them.
    for token in [&admin.token, &caseworker.token, &service_admin.token] {
        let r = ask(token.clone(), landlord.user.id).await;
        let list = r.data()["userDeliveries"].as_array().unwrap().clone();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["status"], "SENT");
        assert!(list[0]["providerReference"].is_string());
    }
    // Staff are the residents' support desk.
    let r = ask(caseworker.token.clone(), resident.user.id).await;
    assert_eq!(r.data()["userDeliveries"], json!([]));
    // Another organisation's administrator: as if the user did not exist.
    let r = ask(other_admin.token.clone(), landlord.user.id).await;
    assert_eq!(r.error_code(), "NOT_FOUND");
    // Nor do administrators see residents, or staff see staff here.
    assert_eq!(
        ask(admin.token.clone(), resident.user.id)
            .await
            .error_code(),
        "NOT_FOUND"
    );
    assert_eq!(
        ask(caseworker.token.clone(), staff_member.user.id)
            .await
            .error_code(),
        "NOT_FOUND"
    );
    // Residents and users without MANAGE_USERS may not ask at all.
    assert_eq!(
        ask(resident.token.clone(), landlord.user.id)
            .await
            .error_code(),
        "FORBIDDEN"
    );
    assert_eq!(
        ask(landlord.token.clone(), landlord.user.id)
            .await
            .error_code(),
        "FORBIDDEN"
    );
    let r = app
        .graphql(
            None,
            DELIVERIES,
            json!({ "id": gid("User", landlord.user.id) }),
        )
        .await;
    assert_eq!(r.error_code(), "UNAUTHENTICATED");
}
