//! The daily task reminders: who is reminded of which tasks (due within two
//! days, overdue; pending tasks of open cases only; residents, and the active
//! users of a landlord organisation), once per task and kind, also when two
//! runs race, and that the scheduler enqueues them once a day.

use api::casework::task_reminders::{self, ReminderReport};
use api::jobs;
use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use entities::{TaskStatus, UserKind, UserStatus, case, notification_delivery, task};
use portal_tests::{TestApp, case_fixtures::Assignee};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, Set,
};
use uuid::Uuid;

/// The run's clock: a fixed morning, so dates in the emails are stable.
fn morning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 3, 11, 6, 0, 0).unwrap()
}

fn day(offset: i64) -> NaiveDate {
    let today = morning().date_naive();
    if offset >= 0 {
        today + Days::new(offset as u64)
    } else {
        today - Days::new(offset.unsigned_abs())
    }
}

async fn set_status(app: &TestApp, task: &task::Model, status: TaskStatus) {
    let mut active = task.clone().into_active_model();
    active.status = Set(status);
    active.update(app.db()).await.unwrap();
}

async fn reminders_to(app: &TestApp, user: Uuid) -> Vec<notification_delivery::Model> {
    notification_delivery::Entity::find()
        .filter(notification_delivery::Column::UserId.eq(user))
        .filter(notification_delivery::Column::Template.eq("task_reminder"))
        .all(app.db())
        .await
        .unwrap()
}

