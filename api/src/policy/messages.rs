//! Who may see and answer a message.
//!
//! - Staff see every message.
//! - A party sees, on the cases it can see, the staff messages sent to it
//!   (`to_resident` for the resident parties, `to_landlord` for the landlord
//!   organisation: staff choose the recipients, so a caseworker can write to
//!   the resident alone) and its own side's replies. A staff message sent to
//!   another party, and another party's replies, are not shown (a
//!   resident's reply to the caseworker is not the landlord's to read, and
//!   the other way round); they answer `NOT_FOUND`. A reply is only ever to
//!   a message its author could see, so a thread the caseworker started
//!   with one party stays between them.
//! - The attachments of a message are seen by whoever sees the message
//!   (and the document policy allows: [`attachments_visible`]).
//! - Staff notes are no messages (`crate::casework::notes`): no party ever
//!   sees one.
//! - Only a party replies, once per staff message (the partial unique index
//!   `ux_messages_parent_message_id_replying_party_id`), and only to a staff
//!   message (not to a reply).

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait,
};
use uuid::Uuid;

use entities::{document, message};

use super::{
    Allowed,
    cases::{Reader, Side, party_cases, party_ids},
};
use crate::error::{ApiError, ApiResult};

/// The condition on `messages` selecting exactly the messages `reader` may see.
pub fn visible(reader: Reader) -> Condition {
    match reader.side {
        None => Condition::all(),
        Some(side) => {
            // Replies are sent to neither party (both flags false), so the
            // flags alone select staff messages; the parent check keeps that
            // true even for a row written some other way.
            let sent_to_side = match side {
                Side::Resident(_) => message::Column::ToResident.eq(true),
                Side::Landlord(_) => message::Column::ToLandlord.eq(true),
            };
            Condition::all()
                .add(message::Column::CaseId.in_subquery(party_cases(side)))
                .add(
                    Condition::any()
                        .add(
                            Condition::all()
                                .add(message::Column::ParentMessageId.is_null())
                                .add(sent_to_side),
                        )
                        .add(message::Column::ReplyingPartyId.in_subquery(party_ids(side))),
                )
        }
    }
}

/// The condition on `documents` a party's document visibility adds for
/// attachments: a document attached to a message is seen only by those who
/// see the message (a staff message's attachments by its recipients, a
/// reply's by staff and the replying side). Documents attached to no
/// message pass. Staff: everything.
pub fn attachments_visible(reader: Reader) -> Condition {
    if reader.is_staff() {
        return Condition::all();
    }
    Condition::any()
        .add(document::Column::MessageId.is_null())
        .add(
            document::Column::MessageId.in_subquery(
                message::Entity::find()
                    .select_only()
                    .column(message::Column::Id)
                    .filter(visible(reader))
                    .into_query(),
            ),
        )
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

/// [`notable`] for one message already known to be [`visible`] to `reader`
/// (a row of a statement filtered by it): the same test, beyond
/// visibility, in Rust. Not sent by the reader; for staff a party's reply,
/// for a party a staff message.
pub fn is_notable(reader: Reader, message: &message::Model) -> bool {
    message.sender_user_id != reader.user_id
        && (message.parent_message_id.is_some() == reader.is_staff())
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
