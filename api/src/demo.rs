//! Demo data for the embedded mode.
//!
//! `cargo run` starts on an empty SQLite file; without data, anyone trying the
//! API would first have to create staff, organisations, users and cases by
//! hand before a single query showed anything. This module fills the database
//! once with a small, coherent world: ombudsman staff, two landlord
//! organisations with a user for every role, residents, cases with tasks,
//! messages (and a staff note) and documents, and each landlord's properties, tenants, tenancy
//! requests, payment arrangements and three years of payments.
//!
//! How it is built:
//! - The data lives in the small tables below; [`Demo::build`] turns them into
//!   rows in memory, and [`load_demo_data`] writes them in one transaction, so a
//!   crash leaves all of it or none of it (and the next start loads it again).
//! - The caseworker's account marks the data as present: if its email exists,
//!   nothing is written. Startup can therefore always call the loader.
//! - Dates are relative to "now", so overdue tasks are overdue and payments
//!   recent on whatever day the demo runs.
//! - The rows are what the API would have left behind after its jobs ran; no
//!   outbox rows are written, so loading the demo data sends no email or SMS.

use anyhow::Context;
use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Utc};
use entities::{
    ArrangementStatus as Apa, DocumentCategory as Doc, PartyKind, Permission as P, RentFrequency,
    ScanStatus, StaffRole, TaskStatus, TenancyRequestReason, TenancyRequestStatus, TwoFactorMethod,
    UserKind, UserStatus, case, case_note, case_party, case_reference_counter, document, message,
    message_read, organisation, organisation_domain, payment, payment_arrangement,
    payment_arrangement_event, property, task, tenancy_request, tenant, user, user_permission,
};
use platform::config::Config;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Password of every demo account (meets the password policy).
pub const DEMO_PASSWORD: &str = "Demo-Password-2026";

/// The demo accounts printed at startup.
pub struct DemoLogins {
    /// Shared demo password.
    pub password: &'static str,
    /// (who, email) pairs.
    pub accounts: Vec<(&'static str, &'static str)>,
}

impl DemoLogins {
    /// The fixed list of demo accounts, read from the same tables the loader
    /// writes, so the banner can never list an account that does not exist.
    pub fn known() -> Self {
        let staff = STAFF.iter().map(|s| (s.0, s.1));
        let landlords = ORGANISATIONS
            .iter()
            .flat_map(|o| o.users.iter().map(|u| (u.0, u.1)));
        let residents = RESIDENTS.iter().map(|r| (r.0, r.1));
        Self {
            password: DEMO_PASSWORD,
            accounts: staff.chain(landlords).chain(residents).collect(),
        }
    }
}

/// The account whose presence means the demo data is already there.
const MARKER_EMAIL: &str = "caseworker@ombudsman.example";
const TEAM: &str = "Dispute Resolution Team 2";
/// Indexes into [`STAFF`] of the staff who own cases and make decisions.
const CASEWORKER: usize = 0;
const SERVICE_ADMIN: usize = 2;

/// Staff: (who, email, first name, last name, role, team).
#[rustfmt::skip]
const STAFF: &[(&str, &str, &str, &str, StaffRole, &str)] = &[
    ("Caseworker (staff)", MARKER_EMAIL, "Priya", "Sharma", StaffRole::Caseworker, TEAM),
    ("Second caseworker (staff)", "caseworker2@ombudsman.example", "Tom", "Whitaker", StaffRole::Caseworker, TEAM),
    ("Service administrator (staff)", "service.admin@ombudsman.example", "Grace", "Adeyemi", StaffRole::ServiceAdmin, "Service Administration"),
];

/// A resident: (who, email, first name, last name, address, mobile, two-factor).
#[rustfmt::skip]
type ResidentRow = (&'static str, &'static str, &'static str, &'static str, &'static str, Option<&'static str>, TwoFactorMethod);
#[rustfmt::skip]
const RESIDENTS: &[ResidentRow] = &[
    ("Resident (SMS two-factor)", "amira.khan@mail.example", "Amira", "Khan", "Flat 7, Kirkgate House, 12 Kirkgate, Leeds LS1 4AP", Some("+447700900123"), TwoFactorMethod::Sms),
    ("Resident (email two-factor)", "david.okafor@mail.example", "David", "Okafor", "27 Stapleton Road, Bristol BS5 0QR", None, TwoFactorMethod::Email),
    ("Resident", "margaret.evans@mail.example", "Margaret", "Evans", "9 Chapel Lane, Leeds LS6 3BW", None, TwoFactorMethod::None),
];