async fn stamped(app: &TestApp, t: &task::Model) -> task::Model {
    task::Entity::find_by_id(t.id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
}

fn snapshot_filters(app: &TestApp) -> Vec<(String, &'static str)> {
    vec![
        (app.host.replace('.', r"\."), "[host]"),
        (r"user-[0-9a-f]{32}@".to_owned(), "[user]@"),
    ]
}

#[tokio::test]
async fn assignees_are_reminded_once_of_tasks_due_soon_and_of_overdue_ones() {
    let app = TestApp::init().await;
    let owner = app.caseworker().await;
    let resident = app.resident().await;
    let org = app.create_organisation(&[], false).await;
    let landlord_a = app.create_user(UserKind::Landlord, None, Some(org)).await;
    let landlord_b = app.create_user(UserKind::Landlord, None, Some(org)).await;
    let suspended = app.create_user(UserKind::Landlord, None, Some(org)).await;
    let mut active = suspended.user.clone().into_active_model();
    active.status = Set(UserStatus::Suspended);
    active.update(app.db()).await.unwrap();

    let open = app
        .create_case(
            "203000001",
            Some(resident.user.id),
            Some(org),
            Some(owner.user.id),
        )
        .await;
    let closed = app
        .create_case(
            "203000002",
            Some(resident.user.id),
            None,
            Some(owner.user.id),
        )
        .await;
    let mut closing = closed.clone().into_active_model();
    closing.closed_at = Set(Some(morning()));
    let _: case::Model = closing.update(app.db()).await.unwrap();

    let me = Assignee::Resident(resident.user.id);
    let soon = app
        .create_task(open.id, "Send photos of the damp", day(1), me)
        .await;
    let late = app.create_task(open.id, "Read message", day(-3), me).await;
    let later = app.create_task(open.id, "Sign the form", day(5), me).await;
    let done = app.create_task(open.id, "Call us", day(-1), me).await;
    set_status(&app, &done, TaskStatus::Completed).await;
    let unable = app.create_task(open.id, "Visit", day(0), me).await;
    set_status(&app, &unable, TaskStatus::UnableToComplete).await;
    app.create_task(closed.id, "On a closed case", day(-2), me)
        .await;
    let landlords = app
        .create_task(
            open.id,
            "Send the repair log",
            day(2),
            Assignee::Organisation(org),
        )
        .await;

    let report = task_reminders::remind(app.db(), morning(), 1)
        .await
        .unwrap();
    assert_eq!(
        report,
        ReminderReport {
            emails: 3,
            due_soon: 2,
            overdue: 1
        },
        "the resident, and both active users of the organisation"
    );
    assert_eq!(app.run_pending_jobs().await, 3);

    let emails = app.emails().await;
    let to_resident: Vec<_> = emails
        .iter()
        .filter(|e| e.to == resident.user.email)
        .collect();
    assert_eq!(to_resident.len(), 1, "one email for all of a user's tasks");
    let filters = snapshot_filters(&app);
    insta::with_settings!({ filters => filters.iter().map(|(a, b)| (a.as_str(), *b)).collect::<Vec<_>>() }, {
        insta::assert_yaml_snapshot!("task_reminder_email", to_resident[0]);
    });
    for landlord in [&landlord_a, &landlord_b] {
        let sent = reminders_to(&app, landlord.user.id).await;
        assert_eq!(sent.len(), 1);
        assert_eq!(
            sent[0].params["tasks"][0]["title"], "Send the repair log",
            "{:?}",
            sent[0].params
        );
    }
    assert!(reminders_to(&app, suspended.user.id).await.is_empty());

    // Stamped, once per kind.
    assert!(stamped(&app, &soon).await.due_soon_reminded_at.is_some());
    assert!(stamped(&app, &soon).await.overdue_reminded_at.is_none());
    assert!(stamped(&app, &late).await.overdue_reminded_at.is_some());
    assert!(stamped(&app, &later).await.due_soon_reminded_at.is_none());
    assert!(
        stamped(&app, &landlords)
            .await
            .due_soon_reminded_at
            .is_some()
    );

    // The same day again: nothing to send.
    let again = task_reminders::remind(app.db(), morning(), 1)
        .await
        .unwrap();
    assert_eq!(again, ReminderReport::default());
    assert_eq!(app.run_pending_jobs().await, 0);

    // Three days on: "Send photos" is now overdue (reminded again, as such),
    // "Sign the form" is due soon; "Read message" was already reminded as
    // overdue.
    let report = task_reminders::remind(app.db(), morning() + chrono::Duration::days(3), 100)
        .await
        .unwrap();
    assert_eq!(
        report,
        ReminderReport {
            emails: 3,
            due_soon: 1,
            overdue: 2
        },
        "the landlord's task is overdue too"
    );
    app.run_pending_jobs().await;
    let sent = reminders_to(&app, resident.user.id).await;
    assert_eq!(sent.len(), 2);
    let latest = sent
        .iter()
        .max_by_key(|d| d.created_at)
        .unwrap()
        .params
        .clone();
    let titles: Vec<(&str, bool)> = latest["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["title"].as_str().unwrap(),
                t["overdue"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        titles,
        vec![("Send photos of the damp", true), ("Sign the form", false)]
    );
}

/// Half past midnight in the UK on a summer night is still the day before in
/// UTC: the dates are the UK's.
#[tokio::test]
async fn after_midnight_in_summer_the_days_are_the_uks() {
    let app = TestApp::init().await;
    let owner = app.caseworker().await;
    let resident = app.resident().await;
    let case = app
        .create_case(
            "203000003",
            Some(resident.user.id),
            None,
            Some(owner.user.id),
        )
        .await;
    // 23:30 UTC on 1 July is 00:30 on 2 July in London (BST).
    let night = Utc.with_ymd_and_hms(2030, 7, 1, 23, 30, 0).unwrap();
    let date = |d| NaiveDate::from_ymd_opt(2030, 7, d).unwrap();
    let me = Assignee::Resident(resident.user.id);
    let yesterday = app.create_task(case.id, "Due on 1 July", date(1), me).await;
    let in_two_days = app.create_task(case.id, "Due on 4 July", date(4), me).await;

    let report = task_reminders::remind(app.db(), night, 10).await.unwrap();
    assert_eq!(
        report,
        ReminderReport {
            emails: 1,
            due_soon: 1,
            overdue: 1
        },
        "1 July is over in the UK, and 4 July is two days away (in UTC it would be due today and three days away)"
    );
    assert!(
        stamped(&app, &yesterday)
            .await
            .overdue_reminded_at
            .is_some()
    );
    assert!(
        stamped(&app, &in_two_days)
            .await
            .due_soon_reminded_at
            .is_some()
    );
    assert_eq!(app.run_pending_jobs().await, 1);
}

#[tokio::test]
async fn two_runs_at_once_remind_each_task_once() {
    let app = TestApp::init().await;
    let owner = app.caseworker().await;
    let mut residents = Vec::new();
    for i in 0..30 {
        let resident = app.resident().await;
        let case = app
            .create_case(
                &format!("2030{i:05}"),
                Some(resident.user.id),
                None,
                Some(owner.user.id),
            )
            .await;
        let me = Assignee::Resident(resident.user.id);
        app.create_task(case.id, "Due soon", day(1), me).await;
        app.create_task(case.id, "Overdue", day(-1), me).await;
        residents.push(resident);
    }

    let (a, b) = tokio::join!(
        task_reminders::remind(app.db(), morning(), 7),
        task_reminders::remind(app.db(), morning(), 7),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.due_soon + b.due_soon, 30, "{a:?} {b:?}");
    assert_eq!(a.overdue + b.overdue, 30, "{a:?} {b:?}");
    let deliveries = notification_delivery::Entity::find()
        .filter(notification_delivery::Column::Template.eq("task_reminder"))
        .all(app.db())
        .await
        .unwrap();
    let listed: usize = deliveries
        .iter()
        .map(|d| d.params["tasks"].as_array().unwrap().len())
        .sum();
    assert_eq!(listed, 60, "every task listed exactly once");
    assert_eq!(a.emails + b.emails, deliveries.len() as u64);
    assert_eq!(app.run_pending_jobs().await, deliveries.len());
}

#[tokio::test]
async fn the_scheduler_enqueues_the_reminders_once_a_day_and_the_worker_sends_them() {
    let app = TestApp::init().await;
    let owner = app.caseworker().await;
    let resident = app.resident().await;
    let case = app
        .create_case(
            "203000003",
            Some(resident.user.id),
            None,
            Some(owner.user.id),
        )
        .await;
    let today = Utc::now().date_naive();
    app.create_task(
        case.id,
        "Send photos",
        today - Days::new(1),
        Assignee::Resident(resident.user.id),
    )
    .await;

    let now = Utc::now();
    let first = jobs::TASK_REMINDERS
        .enqueue_due(app.db(), now)
        .await
        .unwrap();
    assert!(first.is_some());
    assert!(
        jobs::TASK_REMINDERS
            .enqueue_due(app.db(), now)
            .await
            .unwrap()
            .is_none(),
        "the same day's reminders are enqueued once"
    );
    let job = entities::outbox_job::Entity::find()
        .filter(entities::outbox_job::Column::DedupeKey.eq(format!(
            "task_reminders:{}",
            jobs::TASK_REMINDERS.day_due(now)
        )))
        .count(app.db())
        .await
        .unwrap();
    assert_eq!(job, 1);

    // The job, then the email it queued.
    assert_eq!(app.run_pending_jobs().await, 2);
    assert_eq!(reminders_to(&app, resident.user.id).await.len(), 1);
    assert!(reminders_to(&app, owner.user.id).await.is_empty());
}
