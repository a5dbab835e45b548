//! A job that does nothing (or only waits): measures the pipeline itself
//! (`bench/queue`) and lets tests drive the outbox, relay and worker, including
//! killing a worker in the middle of a job, without side effects.

use std::{sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};

use worker::job::{Attempt, Job, JobError};

use crate::jobs::JobContext;

/// Does nothing, successfully, after an optional pause.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Noop {
    /// Free tag, so a test or benchmark can tell its jobs apart.
    pub tag: u64,
    /// How long the job takes, in milliseconds (0 for none).
    #[serde(default)]
    pub sleep_ms: u64,
}

impl Job for Noop {
    type Context = JobContext;
    const JOB_NAME: &'static str = "noop";

    async fn run(&self, _ctx: Arc<JobContext>, _attempt: Attempt) -> Result<(), JobError> {
        if self.sleep_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.sleep_ms.min(600_000))).await;
        }
        Ok(())
    }
}
