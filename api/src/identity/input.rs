//! Length limits on everything the identity mutations accept, checked before
//! any other work.
//!
//! Limits come first because several of these values go into argon2 (whose
//! cost we do not let a caller choose by sending a megabyte of "password") or
//! into a hash lookup. An over-long value is `BAD_USER_INPUT` on its field,
//! which reveals nothing about any account: the limit is the same for all.

use crate::error::{ApiError, ApiResult};

/// Longest email address (RFC 5321's path limit).
pub const MAX_EMAIL: usize = 254;
/// Longest password accepted anywhere (also the policy's maximum).
pub const MAX_PASSWORD: usize = super::password_policy::MAX_LENGTH;
/// Longest link or challenge token (ours are 46 characters).
pub const MAX_TOKEN: usize = 128;
/// Longest mobile number as typed, spaces and dashes included.
pub const MAX_MOBILE: usize = 32;

/// `BAD_USER_INPUT` on `field` when `value` has more than `max` characters.
pub fn max_len(field: &str, value: &str, max: usize) -> ApiResult<()> {
    if value.chars().count() > max {
        return Err(ApiError::bad_input(
            field,
            format!("Must be at most {max} characters long."),
        ));
    }
    Ok(())
}

/// The sign-in name of an email address: trimmed and lower-cased, as stored in
/// `users.email_normalized`.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A 6-digit code as typed: spaces are dropped (codes are often pasted as
/// `123 456`), and anything but exactly six ASCII digits is refused. A
/// malformed code is not counted as a wrong guess: it cannot be one.
pub fn code(field: &str, raw: &str) -> ApiResult<String> {
    if raw.len() > 32 {
        return Err(ApiError::bad_input(field, "Enter the 6-digit code."));
    }
    let code: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad_input(field, "Enter the 6-digit code."));
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_with_spaces_allowed() {
        assert_eq!(code("code", " 123 456 ").unwrap(), "123456");
        for bad in ["12345", "1234567", "12345a", "", "１２３４５６"] {
            assert!(code("code", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lengths_are_counted_in_characters() {
        assert!(max_len("f", &"é".repeat(128), 128).is_ok());
        assert!(max_len("f", &"a".repeat(129), 128).is_err());
    }
}
