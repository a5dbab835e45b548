//! Lists as the screens show them (issue 15, point 5): every list the
//! screens count ("Showing 5 out of 5 results") has a `totalCount` over every
//! page that counts only what the caller may see; the organisation's users
//! sort by name ("Name ▲") with cursors that stay exact; a case overview's
//! "My tasks (1 of N)"; search takes `%` and `_` literally; and a property
//! form hears about every bad field at once, with nothing stored.

use chrono::Utc;
use entities::{Permission, organisation, property};
use portal_tests::gid;
use portal_tests::{TestApp, fixtures::TestUser};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, PaginatorTrait, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{
    casework::{create_case, create_task, gql, world},
    tenancy::{organisation as new_organisation, property as new_property, tenant},
};

const CASES: &str = "query($filter: CaseFilter, $first: Int) { cases(filter: $filter, first: $first) { totalCount edges { node { reference } } } }";
const HOME: &str = "query { home(first: 1) { totalCount edges { node { case { reference } } } } }";
const MY_TASKS: &str = "query($filter: TaskFilter) { myTasks(filter: $filter, first: 1) { totalCount edges { node { title } } } }";
const OVERVIEW: &str =
    "query($id: ID!) { case(id: $id) { myTaskCounts { outstanding total } nextTasks { title } } }";
const PROPERTIES: &str = "query($org: ID, $filter: PropertyFilter) { properties(organisationId: $org, filter: $filter, first: 1) { totalCount edges { node { reference } } } }";
const TENANTS: &str = "query($org: ID, $search: String) { tenants(organisationId: $org, filter: { search: $search }, first: 1) { totalCount edges { node { claimReference } } } }";
const TODO: &str = "query($org: ID, $filter: TenancyRequestFilter) { tenancyRequests(organisationId: $org, filter: $filter, first: 1) { totalCount edges { node { tenantName } } } }";
const USERS: &str = "query($org: ID, $sort: UserSort, $first: Int, $after: String) { organisationUsers(organisationId: $org, sort: $sort, first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { firstName lastName } } } }";
const RAISE: &str =
    "mutation($input: RaiseTenancyRequestInput!) { raiseTenancyRequest(input: $input) { id } }";
const ADD: &str = "mutation($input: AddPropertyInput!) { addProperty(input: $input) { id } }";
const UPDATE: &str = "mutation($id: ID!, $input: UpdatePropertyInput!) { updateProperty(id: $id, input: $input) { id } }";

fn total(response: &portal_tests::TestResponse, root: &str) -> i64 {
    response.data()[root]["totalCount"]
        .as_i64()
        .unwrap_or_else(|| panic!("no totalCount: {:#}", response.body))
}

