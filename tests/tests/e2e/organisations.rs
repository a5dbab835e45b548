//! Landlord organisations: a service administrator creates one with its email
//! domains and lead administrator (invited with every permission), changes
//! its domains; staff list them; a landlord user sees only their own.

use entities::{Permission, TokenPurpose, audit_log, organisation, user, user_token};
use portal_tests::gid;
use portal_tests::{TestApp, TestResponse};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

const CREATE: &str = "mutation($input: CreateOrganisationInput!) { createOrganisation(input: $input) { organisation { id name address requiresTwoFactor domains } leadAdministrator { id email firstName permissions invitationPending organisation { id name } } } }";

const DOMAINS: &str = "mutation($id: ID!, $domains: [String!]!) { updateOrganisationDomains(id: $id, domains: $domains) { id domains } }";

fn new_organisation() -> Value {
    json!({
        "name": "Riverside Homes",
        "address": "1 River Walk\nRiverton RV1 1AA",
        "domains": ["Riverside-Homes.example", "@riverside.example", "riverside.example"],
        "requiresTwoFactor": true,
        "leadAdministrator": {
            "firstName": "Sarah",
            "lastName": "Smith",
            "email": "sarah.smith@riverside-homes.example",
        },
    })
}

async fn create(app: &TestApp, token: Option<&str>, input: Value) -> TestResponse {
    app.graphql(token, CREATE, json!({ "input": input })).await
}

fn fields(response: &TestResponse) -> Vec<(String, Vec<String>)> {
    let mut fields: Vec<(String, Vec<String>)> = response.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT", "{e:#}");
            (
                e["extensions"]["field"].as_str().unwrap().to_owned(),
                serde_json::from_value(e["extensions"]["reasons"].clone()).unwrap(),
            )
        })
        .collect();
    fields.sort();
    fields
}

#[tokio::test]
async fn a_service_administrator_creates_an_organisation_and_invites_its_lead_administrator() {
    let app = TestApp::init().await;
    let admin = app.service_admin().await;
    let response = create(&app, Some(&admin.token), new_organisation()).await;
    let created = &response.data()["createOrganisation"];
    assert_eq!(created["organisation"]["name"], json!("Riverside Homes"));
    assert_eq!(
        created["organisation"]["address"],
        json!("1 River Walk\nRiverton RV1 1AA")
    );
    assert_eq!(created["organisation"]["requiresTwoFactor"], json!(true));
    assert_eq!(
        created["organisation"]["domains"],
        json!(["riverside-homes.example", "riverside.example"]),
        "lowercased, without @, repeats dropped"
    );
    let lead = &created["leadAdministrator"];
    assert_eq!(lead["organisation"]["id"], created["organisation"]["id"]);
    assert_eq!(
        lead["organisation"]["name"],
        created["organisation"]["name"]
    );
    assert_eq!(lead["invitationPending"], json!(true));
    assert_eq!(
        lead["permissions"],
        json!(
            Permission::ALL
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
        )
    );
    let lead_id: Uuid = portal_tests::uuid_of(lead["id"].as_str().unwrap());
    let org_id: Uuid = portal_tests::uuid_of(created["organisation"]["id"].as_str().unwrap());

    app.run_pending_jobs().await;
    let emails = app.emails().await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].to, "sarah.smith@riverside-homes.example");
    assert!(emails[0].text.contains("Riverside Homes has invited you"));
    let links = user_token::Entity::find()
        .filter(user_token::Column::UserId.eq(lead_id))
        .filter(user_token::Column::Purpose.eq(TokenPurpose::Invitation))
        .count(app.db())
        .await
        .unwrap();
    assert_eq!(links, 1);

    let actions: Vec<(String, Option<Uuid>)> = audit_log::Entity::find()
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.organisation_id))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("organisation.create".to_owned(), Some(org_id)),
            ("user.invite".to_owned(), Some(org_id)),
        ]
    );

    // The lead administrator's organisation as they see it.
    let lead_user = user::Entity::find_by_id(lead_id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lead_user.organisation_id, Some(org_id));
}

