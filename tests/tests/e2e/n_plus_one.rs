//! No N+1: the SQL statements of a page of cases (with tasks, messages,
//! owner, parties, landlord, documents and unread counts), of a page of
//! message threads with their attachments (and, for staff, the notes), of
//! the home page (with "My tasks (1 of N)") and of "My tasks", and of the
//! tenancy lists (properties with their tenants, tenants with their
//! property, the to-do list with its tenant and property), and of the
//! webhook lists (endpoints with their latest deliveries, events with
//! theirs), do not grow with the page size; their totals cost one statement whatever the page.
//!
//! How statements are counted: SeaORM calls a connection's metric callback
//! (`DatabaseConnection::set_metric_callback`) once per statement it runs.
//! The test app's connection is cloned (same pool), the clone gets a
//! counting callback, and a second router is built on it with
//! `api::run::build_app`, so every statement of a request sent through that
//! router — authentication, the page query, every DataLoader batch — is
//! counted, and nothing else is.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use axum::{
    Router,
    body::Body,
    http::{Request, header},
};
use chrono::{Duration, Utc};
use entities::{
    DocumentCategory, PartyKind, ScanStatus, TaskStatus, case, case_note, case_party, document,
    message, message_read, organisation, task,
};
use http_body_util::BodyExt;
use portal_tests::{TestApp, fixtures::TestUser, gid};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

const CASES: &str = "query($first: Int) { cases(first: $first) { edges { node {
  reference type statusLabel complainantName landlordName nextTaskDueDate closedAt
  owner { name team role } resident { name address } landlord { name address }
  parties { kind name }
  nextTasks { title dueDate overdue assigneeName }
  tasks { title status case { reference } }
  messages { subject senderName read fromStaff repliedByMe canReply }
  details { type closedAt }
  documents { fileName scanStatus }
  unreadCount
} } } }";

const THREADS: &str = "query($first: Int) { cases(first: $first) { edges { node {
  reference
  messages { subject senderName recipients read attachments { fileName scanStatus category } }
} } } }";

const NOTES: &str = "query($first: Int) { cases(first: $first) { edges { node {
  reference notes { body authorName createdAt }
} } } }";

const HOME: &str = "query($first: Int) { home(first: $first) { totalCount edges { node {
  case { reference complainantName landlordName owner { name } myTaskCounts { outstanding total } }
  nextTask { title } dueDate overdue
} } } }";

const MY_TASKS: &str = "query($first: Int) { myTasks(first: $first) { totalCount edges { node {
  title dueDate overdue assigneeName case { reference landlordName }
} } } }";

/// The links of issue 16 §1 (`parentMessage`, `Document.message`,
/// `Task.sourceMessage`, `CaseParty.resident` and `organisation`), beside
/// the relations above.
const CASE_LINKS: &str = "query($first: Int) { cases(first: $first) { edges { node {
  reference
  parties { kind resident { id email } organisation { id name domains } }
  messages { subject parentMessage { id subject } }
  documents { fileName message { id subject } }
  tasks { title sourceMessage { id subject } }
} } } }";

const TASK_LINKS: &str = "query($first: Int) { myTasks(first: $first) { edges { node {
  title sourceMessage { id subject } case { reference }
} } } }";

const TENANCY_LINKS: &str = "query($first: Int) { properties(first: $first) { edges { node {
  reference organisation { name domains } tenants { organisation { id } }
} } } }";

const TENANT_LINKS: &str = "query($first: Int) { tenants(first: $first) { edges { node {
  name organisation { name domains }
} } } }";

const TODO_LINKS: &str = "query($first: Int) { tenancyRequests(first: $first) { edges { node {
  reasonLabel organisation { name } answeredBy { email permissions }
} } } }";

const PROPERTIES: &str =
    "query($first: Int) { properties(first: $first) { totalCount edges { node {
  reference tenants { name property { reference } }
} } } }";

const TENANTS: &str = "query($first: Int) { tenants(first: $first) { totalCount edges { node {
  name property { reference tenants { name } }
} } } }";

const TODO: &str = "query($first: Int) { tenancyRequests(first: $first) { totalCount edges { node {
  reasonLabel tenantName tenant { property { reference } } property { reference postcode }
} } } }";

/// A router whose every SQL statement is counted.
struct Counted {
    router: Router,
    statements: Arc<AtomicUsize>,
}

impl Counted {
    async fn new(app: &TestApp) -> Self {
        let statements = Arc::new(AtomicUsize::new(0));
        let mut db = app.db().clone();
        let counter = statements.clone();
        db.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        let state = api::run::build_app(app.state.config.clone(), db, app.state.queue.clone())
            .await
            .expect("build app");
        Self {
            router: api::http::router(state),
            statements,
        }
    }

