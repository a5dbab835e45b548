//! The payments export's CSV: columns, formula escaping, and the projection
//! of the payment search's query that produces it on either backend.
//!
//! RFC 4180: a header row; a field is quoted when it contains a comma, a
//! double quote (doubled inside), a CR or an LF. Records end with LF, which
//! is what PostgreSQL's `COPY ... WITH (FORMAT csv)` writes and what every
//! spreadsheet and RFC 4180 reader accepts. Both backends produce the same
//! bytes for the same rows: PostgreSQL through `COPY`, SQLite by formatting
//! rows with the `csv` crate.
//!
//! Formula injection: a spreadsheet runs a cell that starts with `=`, `+`,
//! `-` or `@` (tab and CR also start formulas in some) as a formula, so a
//! tenant named `=HYPERLINK(...)` could make a landlord's spreadsheet fetch
//! a URL. Every **text** cell (names, references, postcodes) starting with
//! one of those characters gets a leading `'`, which spreadsheets show as
//! text and do not display. Dates and amounts are written by us (ISO dates,
//! pounds with two decimals) and are left as they are, so they stay numbers.

use sea_orm::{
    DbBackend, FromQueryResult, QuerySelect, QueryTrait, RelationTrait, Select,
    sea_query::{Expr, JoinType, PostgresQueryBuilder},
};

use entities::{payment, property};

use crate::tenancy::money::format_pounds;

/// The header row.
pub const HEADER: [&str; 9] = [
    "Payment date",
    "Tenant name",
    "Claim reference",
    "Postcode",
    "Property reference",
    "Amount (GBP)",
    "Period start",
    "Period end",
    "APA reference",
];

/// Characters that make a spreadsheet cell a formula.
pub const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `text`, with a leading `'` when it would start a formula.
pub fn escape_formula(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(FORMULA_STARTS) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

/// The SQL of [`escape_formula`] on PostgreSQL, for a text expression.
fn escape_sql(expr: &str) -> String {
    format!(
        "CASE WHEN left({expr}, 1) IN ('=', '+', '-', '@', E'\\t', E'\\r') THEN '''' || {expr} ELSE {expr} END"
    )
}

/// One exported row as read on SQLite.
#[derive(Debug, Clone, FromQueryResult)]
pub struct ExportRow {
    /// Payment date.
    pub payment_date: chrono::NaiveDate,
    /// Tenant name at the time.
    pub tenant_name: String,
    /// Claim reference.
    pub claim_reference: String,
    /// Postcode at the time.
    pub postcode: String,
    /// The property's reference, if the payment names a property.
    pub property_reference: Option<String>,
    /// Amount in pence.
    pub amount_pence: i64,
    /// Period start.
    pub period_start: chrono::NaiveDate,
    /// Period end.
    pub period_end: chrono::NaiveDate,
    /// Alternative Payment Arrangement reference.
    pub arrangement_reference: Option<String>,
}

impl ExportRow {
    /// Writes this row as one CSV record.
    pub fn write<W: std::io::Write>(&self, out: &mut csv::Writer<W>) -> csv::Result<()> {
        fn opt(v: &Option<String>) -> std::borrow::Cow<'_, str> {
            v.as_deref().map(escape_formula).unwrap_or_default()
        }
        out.write_record([
            self.payment_date.to_string().as_str(),
            &escape_formula(&self.tenant_name),
            &escape_formula(&self.claim_reference),
            &escape_formula(&self.postcode),
            &opt(&self.property_reference),
            &format_pounds(self.amount_pence),
            &self.period_start.to_string(),
            &self.period_end.to_string(),
            &opt(&self.arrangement_reference),
        ])
    }
}

/// The CSV writer both the export and its tests use.
pub fn writer<W: std::io::Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(out)
}

/// The search's query (same filter, same order), with the property's
/// reference joined and the columns of [`ExportRow`]: what SQLite streams.
pub fn rows_select(search: Select<payment::Entity>) -> Select<payment::Entity> {
    search
        .select_only()
        .join(JoinType::LeftJoin, payment::Relation::Property.def())
        .column(payment::Column::PaymentDate)
        .column(payment::Column::TenantName)
        .column(payment::Column::ClaimReference)
        .column(payment::Column::Postcode)
        .column_as(
            Expr::col((property::Entity, property::Column::Reference)),
            "property_reference",
        )
        .column(payment::Column::AmountPence)
        .column(payment::Column::PeriodStart)
        .column(payment::Column::PeriodEnd)
        .column(payment::Column::ArrangementReference)
}

