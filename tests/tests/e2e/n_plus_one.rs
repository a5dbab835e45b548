//! No N+1: the SQL statements of a page of cases (with tasks, messages,
//! owner, parties, landlord, documents and unread counts), of the home page and of "My
//! tasks" do not grow with the page size.
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
use entities::{PartyKind, TaskStatus, case, case_party, message, organisation, task};
use http_body_util::BodyExt;
use portal_tests::{TestApp, fixtures::TestUser};
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

const HOME: &str = "query($first: Int) { home(first: $first) { edges { node {
  case { reference complainantName landlordName owner { name } }
  nextTask { title } dueDate overdue
} } } }";

const MY_TASKS: &str = "query($first: Int) { myTasks(first: $first) { edges { node {
  title dueDate overdue assigneeName case { reference landlordName }
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
        let before = self.statements.load(Ordering::SeqCst);
        let body = json!({ "query": query, "variables": { "first": first } });
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
/// with a task for each party and a staff message with a reply.
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
        });
        let resident_party = Uuid::now_v7();
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
                source_message_id: Set(None),
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
        let staff_message = Uuid::now_v7();
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
