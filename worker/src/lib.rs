//! The background side of the portal, and what both processes share.
//!
//! - [`config`]: the one configuration type, read from the environment once.
//! - [`db`]: connection, migrations, write transactions.
//! - [`outbox`]: the transactional outbox, which is also the job ledger.
//! - [`notify`]: queueing emails and SMS inside a transaction.
//! - [`jobs`]: one file per background job.
//! - [`queue`]: the apalis transport (Redis or SQLite).
//! - [`runner`]: claims and runs jobs; the relay from outbox to queue.
//! - [`scheduler`]: enqueues the daily jobs (the 90-day sweep).
//! - [`storage`]: documents, exports and uploaded CSVs (local folder or S3).
//! - [`delivery`]: email (SMTP / `.eml` files) and SMS (HTTP / log file) adapters and templates.

pub mod config;
pub mod db;
pub mod delivery;
pub mod jobs;
pub mod notify;
pub mod outbox;
pub mod queue;
pub mod runner;
pub mod scan;
pub mod scheduler;
pub mod storage;
