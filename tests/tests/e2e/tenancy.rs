//! The to-do list: staff raise "Provide tenancy details" requests (emailing
//! the organisation's users who can answer), the organisation's users see
//! them, `PROVIDE_TENANCY_DETAILS` answers once, staff see the answer, and
//! every change is audited.

use chrono::{Duration, Utc};
use entities::{Permission, audit_log, tenancy_request, tenant};
use portal_tests::TestApp;
use portal_tests::gid;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::support::tenancy::{api_token, assert_bad_input, organisation, tenant};

const RAISE: &str = "mutation($input: RaiseTenancyRequestInput!) { raiseTenancyRequest(input: $input) { id tenantName postcode dueDate status title } }";
const LIST: &str = "query($org: ID, $filter: TenancyRequestFilter, $first: Int, $after: String) { tenancyRequests(organisationId: $org, filter: $filter, first: $first, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id tenantName postcode dateAdded dueDate status } } } }";
const ANSWER: &str = "mutation($id: ID!, $input: ProvideTenancyDetailsInput!) { provideTenancyDetails(id: $id, input: $input) { id status details { tenancyStartDate rent rentFrequency serviceCharge inArrears arrears } } }";
const NOT_TENANT: &str =
    "mutation($id: ID!) { declareNotTenant(id: $id) { id status details { rent } } }";
const ONE: &str = "query($id: ID!) { tenancyRequest(id: $id) { id status answeredBy { id email } details { rent arrears inArrears } } }";

fn day(offset: i64) -> String {
    (Utc::now().date_naive() + Duration::days(offset)).to_string()
}

fn details(rent: Value, arrears: Value) -> Value {
    json!({
        "tenancyStartDate": day(-100),
        "rent": rent,
        "rentFrequency": "MONTHLY",
        "serviceCharge": "15.50",
        "inArrears": !arrears.is_null(),
        "arrears": arrears,
    })
}

async fn request_count(app: &TestApp) -> u64 {
    tenancy_request::Entity::find()
        .count(app.db())
        .await
        .unwrap()
}

#[tokio::test]
async fn staff_raise_a_request_the_landlord_answers_once_and_staff_see_it() {
    let app = TestApp::init().await;
    let staff = app.caseworker().await;
    let org = organisation(&app).await;
    let answerer = app
        .landlord_user(org, &[Permission::ProvideTenancyDetails])
        .await;
    let reader = app.landlord_user(org, &[Permission::ViewPayments]).await;
    let r = app
        .graphql(
            Some(&staff.token),
            RAISE,
            json!({ "input": {
                "organisationId": gid("Organisation", org),
                "tenant": { "newTenant": { "firstName": "Kaiden", "lastName": "Blueberry-Connor", "claimReference": "UC-555" } },
                "postcode": "sm52rt",
                "dueDate": day(14),
            }}),
        )
        .await;
    let raised = r.data()["raiseTenancyRequest"].clone();
    assert_eq!(raised["tenantName"], json!("Kaiden Blueberry-Connor"));
    assert_eq!(raised["postcode"], json!("SM5 2RT"));
    assert_eq!(raised["status"], json!("OPEN"));
    assert_eq!(raised["title"], json!("Provide tenancy details"));
    let id = raised["id"].as_str().unwrap().to_owned();
    assert_eq!(tenant::Entity::find().count(app.db()).await.unwrap(), 1);

    // Emailed to the user who can answer, not to the other.
    app.run_pending_jobs().await;
    let emails = app.emails().await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].to, answerer.user.email);
    assert!(
        !emails[0].text.contains("Blueberry"),
        "no tenant names in emails"
    );

    // Every user of the organisation sees the list.
    let r = app.graphql(Some(&reader.token), LIST, json!({})).await;
    let edges = r.data()["tenancyRequests"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0]["node"]["dateAdded"], json!(day(0)));

    // Answering needs the permission.
    let r = app
        .graphql(
            Some(&reader.token),
            ANSWER,
            json!({ "id": id, "input": details(json!("450.00"), Value::Null) }),
        )
        .await;
    assert_eq!(r.error_code(), "FORBIDDEN");
    let r = app
        .graphql(
            Some(&answerer.token),
            ANSWER,
            json!({ "id": id, "input": details(json!("450.00"), json!("900.10")) }),
        )
        .await;
    let answered = &r.data()["provideTenancyDetails"];
    assert_eq!(answered["status"], json!("ANSWERED"));
    assert_eq!(answered["details"]["rent"], json!("450.00"));
    assert_eq!(answered["details"]["serviceCharge"], json!("15.50"));
    assert_eq!(answered["details"]["arrears"], json!("900.10"));
    assert_eq!(answered["details"]["rentFrequency"], json!("MONTHLY"));

    // Twice: CONFLICT, either way.
    let r = app
        .graphql(
            Some(&answerer.token),
            ANSWER,
            json!({ "id": id, "input": details(json!("1.00"), Value::Null) }),
        )
        .await;
    assert_eq!(r.error_code(), "CONFLICT");
    let r = app
        .graphql(Some(&answerer.token), NOT_TENANT, json!({ "id": id }))
        .await;
    assert_eq!(r.error_code(), "CONFLICT");

    // Staff see the answer.
    let r = app
        .graphql(Some(&staff.token), ONE, json!({ "id": id }))
        .await;
    let seen = &r.data()["tenancyRequest"];
    assert_eq!(
        seen["answeredBy"]["id"],
        json!(gid("User", answerer.user.id))
    );
    assert_eq!(seen["details"]["arrears"], json!("900.10"));
    // A landlord user who does not manage users may not see accounts in
    // user management: the link answers null, not an error.
    let r = app
        .graphql(Some(&reader.token), ONE, json!({ "id": id }))
        .await;
    assert_eq!(r.data()["tenancyRequest"]["status"], json!("ANSWERED"));
    assert!(r.data()["tenancyRequest"]["answeredBy"].is_null());

    let actions: Vec<String> = audit_log::Entity::find()
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "tenant.create",
            "tenancy_request.raise",
            "tenancy_request.answer"
        ]
    );
}

