//! Payments: staff record them (all or nothing), `VIEW_PAYMENTS` users and
//! API tokens search their organisation's with keyset pages and exact totals,
//! and nobody reads another organisation's.

use portal_tests::gid;
use std::collections::HashSet;

use chrono::{Duration, NaiveDate};
use entities::{Permission, payment};
use portal_tests::TestApp;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::tenancy::{api_token, assert_bad_input, organisation, property, tenant};

const RECORD: &str = "mutation($org: ID!, $input: [PaymentInput!]!) { recordPayments(organisationId: $org, input: $input) { id tenantName postcode claimReference amount paymentDate arrangementReference } }";
const SEARCH: &str = "query($org: ID, $filter: PaymentFilter, $first: Int, $after: String) { payments(organisationId: $org, filter: $filter, first: $first, after: $after) { totalCount totalAmount pageInfo { hasNextPage endCursor } edges { cursor node { id amount paymentDate tenantName postcode claimReference } } } }";
const ONE: &str = "query($id: ID!) { payment(id: $id) { id amount } }";

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn pounds(pence: i64) -> String {
    format!("{}.{:02}", pence / 100, pence % 100)
}

/// An organisation with two housed tenants and one without a property.
struct Books {
    org: Uuid,
    tenants: Vec<Uuid>,
}

async fn books(app: &TestApp) -> Books {
    let org = organisation(app).await;
    let a = property(app, org, "P-1", "SW1A 1AA").await;
    let b = property(app, org, "P-2", "LS6 1HR").await;
    let t1 = tenant(app, org, "Aisha", "Rahman", "UC-1001", Some(a.id)).await;
    let t2 = tenant(app, org, "Connor", "Walsh", "UC-1002", Some(b.id)).await;
    let t3 = tenant(app, org, "Jamie", "Fletcher", "UC-1003", None).await;
    Books {
        org,
        tenants: vec![t1.id, t2.id, t3.id],
    }
}

/// `n` payments spread over tenants and dates, with odd pence; returns
/// (input, total pence).
fn batch(books: &Books, n: usize, start: NaiveDate) -> (Vec<Value>, i64) {
    let mut total = 0;
    let input = (0..n)
        .map(|i| {
            let pence = 10_001 + (i as i64 * 37) % 9_000;
            total += pence;
            let day = start + Duration::days((i % 40) as i64);
            let tenant = i % 2;
            json!({
                "tenantId": gid("Tenant", books.tenants[tenant]),
                "amount": pounds(pence),
                "paymentDate": day.to_string(),
                "periodStart": (day - Duration::days(30)).to_string(),
                "periodEnd": (day - Duration::days(1)).to_string(),
            })
        })
        .collect();
    (input, total)
}

async fn payment_count(app: &TestApp) -> u64 {
    payment::Entity::find().count(app.db()).await.unwrap()
}

