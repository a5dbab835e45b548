//! Cases, parties, tasks and messages for tests, written straight to the
//! database (for tests of what happens around casework — live updates, daily
//! reminders — rather than of the casework API itself).

use chrono::{NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, Set};
use uuid::Uuid;

use entities::{PartyKind, TaskStatus, case, case_party, message, task};

use crate::TestApp;

/// Who a task is for.
#[derive(Debug, Clone, Copy)]
pub enum Assignee {
    /// A resident.
    Resident(Uuid),
    /// A landlord organisation.
    Organisation(Uuid),
}

impl TestApp {
    /// An open case with `reference`, the resident `resident` and the landlord
    /// organisation `landlord` as parties, owned by `owner`.
    pub async fn create_case(
        &self,
        reference: &str,
        resident: Option<Uuid>,
        landlord: Option<Uuid>,
        owner: Option<Uuid>,
    ) -> case::Model {
        let now = Utc::now();
        let case = case::ActiveModel {
            id: Set(Uuid::now_v7()),
            reference: Set(reference.to_owned()),
            case_type: Set("Complaint about a member landlord".into()),
            stage: Set("DR2 Review".into()),
            status_label: Set("Case under assessment".into()),
            category: Set("Asbestos".into()),
            landlord_organisation_id: Set(landlord),
            owner_user_id: Set(owner),
            closed_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            status_label_before_close: Set(None),
        }
        .insert(self.db())
        .await
        .expect("insert case");
        let parties = [
            resident.map(|id| (PartyKind::Resident, Some(id), None)),
            landlord.map(|id| (PartyKind::Landlord, None, Some(id))),
        ];
        for (kind, user_id, organisation_id) in parties.into_iter().flatten() {
            case_party::ActiveModel {
                id: Set(Uuid::now_v7()),
                case_id: Set(case.id),
                party_kind: Set(kind),
                user_id: Set(user_id),
                organisation_id: Set(organisation_id),
                created_at: Set(now),
            }
            .insert(self.db())
            .await
            .expect("insert party");
        }
        case
    }

    /// A `PENDING` task on `case_id` due on `due`.
    pub async fn create_task(
        &self,
        case_id: Uuid,
        title: &str,
        due: NaiveDate,
        assignee: Assignee,
    ) -> task::Model {
        let now = Utc::now();
        let (kind, user, org) = match assignee {
            Assignee::Resident(id) => (PartyKind::Resident, Some(id), None),
            Assignee::Organisation(id) => (PartyKind::Landlord, None, Some(id)),
        };
        task::ActiveModel {
            id: Set(Uuid::now_v7()),
            case_id: Set(case_id),
            title: Set(title.to_owned()),
            description: Set(None),
            due_date: Set(due),
            status: Set(TaskStatus::Pending),
            assignee_kind: Set(kind),
            assignee_user_id: Set(user),
            assignee_organisation_id: Set(org),
            source_message_id: Set(None),
            unable_reason: Set(None),
            completed_at: Set(None),
            completed_by_user_id: Set(None),
            reviewed_at: Set(None),
            reviewed_by_user_id: Set(None),
            due_soon_reminded_at: Set(None),
            overdue_reminded_at: Set(None),
            created_by_user_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(self.db())
        .await
        .expect("insert task")
    }

    /// A staff message on `case_id` from `sender`, to every party.
    pub async fn create_message(&self, case_id: Uuid, sender: Uuid, body: &str) -> message::Model {
        self.create_message_to(case_id, sender, body, true, true)
            .await
    }

    /// A staff message on `case_id` from `sender`, to the resident parties
    /// (`to_resident`) and the landlord (`to_landlord`).
    pub async fn create_message_to(
        &self,
        case_id: Uuid,
        sender: Uuid,
        body: &str,
        to_resident: bool,
        to_landlord: bool,
    ) -> message::Model {
        message::ActiveModel {
            id: Set(Uuid::now_v7()),
            case_id: Set(case_id),
            sender_user_id: Set(sender),
            parent_message_id: Set(None),
            replying_party_id: Set(None),
            subject: Set(Some("About your case".into())),
            body: Set(body.to_owned()),
            created_at: Set(Utc::now()),
            to_resident: Set(to_resident),
            to_landlord: Set(to_landlord),
        }
        .insert(self.db())
        .await
        .expect("insert message")
    }
}