/// A landlord user: (who, email, first name, last name, permissions). Every
/// organisation lists its roles in this order; see the role indexes below.
#[rustfmt::skip]
type LandlordUser = (&'static str, &'static str, &'static str, &'static str, &'static [P]);
const TENANCY_OFFICER: usize = 1;
const FINANCE_OFFICER: usize = 2;
const COMPLAINTS_HANDLER: usize = 3;
const TENANCY: &[P] = &[P::ProvideTenancyDetails, P::ManageProperties];
const FINANCE: &[P] = &[
    P::ViewPayments,
    P::ExportPayments,
    P::BulkUpdateHousingCosts,
];

/// (reference, address line 1, line 2, town, postcode, rent, service charge, frequency).
#[rustfmt::skip]
type PropertyRow = (&'static str, &'static str, Option<&'static str>, &'static str, &'static str, i64, i64, RentFrequency);

/// A landlord organisation and everything it owns.
struct DemoOrganisation {
    name: &'static str,
    address: &'static str,
    domains: &'static [&'static str],
    requires_two_factor: bool,
    users: &'static [LandlordUser],
    properties: &'static [PropertyRow],
    /// (first name, last name, claim reference, property index); new claimants
    /// have no confirmed property yet.
    tenants: &'static [(&'static str, &'static str, &'static str, Option<usize>)],
    /// "Provide tenancy details" requests: (tenant index, postcode on the
    /// claim, due in days, answered).
    requests: &'static [(usize, &'static str, i64, bool)],
}

#[rustfmt::skip]
const ORGANISATIONS: &[DemoOrganisation] = &[
    DemoOrganisation {
        name: "Northside Housing Association",
        address: "Northside House, 1 Wellington Street, Leeds LS1 4DL",
        domains: &["northside-housing.example"],
        requires_two_factor: false,
        users: &[
            ("Northside lead administrator", "admin@northside-housing.example", "Helen", "Brooks", P::ALL),
            ("Northside tenancy officer", "tenancy@northside-housing.example", "Gareth", "Lloyd", TENANCY),
            ("Northside finance officer", "finance@northside-housing.example", "Sunita", "Patel", FINANCE),
            ("Northside complaints handler", "complaints@northside-housing.example", "Joe", "Marsh", &[]),
        ],
        properties: &[
            ("NHA-0001", "Flat 4, Kirkgate House", Some("12 Kirkgate"), "Leeds", "LS1 4AP", 9_850, 1_275, RentFrequency::Weekly),
            ("NHA-0002", "23 Brudenell Grove", None, "Leeds", "LS6 1HR", 10_420, 0, RentFrequency::Weekly),
            ("NHA-0003", "Flat 11, Ashley Court", Some("Ashley Road"), "Leeds", "LS9 7AJ", 39_600, 4_800, RentFrequency::FourWeekly),
            ("NHA-0004", "7 Beeston Road", None, "Leeds", "LS11 6AD", 47_500, 0, RentFrequency::Monthly),
            ("NHA-0005", "Flat 2, Tong House", Some("40 Tong Road"), "Leeds", "LS12 1LZ", 45_000, 2_500, RentFrequency::Monthly),
        ],
        tenants: &[
            ("Aisha", "Rahman", "UC-4821937", Some(0)),
            ("Connor", "Walsh", "UC-5093318", Some(1)),
            ("Emily", "Hughes", "UC-3370452", Some(2)),
            ("Mohammed", "Iqbal", "UC-6148823", Some(3)),
            ("Sarah", "Dawson", "UC-2715064", Some(4)),
            ("Jamie", "Fletcher", "UC-7402291", None),
            ("Olivia", "Grant", "UC-8839105", None),
        ],
        requests: &[(5, "LS7 2BN", -3, false), (6, "LS8 3QW", 6, false), (4, "LS12 1LZ", 14, false), (0, "LS1 4AP", -20, true)],
    },
    DemoOrganisation {
        name: "Riverside Homes Ltd",
        address: "3 Temple Quay, Bristol BS1 6DZ",
        domains: &["riverside-homes.example", "riversidehomes.example"],
        // Exercises the organisation-wide two-factor rule; its users get codes by email.
        requires_two_factor: true,
        users: &[
            ("Riverside lead administrator (2FA by email)", "admin@riverside-homes.example", "Fiona", "McLeod", P::ALL),
            ("Riverside tenancy officer (2FA by email)", "tenancy@riverside-homes.example", "Kwame", "Mensah", TENANCY),
            ("Riverside finance officer (2FA by email)", "finance@riverside-homes.example", "Rachel", "Cohen", FINANCE),
            ("Riverside complaints handler (2FA by email)", "complaints@riverside-homes.example", "Liam", "O'Brien", &[]),
        ],
        properties: &[
            ("RHL-0001", "14 Coronation Road", None, "Bristol", "BS3 1AR", 82_500, 0, RentFrequency::Monthly),
            ("RHL-0002", "Flat 6, Harbourside Court", Some("Hotwell Road"), "Bristol", "BS8 4UD", 95_000, 6_500, RentFrequency::Monthly),
            ("RHL-0003", "31 Stapleton Road", None, "Bristol", "BS5 0QR", 17_500, 0, RentFrequency::Weekly),
            ("RHL-0004", "Flat 9, Redcliffe Parade", None, "Bristol", "BS1 6SP", 72_000, 5_200, RentFrequency::FourWeekly),
            ("RHL-0005", "8 Filwood Broadway", None, "Bristol", "BS4 1JN", 78_000, 0, RentFrequency::Monthly),
        ],
        tenants: &[
            ("Ben", "Carter", "UC-1928374", Some(0)),
            ("Chloe", "Evans", "UC-2039485", Some(1)),
            ("Daniel", "Novak", "UC-3140596", Some(2)),
            ("Hannah", "Price", "UC-4251607", Some(3)),
            ("Ioana", "Popescu", "UC-5362718", Some(4)),
            ("Kieran", "Doyle", "UC-6473829", None),
        ],
        requests: &[(5, "BS2 9LB", -1, false), (4, "BS4 1JN", 9, false), (0, "BS3 1AR", -30, true)],
    },
];

