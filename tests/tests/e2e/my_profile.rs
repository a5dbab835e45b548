//! The signed-in user's own contact details: a resident's postal address
//! (`updateMyAddress`), and changing one's mobile number, confirmed by a code
//! texted to the new number (`changeMyMobileNumber`, then
//! `confirmMyMobileNumber`), with an email to the account's address.

use entities::{TwoFactorMethod, UserKind};
use portal_tests::{TestApp, TestResponse};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::identity::*;

async fn update_address(app: &TestApp, token: Option<&str>, address: Value) -> TestResponse {
    app.graphql(
        token,
        "mutation($a: String) { updateMyAddress(address: $a) { id kind address } }",
        json!({ "a": address }),
    )
    .await
}

async fn change_mobile(app: &TestApp, token: Option<&str>, number: &str) -> TestResponse {
    app.graphql(
        token,
        "mutation($n: String!, $p: String!) { changeMyMobileNumber(mobileNumber: $n, password: $p) { challengeToken maskedMobileNumber expiresAt } }",
        json!({ "n": number, "p": PASSWORD }),
    )
    .await
}

async fn confirm_mobile(
    app: &TestApp,
    token: Option<&str>,
    challenge: &str,
    code: &str,
) -> TestResponse {
    app.graphql(
        token,
        "mutation($t: String!, $c: String!) { confirmMyMobileNumber(challengeToken: $t, code: $c) { maskedMobileNumber twoFactorMethod mobileResetPending } }",
        json!({ "t": challenge, "c": code }),
    )
    .await
}

fn challenge_of(response: &TestResponse) -> String {
    response.data()["changeMyMobileNumber"]["challengeToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{:#}", response.body))
        .to_owned()
}

/// A code that is not `code`.
fn wrong(code: &str) -> String {
    let first = if code.starts_with('9') { '0' } else { '9' };
    format!("{first}{}", &code[1..])
}

