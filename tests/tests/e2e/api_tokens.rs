//! Organisation API tokens for partner dashboards: an administrator creates
//! one (the secret is shown once and stored only hashed), lists and revokes
//! them; a token authenticates until revoked and records its last use; it
//! carries only payment permissions and can do nothing in user management.

use chrono::{Duration, Utc};
use entities::{Permission, api_token, audit_log};
use portal_tests::{TestApp, TestResponse, fixtures::TestUser};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use serde_json::{Value, json};
use uuid::Uuid;

const CREATE: &str = "mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token apiToken { id name tokenPrefix permissions createdByUserId createdAt lastUsedAt revokedAt } } }";
const LIST: &str =
    "{ apiTokens { edges { node { id name tokenPrefix permissions lastUsedAt revokedAt } } } }";
const REVOKE: &str = "mutation($id: ID!) { revokeApiToken(id: $id) { id revokedAt } }";

async fn admin(app: &TestApp) -> (Uuid, TestUser) {
    let org = app.create_organisation(&["tokens.example"], false).await;
    let admin = app.landlord_user(org, &[Permission::ManageUsers]).await;
    (org, admin)
}

async fn create(
    app: &TestApp,
    token: Option<&str>,
    name: &str,
    permissions: Value,
) -> TestResponse {
    app.graphql(
        token,
        CREATE,
        json!({ "input": { "name": name, "permissions": permissions } }),
    )
    .await
}

async fn stored(app: &TestApp, id: &str) -> api_token::Model {
    api_token::Entity::find_by_id(id.parse::<Uuid>().unwrap())
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn an_administrator_creates_lists_and_revokes_tokens() {
    let app = TestApp::init().await;
    let (_, admin) = admin(&app).await;
    let response = create(
        &app,
        Some(&admin.token),
        " Finance dashboard ",
        json!(["EXPORT_PAYMENTS", "VIEW_PAYMENTS"]),
    )
    .await;
    let created = response.data()["createApiToken"].clone();
    let secret = created["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("pat_"));
    let token = &created["apiToken"];
    assert_eq!(token["name"], json!("Finance dashboard"));
    assert_eq!(token["tokenPrefix"], json!(&secret[..12]));
    assert_eq!(
        token["permissions"],
        json!(["VIEW_PAYMENTS", "EXPORT_PAYMENTS"])
    );
    assert_eq!(token["createdByUserId"], json!(admin.user.id.to_string()));
    assert_eq!(token["lastUsedAt"], Value::Null);
    let id = token["id"].as_str().unwrap().to_owned();

    // Stored hashed: the secret is nowhere in the row or the audit log.
    let row = stored(&app, &id).await;
    assert_eq!(row.token_hash, api::auth::token::hash(&secret));
    assert!(!format!("{row:?}").contains(&secret[12..]));
    let audit = audit_log::Entity::find().all(app.db()).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "api_token.create");
    assert!(!format!("{audit:?}").contains(&secret[12..]));
    assert!(audit[0].after.as_ref().unwrap().get("token_hash").is_none());

    // Listed without the secret.
    let list = app.graphql(Some(&admin.token), LIST, json!({})).await;
    let listed = &list.data()["apiTokens"]["edges"][0]["node"];
    assert_eq!(listed["id"], json!(id));
    assert!(!list.body.to_string().contains(&secret[12..]));

    // Revoked: still listed, never accepted again.
    let revoked = app
        .graphql(Some(&admin.token), REVOKE, json!({ "id": id }))
        .await;
    assert!(revoked.data()["revokeApiToken"]["revokedAt"].is_string());
    let viewer = app
        .graphql(Some(&secret), "{ viewer { id } }", json!({}))
        .await;
    assert_eq!(viewer.error_code(), "UNAUTHENTICATED");
    let again = app
        .graphql(Some(&admin.token), REVOKE, json!({ "id": id }))
        .await;
    assert_eq!(again.error_code(), "CONFLICT");
    let list = app.graphql(Some(&admin.token), LIST, json!({})).await;
    assert!(list.data()["apiTokens"]["edges"][0]["node"]["revokedAt"].is_string());
    let actions: Vec<String> = audit_log::Entity::find()
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, vec!["api_token.create", "api_token.revoke"]);
}

