//! Password hashing with argon2id at the OWASP-recommended parameters
//! (19 MiB, 2 iterations, 1 lane: the `argon2` crate's defaults).
//!
//! Hashing costs tens of milliseconds of CPU by design, so it never runs on the
//! async runtime: it goes to the blocking pool, and a semaphore sized to the
//! CPU count less one bounds how many run at once, so a burst of logins queues instead
//! of starving every other request of CPU and memory.

use std::sync::LazyLock;

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use tokio::sync::Semaphore;

/// One core is always left to everything else (queries, the database on the
/// same host): a login storm then slows logins, not the rest of the API.
static HASHING: LazyLock<Semaphore> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    Semaphore::new(cores.saturating_sub(1).max(1))
});

/// Hashes a password (PHC string).
pub async fn hash(password: String) -> anyhow::Result<String> {
    let _permit = HASHING.acquire().await?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
    })
    .await?
}

/// Checks a password against a stored hash. A malformed stored hash is an error,
/// a wrong password is `Ok(false)`.
pub async fn verify(password: String, stored: String) -> anyhow::Result<bool> {
    let _permit = HASHING.acquire().await?;
    tokio::task::spawn_blocking(move || {
        let parsed =
            PasswordHash::new(&stored).map_err(|e| anyhow::anyhow!("stored hash invalid: {e}"))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await?
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn hashes_verify_and_differ() {
        let a = super::hash("Correct-horse-9".into()).await.unwrap();
        let b = super::hash("Correct-horse-9".into()).await.unwrap();
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            super::verify("Correct-horse-9".into(), a.clone())
                .await
                .unwrap()
        );
        assert!(!super::verify("wrong".into(), a).await.unwrap());
    }
}
