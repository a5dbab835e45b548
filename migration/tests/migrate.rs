//! Runs every migration up, down and up again on SQLite (always) and on
//! PostgreSQL (when `TEST_DATABASE_URL` is set, in a fresh database created
//! for the run and dropped after it), then checks the schema against the
//! entities and the rules the database itself enforces:
//!
//! - one row is inserted into every table through its entity and read back
//!   unchanged, which proves the entities match the migrations (names, types,
//!   nullability) on that backend;
//! - the partial unique index on users lets deactivated users share an email
//!   address but not two live ones;
//! - a party can reply only once to a staff message;
//! - `audit_log` refuses UPDATE and DELETE;
//! - deleting a case cascades through its whole subtree;
//! - `down` works with data in the tables.

use std::fmt::Debug;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use entities::{TwoFactorMethod, UserKind, UserStatus, prelude::*};
use migration::{Migrator, MigratorTrait};
use sea_orm_migration::sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ActiveValue::Set, ConnectOptions, ConnectionTrait,
    Database, DatabaseConnection, DbErr, EntityTrait, IntoActiveModel, ModelTrait, PaginatorTrait,
    SqlErr,
};
use serde_json::json;
use uuid::Uuid;

/// Every table the migrations create.
const TABLES: &[&str] = &[
    "organisations",
    "organisation_domains",
    "users",
    "user_permissions",
    "sessions",
    "user_tokens",
    "two_factor_challenges",
    "api_tokens",
    "api_token_permissions",
    "cases",
    "case_notes",
    "case_reference_counters",
    "case_parties",
    "tasks",
    "messages",
    "message_reads",
    "documents",
    "properties",
    "tenants",
    "tenancy_requests",
    "payment_arrangements",
    "payment_arrangement_events",
    "payments",
    "payment_exports",
    "housing_cost_updates",
    "audit_log",
    "outbox_jobs",
    "notification_deliveries",
    "webhook_endpoints",
    "webhook_events",
    "webhook_deliveries",
    "webhook_attempts",
];

#[tokio::test]
async fn migrations_and_entities_on_sqlite() {
    // One connection: every connection to `sqlite::memory:` would otherwise
    // be its own empty database.
    let mut options = ConnectOptions::new("sqlite::memory:");
    options.max_connections(1).sqlx_logging(false);
    let db = Database::connect(options).await.unwrap();
    exercise(&db).await;
}

#[tokio::test]
async fn migrations_and_entities_on_postgres() {
    let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
        println!("skipping PostgreSQL: TEST_DATABASE_URL not set");
        return;
    };
    let name = format!("test_{}", Uuid::new_v4().simple());
    let admin = Database::connect(admin_url.as_str()).await.unwrap();
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();

    // Run in a task so that a failed assertion still reaches the cleanup.
    let url = with_database(&admin_url, &name);
    let outcome = tokio::spawn(async move {
        let mut options = ConnectOptions::new(url);
        options.sqlx_logging(false);
        let db = Database::connect(options).await.unwrap();
        exercise(&db).await;
        db.close().await.unwrap();
    })
    .await;

    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .unwrap();
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

/// `url` with its database name replaced by `name` (query string kept).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

async fn exercise(db: &DatabaseConnection) {
    // Up to the migration before message recipients, with rows it must
    // carry over, then the rest.
    Migrator::up(db, Some(12)).await.unwrap();
    let before = rows_before_recipients(db).await;
    Migrator::up(db, None).await.unwrap();
    recipients_and_closed_labels_are_carried_over(db, &before).await;
    assert_tables(db, true).await;
    assert!(
        Migrator::get_pending_migrations(db)
            .await
            .unwrap()
            .is_empty()
    );

    Migrator::down(db, None).await.unwrap();
    assert_tables(db, false).await;

    Migrator::up(db, None).await.unwrap();
    assert_tables(db, true).await;

    let fixture = insert_one_of_everything(db).await;
    live_email_is_unique_but_deactivated_ones_may_repeat(db, &fixture).await;
    a_party_replies_once_per_staff_message(db, &fixture).await;
    audit_log_is_append_only(db, &fixture).await;
    deleting_a_case_removes_its_subtree(db, &fixture).await;

    // `down` must also work on a database that holds data.
    Migrator::down(db, None).await.unwrap();
    assert_tables(db, false).await;
}

