//! Properties and tenants: every user of a landlord organisation reads its
//! own, staff read any; `MANAGE_PROPERTIES` adds, changes and removes
//! properties; postcodes and amounts are validated and nothing changes on
//! bad input.

use entities::{Permission, audit_log, property};
use portal_tests::TestApp;
use portal_tests::gid;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::support::tenancy::{api_token, assert_bad_input, organisation, property, tenant};

const ADD: &str = "mutation($input: AddPropertyInput!) { addProperty(input: $input) { id reference postcode rent serviceCharge rentFrequency organisation { id } } }";
const UPDATE: &str = "mutation($id: ID!, $input: UpdatePropertyInput!) { updateProperty(id: $id, input: $input) { id reference postcode rent addressLine2 } }";
const REMOVE: &str = "mutation($id: ID!) { removeProperty(id: $id) { id removedAt } }";
const LIST: &str = "query($org: ID, $filter: PropertyFilter, $first: Int, $after: String) { properties(organisationId: $org, filter: $filter, first: $first, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id reference postcode } } } }";
const ONE: &str = "query($id: ID!) { property(id: $id) { id reference } }";
const TENANTS: &str = "query($org: ID, $search: String) { tenants(organisationId: $org, filter: { search: $search }) { edges { node { id name claimReference property { reference postcode } } } } }";
const TENANT: &str = "query($id: ID!) { tenant(id: $id) { id name } }";

fn new_property(reference: &str, postcode: &str, rent: Value) -> Value {
    json!({ "input": {
        "reference": reference,
        "addressLine1": "1 Kirkgate",
        "town": "Leeds",
        "postcode": postcode,
        "rent": rent,
        "serviceCharge": "12.75",
        "rentFrequency": "WEEKLY",
    }})
}

async fn property_count(app: &TestApp) -> u64 {
    property::Entity::find().count(app.db()).await.unwrap()
}

#[tokio::test]
async fn manage_properties_adds_changes_and_removes_with_an_audit_trail() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let manager = app
        .landlord_user(org, &[Permission::ManageProperties])
        .await;
    let r = app
        .graphql(
            Some(&manager.token),
            ADD,
            new_property(" NHA-1 ", "ls1 4ap", json!("98.50")),
        )
        .await;
    let added = r.data()["addProperty"].clone();
    assert_eq!(added["reference"], json!("NHA-1"));
    assert_eq!(added["postcode"], json!("LS1 4AP"));
    assert_eq!(added["rent"], json!("98.50"));
    assert_eq!(added["serviceCharge"], json!("12.75"));
    assert_eq!(added["rentFrequency"], json!("WEEKLY"));
    assert_eq!(added["organisation"]["id"], json!(gid("Organisation", org)));
    let id = added["id"].as_str().unwrap().to_owned();

    // The reference is unique within the organisation.
    let r = app
        .graphql(
            Some(&manager.token),
            ADD,
            new_property("NHA-1", "LS1 4AP", json!("1")),
        )
        .await;
    assert_eq!(r.error_code(), "CONFLICT");
    // ... but another organisation may use it.
    let other = organisation(&app).await;
    let other_manager = app
        .landlord_user(other, &[Permission::ManageProperties])
        .await;
    let r = app
        .graphql(
            Some(&other_manager.token),
            ADD,
            new_property("NHA-1", "LS1 4AP", json!("1")),
        )
        .await;
    r.data();

    let r = app
        .graphql(
            Some(&manager.token),
            UPDATE,
            json!({ "id": id, "input": { "rent": "100", "postcode": "GIR0AA", "addressLine2": "Flat 2" } }),
        )
        .await;
    let updated = &r.data()["updateProperty"];
    assert_eq!(updated["rent"], json!("100.00"));
    assert_eq!(updated["postcode"], json!("GIR 0AA"));
    assert_eq!(updated["addressLine2"], json!("Flat 2"));
    let r = app
        .graphql(
            Some(&manager.token),
            UPDATE,
            json!({ "id": id, "input": { "addressLine2": null } }),
        )
        .await;
    assert_eq!(r.data()["updateProperty"]["addressLine2"], Value::Null);

    // Another organisation's manager cannot see it to change it.
    let r = app
        .graphql(
            Some(&other_manager.token),
            UPDATE,
            json!({ "id": id, "input": { "rent": "1" } }),
        )
        .await;
    assert_eq!(r.error_code(), "NOT_FOUND");
    let r = app
        .graphql(Some(&other_manager.token), REMOVE, json!({ "id": id }))
        .await;
    assert_eq!(r.error_code(), "NOT_FOUND");

    let r = app
        .graphql(Some(&manager.token), REMOVE, json!({ "id": id }))
        .await;
    assert!(r.data()["removeProperty"]["removedAt"].is_string());
    let r = app
        .graphql(Some(&manager.token), REMOVE, json!({ "id": id }))
        .await;
    assert_eq!(r.error_code(), "CONFLICT");
    // Removed: out of the list, still readable by id.
    let r = app.graphql(Some(&manager.token), LIST, json!({})).await;
    assert_eq!(r.data()["properties"]["edges"], json!([]));
    let r = app
        .graphql(
            Some(&manager.token),
            LIST,
            json!({ "filter": { "includeRemoved": true } }),
        )
        .await;
    assert_eq!(r.data()["properties"]["edges"].as_array().unwrap().len(), 1);
    let r = app
        .graphql(Some(&manager.token), ONE, json!({ "id": id }))
        .await;
    assert_eq!(r.data()["property"]["id"], json!(id));

    let actions: Vec<String> = audit_log::Entity::find()
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.target_type == "property")
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "property.add",
            "property.add",
            "property.update",
            "property.update",
            "property.remove"
        ]
    );
}

