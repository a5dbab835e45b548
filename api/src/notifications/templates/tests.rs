//! Tests of the templates: every template renders with its parameters
//! (snapshotted), and bad parameters are typed errors.

use serde_json::json;

use super::*;

const BASE_URL: &str = "https://portal.example.gov.uk";

/// Realistic parameters for each email, as the jobs will pass them. User-typed
/// values include characters HTML must escape, so the snapshots show escaping.
fn sample_params(template: EmailTemplate) -> serde_json::Value {
    let mut params = match template {
        EmailTemplate::Invitation => json!({
            "first_name": "Priya",
            "organisation_name": "Northgate Homes & Lettings",
            "token": "q8Zr2vB1xPaN7yKd0fLw3s",
            "expires_at": "2026-03-06T14:05:00Z",
        }),
        EmailTemplate::PasswordReset => json!({
            "first_name": "Priya",
            "token": "Tn4mW9c/Jx+2hV0e",
            "expires_at": "2026-07-01T09:30:00Z",
        }),
        EmailTemplate::PasswordChanged => json!({
            "first_name": "Priya",
            "changed_at": "2026-07-01T08:41:17Z",
        }),
        EmailTemplate::MobileChanged => json!({
            "first_name": "Priya",
            "changed_at": "2026-07-01T08:41:17Z",
            "mobile_number_ending": "123",
        }),
        EmailTemplate::TwoFactorChanged => json!({
            "first_name": "Priya",
            "at": "2026-07-01T08:41:17Z",
            "method": "an authenticator app",
            "enabled": true,
        }),
        EmailTemplate::RecoveryCodeUsed => json!({
            "first_name": "Priya",
            "at": "2026-07-01T08:41:17Z",
            "recovery_codes_left": 9,
        }),
        EmailTemplate::RecoveryCodesGenerated => json!({
            "first_name": "Priya",
            "at": "2026-07-01T08:41:17Z",
            "recovery_codes_left": 10,
        }),
        EmailTemplate::ConfirmEmailChange => json!({
            "first_name": "Priya",
            "token": "pl_Yc3kR8wq0ZmT5vN2xJb7",
            "expires_at": "2026-07-02T08:41:17Z",
        }),
        EmailTemplate::EmailChangeRequested => json!({
            "first_name": "Priya",
            "new_email_masked": "p****@****.example",
            "expires_at": "2026-07-02T08:41:17Z",
            "organisation_member": false,
        }),
        EmailTemplate::EmailChanged => json!({
            "first_name": "Priya",
            "new_email_masked": "p****@****.example",
            "changed_at": "2026-07-01T08:41:17Z",
            "organisation_member": true,
        }),
        EmailTemplate::CaseAccessReported => json!({
            "first_name": "Sam",
            "case_reference": "202200046",
            "reported_by": "Priya <Shah>",
            "reporter_kind": "resident",
            "comment": "I've never complained about \"Northgate\" & don't live there.",
            "is_owner": true,
        }),
        EmailTemplate::TwoFactorCode => json!({
            "first_name": "Priya",
            "code": "048213",
            "valid_minutes": 15,
        }),
        EmailTemplate::InactivityWarning => json!({
            "first_name": "Tom",
            "days_remaining": 14,
            "deactivates_on": "2026-04-02",
            "organisation_member": true,
        }),
        EmailTemplate::AccountDeactivated => json!({
            "first_name": "Tom",
            "by_administrator": false,
            "organisation_member": true,
        }),
        EmailTemplate::NewMessage => json!({
            "first_name": "Alex",
            "case_reference": "202200046",
            "sender_name": "Sam O'Neill",
        }),
        EmailTemplate::TaskUnableToComplete => json!({
            "first_name": "Sam",
            "case_reference": "202200046",
            "task_title": "Provide the repair log for the kitchen",
            "reported_by": "Northgate Homes & Lettings (Priya Shah)",
            "reason": "The contractor's records were lost in a flood <see attached>; we have asked them for copies.",
        }),
        EmailTemplate::TaskReminder => json!({
            "first_name": "Alex",
            "tasks": [
                {"case_reference": "202200046", "title": "Read message", "due_on": "2026-02-27", "overdue": true},
                {"case_reference": "202300112", "title": "Upload photos of the damp", "due_on": "2026-03-09", "overdue": false},
            ],
        }),
        EmailTemplate::DocumentInfected => json!({
            "first_name": "Sam",
            "is_uploader": false,
            "file_name": "invoice<1>.pdf",
            "case_reference": "202200046",
            "uploaded_by": "Alex Morgan",
            "uploaded_at": "2026-01-15T16:20:00Z",
        }),
        EmailTemplate::ExportReady => json!({
            "first_name": "Priya",
            "export_id": "0195f0c2-6b1e-7a3c-9d42-1f6b8e0a5c77",
            "row_count": 1284,
            "expires_at": "2026-03-12T00:00:00Z",
        }),
        EmailTemplate::ArrangementDecision => json!({
            "first_name": "Priya",
            "arrangement_reference": "APA-2026-00317",
            "approved": false,
            "reason": "The arrears are below the threshold of 2 months' rent.",
        }),
        EmailTemplate::TenancyDetailsRequested => json!({
            "first_name": "Priya",
            "organisation_name": "Northgate Homes & Lettings",
            "due_on": "2026-03-20",
        }),
        EmailTemplate::LastManagerKept => json!({
            "first_name": "Christopher",
            "user_name": "Dana O'Neill",
            "user_email": "dana@northgate.example",
            "organisation_name": "Northgate Homes & Lettings",
            "organisation_id": "0195f0c2-6b1e-7a3c-9d42-1f6b8e0a5c78",
            "inactive_since": "2026-08-30",
        }),
        EmailTemplate::HousingCostsOutcome => json!({
            "first_name": "Priya",
            "update_id": "0195f0c2-6b1e-7a3c-9d42-1f6b8e0a5c78",
            "file_name": "rents <april>.csv",
            "applied": false,
            "row_count": 120,
            "error_count": 3,
        }),
        EmailTemplate::WebhookEndpointDisabled => json!({
            "first_name": "Priya",
            "endpoint_id": "0195f0c2-6b1e-7a3c-9d42-1f6b8e0a5c79",
            "endpoint_host": "hooks.finance <example>.com",
            "hours": 72,
            "reason": "every delivery failed for 72 hours (last: HTTP 503)",
        }),
    };
    params["base_url"] = json!(BASE_URL);
    params
}

