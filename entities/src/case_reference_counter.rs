//! `case_reference_counters`: the last case sequence number used in each year.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// The counter of one year. A case reference is allocated by incrementing
/// `last_value` (inserting the row at 1 on the first case of a year) in the
/// transaction that creates the case: the row lock serialises concurrent
/// allocations and a rollback returns the number.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "case_reference_counters")]
pub struct Model {
    /// Calendar year, e.g. 2022.
    #[sea_orm(primary_key, auto_increment = false)]
    pub year: i32,
    /// The last sequence number allocated in `year` (the reference is
    /// `format!("{year}{last_value:05}")`).
    pub last_value: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