#[tokio::test]
async fn every_mistake_in_a_new_organisation_is_reported_and_changes_nothing() {
    let app = TestApp::init().await;
    let admin = app.service_admin().await;
    let taken = app.create_organisation(&["taken.example"], false).await;
    let before = organisation::Entity::find().count(app.db()).await.unwrap();

    let response = create(
        &app,
        Some(&admin.token),
        json!({
            "name": " ",
            "address": "a".repeat(501),
            "domains": ["not a domain", "taken.example", "fine.example"],
            "leadAdministrator": { "firstName": "", "lastName": "Smith", "email": "lead@elsewhere.example" },
        }),
    )
    .await;
    assert_eq!(
        fields(&response),
        vec![
            (
                "input.address".to_owned(),
                vec!["Must be at most 500 characters long.".to_owned()]
            ),
            (
                "input.domains".to_owned(),
                vec!["\"not a domain\" is not a domain name, like example.org.uk.".to_owned()]
            ),
            (
                "input.leadAdministrator.firstName".to_owned(),
                vec!["Enter a first name.".to_owned()]
            ),
            (
                "input.name".to_owned(),
                vec!["Enter the organisation's name.".to_owned()]
            ),
        ]
    );

    // Valid domains, one of them another organisation's, and a lead
    // administrator at neither.
    let mut input = new_organisation();
    input["domains"] = json!(["taken.example", "fresh.example"]);
    input["leadAdministrator"]["email"] = json!("lead@gmail.example");
    let response = create(&app, Some(&admin.token), input).await;
    let reported = fields(&response);
    assert_eq!(reported.len(), 2, "{reported:?}");
    assert_eq!(
        reported[0].1,
        vec!["taken.example is already registered to another organisation."]
    );
    assert_eq!(reported[1].0, "input.leadAdministrator.email");

    // Too many domains, none at all.
    for domains in [
        json!((0..21).map(|i| format!("d{i}.example")).collect::<Vec<_>>()),
        json!([]),
    ] {
        let mut input = new_organisation();
        input["domains"] = domains;
        let response = create(&app, Some(&admin.token), input).await;
        assert_eq!(fields(&response)[0].0, "input.domains");
    }
    assert_eq!(
        organisation::Entity::find().count(app.db()).await.unwrap(),
        before
    );
    assert_ne!(taken, Uuid::nil());
}

#[tokio::test]
async fn domains_change_and_existing_users_keep_working() {
    let app = TestApp::init().await;
    let staff = app.service_admin().await;
    let org = app.create_organisation(&["old.example"], false).await;
    let admin = app.landlord_user(org, &[Permission::ManageUsers]).await;
    assert!(admin.user.email.ends_with("@old.example"));

    let response = app
        .graphql(
            Some(&staff.token),
            DOMAINS,
            json!({ "id": gid("Organisation", org), "domains": ["NEW.example", "also.example"] }),
        )
        .await;
    assert_eq!(
        response.data()["updateOrganisationDomains"]["domains"],
        json!(["new.example", "also.example"])
    );
    // The administrator at the old domain still works, and can invite at the new one only.
    let invite = "mutation($input: InviteUserInput!) { inviteUser(input: $input) { id } }";
    let at = |email: &str| {
        json!({ "input": {
            "firstName": "A", "lastName": "B", "email": email, "emailConfirmation": email, "permissions": [],
        }})
    };
    let old = app
        .graphql(Some(&admin.token), invite, at("someone@old.example"))
        .await;
    assert_eq!(old.error_code(), "BAD_USER_INPUT");
    app.graphql(Some(&admin.token), invite, at("someone@new.example"))
        .await
        .data();
    app.run_pending_jobs().await;

    let entry = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("organisation.update_domains"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.before.unwrap()["domains"], json!(["old.example"]));
    assert_eq!(
        entry.after.unwrap()["domains"],
        json!(["new.example", "also.example"])
    );

    // At least one; only service administrators; a missing organisation is NOT_FOUND.
    let none = app
        .graphql(
            Some(&staff.token),
            DOMAINS,
            json!({ "id": gid("Organisation", org), "domains": [] }),
        )
        .await;
    assert_eq!(none.error_code(), "BAD_USER_INPUT");
    let caseworker = app.caseworker().await;
    for token in [&caseworker.token, &admin.token] {
        let response = app
            .graphql(
                Some(token),
                DOMAINS,
                json!({ "id": gid("Organisation", org), "domains": ["x.example"] }),
            )
            .await;
        assert_eq!(response.error_code(), "FORBIDDEN");
    }
    let missing = app
        .graphql(
            Some(&staff.token),
            DOMAINS,
            json!({ "id": Uuid::now_v7(), "domains": ["x.example"] }),
        )
        .await;
    assert_eq!(missing.error_code(), "NOT_FOUND");
}