    /// Runs `query` with `first` and returns (statements, response).
    async fn run(&self, user: &TestUser, query: &str, first: usize) -> (usize, Value) {
        self.run_with(user, query, json!({ "first": first })).await
    }

    /// Runs `query` with `variables` and returns (statements, response).
    async fn run_with(&self, user: &TestUser, query: &str, variables: Value) -> (usize, Value) {
        let before = self.statements.load(Ordering::SeqCst);
        let body = json!({ "query": query, "variables": variables });
        let response = self
            .router
            .clone()
            .oneshot(
                Request::post("/graphql")
                    .header(header::CONTENT_TYPE, "application/json")
                    .header(header::AUTHORIZATION, format!("Bearer {}", user.token))
                    .body(Body::from(body.to_string()))
                    .unwrap(),
            )
            .await
            .unwrap();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        assert!(value.get("errors").is_none(), "{value:#}");
        (self.statements.load(Ordering::SeqCst) - before, value)
    }
}

/// `n` open cases between `resident` and a landlord, owned by `owner`, each
/// with a task for each party, a staff message with an attachment and a
/// reply, and a staff note.
async fn seed(app: &TestApp, n: usize, owner: &TestUser, resident: &TestUser) {
    let now = Utc::now();
    let org = organisation::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set("Northside Housing".into()),
        address: Set("1 High Street".into()),
        requires_two_factor: Set(false),
        two_factor_methods: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(app.db())
    .await
    .unwrap();
    let (mut cases, mut parties, mut tasks, mut messages) = (vec![], vec![], vec![], vec![]);
    let (mut documents, mut notes) = (vec![], vec![]);
    for i in 0..n {
        let id = Uuid::now_v7();
        cases.push(case::ActiveModel {
            id: Set(id),
            reference: Set(format!("2026{:05}", i + 1)),
            case_type: Set("Complaint about a member landlord".into()),
            stage: Set("DR2 Review".into()),
            status_label: Set("Case under assessment".into()),
            category: Set("Damp and mould".into()),
            landlord_organisation_id: Set(Some(org.id)),
            owner_user_id: Set(Some(owner.user.id)),
            closed_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            status_label_before_close: Set(None),
        });
        let resident_party = Uuid::now_v7();
        let staff_message = Uuid::now_v7();
        for (party_id, kind, user, organisation) in [
            (
                resident_party,
                PartyKind::Resident,
                Some(resident.user.id),
                None,
            ),
            (Uuid::now_v7(), PartyKind::Landlord, None, Some(org.id)),
        ] {
            parties.push(case_party::ActiveModel {
                id: Set(party_id),
                case_id: Set(id),
                party_kind: Set(kind),
                user_id: Set(user),
                organisation_id: Set(organisation),
                created_at: Set(now),
            });
            tasks.push(task::ActiveModel {
                id: Set(Uuid::now_v7()),
                case_id: Set(id),
                title: Set("Upload documents".into()),
                description: Set(None),
                due_date: Set(now.date_naive() + Duration::days(i as i64 % 7 - 2)),
                status: Set(TaskStatus::Pending),
                assignee_kind: Set(kind),
                assignee_user_id: Set(user),
                assignee_organisation_id: Set(organisation),
                // "Read message": the staff message, sent to both parties.
                source_message_id: Set(Some(staff_message)),
                unable_reason: Set(None),
                completed_at: Set(None),
                completed_by_user_id: Set(None),
                reviewed_at: Set(None),
                reviewed_by_user_id: Set(None),
                due_soon_reminded_at: Set(None),
                overdue_reminded_at: Set(None),
                created_by_user_id: Set(Some(owner.user.id)),
                created_at: Set(now),
                updated_at: Set(now),
            });
        }
        let doc = Uuid::now_v7();
        documents.push(document::ActiveModel {
            id: Set(doc),
            case_id: Set(Some(id)),
            message_id: Set(Some(staff_message)),
            payment_arrangement_id: Set(None),
            uploaded_by_user_id: Set(owner.user.id),
            original_filename: Set("Letter.pdf".into()),
            content_type: Set("application/pdf".into()),
            category: Set(DocumentCategory::Correspondence),
            size_bytes: Set(100),
            sha256: Set("0".repeat(64)),
            storage_key: Set(format!("documents/{doc}")),
            scan_status: Set(ScanStatus::Clean),
            scan_detail: Set(None),
            scanned_at: Set(Some(now)),
            shared_with_parties: Set(true),
            created_at: Set(now),
        });
        notes.push(case_note::ActiveModel {
            id: Set(Uuid::now_v7()),
            case_id: Set(id),
            author_user_id: Set(owner.user.id),
            body: Set("Called the resident.".into()),
            created_at: Set(now),
        });
        for (message_id, sender, parent, party) in [
            (staff_message, owner.user.id, None, None),
            (
                Uuid::now_v7(),
                resident.user.id,
                Some(staff_message),
                Some(resident_party),
            ),
        ] {
            messages.push(message::ActiveModel {
                id: Set(message_id),
                case_id: Set(id),
                sender_user_id: Set(sender),
                parent_message_id: Set(parent),
                replying_party_id: Set(party),
                subject: Set(Some("Evidence requested".into())),
                body: Set("Please send the survey.".into()),
                created_at: Set(now),
                to_resident: Set(parent.is_none()),
                to_landlord: Set(parent.is_none()),
            });
        }
    }
    case::Entity::insert_many(cases)
        .exec(app.db())
        .await
        .unwrap();
    for chunk in parties.chunks(200) {
        case_party::Entity::insert_many(chunk.to_vec())
            .exec(app.db())
            .await
            .unwrap();
    }
    for chunk in messages.chunks(200) {
        message::Entity::insert_many(chunk.to_vec())
            .exec(app.db())
            .await
            .unwrap();
    }
    for chunk in tasks.chunks(100) {
        task::Entity::insert_many(chunk.to_vec())
            .exec(app.db())
            .await
            .unwrap();
    }
    for chunk in documents.chunks(100) {
        document::Entity::insert_many(chunk.to_vec())
            .exec(app.db())
            .await
            .unwrap();
    }
    for chunk in notes.chunks(200) {
        case_note::Entity::insert_many(chunk.to_vec())
            .exec(app.db())
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn statements_per_page_do_not_grow_with_the_page_size() {
    let app = TestApp::init().await;
    let owner = app.caseworker().await;
    let resident = app.resident().await;
    seed(&app, 100, &owner, &resident).await;
    let counted = Counted::new(&app).await;

    for (user, who) in [(&resident, "resident"), (&owner, "staff")] {
        for (query, name, root) in [
            (CASES, "cases", "cases"),
            (HOME, "home", "home"),
            (MY_TASKS, "myTasks", "myTasks"),
        ] {
            let (small, page) = counted.run(user, query, 20).await;
            assert_eq!(
                page["data"][root]["edges"].as_array().map(Vec::len),
                Some(20)
            );
            let (large, page) = counted.run(user, query, 100).await;
            assert_eq!(
                page["data"][root]["edges"].as_array().map(Vec::len),
                Some(100)
            );
            assert_eq!(
                small, large,
                "{name} as {who}: 20 rows cost {small} statements, 100 rows {large}"
            );
            // One per relation (and per relation of a relation), plus sign-in.
            assert!(small <= 16, "{name} as {who}: {small} statements");
        }
    }
}

#[tokio::test]
async fn threads_with_attachments_and_notes_cost_the_same_for_any_page_size() {
    let app = TestApp::init().await;
    let owner = app.caseworker().await;
    let resident = app.resident().await;
    seed(&app, 100, &owner, &resident).await;
    let counted = Counted::new(&app).await;

    for (user, who, query, name) in [
        (&resident, "resident", THREADS, "threads"),
        (&owner, "staff", THREADS, "threads"),
        (&owner, "staff", NOTES, "notes"),
    ] {
        let (small, page) = counted.run(user, query, 20).await;
        let first = &page["data"]["cases"]["edges"][0]["node"];
        if name == "threads" {
            assert_eq!(
                first["messages"][0]["attachments"][0]["fileName"],
                "Letter.pdf"
            );
        } else {
            assert_eq!(first["notes"][0]["authorName"], "Test Staff");
        }
        let (large, _) = counted.run(user, query, 100).await;
        assert_eq!(
            small, large,
            "{name} as {who}: 20 rows cost {small} statements, 100 rows {large}"
        );
        assert!(small <= 10, "{name} as {who}: {small} statements");
    }
}

#[tokio::test]
async fn tenancy_relations_do_not_grow_with_the_page_size() {
    use crate::support::tenancy::{organisation as new_organisation, property, tenant};
    use entities::{Permission, TenancyRequestReason, TenancyRequestStatus, tenancy_request};

    let app = TestApp::init().await;
    let staff = app.caseworker().await;
    let org = new_organisation(&app).await;
    let reader = app.landlord_user(org, &[Permission::ViewPayments]).await;
    let now = Utc::now();
    let mut requests = vec![];
    for i in 0..100 {
        let home = property(&app, org, &format!("P-{i:03}"), "LS1 4AP").await;
        let t = tenant(
            &app,
            org,
            "Tenant",
            &format!("{i:03}"),
            &format!("UC-{i:03}"),
            Some(home.id),
        )
        .await;
        requests.push(tenancy_request::ActiveModel {
            id: Set(Uuid::now_v7()),
            organisation_id: Set(org),
            tenant_id: Set(t.id),
            postcode: Set("LS1 4AP".into()),
            status: Set(TenancyRequestStatus::Open),
            reason: Set(TenancyRequestReason::NewClaim),
            property_id: Set(Some(home.id)),
            due_date: Set(now.date_naive()),
            created_by_user_id: Set(Some(staff.user.id)),
            answered_by_user_id: Set(None),
            answered_at: Set(None),
            tenancy_start_date: Set(None),
            rent_pence: Set(None),
            rent_frequency: Set(None),
            service_charge_pence: Set(None),
            in_arrears: Set(None),
            arrears_pence: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        });
    }
    for chunk in requests.chunks(50) {
        tenancy_request::Entity::insert_many(chunk.to_vec())
            .exec(app.db())
            .await
            .unwrap();
    }
    let counted = Counted::new(&app).await;
    for (user, who) in [(&reader, "landlord"), (&staff, "staff")] {
        for (query, root) in [
            (PROPERTIES, "properties"),
            (TENANTS, "tenants"),
            (TODO, "tenancyRequests"),
        ] {
            let (small, page) = counted.run(user, query, 20).await;
            assert_eq!(page["data"][root]["totalCount"], json!(100));
            assert_eq!(
                page["data"][root]["edges"].as_array().map(Vec::len),
                Some(20)
            );
            let (large, page) = counted.run(user, query, 100).await;
            assert_eq!(
                page["data"][root]["edges"].as_array().map(Vec::len),
                Some(100)
            );
            assert_eq!(
                small, large,
                "{root} as {who}: 20 rows cost {small} statements, 100 rows {large}"
            );
            // Sign-in, the page, the total and one per relation.
            assert!(small <= 8, "{root} as {who}: {small} statements");
        }
    }
}

#[tokio::test]
async fn links_of_a_page_of_fifty_cost_the_same_as_of_ten() {
    let app = TestApp::init().await;
    let owner = app.caseworker().await;
    let resident = app.resident().await;
    seed(&app, 50, &owner, &resident).await;
    let counted = Counted::new(&app).await;

    for (user, who) in [(&resident, "resident"), (&owner, "staff")] {
        for (query, root) in [(CASE_LINKS, "cases"), (TASK_LINKS, "myTasks")] {
            let (small, _) = counted.run(user, query, 10).await;
            let (large, page) = counted.run(user, query, 50).await;
            let edges = page["data"][root]["edges"].as_array().unwrap();
            assert_eq!(edges.len(), 50, "{root} as {who}");
            if root == "cases" {
                let case = &edges[0]["node"];
                assert!(
                    case["messages"][1]["parentMessage"]["id"].is_string(),
                    "{case}"
                );
                assert!(case["documents"][0]["message"]["id"].is_string(), "{case}");
                assert!(
                    case["tasks"][0]["sourceMessage"]["id"].is_string(),
                    "{case}"
                );
                let parties = case["parties"].as_array().unwrap();
                let staff = who == "staff";
                // Staff see the resident's account and the organisation; a
                // resident neither.
                assert_eq!(
                    parties.iter().any(|p| p["resident"]["email"].is_string()),
                    staff,
                    "{case}"
                );
                assert_eq!(
                    parties
                        .iter()
                        .any(|p| p["organisation"]["name"] == "Northside Housing"),
                    staff,
                    "{case}"
                );
            } else {
                assert!(edges[0]["node"]["sourceMessage"]["id"].is_string());
            }
            assert_eq!(
                small, large,
                "{root} as {who}: 10 rows cost {small} statements, 50 rows {large}"
            );
            assert!(small <= 16, "{root} as {who}: {small} statements");
        }
    }
}

#[tokio::test]
async fn tenancy_links_of_a_page_of_fifty_cost_the_same_as_of_ten() {
    use crate::support::tenancy::{organisation as new_organisation, property, tenant};
    use entities::{Permission, TenancyRequestReason, TenancyRequestStatus, tenancy_request};

    let app = TestApp::init().await;
    let staff = app.caseworker().await;
    let mut requests = vec![];
    let now = Utc::now();
    // Five organisations, so that staff lists span several of them.
    let mut admins = vec![];
    for o in 0..5 {
        let org = new_organisation(&app).await;
        let admin = app
            .landlord_user(
                org,
                &[Permission::ManageUsers, Permission::ProvideTenancyDetails],
            )
            .await;
        for i in 0..10 {
            let home = property(&app, org, &format!("P-{o}{i:02}"), "LS1 4AP").await;
            let t = tenant(
                &app,
                org,
                "Tenant",
                &format!("{o}{i:02}"),
                &format!("UC-{o}{i:02}"),
                Some(home.id),
            )
            .await;
            requests.push(tenancy_request::ActiveModel {
                id: Set(Uuid::now_v7()),
                organisation_id: Set(org),
                tenant_id: Set(t.id),
                postcode: Set("LS1 4AP".into()),
                status: Set(TenancyRequestStatus::NotTenant),
                reason: Set(TenancyRequestReason::NewClaim),
                property_id: Set(Some(home.id)),
                due_date: Set(now.date_naive()),
                created_by_user_id: Set(Some(staff.user.id)),
                answered_by_user_id: Set(Some(admin.user.id)),
                answered_at: Set(Some(now)),
                tenancy_start_date: Set(None),
                rent_pence: Set(None),
                rent_frequency: Set(None),
                service_charge_pence: Set(None),
                in_arrears: Set(None),
                arrears_pence: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            });
        }
        admins.push(admin);
    }
    tenancy_request::Entity::insert_many(requests)
        .exec(app.db())
        .await
        .unwrap();
    let counted = Counted::new(&app).await;
    for (user, who) in [(&admins[0], "landlord"), (&staff, "staff")] {
        for (query, root) in [
            (TENANCY_LINKS, "properties"),
            (TENANT_LINKS, "tenants"),
            (TODO_LINKS, "tenancyRequests"),
        ] {
            let (small, _) = counted.run(user, query, 10).await;
            let (large, page) = counted.run(user, query, 50).await;
            let edges = page["data"][root]["edges"].as_array().unwrap();
            let expected = if who == "staff" { 50 } else { 10 };
            assert_eq!(edges.len(), expected, "{root} as {who}");
            assert!(
                edges
                    .iter()
                    .all(|e| e["node"]["organisation"]["name"].is_string()),
                "{root} as {who}"
            );
            if root == "tenancyRequests" {
                assert!(
                    edges
                        .iter()
                        .all(|e| e["node"]["answeredBy"]["email"].is_string()),
                    "{root} as {who}"
                );
            }
            assert_eq!(
                small, large,
                "{root} as {who}: 10 rows cost {small} statements, 50 rows {large}"
            );
            // Sign-in, the page, the total and two per link (the rows, then
            // their domains or permissions).
            assert!(small <= 10, "{root} as {who}: {small} statements");
        }
    }
}

const NODES: &str = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id
  ... on Case { reference } ... on Message { subject } ... on Organisation { name } } }";

