//! Rate limits on the operations attackers repeat: sign-in, code checks and
//! forgot-password.
//!
//! Limits are counted per resolver call, not per HTTP request, so neither a
//! batch of operations nor aliases (`a: login(...) b: login(...)`) in one
//! document get more attempts than separate requests would. Each operation
//! is limited per account and per client address, in fixed windows.
//!
//! Counters live in Redis when it is configured, so every API instance shares
//! them, under the deployment's key prefix (`PORTAL_QUEUE_NAME`, like the
//! queue), so that two deployments (or two test runs) sharing a Redis do not
//! share counters; embedded, in process memory. If Redis is unreachable the limiter lets
//! the attempt through and logs it: the per-account lock-out in the database
//! still stops password guessing, and refusing every sign-in while Redis is
//! down would turn a cache outage into a full outage.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::error::{ApiError, ApiResult};

/// A limit: at most `max` attempts per `window`.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// Attempts allowed in a window.
    pub max: u32,
    /// Window length.
    pub window: Duration,
}

/// The limits of each protected operation.
pub mod limits {
    use super::Limit;
    use std::time::Duration;

    const MINUTES_15: Duration = Duration::from_secs(15 * 60);
    const HOUR: Duration = Duration::from_secs(3600);

    /// Sign-in attempts per account.
    pub const LOGIN_PER_ACCOUNT: Limit = Limit {
        max: 10,
        window: MINUTES_15,
    };
    /// Sign-in attempts per client address.
    pub const LOGIN_PER_ADDRESS: Limit = Limit {
        max: 50,
        window: MINUTES_15,
    };
    /// Code checks per challenge owner.
    pub const CODE_PER_ACCOUNT: Limit = Limit {
        max: 10,
        window: MINUTES_15,
    };
    /// Code checks per client address.
    pub const CODE_PER_ADDRESS: Limit = Limit {
        max: 50,
        window: MINUTES_15,
    };
    /// Codes sent (and re-sent) per account.
    pub const CODE_SENDS_PER_ACCOUNT: Limit = Limit {
        max: 5,
        window: MINUTES_15,
    };
    /// Forgot-password requests per email address.
    pub const FORGOT_PER_ACCOUNT: Limit = Limit {
        max: 3,
        window: HOUR,
    };
    /// Forgot-password requests per client address.
    pub const FORGOT_PER_ADDRESS: Limit = Limit {
        max: 20,
        window: HOUR,
    };
}

/// Where counters are kept.
pub enum RateLimiter {
    /// In this process (embedded mode, tests).
    Memory(Mutex<HashMap<String, (Instant, u32)>>),
    /// In Redis, shared by every API instance of one deployment.
    Redis {
        /// The connection.
        conn: redis::aio::ConnectionManager,
        /// Key prefix of this deployment (its queue name).
        namespace: String,
    },
}

impl RateLimiter {
    /// An in-memory limiter.
    pub fn memory() -> Self {
        Self::Memory(Mutex::new(HashMap::new()))
    }

    /// Counts one attempt of `operation` for `subject` (an account or an
    /// address); `RATE_LIMITED` when over the limit. The subject is hashed into
    /// the key, so Redis never holds email addresses.
    pub async fn hit(&self, operation: &str, subject: &str, limit: Limit) -> ApiResult<()> {
        self.spend(operation, subject, 1, limit).await.map(|_| ())
    }

    /// Spends `amount` of `subject`'s budget for `operation` (`limit.max` per
    /// window); `RATE_LIMITED` when the window's total goes over (a refused
    /// attempt counts too, so hammering does not help). Returns what is left
    /// in the window and when it resets.
    pub async fn spend(
        &self,
        operation: &str,
        subject: &str,
        amount: u32,
        limit: Limit,
    ) -> ApiResult<Budget> {
        let subject = &crate::auth::token::hash(&subject.to_lowercase())[..32];
        let key = match self {
            Self::Memory(_) => format!("ratelimit:{operation}:{subject}"),
            Self::Redis { namespace, .. } => format!("{namespace}:ratelimit:{operation}:{subject}"),
        };
        let (count, retry_after) = match self {
            Self::Memory(map) => {
                // A std mutex: held for a map update only, never across an await.
                let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                if map.len() > 100_000 {
                    map.retain(|_, (start, _)| {
                        now.duration_since(*start) < Duration::from_secs(3600)
                    });
                }
                let entry = map.entry(key).or_insert((now, 0));
                if now.duration_since(entry.0) >= limit.window {
                    *entry = (now, 0);
                }
                entry.1 = entry.1.saturating_add(amount);
                (
                    entry.1,
                    limit.window.saturating_sub(now.duration_since(entry.0)),
                )
            }
            Self::Redis { conn, .. } => {
                let mut conn = conn.clone();
                let result: Result<(u32, i64), _> = redis::Script::new(
                    "local n = redis.call('INCRBY', KEYS[1], ARGV[2]) \
                     if n == tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end \
                     return {n, redis.call('PTTL', KEYS[1])}",
                )
                .key(&key)
                .arg(limit.window.as_millis() as u64)
                .arg(amount)
                .invoke_async(&mut conn)
                .await;
                match result {
                    Ok((n, ttl)) => (n, Duration::from_millis(ttl.max(0) as u64)),
                    Err(e) => {
                        tracing::warn!(error = %e, operation, "rate limiter unavailable; allowing the attempt");
                        return Ok(Budget {
                            remaining: limit.max,
                            resets_in: limit.window,
                        });
                    }
                }
            }
        };
        if count > limit.max {
            metrics::counter!("portal_rate_limited_total", "operation" => operation.to_owned())
                .increment(1);
            return Err(ApiError::RateLimited {
                retry_after_secs: retry_after.as_secs().max(1),
            });
        }
        Ok(Budget {
            remaining: limit.max - count,
            resets_in: retry_after,
        })
    }
}

/// What is left of a budget after spending from it.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Left in the current window.
    pub remaining: u32,
    /// Until the window starts again.
    pub resets_in: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_per_subject_and_refuses_over_the_limit() {
        let limiter = RateLimiter::memory();
        let limit = Limit {
            max: 2,
            window: Duration::from_secs(60),
        };
        limiter.hit("login", "a@example.org", limit).await.unwrap();
        limiter.hit("login", "A@example.org", limit).await.unwrap();
        let err = limiter
            .hit("login", "a@example.org", limit)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ApiError::RateLimited { retry_after_secs } if retry_after_secs <= 60)
        );
        limiter.hit("login", "b@example.org", limit).await.unwrap();
        limiter.hit("forgot", "a@example.org", limit).await.unwrap();
    }
}
