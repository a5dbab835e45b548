//! The bulk-seeding SQL shared by `bench cases`, `bench payments`, `bench
//! suite` and `bench soak`: set-based `INSERT ... SELECT generate_series`, one
//! statement per table, ids derived from `md5(<kind> || n)` so rows can refer
//! to each other without lookups. Progress goes to stderr.
//!
//! * [`organisations`]: `md5('org' || g)`, g = 1..n.
//! * [`casework`]: 50 caseworkers (`md5('staff' || g)`), residents
//!   (`md5('resident' || g)`; resident 0 is the **bench resident**, the
//!   resident party of cases 1..=[`RESIDENT_CASES`]), cases (one in five
//!   closed; landlord `g % 500 + 1`, owner `g % 50 + 1`), a resident and a
//!   landlord party per case, 5 tasks and 10 messages per case.
//! * [`payments`]: 500 tenants per organisation over the first `orgs`
//!   organisations and payments spread evenly over them and the last two years.

use std::time::Instant;

use anyhow::Context as _;
use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value};
use uuid::Uuid;

/// Cases of the bench resident.
pub const RESIDENT_CASES: i64 = 50;
/// Tenants per organisation with payments.
pub const TENANTS: i64 = 500;
/// Days of payment history.
pub const HISTORY_DAYS: i64 = 730;
/// Landlord organisations the cases are spread over (cases need at least
/// this many organisations).
pub const CASE_LANDLORDS: i64 = 500;

/// Runs one statement with progress on stderr; returns the rows it wrote.
pub async fn step(
    db: &DatabaseConnection,
    what: &str,
    sql: &str,
    values: Vec<Value>,
) -> anyhow::Result<u64> {
    let started = Instant::now();
    let done = db
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await
        .with_context(|| format!("generating {what}"))?;
    eprintln!(
        "[data] {what}: {} rows in {:.1} s",
        done.rows_affected(),
        started.elapsed().as_secs_f64()
    );
    Ok(done.rows_affected())
}

/// Organisations 1..=n.
pub async fn organisations(db: &DatabaseConnection, n: i64) -> anyhow::Result<u64> {
    step(
        db,
        "organisations",
        "INSERT INTO organisations (id, name, address, requires_two_factor, created_at, updated_at) \
         SELECT md5('org' || g)::uuid, 'Housing Association ' || g, g || ' High Street', false, $1, $1 \
         FROM generate_series(1, $2::bigint) g",
        vec![Utc::now().into(), n.into()],
    )
    .await
}