/// Rows written before `m20261203_000013_message_recipients`.
struct Before {
    staff_message: Uuid,
    reply: Uuid,
    closed_case: Uuid,
    open_case: Uuid,
}

/// A staff message and a reply on a case closed while "Decision made", and
/// an open case, written as the schema before message recipients had them
/// (plain statements: the entities already have the new columns).
async fn rows_before_recipients(db: &DatabaseConnection) -> Before {
    use sea_orm_migration::sea_query::{Alias, Query};
    let staff = round_trip(
        db,
        user(Uuid::now_v7(), UserKind::Staff, None, "before@example.gov"),
    )
    .await;
    let ids = Before {
        staff_message: Uuid::now_v7(),
        reply: Uuid::now_v7(),
        closed_case: Uuid::now_v7(),
        open_case: Uuid::now_v7(),
    };
    for (id, reference, label, closed_at) in [
        (ids.closed_case, "202500001", "Decision made", Some(at(5))),
        (ids.open_case, "202500002", "Case under assessment", None),
    ] {
        let insert = Query::insert()
            .into_table(Alias::new("cases"))
            .columns(
                [
                    "id",
                    "reference",
                    "case_type",
                    "stage",
                    "status_label",
                    "category",
                    "closed_at",
                    "created_at",
                    "updated_at",
                ]
                .map(Alias::new),
            )
            .values_panic([
                id.into(),
                reference.into(),
                "Complaint".into(),
                "DR2 Review".into(),
                label.into(),
                "Asbestos".into(),
                closed_at.into(),
                at(0).into(),
                at(0).into(),
            ])
            .to_owned();
        db.execute(&insert).await.unwrap();
    }
    for (id, parent) in [
        (ids.staff_message, None),
        (ids.reply, Some(ids.staff_message)),
    ] {
        let insert = Query::insert()
            .into_table(Alias::new("messages"))
            .columns(
                [
                    "id",
                    "case_id",
                    "sender_user_id",
                    "parent_message_id",
                    "body",
                    "created_at",
                ]
                .map(Alias::new),
            )
            .values_panic([
                id.into(),
                ids.closed_case.into(),
                staff.id.into(),
                parent.into(),
                "Text".into(),
                at(1).into(),
            ])
            .to_owned();
        db.execute(&insert).await.unwrap();
    }
    ids
}

/// Every existing staff message was sent to every party (and stays so);
/// replies go to the caseworker only; a closed case is labelled "Closed"
/// and keeps its old label for reopening; an open case is untouched.
async fn recipients_and_closed_labels_are_carried_over(db: &DatabaseConnection, ids: &Before) {
    let staff_message = Message::find_by_id(ids.staff_message)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert!(staff_message.to_resident && staff_message.to_landlord);
    let reply = Message::find_by_id(ids.reply)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert!(!reply.to_resident && !reply.to_landlord);
    let closed = Case::find_by_id(ids.closed_case)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(closed.status_label, "Closed");
    assert_eq!(
        closed.status_label_before_close.as_deref(),
        Some("Decision made")
    );
    let open = Case::find_by_id(ids.open_case)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(open.status_label, "Case under assessment");
    assert_eq!(open.status_label_before_close, None);
}

async fn assert_tables(db: &DatabaseConnection, present: bool) {
    let manager = sea_orm_migration::SchemaManager::new(db);
    for table in TABLES {
        assert_eq!(
            manager.has_table(*table).await.unwrap(),
            present,
            "table {table} present should be {present}"
        );
    }
}

/// Inserts `model` through its entity and checks that what the database
/// returns, and what a later query reads, equals what was written.
async fn round_trip<M>(db: &DatabaseConnection, model: M) -> M
where
    M: ModelTrait
        + IntoActiveModel<<M::Entity as EntityTrait>::ActiveModel>
        + Clone
        + PartialEq
        + Debug
        + Send
        + Sync,
    M::Entity: EntityTrait<Model = M>,
    <M::Entity as EntityTrait>::ActiveModel: ActiveModelBehavior + Send,
{
    let inserted = model.clone().into_active_model().insert(db).await;
    let inserted = inserted.unwrap_or_else(|e| panic!("inserting {model:?}: {e}"));
    assert_eq!(inserted, model, "the row returned by INSERT differs");
    let all = M::Entity::find().all(db).await.unwrap();
    assert!(all.contains(&model), "{model:?} not read back");
    model
}

