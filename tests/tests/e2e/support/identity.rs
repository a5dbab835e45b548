//! What the identity tests (`login`, `two_factor`, `passwords`, `sessions`,
//! `profile`, `rate_limits`) share: accounts with a password and a
//! two-factor method, the sign-in operations, reading codes and links back
//! from the email and SMS the user would get, and snapshot filters.

use std::net::SocketAddr;

use axum::{
    body::Body,
    extract::ConnectInfo,
    http::{Request, header},
};
use chrono::Utc;
use entities::{TwoFactorMethod, UserKind, UserStatus, organisation, user};
use portal_tests::{TestApp, TestResponse, fixtures::TestUser};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use serde_json::{Value, json};
use tokio::sync::OnceCell;
use uuid::Uuid;

/// The password of every account made here (meets the policy).
pub const PASSWORD: &str = "Sturdy-Password-2026";

static HASH: OnceCell<String> = OnceCell::const_new();

/// The argon2 hash of [`PASSWORD`], made once per test binary.
pub async fn password_hash() -> String {
    HASH.get_or_init(|| async {
        api::auth::password::hash(PASSWORD.to_owned())
            .await
            .expect("hash")
    })
    .await
    .clone()
}

/// A landlord organisation; `requires_two_factor` as given.
pub async fn organisation(app: &TestApp, requires_two_factor: bool) -> organisation::Model {
    let now = Utc::now();
    organisation::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set("Northside Housing".into()),
        address: Set("1 High Street, Northtown NT1 1AA".into()),
        requires_two_factor: Set(requires_two_factor),
        two_factor_methods: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(app.db())
    .await
    .expect("insert organisation")
}

/// Changes a user row in place.
pub async fn update_user(
    app: &TestApp,
    id: Uuid,
    change: impl FnOnce(&mut user::ActiveModel),
) -> user::Model {
    let mut row = user::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    change(&mut row);
    row.update(app.db()).await.expect("update user")
}

/// The user row as it is now.
pub async fn reload(app: &TestApp, id: Uuid) -> user::Model {
    user::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
}

/// An active user of `kind` with [`PASSWORD`], a two-factor method and
/// optionally a mobile number, in `org` (landlords). The returned token is a
/// session made by the fixture, not by signing in.
pub async fn account(
    app: &TestApp,
    kind: UserKind,
    org: Option<&organisation::Model>,
    method: TwoFactorMethod,
    mobile: Option<&str>,
) -> TestUser {
    let staff_role = (kind == UserKind::Staff).then_some(entities::StaffRole::Caseworker);
    let created = app.create_user(kind, staff_role, org.map(|o| o.id)).await;
    let hash = password_hash().await;
    let mobile = mobile.map(str::to_owned);
    let user = update_user(app, created.user.id, move |u| {
        u.password_hash = Set(Some(hash));
        u.two_factor_method = Set(method);
        u.mobile_number = Set(mobile);
        u.last_login_at = Set(None);
    })
    .await;
    TestUser {
        user,
        token: created.token,
    }
}

/// A landlord user of a new organisation that does not require two-factor.
pub async fn landlord(app: &TestApp, method: TwoFactorMethod, mobile: Option<&str>) -> TestUser {
    let org = organisation(app, false).await;
    account(app, UserKind::Landlord, Some(&org), method, mobile).await
}

/// Sets a user's status (suspend, restrict, deactivate).
pub async fn set_status(app: &TestApp, id: Uuid, status: UserStatus) {
    update_user(app, id, |u| u.status = Set(status)).await;
}

/// Everything a client asks of a sign-in step.
pub const LOGIN_RESULT: &str = "__typename \
    ... on SignedIn { token twoFactorSetup user { id email twoFactorMethod } } \
    ... on TwoFactorRequired { challengeToken channel maskedDestination codeSent resendAvailableInSeconds expiresAt } \
    ... on MobileNumberRequired { challengeToken expiresAt }";

