//! Input rules of user management, organisations and API tokens, and the
//! collector that reports every broken rule at once.
//!
//! Each check returns the cleaned value (trimmed, lowercased where the rule
//! says so) or every reason it failed, worded for the person filling in the
//! form. Lengths are counted in characters, not bytes, so a name in any
//! script gets the same allowance.

use crate::error::ApiError;

use super::Rejection;

/// Longest first or last name, organisation-level token name, and the like.
pub const NAME_MAX: usize = 100;
/// Longest email address (RFC 5321 path limit).
pub const EMAIL_MAX: usize = 254;
/// Longest local part of an email address (RFC 5321).
pub const EMAIL_LOCAL_MAX: usize = 64;
/// Longest domain name (RFC 1035, without the trailing dot).
pub const DOMAIN_MAX: usize = 253;
/// Most email domains one organisation may register.
pub const DOMAINS_MAX: usize = 20;
/// Longest reason for restricting a user.
pub const REASON_MAX: usize = 500;
/// Longest API token name.
pub const TOKEN_NAME_MAX: usize = 100;
/// Longest organisation name.
pub const ORGANISATION_NAME_MAX: usize = 200;
/// Longest organisation postal address.
pub const ADDRESS_MAX: usize = 500;

/// Collects field errors; [`Self::finish`] turns them into a [`Rejection`].
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<ApiError>);

impl FieldErrors {
    /// Records `reasons` against `field` (nothing when empty).
    pub fn add(&mut self, field: &str, reasons: Vec<String>) {
        if !reasons.is_empty() {
            self.0.push(field_error(field, reasons));
        }
    }

    /// The value of a check, or `None` with its reasons recorded against `field`.
    pub fn take<T>(&mut self, field: &str, checked: Result<T, Vec<String>>) -> Option<T> {
        match checked {
            Ok(value) => Some(value),
            Err(reasons) => {
                self.add(field, reasons);
                None
            }
        }
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok` when nothing was recorded, otherwise every recorded error.
    pub fn finish(self) -> Result<(), Rejection> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Rejection(self.0))
        }
    }
}

/// One `BAD_USER_INPUT` error on `field` with every reason.
pub fn field_error(field: &str, reasons: Vec<String>) -> ApiError {
    ApiError::BadInput {
        message: reasons.join(" "),
        field: Some(field.to_owned()),
        reasons,
    }
}

/// Required free text of at most `max` characters, without control
/// characters; returned trimmed. `what` names the value in messages
/// ("a first name").
pub fn text(value: &str, what: &str, max: usize) -> Result<String, Vec<String>> {
    let value = value.trim();
    let mut reasons = Vec::new();
    if value.is_empty() {
        reasons.push(format!("Enter {what}."));
    }
    if value.chars().count() > max {
        reasons.push(format!("Must be at most {max} characters long."));
    }
    if value.chars().any(char::is_control) {
        reasons.push("Must not contain control characters such as line breaks.".to_owned());
    }
    if reasons.is_empty() {
        Ok(value.to_owned())
    } else {
        Err(reasons)
    }
}

/// Like [`text`], but line breaks are allowed (postal addresses).
pub fn multiline_text(value: &str, what: &str, max: usize) -> Result<String, Vec<String>> {
    let single = value.replace(['\n', '\r'], " ");
    text(&single, what, max).map(|_| value.trim().to_owned())
}

/// A checked email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// As typed, trimmed: used for display and for sending mail.
    pub address: String,
    /// Lowercased: the sign-in name (see `users.email_normalized`).
    pub normalized: String,
    /// The lowercased part after the `@`.
    pub domain: String,
}

const FORMAT: &str = "Enter an email address in the correct format, like name@example.com.";

/// An email address: a dot-atom local part (letters, digits and
/// ``!#$%&'*+/=?^_`{|}~-``, dots between them) and a valid domain name. Quoted
/// local parts and address literals are refused: no landlord mailbox needs
/// them, and every mail transport accepts what is left.
pub fn email(value: &str) -> Result<Email, Vec<String>> {
    let address = value.trim();
    if address.is_empty() {
        return Err(vec!["Enter an email address.".to_owned()]);
    }
    if address.chars().count() > EMAIL_MAX {
        return Err(vec![format!(
            "Must be at most {EMAIL_MAX} characters long."
        )]);
    }
    let Some((local, domain)) = address.rsplit_once('@') else {
        return Err(vec![FORMAT.to_owned()]);
    };
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
    let local_ok = !local.is_empty()
        && local.len() <= EMAIL_LOCAL_MAX
        && local
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(atext));
    if !local_ok || domain_name(domain).is_err() {
        return Err(vec![FORMAT.to_owned()]);
    }
    Ok(Email {
        address: address.to_owned(),
        normalized: address.to_lowercase(),
        domain: domain.to_ascii_lowercase(),
    })
}

