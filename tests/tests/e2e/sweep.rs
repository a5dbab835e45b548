//! The daily 90-day inactivity sweep: who is warned, who is deactivated and
//! what follows (sessions ended, email, audit entry, email address and mobile
//! number free again), that it is idempotent and safe to run twice at once,
//! and that the scheduler enqueues it once a day however many workers ask.

use api::identity::inactivity_sweep::{self, InactivitySweep, SweepReport};
use api::jobs;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use entities::{
    DeliveryStatus, UserKind, UserStatus, audit_log, notification_delivery, organisation, session,
    user,
};
use portal_tests::{TestApp, fixtures::TestUser};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;
use worker::{outbox, scheduler};

const VIEWER: &str = "{ viewer { id } }";

/// Whether a session token still signs its user in (one that names no live
/// session is anonymous: `viewer` is null).
async fn signed_in(app: &TestApp, token: &str) -> bool {
    !app.graphql(Some(token), VIEWER, json!({})).await.data()["viewer"].is_null()
}

async fn organisation(app: &TestApp) -> Uuid {
    let now = Utc::now();
    organisation::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set("Northside Housing Association".into()),
        address: Set("1 High Street, Northtown NT1 1AA".into()),
        requires_two_factor: Set(false),
        two_factor_methods: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(app.db())
    .await
    .unwrap()
    .id
}

async fn landlord_user(app: &TestApp, org: Uuid) -> TestUser {
    app.create_user(UserKind::Landlord, None, Some(org)).await
}

/// Sets a user's last sign-in `days` days before `now`.
async fn last_signed_in(app: &TestApp, id: Uuid, at: DateTime<Utc>) {
    set(app, id, user::Column::LastLoginAt, Some(at)).await;
}

async fn set<V: Into<sea_orm::Value>>(app: &TestApp, id: Uuid, column: user::Column, value: V) {
    user::Entity::update_many()
        .col_expr(column, Expr::value(value.into()))
        .filter(user::Column::Id.eq(id))
        .exec(app.db())
        .await
        .unwrap();
}

fn days_ago(days: i64) -> DateTime<Utc> {
    Utc::now() - Duration::days(days)
}

async fn reload(app: &TestApp, id: Uuid) -> user::Model {
    user::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
}

/// The nightly run, as production does it: the scheduler enqueues today's
/// sweep and the worker runs it and then the emails it queued.
async fn nightly_sweep(app: &TestApp) {
    let today = Utc::now().date_naive().and_time(NaiveTime::MIN).and_utc();
    // A day's sweep that has not run yet in this test (the dedupe would make a
    // second run the same day a no-op), from yesterday's back, so it is due now.
    let mut at = today - Duration::days(1) + Duration::hours(3);
    while jobs::INACTIVITY_SWEEP
        .enqueue_due(app.db(), at)
        .await
        .unwrap()
        .is_none()
    {
        at -= Duration::days(1);
    }
    app.run_pending_jobs().await;
}

async fn deliveries(
    app: &TestApp,
    user: Uuid,
    template: &str,
) -> Vec<notification_delivery::Model> {
    notification_delivery::Entity::find()
        .filter(notification_delivery::Column::UserId.eq(user))
        .filter(notification_delivery::Column::Template.eq(template))
        .all(app.db())
        .await
        .unwrap()
}

async fn audit_entries(app: &TestApp, user: Uuid) -> Vec<audit_log::Model> {
    audit_log::Entity::find()
        .filter(audit_log::Column::TargetId.eq(user))
        .all(app.db())
        .await
        .unwrap()
}

fn snapshot_filters(app: &TestApp) -> Vec<(String, &'static str)> {
    vec![
        (app.host.replace('.', r"\."), "[host]"),
        (r"user-[0-9a-f]{32}@".to_owned(), "[user]@"),
        (
            r"\d{1,2} (January|February|March|April|May|June|July|August|September|October|November|December) \d{4}"
                .to_owned(),
            "[date]",
        ),
    ]
}