/// The (code, field) of every error of a response, sorted by field (the
/// extra errors of a rejection may come before or after the first).
fn field_errors(response: &portal_tests::TestResponse) -> Vec<(String, String)> {
    assert_eq!(response.body["data"], Value::Null, "{:#}", response.body);
    let mut errors: Vec<(String, String)> = response.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["extensions"]["code"].as_str().unwrap_or("").to_owned(),
                e["extensions"]["field"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    errors.sort_by(|a, b| a.1.cmp(&b.1));
    errors
}

async fn rename_organisation(app: &TestApp, id: Uuid, name: &str) {
    let mut org = organisation::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    org.name = Set(name.into());
    org.update(app.db()).await.unwrap();
}

async fn rename_user(app: &TestApp, user: &TestUser, first: &str, last: &str) {
    let mut model = user.user.clone().into_active_model();
    model.first_name = Set(first.into());
    model.last_name = Set(last.into());
    model.update(app.db()).await.unwrap();
}

#[tokio::test]
async fn case_lists_count_every_page_and_only_what_each_reader_may_see() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    // Two more cases for the same resident and landlord, one of them closed,
    // and one with another landlord and another resident.
    create_case(&app, &w.staff, Some(w.resident.user.id), Some(w.org)).await;
    let (closed, _) = create_case(&app, &w.staff, Some(w.resident.user.id), Some(w.org)).await;
    gql(
        &app,
        Some(&w.staff.token),
        "mutation($id: ID!) { closeCase(id: $id) { isOpen } }",
        json!({ "id": closed }),
    )
    .await
    .data();
    create_case(
        &app,
        &w.staff,
        Some(w.other_resident.user.id),
        Some(w.other_org),
    )
    .await;

    let count = |token: String, filter: Value| {
        let app = &app;
        async move {
            let r = gql(
                app,
                Some(&token),
                CASES,
                json!({ "filter": filter, "first": 1 }),
            )
            .await;
            assert_eq!(r.data()["cases"]["edges"].as_array().unwrap().len(), 1);
            total(&r, "cases")
        }
    };
    // A page of one, and the count of every page.
    assert_eq!(count(w.staff.token.clone(), json!({})).await, 4);
    assert_eq!(count(w.landlord.token.clone(), json!({})).await, 3);
    assert_eq!(
        count(w.landlord.token.clone(), json!({ "state": "OPEN" })).await,
        2
    );
    assert_eq!(
        count(w.landlord.token.clone(), json!({ "state": "CLOSED" })).await,
        1
    );
    assert_eq!(count(w.resident.token.clone(), json!({})).await, 3);
    assert_eq!(count(w.other_landlord.token.clone(), json!({})).await, 1);
    assert_eq!(count(w.other_resident.token.clone(), json!({})).await, 1);
    // The filter counts too.
    assert_eq!(
        count(
            w.landlord.token.clone(),
            json!({ "search": w.reference.clone() })
        )
        .await,
        1
    );
    // The home page lists open cases.
    let home = gql(&app, Some(&w.landlord.token), HOME, json!({})).await;
    assert_eq!(total(&home, "home"), 2);
}

#[tokio::test]
async fn my_tasks_and_the_case_overview_count_my_tasks() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let first = create_task(&app, &w, false, "Upload the asbestos survey").await;
    create_task(&app, &w, false, "Escalation - First notice response").await;
    create_task(&app, &w, true, "Send the repair log").await;
    gql(
        &app,
        Some(&w.resident.token),
        "mutation($id: ID!) { completeTask(id: $id) { status } }",
        json!({ "id": first }),
    )
    .await
    .data();

    let my_tasks = |token: String, filter: Value| {
        let app = &app;
        async move {
            let r = gql(app, Some(&token), MY_TASKS, json!({ "filter": filter })).await;
            total(&r, "myTasks")
        }
    };
    assert_eq!(my_tasks(w.resident.token.clone(), json!({})).await, 2);
    assert_eq!(
        my_tasks(w.resident.token.clone(), json!({ "status": "PENDING" })).await,
        1
    );
    assert_eq!(my_tasks(w.landlord.token.clone(), json!({})).await, 1);
    assert_eq!(my_tasks(w.other_landlord.token.clone(), json!({})).await, 0);

    // "My tasks (1 of 1)": the one outstanding task shown, of one; the
    // completed one is counted in `total` only.
    let overview = gql(
        &app,
        Some(&w.resident.token),
        OVERVIEW,
        json!({ "id": w.case_id }),
    )
    .await;
    let case = &overview.data()["case"];
    assert_eq!(
        case["myTaskCounts"],
        json!({ "outstanding": 1, "total": 2 })
    );
    assert_eq!(case["nextTasks"].as_array().unwrap().len(), 1);
    let overview = gql(
        &app,
        Some(&w.staff.token),
        OVERVIEW,
        json!({ "id": w.case_id }),
    )
    .await;
    assert_eq!(
        overview.data()["case"]["myTaskCounts"],
        json!({ "outstanding": 2, "total": 3 })
    );
}