/// Cases: (type, stage, status, category, resident, organisation, owner
/// (staff index), opened days ago, closed days ago). The reference is the
/// current year and the row's position.
#[rustfmt::skip]
type CaseRow = (&'static str, &'static str, &'static str, &'static str, usize, usize, usize, i64, Option<i64>);
const MEMBER: &str = "Complaint about a member landlord";
#[rustfmt::skip]
const CASES: &[CaseRow] = &[
    (MEMBER, "DR2 Review", "Case under assessment", "Damp and mould", 0, 0, 0, 40, None),
    (MEMBER, "DR2 Dispute Support", "Awaiting landlord response", "Repairs", 0, 1, 0, 25, None),
    ("Complaint - DR2", "DR2 Review", "Evidence requested", "Asbestos", 2, 0, 1, 60, None),
    (MEMBER, "DR2 Dispute Support", "Case under assessment", "Anti-social behaviour", 1, 1, 0, 12, None),
    (MEMBER, "DR2 Review", "Closed", "Heating and hot water", 1, 1, 1, 150, Some(20)),
    ("Complaint - DR2", "DR2 Dispute Support", "Closed", "Complaint handling", 2, 0, 0, 200, Some(45)),
];

/// Tasks on open cases: (case, title, assignee, due in days, status).
#[rustfmt::skip]
const TASKS: &[(usize, &str, PartyKind, i64, TaskStatus)] = &[
    (0, "Upload photographs of the damp and mould", PartyKind::Resident, -4, TaskStatus::Pending),
    (0, "Provide the damp survey and your repair records", PartyKind::Landlord, 5, TaskStatus::Pending),
    (0, "Confirm the date of the contractor's inspection", PartyKind::Landlord, 20, TaskStatus::Completed),
    (1, "Send us your stage 2 complaint response", PartyKind::Landlord, -9, TaskStatus::Pending),
    (1, "Tell us what outcome you are seeking", PartyKind::Resident, 3, TaskStatus::Pending),
    (2, "Provide the asbestos management survey for the property", PartyKind::Landlord, 12, TaskStatus::Pending),
    (2, "Upload your tenancy agreement", PartyKind::Resident, 28, TaskStatus::UnableToComplete),
    (3, "Provide your anti-social behaviour case records", PartyKind::Landlord, 2, TaskStatus::Pending),
    (3, "Complete the impact statement", PartyKind::Resident, 35, TaskStatus::Pending),
];
const UNABLE_REASON: &str = "I was never given a copy of my tenancy agreement when I moved in, and the landlord has not answered my request for one. Could you ask them for it instead?";

/// The case owner's message on each open case: (case, subject, body).
#[rustfmt::skip]
const MESSAGES: &[(usize, &str, &str)] = &[
    (0, "Your complaint about damp and mould", "Thank you for bringing your complaint to us. We have asked your landlord for their damp survey and repair records. Please upload photographs of the affected rooms by the date on your task list."),
    (1, "Information needed from your landlord", "We are waiting for your landlord's stage 2 complaint response. Once we have it we will assess whether we can investigate your complaint about repairs."),
    (2, "Evidence requested: asbestos survey", "Before we can assess this complaint we need the asbestos management survey for the property and your tenancy agreement. Please use the tasks on this case to send them."),
    (3, "We have received your complaint", "Your complaint about anti-social behaviour has been registered and a caseworker from Dispute Resolution Team 2 will assess it. We will write to you again within 20 working days."),
];
/// The resident's reply (with an attachment) to the message on this case.
const REPLY: (usize, &str) = (
    0,
    "Thank you. I have attached my diary of the damp since October. The mould in the back bedroom came back three weeks after the wall was treated.",
);
/// The case whose staff message went to the resident alone (the others
/// went to both parties).
const RESIDENT_ONLY_CASE: usize = 3;
/// The case owner's internal note (staff only) on the reply's case.
const NOTE: &str = "Resident phoned: the landlord's contractor treated the wall in November. Ask the landlord for the job sheet.";
/// The case whose staff message has an unread "Read message" task.
const READ_TASK_CASE: usize = 1;
/// The case whose staff message the landlord's complaints handler has read.
const LANDLORD_READ_CASE: usize = 2;

/// Who uploaded a document, relative to its case.
#[derive(Clone, Copy, PartialEq)]
enum By {
    Owner,
    Resident,
    Landlord,
}