fn sms_params() -> serde_json::Value {
    json!({"code": "731904", "valid_minutes": 15})
}

/// Snapshots named after the template alone (`snapshots/email_invitation.snap`),
/// so that a reviewer can find an email's words by its name.
fn assert_snapshot(name: &str, value: &str) {
    insta::with_settings!({ prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, value);
    });
}

fn snapshot(email: &RenderedEmail) -> String {
    format!(
        "subject: {}\n\n---------- text ----------\n{}\n---------- html ----------\n{}",
        email.subject, email.text, email.html
    )
}

#[test]
fn every_email_renders() {
    for template in EmailTemplate::ALL {
        let email = render_email(template, &sample_params(template))
            .unwrap_or_else(|error| panic!("{template}: {error:?}"));
        assert_snapshot(&format!("email_{template}"), &snapshot(&email));
    }
}

#[test]
fn every_sms_renders_within_one_fragment() {
    for template in SmsTemplate::ALL {
        let body = render_sms(template, &sms_params()).unwrap();
        assert!(body.contains("731904"), "{template}: {body}");
        assert!(
            body.chars().count() <= 160,
            "{template} is too long: {body}"
        );
        assert_snapshot(&format!("sms_{template}"), &body);
    }
}

#[test]
fn every_missing_parameter_is_an_error() {
    for template in EmailTemplate::ALL {
        let params = sample_params(template);
        for key in params.as_object().unwrap().keys() {
            // `organisation_name` is the one optional parameter of an invitation:
            // staff invite residents, who belong to no organisation.
            if template == EmailTemplate::Invitation && key == "organisation_name" {
                continue;
            }
            let mut incomplete = params.clone();
            incomplete.as_object_mut().unwrap().remove(key);
            assert!(
                render_email(template, &incomplete).is_err(),
                "{template} rendered without {key}"
            );
        }
    }
    for template in SmsTemplate::ALL {
        for key in ["code", "valid_minutes"] {
            let mut incomplete = sms_params();
            incomplete.as_object_mut().unwrap().remove(key);
            assert!(
                render_sms(template, &incomplete).is_err(),
                "{template} rendered without {key}"
            );
        }
    }
}

