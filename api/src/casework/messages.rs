//! Messages: staff write to the parties of a case they choose; each
//! recipient party may reply once to each staff message; read receipts drive
//! the unread counts.
//!
//! A staff message names its recipients ([`Recipient`]: the resident
//! parties, the landlord organisation, or both; stored as
//! `messages.to_resident` / `to_landlord`). Only they see it and its
//! attachments (`policy::messages`, `policy::documents`), and in its
//! transaction it emails exactly them (`new_message`) — the resident
//! parties, and every active user of the landlord party's organisation (the
//! organisation is the party; any of its users may act) — and sets one
//! "Read message" task per recipient party (`source_message_id`), due in
//! [`READ_TASK_DAYS`] days. Unread counts and live updates follow, because
//! they are built on the same visibility.
//!
//! A "Read message" task is completed when a user of its party marks the
//! message read (for a landlord organisation, the first of its users to read
//! it): reading is what the task asks for, so nobody has to tick it off by
//! hand as well. On a closed case reading still records the receipt (the
//! reader's own unread count is theirs, and the thread stays readable), but
//! completes no task: a closed case is read-only, its tasks stay as they were
//! when it closed.
//!
//! Sending takes the back office's `Allowed<Staff>`; replying and marking
//! read take the party's `Allowed<Reader>`. A message's attachments are
//! staged (checked and stored) by [`send`] and [`reply`] themselves, and
//! deleted again if the message is not recorded. Staff-only notes are not
//! messages: see [`super::notes`].

use std::collections::{BTreeSet, HashMap};

use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult,
    QueryFilter, QuerySelect, QueryTrait, Set,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;
use uuid::Uuid;

use entities::{
    PartyKind, TaskStatus, UserKind, UserStatus, case, case_party, message, message_read, task,
    user,
};

use super::{
    MAX_BODY, MAX_SHORT, open,
    tasks::{Assignee, new_row},
    text, today,
};
use crate::{
    app::App,
    audit::{self, Entry},
    documents::{self, Attach, NewFile},
    error::{ApiError, ApiResult},
    events::CaseEvent,
    notifications,
    notifications::templates::EmailTemplate,
    policy::{self, Allowed, Staff, cases::Reader},
    webhooks,
};

/// Days a party has to read a staff message (the "Read message" task's date).
pub const READ_TASK_DAYS: i64 = 7;

/// A party a staff message can be sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Recipient {
    /// The case's resident parties.
    Resident,
    /// The case's landlord organisation (every one of its users).
    Landlord,
}

/// The recipients of a staff message, checked against the case: the given
/// ones (at least one, each a party on it), or every party on it when none
/// are given (there must be one); `BAD_USER_INPUT` on `input.recipients`
/// otherwise. Returns (to the residents, to the landlord).
fn recipients_on(
    recipients: Option<&[Recipient]>,
    parties: &[case_party::Model],
) -> ApiResult<(bool, bool)> {
    const FIELD: &str = "input.recipients";
    let has = |kind| parties.iter().any(|p| p.party_kind == kind);
    let Some(recipients) = recipients else {
        let every = (has(PartyKind::Resident), has(PartyKind::Landlord));
        if every == (false, false) {
            return Err(ApiError::bad_input(
                FIELD,
                "The case has no party to send it to: add one, or write an internal note.",
            ));
        }
        return Ok(every);
    };
    if recipients.is_empty() {
        return Err(ApiError::bad_input(
            FIELD,
            "Choose who the message is for: the resident, the landlord, or both.",
        ));
    }
    let mut reasons = vec![];
    let wanted: BTreeSet<Recipient> = recipients.iter().copied().collect();
    if wanted.contains(&Recipient::Resident) && !has(PartyKind::Resident) {
        reasons.push("The case has no resident party.".to_owned());
    }
    if wanted.contains(&Recipient::Landlord) && !has(PartyKind::Landlord) {
        reasons.push("The case has no landlord party.".to_owned());
    }
    if !reasons.is_empty() {
        return Err(ApiError::BadInput {
            message: reasons.join(" "),
            field: Some(FIELD.to_owned()),
            reasons,
        });
    }
    Ok((
        wanted.contains(&Recipient::Resident),
        wanted.contains(&Recipient::Landlord),
    ))
}