/// Documents: (case, uploader, file name, category, content).
#[rustfmt::skip]
const DOCUMENTS: &[(usize, By, &str, Doc, &str)] = &[
    (0, By::Owner, "Evidence request to landlord.txt", Doc::Correspondence, "Dear Northside Housing Association,\n\nPlease send the damp survey for Flat 7, Kirkgate House and your repair records since January.\n\nDispute Resolution Team 2\n"),
    (0, By::Resident, "Damp diary.txt", Doc::Evidence, "3 Oct: black mould behind the wardrobe in the back bedroom.\n17 Oct: reported again by phone.\n2 Nov: wall treated.\n23 Nov: mould is back.\n"),
    (2, By::Landlord, "Asbestos survey summary.txt", Doc::RepairRecord, "Management survey, 9 Chapel Lane.\nTextured ceiling coating (Artex), hallway: chrysotile, good condition, manage in place.\nRe-inspection due in 12 months.\n"),
    (3, By::Owner, "How we handle your complaint.txt", Doc::Correspondence, "We will assess your complaint, ask both parties for evidence and tell you the outcome in writing.\n"),
];

/// Payment arrangements, the same for each organisation: (tenant, status,
/// applied days ago, reason, arrears). Payments after the approval carry its reference.
#[rustfmt::skip]
const ARRANGEMENTS: &[(usize, Apa, i64, &str, i64)] = &[
    (1, Apa::Approved, 150, "Rent arrears of more than two months; the tenant asked for their housing costs to be paid to us directly.", 96_400),
    (2, Apa::Submitted, 4, "The tenant is struggling to budget and has missed three rent payments.", 42_750),
];
const APPROVAL_DAYS: i64 = 14;
/// Months of payments for every housed tenant: three years, so the payment
/// search has a few hundred rows per organisation to page and total.
const PAYMENT_MONTHS: u32 = 36;

/// Rows built in memory, written in foreign-key order by [`Demo::insert`].
#[derive(Default)]
struct Demo {
    organisations: Vec<organisation::Model>,
    domains: Vec<organisation_domain::Model>,
    users: Vec<user::Model>,
    permissions: Vec<user_permission::Model>,
    cases: Vec<case::Model>,
    counters: Vec<case_reference_counter::Model>,
    parties: Vec<case_party::Model>,
    messages: Vec<message::Model>,
    notes: Vec<case_note::Model>,
    tasks: Vec<task::Model>,
    reads: Vec<message_read::Model>,
    documents: Vec<document::Model>,
    /// The bytes of each document, by storage key.
    files: Vec<(String, &'static str)>,
    properties: Vec<property::Model>,
    tenants: Vec<tenant::Model>,
    requests: Vec<tenancy_request::Model>,
    arrangements: Vec<payment_arrangement::Model>,
    events: Vec<payment_arrangement_event::Model>,
    payments: Vec<payment::Model>,
}

/// Ids of the people the other rows point at, by table index.
#[derive(Default)]
struct People {
    staff: Vec<Uuid>,
    organisations: Vec<Uuid>,
    /// Per organisation, its users in role order.
    landlord_users: Vec<Vec<Uuid>>,
    residents: Vec<Uuid>,
}

/// Loads the demo data once; `None` when it was already there.
pub async fn load_demo_data(
    db: &DatabaseConnection,
    config: &Config,
) -> anyhow::Result<Option<DemoLogins>> {
    if already_loaded(db).await? {
        tracing::info!("demo data already present, not loading it again");
        return Ok(None);
    }
    tracing::info!("loading demo data");
    // Hashed once for every account, before the write transaction: argon2id is
    // slow by design, and SQLite's write lock would be held all the while.
    let password_hash = crate::auth::password::hash(DEMO_PASSWORD.to_owned()).await?;
    let demo = Demo::build(Utc::now(), &password_hash);

    let txn = platform::db::begin_write(db).await?;
    // Checked again under the write lock: another process may have loaded it
    // meanwhile. (On PostgreSQL, two truly concurrent loads collide on the
    // unique email index instead, and the loser rolls back.)
    if already_loaded(&txn).await? {
        txn.rollback().await?;
        return Ok(None);
    }
    demo.insert(&txn).await.context("writing demo data")?;
    // Files before the commit: if writing them fails, no row points at a
    // missing file. A failed commit leaves only unreferenced files behind.
    demo.write_files(config)
        .await
        .context("writing demo documents")?;
    txn.commit().await?;
    tracing::info!(
        cases = demo.cases.len(),
        payments = demo.payments.len(),
        users = demo.users.len(),
        "demo data loaded: {} cases, {} payments",
        demo.cases.len(),
        demo.payments.len()
    );
    Ok(Some(DemoLogins::known()))
}

/// Whether the demo data is in `db` (loaded earlier, on purpose).
pub async fn is_loaded(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    already_loaded(db).await
}

async fn already_loaded(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    let found = user::Entity::find()
        .filter(user::Column::EmailNormalized.eq(MARKER_EMAIL))
        .count(db)
        .await?;
    Ok(found > 0)
}

/// Inserts all `rows` of one table in a single statement.
async fn insert_all<E>(txn: &DatabaseTransaction, rows: &[E::Model]) -> Result<(), DbErr>
where
    E: EntityTrait,
    E::Model: IntoActiveModel<E::ActiveModel>,
{
    let active = rows.iter().cloned().map(IntoActiveModel::into_active_model);
    E::insert_many(active).exec_without_returning(txn).await?;
    Ok(())
}

fn days(n: i64) -> Duration {
    Duration::days(n)
}

/// An active user who accepted their invitation long ago and signed in
/// yesterday, so the 90-day inactivity sweep leaves them alone.
fn demo_user(
    now: DateTime<Utc>,
    hash: &str,
    kind: UserKind,
    email: &str,
    first: &str,
    last: &str,
) -> user::Model {
    let invited = now - days(180);
    user::Model {
        id: Uuid::now_v7(),
        kind,
        organisation_id: None,
        first_name: first.into(),
        last_name: last.into(),
        email: email.into(),
        email_normalized: email.to_lowercase(),
        password_hash: Some(hash.into()),
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
        last_login_at: Some(now - days(1)),
        invited_at: Some(invited),
        password_changed_at: Some(invited + days(1)),
        inactivity_warned_at: None,
        deactivated_at: None,
        created_at: invited,
        updated_at: now - days(1),
    }
}

impl Demo {
    fn build(now: DateTime<Utc>, password_hash: &str) -> Self {
        let mut demo = Self::default();
        let people = demo.add_people(now, password_hash);
        demo.add_casework(now, &people);
        for (index, org) in ORGANISATIONS.iter().enumerate() {
            demo.add_tenancy(now, &people, index, org);
        }
        demo
    }