#[tokio::test]
async fn tenancy_lists_count_what_the_screens_show() {
    let app = TestApp::init().await;
    let staff = app.caseworker().await;
    let org = new_organisation(&app).await;
    let other = new_organisation(&app).await;
    let reader = app.landlord_user(org, &[]).await;
    for reference in ["P-1", "P-2", "P-3"] {
        new_property(&app, org, reference, "LS1 4AP").await;
    }
    let removed = new_property(&app, org, "P-4", "LS1 4AP").await;
    let mut gone = removed.into_active_model();
    gone.removed_at = Set(Some(Utc::now()));
    gone.update(app.db()).await.unwrap();
    new_property(&app, other, "Q-1", "SW1A 1AA").await;
    let due = (Utc::now().date_naive() + chrono::Duration::days(14)).to_string();
    for (i, who) in ["Kaiden", "Ada", "Grace", "Alan", "Mary"]
        .iter()
        .enumerate()
    {
        let t = tenant(&app, org, who, "Tenant", &format!("UC-{i}"), None).await;
        gql(
            &app,
            Some(&staff.token),
            RAISE,
            json!({ "input": {
                "organisationId": gid("Organisation", org),
                "tenant": { "tenantId": gid("Tenant", t.id) },
                "postcode": "SM5 2RT",
                "dueDate": due,
            }}),
        )
        .await
        .data();
    }
    tenant(&app, other, "Other", "Tenant", "UC-X", None).await;
    app.run_pending_jobs().await;

    let run = |token: String, query: &'static str, root: &'static str, vars: Value| {
        let app = &app;
        async move { total(&gql(app, Some(&token), query, vars).await, root) }
    };
    // "Showing 5 out of 5 results", a page of one at a time.
    assert_eq!(
        run(reader.token.clone(), TODO, "tenancyRequests", json!({})).await,
        5
    );
    assert_eq!(
        run(
            reader.token.clone(),
            TODO,
            "tenancyRequests",
            json!({ "filter": { "keyword": "Ada" } })
        )
        .await,
        1
    );
    assert_eq!(
        run(reader.token.clone(), PROPERTIES, "properties", json!({})).await,
        3
    );
    assert_eq!(
        run(
            reader.token.clone(),
            PROPERTIES,
            "properties",
            json!({ "filter": { "includeRemoved": true } })
        )
        .await,
        4
    );
    assert_eq!(
        run(reader.token.clone(), TENANTS, "tenants", json!({})).await,
        5
    );
    // Staff count every organisation's, or the one they name.
    assert_eq!(
        run(staff.token.clone(), TENANTS, "tenants", json!({})).await,
        6
    );
    assert_eq!(
        run(
            staff.token.clone(),
            PROPERTIES,
            "properties",
            json!({ "org": gid("Organisation", other) })
        )
        .await,
        1
    );
    // Another organisation's list is not the landlord's to count.
    let r = gql(
        &app,
        Some(&reader.token),
        TENANTS,
        json!({ "org": gid("Organisation", other) }),
    )
    .await;
    assert_eq!(r.error_code(), "NOT_FOUND");
}