/// A fixed instant with microseconds (the precision both backends keep).
fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 9, 30, 0).unwrap()
        + Duration::microseconds(123_456)
        + Duration::minutes(minutes)
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
}

/// Ids of the rows the later checks build on.
struct Fixture {
    organisation_id: Uuid,
    staff_id: Uuid,
    resident_id: Uuid,
    case_id: Uuid,
    staff_message_id: Uuid,
    resident_party_id: Uuid,
    audit_id: Uuid,
}

fn user(
    id: Uuid,
    kind: UserKind,
    organisation_id: Option<Uuid>,
    email: &str,
) -> entities::user::Model {
    entities::user::Model {
        id,
        kind,
        organisation_id,
        first_name: "Alex".into(),
        last_name: "Example".into(),
        email: email.into(),
        email_normalized: email.to_lowercase(),
        password_hash: None,
        status: UserStatus::Active,
        mobile_number: None,
        mobile_reset_pending: false,
        two_factor_method: TwoFactorMethod::None,
        totp_secret: None,
        totp_last_step: None,
        two_factor_declined_at: None,
        address: None,
        staff_team: None,
        staff_role: None,
        staff_role_label: None,
        failed_login_attempts: 0,
        locked_until: None,
        last_login_at: None,
        invited_at: None,
        password_changed_at: None,
        inactivity_warned_at: None,
        deactivated_at: None,
        created_at: at(0),
        updated_at: at(0),
    }
}