    fn add_people(&mut self, now: DateTime<Utc>, hash: &str) -> People {
        let mut people = People::default();
        for &(_, email, first, last, role, team) in STAFF {
            let staff = user::Model {
                staff_role: Some(role),
                staff_team: Some(team.into()),
                staff_role_label: (role == StaffRole::Caseworker).then(|| "Case Handler".into()),
                // Staff always use two-factor: the demo's by email, so the
                // code is in the outbox folder.
                two_factor_method: TwoFactorMethod::Email,
                ..demo_user(now, hash, UserKind::Staff, email, first, last)
            };
            people.staff.push(staff.id);
            self.users.push(staff);
        }
        for org in ORGANISATIONS {
            let id = Uuid::now_v7();
            let created = now - days(365);
            self.organisations.push(organisation::Model {
                id,
                name: org.name.into(),
                address: org.address.into(),
                requires_two_factor: org.requires_two_factor,
                two_factor_methods: None,
                created_at: created,
                updated_at: created,
            });
            for domain in org.domains {
                let domain = (*domain).into();
                self.domains.push(organisation_domain::Model {
                    id: Uuid::now_v7(),
                    organisation_id: id,
                    domain,
                    created_at: created,
                });
            }
            let method = if org.requires_two_factor {
                TwoFactorMethod::Email
            } else {
                TwoFactorMethod::None
            };
            let mut ids = vec![];
            for &(_, email, first, last, permissions) in org.users {
                let member = user::Model {
                    organisation_id: Some(id),
                    two_factor_method: method,
                    ..demo_user(now, hash, UserKind::Landlord, email, first, last)
                };
                for &permission in permissions {
                    self.permissions.push(user_permission::Model {
                        user_id: member.id,
                        permission,
                        created_at: member.created_at,
                    });
                }
                ids.push(member.id);
                self.users.push(member);
            }
            people.organisations.push(id);
            people.landlord_users.push(ids);
        }
        for &(_, email, first, last, address, mobile, method) in RESIDENTS {
            let resident = user::Model {
                address: Some(address.into()),
                mobile_number: mobile.map(Into::into),
                two_factor_method: method,
                ..demo_user(now, hash, UserKind::Resident, email, first, last)
            };
            people.residents.push(resident.id);
            self.users.push(resident);
        }
        people
    }