/// A domain name, lowercased: at least two dot-separated labels of 1 to 63
/// letters, digits and hyphens (not at either end of a label), at most 253
/// characters, and a top-level label that is not all digits (so an IP address
/// is not a domain). Internationalised domains are given in their `xn--`
/// form. A leading `@` is dropped, since people often type one.
pub fn domain_name(value: &str) -> Result<String, String> {
    let domain = value.trim();
    let domain = domain
        .strip_prefix('@')
        .unwrap_or(domain)
        .to_ascii_lowercase();
    let shown: String = domain.chars().take(60).collect();
    if domain.is_empty() {
        return Err("Enter a domain, like example.org.uk.".to_owned());
    }
    if domain.len() > DOMAIN_MAX {
        return Err(format!(
            "\"{shown}…\" is longer than {DOMAIN_MAX} characters."
        ));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        (1..=63).contains(&l.len())
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let valid = labels.len() >= 2
        && labels.iter().all(label_ok)
        && !labels
            .last()
            .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()));
    if !valid {
        return Err(format!(
            "\"{shown}\" is not a domain name, like example.org.uk."
        ));
    }
    Ok(domain)
}

/// The email domains of an organisation: 1 to [`DOMAINS_MAX`] valid domain
/// names, lowercased, repeats dropped (keeping the first), in the given order.
/// More than [`DOMAINS_MAX`] values are refused before any is looked at, so
/// a huge list cannot turn into a huge error.
pub fn domains(values: &[String]) -> Result<Vec<String>, Vec<String>> {
    if values.len() > DOMAINS_MAX {
        return Err(vec![format!(
            "An organisation can have at most {DOMAINS_MAX} email domains."
        )]);
    }
    let mut reasons = Vec::new();
    let mut out: Vec<String> = Vec::new();
    for value in values {
        match domain_name(value) {
            Ok(d) if !out.contains(&d) => out.push(d),
            Ok(_) => {}
            Err(reason) => reasons.push(reason),
        }
    }
    if values.is_empty() {
        reasons.push("Enter at least one email domain.".to_owned());
    }
    if reasons.is_empty() {
        Ok(out)
    } else {
        Err(reasons)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_lowercased_for_sign_in_and_split() {
        let e = email("  Priya.Shah@Northside-Housing.Example ").unwrap();
        assert_eq!(e.address, "Priya.Shah@Northside-Housing.Example");
        assert_eq!(e.normalized, "priya.shah@northside-housing.example");
        assert_eq!(e.domain, "northside-housing.example");
        for bad in [
            "",
            "no-at-sign",
            "@example.org",
            "a@b",
            "a..b@example.org",
            "a b@example.org",
            "a@-example.org",
            "a@example.123",
            "\"quoted\"@example.org",
        ] {
            assert!(email(bad).is_err(), "{bad:?} should be refused");
        }
        let long = format!("{}@example.org", "a".repeat(250));
        assert_eq!(
            email(&long).unwrap_err(),
            vec!["Must be at most 254 characters long."]
        );
    }

    #[test]
    fn domains_are_checked_lowercased_and_deduplicated() {
        assert_eq!(
            domains(&[
                "Example.ORG".into(),
                "@example.org".into(),
                "b.example".into()
            ])
            .unwrap(),
            vec!["example.org", "b.example"]
        );
        assert_eq!(domains(&[]).unwrap_err().len(), 1);
        let errors = domains(&["bad domain".into(), "x".into(), "ok.example".into()]).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        let many: Vec<String> = (0..21).map(|i| format!("d{i}.example")).collect();
        assert!(domains(&many).is_err());
        let label = "a".repeat(63);
        let long = format!("{label}.{label}.{label}.{label}.example");
        assert!(domain_name(&long).is_err());
    }

    #[test]
    fn text_reports_every_reason() {
        assert_eq!(text("  Ada ", "a first name", 100).unwrap(), "Ada");
        assert_eq!(
            text("   ", "a first name", 100).unwrap_err(),
            vec!["Enter a first name."]
        );
        let reasons = text(
            &format!("{}\n{}", "x".repeat(60), "x".repeat(60)),
            "a name",
            100,
        )
        .unwrap_err();
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert_eq!(
            multiline_text("1 High St\nTown", "an address", 500).unwrap(),
            "1 High St\nTown"
        );
    }
}
