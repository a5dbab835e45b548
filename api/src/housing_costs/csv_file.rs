//! Reading and checking a housing-costs CSV, row by row, before anything is
//! applied.
//!
//! The format (README "Exports and bulk updates"):
//!
//! ```text
//! property_reference,rent,service_charge,frequency
//! FLAT-1,725.00,35.50,MONTHLY
//! FLAT-2,180,,
//! ```
//!
//! - The first row is the header. `property_reference` and `rent` are
//!   required; `service_charge` and `frequency` are optional columns, and a
//!   blank cell in them leaves that value as it is. Names are matched without
//!   regard to case or surrounding spaces; a UTF-8 byte-order mark is ignored.
//!   Any other column, or one named twice, rejects the file.
//! - Amounts are pounds with at most two decimals (`725`, `725.5`,
//!   `725.50`), never negative (the API's one money rule,
//!   [`crate::tenancy::money::parse_pounds`]).
//! - Frequencies are the API's `RentFrequency` values (`WEEKLY`,
//!   `FORTNIGHTLY`, `FOUR_WEEKLY`, `MONTHLY`, `QUARTERLY`, `YEARLY`), any
//!   case, spaces or hyphens for underscores (`four-weekly`).
//! - Rows are numbered by CSV record, as a spreadsheet shows the file: the
//!   header is row 1, the first property row 2 (a cell with a line break
//!   inside quotes does not start a new row). Empty lines are ignored and not
//!   counted (spreadsheets do not write them); a line of empty cells
//!   (`,,,`) is counted and skipped.
//!
//! [`check`] reports *every* problem, each as (row, column, reason), so one
//! round of corrections fixes the whole file. Problems that need the database
//! (unknown or removed properties) are found by [`check_against`].

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use entities::{RentFrequency, property};

use crate::tenancy::money::parse_pounds;

/// Largest file accepted (5 MB: about 100,000 rows of typical width).
pub const MAX_BYTES: usize = 5 * 1024 * 1024;
/// Most property rows in one file.
pub const MAX_ROWS: usize = 50_000;
/// Most problems listed; a file with more is wrong throughout and the first
/// ones show how.
pub const MAX_ERRORS: usize = 1_000;

/// The header columns, in the documented order.
pub const COLUMNS: [&str; 4] = ["property_reference", "rent", "service_charge", "frequency"];

/// One problem in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// Row number as a spreadsheet shows it (the header is row 1).
    pub row: u64,
    /// The column at fault, by its header name (or `column <n>` for a cell
    /// beyond the header).
    pub column: String,
    /// What is wrong and how to fix it.
    pub reason: String,
}

/// A property row that passed [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowUpdate {
    /// Row number (the header is row 1).
    pub row: u64,
    /// The property reference, trimmed.
    pub reference: String,
    /// New rent, in pence.
    pub rent_pence: i64,
    /// New service charge, in pence; `None` leaves it as it is.
    pub service_charge_pence: Option<i64>,
    /// New frequency; `None` leaves it as it is.
    pub frequency: Option<RentFrequency>,
}

/// The outcome of reading a file: the rows to apply, or every problem.
pub type Checked = Result<Vec<RowUpdate>, Vec<RowError>>;

fn error(row: u64, column: &str, reason: impl Into<String>) -> RowError {
    RowError {
        row,
        column: column.to_owned(),
        reason: reason.into(),
    }
}

/// Parses a frequency cell.
fn frequency(text: &str) -> Option<RentFrequency> {
    let normalised: String = text
        .trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    normalised.parse().ok()
}

