//! A user's recent deliveries, for the people who support them: the answer
//! to "I never got the email" (was it sent, when, did the provider deliver
//! it, why not?).
//!
//! Who may ask is [`crate::policy::users`]'s rule for
//! [`UserAction::ViewDeliveries`]. What is shown is the delivery record
//! without its contents: the parameters hold one-time links and codes, and
//! the destination is masked ([`mask_destination`]), since the person asking
//! already knows whose account it is and only needs to see which address or
//! number was used.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use entities::notification_delivery;

use crate::{
    app::App,
    error::ApiResult,
    policy::{Allowed, users::Manager, users::UserAction},
    users::accounts::require,
};

/// The most deliveries one request may ask for.
pub const MAX_DELIVERIES: u64 = 50;

/// The `limit` most recent deliveries to the user `user_id`, newest first.
/// `NOT_FOUND` when the manager cannot see that user.
pub async fn recent_for_user(
    app: &App,
    manager: &Allowed<Manager>,
    user_id: Uuid,
    limit: u64,
) -> ApiResult<Vec<notification_delivery::Model>> {
    require(manager, UserAction::ViewDeliveries)?;
    let user = manager.visible(&app.db, user_id).await?;
    Ok(notification_delivery::Entity::find()
        .filter(notification_delivery::Column::UserId.eq(user.id))
        // Uuid v7 ids break ties between deliveries of the same instant.
        .order_by_desc(notification_delivery::Column::CreatedAt)
        .order_by_desc(notification_delivery::Column::Id)
        .limit(limit.clamp(1, MAX_DELIVERIES))
        .all(&app.db)
        .await?)
}

/// An address or number with most of it hidden: `p•••@northside.example`
/// (the first letter and the domain), `+44•••••••123` (the country code
/// and the last three digits).
pub fn mask_destination(destination: &str) -> String {
    const HIDDEN: char = '•';
    if let Some((local, domain)) = destination.rsplit_once('@') {
        let first: String = local.chars().take(1).collect();
        return format!("{first}{}@{domain}", HIDDEN.to_string().repeat(3));
    }
    let chars: Vec<char> = destination.chars().collect();
    let keep_start = if destination.starts_with("+44") { 3 } else { 1 };
    if chars.len() <= keep_start + 3 {
        return HIDDEN.to_string().repeat(chars.len());
    }
    let hidden = chars.len() - keep_start - 3;
    format!(
        "{}{}{}",
        chars[..keep_start].iter().collect::<String>(),
        HIDDEN.to_string().repeat(hidden),
        chars[chars.len() - 3..].iter().collect::<String>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_masked() {
        assert_eq!(
            mask_destination("priya.shah@northside.example"),
            "p•••@northside.example"
        );
        assert_eq!(mask_destination("+447700900123"), "+44•••••••123");
        assert_eq!(mask_destination("123"), "•••");
        assert_eq!(mask_destination("@x"), "•••@x");
    }
}