#[tokio::test]
async fn who_may_see_and_create_organisations() {
    let app = TestApp::init().await;
    let mine = app.create_organisation(&["mine.example"], true).await;
    let theirs = app.create_organisation(&["theirs.example"], false).await;
    let landlord = app.landlord_user(mine, &[]).await;
    let resident = app.resident().await;
    let caseworker = app.caseworker().await;

    let own = app
        .graphql(
            Some(&landlord.token),
            "{ myOrganisation { id domains requiresTwoFactor } }",
            json!({}),
        )
        .await;
    assert_eq!(
        own.data()["myOrganisation"],
        json!({ "id": gid("Organisation", mine), "domains": ["mine.example"], "requiresTwoFactor": true })
    );
    let none = app
        .graphql(
            Some(&resident.token),
            "{ myOrganisation { id } }",
            json!({}),
        )
        .await;
    assert_eq!(none.data()["myOrganisation"], Value::Null);

    let one = "query($id: ID!) { organisation(id: $id) { id name } }";
    let same = app
        .graphql(
            Some(&landlord.token),
            one,
            json!({ "id": gid("Organisation", mine) }),
        )
        .await;
    assert_eq!(
        same.data()["organisation"]["id"],
        json!(gid("Organisation", mine))
    );
    let other = app
        .graphql(
            Some(&landlord.token),
            one,
            json!({ "id": gid("Organisation", theirs) }),
        )
        .await
        .body;
    let missing = app
        .graphql(Some(&landlord.token), one, json!({ "id": Uuid::now_v7() }))
        .await
        .body;
    assert_eq!(other["errors"][0]["extensions"]["code"], "NOT_FOUND");
    assert_eq!(
        other, missing,
        "another organisation answers like a missing one"
    );
    assert_eq!(
        app.graphql(
            Some(&resident.token),
            one,
            json!({ "id": gid("Organisation", mine) })
        )
        .await
        .error_code(),
        "FORBIDDEN"
    );
    assert_eq!(
        app.graphql(None, one, json!({ "id": gid("Organisation", mine) }))
            .await
            .error_code(),
        "UNAUTHENTICATED"
    );
    app.graphql(
        Some(&caseworker.token),
        one,
        json!({ "id": gid("Organisation", theirs) }),
    )
    .await
    .data();

    // Lists: staff only, paged.
    let list = "query($after: String) { organisations(first: 1, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage } } }";
    assert_eq!(
        app.graphql(Some(&landlord.token), list, json!({}))
            .await
            .error_code(),
        "FORBIDDEN"
    );
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = app
            .graphql(Some(&caseworker.token), list, json!({ "after": after }))
            .await;
        let orgs = &page.data()["organisations"];
        for edge in orgs["edges"].as_array().unwrap() {
            seen.push(edge["node"]["id"].as_str().unwrap().to_owned());
            after = edge["cursor"].clone();
        }
        if !orgs["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
    }
    assert_eq!(
        seen,
        vec![gid("Organisation", mine), gid("Organisation", theirs)]
    );

    // Creating: service administrators only.
    for (token, code) in [
        (Some(caseworker.token.as_str()), "FORBIDDEN"),
        (Some(landlord.token.as_str()), "FORBIDDEN"),
        (None, "UNAUTHENTICATED"),
    ] {
        assert_eq!(
            create(&app, token, new_organisation()).await.error_code(),
            code
        );
    }
}