/// The `COPY ... TO STDOUT` statement of the search's query on PostgreSQL:
/// the same join, filter and order, with every cell formatted in SQL exactly
/// as [`ExportRow::write`] formats it.
///
/// `COPY` takes no bind parameters, so the filter's values are inlined by
/// sea-query's PostgreSQL builder, which quotes and escapes them (`E'...'`
/// with backslash escapes); the filter has already limited them to
/// validated dates, postcodes and short texts.
pub fn copy_statement(search: Select<payment::Entity>) -> String {
    // COPY's own header would name the SQL aliases; the header row is
    // written before the data instead, identical on both backends.
    format!("COPY ({}) TO STDOUT WITH (FORMAT csv)", select_sql(search))
}

/// The `SELECT` inside [`copy_statement`] (values inlined): what the
/// benchmark hands to `psql \copy` as the baseline.
pub fn select_sql(search: Select<payment::Entity>) -> String {
    let p = |c: &str| format!("\"payments\".\"{c}\"");
    let text = |c: &str| escape_sql(&p(c));
    let amount = "CAST(CAST(\"payments\".\"amount_pence\" AS numeric) / 100 AS numeric(20, 2))";
    let date = |c: &str| format!("to_char({}, 'YYYY-MM-DD')", p(c));
    search
        .select_only()
        .join(JoinType::LeftJoin, payment::Relation::Property.def())
        .expr_as(Expr::cust(date("payment_date")), "payment_date")
        .expr_as(Expr::cust(text("tenant_name")), "tenant_name")
        .expr_as(Expr::cust(text("claim_reference")), "claim_reference")
        .expr_as(Expr::cust(text("postcode")), "postcode")
        .expr_as(
            Expr::cust(escape_sql("\"properties\".\"reference\"")),
            "property_reference",
        )
        .expr_as(Expr::cust(amount), "amount")
        .expr_as(Expr::cust(date("period_start")), "period_start")
        .expr_as(Expr::cust(date("period_end")), "period_end")
        .expr_as(
            Expr::cust(text("arrangement_reference")),
            "arrangement_reference",
        )
        .into_query()
        .to_string(PostgresQueryBuilder)
}

/// The header line, as [`writer`] writes it.
pub fn header_line() -> Vec<u8> {
    let mut w = writer(Vec::new());
    w.write_record(HEADER)
        .expect("writing to a Vec cannot fail");
    w.into_inner().expect("writing to a Vec cannot fail")
}

/// Which way rows leave the database (for logs and the benchmark).
pub fn method(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "COPY TO STDOUT",
        _ => "row stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_are_escaped_and_other_text_is_not() {
        for (input, expected) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("@x", "'@x"),
            ("\tA", "'\tA"),
            ("Aisha O'Neil", "Aisha O'Neil"),
            ("", ""),
        ] {
            assert_eq!(escape_formula(input), expected);
        }
    }

    #[test]
    fn rows_are_rfc4180() {
        let row = ExportRow {
            payment_date: "2026-03-04".parse().unwrap(),
            tenant_name: "Smith, \"Jo\"\nJr".into(),
            claim_reference: "-9".into(),
            postcode: "SW1A 1AA".into(),
            property_reference: None,
            amount_pence: 123_456,
            period_start: "2026-02-01".parse().unwrap(),
            period_end: "2026-02-28".parse().unwrap(),
            arrangement_reference: Some("APA-1".into()),
        };
        let mut w = writer(header_line());
        row.write(&mut w).unwrap();
        row.write(&mut w).unwrap();
        let bytes = w.into_inner().unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains(
            "2026-03-04,\"Smith, \"\"Jo\"\"\nJr\",'-9,SW1A 1AA,,1234.56,2026-02-01,2026-02-28,APA-1\n"
        ));
    }
}