#[tokio::test]
async fn an_account_idle_for_90_days_is_deactivated_signed_out_told_and_audited() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let idle = landlord_user(&app, org).await;
    set(
        &app,
        idle.user.id,
        user::Column::MobileNumber,
        Some("+447700900123".to_owned()),
    )
    .await;
    last_signed_in(&app, idle.user.id, days_ago(91)).await;
    // The session still works until the sweep runs.
    assert!(signed_in(&app, &idle.token).await);

    nightly_sweep(&app).await;

    let after = reload(&app, idle.user.id).await;
    assert_eq!(after.status, UserStatus::Deactivated);
    assert!(after.deactivated_at.is_some());
    assert_eq!(after.mobile_number, None, "the number is freed");

    // Signed out everywhere.
    let sessions = session::Entity::find()
        .filter(session::Column::UserId.eq(idle.user.id))
        .all(app.db())
        .await
        .unwrap();
    assert!(!sessions.is_empty());
    assert!(
        sessions.iter().all(|s| s.revoked_at.is_some()),
        "{sessions:?}"
    );
    // The token signs nobody in any more: the request is anonymous.
    assert!(!signed_in(&app, &idle.token).await);

    // Told by email, which says why.
    let sent = deliveries(&app, idle.user.id, "account_deactivated").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].status, DeliveryStatus::Sent);
    let emails = app.emails().await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].to, idle.user.email);
    let filters = snapshot_filters(&app);
    insta::with_settings!({ filters => filters.iter().map(|(a, b)| (a.as_str(), *b)).collect::<Vec<_>>() }, {
        insta::assert_yaml_snapshot!("deactivated_email", emails[0]);
    });

    // Audited as a system action, readable by the organisation's administrators.
    let entries = audit_entries(&app, idle.user.id).await;
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(entry.action, "user.deactivated_inactive");
    assert_eq!(entry.target_type, "user");
    assert_eq!(entry.actor_user_id, None);
    assert_eq!(entry.actor_api_token_id, None);
    assert_eq!(entry.organisation_id, Some(org));
    assert_eq!(entry.before.as_ref().unwrap()["status"], json!("ACTIVE"));
    assert_eq!(
        entry.after.as_ref().unwrap()["status"],
        json!("DEACTIVATED")
    );

    // The email address and the mobile number can be given to a new account.
    let newcomer = landlord_user(&app, org).await;
    let mut reuse: user::ActiveModel = reload(&app, newcomer.user.id).await.into();
    reuse.email = Set(idle.user.email.clone());
    reuse.email_normalized = Set(idle.user.email_normalized.clone());
    reuse.mobile_number = Set(Some("+447700900123".into()));
    reuse
        .update(app.db())
        .await
        .expect("email and mobile are free again");

    // Nothing more happens on the next night.
    nightly_sweep(&app).await;
    assert_eq!(app.emails().await.len(), 1);
    assert_eq!(audit_entries(&app, idle.user.id).await.len(), 1);
}

