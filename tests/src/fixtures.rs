//! Users and sessions for tests, written straight to the database (the
//! sign-in flow itself is tested through the API).

use chrono::Utc;
use sea_orm::{ActiveModelTrait, Set};
use uuid::Uuid;

use entities::{StaffRole, TwoFactorMethod, UserKind, UserStatus, user};

use crate::TestApp;

/// A user created for a test, with a live session token.
pub struct TestUser {
    /// The user row.
    pub user: user::Model,
    /// A bearer token for that user.
    pub token: String,
}

impl TestApp {
    /// Creates an active user of the given kind, with a session.
    pub async fn create_user(
        &self,
        kind: UserKind,
        staff_role: Option<StaffRole>,
        organisation_id: Option<Uuid>,
    ) -> TestUser {
        let id = Uuid::now_v7();
        let email = format!("user-{}@example.test", id.simple());
        let now = Utc::now();
        let user = user::ActiveModel {
            id: Set(id),
            kind: Set(kind),
            organisation_id: Set(organisation_id),
            first_name: Set("Test".into()),
            last_name: Set(format!("{kind:?}")),
            email: Set(email.clone()),
            email_normalized: Set(email.to_lowercase()),
            password_hash: Set(None),
            status: Set(UserStatus::Active),
            mobile_number: Set(None),
            mobile_reset_pending: Set(false),
            two_factor_method: Set(TwoFactorMethod::None),
            address: Set(None),
            staff_team: Set(None),
            staff_role: Set(staff_role),
            failed_login_attempts: Set(0),
            locked_until: Set(None),
            last_login_at: Set(Some(now)),
            invited_at: Set(None),
            password_changed_at: Set(None),
            inactivity_warned_at: Set(None),
            deactivated_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(self.db())
        .await
        .expect("insert user");
        let client = api::auth::ClientInfo {
            ip: Some("127.0.0.1".into()),
            user_agent: Some("tests".into()),
            request_id: "test".into(),
        };
        let token = api::auth::session::create(self.db(), user.id, &client)
            .await
            .expect("session");
        TestUser { user, token }
    }

    /// A staff member with the service administrator role (an operator).
    pub async fn service_admin(&self) -> TestUser {
        self.create_user(UserKind::Staff, Some(StaffRole::ServiceAdmin), None)
            .await
    }

    /// A caseworker.
    pub async fn caseworker(&self) -> TestUser {
        self.create_user(UserKind::Staff, Some(StaffRole::Caseworker), None)
            .await
    }

    /// A resident.
    pub async fn resident(&self) -> TestUser {
        self.create_user(UserKind::Resident, None, None).await
    }
}
