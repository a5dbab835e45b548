//! UK mobile numbers: parsing what people type, storing E.164, showing them
//! masked.
//!
//! Accepted: `07700 900123`, `07700-900-123`, `+44 7700 900123`,
//! `0044 7700 900123` (spaces and dashes anywhere). Stored as E.164
//! (`+447700900123`), the form SMS providers take and the unique index
//! compares. Everything else is refused with the reason, on the field.

use crate::error::{ApiError, ApiResult};

/// Parses a UK mobile number into E.164 (`+447…`), or `BAD_USER_INPUT` on
/// `field` with the reason.
pub fn parse_uk_mobile(field: &str, raw: &str) -> ApiResult<String> {
    let reject = |reason: &str| ApiError::BadInput {
        message: "Enter a UK mobile number, like 07700 900123 or +44 7700 900123.".to_owned(),
        field: Some(field.to_owned()),
        reasons: vec![reason.to_owned()],
    };
    if raw.chars().count() > super::input::MAX_MOBILE {
        return Err(reject("The number is too long."));
    }
    let compact: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if compact.is_empty() {
        return Err(reject("Enter a mobile number."));
    }
    let (plus, digits) = match compact.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, compact.as_str()),
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(reject(
            "Use only digits, spaces, dashes and a leading + sign.",
        ));
    }
    // The national significant number: what follows 0, +44 or 0044.
    let national = if plus {
        digits.strip_prefix("44")
    } else if let Some(rest) = digits.strip_prefix("0044") {
        Some(rest)
    } else {
        digits.strip_prefix('0')
    };
    let Some(national) = national else {
        return Err(reject(
            "Only UK mobile numbers can be used: start with 07 or +44 7.",
        ));
    };
    if !national.starts_with('7') {
        return Err(reject(
            "This is not a UK mobile number: mobile numbers start with 07 (or +44 7).",
        ));
    }
    if national.len() != 10 {
        return Err(reject(
            "A UK mobile number has 11 digits, starting with 07.",
        ));
    }
    Ok(format!("+44{national}"))
}

/// An E.164 UK number as the user knows it, with all but the last three
/// digits hidden: `07*** ***123`.
pub fn mask(e164: &str) -> String {
    let last: String = e164
        .chars()
        .rev()
        .take(3)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("07*** ***{last}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usual_ways_of_writing_a_uk_mobile_are_accepted() {
        for ok in [
            "07700 900123",
            "07700900123",
            "07700-900-123",
            "+44 7700 900123",
            "+447700900123",
            "0044 7700 900 123",
            " +44-7700-900123 ",
        ] {
            assert_eq!(parse_uk_mobile("m", ok).unwrap(), "+447700900123", "{ok}");
        }
    }

    #[test]
    fn anything_else_is_refused_with_a_reason() {
        for bad in [
            "",
            "0770090012",
            "077009001234",
            "020 7946 0000",
            "+33 6 12 34 56 78",
            "07700 9OO123",
            "(07700) 900123",
            "+44 7700 900123 ext 2",
        ] {
            let err = parse_uk_mobile("mobileNumber", bad).unwrap_err();
            match err {
                ApiError::BadInput { field, reasons, .. } => {
                    assert_eq!(field.as_deref(), Some("mobileNumber"));
                    assert_eq!(reasons.len(), 1, "{bad}");
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn masking_keeps_the_last_three_digits() {
        assert_eq!(mask("+447700900123"), "07*** ***123");
    }
}
