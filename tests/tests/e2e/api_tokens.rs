//! Organisation API tokens for partner dashboards: an administrator creates
//! one (the secret is shown once and stored only hashed), lists and revokes
//! them; a token authenticates until revoked or expired and records its last
//! use; it carries only payment permissions, never more than its creator
//! holds, stops with its creator's account and permissions, and can do
//! nothing in user management.

use chrono::{Duration, Utc};
use entities::{Permission, api_token, api_token_permission, audit_log};
use portal_tests::gid;
use portal_tests::{TestApp, TestResponse, fixtures::TestUser};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use serde_json::{Value, json};
use uuid::Uuid;

const CREATE: &str = "mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token apiToken { id name tokenPrefix permissions createdBy { id email } createdAt lastUsedAt revokedAt } } }";
const LIST: &str =
    "{ apiTokens { edges { node { id name tokenPrefix permissions lastUsedAt revokedAt } } } }";
const REVOKE: &str = "mutation($id: ID!) { revokeApiToken(id: $id) { id revokedAt } }";

/// An organisation and an administrator of its tokens who also holds both
/// payment permissions (a token carries only what its creator holds).
async fn admin(app: &TestApp) -> (Uuid, TestUser) {
    let org = app.create_organisation(&["tokens.example"], false).await;
    let admin = app
        .landlord_user(
            org,
            &[
                Permission::ManageUsers,
                Permission::ViewPayments,
                Permission::ExportPayments,
            ],
        )
        .await;
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
    api_token::Entity::find_by_id(portal_tests::uuid_of(id))
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
    assert_eq!(token["createdBy"]["id"], json!(gid("User", admin.user.id)));
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
            "mutation($id: ID!) { suspendUser(id: $id) { id } }",
            json!({ "id": gid("User", colleague.user.id) }),
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
            "API tokens can only view and export payments and manage webhooks (VIEW_PAYMENTS, EXPORT_PAYMENTS, MANAGE_WEBHOOKS); remove MANAGE_USERS.",
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

const PAYMENTS: &str = "{ payments { totalCount } }";
const CREATE_EXPIRING: &str = "mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token apiToken { id permissions expiresAt } } }";

/// Creates a token with `permissions` through the API as `creator`, with
/// `expiresInDays` when given; returns the secret and the token's id.
async fn create_ok(
    app: &TestApp,
    creator: &TestUser,
    permissions: Value,
    expires_in_days: Option<i64>,
) -> (String, String) {
    let mut input = json!({ "name": "Dashboard", "permissions": permissions });
    if let Some(days) = expires_in_days {
        input["expiresInDays"] = json!(days);
    }
    let response = app
        .graphql(
            Some(&creator.token),
            CREATE_EXPIRING,
            json!({ "input": input }),
        )
        .await;
    let created = &response.data()["createApiToken"];
    (
        created["token"].as_str().unwrap().to_owned(),
        created["apiToken"]["id"].as_str().unwrap().to_owned(),
    )
}

/// Every API token row and audit entry, to show a refused request changed nothing.
async fn tokens_and_audit(app: &TestApp) -> (usize, usize) {
    (
        api_token::Entity::find().all(app.db()).await.unwrap().len(),
        audit_log::Entity::find().all(app.db()).await.unwrap().len(),
    )
}

#[tokio::test]
async fn a_token_cannot_carry_a_permission_its_creator_does_not_hold() {
    let app = TestApp::init().await;
    let org = app.create_organisation(&["tokens.example"], false).await;
    // The administrator cannot read payments themselves...
    let admin = app.landlord_user(org, &[Permission::ManageUsers]).await;
    let own = app.graphql(Some(&admin.token), PAYMENTS, json!({})).await;
    assert_eq!(own.error_code(), "FORBIDDEN");

    // ... so cannot give themselves a token that can: nothing is created.
    let response = create(
        &app,
        Some(&admin.token),
        "Dashboard",
        json!(["VIEW_PAYMENTS", "EXPORT_PAYMENTS"]),
    )
    .await;
    assert_eq!(response.error_codes(), vec!["BAD_USER_INPUT"]);
    let error = &response.body["errors"][0]["extensions"];
    assert_eq!(error["field"], json!("input.permissions"));
    assert_eq!(
        error["reasons"],
        json!([
            "A token can only have permissions you hold yourself; you do not have VIEW_PAYMENTS, EXPORT_PAYMENTS."
        ])
    );
    assert_eq!(tokens_and_audit(&app).await, (0, 0));

    // Holding one of them, only the other is named; both rules at once are
    // both reported.
    let viewer = app
        .landlord_user(org, &[Permission::ManageUsers, Permission::ViewPayments])
        .await;
    let response = create(
        &app,
        Some(&viewer.token),
        "Dashboard",
        json!(["VIEW_PAYMENTS", "EXPORT_PAYMENTS", "MANAGE_USERS"]),
    )
    .await;
    let error = &response.body["errors"][0]["extensions"];
    assert_eq!(error["field"], json!("input.permissions"));
    assert_eq!(
        error["reasons"],
        json!([
            "API tokens can only view and export payments and manage webhooks (VIEW_PAYMENTS, EXPORT_PAYMENTS, MANAGE_WEBHOOKS); remove MANAGE_USERS.",
            "A token can only have permissions you hold yourself; you do not have EXPORT_PAYMENTS."
        ])
    );
    assert_eq!(tokens_and_audit(&app).await, (0, 0));

    // What they hold, they may give, and the token reads payments.
    let (secret, _) = create_ok(&app, &viewer, json!(["VIEW_PAYMENTS"]), None).await;
    let read = app.graphql(Some(&secret), PAYMENTS, json!({})).await;
    assert_eq!(read.data()["payments"]["totalCount"], json!(0));

    // A token that was given more than its creator holds before this rule
    // (written straight to the database) gets none of the extra.
    let now = Utc::now();
    let legacy = api::auth::token::generate(api::auth::token::API_TOKEN_PREFIX);
    let id = Uuid::now_v7();
    api_token::ActiveModel {
        id: Set(id),
        organisation_id: Set(org),
        name: Set("Self-granted".into()),
        token_hash: Set(api::auth::token::hash(&legacy)),
        token_prefix: Set(legacy[..12].to_owned()),
        created_by_user_id: Set(Some(admin.user.id)),
        created_at: Set(now),
        last_used_at: Set(None),
        expires_at: Set(now + Duration::days(90)),
        revoked_at: Set(None),
    }
    .insert(app.db())
    .await
    .unwrap();
    for permission in [Permission::ViewPayments, Permission::ExportPayments] {
        api_token_permission::ActiveModel {
            api_token_id: Set(id),
            permission: Set(permission),
        }
        .insert(app.db())
        .await
        .unwrap();
    }
    let read = app.graphql(Some(&legacy), PAYMENTS, json!({})).await;
    assert_eq!(read.error_code(), "FORBIDDEN");
}

#[tokio::test]
async fn a_token_stops_with_its_creators_permission_and_account() {
    let app = TestApp::init().await;
    let (org, creator) = admin(&app).await;
    let colleague = app.landlord_user(org, &[Permission::ManageUsers]).await;
    let staff = app.service_admin().await;
    let (secret, _) = create_ok(
        &app,
        &creator,
        json!(["VIEW_PAYMENTS", "EXPORT_PAYMENTS"]),
        None,
    )
    .await;
    let reads = |expected: &'static str| {
        let app = &app;
        let secret = secret.clone();
        async move {
            let response = app.graphql(Some(&secret), PAYMENTS, json!({})).await;
            if expected == "OK" {
                assert_eq!(
                    response.data()["payments"]["totalCount"],
                    json!(0),
                    "{:#}",
                    response.body
                );
            } else {
                assert_eq!(response.error_code(), expected, "{:#}", response.body);
            }
        }
    };
    let id = json!({ "id": gid("User", creator.user.id) });
    let as_colleague = |query: &'static str| {
        let app = &app;
        let token = colleague.token.clone();
        let id = id.clone();
        async move {
            app.graphql(Some(&token), query, id).await.data();
        }
    };
    reads("OK").await;

    // The creator loses VIEW_PAYMENTS: the token still authenticates but
    // cannot read payments; given back, it can again (checked per request).
    let permissions = "mutation($id: ID!, $permissions: [Permission!]!) { updateUserPermissions(id: $id, permissions: $permissions) { id } }";
    app.graphql(
        Some(&colleague.token),
        permissions,
        json!({ "id": gid("User", creator.user.id), "permissions": ["MANAGE_USERS", "EXPORT_PAYMENTS"] }),
    )
    .await
    .data();
    reads("FORBIDDEN").await;
    app.graphql(
        Some(&colleague.token),
        permissions,
        json!({ "id": gid("User", creator.user.id), "permissions": ["MANAGE_USERS", "VIEW_PAYMENTS", "EXPORT_PAYMENTS"] }),
    )
    .await
    .data();
    reads("OK").await;

    // Suspended: refused like an unknown token; reinstated: works again.
    as_colleague("mutation($id: ID!) { suspendUser(id: $id) { id } }").await;
    reads("UNAUTHENTICATED").await;
    as_colleague("mutation($id: ID!) { reinstateUser(id: $id) { id } }").await;
    reads("OK").await;

    // Restricted by staff: the same until staff lift it.
    app.graphql(
        Some(&staff.token),
        "mutation($id: ID!) { restrictUser(id: $id, reason: \"Acceptable use\") { id } }",
        id.clone(),
    )
    .await
    .data();
    reads("UNAUTHENTICATED").await;
    app.graphql(
        Some(&staff.token),
        "mutation($id: ID!) { liftRestriction(id: $id) { id } }",
        id.clone(),
    )
    .await
    .data();
    reads("OK").await;

    // Deactivated: the token never works again.
    as_colleague("mutation($id: ID!) { deactivateUser(id: $id) { id } }").await;
    reads("UNAUTHENTICATED").await;
    let viewer = app
        .graphql(Some(&secret), "{ viewer { id } }", json!({}))
        .await;
    assert_eq!(viewer.error_code(), "UNAUTHENTICATED");
    app.run_pending_jobs().await;
}

