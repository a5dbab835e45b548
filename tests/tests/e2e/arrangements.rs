//! Alternative Payment Arrangements: a landlord user with
//! `PROVIDE_TENANCY_DETAILS` applies for a tenant of their organisation
//! (reference `APA-` + a 6-digit sequence), staff approve or reject (a
//! rejection needs a reason), the applicant is emailed, and both sides see
//! the status and its history; nobody else does.

use entities::{Permission, audit_log, payment_arrangement};
use portal_tests::TestApp;
use portal_tests::gid;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;

use crate::support::tenancy::{api_token, assert_bad_input, organisation, tenant};

const APPLY: &str = "mutation($input: ApplyForPaymentArrangementInput!) { applyForPaymentArrangement(input: $input) { id reference status arrears tenant { name } } }";
const APPROVE: &str = "mutation($id: ID!, $note: String) { approvePaymentArrangement(id: $id, note: $note) { id status decisionReason } }";
const REJECT: &str = "mutation($id: ID!, $reason: String!) { rejectPaymentArrangement(id: $id, reason: $reason) { id status decisionReason } }";
const ONE: &str = "query($id: ID!) { paymentArrangement(id: $id) { id reference status events { status note actorUserId } appliedBy { id } organisation { id } } }";
const LIST: &str = "query($org: ID, $filter: PaymentArrangementFilter) { paymentArrangements(organisationId: $org, filter: $filter) { edges { node { id reference status events { status } } } } }";

async fn count(app: &TestApp) -> u64 {
    payment_arrangement::Entity::find()
        .count(app.db())
        .await
        .unwrap()
}

#[tokio::test]
async fn apply_approve_and_reject_with_history_and_emails() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let applicant = app
        .landlord_user(org, &[Permission::ProvideTenancyDetails])
        .await;
    let staff = app.caseworker().await;
    let t1 = tenant(&app, org, "Connor", "Walsh", "UC-1", None).await;
    let t2 = tenant(&app, org, "Emily", "Hughes", "UC-2", None).await;
    let apply = |tenant: &entities::tenant::Model, arrears: &str| json!({ "input": { "tenantId": gid("Tenant", tenant.id), "reason": "Two months of arrears.", "arrears": arrears } });
    let r = app
        .graphql(Some(&applicant.token), APPLY, apply(&t1, "964.00"))
        .await;
    let first = r.data()["applyForPaymentArrangement"].clone();
    assert_eq!(first["reference"], json!("APA-000001"));
    assert_eq!(first["status"], json!("SUBMITTED"));
    assert_eq!(first["arrears"], json!("964.00"));
    assert_eq!(first["tenant"]["name"], json!("Connor Walsh"));
    let r = app
        .graphql(Some(&applicant.token), APPLY, apply(&t2, "10"))
        .await;
    let second = r.data()["applyForPaymentArrangement"].clone();
    assert_eq!(second["reference"], json!("APA-000002"));
    // One open application per tenant.
    let r = app
        .graphql(Some(&applicant.token), APPLY, apply(&t1, "1"))
        .await;
    assert_eq!(r.error_code(), "CONFLICT");

    let r = app
        .graphql(
            Some(&staff.token),
            APPROVE,
            json!({ "id": first["id"], "note": "Arrears exceed two months." }),
        )
        .await;
    assert_eq!(
        r.data()["approvePaymentArrangement"]["status"],
        json!("APPROVED")
    );
    let r = app
        .graphql(
            Some(&staff.token),
            REJECT,
            json!({ "id": first["id"], "reason": "Changed my mind" }),
        )
        .await;
    assert_eq!(r.error_code(), "CONFLICT", "decided once");
    let r = app
        .graphql(
            Some(&staff.token),
            REJECT,
            json!({ "id": second["id"], "reason": "  " }),
        )
        .await;
    assert_bad_input(&r, "reason");
    let r = app
        .graphql(
            Some(&staff.token),
            REJECT,
            json!({ "id": second["id"], "reason": "Arrears below the threshold." }),
        )
        .await;
    let rejected = &r.data()["rejectPaymentArrangement"];
    assert_eq!(rejected["status"], json!("REJECTED"));
    assert_eq!(
        rejected["decisionReason"],
        json!("Arrears below the threshold.")
    );

    // The history, for the landlord and for staff.
    for who in [&applicant.token, &staff.token] {
        let r = app
            .graphql(Some(who), ONE, json!({ "id": second["id"] }))
            .await;
        let events = r.data()["paymentArrangement"]["events"].clone();
        assert_eq!(events[0]["status"], json!("SUBMITTED"));
        assert_eq!(
            events[0]["actorUserId"],
            json!(gid("User", applicant.user.id))
        );
        assert_eq!(events[1]["status"], json!("REJECTED"));
        assert_eq!(events[1]["note"], json!("Arrears below the threshold."));
        let seen = &r.data()["paymentArrangement"];
        assert_eq!(seen["organisation"]["id"], json!(gid("Organisation", org)));
        // Staff see the applicant's account; the applicant, who does not
        // manage users, reads the link as null.
        if who == &staff.token {
            assert_eq!(
                seen["appliedBy"]["id"],
                json!(gid("User", applicant.user.id))
            );
        } else {
            assert!(seen["appliedBy"].is_null(), "{seen}");
        }
    }
    let r = app
        .graphql(
            Some(&staff.token),
            LIST,
            json!({ "filter": { "status": "APPROVED" } }),
        )
        .await;
    let edges = r.data()["paymentArrangements"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0]["node"]["events"].as_array().unwrap().len(), 2);

    // The applicant is emailed each decision.
    app.run_pending_jobs().await;
    // Delivery order is not defined (two jobs, concurrent workers): sort.
    let mut emails = app.emails().await;
    emails.sort_by(|a, b| a.subject.cmp(&b.subject));
    assert_eq!(emails.len(), 2);
    assert!(emails.iter().all(|e| e.to == applicant.user.email));
    assert_eq!(
        emails[0].subject,
        "Alternative Payment Arrangement APA-000001 approved"
    );
    assert_eq!(
        emails[1].subject,
        "Alternative Payment Arrangement APA-000002 rejected"
    );
    assert!(emails[1].text.contains("Arrears below the threshold."));

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
            "payment_arrangement.apply",
            "payment_arrangement.apply",
            "payment_arrangement.approve",
            "payment_arrangement.reject"
        ]
    );
}

