//! The password policy: at least 10 characters, an upper-case letter, a
//! lower-case letter, a digit and a non-alphanumeric character (the UC seed's
//! rules), not the user's email address, not a common password, and hard to
//! guess.
//!
//! The composition rules and the common-password list alone let through
//! `Password123!` and its kin: only 16 of the list's 19,640 entries satisfy
//! the composition rules, because people who choose common passwords add
//! the capital and the `!` that such rules ask for. So the password's
//! guessability is also estimated with `zxcvbn` (Dropbox's estimator: common
//! passwords, dictionary words, names, keyboard patterns, dates, l33t
//! substitutions, repeats), and anything scoring below 3 ("safely
//! unguessable: moderate protection from offline slow-hash scenario",
//! about 10^10 guesses) is refused with zxcvbn's own advice. The user's
//! email address and names are given to it as words an attacker knows.
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

/// The lowest zxcvbn score accepted (0–4): 3 means an estimated 10^10
/// guesses or more.
pub const MIN_SCORE: zxcvbn::Score = zxcvbn::Score::Three;

/// Whose password it is: what an attacker who targets them knows, given to
/// zxcvbn so that `Ada-Lovelace-1815` is seen as guessable for Ada.
#[derive(Debug, Clone, Copy, Default)]
pub struct Owner<'a> {
    /// The account's email address.
    pub email: &'a str,
    /// Given name.
    pub first_name: &'a str,
    /// Family name.
    pub last_name: &'a str,
}

impl Owner<'_> {
    /// The words zxcvbn should treat as known: the address, its local part
    /// and its parts, and the names.
    fn words(&self) -> Vec<&str> {
        let local = self.email.split('@').next().unwrap_or_default();
        let mut words = vec![self.email, local, self.first_name, self.last_name];
        words.extend(local.split(['.', '_', '-', '+']));
        words.retain(|w| !w.trim().is_empty());
        words
    }
}

/// Every rule `password` fails, in a stable order (empty when it passes).
pub fn violations(password: &str, owner: &Owner<'_>) -> Vec<String> {
    let email = owner.email;
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
    if let Some(advice) = too_guessable(password, owner) {
        reasons.push(format!("{TOO_GUESSABLE} {advice}"));
    }
    reasons
}

/// The start of the strength rule's reason (zxcvbn's advice follows it).
const TOO_GUESSABLE: &str = "Must be harder to guess.";

/// zxcvbn's advice when `password` scores below [`MIN_SCORE`], `None` when
/// it is strong enough.
fn too_guessable(password: &str, owner: &Owner<'_>) -> Option<String> {
    let estimate = zxcvbn::zxcvbn(password, &owner.words());
    if estimate.score() >= MIN_SCORE {
        return None;
    }
    let advice = estimate
        .feedback()
        .map(|f| f.to_string().trim().to_owned())
        .filter(|f| !f.is_empty());
    Some(advice.unwrap_or_else(|| "Add another word or two. Uncommon words are better.".to_owned()))
}

/// Checks a new password, reporting every failed rule on `field`. When
/// guessability is the only failure, zxcvbn's advice is the message too
/// (clients that show only the message still show why).
pub fn check(password: &str, owner: &Owner<'_>, field: &str) -> Result<(), ApiError> {
    let reasons = violations(password, owner);
    let message = match reasons.as_slice() {
        [] => return Ok(()),
        [only] if only.starts_with(TOO_GUESSABLE) => {
            format!(
                "The password is too easy to guess. {}",
                only[TOO_GUESSABLE.len()..].trim()
            )
        }
        _ => "The password does not meet the password rules.".to_owned(),
    };
    Err(ApiError::BadInput {
        message,
        field: Some(field.to_owned()),
        reasons,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADA: Owner<'static> = Owner {
        email: "ada@example.org",
        first_name: "Ada",
        last_name: "Lovelace",
    };

    #[test]
    fn a_strong_password_passes() {
        assert!(violations("Correct-Horse-42", &ADA).is_empty());
        assert!(violations("Kettle-Umbrella-Quarry-7", &ADA).is_empty());
        assert!(check("Kettle-Umbrella-Quarry-7", &ADA, "newPassword").is_ok());
    }

    #[test]
    fn every_failed_rule_is_reported() {
        // Not on the common list ("abc" is), so the character rules and the
        // strength estimate fail.
        let reasons = violations("qzvkw", &ADA);
        assert_eq!(
            reasons[..4],
            [
                "Must be at least 10 characters long.",
                "Must contain an upper-case letter.",
                "Must contain a number.",
                "Must contain a symbol (a character that is not a letter or a number).",
            ]
        );
        assert_eq!(reasons.len(), 5);
        assert!(reasons[4].starts_with(TOO_GUESSABLE), "{reasons:?}");
    }

    #[test]
    fn a_password_that_meets_the_composition_rules_but_is_guessable_is_refused() {
        // Not on the common list as written, 12 characters, every class.
        assert!(!COMMON.contains("password123!"));
        let Err(ApiError::BadInput {
            message,
            field,
            reasons,
        }) = check("Password123!", &ADA, "newPassword")
        else {
            panic!("Password123! accepted");
        };
        assert_eq!(field.as_deref(), Some("newPassword"));
        assert_eq!(
            reasons,
            [
                "Must be harder to guess. This is similar to a commonly used password. \
              Add another word or two. Uncommon words are better. \
              Capitalization doesn't help very much."
            ]
        );
        assert_eq!(
            message,
            "The password is too easy to guess. This is similar to a commonly used password. \
             Add another word or two. Uncommon words are better. \
             Capitalization doesn't help very much."
        );
    }

    #[test]
    fn the_owners_names_count_as_known_words() {
        let strangers = Owner {
            email: "bob@example.org",
            first_name: "Bob",
            last_name: "Smith",
        };
        let password = "Quillbright1!";
        assert!(violations(password, &strangers).is_empty());
        let owner = Owner {
            email: "quillbright.zephyrine@example.org",
            first_name: "Quillbright",
            last_name: "Zephyrine",
        };
        let reasons = violations(password, &owner);
        assert!(
            reasons.iter().any(|r| r.starts_with(TOO_GUESSABLE)),
            "{reasons:?}"
        );
    }

    #[test]
    fn the_email_and_common_passwords_are_refused() {
        let owner = Owner {
            email: "Ada.Lovelace1@Example.org",
            ..ADA
        };
        assert!(
            violations("ada.lovelace1@example.ORG", &owner)
                .contains(&"Must not be your email address.".to_owned())
        );
        // On the shipped list, though it passes the character rules.
        assert!(COMMON.contains("password1!"));
        assert!(
            violations(
                "Password1!",
                &Owner {
                    email: "x@example.org",
                    ..ADA
                }
            )
            .contains(&"Must not be a commonly used password.".to_owned())
        );
        assert!(COMMON.len() > 19_000);
    }
}
