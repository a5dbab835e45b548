//! The payment search: one validated [`PaymentFilter`] and one query builder
//! that every reader of payments shares.
//!
//! The search page (`payments(filter, first, after)`), its totals and the CSV
//! export all run [`query`] (or its [`condition`]) for an organisation and a
//! filter, so an export holds exactly the rows the search showed, in the same
//! order: newest payment date first, then newest id (`payment_date DESC, id
//! DESC`), a total order because ids are unique.
//!
//! Pages are keyset pages: the cursor is the last row's `(payment_date, id)`
//! and the next page is `WHERE (payment_date, id) < (cursor)`, which the
//! index `payments (organisation_id, payment_date, id)` answers directly
//! however deep the page; an offset would read and discard every earlier row,
//! and rows recorded while someone pages would shift an offset page (never a
//! keyset page).
//!
//! A filter arrives as a [`PaymentFilterInput`] (the GraphQL input, or the
//! JSON stored with an export request) and is validated by
//! [`PaymentFilter::parse`], which names the field at fault and every reason;
//! a stored filter is parsed again when the export runs.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::NaiveDate;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Select,
    sea_query::{Expr, ExprTrait},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use entities::payment;

use crate::{
    error::{ApiError, ApiResult},
    tenancy::postcode,
};

/// Longest tenant-name search text.
pub const MAX_NAME: usize = 200;
/// Longest reference.
pub const MAX_REFERENCE: usize = 50;

/// A payment filter as the client sent it: not yet validated. This is also
/// the form to store (e.g. with an export request) and parse again later.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PaymentFilterInput {
    /// Payments on or after this date.
    pub from: Option<NaiveDate>,
    /// Payments on or before this date.
    pub to: Option<NaiveDate>,
    /// Part of the tenant's name, any case.
    pub tenant_name: Option<String>,
    /// A full postcode, an outward code (`SW1A`) or the start of one.
    pub postcode: Option<String>,
    /// A claim reference or an Alternative Payment Arrangement reference, exactly.
    pub reference: Option<String>,
}

/// How the postcode filter matches the stored (normalised) postcode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostcodeMatch {
    /// A full postcode: equal to it (`SW1A 1AA`).
    Exact(String),
    /// An outward code: every postcode of that district (`SW1A` matches
    /// `SW1A 1AA` but `N1` does not match `N10 1AA`).
    Outward(String),
    /// Any other start of a postcode, e.g. the area `SW` or `SW1A 1`.
    Prefix(String),
}

/// A validated payment filter. Every part is optional; all given parts must
/// match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentFilter {
    /// Payments on or after this date (inclusive).
    pub from: Option<NaiveDate>,
    /// Payments on or before this date (inclusive); never before `from`.
    pub to: Option<NaiveDate>,
    /// Lower-case substring of the tenant's name, LIKE wildcards removed.
    pub tenant_name: Option<String>,
    /// The postcode match.
    pub postcode: Option<PostcodeMatch>,
    /// Equal to the claim reference or the arrangement reference.
    pub reference: Option<String>,
}

fn too_long(field: String, max: usize) -> ApiError {
    ApiError::bad_input(field, format!("Must be at most {max} characters."))
}

impl PaymentFilter {
    /// Validates `input`; errors name `<prefix>.<field>` (e.g.
    /// `filter.from`). Blank texts count as not given.
    pub fn parse(input: &PaymentFilterInput, prefix: &str) -> ApiResult<Self> {
        let field = |name: &str| format!("{prefix}.{name}");
        if let (Some(from), Some(to)) = (input.from, input.to)
            && from > to
        {
            return Err(ApiError::bad_input(
                field("from"),
                format!("Must be on or before {} (the \"to\" date).", to),
            ));
        }
        let blank_to_none = |v: &Option<String>| {
            v.as_deref()
                .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|s| !s.is_empty())
        };
        let tenant_name = match blank_to_none(&input.tenant_name) {
            Some(n) if n.chars().count() > MAX_NAME => {
                return Err(too_long(field("tenantName"), MAX_NAME));
            }
            // Taken literally: `%` and `_` are escaped in the condition.
            Some(n) => Some(n.chars().flat_map(char::to_lowercase).collect::<String>()),
            None => None,
        };
        let postcode = match blank_to_none(&input.postcode) {
            Some(p) => Some(postcode_match(&p).ok_or_else(|| {
                ApiError::bad_input(
                    field("postcode"),
                    "Must be a UK postcode or the start of one, e.g. \"SW1A 1AA\" or \"SW1A\".",
                )
            })?),
            None => None,
        };
        let reference = match blank_to_none(&input.reference) {
            Some(r) if r.chars().count() > MAX_REFERENCE => {
                return Err(too_long(field("reference"), MAX_REFERENCE));
            }
            other => other,
        };
        Ok(Self {
            from: input.from,
            to: input.to,
            tenant_name,
            postcode,
            reference,
        })
    }
}

