//! Staff management by service administrators: invite caseworkers and
//! service administrators (the same 24-hour invitation as landlord users),
//! list them, change team, role label and role, suspend, reinstate,
//! deactivate; nobody else may, nobody changes their own account, and the
//! last active service administrator cannot be removed.

use entities::{StaffRole, UserStatus, user};
use portal_tests::TestApp;
use portal_tests::gid;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::support::identity::{assert_bad_input, audit_actions, emailed_token, snapshot_email};

const MEMBER: &str = "id firstName lastName email role team roleLabel status invitationPending";

const INVITE: &str = "mutation($input: InviteStaffMemberInput!) { inviteStaffMember(input: $input) { id firstName lastName email role team roleLabel status invitationPending } }";

fn invite_input(email: &str) -> Value {
    json!({
        "firstName": "Christopher",
        "lastName": "Harrison",
        "email": email,
        "role": "CASEWORKER",
        "team": "Management",
        "roleLabel": "Case Handler",
    })
}

async fn staff_count(app: &TestApp) -> u64 {
    user::Entity::find().count(app.db()).await.unwrap()
}

async fn change(
    app: &TestApp,
    token: &str,
    mutation: &str,
    id: &str,
) -> portal_tests::TestResponse {
    app.graphql(
        Some(token),
        &format!("mutation($id: ID!) {{ {mutation}(id: $id) {{ {MEMBER} }} }}"),
        json!({ "id": id }),
    )
    .await
}