    fn add_casework(&mut self, now: DateTime<Utc>, people: &People) {
        // The current year, as the API allocates references, so the counter
        // row below is the one the next new case continues from.
        let year = now.year();
        let today = now.date_naive();
        // Per case: (id, created, owner, resident, organisation, resident's party).
        let mut cases = vec![];
        for (i, &(case_type, stage, status, category, resident, org, owner, opened, closed)) in
            CASES.iter().enumerate()
        {
            let (id, created) = (Uuid::now_v7(), now - days(opened));
            let closed_at = closed.map(|d| now - days(d));
            let (resident, org, owner) = (
                people.residents[resident],
                people.organisations[org],
                people.staff[owner],
            );
            self.cases.push(case::Model {
                id,
                reference: format!("{year}{:05}", i + 1),
                case_type: case_type.into(),
                stage: stage.into(),
                status_label: status.into(),
                category: category.into(),
                landlord_organisation_id: Some(org),
                owner_user_id: Some(owner),
                closed_at,
                created_at: created,
                updated_at: closed_at.unwrap_or(created),
                // The demo's closed cases are labelled "Closed" already; what
                // they showed before is not part of the story.
                status_label_before_close: None,
            });
            let party = |kind, user_id, organisation_id| case_party::Model {
                id: Uuid::now_v7(),
                case_id: id,
                party_kind: kind,
                user_id,
                organisation_id,
                created_at: created,
            };
            let (resident_party, landlord_party) = (
                party(PartyKind::Resident, Some(resident), None),
                party(PartyKind::Landlord, None, Some(org)),
            );
            cases.push((id, created, owner, resident, org, resident_party.id));
            self.parties.extend([resident_party, landlord_party]);
        }
        self.counters.push(case_reference_counter::Model {
            year,
            last_value: CASES.len() as i32,
        });
        // The landlord user who handles a case: the organisation's complaints handler.
        let handler = |org: Uuid| {
            let index = people.organisations.iter().position(|&o| o == org).unwrap();
            people.landlord_users[index][COMPLAINTS_HANDLER]
        };

        let mut staff_messages = vec![None; CASES.len()];
        for &(c, subject, body) in MESSAGES {
            let (case_id, created, owner, ..) = cases[c];
            let sent = created + days(2);
            let id = Uuid::now_v7();
            self.messages.push(message::Model {
                id,
                case_id,
                sender_user_id: owner,
                parent_message_id: None,
                replying_party_id: None,
                subject: Some(subject.into()),
                body: body.into(),
                created_at: sent,
                to_resident: true,
                to_landlord: c != RESIDENT_ONLY_CASE,
            });
            staff_messages[c] = Some((id, sent));
        }
        let (reply_case, reply_body) = REPLY;
        let (case_id, _, owner, resident, _, resident_party) = cases[reply_case];
        let (parent, parent_sent) = staff_messages[reply_case].unwrap();
        let reply = message::Model {
            id: Uuid::now_v7(),
            case_id,
            sender_user_id: resident,
            parent_message_id: Some(parent),
            replying_party_id: Some(resident_party),
            subject: None,
            body: reply_body.into(),
            created_at: parent_sent + days(3),
            to_resident: false,
            to_landlord: false,
        };
        // The resident read the message they replied to, and the owner read the
        // reply; one landlord user read theirs. Everything else shows as unread.
        let read = |message_id, user_id, read_at| message_read::Model {
            message_id,
            user_id,
            read_at,
        };
        let (landlord_read, landlord_sent) = staff_messages[LANDLORD_READ_CASE].unwrap();
        self.reads.extend([
            read(parent, resident, reply.created_at - Duration::hours(1)),
            read(reply.id, owner, reply.created_at + Duration::hours(20)),
            read(
                landlord_read,
                handler(cases[LANDLORD_READ_CASE].4),
                landlord_sent + days(1),
            ),
        ]);
        let reply_id = reply.id;
        let reply_sent = reply.created_at;
        self.notes.push(case_note::Model {
            id: Uuid::now_v7(),
            case_id,
            author_user_id: owner,
            body: NOTE.into(),
            created_at: reply.created_at + Duration::hours(21),
        });
        self.messages.push(reply);

        let new_task = |c: usize, title: String, kind, due: i64, status| {
            let (case_id, created, owner, resident, org, ..) = cases[c];
            let assignee = match kind {
                PartyKind::Resident => resident,
                PartyKind::Landlord => handler(org),
            };
            let answered = (status != TaskStatus::Pending).then_some(now - days(2));
            task::Model {
                id: Uuid::now_v7(),
                case_id,
                title,
                description: None,
                due_date: today + days(due),
                status,
                assignee_kind: kind,
                assignee_user_id: (kind == PartyKind::Resident).then_some(resident),
                assignee_organisation_id: (kind == PartyKind::Landlord).then_some(org),
                source_message_id: None,
                unable_reason: (status == TaskStatus::UnableToComplete)
                    .then(|| UNABLE_REASON.into()),
                // When and by whom the assignee answered, either way; the
                // "unable" answer stays unreviewed for the owner to review.
                completed_at: answered,
                completed_by_user_id: answered.map(|_| assignee),
                reviewed_at: None,
                reviewed_by_user_id: None,
                due_soon_reminded_at: None,
                overdue_reminded_at: None,
                created_by_user_id: Some(owner),
                created_at: created + days(1),
                updated_at: answered.unwrap_or(created + days(1)),
            }
        };
        for &(c, title, kind, due, status) in TASKS {
            self.tasks
                .push(new_task(c, title.into(), kind, due, status));
        }
        let (source, sent) = staff_messages[READ_TASK_CASE].unwrap();
        let title = format!(
            "Read message from case {}",
            self.cases[READ_TASK_CASE].reference
        );
        self.tasks.push(task::Model {
            source_message_id: Some(source),
            created_at: sent,
            updated_at: sent,
            ..new_task(
                READ_TASK_CASE,
                title,
                PartyKind::Resident,
                7,
                TaskStatus::Pending,
            )
        });

        for &(c, by, filename, category, content) in DOCUMENTS {
            let (case_id, created, owner, resident, org, ..) = cases[c];
            let (uploader, message_id, uploaded) = match by {
                By::Owner => (owner, staff_messages[c].map(|m| m.0), created + days(2)),
                By::Resident if c == reply_case => (resident, Some(reply_id), reply_sent),
                By::Resident => (resident, None, created + days(4)),
                By::Landlord => (handler(org), None, created + days(5)),
            };
            // Demo documents are plain text written by the demo loader itself:
            // recorded as scanned clean, so every demo login can download them.
            let pending = false;
            let id = Uuid::now_v7();
            let storage_key = format!("documents/{id}");
            self.documents.push(document::Model {
                id,
                case_id: Some(case_id),
                message_id,
                payment_arrangement_id: None,
                uploaded_by_user_id: uploader,
                original_filename: filename.into(),
                content_type: "text/plain; charset=utf-8".into(),
                category,
                size_bytes: content.len() as i64,
                sha256: hex::encode(Sha256::digest(content.as_bytes())),
                storage_key: storage_key.clone(),
                scan_status: if pending {
                    ScanStatus::PendingScan
                } else {
                    ScanStatus::Clean
                },
                scan_detail: None,
                scanned_at: (!pending).then_some(uploaded + Duration::minutes(1)),
                // Only staff uploads are shared; the parties' own uploads go to staff.
                shared_with_parties: by == By::Owner,
                created_at: uploaded,
            });
            self.files.push((storage_key, content));
        }
    }