#[tokio::test]
async fn an_account_idle_for_80_days_is_warned_once() {
    let app = TestApp::init().await;
    let idle = app.resident().await;
    last_signed_in(&app, idle.user.id, days_ago(80)).await;

    nightly_sweep(&app).await;

    let warned = reload(&app, idle.user.id).await;
    assert_eq!(warned.status, UserStatus::Active, "a warning only");
    assert!(warned.inactivity_warned_at.is_some());
    let sent = deliveries(&app, idle.user.id, "inactivity_warning").await;
    assert_eq!(sent.len(), 1);
    let deactivates_on = (Utc::now() + Duration::days(10)).date_naive();
    assert_eq!(
        sent[0].params,
        json!({
            "first_name": "Test",
            "days_remaining": 10,
            "deactivates_on": deactivates_on.to_string(),
            "organisation_member": false,
        })
    );
    let emails = app.emails().await;
    assert_eq!(emails.len(), 1);
    let filters = snapshot_filters(&app);
    insta::with_settings!({ filters => filters.iter().map(|(a, b)| (a.as_str(), *b)).collect::<Vec<_>>() }, {
        insta::assert_yaml_snapshot!("warning_email", emails[0]);
    });
    // Still signed in: a warning changes nothing else.
    assert!(signed_in(&app, &idle.token).await);

    nightly_sweep(&app).await;
    nightly_sweep(&app).await;
    assert_eq!(app.emails().await.len(), 1, "warned once per idle spell");
    assert_eq!(
        deliveries(&app, idle.user.id, "inactivity_warning")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn signing_in_after_a_warning_starts_a_new_spell_that_is_warned_again() {
    let app = TestApp::init().await;
    let user = app.resident().await;
    let t0 = Utc::now();
    last_signed_in(&app, user.user.id, t0 - Duration::days(80)).await;

    let db = app.db();
    let first = inactivity_sweep::sweep(db, t0, 100).await.unwrap();
    assert_eq!(
        first,
        SweepReport {
            deactivated: 0,
            warned: 1,
            kept: 0,
        }
    );

    // Warned, they sign in the next day, and then go quiet again.
    let signed_in = t0 + Duration::days(1);
    last_signed_in(&app, user.user.id, signed_in).await;
    let quiet = |days| signed_in + Duration::days(days);
    assert_eq!(
        inactivity_sweep::sweep(db, quiet(75), 100).await.unwrap(),
        SweepReport::default()
    );
    assert_eq!(
        inactivity_sweep::sweep(db, quiet(77), 100).await.unwrap(),
        SweepReport {
            deactivated: 0,
            warned: 1,
            kept: 0,
        }
    );
    assert_eq!(
        inactivity_sweep::sweep(db, quiet(78), 100).await.unwrap(),
        SweepReport::default()
    );
    // Still quiet at 90 days: now they go.
    assert_eq!(
        inactivity_sweep::sweep(db, quiet(90) + Duration::hours(1), 100)
            .await
            .unwrap(),
        SweepReport {
            deactivated: 1,
            warned: 0,
            kept: 0,
        }
    );

    app.run_pending_jobs().await;
    assert_eq!(
        deliveries(&app, user.user.id, "inactivity_warning")
            .await
            .len(),
        2
    );
    assert_eq!(
        deliveries(&app, user.user.id, "account_deactivated")
            .await
            .len(),
        1
    );
    assert_eq!(app.emails().await.len(), 3);
}

#[tokio::test]
async fn an_invitee_who_never_signed_in_counts_from_the_invitation() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let long_ago = landlord_user(&app, org).await;
    let recently = landlord_user(&app, org).await;
    for (who, invited) in [(&long_ago, days_ago(91)), (&recently, days_ago(78))] {
        set(
            &app,
            who.user.id,
            user::Column::LastLoginAt,
            Option::<DateTime<Utc>>::None,
        )
        .await;
        set(&app, who.user.id, user::Column::InvitedAt, Some(invited)).await;
        // Created long before the invitation (e.g. re-invited): the invitation counts.
        set(&app, who.user.id, user::Column::CreatedAt, days_ago(400)).await;
    }

    nightly_sweep(&app).await;

    assert_eq!(
        reload(&app, long_ago.user.id).await.status,
        UserStatus::Deactivated
    );
    let warned = reload(&app, recently.user.id).await;
    assert_eq!(warned.status, UserStatus::Active);
    assert_eq!(
        deliveries(&app, recently.user.id, "inactivity_warning")
            .await
            .len(),
        1
    );
    assert_eq!(
        deliveries(&app, recently.user.id, "inactivity_warning").await[0].params["days_remaining"],
        json!(12)
    );
}

#[tokio::test]
async fn only_idle_residents_and_landlord_users_are_swept() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let recent = landlord_user(&app, org).await;
    last_signed_in(&app, recent.user.id, days_ago(10)).await;
    // Staff are governed by the back office's own leavers process.
    let staff = app.caseworker().await;
    last_signed_in(&app, staff.user.id, days_ago(200)).await;
    let admin = app.service_admin().await;
    last_signed_in(&app, admin.user.id, days_ago(80)).await;
    // A restriction is staff's decision: the sweep must not turn it into a
    // deactivation that frees the address for a re-invitation.
    let restricted = landlord_user(&app, org).await;
    last_signed_in(&app, restricted.user.id, days_ago(200)).await;
    set(
        &app,
        restricted.user.id,
        user::Column::Status,
        UserStatus::Restricted.as_str(),
    )
    .await;
    // A suspended account is deactivated when idle, but not warned (it cannot sign in).
    let suspended = landlord_user(&app, org).await;
    last_signed_in(&app, suspended.user.id, days_ago(91)).await;
    set(
        &app,
        suspended.user.id,
        user::Column::Status,
        UserStatus::Suspended.as_str(),
    )
    .await;
    let suspended_recent = landlord_user(&app, org).await;
    last_signed_in(&app, suspended_recent.user.id, days_ago(80)).await;
    set(
        &app,
        suspended_recent.user.id,
        user::Column::Status,
        UserStatus::Suspended.as_str(),
    )
    .await;

    nightly_sweep(&app).await;

    for (who, status) in [
        (&recent, UserStatus::Active),
        (&staff, UserStatus::Active),
        (&admin, UserStatus::Active),
        (&restricted, UserStatus::Restricted),
        (&suspended, UserStatus::Deactivated),
        (&suspended_recent, UserStatus::Suspended),
    ] {
        let now = reload(&app, who.user.id).await;
        assert_eq!(now.status, status, "{}", who.user.last_name);
        assert_eq!(now.inactivity_warned_at, None);
    }
    assert_eq!(
        audit_entries(&app, suspended.user.id).await[0]
            .before
            .as_ref()
            .unwrap()["status"],
        json!("SUSPENDED")
    );
    assert_eq!(
        app.emails().await.len(),
        1,
        "only the suspended idle account is told"
    );
    assert!(signed_in(&app, &recent.token).await);
    assert!(signed_in(&app, &staff.token).await);
}