#[tokio::test]
async fn not_our_tenant_and_other_organisations_answer_not_found() {
    let app = TestApp::init().await;
    let staff = app.caseworker().await;
    let org = organisation(&app).await;
    let other = organisation(&app).await;
    let t = tenant(&app, org, "Jamie", "Fletcher", "UC-1", None).await;
    let raise = |due: i64| {
        json!({ "input": {
            "organisationId": gid("Organisation", org),
            "tenant": { "tenantId": gid("Tenant", t.id) },
            "postcode": "LS7 2BN",
            "dueDate": day(due),
        }})
    };
    let id = app
        .graphql(Some(&staff.token), RAISE, raise(3))
        .await
        .data()["raiseTenancyRequest"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let outsider = app
        .landlord_user(other, &[Permission::ProvideTenancyDetails])
        .await;
    let r = app
        .graphql(Some(&outsider.token), NOT_TENANT, json!({ "id": id }))
        .await;
    assert_eq!(r.error_code(), "NOT_FOUND");
    let r = app
        .graphql(Some(&outsider.token), ONE, json!({ "id": id }))
        .await;
    assert_eq!(r.error_code(), "NOT_FOUND");
    let r = app
        .graphql(
            Some(&outsider.token),
            LIST,
            json!({ "org": gid("Organisation", org) }),
        )
        .await;
    assert_eq!(r.error_code(), "NOT_FOUND");
    let r = app.graphql(Some(&outsider.token), LIST, json!({})).await;
    assert_eq!(r.data()["tenancyRequests"]["edges"], json!([]));

    // Tokens, residents and landlord users cannot raise; tokens cannot read.
    let token = api_token(
        &app,
        org,
        &[Permission::ViewPayments, Permission::ExportPayments],
    )
    .await;
    let resident = app.resident().await;
    for who in [&token, &resident.token, &outsider.token] {
        let r = app.graphql(Some(who), RAISE, raise(3)).await;
        assert_eq!(r.error_code(), "FORBIDDEN");
    }
    let r = app.graphql(Some(&token), LIST, json!({})).await;
    assert_eq!(r.error_code(), "FORBIDDEN");
    let r = app
        .graphql(Some(&token), NOT_TENANT, json!({ "id": id }))
        .await;
    assert_eq!(r.error_code(), "FORBIDDEN");

    let answerer = app
        .landlord_user(org, &[Permission::ProvideTenancyDetails])
        .await;
    let r = app
        .graphql(Some(&answerer.token), NOT_TENANT, json!({ "id": id }))
        .await;
    assert_eq!(r.data()["declareNotTenant"]["status"], json!("NOT_TENANT"));
    assert_eq!(r.data()["declareNotTenant"]["details"], Value::Null);
    app.run_pending_jobs().await;
}

#[tokio::test]
async fn the_list_filters_and_pages_by_due_date_and_bad_input_changes_nothing() {
    let app = TestApp::init().await;
    let staff = app.caseworker().await;
    let org = organisation(&app).await;
    let user = app
        .landlord_user(org, &[Permission::ProvideTenancyDetails])
        .await;
    for i in 0..7 {
        let t = tenant(
            &app,
            org,
            "Tenant",
            &format!("Number{i}"),
            &format!("UC-{i}"),
            None,
        )
        .await;
        app.graphql(
            Some(&staff.token),
            RAISE,
            json!({ "input": {
                "organisationId": gid("Organisation", org),
                "tenant": { "tenantId": gid("Tenant", t.id) },
                "postcode": if i < 3 { "SM5 2RT" } else { "LS1 4AP" },
                "dueDate": day(10 - i),
            }}),
        )
        .await
        .data();
    }
    app.run_pending_jobs().await;
    let mut dues = vec![];
    let mut after: Option<String> = None;
    loop {
        let r = app
            .graphql(
                Some(&user.token),
                LIST,
                json!({ "first": 3, "after": after }),
            )
            .await;
        let page = r.data()["tenancyRequests"].clone();
        for e in page["edges"].as_array().unwrap() {
            dues.push(e["node"]["dueDate"].as_str().unwrap().to_owned());
        }
        if page["pageInfo"]["hasNextPage"] == json!(false) {
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    let expected: Vec<String> = (0..7).rev().map(|i| day(10 - i)).collect();
    assert_eq!(dues, expected, "every request once, soonest due first");
    let count = |filter: Value| {
        let (app, token) = (&app, user.token.clone());
        async move {
            app.graphql(
                Some(&token),
                LIST,
                json!({ "filter": filter, "first": 100 }),
            )
            .await
            .data()["tenancyRequests"]["edges"]
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(count(json!({ "keyword": "sm5" })).await, 3);
    assert_eq!(count(json!({ "keyword": "number4" })).await, 1);
    assert_eq!(count(json!({ "keyword": "UC-6" })).await, 1);
    assert_eq!(count(json!({ "dueBefore": day(5) })).await, 2);
    assert_eq!(
        count(json!({ "dueAfter": day(5), "dueBefore": day(6) })).await,
        2
    );
    assert_eq!(count(json!({ "status": "ANSWERED" })).await, 0);
    let r = app
        .graphql(
            Some(&user.token),
            LIST,
            json!({ "filter": { "dueAfter": day(6), "dueBefore": day(5) } }),
        )
        .await;
    assert_bad_input(&r, "filter.dueAfter");

    // Bad raises and answers: the field, and nothing changes.
    let t = tenant(&app, org, "Olivia", "Grant", "UC-X", None).await;
    let bad_raises = [
        (
            json!({ "tenantId": gid("Tenant", t.id) }),
            "SM5",
            day(1),
            "input.postcode",
        ),
        (
            json!({ "tenantId": gid("Tenant", t.id) }),
            "SM5 2RT",
            day(-1),
            "input.dueDate",
        ),
        (
            json!({ "newTenant": { "firstName": " ", "lastName": "X", "claimReference": "UC-Y" } }),
            "SM5 2RT",
            day(1),
            "input.tenant.newTenant.firstName",
        ),
    ];
    for (who, postcode, due, field) in bad_raises {
        let r = app
            .graphql(
                Some(&staff.token),
                RAISE,
                json!({ "input": { "organisationId": gid("Organisation", org), "tenant": who, "postcode": postcode, "dueDate": due } }),
            )
            .await;
        assert_bad_input(&r, field);
    }
    assert_eq!(request_count(&app).await, 7);
    let id = app
        .graphql(Some(&user.token), LIST, json!({ "first": 1 }))
        .await
        .data()["tenancyRequests"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = tenancy_request::Entity::find().all(app.db()).await.unwrap();
    for (input, field) in [
        (details(json!("-450.00"), Value::Null), "input.rent"),
        (details(json!("450.001"), Value::Null), "input.rent"),
        (details(json!("abc"), Value::Null), "input.rent"),
        (details(json!("0"), Value::Null), "input.rent"),
        (details(json!("450"), json!("-1")), "input.arrears"),
        (details(json!("450"), json!("0.00")), "input.arrears"),
        (
            {
                let mut d = details(json!("450"), Value::Null);
                d["inArrears"] = json!(true);
                d
            },
            "input.arrears",
        ),
        (
            {
                let mut d = details(json!("450"), Value::Null);
                d["tenancyStartDate"] = json!(day(30));
                d
            },
            "input.tenancyStartDate",
        ),
    ] {
        let r = app
            .graphql(
                Some(&user.token),
                ANSWER,
                json!({ "id": id, "input": input }),
            )
            .await;
        assert_bad_input(&r, field);
    }
    assert_eq!(
        tenancy_request::Entity::find().all(app.db()).await.unwrap(),
        before
    );
}
