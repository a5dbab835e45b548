//! Payments CSV exports: a user or an organisation API token with
//! `EXPORT_PAYMENTS` requests an export with the payment search's filter;
//! the worker writes the CSV into storage (S3 when `TEST_S3_ENDPOINT` is
//! set); the file holds exactly the rows the search shows, RFC 4180 quoted
//! and escaped against formula injection; the download link works while the
//! export lasts, and the daily expiry deletes the file.

use axum::{body::Body, http::Request};
use chrono::{Duration, NaiveDate, Utc};
use entities::{ExportStatus, Permission, payment, payment_export};
use http_body_util::BodyExt;
use portal_tests::TestApp;
use portal_tests::gid;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, Set,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::tenancy::{api_token, assert_bad_input, organisation, property, tenant};

const REQUEST: &str = "mutation($org: ID, $filter: PaymentFilter) { requestPaymentExport(organisationId: $org, filter: $filter) { id status rowsWritten totalRows } }";
const ONE: &str = "query($id: ID!) { paymentExport(id: $id) { id status rowsWritten totalRows sizeBytes error expiresAt downloadUrl requestedBy { id } requestedByApiTokenId organisation { id } filter { from to tenantName } } }";
const LIST: &str = "{ paymentExports { edges { node { id status } } } }";
const SEARCH: &str = "query($filter: PaymentFilter, $after: String) { payments(filter: $filter, first: 100, after: $after) { pageInfo { hasNextPage endCursor } edges { node { paymentDate tenantName claimReference postcode amount periodStart periodEnd arrangementReference property { id } } } } }";

/// Inserts a payment of `org` straight into the database.
#[allow(clippy::too_many_arguments)]
async fn pay(
    app: &TestApp,
    org: Uuid,
    tenant_id: Uuid,
    property_id: Option<Uuid>,
    name: &str,
    postcode: &str,
    pence: i64,
    date: &str,
    apa: Option<&str>,
) {
    let date: NaiveDate = date.parse().unwrap();
    payment::ActiveModel {
        id: Set(Uuid::now_v7()),
        organisation_id: Set(org),
        tenant_id: Set(tenant_id),
        property_id: Set(property_id),
        tenant_name: Set(name.into()),
        postcode: Set(postcode.into()),
        claim_reference: Set(format!("UC-{}", &Uuid::now_v7().simple().to_string()[20..])),
        amount_pence: Set(pence),
        payment_date: Set(date),
        period_start: Set(date - Duration::days(28)),
        period_end: Set(date - Duration::days(1)),
        arrangement_reference: Set(apa.map(str::to_owned)),
        created_at: Set(Utc::now()),
    }
    .insert(app.db())
    .await
    .expect("insert payment");
}

/// An organisation with awkward payments: formula-looking names, commas,
/// quotes and line breaks, with and without a property and an APA.
async fn organisation_with_payments(app: &TestApp) -> Uuid {
    let org = organisation(app).await;
    let home = property(app, org, "=FLAT-1", "LS1 4AP").await;
    let t = tenant(app, org, "Aisha", "Khan", "UC-1", Some(home.id)).await;
    let names = [
        "=HYPERLINK(\"http://evil.example\",\"x\")",
        "+1",
        "-2",
        "@x",
        "Smith, \"Jo\"\nJunior",
        "Aisha Khan",
        "\tTabbed",
        "Aoife O'Brien",
    ];
    for (i, name) in names.iter().enumerate() {
        let date = format!("2026-0{}-1{}", 1 + i % 3, i % 10);
        let with_home = (i % 2 == 0).then_some(home.id);
        let apa = (i % 3 == 0).then_some("APA-2026-00001");
        pay(
            app,
            org,
            t.id,
            with_home,
            name,
            "LS1 4AP",
            12_345 + i as i64,
            &date,
            apa,
        )
        .await;
    }
    // Another postcode, outside some filters.
    pay(
        app,
        org,
        t.id,
        None,
        "Bea Jones",
        "SW1A 1AA",
        5,
        "2026-02-01",
        None,
    )
    .await;
    org
}