/// `login`.
pub async fn login(app: &TestApp, email: &str, password: &str) -> TestResponse {
    app.graphql(
        None,
        &format!("mutation($input: LoginInput!) {{ login(input: $input) {{ {LOGIN_RESULT} }} }}"),
        json!({ "input": { "email": email, "password": password } }),
    )
    .await
}

/// `login`, asserting it answered and returning the result object.
pub async fn login_ok(app: &TestApp, email: &str, password: &str) -> Value {
    login(app, email, password).await.data()["login"].clone()
}

/// Signs in with no second step and returns the session token.
pub async fn sign_in(app: &TestApp, email: &str) -> String {
    let result = login_ok(app, email, PASSWORD).await;
    assert_eq!(result["__typename"], "SignedIn", "{result:#}");
    result["token"].as_str().unwrap().to_owned()
}

/// `verifyTwoFactor`.
pub async fn verify(app: &TestApp, challenge: &str, code: &str) -> TestResponse {
    app.graphql(
        None,
        &format!(
            "mutation($t: String!, $c: String!) {{ verifyTwoFactor(challengeToken: $t, code: $c) {{ {LOGIN_RESULT} }} }}"
        ),
        json!({ "t": challenge, "c": code }),
    )
    .await
}

/// `resendTwoFactorCode`.
pub async fn resend(app: &TestApp, challenge: &str) -> TestResponse {
    app.graphql(
        None,
        "mutation($t: String!) { resendTwoFactorCode(challengeToken: $t) { challengeToken channel maskedDestination codeSent } }",
        json!({ "t": challenge }),
    )
    .await
}

/// A value of the first error's `extensions`.
pub fn ext(response: &TestResponse, key: &str) -> Value {
    response.body["errors"][0]["extensions"][key].clone()
}

/// The first error's message.
pub fn message(response: &TestResponse) -> String {
    response.body["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Asserts one `BAD_USER_INPUT` on `field` and returns its message.
pub fn assert_bad_input(response: &TestResponse, field: &str) -> String {
    assert_eq!(
        response.error_code(),
        "BAD_USER_INPUT",
        "{:#}",
        response.body
    );
    assert_eq!(ext(response, "field"), json!(field), "{:#}", response.body);
    message(response)
}

/// The first 6-digit number standing alone in a text (the code).
pub fn code_in(text: &str) -> String {
    find_code(text).unwrap_or_else(|| panic!("no 6-digit code in {text:?}"))
}

/// The first 6-digit number standing alone in a text, if any.
pub fn find_code(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let alone = |b: Option<&u8>| !b.is_some_and(u8::is_ascii_alphanumeric);
    (0..bytes.len().saturating_sub(5))
        .find(|&i| {
            bytes[i..i + 6].iter().all(u8::is_ascii_digit)
                && alone(i.checked_sub(1).and_then(|j| bytes.get(j)))
                && alone(bytes.get(i + 6))
        })
        .map(|i| text[i..i + 6].to_owned())
}

/// Runs the pending jobs and returns the code in the newest email to `to`.
pub async fn emailed_code(app: &TestApp, to: &str) -> String {
    app.run_pending_jobs().await;
    let emails = app.emails().await;
    let email = emails
        .iter()
        .rev()
        // The newest that carries a code: a notice sent in the same batch
        // of jobs (say, "two-factor was changed") may be newer.
        .find(|e| e.to.eq_ignore_ascii_case(to) && find_code(&e.text).is_some())
        .unwrap_or_else(|| panic!("no email with a code to {to}: {emails:#?}"));
    code_in(&email.text)
}

/// Runs the pending jobs and returns the code in the newest SMS to `to`.
pub async fn texted_code(app: &TestApp, to: &str) -> String {
    app.run_pending_jobs().await;
    let sms = app.sms();
    let (_, body) = sms
        .iter()
        .rev()
        .find(|(number, _)| number == to)
        .unwrap_or_else(|| panic!("no SMS to {to}: {sms:#?}"));
    code_in(body)
}

/// The `token=` of the newest link emailed to `to`.
pub async fn emailed_token(app: &TestApp, to: &str) -> String {
    app.run_pending_jobs().await;
    let emails = app.emails().await;
    let email = emails
        .iter()
        .rev()
        .find(|e| e.to.eq_ignore_ascii_case(to))
        .unwrap_or_else(|| panic!("no email to {to}: {emails:#?}"));
    let start = email.text.find("token=").expect("a link") + "token=".len();
    email.text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '%' | '.' | '~'))
        .collect()
}

