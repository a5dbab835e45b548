//! Messages: staff write to a case's parties, a party replies once to each
//! staff message, read receipts and unread counts.
//!
//! Visibility is `policy::messages`: staff messages are seen by every party
//! of the case, a reply by staff and the party that wrote it.

use std::collections::HashMap;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use entities::message;

use super::{
    ContextExt,
    inputs::{DocumentUploadInput, new_files},
    loaders::{CaseKey, ReadKey, RepliedKey, UserKey},
    scalars::parse_id,
};
use crate::{
    casework::{self, messages::ReadScope},
    error::ApiError,
    policy,
};

/// A message on a case.
pub struct Message(pub message::Model);

#[Object]
impl Message {
    /// Message id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Subject.
    async fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }
    /// Text.
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// When it was sent.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// From the caseworker (a reply otherwise).
    async fn from_staff(&self) -> bool {
        self.0.parent_message_id.is_none()
    }
    /// For a reply: the staff message it answers.
    async fn parent_message_id(&self) -> Option<ID> {
        self.0.parent_message_id.map(|id| ID(id.to_string()))
    }
    /// The sender's name.
    async fn sender_name(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Ok(ctx
            .load(UserKey(self.0.sender_user_id))
            .await?
            .map(|u| format!("{} {}", u.first_name, u.last_name))
            .unwrap_or_default())
    }
    /// For a staff message: whether my side (me, or my organisation) has
    /// replied to it. Always false for staff.
    async fn replied_by_me(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        if self.0.parent_message_id.is_some() {
            return Ok(false);
        }
        Ok(ctx
            .load(RepliedKey(self.0.id, ctx.reader()?))
            .await?
            .unwrap_or(false))
    }
    /// Whether I may reply now: I am a party, it is a staff message my side
    /// has not replied to, and the case is open ("reply once").
    async fn can_reply(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let reader = ctx.reader()?;
        if reader.is_staff() || self.0.parent_message_id.is_some() {
            return Ok(false);
        }
        if ctx
            .load(RepliedKey(self.0.id, reader))
            .await?
            .unwrap_or(false)
        {
            return Ok(false);
        }
        Ok(ctx
            .load(CaseKey(self.0.case_id, reader))
            .await?
            .is_some_and(|c| c.closed_at.is_none()))
    }
    /// Whether I have read it (my own messages count as read).
    async fn read(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let me = ctx.reader()?.user_id;
        if self.0.sender_user_id == me {
            return Ok(true);
        }
        Ok(ctx.load(ReadKey(self.0.id, me)).await?.unwrap_or(false))
    }
}

/// Unread messages on one case.
#[derive(SimpleObject)]
pub struct CaseUnread {
    /// The case.
    pub case_id: ID,
    /// Unread messages on it.
    pub count: i64,
}

/// My unread messages, in total and per case (only cases with some).
#[derive(SimpleObject)]
pub struct UnreadCounts {
    /// Across my cases (staff: the cases they own).
    pub total: i64,
    /// Per case.
    pub by_case: Vec<CaseUnread>,
}

impl UnreadCounts {
    /// The counts per case (`casework::messages::unread_counts`) in this
    /// shape, cases ordered by id (also what the `unreadCounts`
    /// subscription sends).
    pub fn new(counts: &HashMap<Uuid, i64>) -> Self {
        let mut by_case: Vec<CaseUnread> = counts
            .iter()
            .map(|(id, n)| CaseUnread {
                case_id: ID(id.to_string()),
                count: *n,
            })
            .collect();
        by_case.sort_by(|a, b| a.case_id.as_str().cmp(b.case_id.as_str()));
        Self {
            total: counts.values().sum(),
            by_case,
        }
    }
}

async fn unread(ctx: &Context<'_>) -> async_graphql::Result<UnreadCounts> {
    let counts = casework::messages::unread_counts(ctx.app(), ctx.reader()?).await?;
    Ok(UnreadCounts::new(&counts))
}

/// A staff message.
#[derive(InputObject)]
pub struct SendMessageInput {
    /// Subject (at most 200 characters).
    pub subject: String,
    /// Text (at most 2000 characters).
    pub body: String,
}

/// Message queries.
#[derive(Default)]
pub struct MessagesQuery;

#[Object]
impl MessagesQuery {
    /// My unread messages.
    async fn unread_counts(&self, ctx: &Context<'_>) -> async_graphql::Result<UnreadCounts> {
        unread(ctx).await
    }

    /// One message (`NOT_FOUND` when it does not exist or I may not see it).
    async fn message(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Message> {
        let id = parse_id(&id, "Message")?;
        Ok(Message(
            policy::messages::find_visible(&ctx.app().db, ctx.reader()?, id).await?,
        ))
    }
}

/// Message mutations.
#[derive(Default)]
pub struct MessagesMutation;

#[Object]
impl MessagesMutation {
    /// Sends a message to the parties of an open case: each recipient is
    /// emailed and each party gets a "Read message" task. Staff only.
    async fn send_message(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        input: SendMessageInput,
        #[graphql(
            desc = "Documents sent with the message (shared with the parties); each needs a category."
        )]
        attachments: Option<Vec<DocumentUploadInput>>,
    ) -> async_graphql::Result<Message> {
        let allowed = policy::cases::can_manage(&ctx.caller())?;
        let case_id = parse_id(&case_id, "Case")?;
        let files = new_files(ctx, "attachments", attachments.unwrap_or_default(), None)?;
        let (message, _) = casework::messages::send(
            ctx.app(),
            &allowed,
            case_id,
            &input.subject,
            &input.body,
            files,
        )
        .await?;
        Ok(Message(message))
    }

    /// Replies to a staff message (once per party; at most 2000 characters).
    async fn reply_to_message(
        &self,
        ctx: &Context<'_>,
        message_id: ID,
        body: String,
        #[graphql(
            desc = "Documents attached to the reply; each needs a category. They appear in the case's documents for staff and my side."
        )]
        attachments: Option<Vec<DocumentUploadInput>>,
    ) -> async_graphql::Result<Message> {
        let id = parse_id(&message_id, "Message")?;
        let files = new_files(ctx, "attachments", attachments.unwrap_or_default(), None)?;
        let allowed = policy::cases::can_act(&ctx.caller())?;
        Ok(Message(
            casework::messages::reply(ctx.app(), &allowed, id, &body, files).await?,
        ))
    }

    /// Marks messages read: every message of a case, or the given ones
    /// (exactly one of `caseId` and `messageIds`). Completes my "Read
    /// message" tasks for them. Answers my unread counts.
    async fn mark_messages_read(
        &self,
        ctx: &Context<'_>,
        case_id: Option<ID>,
        message_ids: Option<Vec<ID>>,
    ) -> async_graphql::Result<UnreadCounts> {
        let scope = match (case_id, message_ids) {
            (Some(case_id), None) => ReadScope::Case(parse_id(&case_id, "Case")?),
            (None, Some(ids)) => ReadScope::Messages(
                ids.iter()
                    .map(|id| parse_id(id, "Message"))
                    .collect::<Result<_, _>>()?,
            ),
            _ => {
                return Err(ApiError::bad_input(
                    "caseId",
                    "Give exactly one of caseId and messageIds.",
                )
                .into());
            }
        };
        let allowed = policy::cases::can_act(&ctx.caller())?;
        casework::messages::mark_read(ctx.app(), &allowed, scope).await?;
        unread(ctx).await
    }
}