async fn insert_one_of_everything(db: &DatabaseConnection) -> Fixture {
    use entities::*;

    let org = round_trip(
        db,
        organisation::Model {
            id: Uuid::now_v7(),
            name: "Example Housing".into(),
            address: "1 High Street\nLondon".into(),
            requires_two_factor: true,
            two_factor_methods: None,
            created_at: at(0),
            updated_at: at(1),
        },
    )
    .await;
    round_trip(
        db,
        organisation_domain::Model {
            id: Uuid::now_v7(),
            organisation_id: org.id,
            domain: "example-housing.org.uk".into(),
            created_at: at(0),
        },
    )
    .await;

    let staff = round_trip(
        db,
        user::Model {
            staff_team: Some("Dispute Resolution".into()),
            staff_role: Some(StaffRole::Caseworker),
            staff_role_label: None,
            ..user(
                Uuid::now_v7(),
                UserKind::Staff,
                None,
                "Casey@Ombudsman.example",
            )
        },
    )
    .await;
    let landlord = round_trip(
        db,
        user::Model {
            password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
            mobile_number: Some("+447700900123".into()),
            mobile_reset_pending: true,
            two_factor_method: TwoFactorMethod::Sms,
            failed_login_attempts: 2,
            locked_until: Some(at(15)),
            last_login_at: Some(at(-60)),
            invited_at: Some(at(-600)),
            password_changed_at: Some(at(-500)),
            inactivity_warned_at: Some(at(-10)),
            ..user(
                Uuid::now_v7(),
                UserKind::Landlord,
                Some(org.id),
                "lead@example-housing.org.uk",
            )
        },
    )
    .await;
    let resident = round_trip(
        db,
        user::Model {
            address: Some("2 Low Road".into()),
            ..user(Uuid::now_v7(), UserKind::Resident, None, "res@example.com")
        },
    )
    .await;

    for permission in Permission::ALL {
        round_trip(
            db,
            user_permission::Model {
                user_id: landlord.id,
                permission: *permission,
                created_at: at(0),
            },
        )
        .await;
    }
    round_trip(
        db,
        session::Model {
            id: Uuid::now_v7(),
            user_id: landlord.id,
            token_hash: "a".repeat(64),
            created_at: at(0),
            last_seen_at: at(1),
            idle_expires_at: at(31),
            absolute_expires_at: at(720),
            revoked_at: Some(at(2)),
            ip_address: Some("192.0.2.1".into()),
            user_agent: Some("test".into()),
            enrolment_only: false,
        },
    )
    .await;
    round_trip(
        db,
        user_token::Model {
            id: Uuid::now_v7(),
            user_id: landlord.id,
            purpose: TokenPurpose::PasswordReset,
            token_hash: "b".repeat(64),
            expires_at: at(60),
            used_at: None,
            new_email: None,
            created_at: at(0),
        },
    )
    .await;
    round_trip(
        db,
        two_factor_challenge::Model {
            id: Uuid::now_v7(),
            user_id: landlord.id,
            purpose: ChallengePurpose::ConfirmMobile,
            channel: TwoFactorChannel::Sms,
            challenge_token_hash: "c".repeat(64),
            code_hash: "d".repeat(64),
            destination: Some("+447700900999".into()),
            attempts: 1,
            sends: 2,
            expires_at: at(15),
            consumed_at: None,
            locked_at: None,
            created_at: at(0),
        },
    )
    .await;
    let token = round_trip(
        db,
        api_token::Model {
            id: Uuid::now_v7(),
            organisation_id: org.id,
            name: "Finance dashboard".into(),
            token_hash: "e".repeat(64),
            token_prefix: "pat_Ab12Cd34".into(),
            created_by_user_id: Some(landlord.id),
            created_at: at(0),
            last_used_at: Some(at(5)),
            revoked_at: None,
            expires_at: at(90 * 24 * 60),
        },
    )
    .await;
    for permission in Permission::API_TOKEN_ALLOWED {
        round_trip(
            db,
            api_token_permission::Model {
                api_token_id: token.id,
                permission: *permission,
            },
        )
        .await;
    }

    // Casework.
    round_trip(
        db,
        case_reference_counter::Model {
            year: 2026,
            last_value: 46,
        },
    )
    .await;
    let case = round_trip(
        db,
        case::Model {
            id: Uuid::now_v7(),
            reference: "202600046".into(),
            case_type: "Complaint about a member landlord".into(),
            stage: "DR2 Review".into(),
            status_label: "Case under assessment".into(),
            category: "Asbestos".into(),
            landlord_organisation_id: Some(org.id),
            owner_user_id: Some(staff.id),
            closed_at: None,
            created_at: at(0),
            updated_at: at(0),
            status_label_before_close: Some("Case under assessment".into()),
        },
    )
    .await;
    round_trip(
        db,
        case_note::Model {
            id: Uuid::now_v7(),
            case_id: case.id,
            author_user_id: staff.id,
            body: "Resident called: photos on Monday.".into(),
            created_at: at(1),
        },
    )
    .await;
    let resident_party = round_trip(
        db,
        case_party::Model {
            id: Uuid::now_v7(),
            case_id: case.id,
            party_kind: PartyKind::Resident,
            user_id: Some(resident.id),
            organisation_id: None,
            created_at: at(0),
        },
    )
    .await;
    round_trip(
        db,
        case_party::Model {
            id: Uuid::now_v7(),
            case_id: case.id,
            party_kind: PartyKind::Landlord,
            user_id: None,
            organisation_id: Some(org.id),
            created_at: at(0),
        },
    )
    .await;
    let staff_message = round_trip(
        db,
        message::Model {
            id: Uuid::now_v7(),
            case_id: case.id,
            sender_user_id: staff.id,
            parent_message_id: None,
            replying_party_id: None,
            subject: Some("Your complaint".into()),
            body: "Please send photographs.".into(),
            created_at: at(1),
            to_resident: true,
            to_landlord: false,
        },
    )
    .await;
    let reply = round_trip(
        db,
        message::Model {
            id: Uuid::now_v7(),
            case_id: case.id,
            sender_user_id: resident.id,
            parent_message_id: Some(staff_message.id),
            replying_party_id: Some(resident_party.id),
            subject: None,
            body: "Attached.".into(),
            created_at: at(2),
            to_resident: false,
            to_landlord: false,
        },
    )
    .await;
    round_trip(
        db,
        task::Model {
            id: Uuid::now_v7(),
            case_id: case.id,
            title: "Read message".into(),
            description: Some("Read the caseworker's message".into()),
            due_date: day(1),
            status: TaskStatus::UnableToComplete,
            assignee_kind: PartyKind::Resident,
            assignee_user_id: Some(resident.id),
            assignee_organisation_id: None,
            source_message_id: Some(staff_message.id),
            unable_reason: Some("I cannot open it".into()),
            completed_at: Some(at(3)),
            completed_by_user_id: Some(resident.id),
            reviewed_at: Some(at(4)),
            reviewed_by_user_id: Some(staff.id),
            due_soon_reminded_at: Some(at(5)),
            overdue_reminded_at: None,
            created_by_user_id: Some(staff.id),
            created_at: at(1),
            updated_at: at(4),
        },
    )
    .await;
    round_trip(
        db,
        task::Model {
            id: Uuid::now_v7(),
            case_id: case.id,
            title: "Provide repair records".into(),
            description: None,
            due_date: day(2),
            status: TaskStatus::Pending,
            assignee_kind: PartyKind::Landlord,
            assignee_user_id: None,
            assignee_organisation_id: Some(org.id),
            source_message_id: None,
            unable_reason: None,
            completed_at: None,
            completed_by_user_id: None,
            reviewed_at: None,
            reviewed_by_user_id: None,
            due_soon_reminded_at: None,
            overdue_reminded_at: None,
            created_by_user_id: None,
            created_at: at(1),
            updated_at: at(1),
        },
    )
    .await;
    round_trip(
        db,
        message_read::Model {
            message_id: staff_message.id,
            user_id: resident.id,
            read_at: at(2),
        },
    )
    .await;

    // Tenancy and payments.
    let property = round_trip(
        db,
        property::Model {
            id: Uuid::now_v7(),
            organisation_id: org.id,
            reference: "P-001".into(),
            address_line1: "2 Low Road".into(),
            address_line2: Some("Flat 3".into()),
            town: "London".into(),
            postcode: "SW1A 1AA".into(),
            rent_pence: 123_456,
            service_charge_pence: 2_500,
            rent_frequency: RentFrequency::FourWeekly,
            removed_at: None,
            created_at: at(0),
            updated_at: at(0),
        },
    )
    .await;
    let tenant = round_trip(
        db,
        tenant::Model {
            id: Uuid::now_v7(),
            organisation_id: org.id,
            first_name: "Terry".into(),
            last_name: "Tenant".into(),
            claim_reference: "UC123456".into(),
            property_id: Some(property.id),
            created_at: at(0),
            updated_at: at(0),
        },
    )
    .await;
    round_trip(
        db,
        tenancy_request::Model {
            id: Uuid::now_v7(),
            organisation_id: org.id,
            tenant_id: tenant.id,
            postcode: "SW1A 1AA".into(),
            status: TenancyRequestStatus::Answered,
            reason: TenancyRequestReason::ChangeOfCircumstances,
            property_id: Some(property.id),
            due_date: day(3),
            created_by_user_id: Some(staff.id),
            answered_by_user_id: Some(landlord.id),
            answered_at: Some(at(10)),
            tenancy_start_date: Some(NaiveDate::from_ymd_opt(2024, 4, 1).unwrap()),
            rent_pence: Some(123_456),
            rent_frequency: Some(RentFrequency::Monthly),
            service_charge_pence: Some(0),
            in_arrears: Some(true),
            // Larger than i32 can hold: the column really is 64-bit.
            arrears_pence: Some(5_000_000_000),
            created_at: at(0),
            updated_at: at(10),
        },
    )
    .await;
    let arrangement = round_trip(
        db,
        payment_arrangement::Model {
            id: Uuid::now_v7(),
            organisation_id: org.id,
            tenant_id: tenant.id,
            reference: "APA-000123".into(),
            reason: "Rent arrears over two months".into(),
            arrears_pence: 250_000,
            status: ArrangementStatus::Approved,
            decision_reason: Some("Evidence accepted".into()),
            decided_by_user_id: Some(staff.id),
            decided_at: Some(at(20)),
            applied_by_user_id: Some(landlord.id),
            created_at: at(0),
            updated_at: at(20),
        },
    )
    .await;
    round_trip(
        db,
        payment_arrangement_event::Model {
            id: Uuid::now_v7(),
            payment_arrangement_id: arrangement.id,
            status: ArrangementStatus::Submitted,
            note: None,
            actor_user_id: Some(landlord.id),
            created_at: at(0),
        },
    )
    .await;
    round_trip(
        db,
        payment::Model {
            id: Uuid::now_v7(),
            organisation_id: org.id,
            tenant_id: tenant.id,
            property_id: Some(property.id),
            tenant_name: "Terry Tenant".into(),
            postcode: "SW1A 1AA".into(),
            claim_reference: "UC123456".into(),
            amount_pence: 61_728,
            payment_date: day(4),
            period_start: day(1),
            period_end: day(28),
            arrangement_reference: Some("APA-000123".into()),
            created_at: at(0),
        },
    )
    .await;
    round_trip(
        db,
        payment_export::Model {
            id: Uuid::now_v7(),
            organisation_id: org.id,
            requested_by_user_id: None,
            requested_by_api_token_id: Some(token.id),
            filter: json!({"from": "2026-12-01", "postcode": "SW1A 1AA", "tenant": null}),
            status: ExportStatus::Completed,
            rows_written: 1,
            total_rows: Some(1),
            size_bytes: 512,
            storage_key: Some("exports/x.csv".into()),
            error: None,
            created_at: at(0),
            started_at: Some(at(1)),
            completed_at: Some(at(2)),
            expires_at: Some(at(60 * 24)),
        },
    )
    .await;
    round_trip(
        db,
        housing_cost_update::Model {
            id: Uuid::now_v7(),
            organisation_id: org.id,
            uploaded_by_user_id: landlord.id,
            storage_key: "uploads/rents.csv".into(),
            original_filename: "rents.csv".into(),
            status: BulkUpdateStatus::Applied,
            row_count: 2,
            applied_count: 1,
            errors: Some(json!([{"row": 2, "column": "rent", "reason": "not a number"}])),
            created_at: at(0),
            completed_at: Some(at(1)),
        },
    )
    .await;

    // Documents: one on the case, one attached to the reply (and the case),
    // one as arrangement evidence.
    let document = |case_id, message_id, payment_arrangement_id| document::Model {
        id: Uuid::now_v7(),
        case_id,
        message_id,
        payment_arrangement_id,
        uploaded_by_user_id: resident.id,
        original_filename: "photo.jpg".into(),
        content_type: "image/jpeg".into(),
        category: DocumentCategory::Photograph,
        size_bytes: 57_671_680,
        sha256: "f".repeat(64),
        storage_key: format!("documents/{}", Uuid::now_v7()),
        scan_status: ScanStatus::Clean,
        scan_detail: None,
        scanned_at: Some(at(3)),
        shared_with_parties: false,
        created_at: at(2),
    };
    round_trip(db, document(Some(case.id), None, None)).await;
    round_trip(db, document(Some(case.id), Some(reply.id), None)).await;
    round_trip(db, document(None, None, Some(arrangement.id))).await;

    // Platform.
    let audit = round_trip(
        db,
        audit_log::Model {
            id: Uuid::now_v7(),
            organisation_id: Some(org.id),
            actor_user_id: Some(landlord.id),
            actor_api_token_id: None,
            action: "user.deactivate".into(),
            target_type: "USER".into(),
            target_id: Some(resident.id),
            before: Some(json!({"status": "ACTIVE"})),
            after: Some(json!({"status": "DEACTIVATED"})),
            ip_address: Some("192.0.2.1".into()),
            request_id: Some("req-1".into()),
            created_at: at(0),
        },
    )
    .await;
    round_trip(
        db,
        outbox_job::Model {
            id: Uuid::now_v7(),
            kind: "send_email".into(),
            payload: json!({"delivery_id": Uuid::nil()}),
            status: JobStatus::Dead,
            attempts: 5,
            max_attempts: 5,
            run_at: at(0),
            queued_at: Some(at(0)),
            started_at: Some(at(1)),
            finished_at: Some(at(2)),
            lease_until: None,
            worker_id: Some("worker-1".into()),
            last_error: Some("smtp: connection refused".into()),
            dedupe_key: Some("sweep:2026-11-24".into()),
            trace_context: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
            created_at: at(0),
            updated_at: at(2),
        },
    )
    .await;
    round_trip(
        db,
        notification_delivery::Model {
            id: Uuid::now_v7(),
            channel: Channel::Email,
            template: "invitation".into(),
            recipient: "lead@example-housing.org.uk".into(),
            user_id: Some(landlord.id),
            subject: Some("You have been invited".into()),
            params: json!({"first_name": "Alex"}),
            status: DeliveryStatus::Delivered,
            attempts: 1,
            provider_reference: Some("msg-1".into()),
            last_error: None,
            created_at: at(0),
            updated_at: at(1),
            sent_at: Some(at(1)),
            provider_status: Some("delivered".into()),
            provider_status_at: Some(at(2)),
        },
    )
    .await;

    // Webhooks.
    let endpoint = round_trip(
        db,
        webhook_endpoint::Model {
            id: Uuid::now_v7(),
            organisation_id: org.id,
            url: "https://dashboard.example-housing.org.uk/hooks".into(),
            description: Some("Finance dashboard".into()),
            event_types: json!(["payments.recorded", "payment_export.completed"]),
            enabled: false,
            disabled_reason: Some("failing since 2026-11-23".into()),
            disabled_at: Some(at(3)),
            secret_sealed: "sealed-new".into(),
            previous_secret_sealed: Some("sealed-old".into()),
            previous_secret_expires_at: Some(at(60)),
            failing_since: Some(at(1)),
            created_at: at(0),
            updated_at: at(3),
        },
    )
    .await;
    let event = round_trip(
        db,
        webhook_event::Model {
            id: Uuid::now_v7(),
            organisation_id: org.id,
            event_type: WebhookEventType::HousingCostUpdateRejected,
            version: 1,
            data: json!({"housing_cost_update_id": Uuid::nil()}),
            created_at: at(0),
        },
    )
    .await;
    let delivery = round_trip(
        db,
        webhook_delivery::Model {
            id: Uuid::now_v7(),
            event_id: event.id,
            endpoint_id: endpoint.id,
            status: WebhookDeliveryStatus::Pending,
            attempts: 1,
            next_attempt_at: Some(at(5)),
            last_status_code: Some(503),
            created_at: at(0),
            updated_at: at(1),
        },
    )
    .await;
    round_trip(
        db,
        webhook_attempt::Model {
            id: Uuid::now_v7(),
            delivery_id: delivery.id,
            attempt: 1,
            started_at: at(1),
            status_code: Some(503),
            latency_ms: Some(120),
            response_excerpt: Some("Service Unavailable".into()),
            error: None,
        },
    )
    .await;
    // One delivery per (event, endpoint).
    let error = webhook_delivery::Model {
        id: Uuid::now_v7(),
        ..delivery.clone()
    }
    .into_active_model()
    .insert(db)
    .await
    .unwrap_err();
    assert!(is_unique_violation(&error), "{error}");

    Fixture {
        organisation_id: org.id,
        staff_id: staff.id,
        resident_id: resident.id,
        case_id: case.id,
        staff_message_id: staff_message.id,
        resident_party_id: resident_party.id,
        audit_id: audit.id,
    }
}