#[tokio::test]
async fn search_takes_percent_and_underscore_literally() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let (_, underscored) = create_case(
        &app,
        &w.staff,
        Some(w.other_resident.user.id),
        Some(w.other_org),
    )
    .await;
    rename_organisation(&app, w.other_org, "Homes_R_Us").await;
    let search = |text: &'static str| {
        let app = &app;
        let token = w.staff.token.clone();
        async move {
            let r = gql(
                app,
                Some(&token),
                CASES,
                json!({ "filter": { "search": text }, "first": 100 }),
            )
            .await;
            let refs: Vec<String> = r.data()["cases"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["reference"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(total(&r, "cases"), refs.len() as i64);
            refs
        }
    };
    // `_` used to match every case.
    assert_eq!(search("_").await, vec![underscored.clone()]);
    assert!(search("%").await.is_empty());
    assert_eq!(search("s_r").await, vec![underscored]);

    // Properties, tenants and the to-do list alike.
    let org = new_organisation(&app).await;
    let reader = app.landlord_user(org, &[]).await;
    let flat = new_property(&app, org, "FLAT_1", "LS1 4AP").await;
    new_property(&app, org, "FLAT11", "LS1 4AP").await;
    new_property(&app, org, "RENT100%", "LS1 4AP").await;
    let ada = tenant(&app, org, "Ada", "Lovelace", "UC_7", None).await;
    tenant(&app, org, "Alan", "Turing", "UC17", Some(flat.id)).await;
    let properties = |text: &'static str| {
        let app = &app;
        let token = reader.token.clone();
        async move {
            let r = gql(
                app,
                Some(&token),
                "query($s: String) { properties(filter: { search: $s }) { totalCount edges { node { reference } } } }",
                json!({ "s": text }),
            )
            .await;
            let found: Vec<String> = r.data()["properties"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["reference"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(total(&r, "properties"), found.len() as i64);
            found
        }
    };
    assert_eq!(properties("_").await, vec!["FLAT_1"]);
    assert_eq!(properties("%").await, vec!["RENT100%"]);
    assert_eq!(properties("flat").await.len(), 2);
    let tenants = gql(
        &app,
        Some(&reader.token),
        "query($s: String) { tenants(filter: { search: $s }) { totalCount edges { node { claimReference } } } }",
        json!({ "s": "_" }),
    )
    .await;
    // UC_7 by its claim reference; Alan Turing by his home, FLAT_1.
    assert_eq!(total(&tenants, "tenants"), 2);
    let tenants = gql(
        &app,
        Some(&reader.token),
        "query($s: String) { tenants(filter: { search: $s }) { edges { node { claimReference } } } }",
        json!({ "s": "uc_" }),
    )
    .await;
    assert_eq!(
        tenants.data()["tenants"]["edges"],
        json!([{ "node": { "claimReference": "UC_7" } }])
    );
    let due = (Utc::now().date_naive() + chrono::Duration::days(14)).to_string();
    gql(
        &app,
        Some(&w.staff.token),
        RAISE,
        json!({ "input": {
            "organisationId": gid("Organisation", org),
            "tenant": { "tenantId": gid("Tenant", ada.id) },
            "postcode": "SM5 2RT",
            "dueDate": due,
        }}),
    )
    .await
    .data();
    let todo = |keyword: &'static str| {
        let app = &app;
        let token = reader.token.clone();
        async move {
            let r = gql(
                app,
                Some(&token),
                TODO,
                json!({ "filter": { "keyword": keyword } }),
            )
            .await;
            total(&r, "tenancyRequests")
        }
    };
    assert_eq!(todo("_").await, 1);
    assert_eq!(todo("%").await, 0);
}

