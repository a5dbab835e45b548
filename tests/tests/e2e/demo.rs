//! The embedded mode's demo data: loading it once gives every role something
//! to look at, every demo login works, and loading it again changes nothing.

use std::collections::{BTreeMap, HashSet};

use entities::{
    ArrangementStatus, PartyKind, Permission, ScanStatus, TaskStatus, TenancyRequestStatus,
    UserKind, UserStatus, prelude::*, user, user_permission,
};
use portal_tests::TestApp;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

/// Row counts of every table the demo data writes.
async fn counts(app: &TestApp) -> BTreeMap<&'static str, u64> {
    let db = app.db();
    BTreeMap::from([
        (
            "organisations",
            Organisation::find().count(db).await.unwrap(),
        ),
        (
            "organisation_domains",
            OrganisationDomain::find().count(db).await.unwrap(),
        ),
        ("users", User::find().count(db).await.unwrap()),
        (
            "user_permissions",
            UserPermission::find().count(db).await.unwrap(),
        ),
        ("cases", Case::find().count(db).await.unwrap()),
        ("case_parties", CaseParty::find().count(db).await.unwrap()),
        ("case_notes", CaseNote::find().count(db).await.unwrap()),
        ("tasks", Task::find().count(db).await.unwrap()),
        ("messages", Message::find().count(db).await.unwrap()),
        (
            "message_reads",
            MessageRead::find().count(db).await.unwrap(),
        ),
        ("documents", Document::find().count(db).await.unwrap()),
        ("properties", Property::find().count(db).await.unwrap()),
        ("tenants", Tenant::find().count(db).await.unwrap()),
        (
            "tenancy_requests",
            TenancyRequest::find().count(db).await.unwrap(),
        ),
        (
            "payment_arrangements",
            PaymentArrangement::find().count(db).await.unwrap(),
        ),
        (
            "payment_arrangement_events",
            PaymentArrangementEvent::find().count(db).await.unwrap(),
        ),
        ("payments", Payment::find().count(db).await.unwrap()),
        ("outbox_jobs", OutboxJob::find().count(db).await.unwrap()),
    ])
}