/// The newest audit entry `action` about `user_id`: (actor, before, after).
async fn audit_entry(
    app: &TestApp,
    user_id: Uuid,
    action: &str,
) -> (Option<Uuid>, Option<Value>, Option<Value>) {
    let entry = entities::audit_log::Entity::find()
        .filter(entities::audit_log::Column::TargetId.eq(user_id))
        .filter(entities::audit_log::Column::Action.eq(action))
        .order_by_desc(entities::audit_log::Column::Id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no {action} entry"));
    (entry.actor_user_id, entry.before, entry.after)
}

async fn resident(
    app: &TestApp,
    method: TwoFactorMethod,
    mobile: Option<&str>,
) -> portal_tests::fixtures::TestUser {
    account(app, UserKind::Resident, None, method, mobile).await
}

#[tokio::test]
async fn a_resident_sets_changes_and_clears_their_address() {
    let app = TestApp::init().await;
    let rose = resident(&app, TwoFactorMethod::None, None).await;

    let set = update_address(
        &app,
        Some(&rose.token),
        json!("  Flat 2, 10 Mill Lane\r\nNorthtown\nNT1 2BB \n"),
    )
    .await;
    assert_eq!(
        set.data()["updateMyAddress"]["address"],
        "Flat 2, 10 Mill Lane\nNorthtown\nNT1 2BB"
    );
    assert_eq!(
        reload(&app, rose.user.id).await.address.as_deref(),
        Some("Flat 2, 10 Mill Lane\nNorthtown\nNT1 2BB")
    );
    let (actor, before, after) = audit_entry(&app, rose.user.id, "profile.address_changed").await;
    assert_eq!(actor, Some(rose.user.id));
    assert_eq!(before, Some(json!({ "address": rose.user.address })));
    assert_eq!(
        after,
        Some(json!({ "address": "Flat 2, 10 Mill Lane\nNorthtown\nNT1 2BB" }))
    );

    // The viewer shows it.
    let me = app
        .graphql(Some(&rose.token), "{ viewer { address } }", json!({}))
        .await;
    assert_eq!(
        me.data()["viewer"]["address"],
        "Flat 2, 10 Mill Lane\nNorthtown\nNT1 2BB"
    );

    // The same address again records nothing.
    let entries = audit_actions(&app, rose.user.id).await.len();
    update_address(
        &app,
        Some(&rose.token),
        json!("Flat 2, 10 Mill Lane\nNorthtown\nNT1 2BB"),
    )
    .await
    .data();
    assert_eq!(audit_actions(&app, rose.user.id).await.len(), entries);

    // Blank clears it, and so does null.
    let blank = update_address(&app, Some(&rose.token), json!("   ")).await;
    assert_eq!(blank.data()["updateMyAddress"]["address"], Value::Null);
    assert_eq!(reload(&app, rose.user.id).await.address, None);
    let (_, before, after) = audit_entry(&app, rose.user.id, "profile.address_changed").await;
    assert_eq!(
        before,
        Some(json!({ "address": "Flat 2, 10 Mill Lane\nNorthtown\nNT1 2BB" }))
    );
    assert_eq!(after, Some(json!({ "address": null })));
    update_address(&app, Some(&rose.token), json!("1 High Street"))
        .await
        .data();
    let null = update_address(&app, Some(&rose.token), Value::Null).await;
    assert_eq!(null.data()["updateMyAddress"]["address"], Value::Null);
    assert_eq!(reload(&app, rose.user.id).await.address, None);
}

#[tokio::test]
async fn a_bad_address_changes_nothing_and_others_may_not_set_one() {
    let app = TestApp::init().await;
    let rose = resident(&app, TwoFactorMethod::None, None).await;
    update_address(&app, Some(&rose.token), json!("1 High Street"))
        .await
        .data();
    let entries = audit_actions(&app, rose.user.id).await;

    let exactly = "a".repeat(500);
    let too_long = update_address(&app, Some(&rose.token), json!(format!("{exactly}b"))).await;
    assert!(assert_bad_input(&too_long, "address").contains("500"));
    let control = update_address(&app, Some(&rose.token), json!("1 High Street\u{7}")).await;
    assert_bad_input(&control, "address");
    assert_eq!(
        reload(&app, rose.user.id).await.address.as_deref(),
        Some("1 High Street")
    );
    assert_eq!(audit_actions(&app, rose.user.id).await, entries);
    // 500 characters (after trimming) are fine.
    let ok = update_address(&app, Some(&rose.token), json!(format!(" {exactly} "))).await;
    assert_eq!(ok.data()["updateMyAddress"]["address"], json!(exactly));

    let ada = landlord(&app, TwoFactorMethod::None, None).await;
    let sam = account(&app, UserKind::Staff, None, TwoFactorMethod::Email, None).await;
    for who in [&ada, &sam] {
        let refused = update_address(&app, Some(&who.token), json!("1 High Street")).await;
        assert_eq!(refused.error_code(), "FORBIDDEN", "{:#}", refused.body);
        assert_eq!(reload(&app, who.user.id).await.address, who.user.address);
        assert!(
            !audit_actions(&app, who.user.id)
                .await
                .contains(&"profile.address_changed".to_owned())
        );
    }
    let anonymous = update_address(&app, None, json!("1 High Street")).await;
    assert_eq!(anonymous.error_code(), "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_resident_changes_their_mobile_number_with_a_code_texted_to_the_new_one() {
    let app = TestApp::init().await;
    let rose = resident(&app, TwoFactorMethod::Sms, Some("+447700900111")).await;

    let started = change_mobile(&app, Some(&rose.token), "07700 900222").await;
    assert_eq!(
        started.data()["changeMyMobileNumber"]["maskedMobileNumber"],
        "07*** ***222"
    );
    let challenge = challenge_of(&started);
    app.run_pending_jobs().await;
    assert!(
        app.sms().iter().all(|(to, _)| to != "+447700900111"),
        "nothing to the old number"
    );
    snapshot_sms(&app, "change_mobile_sms", "+447700900222");
    let code = texted_code(&app, "+447700900222").await;

    // Nothing changes before the code: sign-in codes still go to the old number.
    assert_eq!(
        reload(&app, rose.user.id).await.mobile_number.as_deref(),
        Some("+447700900111")
    );
    let signing_in = login_ok(&app, &rose.user.email, PASSWORD).await;
    assert_eq!(signing_in["maskedDestination"], "07*** ***111");
    texted_code(&app, "+447700900111").await;

    // A wrong code changes nothing; the right one does.
    let wrong_code = confirm_mobile(&app, Some(&rose.token), &challenge, &wrong(&code)).await;
    assert!(assert_bad_input(&wrong_code, "code").contains("4 more times"));
    assert_eq!(
        reload(&app, rose.user.id).await.mobile_number.as_deref(),
        Some("+447700900111")
    );
    // The code is no good on the sign-in mutation.
    assert_bad_input(&verify(&app, &challenge, &code).await, "challengeToken");

    let done = confirm_mobile(&app, Some(&rose.token), &challenge, &code).await;
    assert_eq!(
        done.data()["confirmMyMobileNumber"],
        json!({ "maskedMobileNumber": "07*** ***222", "twoFactorMethod": "SMS", "mobileResetPending": false })
    );
    assert_eq!(
        reload(&app, rose.user.id).await.mobile_number.as_deref(),
        Some("+447700900222")
    );
    let (actor, before, after) = audit_entry(&app, rose.user.id, "profile.mobile_changed").await;
    assert_eq!(actor, Some(rose.user.id));
    assert_eq!(
        before,
        Some(json!({ "mobile_number": "07*** ***111", "mobile_reset_pending": false }))
    );
    assert_eq!(
        after,
        Some(
            json!({ "mobile_number": "07*** ***222", "mobile_reset_pending": false, "sms_two_factor": true })
        )
    );
    app.run_pending_jobs().await;
    snapshot_email(&app, "mobile_changed_email", &rose.user.email).await;

    // The code is single use.
    let reused = confirm_mobile(&app, Some(&rose.token), &challenge, &code).await;
    assert_bad_input(&reused, "challengeToken");

    // SMS two-factor now uses the new number.
    let signing_in = login_ok(&app, &rose.user.email, PASSWORD).await;
    assert_eq!(signing_in["channel"], "SMS");
    assert_eq!(signing_in["maskedDestination"], "07*** ***222");
    let sign_in_code = texted_code(&app, "+447700900222").await;
    let signed_in = verify(
        &app,
        signing_in["challengeToken"].as_str().unwrap(),
        &sign_in_code,
    )
    .await;
    assert_eq!(
        signed_in.data()["verifyTwoFactor"]["__typename"],
        "SignedIn"
    );
}

#[tokio::test]
async fn a_landlord_user_without_a_number_adds_one_and_two_factor_stays_as_it_was() {
    let app = TestApp::init().await;
    let ada = landlord(&app, TwoFactorMethod::Email, None).await;
    let started = change_mobile(&app, Some(&ada.token), "+44 7700 900333").await;
    let challenge = challenge_of(&started);
    let code = texted_code(&app, "+447700900333").await;
    let done = confirm_mobile(&app, Some(&ada.token), &challenge, &code).await;
    assert_eq!(
        done.data()["confirmMyMobileNumber"]["twoFactorMethod"],
        "EMAIL"
    );
    assert_eq!(
        reload(&app, ada.user.id).await.mobile_number.as_deref(),
        Some("+447700900333")
    );
    let (_, before, after) = audit_entry(&app, ada.user.id, "profile.mobile_changed").await;
    assert_eq!(before.unwrap()["mobile_number"], Value::Null);
    assert_eq!(after.unwrap()["sms_two_factor"], false);
    app.run_pending_jobs().await;
    let emails = app.emails().await;
    assert!(
        emails
            .iter()
            .any(|e| e.to.eq_ignore_ascii_case(&ada.user.email)
                && e.subject.contains("mobile number was changed"))
    );
}

#[tokio::test]
async fn five_wrong_codes_lock_the_change() {
    let app = TestApp::init().await;
    let rose = resident(&app, TwoFactorMethod::None, Some("+447700900111")).await;
    let challenge = challenge_of(&change_mobile(&app, Some(&rose.token), "07700900444").await);
    let code = texted_code(&app, "+447700900444").await;
    for _ in 0..4 {
        let response = confirm_mobile(&app, Some(&rose.token), &challenge, &wrong(&code)).await;
        assert_bad_input(&response, "code");
    }
    let fifth = confirm_mobile(&app, Some(&rose.token), &challenge, &wrong(&code)).await;
    assert_eq!(
        assert_bad_input(&fifth, "challengeToken"),
        "Too many wrong codes were entered. Start again from your profile."
    );
    let right = confirm_mobile(&app, Some(&rose.token), &challenge, &code).await;
    assert!(assert_bad_input(&right, "challengeToken").starts_with("Too many wrong codes"));
    assert_eq!(
        reload(&app, rose.user.id).await.mobile_number.as_deref(),
        Some("+447700900111")
    );
    let actions = audit_actions(&app, rose.user.id).await;
    assert!(actions.contains(&"two_factor.locked".to_owned()));
    assert!(!actions.contains(&"profile.mobile_changed".to_owned()));

    // Starting again works, and the new step closes the old one.
    let again = challenge_of(&change_mobile(&app, Some(&rose.token), "07700900444").await);
    let code = texted_code(&app, "+447700900444").await;
    let newer = challenge_of(&change_mobile(&app, Some(&rose.token), "07700900555").await);
    assert_bad_input(
        &confirm_mobile(&app, Some(&rose.token), &again, &code).await,
        "challengeToken",
    );
    let code = texted_code(&app, "+447700900555").await;
    confirm_mobile(&app, Some(&rose.token), &newer, &code)
        .await
        .data();
    assert_eq!(
        reload(&app, rose.user.id).await.mobile_number.as_deref(),
        Some("+447700900555")
    );
    app.run_pending_jobs().await;
}

#[tokio::test]
async fn only_uk_mobiles_can_receive_the_code_and_they_are_stored_in_e164() {
    let app = TestApp::init().await;
    let rose = resident(&app, TwoFactorMethod::None, Some("+447700900111")).await;

    // Numbers that start with 07 but are not UK mobiles: no text is sent
    // to them (an SMS-pumping route otherwise) and nothing changes.
    for (bad, why) in [
        ("07000 123456", "personal numbers"),
        ("+44 70 1234 5678", "personal numbers"),
        ("07600 123456", "pagers"),
        ("07624 123456", "Isle of Man"),
        ("07700 800123", "Jersey"),
        ("0770 090 012", "11 digits"),
    ] {
        let refused = change_mobile(&app, Some(&rose.token), bad).await;
        assert_bad_input(&refused, "mobileNumber");
        let reasons = ext(&refused, "reasons");
        assert!(
            reasons[0].as_str().unwrap().contains(why),
            "{bad}: {reasons:?}"
        );
    }
    app.run_pending_jobs().await;
    assert!(app.sms().is_empty(), "{:?}", app.sms());
    assert_eq!(
        reload(&app, rose.user.id).await.mobile_number.as_deref(),
        Some("+447700900111")
    );

    // The international form is accepted and stored as E.164.
    let challenge = challenge_of(&change_mobile(&app, Some(&rose.token), "+44 7700 900 321").await);
    let code = texted_code(&app, "+447700900321").await;
    confirm_mobile(&app, Some(&rose.token), &challenge, &code)
        .await
        .data();
    assert_eq!(
        reload(&app, rose.user.id).await.mobile_number.as_deref(),
        Some("+447700900321")
    );
    app.run_pending_jobs().await;
}

#[tokio::test]
async fn bad_numbers_and_other_callers_change_nothing() {
    let app = TestApp::init().await;
    let rose = resident(&app, TwoFactorMethod::Sms, Some("+447700900111")).await;
    let bob = resident(&app, TwoFactorMethod::None, Some("+447700900666")).await;

    for bad in ["not a number", "020 7946 0000", "+33 6 12 34 56 78", ""] {
        assert_bad_input(
            &change_mobile(&app, Some(&rose.token), bad).await,
            "mobileNumber",
        );
    }
    let same = change_mobile(&app, Some(&rose.token), "07700 900111").await;
    assert!(assert_bad_input(&same, "mobileNumber").contains("already your mobile number"));
    // A number another account holds: the same answer as any other, but
    // nothing is sent to it (numbers cannot be probed).
    let taken = change_mobile(&app, Some(&rose.token), "07700 900666").await;
    assert_eq!(
        taken.data()["changeMyMobileNumber"]["maskedMobileNumber"],
        "07*** ***666"
    );
    app.run_pending_jobs().await;
    assert!(app.sms().is_empty(), "{:?}", app.sms());
    assert_eq!(
        reload(&app, rose.user.id).await.mobile_number.as_deref(),
        Some("+447700900111")
    );

    // Someone else's step is answered like an unknown one.
    let challenge = challenge_of(&change_mobile(&app, Some(&rose.token), "07700900777").await);
    let code = texted_code(&app, "+447700900777").await;
    assert_bad_input(
        &confirm_mobile(&app, Some(&bob.token), &challenge, &code).await,
        "challengeToken",
    );
    assert_eq!(
        reload(&app, bob.user.id).await.mobile_number.as_deref(),
        Some("+447700900666")
    );
    // A malformed code is refused before it is checked.
    assert_bad_input(
        &confirm_mobile(&app, Some(&rose.token), &challenge, "12ab").await,
        "code",
    );

    // Staff are refused, and anonymous callers are not signed in.
    let sam = account(&app, UserKind::Staff, None, TwoFactorMethod::Email, None).await;
    let refused = change_mobile(&app, Some(&sam.token), "07700900888").await;
    assert_eq!(refused.error_code(), "FORBIDDEN");
    let refused = confirm_mobile(&app, Some(&sam.token), &challenge, &code).await;
    assert_eq!(refused.error_code(), "FORBIDDEN");
    assert_eq!(reload(&app, sam.user.id).await.mobile_number, None);
    assert_eq!(
        change_mobile(&app, None, "07700900888").await.error_code(),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        confirm_mobile(&app, None, &challenge, &code)
            .await
            .error_code(),
        "UNAUTHENTICATED"
    );
    assert!(
        !audit_actions(&app, rose.user.id)
            .await
            .contains(&"profile.mobile_changed".to_owned())
    );

    // The step still works for its owner.
    confirm_mobile(&app, Some(&rose.token), &challenge, &code)
        .await
        .data();
    assert_eq!(
        reload(&app, rose.user.id).await.mobile_number.as_deref(),
        Some("+447700900777")
    );
    app.run_pending_jobs().await;
}
