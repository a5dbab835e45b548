//! Webhook signing secrets: how they are made, how they are kept in the
//! database, and the signatures made with them.
//!
//! **Secrets** are `whsec_` followed by the base64 of 24 random bytes, the
//! Standard Webhooks form, so a receiver can use any of that
//! specification's libraries. A secret is shown to the user once (when the
//! endpoint is created or its secret rotated) and is otherwise only read by
//! the delivery job.
//!
//! **At rest** a secret is sealed with XChaCha20-Poly1305 under a server key
//! (`PORTAL_WEBHOOK_SECRET_KEY`, or, when unset, a key generated once into
//! `<data dir>/webhook-secret.key`), so a copy of the database (a backup, a
//! read replica, an SQL injection) does not let anyone forge deliveries. It
//! cannot be hashed like a password: the delivery job needs the secret
//! itself to sign. Sealed form: `v1:` + base64(24-byte random nonce ‖
//! ciphertext ‖ 16-byte tag); the `v1` leaves room for a key rotation.
//!
//! **Signatures** follow the Standard Webhooks specification: the content
//! signed is `{webhook-id}.{webhook-timestamp}.{body}`, the key is the
//! base64-decoded part of the secret after `whsec_`, the MAC is
//! HMAC-SHA256, and the `webhook-signature` header is `v1,` + base64 of the
//! MAC. During a rotation's grace period the header carries two signatures,
//! space-separated (the new secret's first), and a receiver accepts the
//! message if any one verifies.

use std::{path::Path, sync::Arc};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use chacha20poly1305::{
    KeyInit, XChaCha20Poly1305, XNonce,
    aead::{Aead, OsRng, rand_core::RngCore},
};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;

use platform::config::Config;

/// The prefix of every signing secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// A new signing secret: `whsec_` + base64 of 24 random bytes.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 24];
    OsRng.fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// Why a secret could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Not `whsec_` + base64.
    #[error("not a webhook signing secret")]
    Malformed,
    /// The sealed value was not sealed with this server key (or was altered).
    #[error("the sealed secret cannot be opened with this server key")]
    Unsealable,
}

/// The Standard Webhooks signature (`v1,<base64>`) of one message.
pub fn sign(
    secret: &str,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, SecretError> {
    let key = STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .map_err(|_| SecretError::Malformed)?;
    if key.is_empty() {
        return Err(SecretError::Malformed);
    }
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(&key).map_err(|_| SecretError::Malformed)?;
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// The `webhook-signature` header: one signature per secret, space-separated.
pub fn signature_header(
    secrets: &[&str],
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, SecretError> {
    let signatures = secrets
        .iter()
        .map(|secret| sign(secret, msg_id, timestamp, body))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(signatures.join(" "))
}

/// The server key that seals signing secrets at rest.
#[derive(Clone)]
pub struct ServerKey(Arc<SecretBox<[u8; 32]>>);

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey([REDACTED])")
    }
}

/// The file the embedded default keeps its generated key in.
pub const KEY_FILE: &str = "webhook-secret.key";

impl ServerKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Arc::new(SecretBox::new(Box::new(bytes))))
    }

    /// The configured key (`PORTAL_WEBHOOK_SECRET_KEY`), or else the one in
    /// `<data dir>/webhook-secret.key`, generated there on first use. The
    /// file is created exclusively, so two processes starting together on
    /// one data folder (the embedded API and worker) agree on one key.
    pub fn load(config: &Config) -> anyhow::Result<Self> {
        if let Some(key) = &config.webhooks.secret_key {
            return Ok(Self(key.clone()));
        }
        Self::load_or_create(&config.data_dir.join(KEY_FILE))
    }

    fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        use std::io::Write as _;
        let read = |path: &Path| -> anyhow::Result<Self> {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let bytes = STANDARD
                .decode(text.trim())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .with_context(|| format!("{} is not 32 bytes in base64", path.display()))?;
            Ok(Self::from_bytes(bytes))
        };
        if path.exists() {
            return read(path);
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        match options.open(path) {
            Ok(mut file) => {
                file.write_all(STANDARD.encode(bytes).as_bytes())
                    .and_then(|()| file.sync_all())
                    .with_context(|| format!("cannot write {}", path.display()))?;
                Ok(Self::from_bytes(bytes))
            }
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(path),
            Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
        }
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.0.expose_secret().into())
    }
}

/// Seals a secret for the database (`v1:` + base64 of nonce and ciphertext).
pub fn seal(key: &ServerKey, secret: &str) -> String {
    let mut nonce = [0u8; 24];
    OsRng.fill_bytes(&mut nonce);
    let ciphertext = key
        .cipher()
        .encrypt(XNonce::from_slice(&nonce), secret.as_bytes())
        // Encryption fails only for a message beyond the cipher's length limit.
        .expect("a secret is far below the AEAD's length limit");
    let mut out = Vec::with_capacity(nonce.len() + ciphertext.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    format!("v1:{}", STANDARD.encode(out))
}

/// Opens a secret sealed by [`seal`] with the same key.
pub fn open(key: &ServerKey, sealed: &str) -> Result<String, SecretError> {
    let raw = sealed
        .strip_prefix("v1:")
        .and_then(|b64| STANDARD.decode(b64).ok())
        .filter(|raw| raw.len() > 24)
        .ok_or(SecretError::Unsealable)?;
    let (nonce, ciphertext) = raw.split_at(24);
    let plain = key
        .cipher()
        .decrypt(XNonce::from_slice(nonce), ciphertext)
        .map_err(|_| SecretError::Unsealable)?;
    String::from_utf8(plain).map_err(|_| SecretError::Unsealable)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks specification's reference vector (the test of
    /// its Go library's `Sign`).
    #[test]
    fn signatures_match_the_specifications_test_vector() {
        let signature = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let other = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265331,
            br#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_ne!(signature, other, "the timestamp is signed");
    }

    #[test]
    fn a_header_carries_one_signature_per_secret() {
        let (a, b) = (new_secret(), new_secret());
        let header = signature_header(&[&a, &b], "id", 1, b"{}").unwrap();
        let parts: Vec<_> = header.split(' ').collect();
        assert_eq!(
            parts,
            [
                sign(&a, "id", 1, b"{}").unwrap(),
                sign(&b, "id", 1, b"{}").unwrap()
            ]
        );
    }

    #[test]
    fn new_secrets_have_the_standard_form() {
        let secret = new_secret();
        let key = STANDARD
            .decode(secret.strip_prefix("whsec_").unwrap())
            .unwrap();
        assert_eq!(key.len(), 24);
        assert_ne!(secret, new_secret());
        assert!(matches!(
            sign("whsec_!!", "id", 1, b""),
            Err(SecretError::Malformed)
        ));
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key() {
        let key = ServerKey::from_bytes([7; 32]);
        let secret = new_secret();
        let sealed = seal(&key, &secret);
        assert!(!sealed.contains(&secret));
        assert_ne!(sealed, seal(&key, &secret), "a fresh nonce each time");
        assert_eq!(open(&key, &sealed).unwrap(), secret);
        let other = ServerKey::from_bytes([8; 32]);
        assert!(open(&other, &sealed).is_err());
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 3;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(open(&key, &String::from_utf8(tampered).unwrap()).is_err());
        assert!(open(&key, "plain").is_err());
    }

    #[test]
    fn the_generated_key_is_made_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE);
        let first = ServerKey::load_or_create(&path).unwrap();
        let second = ServerKey::load_or_create(&path).unwrap();
        let sealed = seal(&first, "whsec_AAAA");
        assert_eq!(open(&second, &sealed).unwrap(), "whsec_AAAA");
    }
}