#[tokio::test]
async fn without_manage_properties_nothing_changes() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let home = property(&app, org, "P-1", "SW1A 1AA").await;
    let others: Vec<Permission> = Permission::ALL
        .iter()
        .copied()
        .filter(|p| *p != Permission::ManageProperties)
        .collect();
    let user = app.landlord_user(org, &others).await;
    let staff = app.service_admin().await;
    let resident = app.resident().await;
    let token = api_token(
        &app,
        org,
        &[Permission::ViewPayments, Permission::ExportPayments],
    )
    .await;
    for who in [&user.token, &staff.token, &resident.token, &token] {
        let r = app
            .graphql(Some(who), ADD, new_property("X", "SW1A 1AA", json!("1")))
            .await;
        assert_eq!(r.error_code(), "FORBIDDEN");
        let r = app
            .graphql(
                Some(who),
                UPDATE,
                json!({ "id": gid("Property", home.id), "input": { "rent": "1" } }),
            )
            .await;
        assert_eq!(r.error_code(), "FORBIDDEN");
        let r = app
            .graphql(Some(who), REMOVE, json!({ "id": gid("Property", home.id) }))
            .await;
        assert_eq!(r.error_code(), "FORBIDDEN");
    }
    let r = app
        .graphql(None, ADD, new_property("X", "SW1A 1AA", json!("1")))
        .await;
    assert_eq!(r.error_code(), "UNAUTHENTICATED");
    assert_eq!(property_count(&app).await, 1);
    let stored = property::Entity::find_by_id(home.id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, home);
}