#[test]
fn a_missing_parameter_is_named_in_the_error_without_leaking_values() {
    let mut params = sample_params(EmailTemplate::Invitation);
    params.as_object_mut().unwrap().remove("first_name");
    let error = render_email(EmailTemplate::Invitation, &params).unwrap_err();
    let message = format!("{error} {error:?}");
    assert!(message.contains("invitation"), "{message}");
    assert!(!message.contains("q8Zr2vB1xPaN7yKd0fLw3s"), "{message}");
}

#[test]
fn an_invitation_without_an_organisation_still_renders() {
    let mut params = sample_params(EmailTemplate::Invitation);
    params.as_object_mut().unwrap().remove("organisation_name");
    let email = render_email(EmailTemplate::Invitation, &params).unwrap();
    assert!(!email.text.contains("Northgate"));
    assert!(
        email
            .text
            .contains("/accept-invitation?token=q8Zr2vB1xPaN7yKd0fLw3s")
    );
}

#[test]
fn html_is_escaped_and_text_is_not() {
    let email = render_email(
        EmailTemplate::DocumentInfected,
        &sample_params(EmailTemplate::DocumentInfected),
    )
    .unwrap();
    assert!(email.html.contains("invoice&lt;1&gt;.pdf"));
    assert!(!email.html.contains("invoice<1>.pdf"));
    assert!(email.text.contains("invoice<1>.pdf"));
    assert!(email.html.contains("Landlord &amp; Resident Portal"));
    assert!(!email.subject.contains("&amp;"), "{}", email.subject);
}

#[test]
fn links_are_absolute_and_their_values_encoded() {
    let mut params = sample_params(EmailTemplate::PasswordReset);
    params["base_url"] = json!("https://portal.example.gov.uk/");
    let email = render_email(EmailTemplate::PasswordReset, &params).unwrap();
    let link = "https://portal.example.gov.uk/reset-password?token=Tn4mW9c%2FJx%2B2hV0e";
    assert!(email.text.contains(link), "{}", email.text);
    assert!(
        email.html.contains(&format!("href=\"{link}\"")),
        "{}",
        email.html
    );
}

#[test]
fn base_url_must_be_an_absolute_http_url() {
    for bad in [
        "portal.example.gov.uk",
        "/reset",
        "javascript:alert(1)",
        "ftp://portal.example.gov.uk",
        "https://portal.example.gov.uk/?x=1",
        "https://user@portal.example.gov.uk",
    ] {
        let mut params = sample_params(EmailTemplate::PasswordChanged);
        params["base_url"] = json!(bad);
        assert!(
            matches!(
                render_email(EmailTemplate::PasswordChanged, &params),
                Err(TemplateError::InvalidParams(_))
            ),
            "{bad} was accepted"
        );
    }
}

#[test]
fn params_must_be_an_object() {
    assert!(matches!(
        render_email(EmailTemplate::PasswordChanged, &json!(["x"])),
        Err(TemplateError::InvalidParams(_))
    ));
    assert!(matches!(
        render_sms(SmsTemplate::TwoFactorCode, &json!("123456")),
        Err(TemplateError::InvalidParams(_))
    ));
}

