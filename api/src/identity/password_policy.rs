//! The password policy: at least 10 characters, an upper-case letter, a
//! lower-case letter, a digit and a non-alphanumeric character (the UC seed's
//! rules), not the user's email address, and not a common password.
//!
//! A rejection lists every rule the password failed, so the UI can tick them
//! off as the user types, and is reported as `BAD_USER_INPUT` on the field.

use std::{collections::HashSet, sync::LazyLock};

use crate::error::ApiError;

/// The shipped list of common passwords (see `api/data/README.md` for its source).
static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../data/common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
});

/// Minimum length.
pub const MIN_LENGTH: usize = 10;
/// Maximum length: long enough for any passphrase, short enough that hashing
/// cannot be used to burn CPU.
pub const MAX_LENGTH: usize = 128;

/// Every rule `password` fails, in a stable order (empty when it passes).
pub fn violations(password: &str, email: &str) -> Vec<String> {
    let mut reasons = Vec::new();
    let length = password.chars().count();
    if length < MIN_LENGTH {
        reasons.push(format!("Must be at least {MIN_LENGTH} characters long."));
    }
    if length > MAX_LENGTH {
        reasons.push(format!("Must be at most {MAX_LENGTH} characters long."));
    }
    if !password.chars().any(char::is_uppercase) {
        reasons.push("Must contain an upper-case letter.".to_owned());
    }
    if !password.chars().any(char::is_lowercase) {
        reasons.push("Must contain a lower-case letter.".to_owned());
    }
    if !password.chars().any(|c| c.is_ascii_digit()) {
        reasons.push("Must contain a number.".to_owned());
    }
    if password.chars().all(char::is_alphanumeric) {
        reasons.push(
            "Must contain a symbol (a character that is not a letter or a number).".to_owned(),
        );
    }
    let lower = password.to_lowercase();
    if !email.is_empty() && lower == email.trim().to_lowercase() {
        reasons.push("Must not be your email address.".to_owned());
    }
    if COMMON.contains(lower.as_str()) {
        reasons.push("Must not be a commonly used password.".to_owned());
    }
    reasons
}

/// Checks a new password, reporting every failed rule on `field`.
pub fn check(password: &str, email: &str, field: &str) -> Result<(), ApiError> {
    let reasons = violations(password, email);
    if reasons.is_empty() {
        return Ok(());
    }
    Err(ApiError::BadInput {
        message: "The password does not meet the password rules.".to_owned(),
        field: Some(field.to_owned()),
        reasons,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_strong_password_passes() {
        assert!(violations("Correct-Horse-42", "ada@example.org").is_empty());
    }

    #[test]
    fn every_failed_rule_is_reported() {
        // Not on the common list ("abc" is), so only the character rules fail.
        assert_eq!(
            violations("qzvkw", "ada@example.org"),
            vec![
                "Must be at least 10 characters long.",
                "Must contain an upper-case letter.",
                "Must contain a number.",
                "Must contain a symbol (a character that is not a letter or a number).",
            ]
        );
    }

    #[test]
    fn the_email_and_common_passwords_are_refused() {
        let email = "Ada.Lovelace1@Example.org";
        assert!(
            violations("ada.lovelace1@example.ORG", email)
                .contains(&"Must not be your email address.".to_owned())
        );
        // On the shipped list, though it passes the character rules.
        assert!(COMMON.contains("password1!"));
        assert!(
            violations("Password1!", "x@example.org")
                .contains(&"Must not be a commonly used password.".to_owned())
        );
        assert!(COMMON.len() > 19_000);
    }
}