async fn request(app: &TestApp, token: &str, filter: Value) -> Value {
    let r = app
        .graphql(Some(token), REQUEST, json!({ "filter": filter }))
        .await;
    r.data()["requestPaymentExport"].clone()
}

async fn export(app: &TestApp, token: &str, id: &str) -> Value {
    app.graphql(Some(token), ONE, json!({ "id": id }))
        .await
        .data()["paymentExport"]
        .clone()
}

/// Fetches a download URL: local URLs through the router, S3 with reqwest.
async fn download(app: &TestApp, url: &str) -> (u16, Vec<u8>) {
    let parsed = url::Url::parse(url).unwrap();
    if parsed.host_str() == Some(app.host.as_str()) {
        let path = &url[url.find("/files/").expect("local files URL")..];
        let response = app
            .request(Request::get(path).body(Body::empty()).unwrap())
            .await;
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, bytes.to_vec())
    } else {
        let response = reqwest::get(url).await.unwrap();
        let status = response.status().as_u16();
        (status, response.bytes().await.unwrap().to_vec())
    }
}

fn parse_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    csv_rows(bytes)
}

/// Reads CSV with a strict RFC 4180 reader (no flexible rows).
fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = String::from_utf8(bytes.to_vec()).expect("UTF-8");
    let mut rows = vec![];
    let mut row = vec![];
    let mut cell = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') if cell.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, '\r') => panic!("bare CR outside quotes"),
            (false, c) => cell.push(c),
        }
    }
    assert!(
        cell.is_empty() && row.is_empty(),
        "file must end with a line break"
    );
    rows
}

/// The search, every page, as CSV cells (formula-escaped text, as the
/// export writes it).
async fn search_rows(app: &TestApp, token: &str, filter: Value) -> Vec<Vec<String>> {
    let mut after: Option<String> = None;
    let mut out = vec![];
    loop {
        let r = app
            .graphql(
                Some(token),
                SEARCH,
                json!({ "filter": filter, "after": after }),
            )
            .await;
        let page = r.data()["payments"].clone();
        for edge in page["edges"].as_array().unwrap() {
            let n = &edge["node"];
            let esc = |v: &Value| {
                let s = v.as_str().unwrap_or_default();
                if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                    format!("'{s}")
                } else {
                    s.to_owned()
                }
            };
            let property_ref = if n["property"].is_null() {
                String::new()
            } else {
                "'=FLAT-1".to_owned()
            };
            out.push(vec![
                n["paymentDate"].as_str().unwrap().to_owned(),
                esc(&n["tenantName"]),
                esc(&n["claimReference"]),
                esc(&n["postcode"]),
                property_ref,
                n["amount"].as_str().unwrap().to_owned(),
                n["periodStart"].as_str().unwrap().to_owned(),
                n["periodEnd"].as_str().unwrap().to_owned(),
                esc(&n["arrangementReference"]),
            ]);
        }
        if page["pageInfo"]["hasNextPage"] == json!(true) {
            after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        } else {
            return out;
        }
    }
}

/// Requests, runs and downloads an export; returns its CSV rows.
async fn run_export(app: &TestApp, token: &str, filter: Value) -> (Value, Vec<Vec<String>>) {
    let requested = request(app, token, filter).await;
    assert_eq!(requested["status"], json!("QUEUED"));
    let id = requested["id"].as_str().unwrap().to_owned();
    app.run_pending_jobs().await;
    let done = export(app, token, &id).await;
    assert_eq!(done["status"], json!("COMPLETED"), "{done:#}");
    let url = done["downloadUrl"]
        .as_str()
        .expect("download URL")
        .to_owned();
    let (status, bytes) = download(app, &url).await;
    assert_eq!(status, 200);
    assert_eq!(done["sizeBytes"], json!(bytes.len()));
    (done, parse_csv(&bytes))
}