/// Caseworkers, residents, `n` cases with their parties, tasks and messages
/// (needs [`CASE_LANDLORDS`] organisations). Returns the rows per table.
pub async fn casework(db: &DatabaseConnection, n: i64) -> anyhow::Result<Vec<(String, i64)>> {
    // Residents other than the bench resident, two cases each.
    let residents = (n - RESIDENT_CASES).div_euclid(2).max(1);
    let now = Utc::now();
    let today = now.date_naive();
    let mut rows = Vec::new();
    let user_columns = "id, kind, organisation_id, first_name, last_name, email, email_normalized, \
         status, mobile_reset_pending, two_factor_method, failed_login_attempts, staff_team, \
         staff_role, address, last_login_at, created_at, updated_at";
    let staff = step(
        db,
        "caseworkers",
        &format!(
            "INSERT INTO users ({user_columns}) \
             SELECT md5('staff' || g)::uuid, 'STAFF', NULL, 'Case', 'Worker ' || g, \
                    'staff' || g || '@bench.example', 'staff' || g || '@bench.example', \
                    'ACTIVE', false, 'NONE', 0, 'Dispute Resolution', 'CASEWORKER', NULL, $1, $1, $1 \
             FROM generate_series(1, 50) g"
        ),
        vec![now.into()],
    )
    .await?;
    // Resident 0 is the bench resident.
    let people = step(
        db,
        "residents",
        &format!(
            "INSERT INTO users ({user_columns}) \
             SELECT md5('resident' || g)::uuid, 'RESIDENT', NULL, 'Resident', 'Number ' || g, \
                    'resident' || g || '@bench.example', 'resident' || g || '@bench.example', \
                    'ACTIVE', false, 'NONE', 0, NULL, NULL, g || ' Low Road', $1, $1, $1 \
             FROM generate_series(0, $2::bigint) g"
        ),
        vec![now.into(), residents.into()],
    )
    .await?;
    rows.push(("users".to_owned(), (staff + people) as i64));

    // Case g: the bench resident's for g <= 50, else resident (g - 51) / 2 + 1;
    // landlord g % 500 + 1; owner g % 50 + 1; closed when g % 5 = 0.
    // References: year 2000 + g / 100000 and a 5-digit sequence.
    let resident_of = format!(
        "CASE WHEN g <= {RESIDENT_CASES} THEN 0 ELSE (g - {RESIDENT_CASES} - 1) / 2 % {residents} + 1 END"
    );
    let written = step(
        db,
        "cases",
        "INSERT INTO cases (id, reference, case_type, stage, status_label, category, \
                            landlord_organisation_id, owner_user_id, closed_at, created_at, updated_at) \
         SELECT md5('case' || g)::uuid, \
                (2000 + g / 100000)::text || lpad((g % 100000)::text, 5, '0'), \
                'Complaint about a member landlord', \
                (ARRAY['DR2 Review', 'DR2 Dispute Support', 'Assessment'])[g % 3 + 1], \
                CASE WHEN g % 5 = 0 THEN 'Closed' ELSE 'Case under assessment' END, \
                (ARRAY['Asbestos', 'Damp and mould', 'Repairs', 'Noise'])[g % 4 + 1], \
                md5('org' || (g % 500 + 1))::uuid, md5('staff' || (g % 50 + 1))::uuid, \
                CASE WHEN g % 5 = 0 THEN $1::timestamptz - make_interval(days => (g % 300)::int) END, \
                $1::timestamptz - make_interval(days => (30 + g % 700)::int), $1 \
         FROM generate_series(1, $2::bigint) g",
        vec![now.into(), n.into()],
    )
    .await?;
    rows.push(("cases".to_owned(), written as i64));
    let written = step(
        db,
        "case parties",
        &format!(
            "INSERT INTO case_parties (id, case_id, party_kind, user_id, organisation_id, created_at) \
             SELECT md5('rparty' || g)::uuid, md5('case' || g)::uuid, 'RESIDENT', \
                    md5('resident' || ({resident_of}))::uuid, NULL, $1 \
             FROM generate_series(1, $2::bigint) g \
             UNION ALL \
             SELECT md5('lparty' || g)::uuid, md5('case' || g)::uuid, 'LANDLORD', NULL, \
                    md5('org' || (g % 500 + 1))::uuid, $1 \
             FROM generate_series(1, $2::bigint) g"
        ),
        vec![now.into(), n.into()],
    )
    .await?;
    rows.push(("case_parties".to_owned(), written as i64));
    // Task k of case g: for the resident when k is odd, else the landlord;
    // pending for k <= 3, else completed.
    let written = step(
        db,
        "tasks",
        &format!(
            "INSERT INTO tasks (id, case_id, title, due_date, status, assignee_kind, \
                                assignee_user_id, assignee_organisation_id, completed_at, \
                                created_at, updated_at) \
             SELECT md5('task' || g || '-' || k)::uuid, md5('case' || g)::uuid, \
                    (ARRAY['Send photos', 'Send the repair log', 'Read message', \
                           'Confirm your address', 'Send the landlord''s response'])[k], \
                    $2::date + ((g * 7 + k * 13) % 60 - 20)::int, \
                    CASE WHEN k <= 3 THEN 'PENDING' ELSE 'COMPLETED' END, \
                    CASE WHEN k % 2 = 1 THEN 'RESIDENT' ELSE 'LANDLORD' END, \
                    CASE WHEN k % 2 = 1 THEN md5('resident' || ({resident_of}))::uuid END, \
                    CASE WHEN k % 2 = 0 THEN md5('org' || (g % 500 + 1))::uuid END, \
                    CASE WHEN k > 3 THEN $1::timestamptz END, $1, $1 \
             FROM generate_series(1, $3::bigint) g, generate_series(1, 5) k"
        ),
        vec![now.into(), today.into(), n.into()],
    )
    .await?;
    rows.push(("tasks".to_owned(), written as i64));
    // Messages 2j - 1 (staff, from the owner) and 2j (the resident's reply).
    let written = step(
        db,
        "messages",
        &format!(
            "INSERT INTO messages (id, case_id, sender_user_id, parent_message_id, replying_party_id, \
                                   subject, body, created_at) \
             SELECT md5('msg' || g || '-' || k)::uuid, md5('case' || g)::uuid, \
                    CASE WHEN k % 2 = 1 THEN md5('staff' || (g % 50 + 1))::uuid \
                         ELSE md5('resident' || ({resident_of}))::uuid END, \
                    CASE WHEN k % 2 = 0 THEN md5('msg' || g || '-' || (k - 1))::uuid END, \
                    CASE WHEN k % 2 = 0 THEN md5('rparty' || g)::uuid END, \
                    CASE WHEN k % 2 = 1 THEN 'Update on your case' END, \
                    repeat('Message text. ', 10 + k), \
                    $1::timestamptz - make_interval(days => 20 - k, secs => (g % 3600)::int) \
             FROM generate_series(1, $2::bigint) g, generate_series(1, 10) k"
        ),
        vec![now.into(), n.into()],
    )
    .await?;
    rows.push(("messages".to_owned(), written as i64));
    Ok(rows)
}

