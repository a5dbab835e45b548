//! "I don't recognise this case": `reportUnrecognisedCase` (a party, from
//! the case), the staff queue `caseAccessReports` (a party sees their own
//! reports there) and `resolveCaseAccessReport`.
//!
//! The resolvers ask [`policy::access_reports`] and call
//! [`casework::access_reports`], whose module docs give the rules.

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{
    ContextExt,
    cases::Case,
    loaders::{CaseKey, UserKey},
    pagination::{Counted, counted_keyset_connection, decode_cursor, page_size},
    scalars::{NodeKind, global_id, input_id, parse_id},
};
use crate::{
    casework::access_reports::{self, ReportFilter},
    error::ApiError,
    policy,
};

/// Where a report stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "entities::AccessReportStatus")]
pub enum AccessReportStatus {
    /// On the staff queue, not yet looked into.
    Open,
    /// A staff member looked into it and said what they found and did.
    Resolved,
}

/// A party's report that they can see a case they do not recognise (the
/// seed: "If you have access to cases which you do not recognise, please
/// contact us as soon as possible"). For staff it is a to-do item until
/// resolved.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct CaseAccessReport {
    /// Report id.
    pub id: ID,
    /// Open (on the staff queue) or resolved.
    pub status: AccessReportStatus,
    /// What the reporter said, if anything.
    pub comment: Option<String>,
    /// When it was reported.
    pub created_at: DateTime<Utc>,
    /// What staff found and did, once resolved.
    pub resolution: Option<String>,
    /// When it was resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    pub model: entities::case_access_report::Model,
}

impl From<entities::case_access_report::Model> for CaseAccessReport {
    fn from(m: entities::case_access_report::Model) -> Self {
        Self {
            id: global_id(NodeKind::CaseAccessReport, m.id),
            status: m.status.into(),
            comment: m.comment.clone(),
            created_at: m.created_at,
            resolution: m.resolution.clone(),
            resolved_at: m.resolved_at,
            model: m,
        }
    }
}

async fn user_name(
    ctx: &Context<'_>,
    id: Option<uuid::Uuid>,
) -> async_graphql::Result<Option<String>> {
    let Some(id) = id else { return Ok(None) };
    Ok(ctx
        .load(UserKey(id))
        .await?
        .map(|u| format!("{} {}", u.first_name, u.last_name)))
}

#[ComplexObject]
impl CaseAccessReport {
    /// The case reported (visible to the reporter, who may still see it,
    /// and to staff).
    async fn case(&self, ctx: &Context<'_>) -> async_graphql::Result<Case> {
        Ok(Case(
            ctx.load(CaseKey(self.model.case_id, ctx.reader()?))
                .await?
                .ok_or(ApiError::NotFound("Case"))?,
        ))
    }
    /// Who reported it (name).
    async fn reported_by_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        user_name(ctx, Some(self.model.reported_by_user_id)).await
    }
    /// The staff member it is assigned to: the case owner when it was
    /// reported (none if the case had no owner; then the service
    /// administrators were emailed).
    async fn assigned_to_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        user_name(ctx, self.model.assigned_to_user_id).await
    }
    /// Who resolved it (name).
    async fn resolved_by_name(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        user_name(ctx, self.model.resolved_by_user_id).await
    }
}

/// Which reports to list.
#[derive(InputObject, Default)]
pub struct CaseAccessReportFilter {
    /// Only reports in this state (default: both).
    pub status: Option<AccessReportStatus>,
    /// Only reports about this case.
    pub case_id: Option<ID>,
    /// Staff: only the reports assigned to me (default false).
    #[graphql(default)]
    pub assigned_to_me: bool,
}

/// A case reported as unrecognised.
#[derive(InputObject)]
pub struct ReportUnrecognisedCaseInput {
    /// The case (one the caller can see).
    pub case_id: ID,
    /// Anything the reporter wants to add, at most 2000 characters
    /// (optional).
    pub comment: Option<String>,
}

