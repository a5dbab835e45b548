//! Authenticator-app codes: TOTP as RFC 6238 defines it, with the parameters
//! every authenticator app understands (HMAC-SHA1, 6 digits, 30-second
//! steps), so Google Authenticator, Microsoft Authenticator, 1Password,
//! Authy and the rest all work from the same QR code.
//!
//! - The secret is 20 bytes (160 bits, RFC 4226's recommended length) from
//!   the OS CSPRNG, shown to the user once as base32 and inside the
//!   provisioning URI (`otpauth://totp/…`, the "Key Uri Format" apps scan
//!   from a QR code). It must stay readable to check codes, so it is stored
//!   as it is, in a column the audit log never serialises.
//! - A code is accepted for the current step and one step either side
//!   ([`SKEW`]: about ±30 s of clock drift), and only for a step later than
//!   the last one accepted, so each code works once ([`verify`]).

use chrono::{DateTime, Utc};
use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use rand::{RngCore, rngs::OsRng};
use sha1::Sha1;

/// Seconds per time step.
pub const STEP_SECONDS: i64 = 30;
/// Steps accepted either side of the current one.
pub const SKEW: i64 = 1;
/// Digits in a code.
pub const DIGITS: u32 = 6;
/// Bytes of secret.
const SECRET_BYTES: usize = 20;

/// A new secret, base32 without padding (32 characters).
pub fn generate_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    OsRng.fill_bytes(&mut bytes);
    BASE32_NOPAD.encode(&bytes)
}

/// The `otpauth://` URI an authenticator app scans (as a QR code) or
/// imports: the issuer and the account name label the entry in the app.
pub fn provisioning_uri(issuer: &str, account: &str, secret: &str) -> String {
    let mut url = url::Url::parse("otpauth://totp/").expect("a constant URL parses");
    // The label is "Issuer:account"; the issuer parameter repeats it, as the
    // Key Uri Format recommends for apps that read only one of them.
    url.set_path(&format!(
        "{}:{}",
        url::form_urlencoded::byte_serialize(issuer.as_bytes()).collect::<String>(),
        url::form_urlencoded::byte_serialize(account.as_bytes()).collect::<String>()
    ));
    url.query_pairs_mut()
        .append_pair("secret", secret)
        .append_pair("issuer", issuer)
        .append_pair("algorithm", "SHA1")
        .append_pair("digits", &DIGITS.to_string())
        .append_pair("period", &STEP_SECONDS.to_string());
    url.to_string().replace('+', "%20")
}

/// The time step of `at`.
pub fn step_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(STEP_SECONDS)
}

/// The code for one time step (RFC 4226's HOTP of the step counter), or
/// `None` for a secret that is not base32.
fn code_at(secret: &str, step: i64, digits: u32) -> Option<String> {
    let key = BASE32_NOPAD.decode(secret.as_bytes()).ok()?;
    let mut mac = Hmac::<Sha1>::new_from_slice(&key).ok()?;
    mac.update(&step.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    // Dynamic truncation (RFC 4226 §5.3).
    let offset = usize::from(hash[hash.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    let modulus = 10u32.pow(digits);
    Some(format!(
        "{:0width$}",
        binary % modulus,
        width = digits as usize
    ))
}

/// The step `code` belongs to, when it is right for `secret` within
/// [`SKEW`] steps of `now` and later than `last_step` (a code is used once);
/// `None` otherwise. Every candidate is compared in full, so the time taken
/// does not depend on which step (if any) matched.
pub fn verify(secret: &str, code: &str, now: DateTime<Utc>, last_step: Option<i64>) -> Option<i64> {
    let current = step_of(now);
    let mut matched = None;
    for step in (current - SKEW)..=(current + SKEW) {
        let expected = code_at(secret, step, DIGITS)?;
        let equal = expected
            .bytes()
            .zip(code.bytes())
            .fold(expected.len() == code.len(), |eq, (a, b)| eq & (a == b));
        if equal && last_step.is_none_or(|last| step > last) && matched.is_none() {
            matched = Some(step);
        }
    }
    matched
}

/// The current code for `secret` (tests and the demo use it to act as an
/// authenticator app).
pub fn current_code(secret: &str, now: DateTime<Utc>) -> Option<String> {
    code_at(secret, step_of(now), DIGITS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// RFC 6238 appendix B's SHA-1 secret, "12345678901234567890".
    fn rfc_secret() -> String {
        BASE32_NOPAD.encode(b"12345678901234567890")
    }

    #[test]
    fn matches_the_rfc_6238_test_vectors() {
        // (time, 8-digit TOTP) from RFC 6238 appendix B, SHA-1 rows.
        let vectors = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        for (time, expected) in vectors {
            let at = Utc.timestamp_opt(time, 0).unwrap();
            assert_eq!(
                code_at(&rfc_secret(), step_of(at), 8).as_deref(),
                Some(expected),
                "T={time}"
            );
            // Six digits are the last six of the eight.
            assert_eq!(
                current_code(&rfc_secret(), at).as_deref(),
                Some(&expected[2..])
            );
        }
    }

    #[test]
    fn accepts_one_step_either_side_and_each_step_once() {
        let secret = generate_secret();
        let now = Utc.timestamp_opt(1_800_000_015, 0).unwrap();
        let step = step_of(now);
        for offset in [-1, 0, 1] {
            let code = code_at(&secret, step + offset, DIGITS).unwrap();
            assert_eq!(verify(&secret, &code, now, None), Some(step + offset));
            // Used: that step and earlier ones are refused.
            assert_eq!(verify(&secret, &code, now, Some(step + offset)), None);
        }
        for offset in [-3, -2, 2, 3] {
            let code = code_at(&secret, step + offset, DIGITS).unwrap();
            if (-1..=1).all(|o| code_at(&secret, step + o, DIGITS).unwrap() != code) {
                assert_eq!(verify(&secret, &code, now, None), None, "offset {offset}");
            }
        }
        assert_eq!(verify(&secret, "12345", now, None), None);
        assert_eq!(verify("not base32!", "123456", now, None), None);
    }

    #[test]
    fn secrets_are_160_bits_of_base32() {
        let secret = generate_secret();
        assert_eq!(secret.len(), 32);
        assert_eq!(BASE32_NOPAD.decode(secret.as_bytes()).unwrap().len(), 20);
        assert_ne!(secret, generate_secret());
    }

    #[test]
    fn the_provisioning_uri_follows_the_key_uri_format() {
        let uri = provisioning_uri("Landlord & Resident Portal", "ada@example.test", "JBSWY3DP");
        assert_eq!(
            uri,
            "otpauth://totp/Landlord%20%26%20Resident%20Portal:ada%40example.test?secret=JBSWY3DP&issuer=Landlord%20%26%20Resident%20Portal&algorithm=SHA1&digits=6&period=30"
        );
    }
}