/// How a postcode search text matches, or `None` when it cannot be the start
/// of a postcode.
fn postcode_match(text: &str) -> Option<PostcodeMatch> {
    if let Some(full) = postcode::normalise(text) {
        return Some(PostcodeMatch::Exact(full));
    }
    let upper = text.to_uppercase();
    let words: Vec<&str> = upper.split_whitespace().collect();
    let valid_chars = words
        .iter()
        .all(|w| w.bytes().all(|b| b.is_ascii_alphanumeric()));
    if !valid_chars || words.is_empty() || words.len() > 2 || words.concat().len() > 7 {
        return None;
    }
    match words.as_slice() {
        [outward] if postcode::valid_outward(outward) => {
            Some(PostcodeMatch::Outward(format!("{outward} ")))
        }
        // The area letters, or a district's start: `S`, `SW`, `SW1`.
        [start] if start.len() <= 4 && start.as_bytes()[0].is_ascii_alphabetic() => {
            Some(PostcodeMatch::Prefix((*start).to_owned()))
        }
        // An outward code and the start of the inward code: `SW1A 1`.
        [outward, inward] if postcode::valid_outward(outward) && inward.len() < 3 => {
            Some(PostcodeMatch::Prefix(format!("{outward} {inward}")))
        }
        _ => None,
    }
}

/// The condition selecting `organisation_id`'s payments that match `filter`.
/// Without an ordering, for aggregates (totals, counts).
pub fn condition(organisation_id: Uuid, filter: &PaymentFilter) -> Condition {
    let mut c = Condition::all().add(payment::Column::OrganisationId.eq(organisation_id));
    if let Some(from) = filter.from {
        c = c.add(payment::Column::PaymentDate.gte(from));
    }
    if let Some(to) = filter.to {
        c = c.add(payment::Column::PaymentDate.lte(to));
    }
    if let Some(name) = &filter.tenant_name {
        c = c.add(crate::lists::contains(payment::Column::TenantName, name));
    }
    match &filter.postcode {
        Some(PostcodeMatch::Exact(p)) => c = c.add(payment::Column::Postcode.eq(p.as_str())),
        Some(PostcodeMatch::Outward(p) | PostcodeMatch::Prefix(p)) => {
            // Only letters, digits and one space: nothing to escape.
            c = c.add(payment::Column::Postcode.like(format!("{p}%")));
        }
        None => {}
    }
    if let Some(reference) = &filter.reference {
        c = c.add(
            Condition::any()
                .add(payment::Column::ClaimReference.eq(reference.as_str()))
                .add(payment::Column::ArrangementReference.eq(reference.as_str())),
        );
    }
    c
}

/// The payments of `organisation_id` matching `filter`, newest first
/// (`payment_date DESC, id DESC`). The search and the export run this.
pub fn query(organisation_id: Uuid, filter: &PaymentFilter) -> Select<payment::Entity> {
    payment::Entity::find()
        .filter(condition(organisation_id, filter))
        .order_by_desc(payment::Column::PaymentDate)
        .order_by_desc(payment::Column::Id)
}

/// A position in the search order: the last row of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// That row's payment date.
    pub payment_date: NaiveDate,
    /// That row's id.
    pub id: Uuid,
}

impl Cursor {
    /// The cursor of a row.
    pub fn of(row: &payment::Model) -> Self {
        Self {
            payment_date: row.payment_date,
            id: row.id,
        }
    }

    /// Opaque text for clients: URL-safe base64 (no padding), the encoding
    /// of every cursor of this API (`crate::graphql::pagination`).
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}|{}", self.payment_date, self.id.simple()))
    }

    /// Reads a cursor made by [`Self::encode`]; `BAD_USER_INPUT` on `field`
    /// otherwise.
    pub fn decode(text: &str, field: &str) -> ApiResult<Self> {
        URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| {
                let (date, id) = s.split_once('|')?;
                Some(Self {
                    payment_date: date.parse().ok()?,
                    id: Uuid::parse_str(id).ok()?,
                })
            })
            .ok_or_else(|| ApiError::bad_input(field, "Not a cursor returned by this API."))
    }
}

