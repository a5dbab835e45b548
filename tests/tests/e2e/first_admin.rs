//! The first service administrator of a new installation, created by
//! `portal admin create-service-admin` (`api::users::staff`): the link it
//! prints is the emailed invitation, it signs them in, running it again is
//! safe, and a second administrator is never created by accident.

use api::users::staff::{Bootstrap, NewServiceAdmin, create_service_admin};
use entities::{StaffRole, UserKind, user};
use portal_tests::TestApp;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;

use crate::support::identity::{audit_actions, emailed_token, snapshot_email};

fn input(email: &str) -> NewServiceAdmin {
    NewServiceAdmin {
        email: email.to_owned(),
        first_name: "Christopher".to_owned(),
        last_name: "Harrison".to_owned(),
        team: Some("Management".to_owned()),
        additional: false,
    }
}

fn link_token(link: &str) -> String {
    link.split_once("token=").expect("a token").1.to_owned()
}

async fn accept(app: &TestApp, token: &str) -> serde_json::Value {
    let response = app
        .graphql(
            None,
            "mutation($t: String!, $p: String!) { acceptInvitation(token: $t, newPassword: $p, confirmation: $p) { __typename } }",
            json!({ "t": token, "p": "A long and unusual passphrase 42!" }),
        )
        .await;
    assert!(response.error_codes().is_empty(), "{:?}", response.body);
    response.data()["acceptInvitation"].clone()
}

async fn users(app: &TestApp) -> u64 {
    user::Entity::find().count(app.db()).await.unwrap()
}

#[tokio::test]
async fn the_first_service_admin_gets_a_link_that_sets_their_password() {
    let app = TestApp::init().await;
    let created = create_service_admin(&app.state, input("c.harrison@ombudsman.example"))
        .await
        .expect("created");
    let Bootstrap::Created { user_id, link } = created else {
        panic!("{created:?}")
    };
    assert!(
        link.starts_with(&format!(
            "{}/accept-invitation?token=",
            app.config().public_base_url.as_str().trim_end_matches('/')
        )),
        "{link}"
    );
    let row = user::Entity::find_by_id(user_id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.kind, UserKind::Staff);
    assert_eq!(row.staff_role, Some(StaffRole::ServiceAdmin));
    assert_eq!(row.staff_team.as_deref(), Some("Management"));
    assert!(
        row.password_hash.is_none(),
        "no password on the command line"
    );

    // The printed link is the emailed one.
    let emailed = emailed_token(&app, "c.harrison@ombudsman.example").await;
    assert_eq!(emailed, link_token(&link));
    snapshot_email(
        &app,
        "first_service_admin_invitation_email",
        "c.harrison@ombudsman.example",
    )
    .await;
    assert_eq!(
        audit_actions(&app, user_id).await,
        ["staff.create_service_admin"]
    );

    let result = accept(&app, &link_token(&link)).await;
    assert_ne!(result["__typename"], json!(null), "{result}");
    // The link works once.
    let again = app
        .graphql(
            None,
            "mutation($t: String!, $p: String!) { acceptInvitation(token: $t, newPassword: $p, confirmation: $p) { __typename } }",
            json!({ "t": link_token(&link), "p": "A long and unusual passphrase 42!" }),
        )
        .await;
    assert_eq!(again.error_codes(), ["BAD_USER_INPUT"], "{:?}", again.body);

    // Once set up, running the command again changes nothing.
    let rerun = create_service_admin(&app.state, input("C.Harrison@ombudsman.example"))
        .await
        .expect("idempotent");
    assert_eq!(rerun, Bootstrap::AlreadySetUp { user_id });
    assert_eq!(users(&app).await, 1);
}

#[tokio::test]
async fn running_it_again_before_acceptance_replaces_the_link() {
    let app = TestApp::init().await;
    let Bootstrap::Created { user_id, link } =
        create_service_admin(&app.state, input("admin@ombudsman.example"))
            .await
            .unwrap()
    else {
        panic!("not created")
    };
    let Bootstrap::Reissued {
        user_id: same,
        link: fresh,
    } = create_service_admin(&app.state, input("admin@ombudsman.example"))
        .await
        .unwrap()
    else {
        panic!("not reissued")
    };
    assert_eq!(same, user_id);
    assert_ne!(fresh, link);
    assert_eq!(users(&app).await, 1);
    app.run_pending_jobs().await;
    // The first link no longer works; the new one does.
    let old = app
        .graphql(
            None,
            "mutation($t: String!, $p: String!) { acceptInvitation(token: $t, newPassword: $p, confirmation: $p) { __typename } }",
            json!({ "t": link_token(&link), "p": "A long and unusual passphrase 42!" }),
        )
        .await;
    assert_eq!(old.error_codes(), ["BAD_USER_INPUT"], "{:?}", old.body);
    accept(&app, &link_token(&fresh)).await;
    let actions = audit_actions(&app, user_id).await;
    assert_eq!(
        actions[..2],
        ["staff.create_service_admin", "staff.reissue_invitation"],
        "{actions:?}"
    );
}

#[tokio::test]
async fn a_second_service_admin_needs_additional_and_bad_input_changes_nothing() {
    let app = TestApp::init().await;
    create_service_admin(&app.state, input("first@ombudsman.example"))
        .await
        .unwrap();
    app.run_pending_jobs().await;

    let refused = create_service_admin(&app.state, input("second@ombudsman.example"))
        .await
        .expect_err("a second one is refused");
    assert!(
        matches!(refused, api::error::ApiError::Conflict(_)),
        "{refused:?}"
    );
    assert!(
        refused.to_string().contains("first@ombudsman.example"),
        "{refused}"
    );
    assert_eq!(users(&app).await, 1);

    let second = NewServiceAdmin {
        additional: true,
        ..input("second@ombudsman.example")
    };
    assert!(matches!(
        create_service_admin(&app.state, second).await.unwrap(),
        Bootstrap::Created { .. }
    ));
    assert_eq!(users(&app).await, 2);

    for (bad, field) in [
        (input("not an email"), "--email"),
        (
            NewServiceAdmin {
                first_name: "  ".to_owned(),
                ..input("third@ombudsman.example")
            },
            "--first-name",
        ),
        (
            NewServiceAdmin {
                last_name: "x".repeat(101),
                additional: true,
                ..input("third@ombudsman.example")
            },
            "--last-name",
        ),
    ] {
        let error = create_service_admin(&app.state, bad)
            .await
            .expect_err("bad input");
        match error {
            api::error::ApiError::BadInput {
                field: Some(got), ..
            } => assert_eq!(got, field),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(users(&app).await, 2);
    app.run_pending_jobs().await;
}