/// Reads and checks a whole file without touching the database: header,
/// shape of every row, amounts, frequencies, duplicate references, limits.
pub fn check(bytes: &[u8]) -> Checked {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = reader.records();
    // Header.
    let header = match records.next() {
        None => {
            return Err(vec![error(
                1,
                "property_reference",
                "The file is empty: the first row must be the header \"property_reference,rent,service_charge,frequency\".",
            )]);
        }
        Some(Err(e)) => return Err(vec![csv_error(&e, &[])]),
        Some(Ok(h)) => h,
    };
    let names: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    let mut problems = vec![];
    let mut position: HashMap<&str, usize> = HashMap::new();
    for (i, name) in names.iter().enumerate() {
        match COLUMNS.iter().find(|c| **c == name) {
            None => problems.push(error(
                1,
                if name.is_empty() { "header" } else { name },
                format!(
                    "Unknown column {name:?}: the columns are {}.",
                    COLUMNS.join(", ")
                ),
            )),
            Some(c) => {
                if position.insert(c, i).is_some() {
                    problems.push(error(1, c, "This column appears twice in the header."));
                }
            }
        }
    }
    for required in ["property_reference", "rent"] {
        if !position.contains_key(required) {
            problems.push(error(1, required, "The header must have this column."));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let header_names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut updates = vec![];
    let mut first_row_of: HashMap<String, u64> = HashMap::new();
    for record in records {
        if problems.len() >= MAX_ERRORS {
            break;
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(csv_error(&e, &header_names));
                break;
            }
        };
        let row = record.position().map_or(0, |p| p.record() + 1);
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        if updates.len() + problems.len() >= MAX_ROWS {
            problems.push(error(
                row,
                "property_reference",
                format!(
                    "A file may update at most {MAX_ROWS} properties; split it into several files."
                ),
            ));
            break;
        }
        if record.len() != names.len() {
            let column = if record.len() < names.len() {
                names[record.len()].clone()
            } else {
                format!("column {}", names.len() + 1)
            };
            problems.push(error(
                row,
                &column,
                format!(
                    "This row has {} cells but the header has {} columns.",
                    record.len(),
                    names.len()
                ),
            ));
            continue;
        }
        let cell = |name: &str| position.get(name).map(|i| record[*i].trim());
        let before = problems.len();
        let reference = cell("property_reference").unwrap_or_default();
        if reference.is_empty() {
            problems.push(error(
                row,
                "property_reference",
                "Enter the property reference.",
            ));
        } else if reference.chars().count() > 100 {
            problems.push(error(
                row,
                "property_reference",
                "Must be at most 100 characters.",
            ));
        } else if let Some(first) = first_row_of.get(reference) {
            problems.push(error(
                row,
                "property_reference",
                format!("This property is already updated by row {first}; each property may appear once."),
            ));
        } else {
            first_row_of.insert(reference.to_owned(), row);
        }
        let amount = |name: &str, required: bool, problems: &mut Vec<RowError>| -> Option<i64> {
            let text = cell(name)?;
            if text.is_empty() {
                if required {
                    problems.push(error(
                        row,
                        name,
                        "Enter the new amount in pounds, e.g. \"725.00\".",
                    ));
                }
                return None;
            }
            match parse_pounds(text) {
                Ok(p) => Some(p),
                Err(reasons) => {
                    problems.push(error(row, name, reasons.join(" ")));
                    None
                }
            }
        };
        let rent = amount("rent", true, &mut problems);
        let service_charge = amount("service_charge", false, &mut problems);
        let freq = match cell("frequency") {
            Some(text) if !text.is_empty() => match frequency(text) {
                Some(f) => Some(f),
                None => {
                    problems.push(error(
                        row,
                        "frequency",
                        format!(
                            "Must be one of {}.",
                            RentFrequency::ALL
                                .iter()
                                .map(|f| f.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                    None
                }
            },
            _ => None,
        };
        if problems.len() == before
            && let Some(rent_pence) = rent
        {
            updates.push(RowUpdate {
                row,
                reference: reference.to_owned(),
                rent_pence,
                service_charge_pence: service_charge,
                frequency: freq,
            });
        }
    }
    problems.truncate(MAX_ERRORS);
    if !problems.is_empty() {
        return Err(problems);
    }
    if updates.is_empty() {
        return Err(vec![error(
            2,
            "property_reference",
            "The file has a header but no property rows.",
        )]);
    }
    Ok(updates)
}

/// A CSV-level failure (e.g. text that is not UTF-8), at its row and column.
fn csv_error(e: &csv::Error, names: &[&str]) -> RowError {
    let (row, field) = match e.kind() {
        csv::ErrorKind::Utf8 { pos, err } => {
            (pos.as_ref().map_or(0, |p| p.line()), Some(err.field()))
        }
        _ => (e.position().map_or(0, |p| p.record() + 1), None),
    };
    let column = field
        .and_then(|f| names.get(f).map(|n| (*n).to_owned()))
        .unwrap_or_else(|| {
            field.map_or_else(
                || "property_reference".to_owned(),
                |f| format!("column {}", f + 1),
            )
        });
    let reason = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => {
            "This cell is not UTF-8 text: save the file as \"CSV UTF-8\".".to_owned()
        }
        _ => "This row cannot be read as CSV.".to_owned(),
    };
    error(row.max(1), &column, reason)
}

/// The organisation's properties a file names: `(id, removed)` by reference.
pub type Properties = HashMap<String, (Uuid, bool)>;

/// Builds [`Properties`] from rows.
pub fn by_reference(rows: impl IntoIterator<Item = property::Model>) -> Properties {
    rows.into_iter()
        .map(|p| (p.reference, (p.id, p.removed_at.is_some())))
        .collect()
}

/// Checks checked rows against the organisation's properties: every
/// reference must name one of its properties that is not removed. Returns
/// the property id of each row, or every problem.
pub fn check_against(
    rows: &[RowUpdate],
    properties: &Properties,
) -> Result<Vec<Uuid>, Vec<RowError>> {
    let mut ids = Vec::with_capacity(rows.len());
    let mut problems = vec![];
    for row in rows {
        match properties.get(&row.reference) {
            None => problems.push(error(
                row.row,
                "property_reference",
                format!(
                    "No property with the reference {:?} in your organisation.",
                    row.reference
                ),
            )),
            Some((_, true)) => problems.push(error(
                row.row,
                "property_reference",
                "This property has been removed; its costs cannot be updated.",
            )),
            Some((id, false)) => ids.push(*id),
        }
    }
    problems.truncate(MAX_ERRORS);
    if problems.is_empty() {
        Ok(ids)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_good_file_with_optional_columns_and_blank_cells() {
        let rows = check(
            b"\xEF\xBB\xBFProperty_Reference , RENT,service_charge,frequency\r\nFLAT-1,725.00,35.5,monthly\r\n\r\n\"FLAT,2\",180,,four-weekly\r\n,,,\r\n\"FLAT\n3\",0.1,,\r\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].rent_pence, 72_500);
        assert_eq!(rows[0].service_charge_pence, Some(3_550));
        assert_eq!(rows[0].frequency, Some(RentFrequency::Monthly));
        assert_eq!(rows[1].reference, "FLAT,2");
        assert_eq!(rows[1].row, 3, "numbered by record; empty lines ignored");
        assert_eq!(rows[1].service_charge_pence, None);
        assert_eq!(rows[1].frequency, Some(RentFrequency::FourWeekly));
        assert_eq!(rows[2].rent_pence, 10);
        assert_eq!((rows[2].row, rows[2].reference.as_str()), (5, "FLAT\n3"));
        let two = check(b"rent,property_reference\n5,A\n").unwrap();
        assert_eq!(two[0].reference, "A");
        assert_eq!(two[0].frequency, None);
    }

    #[test]
    fn lists_every_bad_row_with_its_column() {
        let errors = check(
            b"property_reference,rent,service_charge,frequency\n\
              A,-1,,\n\
              B,1.234,x,\n\
              A,5,,fortnightly\n\
              ,5,,\n\
              C,5,,daily\n\
              D,5\n\
              E,5,,,extra\n\
              F,,,\n",
        )
        .unwrap_err();
        let got: Vec<(u64, &str)> = errors.iter().map(|e| (e.row, e.column.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (2, "rent"),
                (3, "rent"),
                (3, "service_charge"),
                (4, "property_reference"),
                (5, "property_reference"),
                (6, "frequency"),
                (7, "service_charge"),
                (8, "column 5"),
                (9, "rent"),
            ]
        );
        assert!(errors[3].reason.contains("row 2"), "{:?}", errors[3]);
    }

    #[test]
    fn a_bad_header_rejects_the_file_at_row_1() {
        let errors = check(b"reference,rent,rent\nA,1,2\n").unwrap_err();
        let got: Vec<(u64, &str)> = errors.iter().map(|e| (e.row, e.column.as_str())).collect();
        assert_eq!(
            got,
            vec![(1, "reference"), (1, "rent"), (1, "property_reference")]
        );
        assert_eq!(check(b"").unwrap_err()[0].row, 1);
        assert_eq!(check(b"property_reference,rent\n").unwrap_err()[0].row, 2);
    }

    #[test]
    fn text_that_is_not_utf8_is_named_by_row_and_column() {
        let errors = check(b"property_reference,rent\nA,1\nB\xff,2\n").unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(
            (errors[0].row, errors[0].column.as_str()),
            (3, "property_reference")
        );
    }

    #[test]
    fn references_must_name_live_properties_of_the_organisation() {
        let rows = check(b"property_reference,rent\nA,1\nB,2\nC,3\n").unwrap();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let props: Properties = [("A".to_owned(), (a, false)), ("B".to_owned(), (b, true))].into();
        let errors = check_against(&rows, &props).unwrap_err();
        assert_eq!(errors.iter().map(|e| e.row).collect::<Vec<_>>(), vec![3, 4]);
        assert!(errors[0].reason.contains("removed"));
        let ok = check_against(&rows[..1], &props).unwrap();
        assert_eq!(ok, vec![a]);
    }
}