/// The rows after `after` (from the start when `None`), at most `limit`, and
/// whether more follow.
pub async fn page(
    conn: &impl ConnectionTrait,
    organisation_id: Uuid,
    filter: &PaymentFilter,
    after: Option<Cursor>,
    limit: u64,
) -> ApiResult<(Vec<payment::Model>, bool)> {
    let mut select = query(organisation_id, filter);
    if let Some(after) = after {
        // Row-value comparison: one index range on (org, date, id).
        select = select.filter(
            Expr::tuple([
                Expr::col((payment::Entity, payment::Column::PaymentDate)),
                Expr::col((payment::Entity, payment::Column::Id)),
            ])
            .lt(Expr::tuple([
                Expr::val(after.payment_date),
                Expr::val(after.id),
            ])),
        );
    }
    let mut rows = select.limit(limit + 1).all(conn).await?;
    let has_next = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, has_next))
}

/// Count and sum of every payment matching a filter (not just one page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    /// Number of payments.
    pub count: i64,
    /// Their amounts added up, in pence (exact integer arithmetic).
    pub amount_pence: i64,
}

/// The totals of `organisation_id`'s payments matching `filter`, in one
/// statement. `SUM(bigint)` is `numeric` on PostgreSQL, hence the cast (the
/// amounts are capped, so the sum of any realistic number of them fits).
pub async fn totals(
    conn: &impl ConnectionTrait,
    organisation_id: Uuid,
    filter: &PaymentFilter,
) -> ApiResult<Totals> {
    let row: Option<(i64, i64)> = payment::Entity::find()
        .select_only()
        .expr(Expr::cust("COUNT(*)"))
        .expr(Expr::cust("CAST(COALESCE(SUM(amount_pence), 0) AS BIGINT)"))
        .filter(condition(organisation_id, filter))
        .into_tuple()
        .one(conn)
        .await?;
    let (count, amount_pence) = row.unwrap_or_default();
    Ok(Totals {
        count,
        amount_pence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: PaymentFilterInput) -> ApiResult<PaymentFilter> {
        PaymentFilter::parse(&input, "filter")
    }

    #[test]
    fn an_inverted_date_range_names_the_field() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let err = parse(PaymentFilterInput {
            from: Some(d("2026-02-01")),
            to: Some(d("2026-01-31")),
            ..Default::default()
        })
        .unwrap_err();
        assert!(matches!(err, ApiError::BadInput { field: Some(f), .. } if f == "filter.from"));
        // A one-day range is fine.
        assert!(
            parse(PaymentFilterInput {
                from: Some(d("2026-02-01")),
                to: Some(d("2026-02-01")),
                ..Default::default()
            })
            .is_ok()
        );
    }

    #[test]
    fn postcodes_match_exactly_by_district_or_by_prefix() {
        assert_eq!(
            postcode_match("sw1a1aa"),
            Some(PostcodeMatch::Exact("SW1A 1AA".into()))
        );
        assert_eq!(
            postcode_match("sw1a"),
            Some(PostcodeMatch::Outward("SW1A ".into()))
        );
        assert_eq!(
            postcode_match("SW"),
            Some(PostcodeMatch::Prefix("SW".into()))
        );
        assert_eq!(
            postcode_match("SW1A 1"),
            Some(PostcodeMatch::Prefix("SW1A 1".into()))
        );
        for bad in ["SW1A%", "12", "SW1A 1AAA", "toolongtext", "S W 1"] {
            assert_eq!(postcode_match(bad), None, "{bad}");
        }
    }

    #[test]
    fn blank_texts_are_not_filters_and_wildcards_are_literal_nothing() {
        let f = parse(PaymentFilterInput {
            tenant_name: Some("  ".into()),
            reference: Some(" UC-1 ".into()),
            postcode: Some("".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(f.tenant_name, None);
        assert_eq!(f.postcode, None);
        assert_eq!(f.reference.as_deref(), Some("UC-1"));
        let f = parse(PaymentFilterInput {
            tenant_name: Some("Ai%sha".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(f.tenant_name.as_deref(), Some("ai%sha"));
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_bad_input() {
        let c = Cursor {
            payment_date: "2026-03-04".parse().unwrap(),
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode(&c.encode(), "after").unwrap(), c);
        assert!(Cursor::decode("nope", "after").is_err());
    }
}
