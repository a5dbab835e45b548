//! `messages`: staff messages on a case and the parties' replies to them.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A message. A staff message has no parent; a reply has `parent_message_id`
/// (the staff message it answers) and `replying_party_id` (the party it is
/// from). A party replies at most once per staff message (partial unique
/// index).
///
/// A staff message goes to the parties chosen by its sender
/// (`to_resident`, `to_landlord`); only they see it, its attachments and its
/// "Read message" tasks. A reply goes to the caseworker alone (both false):
/// its own side sees it through `replying_party_id`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_id: Uuid,
    pub sender_user_id: Uuid,
    /// The staff message this replies to.
    pub parent_message_id: Option<Uuid>,
    /// The case party this reply is from; set to `None` if that party is
    /// later removed from the case (the sender remains).
    pub replying_party_id: Option<Uuid>,
    pub subject: Option<String>,
    /// Plain text (replies at most 2000 characters, checked by the API).
    #[sea_orm(column_type = "Text")]
    pub body: String,
    pub created_at: DateTimeUtc,
    /// Sent to the case's resident parties.
    pub to_resident: bool,
    /// Sent to the case's landlord organisation (all of its users).
    pub to_landlord: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::case::Entity",
        from = "Column::CaseId",
        to = "super::case::Column::Id",
        on_delete = "Cascade"
    )]
    Case,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::SenderUserId",
        to = "super::user::Column::Id",
        on_delete = "NoAction"
    )]
    SenderUser,
    /// Self-reference: use `Relation::ParentMessage.def()` (or
    /// `message::Column::ParentMessageId`) to reach replies or the parent.
    #[sea_orm(
        belongs_to = "Entity",
        from = "Column::ParentMessageId",
        to = "Column::Id",
        on_delete = "Cascade"
    )]
    ParentMessage,
    #[sea_orm(
        belongs_to = "super::case_party::Entity",
        from = "Column::ReplyingPartyId",
        to = "super::case_party::Column::Id",
        on_delete = "SetNull"
    )]
    ReplyingParty,
    #[sea_orm(has_many = "super::message_read::Entity")]
    MessageRead,
    #[sea_orm(has_many = "super::document::Entity")]
    Document,
}

impl Related<super::case::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Case.def()
    }
}

/// The sender.
impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::SenderUser.def()
    }
}

/// The replying party.
impl Related<super::case_party::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ReplyingParty.def()
    }
}

impl Related<super::message_read::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::MessageRead.def()
    }
}

impl Related<super::document::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Document.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