async fn parties_of(
    conn: &impl ConnectionTrait,
    case_id: Uuid,
) -> ApiResult<Vec<case_party::Model>> {
    Ok(case_party::Entity::find()
        .filter(case_party::Column::CaseId.eq(case_id))
        .all(conn)
        .await?)
}

/// What a staff message says and whom it is for.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Subject (at most 200 characters).
    pub subject: String,
    /// Text (at most 2000 characters).
    pub body: String,
    /// Who receives it (at least one, each a party on the case); `None`:
    /// every party on the case.
    pub recipients: Option<Vec<Recipient>>,
}

/// A staff message to the chosen parties of an open case (the back office),
/// with its attachments (shared with the recipients only; every file is
/// checked before any is kept, and none is kept if the message is not sent).
pub async fn send(
    app: &App,
    staff: &Allowed<Staff>,
    case_id: Uuid,
    input: &NewMessage,
    attachments: Vec<NewFile>,
) -> ApiResult<(message::Model, Vec<task::Model>)> {
    // Authorise and check the input before any file is checked or stored
    // (the transaction checks again, under its lock).
    open(policy::cases::find_managed(&app.db, staff, case_id, true).await?)?;
    text("input.subject", &input.subject, MAX_SHORT)?;
    text("input.body", &input.body, MAX_BODY)?;
    recipients_on(
        input.recipients.as_deref(),
        &parties_of(&app.db, case_id).await?,
    )?;
    let staged = documents::stage(app, attachments).await?;
    let sent = send_staged(app, staff, case_id, input, &staged).await;
    documents::keep_or_discard(app, &staged, sent).await
}

async fn send_staged(
    app: &App,
    staff: &Allowed<Staff>,
    case_id: Uuid,
    input: &NewMessage,
    attachments: &documents::Staged,
) -> ApiResult<(message::Model, Vec<task::Model>)> {
    let subject = text("input.subject", &input.subject, MAX_SHORT)?;
    let body = text("input.body", &input.body, MAX_BODY)?;
    let txn = platform::db::begin_write(&app.db).await?;
    let case = open(policy::cases::find_managed(&txn, staff, case_id, true).await?)?;
    let parties = parties_of(&txn, case_id).await?;
    let (to_resident, to_landlord) = recipients_on(input.recipients.as_deref(), &parties)?;
    let sender = user::Entity::find_by_id(staff.user_id)
        .one(&txn)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let created = message::ActiveModel {
        id: Set(Uuid::now_v7()),
        case_id: Set(case_id),
        sender_user_id: Set(staff.user_id),
        parent_message_id: Set(None),
        replying_party_id: Set(None),
        subject: Set(Some(subject)),
        body: Set(body),
        created_at: Set(Utc::now()),
        to_resident: Set(to_resident),
        to_landlord: Set(to_landlord),
    }
    .insert(&txn)
    .await?;
    // Shared with the parties, and (by the document policy) seen only by
    // those who see the message: its recipients.
    attachments
        .insert(
            &txn,
            Attach::Case {
                case_id,
                message_id: Some(created.id),
                shared_with_parties: true,
            },
            staff.user_id,
            staff.actor(),
        )
        .await?;

    let recipients: Vec<&case_party::Model> = parties
        .iter()
        .filter(|p| match p.party_kind {
            PartyKind::Resident => to_resident,
            PartyKind::Landlord => to_landlord,
        })
        .collect();
    let mut tasks = vec![];
    for party in &recipients {
        let assignee = match (party.party_kind, party.user_id, party.organisation_id) {
            (PartyKind::Resident, Some(id), _) => Assignee::Resident(id),
            (PartyKind::Landlord, _, Some(org)) => Assignee::Landlord(org),
            _ => continue,
        };
        tasks.push(
            new_row(
                case_id,
                format!("Read message from case {}", case.reference),
                Some(created.subject.clone().unwrap_or_default()),
                today() + Duration::days(READ_TASK_DAYS),
                assignee,
                staff.user_id,
                Some(created.id),
            )
            .insert(&txn)
            .await?,
        );
    }

    for party in recipients
        .iter()
        .filter(|p| p.party_kind == PartyKind::Landlord)
    {
        if let Some(organisation_id) = party.organisation_id {
            webhooks::events::message_posted(&txn, organisation_id, &case, &created).await?;
        }
    }
    for task in &tasks {
        webhooks::events::task_assigned(&txn, &case, task).await?;
    }

    let resident_ids: Vec<Uuid> = recipients.iter().filter_map(|p| p.user_id).collect();
    let org_ids: Vec<Uuid> = recipients
        .iter()
        .filter_map(|p| p.organisation_id)
        .collect();
    let recipients = user::Entity::find()
        .filter(user::Column::Status.eq(UserStatus::Active))
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(user::Column::Kind.eq(UserKind::Resident))
                        .add(user::Column::Id.is_in(resident_ids)),
                )
                .add(
                    Condition::all()
                        .add(user::Column::Kind.eq(UserKind::Landlord))
                        .add(user::Column::OrganisationId.is_in(org_ids)),
                ),
        )
        .all(&txn)
        .await?;
    let sender_name = format!("{} {}", sender.first_name, sender.last_name);
    notifications::queue_emails(
        &txn,
        EmailTemplate::NewMessage,
        recipients
            .into_iter()
            .map(|u| {
                (
                    notifications::Recipient {
                        address: u.email,
                        user_id: Some(u.id),
                    },
                    json!({
                        "first_name": u.first_name,
                        "case_reference": case.reference,
                        "sender_name": sender_name,
                    }),
                )
            })
            .collect(),
    )
    .await?;
    audit::record(
        &txn,
        staff.actor(),
        Entry {
            action: "message.send",
            target_type: "message",
            target_id: Some(created.id),
            organisation_id: None,
        },
        None,
        Some(json!({
            "case_id": case_id,
            "to_resident": to_resident,
            "to_landlord": to_landlord,
            "tasks": tasks.len(),
        })),
    )
    .await?;
    txn.commit().await?;
    app.events.publish(CaseEvent::MessagePosted {
        case_id,
        message_id: created.id,
    });
    for t in &tasks {
        app.events.publish(CaseEvent::TaskChanged {
            case_id,
            task_id: t.id,
        });
    }
    Ok((created, tasks))
}

