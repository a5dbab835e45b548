//! Payments to landlords: the shared search ([`search`]: filter, query,
//! keyset pages, totals) and recording them ([`record`], staff).
//!
//! Who may read an organisation's payments is decided by
//! `crate::policy::payments::visible`; the search functions take the
//! organisation it allowed. Recording takes the staff capability of
//! `crate::policy::payments::can_record`.

pub mod record;
pub mod search;
