//! Email and SMS delivery end to end: a delivery queued in a transaction is
//! sent by the worker's job, recorded, and arrives (as a `.eml` file, or at the
//! real SMTP server when `TEST_SMTP_URL` is set). Emails are snapshotted, and
//! the same snapshots hold for both transports.

use api::notifications::templates::{EmailTemplate, SmsTemplate};
use api::notifications::{self, Recipient};
use entities::{DeliveryStatus, notification_delivery};
use portal_tests::TestApp;
use sea_orm::{EntityTrait, TransactionTrait};
use serde_json::json;

fn redact_host(app: &TestApp) -> Vec<(String, &'static str)> {
    vec![(regex_escape(&app.host), "[host]")]
}

fn regex_escape(s: &str) -> String {
    s.replace('.', r"\.")
}

#[tokio::test]
async fn an_invitation_email_is_sent_recorded_and_reads_well() {
    let app = TestApp::init().await;
    let txn = app.db().begin().await.unwrap();
    let id = notifications::queue_email(
        &txn,
        &Recipient {
            address: "priya.shah@northside-housing.example".into(),
            user_id: None,
        },
        EmailTemplate::Invitation,
        json!({
            "first_name": "Priya",
            "organisation_name": "Northside Housing Association",
            "token": "invitation-token-123",
            "expires_at": "2026-11-25T09:00:00Z",
        }),
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();

    let queued = notification_delivery::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(queued.status, DeliveryStatus::Queued);
    assert!(
        app.emails().await.is_empty(),
        "nothing is sent inside the request"
    );

    assert_eq!(app.run_pending_jobs().await, 1);
    let sent = notification_delivery::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sent.status, DeliveryStatus::Sent);
    assert_eq!(sent.attempts, 1);
    assert!(sent.sent_at.is_some());
    assert!(sent.provider_reference.is_some());

    let emails = app.emails().await;
    assert_eq!(emails.len(), 1);
    let filters: Vec<(String, &str)> = redact_host(&app);
    insta::with_settings!({ filters => filters.iter().map(|(a, b)| (a.as_str(), *b)).collect::<Vec<_>>() }, {
        insta::assert_yaml_snapshot!("invitation_email", emails[0]);
    });

    // A second delivery of the same job sends nothing more.
    worker::outbox::retry_dead(app.db(), uuid::Uuid::nil())
        .await
        .unwrap();
    assert_eq!(app.run_pending_jobs().await, 0);
    assert_eq!(app.emails().await.len(), 1);
}

#[tokio::test]
async fn a_rolled_back_write_sends_nothing() {
    let app = TestApp::init().await;
    let txn = app.db().begin().await.unwrap();
    notifications::queue_email(
        &txn,
        &Recipient {
            address: "ada@example.test".into(),
            user_id: None,
        },
        EmailTemplate::PasswordChanged,
        json!({ "first_name": "Ada", "changed_at": "2026-11-24T09:00:00Z" }),
    )
    .await
    .unwrap();
    txn.rollback().await.unwrap();
    assert_eq!(app.run_pending_jobs().await, 0);
    assert!(app.emails().await.is_empty());
    assert!(
        notification_delivery::Entity::find()
            .all(app.db())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_sms_code_goes_to_the_embedded_log() {
    let app = TestApp::builder().embedded().build().await;
    let id = notifications::queue_sms(
        app.db(),
        &Recipient {
            address: "+447700900123".into(),
            user_id: None,
        },
        SmsTemplate::TwoFactorCode,
        json!({ "code": "048213", "valid_minutes": 15 }),
    )
    .await
    .unwrap();
    app.run_pending_jobs().await;
    let sms = app.sms();
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0].0, "+447700900123");
    assert!(sms[0].1.contains("048213"), "{:?}", sms[0]);
    let record = notification_delivery::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status, DeliveryStatus::Sent);
    assert_eq!(
        record.provider_reference.as_deref(),
        Some(format!("file:{id}").as_str())
    );
}

#[tokio::test]
async fn one_time_secrets_are_scrubbed_once_sent() {
    let app = TestApp::init().await;
    let id = notifications::queue_email(
        app.db(),
        &Recipient { address: "ada@example.test".into(), user_id: None },
        EmailTemplate::PasswordReset,
        json!({ "first_name": "Ada", "token": "secret-token-1", "expires_at": "2026-11-24T10:00:00Z" }),
    )
    .await
    .unwrap();
    let queued = notification_delivery::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        queued.params["token"],
        json!("secret-token-1"),
        "needed until sent"
    );
    app.run_pending_jobs().await;
    let sent = notification_delivery::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sent.status, DeliveryStatus::Sent);
    assert_eq!(sent.params["token"], json!("[sent]"));
    assert_eq!(sent.params["first_name"], json!("Ada"));
    assert!(
        app.emails().await[0].text.contains("secret-token-1"),
        "the email itself has it"
    );
}

#[tokio::test]
async fn one_time_secrets_are_discarded_when_a_message_fails_for_good() {
    let app = TestApp::builder().allow_leftover_jobs().build().await;
    // A message that can never be sent: its template needs `expires_at`.
    let id = notifications::queue_email(
        app.db(),
        &Recipient {
            address: "ada@example.test".into(),
            user_id: None,
        },
        EmailTemplate::PasswordReset,
        json!({ "first_name": "Ada", "token": "secret-token-2" }),
    )
    .await
    .unwrap();
    app.run_pending_jobs().await;
    let failed = notification_delivery::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(failed.status, DeliveryStatus::Failed);
    assert_eq!(failed.params["token"], json!("[discarded]"));
    assert_eq!(failed.params["first_name"], json!("Ada"));
    assert!(app.emails().await.is_empty());
}
