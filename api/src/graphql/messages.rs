//! Messages: staff write to the parties of a case they choose (the
//! resident, the landlord, or both), a recipient party replies once to each
//! staff message, read receipts and unread counts; a message's attachments.
//!
//! Visibility is `policy::messages`: a staff message is seen by staff and
//! its recipients, a reply by staff and the party that wrote it, an
//! attachment by whoever sees its message (and the document policy allows).

use std::collections::HashMap;

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use entities::message;

use super::{
    ContextExt,
    cases::Case,
    documents::Document,
    inputs::{DocumentUploadInput, new_files},
    loaders::{AttachmentsKey, CaseKey, MessageKey, ReadKey, RepliedKey, UserKey},
    scalars::{NodeKind, global_id, parse_id},
};
use crate::{
    casework::{
        self,
        messages::{NewMessage, ReadScope, Recipient},
    },
    error::ApiError,
    policy,
};

/// A party a staff message can be sent to.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "Recipient")]
pub enum MessageRecipient {
    /// The resident (every resident party of the case).
    Resident,
    /// The landlord organisation (every one of its users).
    Landlord,
}

/// A message on a case.
pub struct Message(pub message::Model);

/// The message `id` as a link from another object (a document's message, a
/// reply's parent, the message a task came from), through the request's
/// loader: null when the reader may not see it (`policy::messages::visible`:
/// a staff message sent to another party, another party's reply).
pub async fn message_link(ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<Option<Message>> {
    Ok(ctx.load(MessageKey(id, ctx.reader()?)).await?.map(Message))
}

/// A message on a case: a staff message to some or all of the case's parties,
/// or a party's reply to one, with its attachments. Each reader sees whether
/// they have read it and whether they may reply.
#[Object]
impl Message {
    /// Message id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Message, self.0.id)
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
    /// For a reply: the staff message it answers (a reply is only ever to a
    /// message its author's side could see, so whoever sees the reply sees
    /// it), through the request's loader.
    async fn parent_message(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Message>> {
        let Some(id) = self.0.parent_message_id else {
            return Ok(None);
        };
        message_link(ctx, id).await
    }
    /// Who a staff message was sent to (only they see it, its attachments
    /// and its "Read message" tasks). Empty for a reply, which goes to the
    /// caseworker alone.
    async fn recipients(&self) -> Vec<MessageRecipient> {
        let mut out = vec![];
        if self.0.to_resident {
            out.push(MessageRecipient::Resident);
        }
        if self.0.to_landlord {
            out.push(MessageRecipient::Landlord);
        }
        out
    }
    /// The documents sent with the message that I may see, in upload order
    /// (they also appear in the case's documents).
    async fn attachments(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Document>> {
        Ok(ctx
            .load(AttachmentsKey(self.0.id, ctx.reader()?))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(Document)
            .collect())
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
#[graphql(complex)]
pub struct CaseUnread {
    /// The case's id (also sent over the `unreadCounts` subscription, where
    /// the id is often all a client needs to update its list).
    pub case_id: ID,
    /// Unread messages on it.
    pub count: i64,
    /// The case (see the `case` field).
    #[graphql(skip)]
    pub case_uuid: Uuid,
}

#[ComplexObject]
impl CaseUnread {
    /// The case, as the queries show it, through the request's loader (the
    /// counts are of cases I may see; null if it has since gone out of my
    /// sight).
    async fn case(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Case>> {
        Ok(ctx
            .load(CaseKey(self.case_uuid, ctx.reader()?))
            .await?
            .map(Case))
    }
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
                case_id: global_id(NodeKind::Case, *id),
                count: *n,
                case_uuid: *id,
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
    /// Who receives it: `[RESIDENT]`, `[LANDLORD]` or both. Left out (or
    /// null): every party on the case. Each must be a party on the case, and
    /// an empty list is refused (`BAD_USER_INPUT` on `input.recipients`).
    /// Only the recipients see the message and its attachments, are emailed
    /// and get a "Read message" task; a reply from one of them is seen by
    /// staff and that party only.
    pub recipients: Option<Vec<MessageRecipient>>,
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
    pub async fn message(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The message.")] id: ID,
    ) -> async_graphql::Result<Message> {
        let id = parse_id(&id, NodeKind::Message)?;
        Ok(Message(
            policy::messages::find_visible(&ctx.app().db, ctx.reader()?, id).await?,
        ))
    }
}

/// The most messages `markMessagesRead` takes in one call.
pub const MAX_READ_AT_ONCE: usize = 100;

/// Which messages `markMessagesRead` marks: exactly one of the two.
#[derive(async_graphql::OneofObject)]
pub enum MarkMessagesReadInput {
    /// Every message of this case that I can see.
    CaseId(ID),
    /// These messages (1 to 100), each one I can see.
    MessageIds(Vec<ID>),
}

/// Message mutations.
#[derive(Default)]
pub struct MessagesMutation;

#[Object]
impl MessagesMutation {
    /// Sends a message to the chosen parties of an open case (`recipients`):
    /// each of their users is emailed and each recipient party gets a "Read
    /// message" task; nobody else sees it. Staff only; `CONFLICT` (reason
    /// `CASE_CLOSED`) on a closed case.
    async fn send_message(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case.")] case_id: ID,
        #[graphql(desc = "The subject, body, recipients and attachments.")] input: SendMessageInput,
        #[graphql(
            desc = "Documents sent with the message (shared with its recipients only); each needs a category."
        )]
        attachments: Option<Vec<DocumentUploadInput>>,
    ) -> async_graphql::Result<Message> {
        let allowed = policy::cases::can_manage(&ctx.caller())?;
        let case_id = parse_id(&case_id, NodeKind::Case)?;
        let files = new_files(ctx, "attachments", attachments.unwrap_or_default(), None)?;
        let new = NewMessage {
            subject: input.subject,
            body: input.body,
            recipients: input
                .recipients
                .map(|r| r.into_iter().map(Recipient::from).collect()),
        };
        let (message, _) =
            casework::messages::send(ctx.app(), &allowed, case_id, &new, files).await?;
        Ok(Message(message))
    }

    /// Replies to a staff message sent to me (once per party; at most 2000
    /// characters). The reply goes to the caseworker; my side sees it too.
    /// `CONFLICT` (reason `CASE_CLOSED`) on a closed case.
    async fn reply_to_message(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The staff message to reply to (one I received).")] message_id: ID,
        #[graphql(desc = "The reply, 1 to 2000 characters.")] body: String,
        #[graphql(
            desc = "Documents attached to the reply; each needs a category. They appear in the case's documents for staff and my side."
        )]
        attachments: Option<Vec<DocumentUploadInput>>,
    ) -> async_graphql::Result<Message> {
        let id = parse_id(&message_id, NodeKind::Message)?;
        let files = new_files(ctx, "attachments", attachments.unwrap_or_default(), None)?;
        let allowed = policy::cases::can_act(&ctx.caller())?;
        Ok(Message(
            casework::messages::reply(ctx.app(), &allowed, id, &body, files).await?,
        ))
    }

    /// Marks messages read: every message of a case, or the given ones.
    /// Completes my "Read message" tasks for them, except on a closed case
    /// (read-only: the messages are marked read, the tasks stay as they
    /// were). Answers my unread counts.
    async fn mark_messages_read(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which messages: every message of a case, or a list of messages.")]
        input: MarkMessagesReadInput,
    ) -> async_graphql::Result<UnreadCounts> {
        let scope = match input {
            MarkMessagesReadInput::CaseId(case_id) => {
                ReadScope::Case(parse_id(&case_id, NodeKind::Case)?)
            }
            MarkMessagesReadInput::MessageIds(ids) => {
                if ids.is_empty() || ids.len() > MAX_READ_AT_ONCE {
                    return Err(ApiError::bad_input(
                        "input.messageIds",
                        format!("Give 1 to {MAX_READ_AT_ONCE} messages."),
                    )
                    .into());
                }
                ReadScope::Messages(
                    ids.iter()
                        .map(|id| parse_id(id, NodeKind::Message))
                        .collect::<Result<_, _>>()?,
                )
            }
        };
        let allowed = policy::cases::can_act(&ctx.caller())?;
        casework::messages::mark_read(ctx.app(), &allowed, scope).await?;
        unread(ctx).await
    }
}
