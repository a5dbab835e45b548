//! Who may see and answer a message.
//!
//! - Staff see every message.
//! - A party sees, on the cases it can see, every staff message and its own
//!   side's replies. Another party's replies are not shown (a resident's
//!   reply to the caseworker is not the landlord's to read, and the other
//!   way round); they answer `NOT_FOUND`.
//! - Only a party replies, once per staff message (the partial unique index
//!   `ux_messages_parent_message_id_replying_party_id`), and only to a staff
//!   message (not to a reply).

use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use entities::message;

use super::{
    Allowed,
    cases::{Reader, party_cases, party_ids},
};
use crate::error::{ApiError, ApiResult};

/// The condition on `messages` selecting exactly the messages `reader` may see.
pub fn visible(reader: Reader) -> Condition {
    match reader.side {
        None => Condition::all(),
        Some(side) => Condition::all()
            .add(message::Column::CaseId.in_subquery(party_cases(side)))
            .add(
                Condition::any()
                    .add(message::Column::ParentMessageId.is_null())
                    .add(message::Column::ReplyingPartyId.in_subquery(party_ids(side))),
            ),
    }
}

/// The condition on `messages` selecting the messages that count as unread
/// for `caller` when they have no read receipt: staff are told about the
/// parties' replies, parties about staff messages.
pub fn notable(reader: Reader) -> Condition {
    let base = visible(reader).add(message::Column::SenderUserId.ne(reader.user_id));
    if reader.is_staff() {
        base.add(message::Column::ParentMessageId.is_not_null())
    } else {
        base.add(message::Column::ParentMessageId.is_null())
    }
}

/// One message by id, if `reader` may see it; `NOT_FOUND` otherwise.
pub async fn find_visible(
    conn: &impl ConnectionTrait,
    reader: Reader,
    id: Uuid,
) -> ApiResult<message::Model> {
    message::Entity::find_by_id(id)
        .filter(visible(reader))
        .one(conn)
        .await?
        .ok_or(ApiError::NotFound("Message"))
}

/// A staff message the caller may reply to: visible, a staff message, and
/// the caller a party (staff: `FORBIDDEN`; a reply: `CONFLICT`).
pub async fn find_repliable(
    conn: &impl ConnectionTrait,
    allowed: &Allowed<Reader>,
    id: Uuid,
) -> ApiResult<message::Model> {
    let message = find_visible(conn, **allowed, id).await?;
    if allowed.is_staff() {
        return Err(ApiError::Forbidden);
    }
    if message.parent_message_id.is_some() {
        return Err(ApiError::Conflict(
            "Only a message from the caseworker can be replied to.".into(),
        ));
    }
    Ok(message)
}