#[tokio::test]
async fn two_sweeps_at_once_split_the_work_and_tell_each_user_once() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let mut to_deactivate = Vec::new();
    let mut to_warn = Vec::new();
    for n in 0..60 {
        let u = landlord_user(&app, org).await;
        let idle = if n % 2 == 0 { 95 } else { 80 };
        last_signed_in(&app, u.user.id, days_ago(idle)).await;
        if n % 2 == 0 {
            to_deactivate.push(u.user.id);
        } else {
            to_warn.push(u.user.id);
        }
    }

    // Small batches, so the two runs interleave batch by batch.
    let now = Utc::now();
    let (a, b) = tokio::join!(
        inactivity_sweep::sweep(app.db(), now, 4),
        inactivity_sweep::sweep(app.db(), now, 4)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.deactivated + b.deactivated, 30, "{a:?} {b:?}");
    assert_eq!(a.warned + b.warned, 30, "{a:?} {b:?}");

    // And two sweep jobs (two days' worth, as after an outage) run at once.
    let today = InactivitySweep {
        day: now.date_naive(),
    };
    let yesterday = InactivitySweep {
        day: now.date_naive().pred_opt().unwrap(),
    };
    let first = outbox::enqueue(app.db(), &today).await.unwrap().unwrap();
    let second = outbox::enqueue(app.db(), &yesterday)
        .await
        .unwrap()
        .unwrap();
    let (x, y) = tokio::join!(app.runner().execute(first), app.runner().execute(second));
    assert_eq!(
        (x.unwrap(), y.unwrap()),
        (worker::runner::Outcome::Done, worker::runner::Outcome::Done)
    );
    app.run_pending_jobs().await;

    for id in &to_deactivate {
        assert_eq!(deliveries(&app, *id, "account_deactivated").await.len(), 1);
        assert_eq!(deliveries(&app, *id, "inactivity_warning").await.len(), 0);
        assert_eq!(audit_entries(&app, *id).await.len(), 1);
    }
    for id in &to_warn {
        assert_eq!(deliveries(&app, *id, "inactivity_warning").await.len(), 1);
        assert_eq!(audit_entries(&app, *id).await.len(), 0);
    }
    assert_eq!(
        app.emails().await.len(),
        60,
        "one email per user, none twice"
    );
}