/// A party's reply to a staff message: once per party per message
/// (`CONFLICT` the second time, also when two replies race: the partial
/// unique index decides), at most 2000 characters, on an open case, with
/// its attachments (seen by staff and the replying side; every file is
/// checked before any is kept, and none is kept if the reply is not sent).
pub async fn reply(
    app: &App,
    allowed: &Allowed<Reader>,
    message_id: Uuid,
    body: &str,
    attachments: Vec<NewFile>,
) -> ApiResult<message::Model> {
    // Authorise before any file is checked or stored (the transaction checks
    // again, under its lock).
    let parent = policy::messages::find_repliable(&app.db, allowed, message_id).await?;
    open(policy::cases::find_visible(&app.db, **allowed, parent.case_id).await?)?;
    let staged = documents::stage(app, attachments).await?;
    let replied = reply_staged(app, allowed, message_id, body, &staged).await;
    documents::keep_or_discard(app, &staged, replied).await
}

async fn reply_staged(
    app: &App,
    allowed: &Allowed<Reader>,
    message_id: Uuid,
    body: &str,
    attachments: &documents::Staged,
) -> ApiResult<message::Model> {
    let body = text("body", body, MAX_BODY)?;
    let txn = platform::db::begin_write(&app.db).await?;
    let parent = policy::messages::find_repliable(&txn, allowed, message_id).await?;
    open(policy::cases::find_visible(&txn, **allowed, parent.case_id).await?)?;
    let party = policy::cases::party_on(&txn, **allowed, parent.case_id)
        .await?
        .ok_or(ApiError::Forbidden)?;
    let conflict = || ApiError::Conflict("You have already replied to this message.".into());
    let already = message::Entity::find()
        .filter(message::Column::ParentMessageId.eq(parent.id))
        .filter(message::Column::ReplyingPartyId.eq(party.id))
        .one(&txn)
        .await?;
    if already.is_some() {
        return Err(conflict());
    }
    let created = message::ActiveModel {
        id: Set(Uuid::now_v7()),
        case_id: Set(parent.case_id),
        sender_user_id: Set(allowed.user_id),
        parent_message_id: Set(Some(parent.id)),
        replying_party_id: Set(Some(party.id)),
        subject: Set(parent.subject.as_ref().map(|s| format!("Re: {s}"))),
        body: Set(body),
        created_at: Set(Utc::now()),
        // To the caseworker alone; the replying side sees it as its own.
        to_resident: Set(false),
        to_landlord: Set(false),
    }
    .insert(&txn)
    .await
    .map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => conflict(),
        _ => e.into(),
    })?;
    attachments
        .insert(
            &txn,
            Attach::Case {
                case_id: created.case_id,
                message_id: Some(created.id),
                shared_with_parties: false,
            },
            allowed.user_id,
            allowed.actor(),
        )
        .await?;
    audit::record(
        &txn,
        allowed.actor(),
        Entry {
            action: "message.reply",
            target_type: "message",
            target_id: Some(created.id),
            organisation_id: party.organisation_id,
        },
        None,
        Some(json!({ "case_id": created.case_id, "parent_message_id": parent.id })),
    )
    .await?;
    txn.commit().await?;
    app.events.publish(CaseEvent::MessagePosted {
        case_id: created.case_id,
        message_id: created.id,
    });
    Ok(created)
}