#[tokio::test]
async fn tokens_expire_and_an_expired_token_is_refused_like_an_unknown_one() {
    let app = TestApp::init().await;
    let (_, admin) = admin(&app).await;

    // The default lifetime is 90 days; one can ask for 1 to 365.
    let before = Utc::now();
    let response = app
        .graphql(
            Some(&admin.token),
            CREATE_EXPIRING,
            json!({ "input": { "name": "Default", "permissions": ["VIEW_PAYMENTS"] } }),
        )
        .await;
    let expires_at: chrono::DateTime<Utc> =
        response.data()["createApiToken"]["apiToken"]["expiresAt"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
    assert!(expires_at >= before + Duration::days(90));
    assert!(expires_at <= Utc::now() + Duration::days(90));
    for days in [1, 365] {
        let (_, id) = create_ok(&app, &admin, json!(["VIEW_PAYMENTS"]), Some(days)).await;
        let row = stored(&app, &id).await;
        assert_eq!((row.expires_at - row.created_at).num_days(), days);
    }
    let list = app
        .graphql(
            Some(&admin.token),
            "{ apiTokens { edges { node { expiresAt } } } }",
            json!({}),
        )
        .await;
    assert!(list.data()["apiTokens"]["edges"][0]["node"]["expiresAt"].is_string());

    // Until it expires it works; from then on it is an unknown token.
    let (secret, id) = create_ok(&app, &admin, json!(["VIEW_PAYMENTS"]), Some(1)).await;
    let read = app.graphql(Some(&secret), PAYMENTS, json!({})).await;
    assert_eq!(read.data()["payments"]["totalCount"], json!(0));
    let mut row = stored(&app, &id).await.into_active_model();
    row.expires_at = Set(Utc::now() - Duration::seconds(1));
    row.last_used_at = Set(None);
    row.update(app.db()).await.unwrap();
    let expired = app.graphql(Some(&secret), PAYMENTS, json!({})).await;
    assert_eq!(expired.error_code(), "UNAUTHENTICATED");
    let unknown = app
        .graphql(
            Some(&api::auth::token::generate(
                api::auth::token::API_TOKEN_PREFIX,
            )),
            PAYMENTS,
            json!({}),
        )
        .await;
    assert_eq!(expired.body, unknown.body);
    assert_eq!(stored(&app, &id).await.last_used_at, None);
}

#[tokio::test]
async fn an_expiry_outside_one_day_to_the_maximum_is_refused() {
    let app = TestApp::init().await;
    let (_, admin) = admin(&app).await;
    for days in [json!(0), json!(-1), json!(366), json!(2_147_483_647)] {
        let response = app
            .graphql(
                Some(&admin.token),
                CREATE_EXPIRING,
                json!({ "input": { "name": "Dashboard", "permissions": ["VIEW_PAYMENTS"], "expiresInDays": days } }),
            )
            .await;
        assert_eq!(response.error_codes(), vec!["BAD_USER_INPUT"], "{days}");
        let error = &response.body["errors"][0]["extensions"];
        assert_eq!(error["field"], json!("input.expiresInDays"));
        assert_eq!(
            error["reasons"],
            json!(["Choose a number of days from 1 to 365; leave it out for 90."])
        );
    }
    // Reported with the other fields at fault.
    let response = app
        .graphql(
            Some(&admin.token),
            CREATE_EXPIRING,
            json!({ "input": { "name": "", "permissions": [], "expiresInDays": 0 } }),
        )
        .await;
    assert_eq!(
        response.error_codes(),
        vec!["BAD_USER_INPUT", "BAD_USER_INPUT", "BAD_USER_INPUT"]
    );
    assert_eq!(tokens_and_audit(&app).await, (0, 0));
}

#[tokio::test]
async fn the_default_and_the_maximum_lifetime_are_configured() {
    let app = TestApp::builder()
        .env("PORTAL_API_TOKEN_DEFAULT_DAYS", "7")
        .env("PORTAL_API_TOKEN_MAX_DAYS", "30")
        .build()
        .await;
    let (_, admin) = admin(&app).await;
    let (_, id) = create_ok(&app, &admin, json!(["VIEW_PAYMENTS"]), None).await;
    let row = stored(&app, &id).await;
    assert_eq!((row.expires_at - row.created_at).num_days(), 7);
    let (_, id) = create_ok(&app, &admin, json!(["VIEW_PAYMENTS"]), Some(30)).await;
    let row = stored(&app, &id).await;
    assert_eq!((row.expires_at - row.created_at).num_days(), 30);
    let response = app
        .graphql(
            Some(&admin.token),
            CREATE_EXPIRING,
            json!({ "input": { "name": "Dashboard", "permissions": ["VIEW_PAYMENTS"], "expiresInDays": 31 } }),
        )
        .await;
    let error = &response.body["errors"][0]["extensions"];
    assert_eq!(error["field"], json!("input.expiresInDays"));
    assert_eq!(
        error["reasons"],
        json!(["Choose a number of days from 1 to 30; leave it out for 7."])
    );
}