    fn add_tenancy(
        &mut self,
        now: DateTime<Utc>,
        people: &People,
        index: usize,
        org: &DemoOrganisation,
    ) {
        let today = now.date_naive();
        let organisation_id = people.organisations[index];
        let users = &people.landlord_users[index];
        let created = now - days(300);
        let first_property = self.properties.len();
        for &(reference, line1, line2, town, postcode, rent, service, frequency) in org.properties {
            self.properties.push(property::Model {
                id: Uuid::now_v7(),
                organisation_id,
                reference: reference.into(),
                address_line1: line1.into(),
                address_line2: line2.map(Into::into),
                town: town.into(),
                postcode: postcode.into(),
                rent_pence: rent,
                service_charge_pence: service,
                rent_frequency: frequency,
                removed_at: None,
                created_at: created,
                updated_at: created,
            });
        }
        let properties = self.properties[first_property..].to_vec();
        let first_tenant = self.tenants.len();
        for &(first, last, claim, home) in org.tenants {
            self.tenants.push(tenant::Model {
                id: Uuid::now_v7(),
                organisation_id,
                first_name: first.into(),
                last_name: last.into(),
                claim_reference: claim.into(),
                property_id: home.map(|p| properties[p].id),
                created_at: created,
                updated_at: created,
            });
        }
        let tenants = self.tenants[first_tenant..].to_vec();

        for &(t, postcode, due, answered) in org.requests {
            let home = org.tenants[t].3.map(|p| &properties[p]);
            let raised = now - days(if answered { 45 } else { 10 });
            let answered_at = answered.then_some(raised + days(5));
            self.requests.push(tenancy_request::Model {
                id: Uuid::now_v7(),
                organisation_id,
                tenant_id: tenants[t].id,
                postcode: postcode.into(),
                status: if answered {
                    TenancyRequestStatus::Answered
                } else {
                    TenancyRequestStatus::Open
                },
                reason: TenancyRequestReason::NewClaim,
                property_id: home.filter(|_| answered).map(|p| p.id),
                due_date: today + days(due),
                created_by_user_id: Some(people.staff[CASEWORKER]),
                answered_by_user_id: answered.then_some(users[TENANCY_OFFICER]),
                answered_at,
                tenancy_start_date: answered.then_some(today - days(400)),
                rent_pence: home.filter(|_| answered).map(|p| p.rent_pence),
                rent_frequency: home.filter(|_| answered).map(|p| p.rent_frequency),
                service_charge_pence: home.filter(|_| answered).map(|p| p.service_charge_pence),
                in_arrears: answered.then_some(false),
                arrears_pence: None,
                created_at: raised,
                updated_at: answered_at.unwrap_or(raised),
            });
        }

        // Per tenant: (arrangement reference, approved on), for the payments below.
        let mut approved = vec![None; tenants.len()];
        for &(t, status, applied_days_ago, reason, arrears) in ARRANGEMENTS {
            let (id, applied) = (Uuid::now_v7(), now - days(applied_days_ago));
            let reference = format!("APA-{:06}", self.arrangements.len() + 1);
            let applicant = users[FINANCE_OFFICER];
            let decided = (status == Apa::Approved).then_some(applied + days(APPROVAL_DAYS));
            let decider = decided.map(|_| people.staff[SERVICE_ADMIN]);
            let event = |status, note: Option<&str>, actor, at| payment_arrangement_event::Model {
                id: Uuid::now_v7(),
                payment_arrangement_id: id,
                status,
                note: note.map(Into::into),
                actor_user_id: Some(actor),
                created_at: at,
            };
            self.events
                .push(event(Apa::Submitted, None, applicant, applied));
            if let (Some(at), Some(by)) = (decided, decider) {
                self.events.push(event(
                    Apa::Approved,
                    Some("Arrears exceed two months' rent."),
                    by,
                    at,
                ));
                approved[t] = Some((reference.clone(), at.date_naive()));
            }
            self.arrangements.push(payment_arrangement::Model {
                id,
                organisation_id,
                tenant_id: tenants[t].id,
                reference,
                reason: reason.into(),
                arrears_pence: arrears,
                status,
                decision_reason: None,
                decided_by_user_id: decider,
                decided_at: decided,
                applied_by_user_id: Some(applicant),
                created_at: applied,
                updated_at: decided.unwrap_or(applied),
            });
        }

        // Housing costs are paid monthly in arrears, a week after each
        // tenant's assessment period ends; days are staggered per tenant so
        // payments spread across the month.
        for (t, tenant) in tenants.iter().enumerate() {
            let Some(home) = org.tenants[t].3.map(|p| &properties[p]) else {
                continue;
            };
            let amount = monthly_pence(
                home.rent_pence + home.service_charge_pence,
                home.rent_frequency,
            );
            for payment_date in payment_dates(today, 3 + 5 * t as u32) {
                let period_end = payment_date - days(7);
                let period_start = (period_end + days(1))
                    .checked_sub_months(Months::new(1))
                    .unwrap();
                let arrangement = approved[t].as_ref().filter(|(_, on)| payment_date >= *on);
                self.payments.push(payment::Model {
                    id: Uuid::now_v7(),
                    organisation_id,
                    tenant_id: tenant.id,
                    property_id: Some(home.id),
                    tenant_name: format!("{} {}", tenant.first_name, tenant.last_name),
                    postcode: home.postcode.clone(),
                    claim_reference: tenant.claim_reference.clone(),
                    amount_pence: amount,
                    payment_date,
                    period_start,
                    period_end,
                    arrangement_reference: arrangement.map(|(reference, _)| reference.clone()),
                    created_at: payment_date.and_hms_opt(9, 0, 0).unwrap().and_utc(),
                });
            }
        }
    }