fn is_unique_violation(error: &DbErr) -> bool {
    matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

async fn live_email_is_unique_but_deactivated_ones_may_repeat(
    db: &DatabaseConnection,
    fixture: &Fixture,
) {
    use entities::user;
    let email = "Shared@Example-Housing.org.uk";
    let deactivated = || user::Model {
        status: UserStatus::Deactivated,
        deactivated_at: Some(at(0)),
        mobile_number: Some("+447700900555".into()),
        ..user(
            Uuid::now_v7(),
            UserKind::Landlord,
            Some(fixture.organisation_id),
            email,
        )
    };
    // Two deactivated accounts may share the email and the mobile number...
    round_trip(db, deactivated()).await;
    round_trip(db, deactivated()).await;
    // ...and a live account may reuse them...
    round_trip(
        db,
        user::Model {
            mobile_number: Some("+447700900555".into()),
            ..user(
                Uuid::now_v7(),
                UserKind::Landlord,
                Some(fixture.organisation_id),
                email,
            )
        },
    )
    .await;
    // ...but not a second live one, whatever the case of the typed address.
    let error = user(
        Uuid::now_v7(),
        UserKind::Landlord,
        Some(fixture.organisation_id),
        &email.to_uppercase(),
    )
    .into_active_model()
    .insert(db)
    .await
    .unwrap_err();
    assert!(is_unique_violation(&error), "{error}");

    // Nor a second live account with the same mobile number.
    let error = user::Model {
        mobile_number: Some("+447700900555".into()),
        ..user(
            Uuid::now_v7(),
            UserKind::Resident,
            None,
            "other@example.com",
        )
    }
    .into_active_model()
    .insert(db)
    .await
    .unwrap_err();
    assert!(is_unique_violation(&error), "{error}");
}

async fn a_party_replies_once_per_staff_message(db: &DatabaseConnection, fixture: &Fixture) {
    let error = entities::message::Model {
        id: Uuid::now_v7(),
        case_id: fixture.case_id,
        sender_user_id: fixture.resident_id,
        parent_message_id: Some(fixture.staff_message_id),
        replying_party_id: Some(fixture.resident_party_id),
        subject: None,
        body: "A second reply".into(),
        created_at: at(9),
        to_resident: false,
        to_landlord: false,
    }
    .into_active_model()
    .insert(db)
    .await
    .unwrap_err();
    assert!(is_unique_violation(&error), "{error}");

    // Staff may send any number of top-level messages.
    for minute in [10, 11] {
        round_trip(
            db,
            entities::message::Model {
                id: Uuid::now_v7(),
                case_id: fixture.case_id,
                sender_user_id: fixture.staff_id,
                parent_message_id: None,
                replying_party_id: None,
                subject: None,
                body: "Update".into(),
                created_at: at(minute),
                to_resident: true,
                to_landlord: true,
            },
        )
        .await;
    }
}

async fn audit_log_is_append_only(db: &DatabaseConnection, fixture: &Fixture) {
    use entities::audit_log;

    let mut change = audit_log::Entity::find_by_id(fixture.audit_id)
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    change.action = Set("user.reinstate".into());
    let error = change.update(db).await.unwrap_err();
    assert!(error.to_string().contains("append-only"), "{error}");

    let error = audit_log::Entity::delete_by_id(fixture.audit_id)
        .exec(db)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("append-only"), "{error}");

    // Raw SQL is refused too, not only the ORM.
    let error = db
        .execute_unprepared("UPDATE audit_log SET action = 'tampered'")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("append-only"), "{error}");
    let error = db
        .execute_unprepared("DELETE FROM audit_log")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("append-only"), "{error}");

    let entry = audit_log::Entity::find_by_id(fixture.audit_id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.action, "user.deactivate");
}