#[tokio::test]
async fn an_export_holds_exactly_the_search_results_escaped_and_quoted() {
    let app = TestApp::init().await;
    let org = organisation_with_payments(&app).await;
    let user = app
        .landlord_user(org, &[Permission::ExportPayments, Permission::ViewPayments])
        .await;
    for filter in [
        json!({}),
        json!({ "from": "2026-02-01", "to": "2026-03-31" }),
        json!({ "postcode": "LS1" }),
        json!({ "tenantName": "o'b" }),
        json!({ "tenantName": "\"jo\"" }),
    ] {
        let (done, rows) = run_export(&app, &user.token, filter.clone()).await;
        assert_eq!(
            rows[0],
            [
                "Payment date",
                "Tenant name",
                "Claim reference",
                "Postcode",
                "Property reference",
                "Amount (GBP)",
                "Period start",
                "Period end",
                "APA reference"
            ]
        );
        let expected = search_rows(&app, &user.token, filter.clone()).await;
        assert_eq!(rows[1..], expected[..], "filter {filter}");
        assert_eq!(done["rowsWritten"], json!(expected.len()));
        assert_eq!(done["totalRows"], json!(expected.len()));
    }
    // Everything: the formula-looking names are escaped, the rest intact.
    let (_, rows) = run_export(&app, &user.token, json!({})).await;
    let names: Vec<&str> = rows[1..].iter().map(|r| r[1].as_str()).collect();
    for escaped in [
        "'=HYPERLINK(\"http://evil.example\",\"x\")",
        "'+1",
        "'-2",
        "'@x",
        "'\tTabbed",
        "Smith, \"Jo\"\nJunior",
        "Aisha Khan",
        "Aoife O'Brien",
    ] {
        assert!(names.contains(&escaped), "{escaped:?} in {names:?}");
    }
    assert_eq!(rows.len(), 10);
    // Amounts are pounds with two decimals; the requester was emailed a
    // link to the portal, never the file's URL.
    assert!(rows[1..].iter().any(|r| r[5] == "0.05"));
    let emails = app.emails().await;
    assert_eq!(emails.len(), 6);
    assert!(emails.iter().all(|e| e.to == user.user.email));
    assert!(emails[0].text.contains("/payments/exports/"));
    assert!(!emails[0].text.contains("/files/"));
}