#[tokio::test]
async fn the_demo_data_is_seeded_once_with_a_login_for_every_role() {
    let app = TestApp::init().await;
    let logins = api::demo::load_demo_data(app.db(), app.config())
        .await
        .unwrap()
        .expect("a fresh database is seeded");
    let seeded = counts(&app).await;
    assert!(seeded["organisations"] >= 2, "{seeded:?}");
    assert!(seeded["cases"] >= 6, "{seeded:?}");
    assert!(seeded["payments"] >= 60, "{seeded:?}");
    assert_eq!(seeded["outbox_jobs"], 0, "seeding sends nothing");

    // Every listed login exists, is active, and has a password.
    assert_eq!(logins.password, api::demo::DEMO_PASSWORD);
    assert_eq!(logins.accounts, api::demo::DemoLogins::known().accounts);
    let users = User::find().all(app.db()).await.unwrap();
    assert_eq!(
        users.len(),
        logins.accounts.len(),
        "every demo user is listed"
    );
    for (who, email) in &logins.accounts {
        let user = users
            .iter()
            .find(|u| u.email_normalized == *email)
            .unwrap_or_else(|| panic!("{who}"));
        assert_eq!(user.status, UserStatus::Active, "{who}");
        assert!(user.password_hash.is_some(), "{who}");
        assert!(
            user.last_login_at.is_some(),
            "{who} is not swept as inactive"
        );
    }
    let (_, resident_email) = logins
        .accounts
        .iter()
        .find(|(who, _)| who.starts_with("Resident"))
        .unwrap();
    let resident = users
        .iter()
        .find(|u| u.email_normalized == *resident_email)
        .unwrap();
    let hash = resident.password_hash.clone().unwrap();
    assert!(
        api::auth::password::verify(api::demo::DEMO_PASSWORD.into(), hash)
            .await
            .unwrap()
    );
    for kind in [UserKind::Staff, UserKind::Landlord, UserKind::Resident] {
        assert!(users.iter().any(|u| u.kind == kind), "a {kind} user");
    }

    // Each organisation holds every permission between its users, and has a
    // user with none (who sees cases only).
    let organisations = Organisation::find().all(app.db()).await.unwrap();
    for organisation in &organisations {
        let members: Vec<_> = users
            .iter()
            .filter(|u| u.organisation_id == Some(organisation.id))
            .collect();
        let ids: Vec<_> = members.iter().map(|u| u.id).collect();
        let held: Vec<_> = UserPermission::find()
            .filter(user_permission::Column::UserId.is_in(ids))
            .all(app.db())
            .await
            .unwrap();
        for permission in Permission::ALL {
            assert!(
                held.iter().any(|p| p.permission == *permission),
                "{} lacks {permission}",
                organisation.name
            );
        }
        let with_permissions: HashSet<_> = held.iter().map(|p| p.user_id).collect();
        assert!(
            members.iter().any(|u| !with_permissions.contains(&u.id)),
            "{}",
            organisation.name
        );
    }

    // Casework: references continue from the counter, parties on both sides,
    // open and closed cases, tasks in every state.
    let cases = Case::find().all(app.db()).await.unwrap();
    let counter = CaseReferenceCounter::find()
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let last = format!("{}{:05}", counter.year, counter.last_value);
    assert!(
        cases.iter().any(|c| c.reference == last),
        "counter matches the last reference"
    );
    assert!(
        cases
            .iter()
            .all(|c| c.reference.len() == 9 && c.owner_user_id.is_some())
    );
    assert!(
        cases.iter().any(|c| c.closed_at.is_some()) && cases.iter().any(|c| c.closed_at.is_none())
    );
    let parties = CaseParty::find().all(app.db()).await.unwrap();
    for case in &cases {
        for kind in [PartyKind::Resident, PartyKind::Landlord] {
            assert!(
                parties
                    .iter()
                    .any(|p| p.case_id == case.id && p.party_kind == kind),
                "{}",
                case.reference
            );
        }
    }
    let tasks = Task::find().all(app.db()).await.unwrap();
    for status in TaskStatus::ALL {
        assert!(tasks.iter().any(|t| t.status == *status), "a {status} task");
    }
    assert!(
        tasks.iter().any(|t| t.source_message_id.is_some()),
        "a Read message task"
    );
    assert!(
        tasks
            .iter()
            .filter_map(|t| t.unable_reason.as_ref())
            .all(|r| r.chars().count() <= 280)
    );
    let messages = Message::find().all(app.db()).await.unwrap();
    assert!(
        messages
            .iter()
            .any(|m| m.parent_message_id.is_some() && m.replying_party_id.is_some())
    );

    // Documents: the stored bytes are where the storage key says, with the recorded size.
    let documents = Document::find().all(app.db()).await.unwrap();
    // Written by the demo data itself, so recorded as scanned clean.
    assert!(documents.iter().all(|d| d.scan_status == ScanStatus::Clean));
    assert!(
        documents
            .iter()
            .any(|d| d.scan_status == ScanStatus::Clean && d.shared_with_parties)
    );
    // Through the storage interface: local folder or S3.
    for document in &documents {
        assert!(document.storage_key.starts_with("documents/"));
        let mut bytes = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(
            &mut app
                .state
                .storage
                .get(&document.storage_key)
                .await
                .expect("document bytes"),
            &mut bytes,
        )
        .await
        .unwrap();
        assert_eq!(
            bytes.len() as i64,
            document.size_bytes,
            "{}",
            document.original_filename
        );
        assert_eq!(document.sha256.len(), 64);
    }

    // Tenancy and payments.
    let requests = TenancyRequest::find().all(app.db()).await.unwrap();
    for status in [TenancyRequestStatus::Open, TenancyRequestStatus::Answered] {
        assert!(
            requests.iter().any(|r| r.status == status),
            "a {status} request"
        );
    }
    let arrangements = PaymentArrangement::find().all(app.db()).await.unwrap();
    let approved: Vec<_> = arrangements
        .iter()
        .filter(|a| a.status == ArrangementStatus::Approved)
        .collect();
    assert!(
        !approved.is_empty()
            && arrangements
                .iter()
                .any(|a| a.status == ArrangementStatus::Submitted)
    );
    let under_arrangement = Payment::find()
        .filter(entities::payment::Column::ArrangementReference.eq(approved[0].reference.clone()))
        .count(app.db())
        .await
        .unwrap();
    assert!(
        under_arrangement > 0,
        "payments carry the approved arrangement's reference"
    );

    // A second start finds the data and leaves it alone.
    let again = api::demo::load_demo_data(app.db(), app.config())
        .await
        .unwrap();
    assert!(again.is_none(), "the second call does not seed");
    assert_eq!(counts(&app).await, seeded);
    let caseworker = User::find()
        .filter(user::Column::EmailNormalized.eq("caseworker@ombudsman.example"))
        .count(app.db())
        .await
        .unwrap();
    assert_eq!(caseworker, 1);
}
