//! Landlord organisations: staff create them with their email domains and
//! lead administrator, and change their domains; staff list them; a landlord
//! user reads their own.
//!
//! Decisions where the seeds are silent:
//! - A domain belongs to one organisation. Otherwise one organisation's
//!   administrators could invite people at another's domain, and the domain
//!   check would mean nothing. (A concurrent registration of the same domain
//!   by two staff members is not prevented by the database; it is a rare,
//!   staff-only race, and the second would show up in the list.)
//! - Domains are matched exactly: `example.org` does not admit
//!   `hr.example.org`; register both if both are used.
//! - Removing a domain leaves its existing users working (the domain is
//!   checked only when someone is invited).

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set,
    sea_query::{Expr, Query},
};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use entities::{Permission, TwoFactorMethod, organisation, organisation_domain, session, user};

use super::{
    ManagedUser, Rejection,
    accounts::{Person, check_email_usable, create_invited, domains_of},
    validate::{self, FieldErrors},
};
use crate::{
    app::App,
    audit::{self, Entry},
    error::{ApiError, ApiResult},
    policy::{Allowed, Staff},
};

/// `target_type` of audit entries about organisations.
pub const AUDIT_TARGET: &str = "organisation";

/// An organisation with its email domains.
#[derive(Debug, Clone, Serialize)]
pub struct OrganisationWithDomains {
    /// The organisation.
    #[serde(flatten)]
    pub organisation: organisation::Model,
    /// Its email domains, in the order they were registered.
    pub domains: Vec<String>,
}

/// What staff type to create an organisation.
#[derive(Debug, Clone)]
pub struct NewOrganisation {
    /// Name.
    pub name: String,
    /// Postal address.
    pub address: String,
    /// Email domains users may be invited from.
    pub domains: Vec<String>,
    /// Whether every user must use two-factor sign-in.
    pub requires_two_factor: bool,
    /// The lead administrator's first name.
    pub lead_first_name: String,
    /// The lead administrator's last name.
    pub lead_last_name: String,
    /// The lead administrator's email, at one of `domains`.
    pub lead_email: String,
}

/// Records on `field` the domains already registered to another organisation.
async fn check_domains_free(
    conn: &impl ConnectionTrait,
    errors: &mut FieldErrors,
    field: &str,
    domains: &[String],
    own: Option<Uuid>,
) -> ApiResult<()> {
    let mut query = organisation_domain::Entity::find()
        .filter(organisation_domain::Column::Domain.is_in(domains.iter().cloned()));
    if let Some(own) = own {
        query = query.filter(organisation_domain::Column::OrganisationId.ne(own));
    }
    let mut taken: Vec<String> = query
        .all(conn)
        .await?
        .into_iter()
        .map(|d| d.domain)
        .collect();
    taken.sort();
    taken.dedup();
    errors.add(
        field,
        taken
            .into_iter()
            .map(|d| format!("{d} is already registered to another organisation."))
            .collect(),
    );
    Ok(())
}

async fn insert_domains(
    conn: &impl ConnectionTrait,
    org: Uuid,
    domains: &[String],
) -> ApiResult<()> {
    if domains.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    organisation_domain::Entity::insert_many(domains.iter().map(|d| {
        organisation_domain::ActiveModel {
            id: Set(Uuid::now_v7()),
            organisation_id: Set(org),
            domain: Set(d.clone()),
            created_at: Set(now),
        }
    }))
    .exec(conn)
    .await
    .map_err(|e| match e.sql_err() {
        // Lost a race with another registration of the same domain: the
        // unique index on `organisation_domains.domain` refused it.
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => ApiError::bad_input(
            "domains",
            "A domain is already registered to another organisation.",
        ),
        _ => e.into(),
    })?;
    Ok(())
}

