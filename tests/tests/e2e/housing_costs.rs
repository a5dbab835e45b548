//! Bulk housing-cost updates: a landlord with `BULK_UPDATE_HOUSING_COSTS`
//! uploads a CSV of property references and new rents; a file with any
//! problem is refused at once (`BAD_USER_INPUT`, every row and column named,
//! nothing stored); a good file is applied by the worker all or nothing —
//! when a property changed in between, the update is `REJECTED` with the
//! failing rows and no property changes.

use axum::{body::Body, http::Request};
use chrono::Utc;
use entities::{
    BulkUpdateStatus, Permission, RentFrequency, audit_log, housing_cost_update, property,
};
use portal_tests::{TestApp, TestResponse, gid};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::tenancy::{api_token, organisation, property};

const UPLOAD: &str = "mutation($file: Upload!) { uploadHousingCosts(file: $file) { id status rowCount appliedCount fileName errors { row column reason } } }";
const ONE: &str = "query($id: ID!) { housingCostUpdate(id: $id) { id status rowCount appliedCount errors { row column reason } uploadedBy { id } organisation { id } } }";
const LIST: &str = "{ housingCostUpdates { edges { node { id status } } } }";

/// A multipart GraphQL request carrying one file with its content type.
async fn upload(
    app: &TestApp,
    token: Option<&str>,
    name: &str,
    content_type: &str,
    content: &[u8],
) -> TestResponse {
    let boundary = format!("----housing-{}", Uuid::new_v4().simple());
    let operations = json!({ "query": UPLOAD, "variables": { "file": null } });
    let mut body = Vec::new();
    for (headers, bytes) in [
        (
            "Content-Disposition: form-data; name=\"operations\"".to_owned(),
            operations.to_string().into_bytes(),
        ),
        (
            "Content-Disposition: form-data; name=\"map\"".to_owned(),
            br#"{"0":["variables.file"]}"#.to_vec(),
        ),
        (
            format!(
                "Content-Disposition: form-data; name=\"0\"; filename=\"{name}\"\r\nContent-Type: {content_type}"
            ),
            content.to_vec(),
        ),
    ] {
        body.extend_from_slice(format!("--{boundary}\r\n{headers}\r\n\r\n").as_bytes());
        body.extend_from_slice(&bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let mut request = Request::post("/graphql")
        .header("graphql-require-preflight", "1")
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        );
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    app.send(request.body(Body::from(body)).unwrap()).await
}

async fn rents(app: &TestApp, ids: &[Uuid]) -> Vec<(i64, i64, RentFrequency)> {
    let mut out = vec![];
    for id in ids {
        let p = property::Entity::find_by_id(*id)
            .one(app.db())
            .await
            .unwrap()
            .unwrap();
        out.push((p.rent_pence, p.service_charge_pence, p.rent_frequency));
    }
    out
}

async fn setup(app: &TestApp) -> (Uuid, Vec<Uuid>) {
    let org = organisation(app).await;
    let mut ids = vec![];
    for r in ["FLAT-1", "FLAT-2", "FLAT 3, \"Annex\""] {
        ids.push(property(app, org, r, "LS1 4AP").await.id);
    }
    (org, ids)
}

fn errors(response: &TestResponse) -> Vec<(u64, String)> {
    response.body["errors"][0]["extensions"]["errors"]
        .as_array()
        .expect("errors extension")
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap(),
                e["column"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_good_file_is_applied_in_full_and_the_uploader_told() {
    let app = TestApp::init().await;
    let (org, ids) = setup(&app).await;
    let user = app
        .landlord_user(org, &[Permission::BulkUpdateHousingCosts])
        .await;
    let file = b"property_reference,rent,service_charge,frequency\r\nFLAT-1,725.00,35.5,weekly\r\nFLAT-2,180,,\r\n\"FLAT 3, \"\"Annex\"\"\",0.1,0,FOUR_WEEKLY\r\n";
    // Declared as octet-stream (as scripts and some browsers send CSV): the
    // `.csv` name and the content decide.
    let r = upload(
        &app,
        Some(&user.token),
        "april.csv",
        "application/octet-stream",
        file,
    )
    .await;
    let created = r.data()["uploadHousingCosts"].clone();
    assert_eq!(created["status"], json!("QUEUED"));
    assert_eq!(created["rowCount"], json!(3));
    assert_eq!(created["fileName"], json!("april.csv"));
    // Nothing changes before the worker runs.
    assert_eq!(
        rents(&app, &ids).await[0],
        (50_000, 1_000, RentFrequency::Monthly)
    );
    app.run_pending_jobs().await;
    let id = created["id"].as_str().unwrap();
    let done = app
        .graphql(Some(&user.token), ONE, json!({ "id": id }))
        .await;
    let done = &done.data()["housingCostUpdate"];
    assert_eq!(done["status"], json!("APPLIED"));
    assert_eq!(done["appliedCount"], json!(3));
    assert_eq!(done["errors"], json!([]));
    assert_eq!(
        rents(&app, &ids).await,
        vec![
            (72_500, 3_550, RentFrequency::Weekly),
            (18_000, 1_000, RentFrequency::Monthly),
            (10, 0, RentFrequency::FourWeekly),
        ]
    );
    let emails = app.emails().await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].to, user.user.email);
    assert!(emails[0].subject.contains("applied"));
    let actions: Vec<String> = audit_log::Entity::find()
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert!(actions.contains(&"housing_costs.upload".to_owned()));
    assert!(actions.contains(&"housing_costs.apply".to_owned()));
}

#[tokio::test]
async fn one_bad_row_refuses_the_whole_file_naming_every_bad_row() {
    let app = TestApp::init().await;
    let (org, ids) = setup(&app).await;
    let other = organisation(&app).await;
    property(&app, other, "THEIRS", "LS1 4AP").await;
    let user = app
        .landlord_user(org, &[Permission::BulkUpdateHousingCosts])
        .await;
    let file = b"property_reference,rent,service_charge,frequency\n\
        FLAT-1,725.00,,\n\
        FLAT-2,-5,,\n\
        THEIRS,100,,\n\
        FLAT-1,1.234,abc,daily\n\
        NOPE,100\n";
    let r = upload(&app, Some(&user.token), "rents.csv", "text/csv", file).await;
    assert_eq!(r.error_code(), "BAD_USER_INPUT", "{:#}", r.body);
    let ext = &r.body["errors"][0]["extensions"];
    assert_eq!(ext["field"], json!("file"));
    assert_eq!(ext["row"], json!(3));
    assert_eq!(ext["column"], json!("rent"));
    assert_eq!(
        errors(&r),
        vec![
            (3, "rent".to_owned()),
            (5, "property_reference".to_owned()),
            (5, "rent".to_owned()),
            (5, "service_charge".to_owned()),
            (5, "frequency".to_owned()),
            (6, "service_charge".to_owned()),
        ]
    );
    // Nothing stored, queued or changed.
    assert!(
        housing_cost_update::Entity::find()
            .all(app.db())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(app.unfinished_jobs().await, 0);
    assert_eq!(rents(&app, &ids).await[0].0, 50_000);

    // Shape is fine but a reference is another organisation's: also refused.
    let file = b"property_reference,rent\nFLAT-1,1\nTHEIRS,2\nMISSING,3\n";
    let r = upload(&app, Some(&user.token), "rents.csv", "text/csv", file).await;
    assert_eq!(r.error_code(), "BAD_USER_INPUT");
    assert_eq!(
        errors(&r),
        vec![
            (3, "property_reference".to_owned()),
            (4, "property_reference".to_owned())
        ]
    );
    assert_eq!(rents(&app, &ids).await[0].0, 50_000);
}

#[tokio::test]
async fn malformed_files_name_the_row_and_column() {
    let app = TestApp::init().await;
    let (org, _) = setup(&app).await;
    let user = app
        .landlord_user(org, &[Permission::BulkUpdateHousingCosts])
        .await;
    for (file, row, column) in [
        (&b"reference,amount\nFLAT-1,5\n"[..], 1, "reference"),
        (&b""[..], 1, "property_reference"),
        (&b"property_reference\nFLAT-1\n"[..], 1, "rent"),
        (&b"property_reference,rent\n"[..], 2, "property_reference"),
        (
            &b"property_reference,rent\nFLAT-1,5\nFLAT-\xff2,6\n"[..],
            3,
            "property_reference",
        ),
    ] {
        let r = upload(&app, Some(&user.token), "bad.csv", "text/csv", file).await;
        assert_eq!(r.error_code(), "BAD_USER_INPUT", "{:#}", r.body);
        let ext = &r.body["errors"][0]["extensions"];
        assert_eq!(
            (ext["row"].clone(), ext["column"].clone()),
            (json!(row), json!(column)),
            "{:#}",
            r.body
        );
    }
    // Not a CSV at all.
    let r = upload(
        &app,
        Some(&user.token),
        "x.pdf",
        "application/pdf",
        b"%PDF-1.4",
    )
    .await;
    assert_eq!(r.error_code(), "BAD_USER_INPUT");
    // Too big.
    let mut big = b"property_reference,rent\n".to_vec();
    while big.len() <= 5 * 1024 * 1024 {
        big.extend_from_slice(b"FLAT-1,5\n");
    }
    let r = upload(&app, Some(&user.token), "big.csv", "text/csv", &big).await;
    assert_eq!(r.error_code(), "PAYLOAD_TOO_LARGE", "{:#}", r.body);
    assert!(
        housing_cost_update::Entity::find()
            .all(app.db())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_property_removed_before_the_worker_runs_rejects_everything() {
    let app = TestApp::init().await;
    let (org, ids) = setup(&app).await;
    let user = app
        .landlord_user(org, &[Permission::BulkUpdateHousingCosts])
        .await;
    let file = b"property_reference,rent\nFLAT-1,600\nFLAT-2,700\n";
    let r = upload(&app, Some(&user.token), "rents.csv", "text/csv", file).await;
    let id = r.data()["uploadHousingCosts"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // FLAT-2 is removed while the job waits.
    let p = property::Entity::find_by_id(ids[1])
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let mut removed = p.into_active_model();
    removed.removed_at = Set(Some(Utc::now()));
    removed.update(app.db()).await.unwrap();
    app.run_pending_jobs().await;
    let r = app
        .graphql(Some(&user.token), ONE, json!({ "id": id }))
        .await;
    let done = &r.data()["housingCostUpdate"];
    assert_eq!(done["status"], json!("REJECTED"));
    assert_eq!(done["appliedCount"], json!(0));
    assert_eq!(
        done["errors"],
        json!([{ "row": 3, "column": "property_reference", "reason": "This property has been removed; its costs cannot be updated." }])
    );
    // FLAT-1 was not applied either.
    assert_eq!(rents(&app, &ids).await[0].0, 50_000);
    let emails = app.emails().await;
    assert_eq!(emails.len(), 1);
    assert!(emails[0].subject.contains("not applied"));
    // A second run of the job changes nothing.
    let again =
        api::housing_costs::apply::apply(app.db(), &app.state.storage, portal_tests::uuid_of(&id))
            .await
            .unwrap();
    assert_eq!(again, api::housing_costs::apply::Applied::AlreadyDone);
    let row = housing_cost_update::Entity::find_by_id(portal_tests::uuid_of(&id))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, BulkUpdateStatus::Rejected);
}

#[tokio::test]
async fn permissions_for_users_tokens_and_other_organisations() {
    let app = TestApp::init().await;
    let (org, _) = setup(&app).await;
    let other = organisation(&app).await;
    let uploader = app
        .landlord_user(org, &[Permission::BulkUpdateHousingCosts])
        .await;
    let colleague = app
        .landlord_user(org, &[Permission::BulkUpdateHousingCosts])
        .await;
    let manager = app
        .landlord_user(
            org,
            &[Permission::ManageProperties, Permission::ViewPayments],
        )
        .await;
    let outsider = app
        .landlord_user(other, &[Permission::BulkUpdateHousingCosts])
        .await;
    let token = api_token(
        &app,
        org,
        &[Permission::ViewPayments, Permission::ExportPayments],
    )
    .await;
    let file = b"property_reference,rent\nFLAT-1,600\n";
    for t in [&manager.token, &token] {
        let r = upload(&app, Some(t), "r.csv", "text/csv", file).await;
        assert_eq!(r.error_code(), "FORBIDDEN", "{:#}", r.body);
    }
    let r = upload(&app, None, "r.csv", "text/csv", file).await;
    assert_eq!(r.error_code(), "UNAUTHENTICATED");
    // The outsider's organisation has no FLAT-1: the reference is unknown there.
    let r = upload(&app, Some(&outsider.token), "r.csv", "text/csv", file).await;
    assert_eq!(r.error_code(), "BAD_USER_INPUT");

    let r = upload(&app, Some(&uploader.token), "r.csv", "text/csv", file).await;
    let id = r.data()["uploadHousingCosts"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.run_pending_jobs().await;
    let seen = app
        .graphql(Some(&colleague.token), ONE, json!({ "id": id }))
        .await;
    assert_eq!(seen.data()["housingCostUpdate"]["status"], json!("APPLIED"));
    // The colleague does not manage users: the uploader's account is not
    // theirs to see, so the link is null; the organisation is their own.
    assert!(seen.data()["housingCostUpdate"]["uploadedBy"].is_null());
    assert_eq!(
        seen.data()["housingCostUpdate"]["organisation"]["id"],
        json!(gid("Organisation", org))
    );
    let staff = app.caseworker().await;
    let seen = app
        .graphql(Some(&staff.token), ONE, json!({ "id": id }))
        .await;
    assert_eq!(seen.data()["housingCostUpdate"]["status"], json!("APPLIED"));
    assert_eq!(
        seen.data()["housingCostUpdate"]["uploadedBy"]["id"],
        json!(gid("User", uploader.user.id))
    );
    let r = app
        .graphql(Some(&outsider.token), ONE, json!({ "id": id }))
        .await;
    assert_eq!(r.error_code(), "NOT_FOUND");
    let r = app
        .graphql(Some(&manager.token), ONE, json!({ "id": id }))
        .await;
    assert_eq!(r.error_code(), "FORBIDDEN");
    let list = app.graphql(Some(&outsider.token), LIST, json!({})).await;
    assert_eq!(
        list.data()["housingCostUpdates"]["edges"],
        Value::Array(vec![])
    );
    let list = app.graphql(Some(&colleague.token), LIST, json!({})).await;
    assert_eq!(
        list.data()["housingCostUpdates"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