async fn deleting_a_case_removes_its_subtree(db: &DatabaseConnection, fixture: &Fixture) {
    // Cases are not deleted in normal operation, but when one is, its
    // parties, messages (with replies pointing at parents and parties), tasks
    // (pointing at messages), read receipts and documents must all go,
    // whatever order the backend removes them in.
    let deleted = Case::delete_by_id(fixture.case_id).exec(db).await.unwrap();
    assert_eq!(deleted.rows_affected, 1);
    assert_eq!(CaseParty::find().count(db).await.unwrap(), 0);
    assert_eq!(CaseNote::find().count(db).await.unwrap(), 0);
    assert_eq!(Message::find().count(db).await.unwrap(), 0);
    assert_eq!(Task::find().count(db).await.unwrap(), 0);
    assert_eq!(MessageRead::find().count(db).await.unwrap(), 0);
    // Only the payment arrangement's evidence remains.
    assert_eq!(Document::find().count(db).await.unwrap(), 1);

    // References to users block deletion: deleting one with history fails,
    // with an error SeaORM classifies as a foreign-key violation.
    let error = User::delete_by_id(fixture.staff_id)
        .exec(db)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error.sql_err(),
            Some(SqlErr::ForeignKeyConstraintViolation(_))
        ),
        "{error}"
    );
}