#[tokio::test]
async fn nodes_loads_each_kind_in_one_statement_whatever_the_number_of_ids() {
    let app = TestApp::init().await;
    let owner = app.caseworker().await;
    let resident = app.resident().await;
    seed(&app, 50, &owner, &resident).await;
    let counted = Counted::new(&app).await;
    let cases = case::Entity::find().all(app.db()).await.unwrap();
    let messages = message::Entity::find().all(app.db()).await.unwrap();
    let org = organisation::Entity::find()
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    // `n` cases, `n` messages and the organisation (asked for `n` times).
    let ids = |n: usize| -> Vec<String> {
        let mut ids: Vec<String> = cases[..n].iter().map(|c| gid("Case", c.id)).collect();
        ids.extend(messages[..n].iter().map(|m| gid("Message", m.id)));
        ids.extend((0..n / 10).map(|_| gid("Organisation", org.id)));
        ids
    };
    let run = |ids: Vec<String>| {
        let counted = &counted;
        let owner = &owner;
        async move {
            let before = counted.statements.load(Ordering::SeqCst);
            let body = json!({ "query": NODES, "variables": { "ids": ids } });
            let response = counted
                .router
                .clone()
                .oneshot(
                    Request::post("/graphql")
                        .header(header::CONTENT_TYPE, "application/json")
                        .header(header::AUTHORIZATION, format!("Bearer {}", owner.token))
                        .body(Body::from(body.to_string()))
                        .unwrap(),
                )
                .await
                .unwrap();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            let value: Value = serde_json::from_slice(&bytes).unwrap();
            assert!(value.get("errors").is_none(), "{value:#}");
            (counted.statements.load(Ordering::SeqCst) - before, value)
        }
    };
    let (small, _) = run(ids(10)).await;
    let (large, page) = run(ids(45)).await;
    let nodes = page["data"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 94);
    assert!(
        nodes[..45]
            .iter()
            .all(|n| n["__typename"] == "Case" && n["reference"].is_string())
    );
    assert!(nodes[45..90].iter().all(|n| n["__typename"] == "Message"));
    assert!(nodes[90..].iter().all(|n| n["name"] == "Northside Housing"));
    assert_eq!(
        small, large,
        "10 ids of each cost {small} statements, 45 {large}"
    );
    // Sign-in, then one per kind (two for organisations: their domains).
    assert!(small <= 8, "{small} statements");
}