#[tokio::test]
async fn a_token_authenticates_records_its_use_and_can_do_nothing_here() {
    let app = TestApp::init().await;
    let (org, admin) = admin(&app).await;
    let response = create(
        &app,
        Some(&admin.token),
        "Dashboard",
        json!(["VIEW_PAYMENTS"]),
    )
    .await;
    let secret = response.data()["createApiToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = response.data()["createApiToken"]["apiToken"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Accepted: the viewer of a token is no user.
    let viewer = app
        .graphql(Some(&secret), "{ viewer { id } }", json!({}))
        .await;
    assert_eq!(viewer.data()["viewer"], Value::Null);
    let first_use = stored(&app, &id)
        .await
        .last_used_at
        .expect("last use recorded");
    // Within the minute, the last use is not written again...
    app.graphql(Some(&secret), "{ viewer { id } }", json!({}))
        .await
        .data();
    assert_eq!(stored(&app, &id).await.last_used_at, Some(first_use));
    // ... after it, it is.
    let mut row = stored(&app, &id).await.into_active_model();
    row.last_used_at = Set(Some(Utc::now() - Duration::minutes(5)));
    row.update(app.db()).await.unwrap();
    app.graphql(Some(&secret), "{ viewer { id } }", json!({}))
        .await
        .data();
    assert!(stored(&app, &id).await.last_used_at.unwrap() > Utc::now() - Duration::minutes(1));

    // A token cannot manage users, tokens, organisations or read the log.
    let colleague = app.landlord_user(org, &[]).await;
    for (query, variables) in [
        ("{ organisationUsers { edges { cursor } } }", json!({})),
        (
            "mutation($id: ID!) { suspendUser(userId: $id) { id } }",
            json!({ "id": colleague.user.id }),
        ),
        (LIST, json!({})),
        (REVOKE, json!({ "id": id })),
        ("{ auditLog { edges { cursor } } }", json!({})),
        ("{ organisations { edges { cursor } } }", json!({})),
    ] {
        let response = app.graphql(Some(&secret), query, variables).await;
        assert_eq!(response.error_code(), "FORBIDDEN", "{query}");
    }
    let mine = app
        .graphql(Some(&secret), "{ myOrganisation { id } }", json!({}))
        .await;
    assert_eq!(mine.data()["myOrganisation"], Value::Null);
    // A made-up token of the right shape is not accepted.
    let forged = app
        .graphql(
            Some(&api::auth::token::generate(
                api::auth::token::API_TOKEN_PREFIX,
            )),
            "{ viewer { id } }",
            json!({}),
        )
        .await;
    assert_eq!(forged.error_code(), "UNAUTHENTICATED");
}

#[tokio::test]
async fn tokens_carry_only_payment_permissions_and_a_name() {
    let app = TestApp::init().await;
    let (_, admin) = admin(&app).await;
    for (name, permissions, field, reason) in [
        (
            "Dashboard",
            json!(["VIEW_PAYMENTS", "MANAGE_USERS"]),
            "input.permissions",
            "API tokens can only view and export payments (VIEW_PAYMENTS, EXPORT_PAYMENTS); remove MANAGE_USERS.",
        ),
        (
            "Dashboard",
            json!([]),
            "input.permissions",
            "Choose at least one permission.",
        ),
        (
            " ",
            json!(["VIEW_PAYMENTS"]),
            "input.name",
            "Enter a name for the token.",
        ),
        (
            &"n".repeat(101)[..],
            json!(["VIEW_PAYMENTS"]),
            "input.name",
            "Must be at most 100 characters long.",
        ),
    ] {
        let response = create(&app, Some(&admin.token), name, permissions).await;
        assert_eq!(response.error_code(), "BAD_USER_INPUT");
        let error = &response.body["errors"][0]["extensions"];
        assert_eq!(error["field"], json!(field));
        assert_eq!(error["reasons"], json!([reason]));
    }
    // Both at once are both reported.
    let response = create(&app, Some(&admin.token), "", json!([])).await;
    assert_eq!(
        response.error_codes(),
        vec!["BAD_USER_INPUT", "BAD_USER_INPUT"]
    );
    assert!(
        api_token::Entity::find()
            .all(app.db())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn only_the_organisations_administrators_manage_its_tokens() {
    let app = TestApp::init().await;
    let (org, admin) = admin(&app).await;
    let response = create(
        &app,
        Some(&admin.token),
        "Dashboard",
        json!(["VIEW_PAYMENTS"]),
    )
    .await;
    let id = response.data()["createApiToken"]["apiToken"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let colleague = app.landlord_user(org, &[Permission::ViewPayments]).await;
    let staff = app.service_admin().await;
    let resident = app.resident().await;
    for (token, code) in [
        (Some(colleague.token.as_str()), "FORBIDDEN"),
        (Some(staff.token.as_str()), "FORBIDDEN"),
        (Some(resident.token.as_str()), "FORBIDDEN"),
        (None, "UNAUTHENTICATED"),
    ] {
        assert_eq!(app.graphql(token, LIST, json!({})).await.error_code(), code);
        assert_eq!(
            create(&app, token, "Mine", json!(["VIEW_PAYMENTS"]))
                .await
                .error_code(),
            code
        );
        assert_eq!(
            app.graphql(token, REVOKE, json!({ "id": id }))
                .await
                .error_code(),
            code
        );
    }

    // Another organisation's administrator sees none of them, and revoking
    // one answers exactly like a missing token.
    let other = app.create_organisation(&["other.example"], false).await;
    let other_admin = app.landlord_user(other, &[Permission::ManageUsers]).await;
    let list = app.graphql(Some(&other_admin.token), LIST, json!({})).await;
    assert_eq!(list.data()["apiTokens"]["edges"], json!([]));
    let foreign = app
        .graphql(Some(&other_admin.token), REVOKE, json!({ "id": id }))
        .await
        .body;
    let missing = app
        .graphql(
            Some(&other_admin.token),
            REVOKE,
            json!({ "id": Uuid::now_v7() }),
        )
        .await
        .body;
    assert_eq!(foreign["errors"][0]["extensions"]["code"], "NOT_FOUND");
    assert_eq!(foreign, missing);
    assert!(stored(&app, &id).await.revoked_at.is_none());
}
