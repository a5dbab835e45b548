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
            totp_secret: Set(None),
            totp_last_step: Set(None),
            two_factor_declined_at: Set(None),
            address: Set(None),
            staff_team: Set(None),
            staff_role: Set(staff_role),
            staff_role_label: Set(None),
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
        let token = api::auth::session::create(self.db(), user.id, &client, false)
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

/// The password of users made by [`TestApp::landlord_user`].
pub const PASSWORD: &str = "Fixture-Password-2026";

/// The hash of [`PASSWORD`], computed once per test binary (argon2 is slow
/// on purpose).
static PASSWORD_HASH: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

impl TestApp {
    /// Creates a landlord organisation with these email domains; returns its id.
    pub async fn create_organisation(&self, domains: &[&str], requires_two_factor: bool) -> Uuid {
        use entities::{organisation, organisation_domain};
        let now = Utc::now();
        let id = Uuid::now_v7();
        organisation::ActiveModel {
            id: Set(id),
            name: Set("Test Housing Association".into()),
            address: Set("1 Test Street, Testtown TE1 1ST".into()),
            requires_two_factor: Set(requires_two_factor),
            two_factor_methods: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(self.db())
        .await
        .expect("insert organisation");
        for domain in domains {
            organisation_domain::ActiveModel {
                id: Set(Uuid::now_v7()),
                organisation_id: Set(id),
                domain: Set(domain.to_lowercase()),
                created_at: Set(now),
            }
            .insert(self.db())
            .await
            .expect("insert domain");
        }
        id
    }

    /// Creates an active landlord user of `organisation_id` with
    /// `permissions`, the password [`PASSWORD`], an email address at the
    /// organisation's first domain (if it has one) and a session.
    pub async fn landlord_user(
        &self,
        organisation_id: Uuid,
        permissions: &[entities::Permission],
    ) -> TestUser {
        use entities::{organisation_domain, user_permission};
        use sea_orm::{ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder};
        let created = self
            .create_user(UserKind::Landlord, None, Some(organisation_id))
            .await;
        let hash = PASSWORD_HASH
            .get_or_init(|| async {
                api::auth::password::hash(PASSWORD.to_owned())
                    .await
                    .expect("hash password")
            })
            .await;
        let domain = organisation_domain::Entity::find()
            .filter(organisation_domain::Column::OrganisationId.eq(organisation_id))
            .order_by_asc(organisation_domain::Column::Id)
            .one(self.db())
            .await
            .expect("domains");
        let mut user = created.user.into_active_model();
        user.password_hash = Set(Some(hash.clone()));
        if let Some(domain) = domain {
            let email = format!("user-{}@{}", Uuid::now_v7().simple(), domain.domain);
            user.email_normalized = Set(email.clone());
            user.email = Set(email);
        }
        let user = user.update(self.db()).await.expect("update user");
        for permission in permissions {
            user_permission::ActiveModel {
                user_id: Set(user.id),
                permission: Set(*permission),
                created_at: Set(Utc::now()),
            }
            .insert(self.db())
            .await
            .expect("insert permission");
        }
        TestUser {
            user,
            token: created.token,
        }
    }
}
