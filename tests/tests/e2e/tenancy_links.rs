//! Tenants and properties (issue 15, point 7): a tenant is linked to the
//! property they rent — when a tenancy request or its answer names it, and by
//! a user with `MANAGE_PROPERTIES` — so a verified rent belongs to an
//! address; and a to-do item says why it was raised (the seed's "New claim").
//! Bad input changes nothing.

use chrono::{Duration, Utc};
use entities::{Permission, audit_log, tenancy_request, tenant};
use portal_tests::TestApp;
use portal_tests::gid;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, Set,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::tenancy::{assert_bad_input, organisation, property, tenant as new_tenant};

const LINK: &str = "mutation($t: ID!, $p: ID!) { linkTenantToProperty(tenantId: $t, propertyId: $p) { id property { reference } } }";
const UNLINK: &str =
    "mutation($t: ID!) { unlinkTenantFromProperty(tenantId: $t) { id property { reference } } }";
const PROPERTY: &str =
    "query($id: ID!) { property(id: $id) { reference tenants { name claimReference } } }";
const RAISE: &str = "mutation($input: RaiseTenancyRequestInput!) { raiseTenancyRequest(input: $input) { id reason reasonLabel property { reference } tenant { property { reference } } } }";
const ANSWER: &str = "mutation($id: ID!, $input: ProvideTenancyDetailsInput!) { provideTenancyDetails(id: $id, input: $input) { status details { rent } property { reference postcode } tenant { property { reference } } } }";
const TODO: &str =
    "query { tenancyRequests { edges { node { title reasonLabel tenantName postcode } } } }";

fn day(offset: i64) -> String {
    (Utc::now().date_naive() + Duration::days(offset)).to_string()
}

fn details(property_id: Option<Uuid>) -> Value {
    json!({
        "tenancyStartDate": day(-100),
        "rent": "450.00",
        "rentFrequency": "MONTHLY",
        "inArrears": false,
        "propertyId": property_id.map(|id| gid("Property", id)),
    })
}

async fn home_of(app: &TestApp, id: Uuid) -> Option<Uuid> {
    tenant::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
        .property_id
}

async fn audits(app: &TestApp, action: &str) -> u64 {
    audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq(action))
        .count(app.db())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_property_manager_links_a_tenant_to_the_property_they_rent_and_back() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let manager = app
        .landlord_user(org, &[Permission::ManageProperties])
        .await;
    let reader = app.landlord_user(org, &[]).await;
    let flat = property(&app, org, "FLAT-1", "LS1 4AP").await;
    let house = property(&app, org, "HOUSE-2", "LS2 7EW").await;
    let ada = new_tenant(&app, org, "Ada", "Lovelace", "UC-1", None).await;
    let alan = new_tenant(&app, org, "Alan", "Turing", "UC-2", None).await;

    for t in [&ada, &alan] {
        let r = app
            .graphql(
                Some(&manager.token),
                LINK,
                json!({ "t": gid("Tenant", t.id), "p": gid("Property", flat.id) }),
            )
            .await;
        assert_eq!(
            r.data()["linkTenantToProperty"]["property"],
            json!({ "reference": "FLAT-1" })
        );
    }
    // Every user of the organisation sees who lives where.
    let r = app
        .graphql(
            Some(&reader.token),
            PROPERTY,
            json!({ "id": gid("Property", flat.id) }),
        )
        .await;
    assert_eq!(
        r.data()["property"]["tenants"],
        json!([
            { "name": "Ada Lovelace", "claimReference": "UC-1" },
            { "name": "Alan Turing", "claimReference": "UC-2" },
        ])
    );
    // A tenant rents one property: linking again moves them.
    app.graphql(
        Some(&manager.token),
        LINK,
        json!({ "t": gid("Tenant", alan.id), "p": gid("Property", house.id) }),
    )
    .await
    .data();
    assert_eq!(home_of(&app, alan.id).await, Some(house.id));
    let r = app
        .graphql(
            Some(&manager.token),
            UNLINK,
            json!({ "t": gid("Tenant", ada.id) }),
        )
        .await;
    assert_eq!(
        r.data()["unlinkTenantFromProperty"]["property"],
        Value::Null
    );
    let r = app
        .graphql(
            Some(&reader.token),
            PROPERTY,
            json!({ "id": gid("Property", flat.id) }),
        )
        .await;
    assert_eq!(r.data()["property"]["tenants"], json!([]));
    // Each change is in the audit log; a link that changes nothing is not.
    app.graphql(
        Some(&manager.token),
        LINK,
        json!({ "t": gid("Tenant", alan.id), "p": gid("Property", house.id) }),
    )
    .await
    .data();
    assert_eq!(audits(&app, "tenant.link_property").await, 3);
    assert_eq!(audits(&app, "tenant.unlink_property").await, 1);
}

