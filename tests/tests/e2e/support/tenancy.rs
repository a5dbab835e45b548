//! Shared set-up of the tenancy and payment tests: organisations with
//! properties and tenants written straight to the database, API tokens made
//! through the API, and the error shape assertions.

use chrono::Utc;
use entities::{Permission, RentFrequency, property, tenant};
use portal_tests::{TestApp, TestResponse};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::json;
use uuid::Uuid;

/// A new organisation with a unique email domain.
pub async fn organisation(app: &TestApp) -> Uuid {
    let domain = format!("o{}.example", Uuid::now_v7().simple());
    app.create_organisation(&[domain.as_str()], false).await
}

/// A property of `org` with this reference and postcode (rent 500.00 monthly).
pub async fn property(
    app: &TestApp,
    org: Uuid,
    reference: &str,
    postcode: &str,
) -> property::Model {
    let now = Utc::now();
    property::ActiveModel {
        id: Set(Uuid::now_v7()),
        organisation_id: Set(org),
        reference: Set(reference.into()),
        address_line1: Set(format!("{reference} High Street")),
        address_line2: Set(None),
        town: Set("Leeds".into()),
        postcode: Set(postcode.into()),
        rent_pence: Set(50_000),
        service_charge_pence: Set(1_000),
        rent_frequency: Set(RentFrequency::Monthly),
        removed_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(app.db())
    .await
    .expect("insert property")
}

/// A tenant of `org`, living at `home` when given.
pub async fn tenant(
    app: &TestApp,
    org: Uuid,
    first: &str,
    last: &str,
    claim: &str,
    home: Option<Uuid>,
) -> tenant::Model {
    let now = Utc::now();
    tenant::ActiveModel {
        id: Set(Uuid::now_v7()),
        organisation_id: Set(org),
        first_name: Set(first.into()),
        last_name: Set(last.into()),
        claim_reference: Set(claim.into()),
        property_id: Set(home),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(app.db())
    .await
    .expect("insert tenant")
}

/// An API token of `org` with `permissions`, created through the API by a
/// new administrator of the organisation who holds them (a token carries only
/// permissions its creator holds); returns the secret.
pub async fn api_token(app: &TestApp, org: Uuid, permissions: &[Permission]) -> String {
    let mut held = vec![Permission::ManageUsers];
    held.extend_from_slice(permissions);
    let admin = app.landlord_user(org, &held).await;
    let response = app
        .graphql(
            Some(&admin.token),
            "mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token } }",
            json!({ "input": { "name": "Dashboard", "permissions": permissions.iter().map(|p| p.as_str()).collect::<Vec<_>>() } }),
        )
        .await;
    response.data()["createApiToken"]["token"]
        .as_str()
        .expect("token")
        .to_owned()
}

/// Asserts a `BAD_USER_INPUT` on `field`, with at least one reason.
pub fn assert_bad_input(response: &TestResponse, field: &str) {
    assert_eq!(
        response.error_code(),
        "BAD_USER_INPUT",
        "{:#}",
        response.body
    );
    let ext = &response.body["errors"][0]["extensions"];
    assert_eq!(ext["field"], json!(field), "{:#}", response.body);
    assert!(
        !ext["reasons"].as_array().expect("reasons").is_empty(),
        "{:#}",
        response.body
    );
}
