//! The job runtime: everything that moves a background job from the
//! transaction that wrote it to the code that runs it, and knows nothing of
//! what the jobs do.
//!
//! - [`job`]: the [`job::Job`] trait (generic over the context a job is given)
//!   and the [`job::Registry`] of jobs by name.
//! - [`outbox`]: the transactional outbox, which is also the job ledger.
//! - [`batch`]: group commit of the runner's claims and completions.
//! - [`queue`]: the apalis transport (Redis or SQLite).
//! - [`runner`]: claims and runs jobs; the relay from outbox to queue; a whole
//!   worker process ([`runner::run_worker`]).
//! - [`scheduler`]: enqueues the daily jobs of a schedule table.
//! - [`trace_context`]: the W3C `traceparent` a job carries from the request
//!   that enqueued it into its own span (OpenTelemetry).
//! - [`delivery`]: email (SMTP / `.eml` files) and SMS (HTTP / log file)
//!   transports.
//!
//! The design is the Rust registry backend's: the product's jobs live beside
//! their domain in the `api` crate and are registered there in one function
//! with the context they need (`api::jobs`); this crate is what a second
//! product could reuse unchanged. Configuration, the database pool and storage
//! are the `platform` crate's.

pub mod batch;
pub mod delivery;
pub mod job;
pub mod outbox;
pub mod queue;
pub mod runner;
pub mod scheduler;
pub mod trace_context;