/// Sends a GraphQL body as if from the client address `ip` (the real server
/// takes it from the TCP peer).
pub async fn graphql_from(
    app: &TestApp,
    ip: &str,
    token: Option<&str>,
    body: Value,
) -> TestResponse {
    let mut request = Request::post("/graphql").header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let mut request = request
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap();
    let peer: SocketAddr = format!("{ip}:40000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    app.send(request).await
}

/// A random private address, so parallel tests never share a counter.
pub fn random_ip() -> String {
    let b = Uuid::new_v4().into_bytes();
    format!("10.{}.{}.{}", b[0], b[1], b[2])
}

/// Insta filters for emails and texts: this test's host, generated email
/// addresses, codes, link tokens and times.
pub fn filters(app: &TestApp) -> Vec<(String, String)> {
    vec![
        (app.host.replace('.', r"\."), "[host]".into()),
        (r"user-[0-9a-f]{32}@".into(), "user-[id]@".into()),
        // In YAML text the code follows a literal `\n`, where `\b` sees no boundary.
        (r"(\\n|\b)\d{6}\b".into(), "${1}[code]".into()),
        (r"pl_[A-Za-z0-9_-]{43}".into(), "[token]".into()),
        (
            r"(\d{1,2}(:\d{2})?(am|pm)|midday) on \d{1,2} [A-Z][a-z]+ \d{4} \(UK time\)".into(),
            "[time]".into(),
        ),
        (
            r"midnight at the start of \d{1,2} [A-Z][a-z]+ \d{4} \(UK time\)".into(),
            "[time]".into(),
        ),
    ]
}

/// Snapshots the newest email to `to` under `name`, with [`filters`].
///
/// Insta would put the file beside this module (`support/snapshots/`) and
/// prefix it with the module path; these snapshots live with the others in
/// `e2e/snapshots/`, named after what they show alone, whichever area's
/// test takes them (the same for [`snapshot_sms`]).
pub async fn snapshot_email(app: &TestApp, name: &str, to: &str) {
    let emails = app.emails().await;
    let email = emails
        .iter()
        .rev()
        .find(|e| e.to.eq_ignore_ascii_case(to))
        .unwrap_or_else(|| panic!("no email to {to}"))
        .clone();
    let filters = filters(app);
    let filters: Vec<(&str, &str)> = filters
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    insta::with_settings!({ filters => filters, prepend_module_to_snapshot => false, snapshot_path => "../snapshots" }, {
        insta::assert_yaml_snapshot!(name, email);
    });
}

/// Snapshots the newest SMS to `to` under `name`, with [`filters`].
pub fn snapshot_sms(app: &TestApp, name: &str, to: &str) {
    let sms = app.sms();
    let (number, body) = sms
        .iter()
        .rev()
        .find(|(number, _)| number == to)
        .unwrap_or_else(|| panic!("no SMS to {to}"))
        .clone();
    let filters = filters(app);
    let filters: Vec<(&str, &str)> = filters
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    insta::with_settings!({ filters => filters, prepend_module_to_snapshot => false, snapshot_path => "../snapshots" }, {
        insta::assert_snapshot!(name, format!("to: {number}\n{body}"));
    });
}

/// The audit actions recorded about `user_id`, oldest first.
pub async fn audit_actions(app: &TestApp, user_id: Uuid) -> Vec<String> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
    entities::audit_log::Entity::find()
        .filter(entities::audit_log::Column::TargetId.eq(user_id))
        .order_by_asc(entities::audit_log::Column::Id)
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}
