//! "I don't recognise this case" (Ombudsman seed: "If you have access to
//! cases which you do not recognise, please contact us as soon as possible"):
//! a party reports it from the case; the report is a staff to-do item,
//! assigned to the case owner, who is emailed (a case without an owner:
//! every service administrator), audited, and resolved by staff with what
//! they found. Only parties who can see the case can report it; a party
//! sees only their own reports; bad input stores nothing.

use entities::{AccessReportStatus, Permission, audit_log, case_access_report};
use portal_tests::TestApp;
use portal_tests::gid;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::support::{
    casework::{email_filters, gql, world},
    tenancy::api_token,
};

const REPORT: &str = "mutation($input: ReportUnrecognisedCaseInput!) {
  reportUnrecognisedCase(input: $input) { id status comment case { reference } reportedByName assignedToName } }";
const QUEUE: &str = "query($filter: CaseAccessReportFilter) {
  caseAccessReports(filter: $filter) { totalCount edges { node {
    id status comment reportedByName assignedToName resolution resolvedByName case { reference } } } } }";
const RESOLVE: &str = "mutation($input: ResolveCaseAccessReportInput!) {
  resolveCaseAccessReport(input: $input) { id status resolution resolvedAt resolvedByName } }";

fn report_input(case_id: &str, comment: Option<&str>) -> Value {
    json!({ "input": { "caseId": case_id, "comment": comment } })
}

async fn reports(app: &TestApp) -> Vec<case_access_report::Model> {
    case_access_report::Entity::find()
        .order_by_asc(case_access_report::Column::Id)
        .all(app.db())
        .await
        .unwrap()
}

async fn audit_actions(app: &TestApp, action: &str) -> Vec<audit_log::Model> {
    audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq(action))
        .all(app.db())
        .await
        .unwrap()
}

fn nodes(response: &portal_tests::TestResponse) -> Vec<Value> {
    response.data()["caseAccessReports"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

#[tokio::test]
async fn a_party_reports_a_case_they_do_not_recognise_and_staff_resolve_it() {
    let app = TestApp::init().await;
    let w = world(&app).await;

    // The resident reports it: an open report, assigned to the case owner,
    // who is emailed; audited.
    let reported = gql(
        &app,
        Some(&w.resident.token),
        REPORT,
        report_input(
            &w.case_id,
            Some("I have never complained about this landlord."),
        ),
    )
    .await;
    let report = reported.data()["reportUnrecognisedCase"].clone();
    assert_eq!(report["status"], "OPEN");
    assert_eq!(report["case"]["reference"], w.reference.as_str());
    assert_eq!(report["assignedToName"], "Test Staff");
    assert_eq!(app.run_pending_jobs().await, 1);
    let emails = app.emails().await;
    let alert: Vec<_> = emails
        .iter()
        .filter(|e| e.to == w.staff.user.email)
        .collect();
    assert_eq!(alert.len(), 1, "the case owner is told");
    let filters = email_filters(&app);
    insta::with_settings!({ filters => filters.iter().map(|(a, b)| (a.as_str(), *b)).collect::<Vec<_>>() }, {
        insta::assert_yaml_snapshot!("case_access_reported_email", alert[0]);
    });
    let audit = audit_actions(&app, "case.access_reported").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].actor_user_id, Some(w.resident.user.id));
    assert_eq!(audit[0].target_type, "case_access_report");

    // A second report of the same case while the first is open is the same
    // report: no second alarm.
    let again = gql(
        &app,
        Some(&w.resident.token),
        REPORT,
        report_input(&w.case_id, None),
    )
    .await;
    assert_eq!(again.data()["reportUnrecognisedCase"]["id"], report["id"]);
    assert_eq!(app.run_pending_jobs().await, 0);
    assert_eq!(reports(&app).await.len(), 1);

    // The landlord's user reports it too: a report of its own, which the
    // organisation's administrators may read in the audit log.
    let landlord = gql(
        &app,
        Some(&w.landlord.token),
        REPORT,
        report_input(&w.case_id, None),
    )
    .await;
    assert_eq!(
        landlord.data()["reportUnrecognisedCase"]["comment"],
        Value::Null
    );
    app.run_pending_jobs().await;
    let stored = reports(&app).await;
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[1].reporter_organisation_id, Some(w.org));
    assert_eq!(stored[0].reporter_organisation_id, None);

    // Staff see the queue; each party sees only their own report;
    // outsiders see none.
    let queue = gql(
        &app,
        Some(&w.staff.token),
        QUEUE,
        json!({ "filter": { "status": "OPEN", "assignedToMe": true } }),
    )
    .await;
    assert_eq!(queue.data()["caseAccessReports"]["totalCount"], 2);
    let names: Vec<_> = nodes(&queue)
        .iter()
        .map(|n| n["reportedByName"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["Test Landlord", "Test Resident"], "newest first");
    let own = gql(&app, Some(&w.resident.token), QUEUE, json!({})).await;
    assert_eq!(own.data()["caseAccessReports"]["totalCount"], 1);
    assert_eq!(nodes(&own)[0]["id"], report["id"]);
    for outsider in [&w.other_resident, &w.other_landlord] {
        let none = gql(&app, Some(&outsider.token), QUEUE, json!({})).await;
        assert_eq!(none.data()["caseAccessReports"]["totalCount"], 0);
        assert_eq!(nodes(&none), Vec::<Value>::new());
    }

    // A party may not resolve; staff must say what they found.
    let id = report["id"].as_str().unwrap();
    let refused = gql(
        &app,
        Some(&w.resident.token),
        RESOLVE,
        json!({ "input": { "id": id, "resolution": "Fine" } }),
    )
    .await;
    assert_eq!(refused.error_code(), "FORBIDDEN");
    let blank = gql(
        &app,
        Some(&w.staff.token),
        RESOLVE,
        json!({ "input": { "id": id, "resolution": "  " } }),
    )
    .await;
    assert_eq!(blank.error_code(), "BAD_USER_INPUT");
    assert_eq!(
        blank.body["errors"][0]["extensions"]["field"],
        "input.resolution"
    );
    let resolved = gql(
        &app,
        Some(&w.staff.token),
        RESOLVE,
        json!({ "input": { "id": id, "resolution": "Checked with the resident: they had forgotten the complaint." } }),
    )
    .await;
    let resolved = resolved.data()["resolveCaseAccessReport"].clone();
    assert_eq!(resolved["status"], "RESOLVED");
    assert_eq!(resolved["resolvedByName"], "Test Staff");
    assert!(resolved["resolvedAt"].is_string());
    let twice = gql(
        &app,
        Some(&w.staff.token),
        RESOLVE,
        json!({ "input": { "id": id, "resolution": "Again" } }),
    )
    .await;
    assert_eq!(twice.error_code(), "CONFLICT");
    assert_eq!(
        audit_actions(&app, "case.access_report_resolved")
            .await
            .len(),
        1
    );

    // The resident's view shows the outcome; the open queue has one left.
    let own = gql(&app, Some(&w.resident.token), QUEUE, json!({})).await;
    assert_eq!(nodes(&own)[0]["status"], "RESOLVED");
    let open = gql(
        &app,
        Some(&w.staff.token),
        QUEUE,
        json!({ "filter": { "status": "OPEN" } }),
    )
    .await;
    assert_eq!(open.data()["caseAccessReports"]["totalCount"], 1);

    // Once resolved, a new report is a new report.
    let new = gql(
        &app,
        Some(&w.resident.token),
        REPORT,
        report_input(&w.case_id, None),
    )
    .await;
    assert_ne!(new.data()["reportUnrecognisedCase"]["id"], report["id"]);
    assert_eq!(app.run_pending_jobs().await, 1);
}