#[tokio::test]
async fn linking_refuses_the_wrong_people_and_the_wrong_properties_and_changes_nothing() {
    let app = TestApp::init().await;
    let staff = app.caseworker().await;
    let org = organisation(&app).await;
    let other = organisation(&app).await;
    let manager = app
        .landlord_user(org, &[Permission::ManageProperties])
        .await;
    let answerer = app
        .landlord_user(org, &[Permission::ProvideTenancyDetails])
        .await;
    let other_manager = app
        .landlord_user(other, &[Permission::ManageProperties])
        .await;
    let flat = property(&app, org, "FLAT-1", "LS1 4AP").await;
    let theirs = property(&app, other, "THEIRS-1", "SW1A 1AA").await;
    let removed = property(&app, org, "GONE-1", "LS1 4AP").await;
    let mut gone = removed.clone().into_active_model();
    gone.removed_at = Set(Some(Utc::now()));
    gone.update(app.db()).await.unwrap();
    let ada = new_tenant(&app, org, "Ada", "Lovelace", "UC-1", None).await;
    let their_tenant = new_tenant(&app, other, "Bea", "Other", "UC-9", None).await;

    let link = |token: String, t: Uuid, p: Uuid| {
        let app = &app;
        async move {
            app.graphql(
                Some(&token),
                LINK,
                json!({ "t": gid("Tenant", t), "p": gid("Property", p) }),
            )
            .await
            .error_code()
        }
    };
    // Without MANAGE_PROPERTIES (other permissions do not do), and staff.
    assert_eq!(
        link(answerer.token.clone(), ada.id, flat.id).await,
        "FORBIDDEN"
    );
    assert_eq!(
        link(staff.token.clone(), ada.id, flat.id).await,
        "FORBIDDEN"
    );
    let r = app
        .graphql(None, UNLINK, json!({ "t": gid("Tenant", ada.id) }))
        .await;
    assert_eq!(r.error_code(), "UNAUTHENTICATED");
    // Another organisation's property or tenant is as good as missing.
    assert_eq!(
        link(manager.token.clone(), ada.id, theirs.id).await,
        "NOT_FOUND"
    );
    assert_eq!(
        link(manager.token.clone(), their_tenant.id, flat.id).await,
        "NOT_FOUND"
    );
    assert_eq!(
        link(other_manager.token.clone(), ada.id, theirs.id).await,
        "NOT_FOUND"
    );
    assert_eq!(
        link(manager.token.clone(), ada.id, Uuid::now_v7()).await,
        "NOT_FOUND"
    );
    let r = app
        .graphql(
            Some(&manager.token),
            LINK,
            json!({ "t": gid("Tenant", ada.id), "p": "not-an-id" }),
        )
        .await;
    assert_eq!(r.error_codes().len(), 1);
    // A removed property is nobody's home any more.
    assert_eq!(
        link(manager.token.clone(), ada.id, removed.id).await,
        "CONFLICT"
    );

    assert_eq!(home_of(&app, ada.id).await, None);
    assert_eq!(home_of(&app, their_tenant.id).await, None);
    assert_eq!(audits(&app, "tenant.link_property").await, 0);
}