#[tokio::test]
async fn pages_cover_every_payment_once_in_order_with_exact_totals() {
    let app = TestApp::init().await;
    let staff = app.caseworker().await;
    let books = books(&app).await;
    let (input, total) = batch(&books, 130, date("2026-01-01"));
    let recorded = app
        .graphql(
            Some(&staff.token),
            RECORD,
            json!({ "org": gid("Organisation", books.org), "input": input }),
        )
        .await;
    let rows = recorded.data()["recordPayments"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(rows.len(), 130);
    // Denormalised from the tenant and their property.
    assert_eq!(rows[0]["tenantName"], json!("Aisha Rahman"));
    assert_eq!(rows[0]["postcode"], json!("SW1A 1AA"));
    assert_eq!(rows[0]["claimReference"], json!("UC-1001"));
    assert_eq!(rows[1]["postcode"], json!("LS6 1HR"));

    let viewer = app
        .landlord_user(books.org, &[Permission::ViewPayments])
        .await;
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let response = app
            .graphql(
                Some(&viewer.token),
                SEARCH,
                json!({ "first": 50, "after": after }),
            )
            .await;
        let page = response.data()["payments"].clone();
        assert_eq!(page["totalCount"], json!(130));
        assert_eq!(page["totalAmount"], json!(pounds(total)));
        for edge in page["edges"].as_array().unwrap() {
            seen.push((
                edge["node"]["paymentDate"].as_str().unwrap().to_owned(),
                edge["node"]["id"].as_str().unwrap().to_owned(),
            ));
        }
        pages += 1;
        if page["pageInfo"]["hasNextPage"] == json!(false) {
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(pages, 3);
    let ids: HashSet<_> = seen.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(ids.len(), 130, "no duplicates");
    let all: HashSet<_> = rows
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, all, "no gaps");
    let mut sorted = seen.clone();
    sorted.sort_by_key(|(date, id)| std::cmp::Reverse((date.clone(), portal_tests::uuid_of(id))));
    // Newest date first, then newest id (UUIDv7 order is time order; the
    // global ids themselves are opaque, not ordered).
    assert_eq!(seen, sorted);

    // A date range: inclusive at both ends; totals follow the filter.
    let response = app
        .graphql(
            Some(&viewer.token),
            SEARCH,
            json!({ "filter": { "from": "2026-01-05", "to": "2026-01-09" }, "first": 100 }),
        )
        .await;
    let expected: Vec<&Value> = rows
        .iter()
        .filter(|r| {
            let d = date(r["paymentDate"].as_str().unwrap());
            d >= date("2026-01-05") && d <= date("2026-01-09")
        })
        .collect();
    let page = &response.data()["payments"];
    assert_eq!(page["totalCount"], json!(expected.len()));
    assert_eq!(page["edges"].as_array().unwrap().len(), expected.len());
    let sum: i64 = expected
        .iter()
        .map(|r| {
            let (p, d) = r["amount"].as_str().unwrap().split_once('.').unwrap();
            p.parse::<i64>().unwrap() * 100 + d.parse::<i64>().unwrap()
        })
        .sum();
    assert_eq!(page["totalAmount"], json!(pounds(sum)));
}

#[tokio::test]
async fn filters_match_name_postcode_and_either_reference() {
    let app = TestApp::init().await;
    let staff = app.caseworker().await;
    let books = books(&app).await;
    let (input, _) = batch(&books, 20, date("2026-02-01"));
    app.graphql(
        Some(&staff.token),
        RECORD,
        json!({ "org": gid("Organisation", books.org), "input": input }),
    )
    .await
    .data();
    let count = |filter: Value| {
        let app = &app;
        let token = staff.token.clone();
        let org = gid("Organisation", books.org);
        async move {
            let r = app
                .graphql(
                    Some(&token),
                    SEARCH,
                    json!({ "org": org, "filter": filter, "first": 100 }),
                )
                .await;
            r.data()["payments"]["totalCount"].as_i64().unwrap()
        }
    };
    assert_eq!(count(json!({})).await, 20);
    assert_eq!(count(json!({ "tenantName": "aisha" })).await, 10);
    assert_eq!(count(json!({ "tenantName": "RAHMAN" })).await, 10);
    assert_eq!(count(json!({ "tenantName": "nobody" })).await, 0);
    assert_eq!(count(json!({ "postcode": "sw1a1aa" })).await, 10);
    assert_eq!(count(json!({ "postcode": "SW1A" })).await, 10);
    assert_eq!(count(json!({ "postcode": "LS" })).await, 10);
    assert_eq!(count(json!({ "postcode": "LS6 1" })).await, 10);
    assert_eq!(count(json!({ "reference": "UC-1002" })).await, 10);
    assert_eq!(
        count(json!({ "reference": "UC-100" })).await,
        0,
        "exact only"
    );
    assert_eq!(
        count(json!({ "tenantName": "aisha", "postcode": "LS" })).await,
        0
    );
}

#[tokio::test]
async fn view_payments_is_needed_and_other_organisations_answer_not_found() {
    let app = TestApp::init().await;
    let staff = app.caseworker().await;
    let books = books(&app).await;
    let other = books_of_other(&app).await;
    let (input, _) = batch(&books, 3, date("2026-03-01"));
    let ids: Vec<String> = app
        .graphql(
            Some(&staff.token),
            RECORD,
            json!({ "org": gid("Organisation", books.org), "input": input }),
        )
        .await
        .data()["recordPayments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    let mine = json!({ "first": 10 });
    let theirs = json!({ "org": gid("Organisation", other), "first": 10 });

    // Users: with the permission, their own organisation only.
    let viewer = app
        .landlord_user(books.org, &[Permission::ViewPayments])
        .await;
    let r = app.graphql(Some(&viewer.token), SEARCH, mine.clone()).await;
    assert_eq!(r.data()["payments"]["totalCount"], json!(3));
    let r = app
        .graphql(Some(&viewer.token), SEARCH, theirs.clone())
        .await;
    assert_eq!(r.error_code(), "NOT_FOUND");
    let r = app
        .graphql(Some(&viewer.token), ONE, json!({ "id": ids[0] }))
        .await;
    assert_eq!(r.data()["payment"]["id"], json!(ids[0]));
    let outsider = app.landlord_user(other, &[Permission::ViewPayments]).await;
    let r = app
        .graphql(Some(&outsider.token), ONE, json!({ "id": ids[0] }))
        .await;
    assert_eq!(r.error_code(), "NOT_FOUND");
    let r = app
        .graphql(
            Some(&outsider.token),
            ONE,
            json!({ "id": gid("Payment", Uuid::now_v7()) }),
        )
        .await;
    assert_eq!(r.error_code(), "NOT_FOUND");

    // Without it (even with every other permission): FORBIDDEN.
    let others: Vec<Permission> = Permission::ALL
        .iter()
        .copied()
        .filter(|p| *p != Permission::ViewPayments)
        .collect();
    let withheld = app.landlord_user(books.org, &others).await;
    let r = app
        .graphql(Some(&withheld.token), SEARCH, mine.clone())
        .await;
    assert_eq!(r.error_code(), "FORBIDDEN");
    let r = app
        .graphql(Some(&withheld.token), ONE, json!({ "id": ids[0] }))
        .await;
    assert_eq!(r.error_code(), "FORBIDDEN");

    // API tokens: VIEW_PAYMENTS reads the token's organisation only.
    let token = api_token(&app, books.org, &[Permission::ViewPayments]).await;
    let r = app.graphql(Some(&token), SEARCH, mine.clone()).await;
    assert_eq!(r.data()["payments"]["totalCount"], json!(3));
    let r = app.graphql(Some(&token), SEARCH, theirs.clone()).await;
    assert_eq!(r.error_code(), "NOT_FOUND");
    let r = app
        .graphql(Some(&token), ONE, json!({ "id": ids[1] }))
        .await;
    assert_eq!(r.data()["payment"]["id"], json!(ids[1]));
    let other_token = api_token(&app, other, &[Permission::ViewPayments]).await;
    let r = app
        .graphql(Some(&other_token), ONE, json!({ "id": ids[1] }))
        .await;
    assert_eq!(r.error_code(), "NOT_FOUND");
    let export_only = api_token(&app, books.org, &[Permission::ExportPayments]).await;
    let r = app.graphql(Some(&export_only), SEARCH, mine.clone()).await;
    assert_eq!(r.error_code(), "FORBIDDEN");

    // Residents and strangers.
    let resident = app.resident().await;
    let r = app
        .graphql(Some(&resident.token), SEARCH, mine.clone())
        .await;
    assert_eq!(r.error_code(), "FORBIDDEN");
    let r = app.graphql(None, SEARCH, mine.clone()).await;
    assert_eq!(r.error_code(), "UNAUTHENTICATED");

    // Staff name the organisation.
    let r = app.graphql(Some(&staff.token), SEARCH, mine).await;
    assert_bad_input(&r, "organisationId");
    let r = app
        .graphql(
            Some(&staff.token),
            SEARCH,
            json!({ "org": gid("Organisation", books.org) }),
        )
        .await;
    assert_eq!(r.data()["payments"]["totalCount"], json!(3));

    // Only staff record payments; tokens cannot.
    let (input, _) = batch(&books, 1, date("2026-03-01"));
    for token in [&viewer.token, &token] {
        let r = app
            .graphql(
                Some(token),
                RECORD,
                json!({ "org": gid("Organisation", books.org), "input": input }),
            )
            .await;
        assert_eq!(r.error_code(), "FORBIDDEN");
    }
    assert_eq!(payment_count(&app).await, 3);
}

async fn books_of_other(app: &TestApp) -> Uuid {
    let org = organisation(app).await;
    let home = property(app, org, "Q-1", "M1 1AE").await;
    tenant(app, org, "Ben", "Carter", "UC-9001", Some(home.id)).await;
    org
}

#[tokio::test]
async fn bad_payments_are_refused_on_their_field_and_nothing_is_stored() {
    let app = TestApp::init().await;
    let staff = app.caseworker().await;
    let books = books(&app).await;
    let other = books_of_other(&app).await;
    let stranger = tenant(&app, other, "Zed", "Stranger", "UC-7777", None).await;
    let (good, _) = batch(&books, 3, date("2026-04-01"));
    let with = |index: usize, key: &str, value: Value| {
        let mut input = good.clone();
        input[index][key] = value;
        input
    };
    let cases = [
        (with(1, "amount", json!("-12.00")), "input.1.amount"),
        (with(2, "amount", json!("12,00")), "input.2.amount"),
        (with(0, "amount", json!("1.234")), "input.0.amount"),
        (with(0, "amount", json!("0.00")), "input.0.amount"),
        (with(0, "amount", json!(12.5)), "input.0.amount"),
        (with(1, "amount", json!("99999999999.00")), "input.1.amount"),
        (
            with(1, "tenantId", json!(gid("Tenant", stranger.id))),
            "input.1.tenantId",
        ),
        (
            with(2, "postcode", json!("NOT A POSTCODE")),
            "input.2.postcode",
        ),
        (
            with(0, "periodStart", json!("2026-05-01")),
            "input.0.periodStart",
        ),
        (
            with(1, "arrangementReference", json!("APA-999999")),
            "input.1.arrangementReference",
        ),
        (
            // The third tenant has no property: the postcode is needed.
            with(0, "tenantId", json!(gid("Tenant", books.tenants[2]))),
            "input.0.postcode",
        ),
    ];
    for (input, field) in cases {
        let r = app
            .graphql(
                Some(&staff.token),
                RECORD,
                json!({ "org": gid("Organisation", books.org), "input": input }),
            )
            .await;
        assert_bad_input(&r, field);
        assert_eq!(payment_count(&app).await, 0, "{field}: nothing stored");
    }
    let many: Vec<Value> = (0..1001).map(|i| good[i % 3].clone()).collect();
    let r = app
        .graphql(
            Some(&staff.token),
            RECORD,
            json!({ "org": gid("Organisation", books.org), "input": many }),
        )
        .await;
    assert_bad_input(&r, "input");
    assert_eq!(payment_count(&app).await, 0);
    let audit = entities::audit_log::Entity::find()
        .count(app.db())
        .await
        .unwrap();
    assert_eq!(audit, 0, "no audit entry for refused input");

    // An inverted date range, a bad postcode filter, a bad cursor.
    let viewer = app
        .landlord_user(books.org, &[Permission::ViewPayments])
        .await;
    let r = app
        .graphql(
            Some(&viewer.token),
            SEARCH,
            json!({ "filter": { "from": "2026-02-02", "to": "2026-02-01" } }),
        )
        .await;
    assert_bad_input(&r, "filter.from");
    let r = app
        .graphql(
            Some(&viewer.token),
            SEARCH,
            json!({ "filter": { "postcode": "%" } }),
        )
        .await;
    assert_bad_input(&r, "filter.postcode");
    let r = app
        .graphql(Some(&viewer.token), SEARCH, json!({ "after": "garbage" }))
        .await;
    assert_bad_input(&r, "after");
    let r = app
        .graphql(Some(&viewer.token), SEARCH, json!({ "first": 101 }))
        .await;
    assert_bad_input(&r, "first");

    // The good batch goes in whole, with one audit entry.
    let r = app
        .graphql(
            Some(&staff.token),
            RECORD,
            json!({ "org": gid("Organisation", books.org), "input": good }),
        )
        .await;
    assert_eq!(r.data()["recordPayments"].as_array().unwrap().len(), 3);
    assert_eq!(payment_count(&app).await, 3);
    let audit = entities::audit_log::Entity::find()
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "payment.record");
    assert_eq!(audit[0].actor_user_id, Some(staff.user.id));
}