/// [`TENANTS`] tenants for each of organisations 1..=`orgs`, and `n`
/// payments spread evenly over the tenants and the last [`HISTORY_DAYS`]
/// days. Returns the payments written.
pub async fn payments(db: &DatabaseConnection, orgs: i64, n: i64) -> anyhow::Result<u64> {
    let now = Utc::now();
    let today = now.date_naive();
    // Tenant t (1-based) belongs to organisation (t % orgs) + 1.
    step(
        db,
        "tenants",
        "INSERT INTO tenants (id, organisation_id, first_name, last_name, claim_reference, created_at, updated_at) \
         SELECT md5('tenant' || t)::uuid, md5('org' || ((t % $2::bigint) + 1))::uuid, \
                'Tenant', 'Number' || t, 'UC-' || lpad(t::text, 8, '0'), $1, $1 \
         FROM generate_series(1, $3::bigint) t",
        vec![now.into(), orgs.into(), (orgs * TENANTS).into()],
    )
    .await?;
    // Payment g is for tenant (g % tenants) + 1, on one of the last
    // HISTORY_DAYS days.
    step(
        db,
        "payments",
        "INSERT INTO payments (id, organisation_id, tenant_id, property_id, tenant_name, postcode, \
             claim_reference, amount_pence, payment_date, period_start, period_end, arrangement_reference, created_at) \
         SELECT md5('payment' || g)::uuid, md5('org' || ((t % $2::bigint) + 1))::uuid, md5('tenant' || t)::uuid, NULL, \
                'Tenant Number' || t, 'LS' || (t % 20 + 1) || ' ' || (t % 9 + 1) || 'AB', \
                'UC-' || lpad(t::text, 8, '0'), 10000 + (g * 37) % 90000, \
                $1::date - (g % $4::bigint)::int, $1::date - (g % $4::bigint)::int - 37, \
                $1::date - (g % $4::bigint)::int - 8, NULL, $5 \
         FROM (SELECT g, (g % $3::bigint) + 1 AS t FROM generate_series(1, $6::bigint) g) s",
        vec![
            today.into(),
            orgs.into(),
            (orgs * TENANTS).into(),
            HISTORY_DAYS.into(),
            now.into(),
            n.into(),
        ],
    )
    .await
}

/// `VACUUM ANALYZE` with progress (the visibility map makes the payment
/// totals an index-only scan, as on a table autovacuum keeps up with).
pub async fn vacuum_analyze(db: &DatabaseConnection) -> anyhow::Result<()> {
    let started = Instant::now();
    db.execute_unprepared("VACUUM ANALYZE").await?;
    eprintln!(
        "[data] VACUUM ANALYZE in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// An id the generator derived (`md5(<key>)::uuid`), as PostgreSQL derives it.
pub async fn derived_id(db: &DatabaseConnection, key: &str) -> anyhow::Result<Uuid> {
    Ok(db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT md5($1)::uuid AS id",
            [Value::from(key.to_owned())],
        ))
        .await?
        .context("no derived id")?
        .try_get("", "id")?)
}

/// The bench resident's case ids (cases 1..=[`RESIDENT_CASES`]).
pub async fn resident_cases(db: &DatabaseConnection) -> anyhow::Result<Vec<String>> {
    let mut cases = Vec::new();
    for g in 1..=RESIDENT_CASES {
        // As the API names them: global ids.
        let id = derived_id(db, &format!("case{g}")).await?;
        cases.push(api::graphql::scalars::global_id(api::graphql::scalars::NodeKind::Case, id).0);
    }
    Ok(cases)
}
