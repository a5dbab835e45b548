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

const EMAIL: Proven = Proven {
    email: true,
    sms: false,
    how: "",
};
const SMS: Proven = Proven {
    email: false,
    sms: true,
    how: "",
};

#[test]
fn the_steps_follow_the_method_and_the_organisation() {
    use TwoFactorMethod as M;
    let (free, strict) = (org(false), org(true));
    let m = Some("+447700900123");
    let p = Proven::PASSWORD;
    assert_eq!(plan(&user(M::None, m, false), Some(&free), p), Plan::SignIn);
    assert_eq!(
        plan(&user(M::None, m, false), Some(&strict), p),
        Plan::Code(TwoFactorChannel::Email)
    );
    assert_eq!(
        plan(&user(M::Email, m, false), None, p),
        Plan::Code(TwoFactorChannel::Email)
    );
    assert_eq!(
        plan(&user(M::Sms, m, false), None, p),
        Plan::Code(TwoFactorChannel::Sms)
    );
    // A reset number: SMS users go straight to the mobile step, everyone
    // else after their other factor.
    assert_eq!(plan(&user(M::Sms, m, true), None, p), Plan::Mobile);
    assert_eq!(plan(&user(M::Sms, None, false), None, p), Plan::Mobile);
    assert_eq!(plan(&user(M::None, m, true), None, p), Plan::Mobile);
    assert_eq!(
        plan(&user(M::Email, m, true), None, p),
        Plan::Code(TwoFactorChannel::Email)
    );
    assert_eq!(plan(&user(M::Email, m, true), None, EMAIL), Plan::Mobile);
    assert_eq!(plan(&user(M::Email, m, false), None, EMAIL), Plan::SignIn);
    assert_eq!(plan(&user(M::Sms, m, false), None, SMS), Plan::SignIn);
}

#[test]
fn later_is_for_organisations_that_do_not_require_two_factor_and_never_for_staff() {
    let mut u = user(TwoFactorMethod::Email, None, false);
    assert!(can_skip(&u, Some(&org(false))));
    assert!(can_skip(&u, None));
    assert!(!can_skip(&u, Some(&org(true))));
    u.kind = UserKind::Staff;
    assert!(!can_skip(&u, None));
}
