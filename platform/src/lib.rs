//! The platform: what the API and the worker both stand on, with no product
//! rules in it.
//!
//! - [`config`]: the one configuration type, read from the environment once,
//!   split by concern (HTTP, storage, delivery, jobs); [`config::vars`] is the
//!   one list of variables behind the unknown-variable check and the README's
//!   table.
//! - [`db`]: the connection pool, migrations, write transactions.
//! - [`storage`]: documents, exports and uploaded CSVs (a local folder or S3).
//! - [`scan`]: the clamd client that virus-scans uploads.
//!
//! Why a crate of its own: the API reads configuration and storage on every
//! request and the worker runs jobs on the same pool; when these lived in the
//! `worker` crate, a reader of the API saw `platform::db` fifty times and took a
//! request to pass through the worker. Nothing here knows a case, a user or a
//! job.

pub mod config;
pub mod db;
pub mod scan;
pub mod storage;
