//! The background jobs defined in this crate, because their work is the
//! API's domain code: the payments export runs the payment search's own query
//! ([`crate::payments::search`]), and the bulk housing-cost update shares the
//! money rules and the audit log. The worker crate cannot depend on this one,
//! so the processes that run jobs add these with
//! [`worker::runner::Runner::with_jobs`] (`portal serve`, `portal worker`,
//! the test harness).

use worker::jobs::{Job, Registry, handler};

use crate::{exports::job::ExportPayments, housing_costs::job::ApplyHousingCosts};

/// Every job of this crate, by name.
pub fn registry() -> Registry {
    let mut jobs = Registry::new();
    jobs.insert(ExportPayments::JOB_NAME, handler::<ExportPayments>);
    jobs.insert(ApplyHousingCosts::JOB_NAME, handler::<ApplyHousingCosts>);
    jobs
}
