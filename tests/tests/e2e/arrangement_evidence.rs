//! Evidence for an Alternative Payment Arrangement: uploaded by the applying
//! organisation (`PROVIDE_TENANCY_DETAILS`) while the application awaits a
//! decision, through the same checks and scan as every upload; listed on the
//! arrangement for staff and the applying side, and for nobody else.

use entities::{Permission, document};
use portal_tests::TestApp;
use portal_tests::gid;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::support::tenancy::{organisation, tenant};

const APPLY: &str = "mutation($input: ApplyForPaymentArrangementInput!) { applyForPaymentArrangement(input: $input) { id } }";
const ADD: &str = "mutation($id: ID!, $files: [DocumentUploadInput!]!, $same: DocumentCategory) { addPaymentArrangementEvidence(id: $id, files: $files, sameCategoryForAll: $same) { id fileName category scanStatus uploadedByMe } }";
const EVIDENCE: &str =
    "query($id: ID!) { paymentArrangement(id: $id) { evidence { fileName category scanStatus } } }";
const REJECT: &str = "mutation($id: ID!, $reason: String!) { rejectPaymentArrangement(id: $id, reason: $reason) { status } }";

const PDF: &[u8] =
    b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

fn files(n: usize) -> Value {
    Value::Array((0..n).map(|_| json!({ "file": null })).collect())
}

async fn documents(app: &TestApp) -> u64 {
    document::Entity::find().count(app.db()).await.unwrap()
}

#[tokio::test]
async fn evidence_is_checked_listed_to_the_right_people_and_closed_after_the_decision() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let other_org = organisation(&app).await;
    let applicant = app
        .landlord_user(org, &[Permission::ProvideTenancyDetails])
        .await;
    let colleague_without = app.landlord_user(org, &[]).await;
    let outsider = app
        .landlord_user(other_org, &[Permission::ProvideTenancyDetails])
        .await;
    let staff = app.caseworker().await;
    let t = tenant(&app, org, "Connor", "Walsh", "UC-9", None).await;
    let r = app
        .graphql(
            Some(&applicant.token),
            APPLY,
            json!({ "input": { "tenantId": gid("Tenant", t.id), "reason": "Arrears.", "arrears": "400.00" } }),
        )
        .await;
    let id = r.data()["applyForPaymentArrangement"]["id"].clone();
    let before = documents(&app).await;

    // A refused file refuses the whole request: nothing is kept.
    let r = app
        .graphql_multipart(
            Some(&applicant.token),
            ADD,
            json!({ "id": id, "files": files(2), "same": "FINANCIAL" }),
            &[
                ("variables.files.0.file", "statement.pdf", PDF),
                ("variables.files.1.file", "arrears.pdf", PNG),
            ],
        )
        .await;
    assert_eq!(r.error_code(), "BAD_USER_INPUT", "{:?}", r.body);
    assert_eq!(documents(&app).await, before);

    // Another organisation, and a colleague without the permission, cannot add.
    for (who, code) in [(&outsider, "NOT_FOUND"), (&colleague_without, "FORBIDDEN")] {
        let r = app
            .graphql_multipart(
                Some(&who.token),
                ADD,
                json!({ "id": id, "files": files(1), "same": "FINANCIAL" }),
                &[("variables.files.0.file", "statement.pdf", PDF)],
            )
            .await;
        assert_eq!(r.error_code(), code, "{:?}", r.body);
    }
    assert_eq!(documents(&app).await, before);

    let r = app
        .graphql_multipart(
            Some(&applicant.token),
            ADD,
            json!({ "id": id, "files": [{ "file": null, "category": "FINANCIAL" }, { "file": null, "category": "CORRESPONDENCE" }] }),
            &[
                ("variables.files.0.file", "rent statement.pdf", PDF),
                ("variables.files.1.file", "photo.png", PNG),
            ],
        )
        .await;
    let added = r.data()["addPaymentArrangementEvidence"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(added.len(), 2);
    assert_eq!(added[0]["fileName"], "rent statement.pdf");
    assert_eq!(added[0]["scanStatus"], "PENDING_SCAN");
    assert_eq!(added[1]["category"], "CORRESPONDENCE");
    assert_eq!(documents(&app).await, before + 2);
    // Each upload has its scan job.
    app.run_pending_jobs().await;

    // Staff and the applying side see the evidence; the other organisation
    // does not see the arrangement at all.
    for who in [&staff, &applicant] {
        let r = app
            .graphql(Some(&who.token), EVIDENCE, json!({ "id": id }))
            .await;
        let names: Vec<&str> = r.data()["paymentArrangement"]["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["fileName"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["rent statement.pdf", "photo.png"]);
    }
    let r = app
        .graphql(Some(&outsider.token), EVIDENCE, json!({ "id": id }))
        .await;
    assert_eq!(r.error_code(), "NOT_FOUND");

    // After the decision no more evidence is accepted.
    let r = app
        .graphql(
            Some(&staff.token),
            REJECT,
            json!({ "id": id, "reason": "Not enough arrears." }),
        )
        .await;
    assert_eq!(r.data()["rejectPaymentArrangement"]["status"], "REJECTED");
    app.run_pending_jobs().await;
    let r = app
        .graphql_multipart(
            Some(&applicant.token),
            ADD,
            json!({ "id": id, "files": files(1), "same": "FINANCIAL" }),
            &[("variables.files.0.file", "late.pdf", PDF)],
        )
        .await;
    assert_eq!(r.error_code(), "CONFLICT");
    assert_eq!(documents(&app).await, before + 2);
}