const WEBHOOK_ENDPOINTS: &str =
    "query($first: Int) { webhookEndpoints(first: $first) { edges { node {
  id url enabled eventTypes
  deliveries(first: 3) { edges { node {
    status attemptCount lastStatusCode attempts { attempt statusCode error }
    event { typeName data deliveries { status endpointId } }
  } } }
} } } }";

const ORGANISATION_WEBHOOKS: &str = "query($first: Int) { myOrganisation {
  webhookEndpoints(first: $first) { nodes {
    url deliveries(first: 2, status: SUCCEEDED) { nodes { attemptCount event { typeName } } }
  } }
} }";

const WEBHOOK_EVENTS: &str = "query($first: Int) { webhookEvents(first: $first) { edges { node {
  typeName deliveries { status attempts { statusCode } event { id deliveries { id } } }
} } } }";

/// `n` endpoints of `org`, each with two events of its own (one delivered
/// at the second attempt, one pending after a failure), and one event
/// delivered to every endpoint.
async fn seed_webhooks(app: &TestApp, org: Uuid, n: usize) {
    use api::webhooks::signing;
    use entities::{
        WebhookDeliveryStatus, WebhookEventType, webhook_attempt, webhook_delivery,
        webhook_endpoint, webhook_event,
    };
    let key = signing::ServerKey::load(app.config()).unwrap();
    let now = Utc::now();
    let event = |data: Value| webhook_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        organisation_id: Set(org),
        event_type: Set(WebhookEventType::PaymentsRecorded),
        version: Set(1),
        data: Set(data),
        created_at: Set(now),
    };
    let shared = event(json!({ "count": 1 })).insert(app.db()).await.unwrap();
    for i in 0..n {
        let endpoint = webhook_endpoint::ActiveModel {
            id: Set(Uuid::now_v7()),
            organisation_id: Set(org),
            url: Set(format!("https://hooks.partner.invalid/{i}")),
            description: Set(None),
            event_types: Set(json!(["payments.recorded"])),
            enabled: Set(true),
            disabled_reason: Set(None),
            disabled_at: Set(None),
            secret_sealed: Set(signing::seal(&key, &signing::new_secret())),
            previous_secret_sealed: Set(None),
            previous_secret_expires_at: Set(None),
            failing_since: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(app.db())
        .await
        .unwrap();
        let own = [
            event(json!({ "count": 2 })).insert(app.db()).await.unwrap(),
            event(json!({ "count": 3 })).insert(app.db()).await.unwrap(),
        ];
        for (event_id, status, codes) in [
            (
                own[0].id,
                WebhookDeliveryStatus::Succeeded,
                &[Some(500), Some(200)][..],
            ),
            (own[1].id, WebhookDeliveryStatus::Pending, &[None][..]),
            (
                shared.id,
                WebhookDeliveryStatus::Succeeded,
                &[Some(204)][..],
            ),
        ] {
            let delivery = webhook_delivery::ActiveModel {
                id: Set(Uuid::now_v7()),
                event_id: Set(event_id),
                endpoint_id: Set(endpoint.id),
                status: Set(status),
                attempts: Set(codes.len() as i32),
                next_attempt_at: Set(None),
                last_status_code: Set(*codes.last().unwrap()),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(app.db())
            .await
            .unwrap();
            for (number, code) in codes.iter().enumerate() {
                webhook_attempt::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    delivery_id: Set(delivery.id),
                    attempt: Set(number as i32 + 1),
                    started_at: Set(now),
                    status_code: Set(*code),
                    latency_ms: Set(Some(12)),
                    response_excerpt: Set(None),
                    error: Set(code.is_none().then(|| "timed out".to_owned())),
                }
                .insert(app.db())
                .await
                .unwrap();
            }
        }
    }
}