/// Which messages to mark read.
#[derive(Debug, Clone)]
pub enum ReadScope {
    /// Every message of a case the caller sees.
    Case(Uuid),
    /// These messages (all must be visible, else `NOT_FOUND` and nothing changes).
    Messages(Vec<Uuid>),
}

/// Marks messages read by the caller and completes the "Read message"
/// tasks of their side for the staff messages among them (on open cases
/// only). Returns the ids of the cases touched.
pub async fn mark_read(
    app: &App,
    allowed: &Allowed<Reader>,
    scope: ReadScope,
) -> ApiResult<Vec<Uuid>> {
    let reader: Reader = **allowed;
    let txn = platform::db::begin_write(&app.db).await?;
    let query = message::Entity::find().filter(policy::messages::visible(reader));
    let messages = match &scope {
        ReadScope::Case(case_id) => {
            policy::cases::find_visible(&txn, reader, *case_id).await?;
            query
                .filter(message::Column::CaseId.eq(*case_id))
                .all(&txn)
                .await?
        }
        ReadScope::Messages(ids) => {
            let wanted: BTreeSet<Uuid> = ids.iter().copied().collect();
            if wanted.is_empty() || wanted.len() > 500 {
                return Err(ApiError::bad_input(
                    "messageIds",
                    "Give between 1 and 500 message ids.",
                ));
            }
            let found = query
                .filter(message::Column::Id.is_in(wanted.iter().copied()))
                .all(&txn)
                .await?;
            if found.len() != wanted.len() {
                return Err(ApiError::NotFound("Message"));
            }
            found
        }
    };
    let now = Utc::now();
    if !messages.is_empty() {
        message_read::Entity::insert_many(messages.iter().map(|m| message_read::ActiveModel {
            message_id: Set(m.id),
            user_id: Set(reader.user_id),
            read_at: Set(now),
        }))
        .on_conflict_do_nothing_on([
            message_read::Column::MessageId,
            message_read::Column::UserId,
        ])
        .exec(&txn)
        .await?;
    }
    let staff_messages: Vec<Uuid> = messages
        .iter()
        .filter(|m| m.parent_message_id.is_none())
        .map(|m| m.id)
        .collect();
    let mut completed = vec![];
    if !reader.is_staff() && !staff_messages.is_empty() {
        completed = task::Entity::find()
            .filter(policy::tasks::visible(reader))
            .filter(task::Column::SourceMessageId.is_in(staff_messages))
            .filter(task::Column::Status.eq(TaskStatus::Pending))
            // A closed case is read-only: its tasks stay as they were.
            .filter(
                task::Column::CaseId.in_subquery(
                    case::Entity::find()
                        .select_only()
                        .column(case::Column::Id)
                        .filter(case::Column::ClosedAt.is_null())
                        .into_query(),
                ),
            )
            .all(&txn)
            .await?;
        if !completed.is_empty() {
            task::Entity::update_many()
                .col_expr(
                    task::Column::Status,
                    Expr::val(TaskStatus::Completed.as_str()),
                )
                .col_expr(task::Column::CompletedAt, Expr::val(now))
                .col_expr(task::Column::CompletedByUserId, Expr::val(reader.user_id))
                .col_expr(task::Column::UpdatedAt, Expr::val(now))
                .filter(task::Column::Id.is_in(completed.iter().map(|t| t.id)))
                .exec(&txn)
                .await?;
        }
    }
    txn.commit().await?;
    let cases: BTreeSet<Uuid> = messages.iter().map(|m| m.case_id).collect();
    for case_id in &cases {
        app.events.publish(CaseEvent::MessagesRead {
            user_id: reader.user_id,
            case_id: *case_id,
        });
    }
    for t in completed {
        app.events.publish(CaseEvent::TaskChanged {
            case_id: t.case_id,
            task_id: t.id,
        });
    }
    Ok(cases.into_iter().collect())
}