#[tokio::test]
async fn a_verified_rent_belongs_to_an_address_and_the_to_do_item_says_why() {
    let app = TestApp::init().await;
    let staff = app.caseworker().await;
    let org = organisation(&app).await;
    let other = organisation(&app).await;
    let answerer = app
        .landlord_user(org, &[Permission::ProvideTenancyDetails])
        .await;
    let flat = property(&app, org, "FLAT-1", "SM5 2RT").await;
    let house = property(&app, org, "HOUSE-2", "SM5 3AA").await;
    let theirs = property(&app, other, "THEIRS-1", "SW1A 1AA").await;

    // The seed's to-do item: a new claim (the default reason).
    let r = app
        .graphql(
            Some(&staff.token),
            RAISE,
            json!({ "input": {
                "organisationId": gid("Organisation", org),
                "tenant": { "newTenant": { "firstName": "Kaiden", "lastName": "Blueberry-Connor", "claimReference": "UC-555" } },
                "postcode": "SM5 2RT",
                "dueDate": day(14),
            }}),
        )
        .await;
    let claim = r.data()["raiseTenancyRequest"].clone();
    assert_eq!(claim["reason"], json!("NEW_CLAIM"));
    assert_eq!(claim["reasonLabel"], json!("New claim"));
    assert_eq!(claim["property"], Value::Null);
    let todo = app.graphql(Some(&answerer.token), TODO, json!({})).await;
    assert_eq!(
        todo.data()["tenancyRequests"]["edges"][0]["node"],
        json!({ "title": "Provide tenancy details", "reasonLabel": "New claim", "tenantName": "Kaiden Blueberry-Connor", "postcode": "SM5 2RT" })
    );

    // The landlord's answer names the property: the rent is that address's,
    // and the tenant lives there.
    let r = app
        .graphql(
            Some(&answerer.token),
            ANSWER,
            json!({ "id": claim["id"], "input": details(Some(flat.id)) }),
        )
        .await;
    let answered = &r.data()["provideTenancyDetails"];
    assert_eq!(answered["status"], json!("ANSWERED"));
    assert_eq!(
        answered["property"],
        json!({ "reference": "FLAT-1", "postcode": "SM5 2RT" })
    );
    assert_eq!(
        answered["tenant"]["property"],
        json!({ "reference": "FLAT-1" })
    );

    // Staff can raise a request for a change of circumstances at a known
    // address: the tenant moves there at once.
    let kaiden = tenant::Entity::find()
        .filter(tenant::Column::ClaimReference.eq("UC-555"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let raise_move = |property_id: Uuid| {
        json!({ "input": {
            "organisationId": gid("Organisation", org),
            "tenant": { "tenantId": gid("Tenant", kaiden.id) },
            "postcode": "SM5 3AA",
            "dueDate": day(14),
            "reason": "CHANGE_OF_CIRCUMSTANCES",
            "propertyId": gid("Property", property_id),
        }})
    };
    // Another organisation's property is refused and nothing is stored.
    let before = tenancy_request::Entity::find()
        .count(app.db())
        .await
        .unwrap();
    let r = app
        .graphql(Some(&staff.token), RAISE, raise_move(theirs.id))
        .await;
    assert_bad_input(&r, "input.propertyId");
    let r = app
        .graphql(Some(&staff.token), RAISE, raise_move(Uuid::now_v7()))
        .await;
    assert_bad_input(&r, "input.propertyId");
    assert_eq!(
        tenancy_request::Entity::find()
            .count(app.db())
            .await
            .unwrap(),
        before
    );
    assert_eq!(home_of(&app, kaiden.id).await, Some(flat.id));
    app.run_pending_jobs().await;

    let r = app
        .graphql(Some(&staff.token), RAISE, raise_move(house.id))
        .await;
    let moved = r.data()["raiseTenancyRequest"].clone();
    assert_eq!(moved["reason"], json!("CHANGE_OF_CIRCUMSTANCES"));
    assert_eq!(moved["reasonLabel"], json!("Change of circumstances"));
    assert_eq!(moved["property"], json!({ "reference": "HOUSE-2" }));
    assert_eq!(
        moved["tenant"]["property"],
        json!({ "reference": "HOUSE-2" })
    );

    // An answer naming another organisation's property is refused, and the
    // request stays open; one naming none keeps the request's property.
    let r = app
        .graphql(
            Some(&answerer.token),
            ANSWER,
            json!({ "id": moved["id"], "input": details(Some(theirs.id)) }),
        )
        .await;
    assert_bad_input(&r, "input.propertyId");
    let r = app
        .graphql(
            Some(&answerer.token),
            ANSWER,
            json!({ "id": moved["id"], "input": details(None) }),
        )
        .await;
    let answered = &r.data()["provideTenancyDetails"];
    assert_eq!(answered["property"]["reference"], json!("HOUSE-2"));
    assert_eq!(home_of(&app, kaiden.id).await, Some(house.id));
    app.run_pending_jobs().await;
}