#[tokio::test]
async fn webhook_lists_with_their_deliveries_cost_the_same_for_ten_or_forty_rows() {
    // Forty events with their deliveries and each delivery's event's
    // deliveries weigh more than the default budget; what is counted here
    // is statements, not cost.
    let app = TestApp::builder()
        .env("PORTAL_MAX_QUERY_COMPLEXITY", "20000")
        .build()
        .await;
    let org = app.create_organisation(&["landlord.example"], false).await;
    let manager = app
        .landlord_user(org, &[entities::Permission::ManageWebhooks])
        .await;
    seed_webhooks(&app, org, 40).await;
    let counted = Counted::new(&app).await;

    // The endpoints with their latest deliveries, their events and the
    // events' deliveries.
    let (small, page) = counted.run(&manager, WEBHOOK_ENDPOINTS, 10).await;
    assert_eq!(
        page["data"]["webhookEndpoints"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
    let (large, page) = counted.run(&manager, WEBHOOK_ENDPOINTS, 40).await;
    let edges = page["data"]["webhookEndpoints"]["edges"]
        .as_array()
        .unwrap();
    assert_eq!(edges.len(), 40);
    for edge in edges {
        let deliveries = edge["node"]["deliveries"]["edges"].as_array().unwrap();
        assert_eq!(deliveries.len(), 3, "{edge:#}");
        // Newest first: the shared event's, then the endpoint's own two.
        let shared = &deliveries[0]["node"];
        assert_eq!(shared["event"]["deliveries"].as_array().unwrap().len(), 40);
        assert_eq!(shared["attempts"][0]["statusCode"], json!(204));
        let first_own = &deliveries[2]["node"];
        assert_eq!(first_own["attemptCount"], json!(2));
        assert_eq!(
            first_own["attempts"],
            json!([
                { "attempt": 1, "statusCode": 500, "error": null },
                { "attempt": 2, "statusCode": 200, "error": null },
            ])
        );
        assert_eq!(
            first_own["event"]["deliveries"],
            json!([{ "status": "SUCCEEDED", "endpointId": edge["node"]["id"] }])
        );
    }
    assert_eq!(
        small, large,
        "webhookEndpoints: 10 rows {small}, 40 rows {large}"
    );
    assert!(small <= 12, "webhookEndpoints: {small} statements");

    // The same through the organisation, filtered by state.
    let (small, _) = counted.run(&manager, ORGANISATION_WEBHOOKS, 10).await;
    let (large, page) = counted.run(&manager, ORGANISATION_WEBHOOKS, 40).await;
    let nodes = page["data"]["myOrganisation"]["webhookEndpoints"]["nodes"]
        .as_array()
        .unwrap();
    assert_eq!(nodes.len(), 40);
    assert!(nodes.iter().all(|n| {
        n["deliveries"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["attemptCount"].as_i64().unwrap())
            .collect::<Vec<_>>()
            == [1, 2]
    }));
    assert_eq!(
        small, large,
        "Organisation.webhookEndpoints: 10 rows {small}, 40 rows {large}"
    );
    assert!(
        small <= 12,
        "Organisation.webhookEndpoints: {small} statements"
    );

    // The events with their deliveries, and each delivery's event's.
    let (small, _) = counted.run(&manager, WEBHOOK_EVENTS, 10).await;
    let (large, page) = counted.run(&manager, WEBHOOK_EVENTS, 40).await;
    assert_eq!(
        page["data"]["webhookEvents"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        40
    );
    assert_eq!(
        small, large,
        "webhookEvents: 10 rows {small}, 40 rows {large}"
    );
    assert!(small <= 10, "webhookEvents: {small} statements");
}

/// The home page as `bench cases` asks for it (bench/src/cases.rs `HOME`,
/// with the page size as a variable).
const BENCH_HOME: &str = "query Home($first: Int) { home(first: $first) { edges { node {
  case { id reference type statusLabel complainantName landlordName }
  nextTask { id title dueDate } dueDate overdue } } pageInfo { hasNextPage endCursor } } }";

