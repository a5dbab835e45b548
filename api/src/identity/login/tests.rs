//! Unit tests of the sign-in plan and its helpers.

use super::*;

fn user(method: TwoFactorMethod, mobile: Option<&str>, reset: bool) -> user::Model {
    let now = Utc::now();
    user::Model {
        id: Uuid::now_v7(),
        kind: UserKind::Landlord,
        organisation_id: None,
        first_name: "A".into(),
        last_name: "B".into(),
        email: "a@b.example".into(),
        email_normalized: "a@b.example".into(),
        password_hash: None,
        status: UserStatus::Active,
        mobile_number: mobile.map(Into::into),
        mobile_reset_pending: reset,
        two_factor_method: method,
        totp_secret: None,
        totp_last_step: None,
        two_factor_declined_at: None,
        address: None,
        staff_team: None,
        staff_role: None,
        staff_role_label: None,
        failed_login_attempts: 0,
        locked_until: None,
        last_login_at: None,
        invited_at: None,
        password_changed_at: None,
        inactivity_warned_at: None,
        deactivated_at: None,
        created_at: now,
        updated_at: now,
    }
}

fn org(requires: bool) -> organisation::Model {
    let now = Utc::now();
    organisation::Model {
        id: Uuid::now_v7(),
        name: "Org".into(),
        address: "1 Street".into(),
        requires_two_factor: requires,
        two_factor_methods: None,
        created_at: now,
        updated_at: now,
    }
}

const FACTOR: Proven = Proven::SECOND_FACTOR;

#[test]
fn a_second_factor_that_is_on_is_always_asked_for() {
    use TwoFactorMethod as M;
    let (free, strict) = (org(false), org(true));
    let now = Utc::now();
    let m = Some("+447700900123");
    let p = Proven::PASSWORD;
    let code = |c| Plan::Code(c);
    assert_eq!(
        plan(&user(M::None, m, false), Some(&free), p, now),
        Plan::SignIn(SetupPrompt::Offered)
    );
    // Required but none set up: an enrolment-only session, not a code.
    assert_eq!(
        plan(&user(M::None, m, false), Some(&strict), p, now),
        Plan::SignIn(SetupPrompt::Required)
    );
    for org in [None, Some(&free), Some(&strict)] {
        assert_eq!(
            plan(&user(M::Email, m, false), org, p, now),
            code(TwoFactorChannel::Email)
        );
        assert_eq!(
            plan(&user(M::Sms, m, false), org, p, now),
            code(TwoFactorChannel::Sms)
        );
    }
    let mut app = user(M::AuthenticatorApp, m, false);
    app.totp_secret = Some("JBSWY3DPEHPK3PXP".into());
    assert_eq!(
        plan(&app, None, p, now),
        code(TwoFactorChannel::AuthenticatorApp)
    );
    assert_eq!(
        plan(&app, None, FACTOR, now),
        Plan::SignIn(SetupPrompt::None)
    );
    // A reset number: the mailbox stands in for the phone, then the mobile
    // step; nobody gets to the mobile step on the password alone, unless
    // they have no factor at all.
    assert_eq!(
        plan(&user(M::Sms, m, true), None, p, now),
        code(TwoFactorChannel::Email)
    );
    assert_eq!(
        plan(&user(M::Sms, None, false), None, p, now),
        code(TwoFactorChannel::Email)
    );
    assert_eq!(
        plan(&user(M::Sms, m, true), None, FACTOR, now),
        Plan::Mobile
    );
    assert_eq!(
        plan(&user(M::Sms, None, false), None, FACTOR, now),
        Plan::Mobile
    );
    assert_eq!(plan(&user(M::None, m, true), None, p, now), Plan::Mobile);
    assert_eq!(
        plan(&user(M::Email, m, true), None, p, now),
        code(TwoFactorChannel::Email)
    );
    assert_eq!(
        plan(&user(M::Email, m, true), None, FACTOR, now),
        Plan::Mobile
    );
    assert_eq!(
        plan(&user(M::Email, m, false), None, FACTOR, now),
        Plan::SignIn(SetupPrompt::None)
    );
}

#[test]
fn later_holds_the_offer_off_for_a_while_and_staff_must_enrol() {
    let now = Utc::now();
    let mut u = user(TwoFactorMethod::None, None, false);
    assert_eq!(setup_prompt(&u, None, now), SetupPrompt::Offered);
    u.two_factor_declined_at = Some(now - Duration::days(29));
    assert_eq!(setup_prompt(&u, None, now), SetupPrompt::None);
    u.two_factor_declined_at = Some(now - OFFER_AGAIN);
    assert_eq!(setup_prompt(&u, None, now), SetupPrompt::Offered);
    u.kind = UserKind::Staff;
    assert_eq!(setup_prompt(&u, None, now), SetupPrompt::Required);
    u.two_factor_method = TwoFactorMethod::Sms;
    assert_eq!(setup_prompt(&u, None, now), SetupPrompt::None);
}

#[test]
fn an_organisation_can_name_the_methods_that_count() {
    let mut strict = org(true);
    strict.two_factor_methods = Some("AUTHENTICATOR_APP".into());
    let now = Utc::now();
    let mut u = user(TwoFactorMethod::Sms, Some("+447700900123"), false);
    assert!(must_set_up(&u, Some(&strict)));
    assert_eq!(setup_prompt(&u, Some(&strict), now), SetupPrompt::Required);
    // The SMS code is still asked for first.
    assert_eq!(
        plan(&u, Some(&strict), Proven::PASSWORD, now),
        Plan::Code(TwoFactorChannel::Sms)
    );
    u.two_factor_method = TwoFactorMethod::AuthenticatorApp;
    assert!(!must_set_up(&u, Some(&strict)));
    assert_eq!(
        accepted_methods(Some(&strict)),
        vec![TwoFactorMethod::AuthenticatorApp]
    );
    assert_eq!(accepted_methods(None).len(), 3);
    // Not required: nothing is a must, whatever is named.
    strict.requires_two_factor = false;
    u.two_factor_method = TwoFactorMethod::None;
    assert!(!must_set_up(&u, Some(&strict)));
}