/// Creates an organisation, its domains and its lead administrator (invited
/// with every permission), in one transaction with the invitation email and
/// the audit entries.
pub async fn create(
    app: &App,
    staff: &Allowed<Staff>,
    input: NewOrganisation,
) -> Result<(OrganisationWithDomains, ManagedUser), Rejection> {
    let (db, actor) = (&app.db, staff.actor());
    let mut errors = FieldErrors::default();
    let name = errors.take(
        "input.name",
        validate::text(
            &input.name,
            "the organisation's name",
            validate::ORGANISATION_NAME_MAX,
        ),
    );
    let address = errors.take(
        "input.address",
        validate::multiline_text(
            &input.address,
            "the organisation's address",
            validate::ADDRESS_MAX,
        ),
    );
    let domains = errors.take("input.domains", validate::domains(&input.domains));
    let lead = Person::check(
        &mut errors,
        "input.leadAdministrator",
        &input.lead_first_name,
        &input.lead_last_name,
        &input.lead_email,
    );

    let txn = platform::db::begin_write(db).await?;
    if let Some(domains) = &domains {
        check_domains_free(&txn, &mut errors, "input.domains", domains, None).await?;
        if let Some(email) = &lead.email {
            check_email_usable(
                &txn,
                &mut errors,
                "input.leadAdministrator.email",
                email,
                domains,
            )
            .await?;
        }
    }
    errors.finish()?;
    let (Some(name), Some(address), Some(domains), Some(lead)) =
        (name, address, domains, lead.complete())
    else {
        return Err(ApiError::Internal(anyhow::anyhow!("checked input missing")).into());
    };

    let now = Utc::now();
    let organisation = organisation::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name),
        address: Set(address),
        requires_two_factor: Set(input.requires_two_factor),
        two_factor_methods: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    insert_domains(&txn, organisation.id, &domains).await?;
    let created = OrganisationWithDomains {
        organisation,
        domains,
    };
    audit::record(
        &txn,
        actor,
        Entry {
            action: "organisation.create",
            target_type: AUDIT_TARGET,
            target_id: Some(created.organisation.id),
            organisation_id: Some(created.organisation.id),
        },
        None,
        audit::snapshot(&created),
    )
    .await?;
    let lead = create_invited(
        &txn,
        actor,
        &created.organisation,
        lead,
        Permission::ALL.to_vec(),
        "input.leadAdministrator.email",
    )
    .await?;
    txn.commit().await?;
    Ok((created, lead))
}

