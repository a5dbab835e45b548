//! Payments to landlords: the shared search ([`search`]: filter, query,
//! keyset pages, totals) and recording them ([`record`], staff).
//!
//! Who may read an organisation's payments is decided by
//! `crate::policy::payments`; the functions here take the organisation the
//! policy allowed.

pub mod record;
pub mod search;
