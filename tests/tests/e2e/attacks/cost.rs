//! Aliases and batches cannot multiply expensive work: fields carry their
//! real cost, an operation over `PORTAL_MAX_QUERY_COMPLEXITY` is refused
//! before it runs, every principal (user, API token, anonymous address) has
//! a budget per minute, and the cost is reported in `extensions.cost`.

use entities::Permission;
use portal_tests::TestApp;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::support::tenancy::{api_token, organisation};

#[tokio::test]
async fn aliases_of_expensive_fields_are_refused_before_anything_runs() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let viewer = app.landlord_user(org, &[Permission::ViewPayments]).await;
    let totals: String = (0..660)
        .map(|i| format!("a{i}: payments {{ totalCount totalAmount }} "))
        .collect();
    let refused = app
        .graphql(Some(&viewer.token), &format!("{{ {totals} }}"), json!({}))
        .await;
    assert_eq!(refused.error_code(), "BAD_USER_INPUT", "{:#}", refused.body);
    assert!(refused.body["data"].is_null());

    let links: String = (0..1000)
        .map(|i| {
            format!(
                "d{i}: document(id: \"00000000-0000-7000-8000-000000000000\") {{ downloadUrl }} "
            )
        })
        .collect();
    let before = entities::audit_log::Entity::find()
        .count(app.db())
        .await
        .unwrap();
    let refused = app
        .graphql(Some(&viewer.token), &format!("{{ {links} }}"), json!({}))
        .await;
    assert_eq!(refused.error_code(), "BAD_USER_INPUT", "{:#}", refused.body);
    let after = entities::audit_log::Entity::find()
        .count(app.db())
        .await
        .unwrap();
    assert_eq!(before, after, "nothing was written");
}

fn cost(response: &portal_tests::TestResponse) -> Value {
    response.cost.clone()
}

#[tokio::test]
async fn every_principal_has_a_budget_per_minute_and_sees_what_is_left() {
    let app = TestApp::builder()
        .env("PORTAL_COST_PER_MINUTE", "100")
        .build()
        .await;
    let org = organisation(&app).await;
    let token = api_token(&app, org, &[Permission::ViewPayments]).await;
    let page = "{ payments(first: 20) { nodes { id } } }";

    let first = app.graphql(Some(&token), page, json!({})).await;
    first.data();
    let report = cost(&first);
    let spent = report["requestedQueryCost"].as_u64().unwrap();
    assert!(spent > 20, "a page of 20 costs at least its rows: {report}");
    assert_eq!(report["throttleStatus"]["maximumAvailable"], 100);
    assert_eq!(
        report["throttleStatus"]["currentlyAvailable"]
            .as_u64()
            .unwrap(),
        100 - spent
    );

    // Until the budget is spent; then the request is refused whole: 429.
    let mut refused = None;
    for _ in 0..5 {
        let response = app.graphql(Some(&token), page, json!({})).await;
        if !response.body["errors"].is_null() {
            refused = Some(response);
            break;
        }
    }
    let refused = refused.expect("the API token runs out of budget");
    assert_eq!(refused.status, 429, "{:#}", refused.body);
    assert_eq!(refused.error_code(), "RATE_LIMITED");
    let wait = refused.body["errors"][0]["extensions"]["retryAfterSeconds"]
        .as_u64()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(refused.headers["retry-after"], wait.to_string());
    assert_eq!(
        refused.body["errors"][0]["extensions"]["reason"],
        "COST_BUDGET"
    );

    // Another principal has its own budget: an anonymous address…
    let anonymous = app.graphql(None, "{ viewer { id } }", json!({})).await;
    assert_eq!(anonymous.status, 200);
    assert!(cost(&anonymous)["requestedQueryCost"].as_u64().is_some());
    // …and a user.
    let user = app.landlord_user(org, &[Permission::ViewPayments]).await;
    let theirs = app.graphql(Some(&user.token), page, json!({})).await;
    assert_eq!(theirs.status, 200, "{:#}", theirs.body);
    theirs.data();
}

#[tokio::test]
async fn a_batch_is_charged_per_operation() {
    let app = TestApp::builder()
        .env("PORTAL_COST_PER_MINUTE", "100")
        .build()
        .await;
    let org = organisation(&app).await;
    let user = app.landlord_user(org, &[Permission::ViewPayments]).await;
    let op = json!({ "query": "{ payments(first: 20) { nodes { id } } }" });
    let batch = app
        .graphql_raw(Some(&user.token), Value::Array(vec![op.clone(); 10]))
        .await;
    let answers = batch.body.as_array().unwrap();
    let ran = answers.iter().filter(|a| a["errors"].is_null()).count();
    assert!((1..10).contains(&ran), "{ran} of 10 ran");
    // Some ran, so this request was not refused whole.
    assert_eq!(batch.status, 200);
    let again = app
        .graphql_raw(Some(&user.token), Value::Array(vec![op; 3]))
        .await;
    assert_eq!(again.status, 429, "{:#}", again.body);
}