#[tokio::test]
async fn only_the_organisation_and_staff_see_it_and_bad_input_changes_nothing() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let other = organisation(&app).await;
    let applicant = app
        .landlord_user(org, &[Permission::ProvideTenancyDetails])
        .await;
    let t = tenant(&app, org, "Connor", "Walsh", "UC-1", None).await;
    let theirs = tenant(&app, other, "Ben", "Carter", "UC-2", None).await;
    let r = app
        .graphql(
            Some(&applicant.token),
            APPLY,
            json!({ "input": { "tenantId": gid("Tenant", t.id), "reason": "Arrears.", "arrears": "1.00" } }),
        )
        .await;
    let id = r.data()["applyForPaymentArrangement"]["id"].clone();

    // Without the permission, tokens, residents: FORBIDDEN to apply.
    let others: Vec<Permission> = Permission::ALL
        .iter()
        .copied()
        .filter(|p| *p != Permission::ProvideTenancyDetails)
        .collect();
    let withheld = app.landlord_user(org, &others).await;
    let token = api_token(
        &app,
        org,
        &[Permission::ViewPayments, Permission::ExportPayments],
    )
    .await;
    let resident = app.resident().await;
    let staff = app.caseworker().await;
    let input = json!({ "input": { "tenantId": gid("Tenant", t.id), "reason": "Arrears.", "arrears": "1.00" } });
    for who in [&withheld.token, &token, &resident.token, &staff.token] {
        let r = app.graphql(Some(who), APPLY, input.clone()).await;
        assert_eq!(r.error_code(), "FORBIDDEN");
    }
    // Landlord users and tokens cannot decide.
    for who in [&applicant.token, &token] {
        let r = app.graphql(Some(who), APPROVE, json!({ "id": id })).await;
        assert_eq!(r.error_code(), "FORBIDDEN");
    }
    // Every user of the organisation reads it; another organisation cannot.
    let r = app
        .graphql(Some(&withheld.token), ONE, json!({ "id": id }))
        .await;
    assert_eq!(r.data()["paymentArrangement"]["status"], json!("SUBMITTED"));
    let outsider = app
        .landlord_user(other, &[Permission::ProvideTenancyDetails])
        .await;
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
    let r = app.graphql(Some(&token), ONE, json!({ "id": id })).await;
    assert_eq!(r.error_code(), "FORBIDDEN");

    // Bad input: the field, and nothing stored.
    let long = "x".repeat(2001);
    for (input, field) in [
        (
            json!({ "tenantId": gid("Tenant", theirs.id), "reason": "R", "arrears": "1" }),
            "input.tenantId",
        ),
        (
            json!({ "tenantId": gid("Tenant", t.id), "reason": long, "arrears": "1" }),
            "input.reason",
        ),
        (
            json!({ "tenantId": gid("Tenant", t.id), "reason": "", "arrears": "1" }),
            "input.reason",
        ),
        (
            json!({ "tenantId": gid("Tenant", t.id), "reason": "R", "arrears": "-1" }),
            "input.arrears",
        ),
        (
            json!({ "tenantId": gid("Tenant", t.id), "reason": "R", "arrears": "1.001" }),
            "input.arrears",
        ),
    ] {
        // Validation comes before the one-open-application rule.
        let r = app
            .graphql(Some(&applicant.token), APPLY, json!({ "input": input }))
            .await;
        assert_bad_input(&r, field);
    }
    assert_eq!(count(&app).await, 1);
}