/// The case page as `bench cases` and the suite ask for it
/// (bench/src/cases.rs `CASE`).
const BENCH_CASE: &str = "query CasePage($id: ID!) { case(id: $id) {
  id reference type stage statusLabel category createdAt closedAt
  owner { id name team role } resident { name address } landlord { name address }
  nextTasks { id title dueDate status overdue }
  tasks { id title dueDate status overdue assigneeKind assigneeName }
  messages { id subject body createdAt fromStaff senderName read } unreadCount } }";

/// Every case's unread count, through the list's own counting statement
/// (no messages asked for).
const UNREAD: &str = "query($first: Int) { cases(first: $first) { edges { node {
  id reference unreadCount
} } } }";

/// What is counted: every SQL statement the request runs, from the session
/// lookup (one statement: the session with its user and permissions) to the
/// last loader batch, for the resident and for staff.
///
/// - `home(first: 50)`: 4 = authentication + the page of cases (with the
///   next due date as its sort key) + the parties with their users and
///   organisations (complainant and landlord names) + the tasks (next task).
/// - the case page: 5 = authentication + the case with its owner + the
///   parties with their users and organisations (resident, landlord) + the
///   tasks with their assignees + the messages with their senders and the
///   reader's read receipts (`read`, and `unreadCount` counted from them).
///   It was 8: the owner, the assignees and the senders (one statement), the
///   read receipts and the unread count were three more.
#[tokio::test]
async fn home_of_fifty_and_the_case_page_cost_four_and_five_statements() {
    let app = TestApp::init().await;
    let owner = app.caseworker().await;
    let resident = app.resident().await;
    seed(&app, 60, &owner, &resident).await;
    // Read receipts: the resident has read the staff message of every even
    // case, the caseworker the resident's reply on every third.
    let mut cases = case::Entity::find().all(app.db()).await.unwrap();
    cases.sort_by(|a, b| a.reference.cmp(&b.reference));
    let messages = message::Entity::find().all(app.db()).await.unwrap();
    let mut receipts = vec![];
    for (i, c) in cases.iter().enumerate() {
        for m in messages.iter().filter(|m| m.case_id == c.id) {
            let reader = match m.parent_message_id {
                None if i.is_multiple_of(2) => resident.user.id,
                Some(_) if i.is_multiple_of(3) => owner.user.id,
                _ => continue,
            };
            receipts.push(message_read::ActiveModel {
                message_id: Set(m.id),
                user_id: Set(reader),
                read_at: Set(Utc::now()),
            });
        }
    }
    message_read::Entity::insert_many(receipts)
        .exec(app.db())
        .await
        .unwrap();
    let counted = Counted::new(&app).await;

    for (user, who) in [(&resident, "resident"), (&owner, "staff")] {
        let (statements, page) = counted.run(user, BENCH_HOME, 50).await;
        let edges = page["data"]["home"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), 50, "home as {who}");
        assert!(
            edges
                .iter()
                .all(|e| e["node"]["case"]["complainantName"] == "Test Resident"
                    && e["node"]["case"]["landlordName"] == "Northside Housing"
                    && e["node"]["nextTask"]["title"] == "Upload documents"),
            "home as {who}: {page}"
        );
        assert_eq!(
            statements, 4,
            "home(first: 50) as {who}: authentication and at most 3 statements"
        );

        // The list's own unread counts (its COUNT statement), to compare the
        // case page's (counted from the rows it loads) with.
        let (_, list) = counted.run(user, UNREAD, 60).await;
        let list = list["data"]["cases"]["edges"].as_array().unwrap().clone();
        assert_eq!(list.len(), 60);
        let mut unread_total = 0;
        for (i, edge) in list.iter().enumerate() {
            let node = &edge["node"];
            let (statements, page) = counted
                .run_with(user, BENCH_CASE, json!({ "id": node["id"] }))
                .await;
            let case = &page["data"]["case"];
            assert_eq!(case["reference"], node["reference"]);
            assert_eq!(
                case["unreadCount"], node["unreadCount"],
                "case {i} as {who}: {case}"
            );
            unread_total += case["unreadCount"].as_i64().unwrap();
            assert_eq!(case["owner"]["name"], "Test Staff", "{case}");
            assert_eq!(case["resident"]["name"], "Test Resident", "{case}");
            assert_eq!(case["landlord"]["name"], "Northside Housing", "{case}");
            let tasks = case["tasks"].as_array().unwrap();
            let messages = case["messages"].as_array().unwrap();
            let senders: Vec<&Value> = messages.iter().map(|m| &m["senderName"]).collect();
            let reads: Vec<&Value> = messages.iter().map(|m| &m["read"]).collect();
            let index: usize = case["reference"].as_str().unwrap()[4..].parse().unwrap();
            let i = index - 1;
            if who == "resident" {
                // Their own task and both messages (the staff message and
                // their reply, which counts as read).
                assert_eq!(tasks.len(), 1, "{case}");
                assert_eq!(tasks[0]["assigneeName"], "Test Resident", "{case}");
                assert_eq!(senders, [&json!("Test Staff"), &json!("Test Resident")]);
                assert_eq!(reads, [&json!(i.is_multiple_of(2)), &json!(true)], "{case}");
            } else {
                // Both parties' tasks; the staff message is their own.
                let mut names: Vec<&str> = tasks
                    .iter()
                    .map(|t| t["assigneeName"].as_str().unwrap())
                    .collect();
                names.sort_unstable();
                assert_eq!(names, ["Northside Housing", "Test Resident"], "{case}");
                assert_eq!(reads, [&json!(true), &json!(i.is_multiple_of(3))], "{case}");
            }
            assert_eq!(
                statements, 5,
                "the case page as {who}: authentication and 4 statements"
            );
        }
        // Unread: the staff message for the resident on odd cases, the reply
        // for staff on cases not divisible by three.
        let expected = if who == "resident" { 30 } else { 40 };
        assert_eq!(unread_total, expected, "{who}");
    }
}
