//! Staff-only notes on a case: what the caseworkers want to remember or tell
//! each other ("resident called, will send photos on Monday"), never shown
//! to the parties.
//!
//! Notes live in their own table (`case_notes`), not among the messages, so
//! none of the parties' paths — the thread, the unread counts, the
//! `messagePosted` subscription, the "Read message" tasks, the new-message
//! email — can reach one: they all read `messages`. Adding a note emails
//! nobody, sets no task and publishes no event; its audit entry names no
//! organisation (so no landlord administrator reads it in their audit log)
//! and does not copy the text. Reading and writing notes take the back
//! office's `Allowed<Staff>` (`policy::cases::can_manage`); a closed case
//! takes no new note (`CASE_CLOSED`).

use chrono::Utc;
use sea_orm::{ActiveModelTrait, Set};
use serde_json::json;
use uuid::Uuid;

use entities::case_note;

use super::{MAX_BODY, open, text};
use crate::{
    app::App,
    audit::{self, Entry},
    error::ApiResult,
    policy::{self, Allowed, Staff},
};

/// Adds a note to an open case (at most 2000 characters, `BAD_USER_INPUT`
/// on `body` otherwise), with its audit entry.
pub async fn add(
    app: &App,
    staff: &Allowed<Staff>,
    case_id: Uuid,
    body: &str,
) -> ApiResult<case_note::Model> {
    let txn = platform::db::begin_write(&app.db).await?;
    open(policy::cases::find_managed(&txn, staff, case_id, true).await?)?;
    let body = text("body", body, MAX_BODY)?;
    let created = case_note::ActiveModel {
        id: Set(Uuid::now_v7()),
        case_id: Set(case_id),
        author_user_id: Set(staff.user_id),
        body: Set(body),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        staff.actor(),
        Entry {
            action: "case.add_note",
            target_type: "case_note",
            target_id: Some(created.id),
            organisation_id: None,
        },
        None,
        Some(json!({ "case_id": case_id })),
    )
    .await?;
    txn.commit().await?;
    Ok(created)
}