#[tokio::test]
async fn a_service_admin_invites_a_caseworker_who_sets_a_password_and_owns_cases() {
    let app = TestApp::builder()
        .env("PORTAL_STAFF_EMAIL_DOMAINS", "ombudsman.example")
        .build()
        .await;
    let admin = app.service_admin().await;
    let invited = app
        .graphql(
            Some(&admin.token),
            INVITE,
            json!({ "input": invite_input("c.harrison@ombudsman.example") }),
        )
        .await;
    assert!(invited.error_codes().is_empty(), "{:?}", invited.body);
    let member = &invited.data()["inviteStaffMember"];
    assert_eq!(member["role"], "CASEWORKER");
    assert_eq!(member["team"], "Management");
    assert_eq!(member["roleLabel"], "Case Handler");
    assert_eq!(member["invitationPending"], true);
    let id = member["id"].as_str().unwrap().to_owned();
    app.run_pending_jobs().await;
    snapshot_email(
        &app,
        "staff_invitation_email",
        "c.harrison@ombudsman.example",
    )
    .await;

    let token = emailed_token(&app, "c.harrison@ombudsman.example").await;
    let accepted = app
        .graphql(
            None,
            "mutation($t: String!, $p: String!) { acceptInvitation(token: $t, newPassword: $p, confirmation: $p) { __typename } }",
            json!({ "t": token, "p": "A long and unusual passphrase 42!" }),
        )
        .await;
    assert!(accepted.error_codes().is_empty(), "{:?}", accepted.body);

    // The list shows them; as a case owner they show team and role label.
    let list = app
        .graphql(
            Some(&admin.token),
            &format!("{{ staffMembers {{ edges {{ node {{ {MEMBER} }} }} }} }}"),
            json!({}),
        )
        .await;
    let emails: Vec<&str> = list.data()["staffMembers"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["email"].as_str().unwrap())
        .collect();
    assert!(
        emails.contains(&"c.harrison@ombudsman.example"),
        "{emails:?}"
    );
    let case = app
        .create_case(
            "HOS-2026-000123",
            None,
            None,
            Some(portal_tests::uuid_of(&id)),
        )
        .await;
    let owner = app
        .graphql(
            Some(&admin.token),
            "query($id: ID!) { case(id: $id) { owner { name team roleLabel role } } }",
            json!({ "id": gid("Case", case.id) }),
        )
        .await;
    assert_eq!(
        owner.data()["case"]["owner"],
        json!({ "name": "Christopher Harrison", "team": "Management", "roleLabel": "Case Handler", "role": "CASEWORKER" })
    );

    // Change team and role label; clear the label.
    let updated = app
        .graphql(
            Some(&admin.token),
            &format!("mutation($id: ID!) {{ updateStaffMember(id: $id, input: {{ team: \"Resolution\", roleLabel: null }}) {{ {MEMBER} }} }}"),
            json!({ "id": id }),
        )
        .await;
    assert!(updated.error_codes().is_empty(), "{:?}", updated.body);
    assert_eq!(updated.data()["updateStaffMember"]["team"], "Resolution");
    assert_eq!(
        updated.data()["updateStaffMember"]["roleLabel"],
        Value::Null
    );
    assert_eq!(updated.data()["updateStaffMember"]["role"], "CASEWORKER");
    let actions = audit_actions(&app, portal_tests::uuid_of(&id)).await;
    assert_eq!(
        actions.first().map(String::as_str),
        Some("staff.invite"),
        "{actions:?}"
    );
    assert_eq!(
        actions.last().map(String::as_str),
        Some("staff.update"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn only_service_admins_manage_staff() {
    let app = TestApp::init().await;
    let caseworker = app.caseworker().await;
    let resident = app.resident().await;
    let target = app.caseworker().await;
    let id = gid("User", target.user.id);
    for token in [&caseworker.token, &resident.token] {
        let refused = app
            .graphql(
                Some(token),
                INVITE,
                json!({ "input": invite_input("someone@ombudsman.example") }),
            )
            .await;
        assert_eq!(refused.error_codes(), ["FORBIDDEN"], "{:?}", refused.body);
        let refused = change(&app, token, "suspendStaffMember", &id).await;
        assert_eq!(refused.error_codes(), ["FORBIDDEN"], "{:?}", refused.body);
        let list = app
            .graphql(
                Some(token),
                "{ staffMembers { edges { node { id } } } }",
                json!({}),
            )
            .await;
        assert_eq!(list.error_codes(), ["FORBIDDEN"], "{:?}", list.body);
    }
    let anonymous = app
        .graphql(
            None,
            "{ staffMembers { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(anonymous.error_codes(), ["UNAUTHENTICATED"]);
    assert_eq!(
        user::Entity::find_by_id(target.user.id)
            .one(app.db())
            .await
            .unwrap()
            .unwrap()
            .status,
        UserStatus::Active
    );
}

#[tokio::test]
async fn bad_invitations_change_nothing() {
    let app = TestApp::builder()
        .env("PORTAL_STAFF_EMAIL_DOMAINS", "ombudsman.example")
        .build()
        .await;
    let admin = app.service_admin().await;
    let before = staff_count(&app).await;

    // A foreign domain.
    let foreign = app
        .graphql(
            Some(&admin.token),
            INVITE,
            json!({ "input": invite_input("someone@gmail.example") }),
        )
        .await;
    let message = assert_bad_input(&foreign, "input.email");
    assert!(message.contains("@ombudsman.example"), "{message}");
    // An address already live.
    let again = app
        .graphql(
            Some(&admin.token),
            INVITE,
            json!({ "input": invite_input("twice@ombudsman.example") }),
        )
        .await;
    assert!(again.error_codes().is_empty(), "{:?}", again.body);
    let twice = app
        .graphql(
            Some(&admin.token),
            INVITE,
            json!({ "input": invite_input("TWICE@ombudsman.example") }),
        )
        .await;
    assert_bad_input(&twice, "input.email");
    // Blank names and an overlong label, all reported at once.
    let blank = app
        .graphql(
            Some(&admin.token),
            INVITE,
            json!({ "input": {
                "firstName": " ",
                "lastName": "",
                "email": "new@ombudsman.example",
                "role": "SERVICE_ADMIN",
                "roleLabel": "x".repeat(101),
            } }),
        )
        .await;
    let mut fields: Vec<&str> = blank.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["extensions"]["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        ["input.firstName", "input.lastName", "input.roleLabel"]
    );
    assert_eq!(
        staff_count(&app).await,
        before + 1,
        "only the first \"twice\""
    );
    app.run_pending_jobs().await;
}

#[tokio::test]
async fn suspend_reinstate_deactivate_and_the_last_service_admin() {
    let app = TestApp::init().await;
    let admin = app.service_admin().await;
    let other_admin = app.service_admin().await;
    let caseworker = app.caseworker().await;
    let id = gid("User", caseworker.user.id);

    let suspended = change(&app, &admin.token, "suspendStaffMember", &id).await;
    assert_eq!(
        suspended.data()["suspendStaffMember"]["status"],
        "SUSPENDED"
    );
    let signed_out = app
        .graphql(Some(&caseworker.token), "{ viewer { id } }", json!({}))
        .await;
    assert_eq!(
        signed_out.data()["viewer"],
        Value::Null,
        "their sessions ended"
    );
    let twice = change(&app, &admin.token, "suspendStaffMember", &id).await;
    assert_eq!(twice.error_codes(), ["CONFLICT"]);
    let reinstated = change(&app, &admin.token, "reinstateStaffMember", &id).await;
    assert_eq!(
        reinstated.data()["reinstateStaffMember"]["status"],
        "ACTIVE"
    );
    let not_suspended = change(&app, &admin.token, "reinstateStaffMember", &id).await;
    assert_eq!(not_suspended.error_codes(), ["CONFLICT"]);
    let deactivated = change(&app, &admin.token, "deactivateStaffMember", &id).await;
    assert_eq!(
        deactivated.data()["deactivateStaffMember"]["status"],
        "DEACTIVATED"
    );
    let gone = change(&app, &admin.token, "reinstateStaffMember", &id).await;
    assert_eq!(gone.error_codes(), ["NOT_FOUND"]);
    assert_eq!(
        audit_actions(&app, caseworker.user.id).await,
        ["staff.suspend", "staff.reinstate", "staff.deactivate"]
    );

    // Nobody changes their own account.
    let own = change(
        &app,
        &admin.token,
        "suspendStaffMember",
        &gid("User", admin.user.id),
    )
    .await;
    assert_bad_input(&own, "id");

    // Two service administrators demoting each other at the same moment:
    // one wins, the other is refused, and one service administrator is left.
    let demote = |token: String, target: String| {
        let app = &app;
        async move {
            app.graphql(
                Some(&token),
                &format!("mutation($id: ID!) {{ updateStaffMember(id: $id, input: {{ role: CASEWORKER }}) {{ {MEMBER} }} }}"),
                json!({ "id": target }),
            )
            .await
        }
    };
    let (a, b) = tokio::join!(
        demote(admin.token.clone(), gid("User", other_admin.user.id)),
        demote(other_admin.token.clone(), gid("User", admin.user.id)),
    );
    let mut codes = [a.error_codes(), b.error_codes()];
    codes.sort();
    // The loser is refused by the last-administrator rule, or, when the
    // winner committed before the loser's request was authenticated, because
    // they are no longer a service administrator.
    assert!(codes[0].is_empty(), "{:?} {:?}", a.body, b.body);
    assert!(
        codes[1] == ["CONFLICT"] || codes[1] == ["FORBIDDEN"],
        "{:?} {:?}",
        a.body,
        b.body
    );
    let admins = user::Entity::find()
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .filter(|u| u.staff_role == Some(StaffRole::ServiceAdmin))
        .count();
    assert_eq!(admins, 1);
    app.run_pending_jobs().await;
}