    /// Writes every table in foreign-key order.
    async fn insert(&self, txn: &DatabaseTransaction) -> Result<(), DbErr> {
        insert_all::<organisation::Entity>(txn, &self.organisations).await?;
        insert_all::<organisation_domain::Entity>(txn, &self.domains).await?;
        insert_all::<user::Entity>(txn, &self.users).await?;
        insert_all::<user_permission::Entity>(txn, &self.permissions).await?;
        insert_all::<case::Entity>(txn, &self.cases).await?;
        insert_all::<case_reference_counter::Entity>(txn, &self.counters).await?;
        insert_all::<case_party::Entity>(txn, &self.parties).await?;
        insert_all::<message::Entity>(txn, &self.messages).await?;
        insert_all::<case_note::Entity>(txn, &self.notes).await?;
        insert_all::<task::Entity>(txn, &self.tasks).await?;
        insert_all::<message_read::Entity>(txn, &self.reads).await?;
        insert_all::<document::Entity>(txn, &self.documents).await?;
        insert_all::<property::Entity>(txn, &self.properties).await?;
        insert_all::<tenant::Entity>(txn, &self.tenants).await?;
        insert_all::<tenancy_request::Entity>(txn, &self.requests).await?;
        insert_all::<payment_arrangement::Entity>(txn, &self.arrangements).await?;
        insert_all::<payment_arrangement_event::Entity>(txn, &self.events).await?;
        insert_all::<payment::Entity>(txn, &self.payments).await
    }

    /// Writes the documents' bytes to the configured storage (local folder
    /// or S3) under their storage keys.
    async fn write_files(&self, config: &Config) -> anyhow::Result<()> {
        let storage = platform::storage::Storage::from_config(config).await?;
        for (key, content) in &self.files {
            storage
                .put(key, content.as_bytes(), "text/plain; charset=utf-8")
                .await
                .with_context(|| format!("storing {key}"))?;
        }
        Ok(())
    }
}

/// The monthly equivalent of an amount due every `frequency` (52 weeks a year).
fn monthly_pence(amount: i64, frequency: RentFrequency) -> i64 {
    match frequency {
        RentFrequency::Weekly => amount * 52 / 12,
        RentFrequency::Fortnightly => amount * 26 / 12,
        RentFrequency::FourWeekly => amount * 13 / 12,
        RentFrequency::Monthly => amount,
        RentFrequency::Quarterly => amount / 3,
        RentFrequency::Yearly => amount / 12,
    }
}

/// The last [`PAYMENT_MONTHS`] dates on `day` of the month (1 to 28), up to `today`.
fn payment_dates(today: NaiveDate, day: u32) -> impl Iterator<Item = NaiveDate> {
    let this_month = today.with_day(day).unwrap();
    let latest = if this_month <= today {
        this_month
    } else {
        this_month.checked_sub_months(Months::new(1)).unwrap()
    };
    (0..PAYMENT_MONTHS).map(move |k| latest.checked_sub_months(Months::new(k)).unwrap())
}