#[tokio::test]
async fn only_a_party_who_can_see_the_case_can_report_it_and_bad_input_stores_nothing() {
    let app = TestApp::init().await;
    let w = world(&app).await;
    let token = api_token(&app, w.org, &[Permission::ViewPayments]).await;

    for (who, code) in [
        (Some(w.other_resident.token.as_str()), "NOT_FOUND"),
        (Some(w.other_landlord.token.as_str()), "NOT_FOUND"),
        (Some(w.staff.token.as_str()), "FORBIDDEN"),
        (Some(token.as_str()), "FORBIDDEN"),
        (None, "UNAUTHENTICATED"),
    ] {
        let refused = gql(&app, who, REPORT, report_input(&w.case_id, None)).await;
        assert_eq!(refused.error_code(), code);
    }
    let unknown = gql(
        &app,
        Some(&w.resident.token),
        REPORT,
        report_input(&gid("Case", uuid::Uuid::now_v7()), None),
    )
    .await;
    assert_eq!(unknown.error_code(), "NOT_FOUND");
    let not_an_id = gql(
        &app,
        Some(&w.resident.token),
        REPORT,
        report_input("case-1", None),
    )
    .await;
    assert_eq!(not_an_id.error_code(), "NOT_FOUND");

    let long = "x".repeat(2001);
    let too_long = gql(
        &app,
        Some(&w.resident.token),
        REPORT,
        report_input(&w.case_id, Some(&long)),
    )
    .await;
    assert_eq!(too_long.error_code(), "BAD_USER_INPUT");
    assert_eq!(
        too_long.body["errors"][0]["extensions"]["field"],
        "input.comment"
    );
    let queue = gql(&app, Some(&token), QUEUE, json!({})).await;
    assert_eq!(queue.error_code(), "FORBIDDEN");

    assert!(reports(&app).await.is_empty(), "nothing stored");
    assert!(audit_actions(&app, "case.access_reported").await.is_empty());
    assert_eq!(app.run_pending_jobs().await, 0, "nobody emailed");
}

#[tokio::test]
async fn a_case_without_an_owner_alerts_the_service_administrators() {
    let app = TestApp::init().await;
    let admin = app.service_admin().await;
    let caseworker = app.caseworker().await;
    let resident = app.resident().await;
    let case = app
        .create_case("202600777", Some(resident.user.id), None, None)
        .await;
    // A closed case is still visible, and can still be reported.
    let closed = gql(
        &app,
        Some(&caseworker.token),
        "mutation($id: ID!) { closeCase(id: $id) { closedAt } }",
        json!({ "id": gid("Case", case.id) }),
    )
    .await;
    assert!(closed.data()["closeCase"]["closedAt"].is_string());

    let reported = gql(
        &app,
        Some(&resident.token),
        REPORT,
        report_input(&gid("Case", case.id), None),
    )
    .await;
    assert_eq!(
        reported.data()["reportUnrecognisedCase"]["assignedToName"],
        Value::Null
    );
    assert_eq!(app.run_pending_jobs().await, 1);
    let emails = app.emails().await;
    let to: Vec<&str> = emails.iter().map(|e| e.to.as_str()).collect();
    assert_eq!(
        to,
        vec![admin.user.email.as_str()],
        "service administrators, not every caseworker"
    );
    assert_eq!(
        case_access_report::Entity::find()
            .filter(case_access_report::Column::Status.eq(AccessReportStatus::Open))
            .count(app.db())
            .await
            .unwrap(),
        1
    );
}