#[derive(FromQueryResult)]
struct CaseCount {
    case_id: Uuid,
    n: i64,
}

/// Unread messages of `reader` per case, on every case they see (staff: the
/// cases they own).
pub async fn unread_counts(app: &App, reader: Reader) -> ApiResult<HashMap<Uuid, i64>> {
    count_unread(&app.db, reader, None).await
}

/// Unread messages of `reader` per case, on `cases` (for the loader; cases
/// without any are left out).
pub async fn unread_counts_on(
    conn: &impl ConnectionTrait,
    reader: Reader,
    cases: &[Uuid],
) -> ApiResult<HashMap<Uuid, i64>> {
    count_unread(conn, reader, Some(cases)).await
}

async fn count_unread(
    conn: &impl ConnectionTrait,
    reader: Reader,
    cases: Option<&[Uuid]>,
) -> ApiResult<HashMap<Uuid, i64>> {
    let reads = message_read::Entity::find()
        .select_only()
        .column(message_read::Column::MessageId)
        .filter(message_read::Column::UserId.eq(reader.user_id))
        .into_query();
    let mut query = message::Entity::find()
        .select_only()
        .column(message::Column::CaseId)
        .column_as(Expr::col(message::Column::Id).count(), "n")
        .filter(policy::messages::notable(reader))
        .filter(message::Column::Id.not_in_subquery(reads))
        .group_by(message::Column::CaseId);
    match cases {
        Some(ids) => query = query.filter(message::Column::CaseId.is_in(ids.iter().copied())),
        None if reader.is_staff() => {
            query = query.filter(
                message::Column::CaseId.in_subquery(
                    case::Entity::find()
                        .select_only()
                        .column(case::Column::Id)
                        .filter(case::Column::OwnerUserId.eq(reader.user_id))
                        .into_query(),
                ),
            );
        }
        None => {}
    }
    Ok(query
        .into_model::<CaseCount>()
        .all(conn)
        .await?
        .into_iter()
        .map(|c| (c.case_id, c.n))
        .collect())
}

/// A posted message and its case, if `reader` may see both (one query):
/// what a `messagePosted` subscriber is sent.
pub async fn find_posted(
    app: &App,
    reader: Reader,
    id: Uuid,
) -> ApiResult<Option<(message::Model, case::Model)>> {
    let found = message::Entity::find_by_id(id)
        .find_also_related(case::Entity)
        .filter(policy::cases::visible(reader))
        .filter(policy::messages::visible(reader))
        .one(&app.db)
        .await?;
    Ok(found.and_then(|(message, case)| Some((message, case?))))
}

/// Whether a posted message counts as unread for `reader` (one query; the
/// narrowing of staff counts to the cases they own is left to the recount).
pub async fn is_notable(app: &App, reader: Reader, id: Uuid) -> ApiResult<bool> {
    let found = message::Entity::find_by_id(id)
        .find_also_related(case::Entity)
        .filter(policy::cases::visible(reader))
        .filter(policy::messages::notable(reader))
        .one(&app.db)
        .await?;
    Ok(found.is_some())
}
