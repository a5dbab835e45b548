//! UK postcodes: validation and the one normalised form the database holds.
//!
//! A postcode is an outward code (area and district, e.g. `SW1A`) and an
//! inward code (sector and unit, e.g. `1AA`). Input is accepted in any case
//! and with any spacing (`sw1a1aa`, ` SW1A  1AA `); it is stored upper case
//! with exactly one space (`SW1A 1AA`), so equality and prefix search work on
//! the stored text. The rules are the Royal Mail format rules (as in the
//! government data standard's pattern), not a lookup of live postcodes:
//!
//! - outward: `A9`, `A99`, `AA9`, `AA99`, `A9A` or `AA9A`, where the first
//!   letter is not Q, V or X, the second letter (of two) not I, J or Z, a
//!   letter in third place (`A9A`) one of `ABCDEFGHJKPSTUW` and in fourth
//!   place (`AA9A`) one of `ABEHMNPRVWXY`;
//! - inward: a digit and two letters, none of C, I, K, M, O or V;
//! - and the special `GIR 0AA` (Girobank).

/// Letters never used in the inward code.
const INWARD_EXCLUDED: &[u8] = b"CIKMOV";

fn is_letter(b: u8) -> bool {
    b.is_ascii_uppercase()
}

/// Whether `outward` (upper case, no spaces) is a valid outward code.
pub fn valid_outward(outward: &str) -> bool {
    let first = |c: &u8| is_letter(*c) && !b"QVX".contains(c);
    let second = |c: &u8| is_letter(*c) && !b"IJZ".contains(c);
    let digit = |c: &u8| c.is_ascii_digit();
    match outward.as_bytes() {
        // A9
        [a, d] => first(a) && digit(d),
        // A99, A9A or AA9 (the three-character shapes overlap)
        [a, x, y] => {
            (first(a) && digit(x) && (digit(y) || b"ABCDEFGHJKPSTUW".contains(y)))
                || (first(a) && second(x) && digit(y))
        }
        // AA99, AA9A
        [a, s, d, t] => {
            first(a) && second(s) && digit(d) && (digit(t) || b"ABEHMNPRVWXY".contains(t))
        }
        _ => false,
    }
}

fn valid_inward(inward: &str) -> bool {
    matches!(inward.as_bytes(), [d, l1, l2]
        if d.is_ascii_digit()
            && [l1, l2].iter().all(|l| is_letter(**l) && !INWARD_EXCLUDED.contains(l)))
}

/// The normalised postcode (`"SW1A 1AA"`), or `None` when `input` is not a
/// valid UK postcode.
pub fn normalise(input: &str) -> Option<String> {
    let compact: String = input
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect();
    if !compact.is_ascii() || !(5..=7).contains(&compact.len()) {
        return None;
    }
    let (outward, inward) = compact.split_at(compact.len() - 3);
    let valid =
        (outward == "GIR" && inward == "0AA") || (valid_outward(outward) && valid_inward(inward));
    valid.then(|| format!("{outward} {inward}"))
}

/// Validates a postcode input field: the normalised postcode, or
/// `BAD_USER_INPUT` on `field`.
pub fn parse(field: &str, input: &str) -> crate::error::ApiResult<String> {
    normalise(input).ok_or_else(|| {
        crate::error::ApiError::bad_input(field, "Must be a valid UK postcode, e.g. \"SW1A 1AA\".")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_every_shape_in_any_case_and_spacing() {
        for (input, expected) in [
            ("SW1A 1AA", "SW1A 1AA"),
            ("sw1a1aa", "SW1A 1AA"),
            ("  Sw1A   1aA ", "SW1A 1AA"),
            ("M1 1AE", "M1 1AE"),
            ("B33 8TH", "B33 8TH"),
            ("CR2 6XH", "CR2 6XH"),
            ("DN55 1PT", "DN55 1PT"),
            ("W1A 0AX", "W1A 0AX"),
            ("EC1A 1BB", "EC1A 1BB"),
            ("LS1 4AP", "LS1 4AP"),
            ("gir0aa", "GIR 0AA"),
            ("GIR 0AA", "GIR 0AA"),
        ] {
            assert_eq!(normalise(input).as_deref(), Some(expected), "{input}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_postcode() {
        for input in [
            "",
            "SW1A",
            "SW1A 1A",
            "SW1A 1AAA",
            "1SW 1AA",
            "QA1 1AA",
            "AI1 1AA",
            "SW1A 1CA",
            "SW1A 1AI",
            "W1I 1AA",
            "EC1Z 1AA",
            "SW1A-1AA",
            "ＳＷ1A 1AA",
            "GIR 0AB",
            "AAA 1AA",
            "A 1AA",
            "AA999 1AA",
        ] {
            assert_eq!(normalise(input), None, "{input}");
        }
    }

    #[test]
    fn knows_outward_codes() {
        for ok in ["SW1A", "M1", "B33", "CR2", "DN55", "W1A", "EC1A", "N1"] {
            assert!(valid_outward(ok), "{ok}");
        }
        for bad in ["", "1", "SW", "SW1AA", "QA1", "W1I"] {
            assert!(!valid_outward(bad), "{bad}");
        }
    }
}