/// Replaces an organisation's email domains. Existing users keep working
/// whatever their address; the domains only decide who can be invited.
pub async fn update_domains(
    app: &App,
    staff: &Allowed<Staff>,
    id: Uuid,
    domains: &[String],
) -> Result<OrganisationWithDomains, Rejection> {
    let (db, actor) = (&app.db, staff.actor());
    let mut errors = FieldErrors::default();
    let domains = errors.take("domains", validate::domains(domains));
    let txn = platform::db::begin_write(db).await?;
    let organisation = organisation::Entity::find_by_id(id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound("Organisation"))?;
    if let Some(domains) = &domains {
        check_domains_free(&txn, &mut errors, "domains", domains, Some(id)).await?;
    }
    errors.finish()?;
    let Some(domains) = domains else {
        return Err(ApiError::Internal(anyhow::anyhow!("checked domains missing")).into());
    };
    let before = OrganisationWithDomains {
        domains: domains_of(&txn, id).await?,
        organisation,
    };
    organisation_domain::Entity::delete_many()
        .filter(organisation_domain::Column::OrganisationId.eq(id))
        .filter(organisation_domain::Column::Domain.is_not_in(domains.iter().cloned()))
        .exec(&txn)
        .await?;
    let new: Vec<String> = domains
        .iter()
        .filter(|d| !before.domains.contains(d))
        .cloned()
        .collect();
    insert_domains(&txn, id, &new).await?;
    let mut active = before.organisation.clone().into_active_model();
    active.updated_at = Set(Utc::now());
    let after = OrganisationWithDomains {
        organisation: active.update(&txn).await?,
        domains: domains_of(&txn, id).await?,
    };
    audit::record(
        &txn,
        actor,
        Entry {
            action: "organisation.update_domains",
            target_type: AUDIT_TARGET,
            target_id: Some(id),
            organisation_id: Some(id),
        },
        audit::snapshot(&before),
        audit::snapshot(&after),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// Attaches the domains of each organisation, in one query.
pub(crate) async fn with_domains(
    conn: &impl ConnectionTrait,
    organisations: Vec<organisation::Model>,
) -> ApiResult<Vec<OrganisationWithDomains>> {
    let ids: Vec<Uuid> = organisations.iter().map(|o| o.id).collect();
    let mut domains: HashMap<Uuid, Vec<String>> = HashMap::new();
    for row in organisation_domain::Entity::find()
        .filter(organisation_domain::Column::OrganisationId.is_in(ids))
        .order_by_asc(organisation_domain::Column::Id)
        .all(conn)
        .await?
    {
        domains
            .entry(row.organisation_id)
            .or_default()
            .push(row.domain);
    }
    Ok(organisations
        .into_iter()
        .map(|organisation| OrganisationWithDomains {
            domains: domains.remove(&organisation.id).unwrap_or_default(),
            organisation,
        })
        .collect())
}

/// A page of organisations, oldest first, after `after`; and whether there are more.
pub async fn list(
    app: &App,
    limit: u64,
    after: Option<Uuid>,
) -> ApiResult<(Vec<OrganisationWithDomains>, bool)> {
    let db = &app.db;
    let mut query = organisation::Entity::find().order_by_asc(organisation::Column::Id);
    if let Some(after) = after {
        query = query.filter(organisation::Column::Id.gt(after));
    }
    let mut rows = query.limit(limit + 1).all(db).await?;
    let has_next = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    Ok((with_domains(db, rows).await?, has_next))
}

/// One organisation.
pub async fn get(app: &App, id: Uuid) -> ApiResult<OrganisationWithDomains> {
    let db = &app.db;
    let organisation = organisation::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ApiError::NotFound("Organisation"))?;
    with_domains(db, vec![organisation])
        .await?
        .pop()
        .ok_or(ApiError::NotFound("Organisation"))
}

/// Sets whether an organisation requires two-factor sign-in and, if it does,
/// which methods count (`None` or empty: any). Switching it on (or
/// narrowing the methods) puts the live sessions of every user who no
/// longer meets the rule into enrolment-only mode at once, rather than at
/// their next sign-in. Audited (`organisation.two_factor_rule`).
pub async fn set_two_factor_rule(
    app: &App,
    staff: &Allowed<Staff>,
    id: Uuid,
    required: bool,
    methods: Option<Vec<TwoFactorMethod>>,
) -> ApiResult<OrganisationWithDomains> {
    let mut methods = methods.unwrap_or_default();
    if methods.contains(&TwoFactorMethod::None) {
        return Err(ApiError::bad_input(
            "input.methods",
            "NONE is not a second factor: name the methods that count.",
        ));
    }
    if !required && !methods.is_empty() {
        return Err(ApiError::bad_input(
            "input.methods",
            "Methods only apply when two-factor sign-in is required.",
        ));
    }
    methods.sort_by_key(|m| TwoFactorMethod::ALL.iter().position(|n| n == m));
    methods.dedup();
    let list = (!methods.is_empty()).then(|| {
        methods
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(",")
    });
    let txn = platform::db::begin_write(&app.db).await?;
    let organisation = organisation::Entity::find_by_id(id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound("Organisation"))?;
    let before = json!({
        "requires_two_factor": organisation.requires_two_factor,
        "two_factor_methods": organisation.two_factor_methods,
    });
    let mut active = organisation.into_active_model();
    active.requires_two_factor = Set(required);
    active.two_factor_methods = Set(list.clone());
    active.updated_at = Set(Utc::now());
    let updated = active.update(&txn).await?;
    if required {
        let accepted = crate::identity::login::accepted_methods(Some(&updated));
        let out_of_rule = Query::select()
            .column(user::Column::Id)
            .from(user::Entity)
            .and_where(user::Column::OrganisationId.eq(id))
            .and_where(user::Column::TwoFactorMethod.is_not_in(accepted))
            .to_owned();
        session::Entity::update_many()
            .col_expr(session::Column::EnrolmentOnly, Expr::value(true))
            .filter(session::Column::RevokedAt.is_null())
            .filter(session::Column::UserId.in_subquery(out_of_rule))
            .exec(&txn)
            .await?;
    }
    audit::record(
        &txn,
        staff.actor(),
        Entry {
            action: "organisation.two_factor_rule",
            target_type: AUDIT_TARGET,
            target_id: Some(id),
            organisation_id: Some(id),
        },
        Some(before),
        Some(json!({ "requires_two_factor": required, "two_factor_methods": list })),
    )
    .await?;
    let after = OrganisationWithDomains {
        domains: domains_of(&txn, id).await?,
        organisation: updated,
    };
    txn.commit().await?;
    Ok(after)
}