/// A report resolved.
#[derive(InputObject)]
pub struct ResolveCaseAccessReportInput {
    /// The report.
    pub id: ID,
    /// What was found and done (e.g. "The resident was added by mistake and
    /// has been removed"), 1 to 2000 characters.
    pub resolution: String,
}

/// Case access report queries.
#[derive(Default)]
pub struct AccessReportsQuery;

#[Object]
impl AccessReportsQuery {
    /// Reports of cases that a party does not recognise, newest first. Staff
    /// see every report (the queue: `filter: {status: OPEN}`); a resident or
    /// landlord user sees the reports they made themselves. API tokens:
    /// `FORBIDDEN`.
    #[graphql(complexity = "super::pagination::connection_cost(first, child_complexity)")]
    async fn case_access_reports(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which reports (default: all the caller may see).")] filter: Option<
            CaseAccessReportFilter,
        >,
        #[graphql(desc = "Page size: 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The cursor of the last report of the previous page.")] after: Option<
            String,
        >,
    ) -> async_graphql::Result<Counted<CaseAccessReport>> {
        let reader = ctx.reader()?;
        let filter = filter.unwrap_or_default();
        let filter = ReportFilter {
            status: filter.status.map(Into::into),
            case_id: filter
                .case_id
                .as_ref()
                .map(|id| input_id(id, NodeKind::Case, "filter.caseId"))
                .transpose()?,
            assigned_to_me: filter.assigned_to_me,
        };
        let limit = page_size(first)?;
        let after = after.as_deref().map(decode_cursor).transpose()?;
        let (rows, has_next, total) =
            access_reports::list(ctx.app(), reader, &filter, after, limit).await?;
        Ok(counted_keyset_connection(
            rows,
            after.is_some(),
            has_next,
            total,
            |r| r.id,
            Into::into,
        ))
    }
}

/// Case access report mutations.
#[derive(Default)]
pub struct AccessReportsMutation;

#[Object]
impl AccessReportsMutation {
    /// "I don't recognise this case": a resident or landlord user who can
    /// see a case they do not recognise tells the service. The report goes
    /// on the staff queue, assigned to the case owner, who is emailed (a
    /// case without an owner: every service administrator). Reporting the
    /// same case again while the report is open answers that report and
    /// sends nothing more. Closed cases can be reported too. A case the
    /// caller cannot see is `NOT_FOUND`; staff and API tokens are
    /// `FORBIDDEN`; a comment over 2000 characters is `BAD_USER_INPUT` on
    /// `input.comment` (nothing is stored). Audited (`case.access_reported`).
    async fn report_unrecognised_case(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case and what the reporter wants to add.")]
        input: ReportUnrecognisedCaseInput,
    ) -> async_graphql::Result<CaseAccessReport> {
        let reporter = policy::access_reports::can_report(&ctx.caller())?;
        let case_id = parse_id(&input.case_id, NodeKind::Case)?;
        Ok(
            access_reports::report(ctx.app(), &reporter, case_id, input.comment.as_deref())
                .await?
                .into(),
        )
    }

    /// Staff: resolves an open report, saying what was found and done (fix
    /// the case itself with the usual mutations, e.g. `removeCaseParty`). A
    /// resolved report is `CONFLICT`; an empty or over-long resolution is
    /// `BAD_USER_INPUT` on `input.resolution`. Audited
    /// (`case.access_report_resolved`).
    async fn resolve_case_access_report(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The report and what was found and done.")]
        input: ResolveCaseAccessReportInput,
    ) -> async_graphql::Result<CaseAccessReport> {
        let staff = policy::access_reports::can_resolve(&ctx.caller())?;
        let id = parse_id(&input.id, NodeKind::CaseAccessReport)?;
        Ok(
            access_reports::resolve(ctx.app(), &staff, id, &input.resolution)
                .await?
                .into(),
        )
    }
}