#[tokio::test]
async fn the_scheduler_enqueues_one_sweep_a_day_however_many_workers_ask() {
    let app = TestApp::init().await;
    let sweeps = || async {
        entities::outbox_job::Entity::find()
            .filter(entities::outbox_job::Column::Kind.eq("inactivity_sweep"))
            .count(app.db())
            .await
            .unwrap()
    };
    let day = Utc::now().date_naive() - chrono::Days::new(3);
    let at = |days: u64, h: u32| {
        (day + chrono::Days::new(days))
            .and_hms_opt(h, 0, 0)
            .unwrap()
            .and_utc()
    };

    // Three workers start at 03:00 together: one of them writes the job.
    let (a, b, c) = tokio::join!(
        jobs::INACTIVITY_SWEEP.enqueue_due(app.db(), at(0, 3)),
        jobs::INACTIVITY_SWEEP.enqueue_due(app.db(), at(0, 3)),
        jobs::INACTIVITY_SWEEP.enqueue_due(app.db(), at(0, 3)),
    );
    let written = [a.unwrap(), b.unwrap(), c.unwrap()]
        .iter()
        .flatten()
        .count();
    assert_eq!(written, 1);
    // Hourly re-checks the same day, and before 02:00 the next day: still that day's.
    assert!(
        jobs::INACTIVITY_SWEEP
            .enqueue_due(app.db(), at(0, 23))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        jobs::INACTIVITY_SWEEP
            .enqueue_due(app.db(), at(1, 1))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(sweeps().await, 1);
    // From 02:00 the next day's.
    assert!(
        jobs::INACTIVITY_SWEEP
            .enqueue_due(app.db(), at(1, 2))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(sweeps().await, 2);
    let job = entities::outbox_job::Entity::find()
        .filter(
            entities::outbox_job::Column::DedupeKey
                .eq(format!("inactivity_sweep:{}", day + chrono::Days::new(1))),
        )
        .one(app.db())
        .await
        .unwrap()
        .expect("the job is keyed by its day");
    assert_eq!(job.run_at, at(1, 2), "due at 02:00");

    // The task itself: enqueues at start-up (today's, if not there), stops on shutdown.
    let shutdown = worker::runner::Shutdown::new();
    let task = tokio::spawn(scheduler::run(
        app.db().clone(),
        jobs::SCHEDULE,
        shutdown.clone(),
    ));
    shutdown.cancel();
    tokio::time::timeout(std::time::Duration::from_secs(10), task)
        .await
        .expect("stops on shutdown")
        .unwrap();
    let today = jobs::INACTIVITY_SWEEP.day_due(Utc::now());
    assert!(
        jobs::INACTIVITY_SWEEP
            .enqueue_due(app.db(), Utc::now())
            .await
            .unwrap()
            .is_none(),
        "the task enqueued {today}'s sweep"
    );
    // The three jobs of this test, and the task reminders, export expiry
    // and webhook log pruning the task also enqueued (see
    // `task_reminders.rs`, `exports.rs`, `webhooks_delivery.rs`).
    assert_eq!(app.run_pending_jobs().await, 6);
}

/// Gives `user` the `MANAGE_USERS` permission.
async fn make_manager(app: &TestApp, user: Uuid) {
    entities::user_permission::ActiveModel {
        user_id: Set(user),
        permission: Set(entities::Permission::ManageUsers),
        created_at: Set(Utc::now()),
    }
    .insert(app.db())
    .await
    .unwrap();
}

#[tokio::test]
async fn a_resident_with_an_open_case_is_kept_and_closing_it_restarts_their_90_days() {
    let app = TestApp::init().await;
    let t0 = Utc::now();
    let waiting = app.resident().await;
    last_signed_in(&app, waiting.user.id, t0 - Duration::days(200)).await;
    let case = app
        .create_case("HOS-2026-000777", Some(waiting.user.id), None, None)
        .await;
    // An idle resident without a case is swept as before.
    let idle = app.resident().await;
    last_signed_in(&app, idle.user.id, t0 - Duration::days(95)).await;

    let db = app.db();
    let report = inactivity_sweep::sweep(db, t0, 100).await.unwrap();
    assert_eq!(
        report,
        SweepReport {
            deactivated: 1,
            warned: 0,
            kept: 0,
        }
    );
    assert_eq!(
        reload(&app, idle.user.id).await.status,
        UserStatus::Deactivated
    );
    let kept = reload(&app, waiting.user.id).await;
    assert_eq!(kept.status, UserStatus::Active);
    assert_eq!(kept.inactivity_warned_at, None, "not even warned");

    // The case closes: the closing is their last activity.
    let closed_at = t0 + Duration::days(1);
    entities::case::Entity::update_many()
        .col_expr(
            entities::case::Column::ClosedAt,
            Expr::value(Some(closed_at)),
        )
        .filter(entities::case::Column::Id.eq(case.id))
        .exec(db)
        .await
        .unwrap();
    let after = |days| closed_at + Duration::days(days);
    assert_eq!(
        inactivity_sweep::sweep(db, after(75), 100).await.unwrap(),
        SweepReport::default(),
        "200 days since the sign-in, but 75 since the case closed"
    );
    assert_eq!(
        inactivity_sweep::sweep(db, after(77), 100).await.unwrap(),
        SweepReport {
            deactivated: 0,
            warned: 1,
            kept: 0,
        }
    );
    app.run_pending_jobs().await;
    let warning = app
        .emails()
        .await
        .into_iter()
        .find(|e| e.to == waiting.user.email)
        .expect("a warning");
    assert!(warning.text.contains("in 13 days"), "{}", warning.text);
    assert_eq!(
        inactivity_sweep::sweep(db, after(90) + Duration::hours(1), 100)
            .await
            .unwrap(),
        SweepReport {
            deactivated: 1,
            warned: 0,
            kept: 0,
        }
    );
    assert_eq!(
        reload(&app, waiting.user.id).await.status,
        UserStatus::Deactivated
    );
    app.run_pending_jobs().await;
}

#[tokio::test]
async fn an_organisations_last_user_manager_is_kept_and_staff_are_told_once() {
    let app = TestApp::init().await;
    let t0 = Utc::now();
    let org = organisation(&app).await;
    let manager = landlord_user(&app, org).await;
    make_manager(&app, manager.user.id).await;
    last_signed_in(&app, manager.user.id, t0 - Duration::days(120)).await;
    // An idle colleague without the permission goes as usual.
    let colleague = landlord_user(&app, org).await;
    last_signed_in(&app, colleague.user.id, t0 - Duration::days(120)).await;
    let admin = app.service_admin().await;
    let caseworker = app.caseworker().await;

    let db = app.db();
    assert_eq!(
        inactivity_sweep::sweep(db, t0, 100).await.unwrap(),
        SweepReport {
            deactivated: 1,
            warned: 0,
            kept: 1,
        }
    );
    assert_eq!(
        reload(&app, manager.user.id).await.status,
        UserStatus::Active
    );
    assert_eq!(
        reload(&app, colleague.user.id).await.status,
        UserStatus::Deactivated
    );
    assert!(signed_in(&app, &manager.token).await);
    app.run_pending_jobs().await;
    let told: Vec<_> = app
        .emails()
        .await
        .into_iter()
        .filter(|e| e.subject.contains("only user manager"))
        .collect();
    assert_eq!(told.len(), 1, "service administrators only: {told:#?}");
    assert_eq!(told[0].to, admin.user.email);
    assert_ne!(told[0].to, caseworker.user.email);
    assert!(
        told[0].text.contains(&manager.user.email),
        "{}",
        told[0].text
    );
    let filters = snapshot_filters(&app);
    insta::with_settings!({ filters => filters.iter().map(|(a, b)| (a.as_str(), *b)).chain([(r"/organisations/[0-9a-f-]{36}/", "/organisations/[org]/")]).collect::<Vec<_>>() }, {
        insta::assert_yaml_snapshot!("last_manager_kept_email", told[0]);
    });
    let actions: Vec<_> = audit_entries(&app, manager.user.id)
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, [inactivity_sweep::KEPT_AUDIT_ACTION]);

    // Told once per idle spell: the next nights say nothing more.
    assert_eq!(
        inactivity_sweep::sweep(db, t0 + Duration::days(1), 100)
            .await
            .unwrap(),
        SweepReport::default()
    );

    // Once someone else can manage users (and is active), the sweep goes ahead.
    let successor = landlord_user(&app, org).await;
    make_manager(&app, successor.user.id).await;
    assert_eq!(
        inactivity_sweep::sweep(db, t0 + Duration::days(2), 100)
            .await
            .unwrap(),
        SweepReport {
            deactivated: 1,
            warned: 0,
            kept: 0,
        }
    );
    assert_eq!(
        reload(&app, manager.user.id).await.status,
        UserStatus::Deactivated
    );
    app.run_pending_jobs().await;
}

#[tokio::test]
async fn two_idle_managers_of_one_organisation_are_both_kept() {
    let app = TestApp::init().await;
    let t0 = Utc::now();
    let org = organisation(&app).await;
    let first = landlord_user(&app, org).await;
    let second = landlord_user(&app, org).await;
    for who in [&first, &second] {
        make_manager(&app, who.user.id).await;
        last_signed_in(&app, who.user.id, t0 - Duration::days(100)).await;
    }
    let report = inactivity_sweep::sweep(app.db(), t0, 1).await.unwrap();
    assert_eq!(report.deactivated, 0, "{report:?}");
    assert_eq!(report.kept, 2, "{report:?}");
    for who in [&first, &second] {
        assert_eq!(reload(&app, who.user.id).await.status, UserStatus::Active);
    }
    app.run_pending_jobs().await;
}