#[tokio::test]
async fn bad_postcodes_and_amounts_are_refused_on_their_field() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let manager = app
        .landlord_user(org, &[Permission::ManageProperties])
        .await;
    let home = property(&app, org, "P-1", "SW1A 1AA").await;
    for (postcode, rent, field) in [
        ("SW1A 1AAA", json!("1"), "input.postcode"),
        ("QQ1 1AA", json!("1"), "input.postcode"),
        ("SW1A 1CA", json!("1"), "input.postcode"),
        ("", json!("1"), "input.postcode"),
        ("SW1A 1AA", json!("-5.00"), "input.rent"),
        ("SW1A 1AA", json!("5.001"), "input.rent"),
        ("SW1A 1AA", json!("5,00"), "input.rent"),
        ("SW1A 1AA", json!("£5"), "input.rent"),
        ("SW1A 1AA", json!(5), "input.rent"),
        ("SW1A 1AA", json!("1e9"), "input.rent"),
        ("SW1A 1AA", json!("10000000.01"), "input.rent"),
    ] {
        let r = app
            .graphql(
                Some(&manager.token),
                ADD,
                new_property("NEW", postcode, rent),
            )
            .await;
        assert_bad_input(&r, field);
        let r = app
            .graphql(
                Some(&manager.token),
                ADD,
                new_property("  ", "SW1A 1AA", json!("1")),
            )
            .await;
        assert_bad_input(&r, "input.reference");
    }
    // Every reason at once.
    let r = app
        .graphql(
            Some(&manager.token),
            ADD,
            new_property("NEW", "SW1A 1AA", json!("-1.234")),
        )
        .await;
    assert_bad_input(&r, "input.rent");
    assert_eq!(
        r.body["errors"][0]["extensions"]["reasons"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let r = app
        .graphql(
            Some(&manager.token),
            UPDATE,
            json!({ "id": gid("Property", home.id), "input": { "serviceCharge": "0.001" } }),
        )
        .await;
    assert_bad_input(&r, "input.serviceCharge");
    assert_eq!(property_count(&app).await, 1);
    let stored = property::Entity::find_by_id(home.id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, home, "unchanged");
    assert_eq!(audit_log::Entity::find().count(app.db()).await.unwrap(), 0);
}

#[tokio::test]
async fn lists_search_and_page_within_the_organisation() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let other = organisation(&app).await;
    let mut homes = vec![];
    for i in 0..25 {
        let postcode = if i % 2 == 0 { "LS6 1HR" } else { "BS3 1AR" };
        homes.push(property(&app, org, &format!("P-{i:02}"), postcode).await);
    }
    let theirs = property(&app, other, "T-1", "LS6 1HR").await;
    tenant(&app, org, "Aisha", "Rahman", "UC-1", Some(homes[0].id)).await;
    tenant(&app, org, "Connor", "Walsh", "UC-2", Some(homes[1].id)).await;
    let stranger = tenant(&app, other, "Ben", "Carter", "UC-3", Some(theirs.id)).await;
    let user = app.landlord_user(org, &[]).await;

    // Pages of 10: 25 properties, no duplicates or gaps, by reference.
    let mut refs = vec![];
    let mut after: Option<String> = None;
    loop {
        let r = app
            .graphql(
                Some(&user.token),
                LIST,
                json!({ "first": 10, "after": after }),
            )
            .await;
        let page = r.data()["properties"].clone();
        for e in page["edges"].as_array().unwrap() {
            refs.push(e["node"]["reference"].as_str().unwrap().to_owned());
        }
        if page["pageInfo"]["hasNextPage"] == json!(false) {
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    let expected: Vec<String> = (0..25).map(|i| format!("P-{i:02}")).collect();
    assert_eq!(refs, expected);

    let r = app
        .graphql(
            Some(&user.token),
            LIST,
            json!({ "filter": { "search": "ls6 1hr" }, "first": 100 }),
        )
        .await;
    assert_eq!(
        r.data()["properties"]["edges"].as_array().unwrap().len(),
        13
    );

    let r = app
        .graphql(Some(&user.token), TENANTS, json!({ "search": "rahman" }))
        .await;
    let edges = r.data()["tenants"]["edges"].as_array().unwrap().clone();
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0]["node"]["name"], json!("Aisha Rahman"));
    assert_eq!(edges[0]["node"]["property"]["reference"], json!("P-00"));
    let r = app
        .graphql(Some(&user.token), TENANTS, json!({ "search": "BS3" }))
        .await;
    assert_eq!(r.data()["tenants"]["edges"].as_array().unwrap().len(), 1);
    let r = app.graphql(Some(&user.token), TENANTS, json!({})).await;
    assert_eq!(r.data()["tenants"]["edges"].as_array().unwrap().len(), 2);

    // Another organisation's: NOT_FOUND, by id or by naming it.
    let r = app
        .graphql(
            Some(&user.token),
            ONE,
            json!({ "id": gid("Property", theirs.id) }),
        )
        .await;
    assert_eq!(r.error_code(), "NOT_FOUND");
    let r = app
        .graphql(
            Some(&user.token),
            TENANT,
            json!({ "id": gid("Tenant", stranger.id) }),
        )
        .await;
    assert_eq!(r.error_code(), "NOT_FOUND");
    let r = app
        .graphql(
            Some(&user.token),
            LIST,
            json!({ "org": gid("Organisation", other) }),
        )
        .await;
    assert_eq!(r.error_code(), "NOT_FOUND");

    // Staff read any organisation's.
    let staff = app.caseworker().await;
    let r = app
        .graphql(
            Some(&staff.token),
            LIST,
            json!({ "org": gid("Organisation", other) }),
        )
        .await;
    assert_eq!(r.data()["properties"]["edges"].as_array().unwrap().len(), 1);
    let r = app
        .graphql(
            Some(&staff.token),
            TENANT,
            json!({ "id": gid("Tenant", stranger.id) }),
        )
        .await;
    assert_eq!(r.data()["tenant"]["name"], json!("Ben Carter"));

    // API tokens and residents read no properties.
    let token = api_token(&app, org, &[Permission::ViewPayments]).await;
    let resident = app.resident().await;
    for who in [&token, &resident.token] {
        let r = app.graphql(Some(who), LIST, json!({})).await;
        assert_eq!(r.error_code(), "FORBIDDEN");
    }
}