#[tokio::test]
async fn permissions_for_users_and_tokens_and_other_organisations() {
    let app = TestApp::init().await;
    let org = organisation_with_payments(&app).await;
    let other = organisation(&app).await;
    let exporter = app.landlord_user(org, &[Permission::ExportPayments]).await;
    let viewer = app.landlord_user(org, &[Permission::ViewPayments]).await;
    let outsider = app
        .landlord_user(
            other,
            &[Permission::ExportPayments, Permission::ViewPayments],
        )
        .await;
    let export_token = api_token(&app, org, &[Permission::ExportPayments]).await;
    let view_token = api_token(&app, org, &[Permission::ViewPayments]).await;
    let resident = app.resident().await;

    // Without EXPORT_PAYMENTS: FORBIDDEN, nothing recorded.
    for token in [&viewer.token, &view_token, &resident.token] {
        let r = app.graphql(Some(token), REQUEST, json!({})).await;
        assert_eq!(r.error_code(), "FORBIDDEN", "{:#}", r.body);
    }
    let r = app.graphql(None, REQUEST, json!({})).await;
    assert_eq!(r.error_code(), "UNAUTHENTICATED");
    // Naming another organisation: as if it did not exist.
    let r = app
        .graphql(
            Some(&exporter.token),
            REQUEST,
            json!({ "org": gid("Organisation", other) }),
        )
        .await;
    assert_eq!(r.error_code(), "NOT_FOUND");
    assert!(
        payment_export::Entity::find()
            .all(app.db())
            .await
            .unwrap()
            .is_empty()
    );

    // A token with EXPORT_PAYMENTS exports its organisation's payments.
    let by_token = request(&app, &export_token, json!({})).await;
    let id = by_token["id"].as_str().unwrap().to_owned();
    app.run_pending_jobs().await;
    let seen = export(&app, &export_token, &id).await;
    assert_eq!(seen["status"], json!("COMPLETED"));
    assert_eq!(seen["rowsWritten"], json!(9));
    assert!(seen["requestedBy"].is_null());
    assert!(seen["requestedByApiTokenId"].is_string());
    // A token may not see organisations: the link is null, not an error.
    assert!(seen["organisation"].is_null());
    let (status, bytes) = download(&app, seen["downloadUrl"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(parse_csv(&bytes).len(), 10);
    // No email for a token.
    assert!(app.emails().await.is_empty());

    // The organisation's exporters see it; others answer NOT_FOUND.
    let seen = export(&app, &exporter.token, &id).await;
    assert!(seen["downloadUrl"].is_string());
    for token in [&outsider.token, &viewer.token, &view_token] {
        let r = app.graphql(Some(token), ONE, json!({ "id": id })).await;
        assert_eq!(r.error_code(), "NOT_FOUND", "{:#}", r.body);
    }
    let list = app.graphql(Some(&outsider.token), LIST, json!({})).await;
    assert_eq!(list.data()["paymentExports"]["edges"], json!([]));
    let list = app.graphql(Some(&exporter.token), LIST, json!({})).await;
    assert_eq!(
        list.data()["paymentExports"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let r = app.graphql(Some(&viewer.token), LIST, json!({})).await;
    assert_eq!(r.error_code(), "FORBIDDEN");

    // Staff export for a named organisation (and must name one).
    let staff = app.caseworker().await;
    let r = app.graphql(Some(&staff.token), REQUEST, json!({})).await;
    assert_bad_input(&r, "organisationId");
    let r = app
        .graphql(
            Some(&staff.token),
            REQUEST,
            json!({ "org": gid("Organisation", org) }),
        )
        .await;
    let staff_export = r.data()["requestPaymentExport"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.run_pending_jobs().await;
    assert_eq!(
        export(&app, &staff.token, &staff_export).await["rowsWritten"],
        json!(9)
    );
    let r = app
        .graphql(Some(&outsider.token), ONE, json!({ "id": staff_export }))
        .await;
    assert_eq!(r.error_code(), "NOT_FOUND");
}

#[tokio::test]
async fn a_bad_filter_is_refused_and_records_nothing() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let user = app.landlord_user(org, &[Permission::ExportPayments]).await;
    let r = app
        .graphql(
            Some(&user.token),
            REQUEST,
            json!({ "filter": { "from": "2026-03-01", "to": "2026-02-01" } }),
        )
        .await;
    assert_bad_input(&r, "filter.from");
    let r = app
        .graphql(
            Some(&user.token),
            REQUEST,
            json!({ "filter": { "postcode": "not a postcode!" } }),
        )
        .await;
    assert_bad_input(&r, "filter.postcode");
    assert!(
        payment_export::Entity::find()
            .all(app.db())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(app.unfinished_jobs().await, 0);
}

#[tokio::test]
async fn expired_exports_lose_their_link_and_the_daily_job_deletes_the_file() {
    let app = TestApp::init().await;
    let org = organisation_with_payments(&app).await;
    let user = app.landlord_user(org, &[Permission::ExportPayments]).await;
    let (done, _) = run_export(&app, &user.token, json!({})).await;
    let id: Uuid = portal_tests::uuid_of(done["id"].as_str().unwrap());
    let row = payment_export::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let key = row.storage_key.clone().expect("stored");
    let expires = row.expires_at.unwrap();
    assert!(expires > Utc::now() + Duration::days(6));
    assert_eq!(
        app.state.storage.size(&key).await.unwrap(),
        Some(done["sizeBytes"].as_u64().unwrap())
    );

    // Not yet expired: the job leaves it alone.
    let storage = &app.state.storage;
    let n = api::exports::expire_exports::expire(app.db(), storage, Utc::now())
        .await
        .unwrap();
    assert_eq!(n, 0);

    // Past expires_at: no link even before the job runs; then the job
    // deletes the file and marks it EXPIRED, once.
    let mut past = row.into_active_model();
    past.expires_at = Set(Some(Utc::now() - Duration::minutes(1)));
    past.update(app.db()).await.unwrap();
    let seen = export(&app, &user.token, &gid("PaymentExport", id)).await;
    assert!(seen["downloadUrl"].is_null());
    let day = Utc::now().date_naive();
    worker::outbox::enqueue(
        app.db(),
        &api::exports::expire_exports::ExpireExports { day },
    )
    .await
    .unwrap();
    app.run_pending_jobs().await;
    let seen = export(&app, &user.token, &gid("PaymentExport", id)).await;
    assert_eq!(seen["status"], json!("EXPIRED"));
    assert_eq!(app.state.storage.size(&key).await.unwrap(), None);
    let again = api::exports::expire_exports::expire(app.db(), storage, Utc::now())
        .await
        .unwrap();
    assert_eq!(again, 0);
}

#[tokio::test]
async fn a_rerun_overwrites_the_same_file_and_a_finished_export_is_left_alone() {
    let app = TestApp::init().await;
    let org = organisation_with_payments(&app).await;
    let user = app.landlord_user(org, &[Permission::ExportPayments]).await;
    let requested = request(&app, &user.token, json!({})).await;
    let id: Uuid = portal_tests::uuid_of(requested["id"].as_str().unwrap());
    // Two runs of the same job (at-least-once delivery): the second finds
    // it completed and changes nothing; a crash mid-run (RUNNING) re-runs.
    let first = api::exports::export_payments::build(app.db(), &app.state.storage, id)
        .await
        .unwrap();
    let row = payment_export::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, ExportStatus::Completed);
    let again = api::exports::export_payments::build(app.db(), &app.state.storage, id)
        .await
        .unwrap();
    assert_eq!(first, again);
    let mut running = row.clone().into_active_model();
    running.status = Set(ExportStatus::Running);
    running.update(app.db()).await.unwrap();
    let rerun = api::exports::export_payments::build(app.db(), &app.state.storage, id)
        .await
        .unwrap();
    assert_eq!(rerun, first);
    let key = platform::storage::keys::export(id);
    assert_eq!(
        app.state.storage.size(&key).await.unwrap(),
        Some(first.bytes)
    );
    app.run_pending_jobs().await;
}

#[tokio::test]
async fn a_failing_export_ends_failed_with_a_generic_message_and_no_file() {
    let app = TestApp::init().await;
    let org = organisation_with_payments(&app).await;
    let user = app.landlord_user(org, &[Permission::ExportPayments]).await;
    let requested = request(&app, &user.token, json!({})).await;
    let id: Uuid = portal_tests::uuid_of(requested["id"].as_str().unwrap());
    // A stored filter that no longer parses (e.g. written by an older
    // version): retrying cannot help, so the job fails for good at once.
    let row = payment_export::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let mut broken = row.into_active_model();
    broken.filter = Set(json!({ "from": "2026-03-01", "to": "2026-02-01" }));
    broken.update(app.db()).await.unwrap();
    app.run_pending_jobs().await;
    let seen = export(&app, &user.token, &gid("PaymentExport", id)).await;
    assert_eq!(seen["status"], json!("FAILED"));
    assert_eq!(
        seen["error"],
        json!(api::exports::export_payments::FAILED_MESSAGE)
    );
    assert!(seen["downloadUrl"].is_null());
    let key = platform::storage::keys::export(id);
    assert_eq!(app.state.storage.size(&key).await.unwrap(), None);
    assert!(app.emails().await.is_empty());
}

/// An export flood: an organisation has at most three exports queued or
/// running; the fourth (even sent at once) is RATE_LIMITED and records
/// nothing; requests and download links are audited.
#[tokio::test]
async fn exports_are_limited_per_organisation_and_audited() {
    let app = TestApp::builder().allow_leftover_jobs().build().await;
    let org = organisation_with_payments(&app).await;
    let exporter = app
        .landlord_user(org, &[Permission::ExportPayments, Permission::ViewPayments])
        .await;
    let burst = futures::future::join_all(
        (0..6).map(|_| app.graphql(Some(&exporter.token), REQUEST, json!({ "filter": {} }))),
    )
    .await;
    let accepted = burst.iter().filter(|r| r.body["errors"].is_null()).count();
    assert_eq!(
        accepted,
        3,
        "{:#?}",
        burst.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    for refused in burst.iter().filter(|r| !r.body["errors"].is_null()) {
        assert_eq!(refused.error_code(), "RATE_LIMITED");
        assert!(
            refused.body["errors"][0]["extensions"]["retryAfterSeconds"]
                .as_u64()
                .is_some()
        );
    }
    let rows = payment_export::Entity::find()
        .filter(payment_export::Column::OrganisationId.eq(org))
        .count(app.db())
        .await
        .unwrap();
    assert_eq!(rows, 3, "the refused requests recorded nothing");
    assert_eq!(audited(&app, "export.requested").await, 3);

    // Once they have run, new ones are accepted again; each link issued is audited.
    app.run_pending_jobs().await;
    let id = request(&app, &exporter.token, json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.run_pending_jobs().await;
    let done = export(&app, &exporter.token, &id).await;
    assert!(done["downloadUrl"].is_string(), "{done:#}");
    assert_eq!(audited(&app, "export.download_url_issued").await, 1);
}

async fn audited(app: &TestApp, action: &str) -> u64 {
    entities::audit_log::Entity::find()
        .filter(entities::audit_log::Column::Action.eq(action))
        .count(app.db())
        .await
        .unwrap()
}

/// An export larger than one storage part (8 MiB: on S3 a multipart upload
/// of several parts, the rows streamed through): every row arrives once, in
/// order, and the counts match.
#[tokio::test]
async fn an_export_larger_than_one_part_arrives_whole() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let t = tenant(&app, org, "Aisha", "Khan", "UC-1", None).await;
    let user = app
        .landlord_user(org, &[Permission::ExportPayments, Permission::ViewPayments])
        .await;
    const ROWS: usize = 80_000;
    // About 150 bytes a row: 12 MB, more than one 8 MiB part.
    let padding = "x".repeat(60);
    let date: NaiveDate = "2026-03-01".parse().unwrap();
    let models: Vec<payment::ActiveModel> = (0..ROWS)
        .map(|i| payment::ActiveModel {
            id: Set(Uuid::now_v7()),
            organisation_id: Set(org),
            tenant_id: Set(t.id),
            property_id: Set(None),
            tenant_name: Set(format!("Tenant {i:06} {padding}")),
            postcode: Set("LS1 4AP".into()),
            claim_reference: Set(format!("UC-{i:08}")),
            amount_pence: Set(i as i64),
            payment_date: Set(date - Duration::days((i % 700) as i64)),
            period_start: Set(date - Duration::days(28)),
            period_end: Set(date - Duration::days(1)),
            arrangement_reference: Set(None),
            created_at: Set(Utc::now()),
        })
        .collect();
    for batch in models.chunks(2_000) {
        payment::Entity::insert_many(batch.to_vec())
            .exec(app.db())
            .await
            .expect("insert payments");
    }
    let (done, rows) = run_export(&app, &user.token, json!({})).await;
    assert!(
        done["sizeBytes"].as_u64().unwrap() > 8 * 1024 * 1024 + 1,
        "{done:#}"
    );
    assert_eq!(rows.len(), ROWS + 1);
    assert_eq!(done["rowsWritten"], json!(ROWS));
    assert_eq!(done["totalRows"], json!(ROWS));
    // Every payment exactly once.
    let mut claims: Vec<&str> = rows[1..].iter().map(|r| r[2].as_str()).collect();
    claims.sort_unstable();
    claims.dedup();
    assert_eq!(claims.len(), ROWS);
    assert_eq!(claims[0], "UC-00000000");
    assert_eq!(claims[ROWS - 1], format!("UC-{:08}", ROWS - 1));
    // In the search's order: newest payment date first.
    assert!(
        rows[1][0] >= rows[ROWS][0],
        "{:?} / {:?}",
        rows[1],
        rows[ROWS]
    );
}