#[test]
fn names_round_trip_and_match_serde() {
    for template in EmailTemplate::ALL {
        assert_eq!(
            template.as_str().parse::<EmailTemplate>().unwrap(),
            template
        );
        assert_eq!(json!(template), json!(template.as_str()));
    }
    for template in SmsTemplate::ALL {
        assert_eq!(template.as_str().parse::<SmsTemplate>().unwrap(), template);
        assert_eq!(json!(template), json!(template.as_str()));
    }
    assert!(matches!(
        "account_locked".parse::<EmailTemplate>(),
        Err(TemplateError::Unknown(_))
    ));
}

#[test]
fn times_are_uk_local_in_govuk_style() {
    // Winter: GMT; summer: BST, one hour ahead of UTC.
    assert_eq!(
        datetime_filter("2026-01-15T16:20:00Z").unwrap(),
        "4:20pm on 15 January 2026 (UK time)"
    );
    assert_eq!(
        datetime_filter("2026-07-01T09:00:00Z").unwrap(),
        "10am on 1 July 2026 (UK time)"
    );
    assert_eq!(
        datetime_filter("2026-07-01T11:00:00Z").unwrap(),
        "midday on 1 July 2026 (UK time)"
    );
    assert_eq!(
        datetime_filter("2026-03-12T00:00:00Z").unwrap(),
        "midnight at the start of 12 March 2026 (UK time)"
    );
    assert_eq!(
        datetime_filter("2026-03-11T23:59:00Z").unwrap(),
        "11:59pm on 11 March 2026 (UK time)"
    );
    assert_eq!(date_filter("2026-04-02").unwrap(), "2 April 2026");
    assert_eq!(date_filter("2026-06-30T23:30:00Z").unwrap(), "1 July 2026");
    assert!(datetime_filter("yesterday").is_err());
    assert!(date_filter("02/04/2026").is_err());
}

#[test]
fn template_errors_are_not_retried() {
    let error = render_email(EmailTemplate::Invitation, &serde_json::json!({}))
        .expect_err("no parameters at all");
    assert!(worker::delivery::DeliveryError::from(error).is_permanent());
}

/// A rendered template, through the embedded file mailer, is a valid
/// multipart MIME message carrying both bodies unchanged.
#[tokio::test]
async fn a_rendered_email_becomes_a_multipart_eml() {
    use mailparse::MailHeaderMap;
    use worker::delivery::{Mailer, OutgoingEmail};

    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox");
    let mailer = Mailer::file(&outbox).unwrap();
    let delivery_id = uuid::Uuid::new_v4();
    let rendered = render_email(
        EmailTemplate::PasswordChanged,
        &serde_json::json!({
            "base_url": "https://portal.example.gov.uk",
            "first_name": "Zoë",
            "changed_at": "2026-07-01T08:41:17Z",
        }),
    )
    .unwrap();
    let email = OutgoingEmail::from_rendered(
        "Landlord & Resident Portal <no-reply@portal.example.gov.uk>",
        "zoe@example.org",
        delivery_id,
        rendered.clone(),
    );

    let reference = mailer.send(&email).await.unwrap();

    let file_id = reference.strip_prefix("file:").expect("file reference");
    let raw = std::fs::read(outbox.join(format!("{file_id}.eml"))).unwrap();
    let parsed = mailparse::parse_mail(&raw).unwrap();
    let header = |name: &str| {
        parsed
            .get_headers()
            .get_first_value(name)
            .unwrap_or_default()
    };
    assert_eq!(header("Subject"), rendered.subject);
    assert_eq!(parsed.ctype.mimetype, "multipart/alternative");
    let parts: Vec<_> = parsed
        .subparts
        .iter()
        .map(|part| (part.ctype.mimetype.clone(), part.get_body().unwrap()))
        .collect();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0].1.replace("\r\n", "\n"), rendered.text);
    assert_eq!(parts[1].1.replace("\r\n", "\n"), rendered.html);
}
