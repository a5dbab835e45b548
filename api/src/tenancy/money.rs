//! Money as exact integer pence, read from and written as decimal pounds.
//!
//! The API's one convention: amounts travel as a decimal string in pounds
//! (`"1234.56"`, the GraphQL scalar `Money`) and are stored as `i64` pence.
//! No float is involved anywhere: `"0.1"` is parsed digit by digit into
//! 10 pence, so `0.1 + 0.2` is exactly 30 pence.

/// The largest amount accepted in any input: £10,000,000.00. Nothing a
/// landlord is paid or owes for one tenancy comes near it, so a bigger value
/// is a typo (or an attempt to overflow a total); the sum of even millions of
/// such payments stays far inside `i64`.
pub const MAX_PENCE: i64 = 1_000_000_000;

/// Parses pounds (`"12"`, `"12.5"`, `"12.50"`, `"1,234.56"` is refused) into
/// pence. Returns every rule the text breaks: negative, malformed, more than
/// two decimal places, too large.
pub fn parse_pounds(text: &str) -> Result<i64, Vec<String>> {
    let text = text.trim();
    let mut reasons = vec![];
    if text.is_empty() {
        return Err(vec!["Enter an amount in pounds, e.g. \"123.45\".".into()]);
    }
    let unsigned = match text.strip_prefix('-') {
        Some(rest) => {
            reasons.push("Must not be negative.".to_owned());
            rest
        }
        None => text.strip_prefix('+').unwrap_or(text),
    };
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let well_formed = digits(whole) && fraction.is_none_or(digits);
    if !well_formed {
        reasons.push(
            "Must be an amount in pounds with digits and at most one decimal point, e.g. \"123.45\"."
                .to_owned(),
        );
        return Err(reasons);
    }
    let fraction = fraction.unwrap_or("");
    if fraction.len() > 2 {
        reasons.push("Must have at most 2 decimal places (whole pence).".to_owned());
    }
    // Leading zeros are harmless; strip them so a long run of them is not
    // mistaken for a huge number.
    let whole = whole.trim_start_matches('0');
    let pounds: Option<i64> = if whole.is_empty() {
        Some(0)
    } else if whole.len() > 12 {
        None
    } else {
        whole.parse().ok()
    };
    let pence = pounds.and_then(|p| {
        let mut f = fraction.chars().take(2).collect::<String>();
        while f.len() < 2 {
            f.push('0');
        }
        p.checked_mul(100)?.checked_add(f.parse::<i64>().ok()?)
    });
    match pence {
        Some(p) if p <= MAX_PENCE => {}
        _ => reasons.push(format!("Must be at most {}.", format_pounds(MAX_PENCE))),
    }
    if reasons.is_empty() {
        Ok(pence.expect("checked above"))
    } else {
        Err(reasons)
    }
}

/// Formats pence as pounds with exactly two decimals: `123456` → `"1234.56"`,
/// `-5` → `"-0.05"`.
pub fn format_pounds(pence: i64) -> String {
    let sign = if pence < 0 { "-" } else { "" };
    let abs = pence.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exact_pence() {
        assert_eq!(parse_pounds("0"), Ok(0));
        assert_eq!(parse_pounds("12"), Ok(1200));
        assert_eq!(parse_pounds("12.5"), Ok(1250));
        assert_eq!(parse_pounds(" 1234.56 "), Ok(123_456));
        assert_eq!(parse_pounds("0.10"), Ok(10));
        assert_eq!(parse_pounds("0.01"), Ok(1));
        assert_eq!(parse_pounds("007.00"), Ok(700));
        assert_eq!(parse_pounds("10000000.00"), Ok(MAX_PENCE));
    }

    #[test]
    fn refuses_bad_amounts_with_every_reason() {
        assert_eq!(parse_pounds("-1.234").unwrap_err().len(), 2);
        assert!(parse_pounds("-1").is_err());
        assert!(parse_pounds("1.234").is_err());
        assert!(parse_pounds("1,234.00").is_err());
        assert!(parse_pounds("12.").is_err());
        assert!(parse_pounds(".5").is_err());
        assert!(parse_pounds("1e3").is_err());
        assert!(parse_pounds("NaN").is_err());
        assert!(parse_pounds("").is_err());
        assert!(parse_pounds("10000000.01").is_err());
        assert!(parse_pounds("99999999999999999999999").is_err());
    }

    #[test]
    fn formats_two_decimals() {
        assert_eq!(format_pounds(0), "0.00");
        assert_eq!(format_pounds(5), "0.05");
        assert_eq!(format_pounds(123_456), "1234.56");
        assert_eq!(format_pounds(-5), "-0.05");
        for p in [0, 1, 99, 100, 123_456, MAX_PENCE] {
            assert_eq!(parse_pounds(&format_pounds(p)), Ok(p));
        }
    }
}