#[tokio::test]
async fn the_users_list_sorts_by_name_with_exact_cursors_and_a_total() {
    let app = TestApp::init().await;
    let org = new_organisation(&app).await;
    let admin = app.landlord_user(org, &[Permission::ManageUsers]).await;
    rename_user(&app, &admin, "Zoe", "Admin").await;
    // The seed's screen, plus two people of one name (in two cases) whose
    // order the id decides.
    let mut expected = vec![];
    for (first, last) in [
        ("Sarah", "Smith"),
        ("Sam", "Wise"),
        ("Sam", "Dungee"),
        ("sam", "dungee"),
    ] {
        let u = app.landlord_user(org, &[]).await;
        rename_user(&app, &u, first, last).await;
        expected.push((first.to_lowercase(), last.to_lowercase(), u.user.id, first));
    }
    expected.push(("zoe".into(), "admin".into(), admin.user.id, "Zoe"));
    expected.sort_by(|a, b| (&a.0, &a.1, a.2).cmp(&(&b.0, &b.1, b.2)));
    let ascending: Vec<String> = expected
        .iter()
        .map(|(_, _, _, first)| (*first).to_owned())
        .collect();
    // A deactivated user is not listed (nor counted).
    let gone = app.landlord_user(org, &[]).await;
    let mut model = gone.user.clone().into_active_model();
    model.status = Set(entities::UserStatus::Deactivated);
    model.update(app.db()).await.unwrap();

    let walk = |direction: &'static str| {
        let app = &app;
        let token = admin.token.clone();
        async move {
            let (mut names, mut after) = (vec![], None::<String>);
            loop {
                let r = gql(
                    app,
                    Some(&token),
                    USERS,
                    json!({ "sort": { "field": "NAME", "direction": direction }, "first": 2, "after": after }),
                )
                .await;
                let page = &r.data()["organisationUsers"];
                assert_eq!(page["totalCount"], json!(5));
                for e in page["edges"].as_array().unwrap() {
                    names.push(format!(
                        "{} {}",
                        e["node"]["firstName"].as_str().unwrap(),
                        e["node"]["lastName"].as_str().unwrap()
                    ));
                }
                if page["pageInfo"]["hasNextPage"] != json!(true) {
                    return names;
                }
                after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
            }
        }
    };
    let up = walk("ASC").await;
    assert_eq!(up.len(), 5);
    assert_eq!(
        up.iter()
            .map(|n| n.split(' ').next().unwrap().to_owned())
            .collect::<Vec<_>>(),
        ascending
    );
    assert!(up[0].eq_ignore_ascii_case("sam dungee") && up[1].eq_ignore_ascii_case("sam dungee"));
    assert_eq!(&up[2..], ["Sam Wise", "Sarah Smith", "Zoe Admin"]);
    let mut down = walk("DESC").await;
    down.reverse();
    assert_eq!(down, up);

    // A cursor naming nobody of the organisation is refused.
    let stranger = app.resident().await;
    // Made the way the API makes cursors, so only the row it names is wrong.
    let cursor = api::graphql::pagination::encode_cursor(stranger.user.id);
    let r = gql(
        &app,
        Some(&admin.token),
        USERS,
        json!({ "sort": { "field": "NAME" }, "first": 2, "after": cursor }),
    )
    .await;
    assert_eq!(r.error_code(), "BAD_USER_INPUT");
    // The default order is unchanged: oldest first.
    let r = gql(&app, Some(&admin.token), USERS, json!({ "first": 1 })).await;
    assert_eq!(
        r.data()["organisationUsers"]["edges"][0]["node"]["firstName"],
        json!("Zoe")
    );
}

#[tokio::test]
async fn a_property_form_hears_about_every_bad_field_and_nothing_is_stored() {
    let app = TestApp::init().await;
    let org = new_organisation(&app).await;
    let manager = app
        .landlord_user(org, &[Permission::ManageProperties])
        .await;
    let r = gql(
        &app,
        Some(&manager.token),
        ADD,
        json!({ "input": {
            "reference": "R".repeat(51),
            "addressLine1": "1 Kirkgate",
            "town": "  ",
            "postcode": "not a postcode",
            "rent": "-5",
            "serviceCharge": "1.234",
            "rentFrequency": "WEEKLY",
        }}),
    )
    .await;
    let bad = |field: &str| ("BAD_USER_INPUT".to_owned(), field.to_owned());
    assert_eq!(
        field_errors(&r),
        vec![
            bad("input.postcode"),
            bad("input.reference"),
            bad("input.rent"),
            bad("input.serviceCharge"),
            bad("input.town"),
        ],
        "{:#}",
        r.body
    );
    assert_eq!(property::Entity::find().count(app.db()).await.unwrap(), 0);

    let home = new_property(&app, org, "NHA-1", "LS1 4AP").await;
    let r = gql(
        &app,
        Some(&manager.token),
        UPDATE,
        json!({ "id": gid("Property", home.id), "input": {
            "addressLine1": "",
            "postcode": "LS1",
            "rent": "ten pounds",
        }}),
    )
    .await;
    assert_eq!(
        field_errors(&r),
        vec![
            bad("input.addressLine1"),
            bad("input.postcode"),
            bad("input.rent"),
        ],
        "{:#}",
        r.body
    );
    let unchanged = property::Entity::find_by_id(home.id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unchanged, home);
    // One bad field is one error, as before.
    let r = gql(
        &app,
        Some(&manager.token),
        UPDATE,
        json!({ "id": gid("Property", home.id), "input": { "postcode": "LS1" } }),
    )
    .await;
    assert_eq!(field_errors(&r), vec![bad("input.postcode")]);
}
