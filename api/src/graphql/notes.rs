//! Staff-only notes on a case (`Case.notes`, `addCaseNote`): never shown to
//! the parties, never emailed, no tasks, no live updates
//! (`crate::casework::notes`).

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use entities::case_note;

use super::{
    ContextExt,
    loaders::UserKey,
    scalars::{NodeKind, global_id, parse_id},
};
use crate::{casework, policy};

/// An internal note on a case, for staff only.
pub struct CaseNote(pub case_note::Model);

/// An internal note on a case: written and read by staff only.
#[Object]
impl CaseNote {
    /// Note id.
    async fn id(&self) -> ID {
        global_id(NodeKind::CaseNote, self.0.id)
    }
    /// Text.
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// When it was written.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The author's name.
    async fn author_name(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Ok(ctx
            .load(UserKey(self.0.author_user_id))
            .await?
            .map(|u| format!("{} {}", u.first_name, u.last_name))
            .unwrap_or_default())
    }
}

/// Note mutations (staff).
#[derive(Default)]
pub struct NotesMutation;

#[Object]
impl NotesMutation {
    /// Adds an internal note to an open case (at most 2000 characters): seen
    /// by staff only, emailed to nobody. Staff only; `CONFLICT` (reason
    /// `CASE_CLOSED`) on a closed case.
    async fn add_case_note(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case.")] case_id: ID,
        #[graphql(desc = "The note, 1 to 2000 characters (staff only ever see it).")] body: String,
    ) -> async_graphql::Result<CaseNote> {
        let allowed = policy::cases::can_manage(&ctx.caller())?;
        let id = parse_id(&case_id, NodeKind::Case)?;
        Ok(CaseNote(
            casework::notes::add(ctx.app(), &allowed, id, &body).await?,
        ))
    }
}
