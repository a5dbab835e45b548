//! UK mobile numbers: parsing what people type, storing E.164, showing them
//! masked.
//!
//! Accepted: `07700 900123`, `07700-900-123`, `+44 7700 900123`,
//! `0044 7700 900123` (spaces and dashes anywhere). Stored as E.164
//! (`+447700900123`), the form SMS providers take and the unique index
//! compares. Everything else is refused with the reason, on the field.
//!
//! Whether a number is a mobile is decided by the `phonenumber` crate
//! (Google's libphonenumber metadata, kept current by its releases), not by
//! the `07` prefix: `070` personal numbers and `076` pagers also start with
//! 07 but cannot receive our texts, and accepting them lets anyone make the
//! service send SMS to premium-rate ranges (SMS pumping). Only numbers whose
//! type is `Mobile` *in region GB* are accepted: the Isle of Man (`07624`),
//! Jersey (`07797`, ...) and Guernsey (`07781`, `07911 1…`, ...) share `+44`,
//! but libphonenumber places them in regions IM, JE and GG. They are not UK
//! numbers, texts to them are charged as international by many providers,
//! and the service's residents live in UK properties, so they are refused
//! with a reason saying why.
//!
//! One exception: Ofcom reserves `07700 900000`–`07700 900999` for drama
//! and examples. libphonenumber calls them invalid (they are never
//! allocated), but the demo data, the documentation and the tests use them
//! precisely because no real person can be texted by mistake; they are
//! accepted as GB mobiles. An SMS to one goes nowhere, so it cannot be used
//! for pumping either.

use phonenumber::{Mode, PhoneNumber, Type, country, metadata::DATABASE};

use crate::error::{ApiError, ApiResult};

/// Ofcom's drama range, as a national significant number prefix: `7700 900`
/// followed by any three digits.
const DRAMA_PREFIX: &str = "7700900";

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
    // libphonenumber is lenient (brackets, `ext 2`, letters as on a keypad):
    // a mobile for texts is digits, with an optional leading +.
    let digits = compact.strip_prefix('+').unwrap_or(&compact);
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(reject(
            "Use only digits, spaces, dashes and a leading + sign.",
        ));
    }
    // Numbers without + are read as dialled in the UK (07…, or 0044 …).
    let Ok(number) = phonenumber::parse(Some(country::Id::GB), &compact) else {
        return Err(reject(
            "This is not a phone number: a UK mobile number has 11 digits, starting with 07.",
        ));
    };
    if number.code().value() != 44 {
        return Err(reject(
            "Only UK mobile numbers can be used: start with 07 or +44 7.",
        ));
    }
    let national = number.national().value().to_string();
    if is_drama(&national) {
        return Ok(e164(&number));
    }
    if !national.starts_with('7') {
        return Err(reject(
            "This is not a UK mobile number: mobile numbers start with 07 (or +44 7).",
        ));
    }
    if !phonenumber::is_valid(&number) {
        return Err(reject(if national.len() == 10 {
            "This number is not in use for UK mobiles."
        } else {
            "A UK mobile number has 11 digits, starting with 07."
        }));
    }
    match (number.number_type(&DATABASE), number.country().id()) {
        (Type::Mobile, Some(country::Id::GB)) => Ok(e164(&number)),
        (Type::Mobile, Some(region)) => Err(reject(&format!(
            "This is {} mobile number: only UK mobile numbers can be used.",
            crown_dependency(region)
        ))),
        (Type::PersonalNumber, _) => Err(reject(
            "070 numbers are personal numbers that forward calls, not mobiles: enter your mobile number.",
        )),
        (Type::Pager, _) => Err(reject(
            "076 numbers are pagers, not mobiles: enter your mobile number.",
        )),
        _ => Err(reject(
            "This is not a UK mobile number: enter a mobile that can receive texts.",
        )),
    }
}

/// `national` (digits after +44) is in Ofcom's drama range.
fn is_drama(national: &str) -> bool {
    national.len() == 10 && national.starts_with(DRAMA_PREFIX)
}

/// The region named as in "This is … mobile number".
fn crown_dependency(region: country::Id) -> &'static str {
    match region {
        country::Id::IM => "an Isle of Man",
        country::Id::JE => "a Jersey",
        country::Id::GG => "a Guernsey",
        _ => "a non-UK",
    }
}

fn e164(number: &PhoneNumber) -> String {
    number.format().mode(Mode::E164).to_string()
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

    fn reason(raw: &str) -> String {
        match parse_uk_mobile("mobileNumber", raw).unwrap_err() {
            ApiError::BadInput { field, reasons, .. } => {
                assert_eq!(field.as_deref(), Some("mobileNumber"));
                assert_eq!(reasons.len(), 1, "{raw}");
                reasons.into_iter().next().unwrap()
            }
            other => panic!("{raw}: {other:?}"),
        }
    }

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
    fn the_whole_drama_range_and_allocated_mobiles_are_accepted() {
        assert_eq!(
            parse_uk_mobile("m", "07700 900000").unwrap(),
            "+447700900000"
        );
        assert_eq!(
            parse_uk_mobile("m", "07700 900999").unwrap(),
            "+447700900999"
        );
        // Allocated GB mobile ranges, as libphonenumber's metadata has them.
        assert_eq!(
            parse_uk_mobile("m", "07400 123456").unwrap(),
            "+447400123456"
        );
        assert_eq!(
            parse_uk_mobile("m", "+44 7911 023456").unwrap(),
            "+447911023456"
        );
    }

    #[test]
    fn personal_numbers_and_pagers_are_refused() {
        assert!(reason("07000 123456").contains("personal numbers"));
        assert!(reason("+44 70 1234 5678").contains("personal numbers"));
        assert!(reason("07600 123456").contains("pagers"));
        assert!(reason("07640 123456").contains("pagers"));
    }

    #[test]
    fn crown_dependency_mobiles_are_refused_by_name() {
        assert!(reason("07624 123456").contains("Isle of Man"));
        assert!(reason("07797 123456").contains("Jersey"));
        assert!(reason("07781 123456").contains("Guernsey"));
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
            "07700 800123",
            "+",
        ] {
            reason(bad);
        }
        assert!(reason("+33 6 12 34 56 78").contains("Only UK mobile numbers"));
        assert!(reason("020 7946 0000").contains("mobile numbers start with 07"));
    }

    #[test]
    fn masking_keeps_the_last_three_digits() {
        assert_eq!(mask("+447700900123"), "07*** ***123");
    }
}
