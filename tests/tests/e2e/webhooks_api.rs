//! Webhooks, the management side: an organisation's users and API tokens
//! with `MANAGE_WEBHOOKS` add endpoints (the signing secret shown once),
//! change, rotate and delete them; every domain change that is an event
//! writes it (and a delivery for each enabled, subscribed endpoint) in its
//! own transaction, read back through `webhookEvents` and the delivery log;
//! nobody else sees any of it (`NOT_FOUND` for another organisation's ids).

use entities::{Permission, audit_log, webhook_delivery, webhook_endpoint, webhook_event};
use portal_tests::{TestApp, fixtures::TestUser, gid};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{
    casework,
    tenancy::{api_token, assert_bad_input, organisation, tenant},
};

const CREATE: &str = "mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret endpoint { id url description eventTypes enabled previousSecretExpiresAt } } }";
const ONE: &str = "query($id: ID!) { webhookEndpoint(id: $id) { id url description eventTypes enabled disabledAt } }";
const LIST: &str = "{ webhookEndpoints { edges { node { id url } } } }";
const UPDATE: &str = "mutation($id: ID!, $input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(id: $id, input: $input) { id url description eventTypes enabled disabledAt } }";
const DELETE: &str = "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { deletedId } }";
const ROTATE: &str = "mutation($id: ID!, $grace: Int) { rotateWebhookEndpointSecret(id: $id, graceHours: $grace) { secret endpoint { id previousSecretExpiresAt } } }";
const EVENTS: &str = "query($type: WebhookEventType) { webhookEvents(eventType: $type) { edges { node { id eventType typeName version data createdAt deliveries { id endpointId status } } } } }";
const DELIVERIES: &str = "query($id: ID!, $status: WebhookDeliveryState) { webhookEndpoint(id: $id) { deliveries(status: $status) { edges { node { id status attemptCount nextAttemptAt lastStatusCode event { id typeName data } attempts { attempt statusCode latencyMs responseExcerpt error startedAt } } } } } }";
const DELIVERY: &str = "query($id: ID!) { webhookDelivery(id: $id) { id status event { id } } }";
const EVENT: &str = "query($id: ID!) { webhookEvent(id: $id) { id } }";
const REDELIVER: &str = "mutation($event: ID!, $endpoint: ID) { redeliverWebhookEvent(eventId: $event, endpointId: $endpoint) { id status endpointId } }";
const RECORD: &str = "mutation($org: ID!, $input: [PaymentInput!]!) { recordPayments(organisationId: $org, input: $input) { id } }";

/// An app whose endpoints may be on loopback (the tests' receivers).
async fn app() -> TestApp {
    TestApp::builder()
        .env("PORTAL_WEBHOOK_ALLOW_PRIVATE", "true")
        .build()
        .await
}

/// The endpoints of these tests are at `.invalid` hosts (RFC 6761), which
/// the delivery client answers as unresolvable without asking DNS: nothing
/// leaves the machine, and every attempt fails the same way whatever the
/// network (the delivery itself is `webhooks_delivery`'s subject). Checks
/// that each attempt made was that refusal, with no status code, then
/// drops the retries they scheduled before the harness checks that nothing
/// was left unprocessed. Returns how many attempts were made.
async fn unresolvable_attempts_then_forget_retries(app: &TestApp) -> usize {
    use sea_orm::ConnectionTrait as _;
    let attempts = entities::webhook_attempt::Entity::find()
        .all(app.db())
        .await
        .unwrap();
    for attempt in &attempts {
        let error = attempt.error.as_deref().unwrap_or_default();
        assert!(
            error.starts_with("refused at connect time: the host ")
                && error.ends_with(".partner.invalid cannot be resolved"),
            "{attempt:?}"
        );
        assert_eq!(attempt.status_code, None, "{attempt:?}");
    }
    app.db()
        .execute_unprepared(
            "DELETE FROM outbox_jobs WHERE kind = 'deliver_webhook' AND status = 'PENDING'",
        )
        .await
        .unwrap();
    attempts.len()
}

/// A user of `org` who manages its webhooks.
async fn manager(app: &TestApp, org: Uuid) -> TestUser {
    app.landlord_user(org, &[Permission::ManageWebhooks]).await
}

/// Creates an endpoint for `types`; returns (id, secret).
async fn create(app: &TestApp, token: &str, url: &str, types: &[&str]) -> (String, String) {
    let r = app
        .graphql(
            Some(token),
            CREATE,
            json!({ "input": { "url": url, "eventTypes": types, "description": "Finance dashboard" } }),
        )
        .await;
    let created = &r.data()["createWebhookEndpoint"];
    (
        created["endpoint"]["id"].as_str().unwrap().to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
    )
}

async fn endpoint_count(app: &TestApp) -> u64 {
    webhook_endpoint::Entity::find()
        .count(app.db())
        .await
        .unwrap()
}

async fn audit_actions(app: &TestApp, target: Uuid) -> Vec<String> {
    audit_log::Entity::find()
        .filter(audit_log::Column::TargetId.eq(target))
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

/// The organisation's events of `event_type` (wire enum name), newest first.
async fn events(app: &TestApp, token: &str, event_type: &str) -> Vec<Value> {
    let r = app
        .graphql(Some(token), EVENTS, json!({ "type": event_type }))
        .await;
    r.data()["webhookEvents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

/// Records one payment of 120.00 for `tenant_id` through the API.
async fn record_payment(app: &TestApp, staff: &TestUser, org: Uuid, tenant_id: &str) -> Value {
    let today = chrono::Utc::now().date_naive();
    app.graphql(
        Some(&staff.token),
        RECORD,
        json!({ "org": gid("Organisation", org), "input": [{
            "tenantId": tenant_id,
            "amount": "120.00",
            "paymentDate": today.to_string(),
            "periodStart": (today - chrono::Duration::days(30)).to_string(),
            "periodEnd": (today - chrono::Duration::days(1)).to_string(),
            "postcode": "LS1 4AP",
        }] }),
    )
    .await
    .body
}

#[tokio::test]
async fn a_manager_adds_reads_changes_and_deletes_an_endpoint_and_sees_the_secret_once() {
    let app = app().await;
    let org = organisation(&app).await;
    let admin = manager(&app, org).await;

    let r = app
        .graphql(
            Some(&admin.token),
            CREATE,
            json!({ "input": { "url": "https://dashboard.partner.invalid/hooks", "eventTypes": ["PAYMENTS_RECORDED", "PAYMENT_EXPORT_COMPLETED", "PAYMENTS_RECORDED"], "description": "  Finance dashboard " } }),
        )
        .await;
    let created = r.data()["createWebhookEndpoint"].clone();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert!(secret.len() > "whsec_".len() + 30);
    let endpoint = &created["endpoint"];
    assert_eq!(
        endpoint["url"],
        json!("https://dashboard.partner.invalid/hooks")
    );
    assert_eq!(endpoint["description"], json!("Finance dashboard"));
    // Deduplicated, in the enum's order.
    assert_eq!(
        endpoint["eventTypes"],
        json!(["PAYMENT_EXPORT_COMPLETED", "PAYMENTS_RECORDED"])
    );
    assert_eq!(endpoint["enabled"], json!(true));
    let id = endpoint["id"].as_str().unwrap().to_owned();

    // The secret is stored sealed, never in clear, and no field reads it back.
    let row = webhook_endpoint::Entity::find_by_id(portal_tests::uuid_of(&id))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert!(!row.secret_sealed.contains(&secret[6..]));
    let r = app
        .graphql(
            Some(&admin.token),
            "query($id: ID!) { webhookEndpoint(id: $id) { secret } }",
            json!({ "id": id }),
        )
        .await;
    assert!(
        r.body["data"].is_null() && !r.error_codes().is_empty(),
        "{:#}",
        r.body
    );

    let r = app
        .graphql(Some(&admin.token), ONE, json!({ "id": id }))
        .await;
    assert_eq!(r.data()["webhookEndpoint"]["url"], endpoint["url"]);
    let r = app.graphql(Some(&admin.token), LIST, json!({})).await;
    assert_eq!(
        r.data()["webhookEndpoints"]["edges"][0]["node"]["id"],
        json!(id)
    );
    // `node(id:)` refetches it.
    let r = app
        .graphql(
            Some(&admin.token),
            "query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { url } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(r.data()["node"]["url"], endpoint["url"]);

    let r = app
        .graphql(
            Some(&admin.token),
            UPDATE,
            json!({ "id": id, "input": { "url": "https://dashboard.partner.invalid/v2/hooks", "eventTypes": ["CASE_TASK_ASSIGNED"], "enabled": false, "description": "" } }),
        )
        .await;
    let updated = &r.data()["updateWebhookEndpoint"];
    assert_eq!(
        updated["url"],
        json!("https://dashboard.partner.invalid/v2/hooks")
    );
    assert_eq!(updated["eventTypes"], json!(["CASE_TASK_ASSIGNED"]));
    assert_eq!(updated["enabled"], json!(false));
    assert_eq!(updated["description"], Value::Null);
    assert!(updated["disabledAt"].is_string());
    let r = app
        .graphql(
            Some(&admin.token),
            UPDATE,
            json!({ "id": id, "input": { "enabled": true } }),
        )
        .await;
    assert_eq!(r.data()["updateWebhookEndpoint"]["enabled"], json!(true));
    assert_eq!(r.data()["updateWebhookEndpoint"]["disabledAt"], Value::Null);

    let r = app
        .graphql(Some(&admin.token), DELETE, json!({ "id": id }))
        .await;
    assert_eq!(r.data()["deleteWebhookEndpoint"]["deletedId"], json!(id));
    let r = app
        .graphql(Some(&admin.token), ONE, json!({ "id": id }))
        .await;
    assert_eq!(r.error_code(), "NOT_FOUND");
    assert_eq!(endpoint_count(&app).await, 0);

    let actions = audit_actions(&app, portal_tests::uuid_of(&id)).await;
    assert_eq!(
        actions,
        [
            "webhook_endpoint.create",
            "webhook_endpoint.update",
            "webhook_endpoint.update",
            "webhook_endpoint.delete"
        ]
    );
    // The audit log never holds the secret.
    for entry in audit_log::Entity::find().all(app.db()).await.unwrap() {
        let text = format!("{:?}{:?}", entry.before, entry.after);
        assert!(!text.contains(&secret[6..]), "{text}");
        assert!(!text.contains("secret_sealed"), "{text}");
    }
}

#[tokio::test]
async fn rotating_gives_a_new_secret_once_and_keeps_the_old_one_for_the_grace_period() {
    let app = app().await;
    let org = organisation(&app).await;
    let admin = manager(&app, org).await;
    let (id, first) = create(
        &app,
        &admin.token,
        "https://hooks.partner.invalid/a",
        &["PAYMENTS_RECORDED"],
    )
    .await;
    let before = webhook_endpoint::Entity::find_by_id(portal_tests::uuid_of(&id))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();

    let r = app
        .graphql(Some(&admin.token), ROTATE, json!({ "id": id }))
        .await;
    let rotated = &r.data()["rotateWebhookEndpointSecret"];
    let second = rotated["secret"].as_str().unwrap();
    assert!(second.starts_with("whsec_"));
    assert_ne!(second, first);
    let until: chrono::DateTime<chrono::Utc> = rotated["endpoint"]["previousSecretExpiresAt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let hours = (until - chrono::Utc::now()).num_minutes();
    assert!((23 * 60..=24 * 60).contains(&hours), "{hours} minutes");
    let after = webhook_endpoint::Entity::find_by_id(before.id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    // The old sealed secret is now the previous one.
    assert_eq!(
        after.previous_secret_sealed,
        Some(before.secret_sealed.clone())
    );
    assert_ne!(after.secret_sealed, before.secret_sealed);

    // A grace period of 0 ends the old secret at once; more than 7 days is refused.
    let r = app
        .graphql(Some(&admin.token), ROTATE, json!({ "id": id, "grace": 0 }))
        .await;
    assert_eq!(
        r.data()["rotateWebhookEndpointSecret"]["endpoint"]["previousSecretExpiresAt"],
        Value::Null
    );
    let sealed = webhook_endpoint::Entity::find_by_id(before.id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let r = app
        .graphql(
            Some(&admin.token),
            ROTATE,
            json!({ "id": id, "grace": 7 * 24 + 1 }),
        )
        .await;
    assert_bad_input(&r, "graceHours");
    let unchanged = webhook_endpoint::Entity::find_by_id(before.id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unchanged, sealed);
    assert_eq!(
        audit_actions(&app, before.id).await,
        [
            "webhook_endpoint.create",
            "webhook_endpoint.rotate_secret",
            "webhook_endpoint.rotate_secret"
        ]
    );
}

#[tokio::test]
async fn bad_input_is_refused_on_its_field_and_stores_nothing() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let admin = manager(&app, org).await;
    let long = format!("https://hooks.partner.invalid/{}", "a".repeat(2048));
    let cases: &[(Value, &str)] = &[
        (
            json!({ "url": "not a url", "eventTypes": ["PAYMENTS_RECORDED"] }),
            "input.url",
        ),
        (
            json!({ "url": "", "eventTypes": ["PAYMENTS_RECORDED"] }),
            "input.url",
        ),
        (
            json!({ "url": "http://hooks.partner.invalid/", "eventTypes": ["PAYMENTS_RECORDED"] }),
            "input.url",
        ),
        (
            json!({ "url": "ftp://hooks.partner.invalid/", "eventTypes": ["PAYMENTS_RECORDED"] }),
            "input.url",
        ),
        (
            json!({ "url": long, "eventTypes": ["PAYMENTS_RECORDED"] }),
            "input.url",
        ),
        // Private addresses, refused without PORTAL_WEBHOOK_ALLOW_PRIVATE.
        (
            json!({ "url": "https://127.0.0.1/hooks", "eventTypes": ["PAYMENTS_RECORDED"] }),
            "input.url",
        ),
        (
            json!({ "url": "https://10.1.2.3/hooks", "eventTypes": ["PAYMENTS_RECORDED"] }),
            "input.url",
        ),
        (
            json!({ "url": "https://169.254.169.254/latest/meta-data", "eventTypes": ["PAYMENTS_RECORDED"] }),
            "input.url",
        ),
        (
            json!({ "url": "https://[::1]/hooks", "eventTypes": ["PAYMENTS_RECORDED"] }),
            "input.url",
        ),
        (
            json!({ "url": "https://hooks.partner.invalid/", "eventTypes": [] }),
            "input.eventTypes",
        ),
        (
            json!({ "url": "https://hooks.partner.invalid/", "eventTypes": ["PAYMENTS_RECORDED"], "description": "x".repeat(201) }),
            "input.description",
        ),
        (
            json!({ "url": "https://hooks.partner.invalid/", "eventTypes": ["PAYMENTS_RECORDED"], "description": "two\nlines" }),
            "input.description",
        ),
    ];
    for (input, field) in cases {
        let r = app
            .graphql(Some(&admin.token), CREATE, json!({ "input": input }))
            .await;
        assert_bad_input(&r, field);
    }
    // An unknown event type is refused by the schema's enum, before anything runs.
    let r = app
        .graphql(
            Some(&admin.token),
            CREATE,
            json!({ "input": { "url": "https://hooks.partner.invalid/", "eventTypes": ["PAYMENTS_DELETED"] } }),
        )
        .await;
    assert_eq!(r.error_code(), "BAD_USER_INPUT", "{:#}", r.body);
    assert_eq!(endpoint_count(&app).await, 0);
    assert_eq!(
        audit_log::Entity::find()
            .filter(audit_log::Column::TargetType.eq("webhook_endpoint"))
            .count(app.db())
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn an_update_with_bad_input_changes_nothing() {
    let app = TestApp::init().await;
    let org = organisation(&app).await;
    let admin = manager(&app, org).await;
    // A public address, so that no name needs resolving in the test.
    let (id, _) = create(
        &app,
        &admin.token,
        "https://93.184.215.14/a",
        &["PAYMENTS_RECORDED"],
    )
    .await;
    let before = webhook_endpoint::Entity::find_by_id(portal_tests::uuid_of(&id))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    for (input, field) in [
        (
            json!({ "url": "https://192.168.0.10/", "description": "new" }),
            "input.url",
        ),
        (
            json!({ "eventTypes": [], "enabled": false }),
            "input.eventTypes",
        ),
        (
            json!({ "description": "y".repeat(201), "url": "https://93.184.215.14/b" }),
            "input.description",
        ),
    ] {
        let r = app
            .graphql(
                Some(&admin.token),
                UPDATE,
                json!({ "id": id, "input": input }),
            )
            .await;
        assert_bad_input(&r, field);
    }
    let after = webhook_endpoint::Entity::find_by_id(before.id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after, before);
}

#[tokio::test]
async fn an_organisation_has_at_most_the_configured_number_of_endpoints() {
    let app = TestApp::builder()
        .env("PORTAL_WEBHOOK_ALLOW_PRIVATE", "true")
        .env("PORTAL_WEBHOOK_MAX_ENDPOINTS", "2")
        .build()
        .await;
    let org = organisation(&app).await;
    let admin = manager(&app, org).await;
    create(
        &app,
        &admin.token,
        "https://hooks.partner.invalid/1",
        &["PAYMENTS_RECORDED"],
    )
    .await;
    create(
        &app,
        &admin.token,
        "https://hooks.partner.invalid/2",
        &["PAYMENTS_RECORDED"],
    )
    .await;
    let r = app
        .graphql(
            Some(&admin.token),
            CREATE,
            json!({ "input": { "url": "https://hooks.partner.invalid/3", "eventTypes": ["PAYMENTS_RECORDED"] } }),
        )
        .await;
    assert_bad_input(&r, "input.url");
    assert_eq!(endpoint_count(&app).await, 2);
    // Another organisation has its own allowance.
    let other = organisation(&app).await;
    let other_admin = manager(&app, other).await;
    create(
        &app,
        &other_admin.token,
        "https://hooks.partner.invalid/4",
        &["PAYMENTS_RECORDED"],
    )
    .await;
}

#[tokio::test]
async fn only_the_organisations_managers_and_tokens_reach_its_webhooks() {
    let app = app().await;
    let org = organisation(&app).await;
    let admin = manager(&app, org).await;
    let (id, _) = create(
        &app,
        &admin.token,
        "https://hooks.partner.invalid/a",
        &["PAYMENTS_RECORDED"],
    )
    .await;
    // An event with a delivery, to probe the log too.
    let staff = app.caseworker().await;
    let t = tenant(&app, org, "Aisha", "Rahman", "UC-1", None).await;
    let body = record_payment(&app, &staff, org, &gid("Tenant", t.id)).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let event = webhook_event::Entity::find()
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let delivery = webhook_delivery::Entity::find()
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let event_id = gid("WebhookEvent", event.id);
    let delivery_id = gid("WebhookDelivery", delivery.id);

    // Who may: the manager, and a token of the organisation carrying the permission.
    let token = api_token(&app, org, &[Permission::ManageWebhooks]).await;
    for who in [&admin.token, &token] {
        let r = app.graphql(Some(who), ONE, json!({ "id": id })).await;
        assert_eq!(r.data()["webhookEndpoint"]["id"], json!(id));
        let r = app
            .graphql(Some(who), DELIVERY, json!({ "id": delivery_id }))
            .await;
        assert_eq!(r.data()["webhookDelivery"]["event"]["id"], json!(event_id));
        let r = app
            .graphql(Some(who), EVENT, json!({ "id": event_id }))
            .await;
        assert_eq!(r.data()["webhookEvent"]["id"], json!(event_id));
    }
    let (token_endpoint, _) = create(
        &app,
        &token,
        "https://hooks.partner.invalid/token",
        &["PAYMENTS_RECORDED"],
    )
    .await;
    let r = app
        .graphql(Some(&token), DELETE, json!({ "id": token_endpoint }))
        .await;
    assert!(r.body.get("errors").is_none(), "{:#}", r.body);

    // Who may not: another organisation's manager and token, a user or token
    // of the organisation without the permission, staff, a resident.
    let other = organisation(&app).await;
    // Managers of another organisation see their own (empty) lists.
    let other_org_callers = [
        ("other manager", manager(&app, other).await.token),
        (
            "other token",
            api_token(&app, other, &[Permission::ManageWebhooks]).await,
        ),
    ];
    for (who, token) in &other_org_callers {
        let r = app.graphql(Some(token), LIST, json!({})).await;
        assert_eq!(r.data()["webhookEndpoints"]["edges"], json!([]), "{who}");
        let r = app
            .graphql(
                Some(token),
                "{ webhookEvents { edges { node { id } } } }",
                json!({}),
            )
            .await;
        assert_eq!(r.data()["webhookEvents"]["edges"], json!([]), "{who}");
    }
    let outsiders = [
        other_org_callers[0].clone(),
        other_org_callers[1].clone(),
        (
            "user without the permission",
            app.landlord_user(
                org,
                &[
                    Permission::ManageUsers,
                    Permission::ViewPayments,
                    Permission::ExportPayments,
                ],
            )
            .await
            .token,
        ),
        (
            "token without the permission",
            api_token(&app, org, &[Permission::ViewPayments]).await,
        ),
        ("staff", staff.token.clone()),
        ("service admin", app.service_admin().await.token),
        ("resident", app.resident().await.token),
    ];
    let before = webhook_endpoint::Entity::find()
        .all(app.db())
        .await
        .unwrap();
    for (who, token) in &outsiders {
        let by_id: [(&str, Value); 7] = [
            (ONE, json!({ "id": id })),
            (DELIVERY, json!({ "id": delivery_id })),
            (EVENT, json!({ "id": event_id })),
            (UPDATE, json!({ "id": id, "input": { "enabled": false } })),
            (ROTATE, json!({ "id": id })),
            (DELETE, json!({ "id": id })),
            (REDELIVER, json!({ "event": event_id })),
        ];
        for (query, variables) in by_id {
            let r = app.graphql(Some(token), query, variables).await;
            assert_eq!(r.error_code(), "NOT_FOUND", "{who}: {query}: {:#}", r.body);
        }
        let r = app
            .graphql(
                Some(token),
                "query($id: ID!) { node(id: $id) { id } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(r.data()["node"], Value::Null, "{who}");
        if who.starts_with("other") {
            continue;
        }
        for query in [LIST, "{ webhookEvents { edges { node { id } } } }"] {
            let r = app.graphql(Some(token), query, json!({})).await;
            assert_eq!(r.error_code(), "FORBIDDEN", "{who}: {query}");
        }
        let r = app
            .graphql(
                Some(token),
                CREATE,
                json!({ "input": { "url": "https://hooks.partner.invalid/x", "eventTypes": ["PAYMENTS_RECORDED"] } }),
            )
            .await;
        assert_eq!(r.error_code(), "FORBIDDEN", "{who}: create");
    }
    // Another organisation's endpoint named on redelivery: NOT_FOUND too.
    let other_admin = manager(&app, other).await;
    let (other_endpoint, _) = create(
        &app,
        &other_admin.token,
        "https://hooks.partner.invalid/o",
        &["PAYMENTS_RECORDED"],
    )
    .await;
    let r = app
        .graphql(
            Some(&admin.token),
            REDELIVER,
            json!({ "event": event_id, "endpoint": other_endpoint }),
        )
        .await;
    assert_eq!(r.error_code(), "NOT_FOUND");
    let mut after = webhook_endpoint::Entity::find()
        .all(app.db())
        .await
        .unwrap();
    after.retain(|e| e.organisation_id == org);
    assert_eq!(after, before);

    // Anonymous: UNAUTHENTICATED.
    let r = app.graphql(None, ONE, json!({ "id": id })).await;
    assert_eq!(r.error_code(), "UNAUTHENTICATED");
    app.run_pending_jobs().await;
    assert_eq!(unresolvable_attempts_then_forget_retries(&app).await, 1);
}

#[tokio::test]
async fn events_go_to_enabled_subscribed_endpoints_only_and_a_rolled_back_change_sends_nothing() {
    let app = app().await;
    let org = organisation(&app).await;
    let admin = manager(&app, org).await;
    let (subscribed, _) = create(
        &app,
        &admin.token,
        "https://hooks.partner.invalid/pay",
        &["PAYMENTS_RECORDED"],
    )
    .await;
    let (other_type, _) = create(
        &app,
        &admin.token,
        "https://hooks.partner.invalid/exp",
        &["PAYMENT_EXPORT_COMPLETED"],
    )
    .await;
    let (disabled, _) = create(
        &app,
        &admin.token,
        "https://hooks.partner.invalid/off",
        &["PAYMENTS_RECORDED"],
    )
    .await;
    app.graphql(
        Some(&admin.token),
        UPDATE,
        json!({ "id": disabled, "input": { "enabled": false } }),
    )
    .await
    .data();
    // Another organisation's endpoint for the same type hears nothing.
    let other = organisation(&app).await;
    let other_admin = manager(&app, other).await;
    let (elsewhere, _) = create(
        &app,
        &other_admin.token,
        "https://hooks.partner.invalid/else",
        &["PAYMENTS_RECORDED"],
    )
    .await;

    let staff = app.caseworker().await;
    let t = tenant(&app, org, "Aisha", "Rahman", "UC-1", None).await;
    // A batch that fails validation midway (the second tenant is not the
    // organisation's) records nothing and emits nothing.
    let foreign = tenant(&app, other, "Connor", "Walsh", "UC-2", None).await;
    let today = chrono::Utc::now().date_naive();
    let row = |tenant: Uuid| {
        json!({
            "tenantId": gid("Tenant", tenant),
            "amount": "50.00",
            "paymentDate": today.to_string(),
            "periodStart": (today - chrono::Duration::days(30)).to_string(),
            "periodEnd": (today - chrono::Duration::days(1)).to_string(),
            "postcode": "LS1 4AP",
        })
    };
    let r = app
        .graphql(
            Some(&staff.token),
            RECORD,
            json!({ "org": gid("Organisation", org), "input": [row(t.id), row(foreign.id)] }),
        )
        .await;
    assert_eq!(r.error_code(), "BAD_USER_INPUT", "{:#}", r.body);
    assert_eq!(
        webhook_event::Entity::find().count(app.db()).await.unwrap(),
        0
    );
    assert_eq!(
        webhook_delivery::Entity::find()
            .count(app.db())
            .await
            .unwrap(),
        0
    );

    let body = record_payment(&app, &staff, org, &gid("Tenant", t.id)).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let payment_id = body["data"]["recordPayments"][0]["id"].clone();
    let events = events(&app, &admin.token, "PAYMENTS_RECORDED").await;
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event["typeName"], json!("payments.recorded"));
    assert_eq!(event["version"], json!(1));
    assert_eq!(
        event["data"],
        json!({ "organisation_id": gid("Organisation", org), "count": 1, "total_pence": 12000, "payment_ids": [payment_id] })
    );
    let deliveries = event["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 1, "{event:#}");
    assert_eq!(deliveries[0]["endpointId"], json!(subscribed));
    assert_eq!(deliveries[0]["status"], json!("PENDING"));

    // The log of each endpoint.
    let log = |id: String| {
        let app = &app;
        let token = admin.token.clone();
        async move {
            let r = app
                .graphql(Some(&token), DELIVERIES, json!({ "id": id }))
                .await;
            r.data()["webhookEndpoint"]["deliveries"]["edges"]
                .as_array()
                .unwrap()
                .clone()
        }
    };
    let entries = log(subscribed.clone()).await;
    assert_eq!(entries.len(), 1);
    let entry = &entries[0]["node"];
    assert_eq!(entry["event"]["typeName"], json!("payments.recorded"));
    assert_eq!(entry["attemptCount"], json!(0));
    assert!(entry["nextAttemptAt"].is_string());
    assert_eq!(entry["attempts"], json!([]));
    assert!(log(other_type).await.is_empty());
    assert!(log(disabled.clone()).await.is_empty());
    let r = app
        .graphql(
            Some(&other_admin.token),
            DELIVERIES,
            json!({ "id": elsewhere }),
        )
        .await;
    assert_eq!(
        r.data()["webhookEndpoint"]["deliveries"]["edges"],
        json!([])
    );
    // Filtered by status.
    let r = app
        .graphql(
            Some(&admin.token),
            DELIVERIES,
            json!({ "id": subscribed, "status": "SUCCEEDED" }),
        )
        .await;
    assert_eq!(
        r.data()["webhookEndpoint"]["deliveries"]["edges"],
        json!([])
    );

    // A delivery job was written with each delivery, in the same transaction.
    let jobs = entities::outbox_job::Entity::find()
        .filter(entities::outbox_job::Column::Kind.eq("deliver_webhook"))
        .count(app.db())
        .await
        .unwrap();
    assert_eq!(jobs, 1);

    // Redelivery: to a disabled endpoint refused; to the subscribed one a
    // new job for the same delivery; to an endpoint that never had it, a
    // new delivery.
    let event_id = event["id"].clone();
    let r = app
        .graphql(
            Some(&admin.token),
            REDELIVER,
            json!({ "event": event_id, "endpoint": disabled }),
        )
        .await;
    assert_bad_input(&r, "endpointId");
    let r = app
        .graphql(Some(&admin.token), REDELIVER, json!({ "event": event_id }))
        .await;
    let again = r.data()["redeliverWebhookEvent"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0]["id"], deliveries[0]["id"]);
    assert_eq!(again[0]["status"], json!("PENDING"));
    let (late, _) = create(
        &app,
        &admin.token,
        "https://hooks.partner.invalid/late",
        &["CASE_TASK_ASSIGNED"],
    )
    .await;
    let r = app
        .graphql(
            Some(&admin.token),
            REDELIVER,
            json!({ "event": event_id, "endpoint": late }),
        )
        .await;
    assert_eq!(
        r.data()["redeliverWebhookEvent"][0]["endpointId"],
        json!(late)
    );
    assert_eq!(
        webhook_delivery::Entity::find()
            .count(app.db())
            .await
            .unwrap(),
        2
    );
    app.run_pending_jobs().await;
    // The subscribed endpoint's delivery twice (its job, then the
    // redelivery's), the late endpoint's once.
    assert_eq!(unresolvable_attempts_then_forget_retries(&app).await, 3);
}

#[tokio::test]
async fn casework_and_tenancy_changes_are_events_of_the_landlord() {
    let app = app().await;
    let w = casework::world(&app).await;
    let admin = manager(&app, w.org).await;
    let (endpoint, _) = create(
        &app,
        &admin.token,
        "https://hooks.partner.invalid/all",
        &[
            "CASE_MESSAGE_POSTED",
            "CASE_TASK_ASSIGNED",
            "TENANCY_REQUEST_RAISED",
        ],
    )
    .await;

    // A staff message to the landlord: the message, and the "Read message"
    // task it sets the organisation.
    let message = casework::send_message(&app, &w, "Asbestos survey").await;
    let posted = events(&app, &admin.token, "CASE_MESSAGE_POSTED").await;
    assert_eq!(posted.len(), 1);
    let data = &posted[0]["data"];
    assert_eq!(data["case_id"], json!(w.case_id));
    assert_eq!(data["case_reference"], json!(w.reference));
    assert_eq!(data["message_id"], json!(message));
    // Never the subject or the body.
    let text = data.to_string();
    assert!(
        !text.contains("Asbestos survey") && !text.contains("asbestos"),
        "{text}"
    );
    let assigned = events(&app, &admin.token, "CASE_TASK_ASSIGNED").await;
    assert_eq!(assigned.len(), 1);
    assert_eq!(assigned[0]["data"]["source_message_id"], json!(message));

    // A task set for the landlord is an event; one for the resident is not.
    let task = casework::create_task(&app, &w, true, "Send the survey").await;
    casework::create_task(&app, &w, false, "Tell us more").await;
    let assigned = events(&app, &admin.token, "CASE_TASK_ASSIGNED").await;
    assert_eq!(assigned.len(), 2);
    assert_eq!(assigned[0]["data"]["task_id"], json!(task));
    assert_eq!(assigned[0]["data"]["case_id"], json!(w.case_id));
    assert!(!assigned[0]["data"].to_string().contains("Send the survey"));

    // A tenancy request raised to the organisation.
    let due = (chrono::Utc::now().date_naive() + chrono::Duration::days(14)).to_string();
    let r = app
        .graphql(
            Some(&w.staff.token),
            "mutation($input: RaiseTenancyRequestInput!) { raiseTenancyRequest(input: $input) { id } }",
            json!({ "input": {
                "organisationId": gid("Organisation", w.org),
                "tenant": { "newTenant": { "firstName": "Kaiden", "lastName": "Blue", "claimReference": "UC-555" } },
                "postcode": "LS1 4AP",
                "dueDate": due,
            }}),
        )
        .await;
    let request = r.data()["raiseTenancyRequest"]["id"].clone();
    let raised = events(&app, &admin.token, "TENANCY_REQUEST_RAISED").await;
    assert_eq!(raised.len(), 1);
    assert_eq!(raised[0]["data"]["tenancy_request_id"], request);
    assert_eq!(raised[0]["data"]["due_date"], json!(due));
    assert!(!raised[0]["data"].to_string().contains("Kaiden"));

    // Every event reached the endpoint's log; the other organisation has none.
    let r = app
        .graphql(Some(&admin.token), DELIVERIES, json!({ "id": endpoint }))
        .await;
    assert_eq!(
        r.data()["webhookEndpoint"]["deliveries"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    let other_admin = manager(&app, w.other_org).await;
    let r = app
        .graphql(
            Some(&other_admin.token),
            "{ webhookEvents { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(r.data()["webhookEvents"]["edges"], json!([]));
    app.run_pending_jobs().await;
    assert_eq!(unresolvable_attempts_then_forget_retries(&app).await, 4);
}

#[tokio::test]
async fn a_completed_export_is_an_event_in_the_jobs_transaction() {
    let app = app().await;
    let org = organisation(&app).await;
    let admin = app
        .landlord_user(
            org,
            &[Permission::ManageWebhooks, Permission::ExportPayments],
        )
        .await;
    create(
        &app,
        &admin.token,
        "https://hooks.partner.invalid/exports",
        &["PAYMENT_EXPORT_COMPLETED", "PAYMENT_EXPORT_FAILED"],
    )
    .await;
    let r = app
        .graphql(
            Some(&admin.token),
            "mutation { requestPaymentExport { id } }",
            json!({}),
        )
        .await;
    let export = r.data()["requestPaymentExport"]["id"].clone();
    // Nothing until the export is built.
    assert!(
        events(&app, &admin.token, "PAYMENT_EXPORT_COMPLETED")
            .await
            .is_empty()
    );
    app.run_pending_jobs().await;
    let completed = events(&app, &admin.token, "PAYMENT_EXPORT_COMPLETED").await;
    assert_eq!(completed.len(), 1, "{completed:#?}");
    assert_eq!(completed[0]["data"]["payment_export_id"], export);
    assert_eq!(completed[0]["data"]["row_count"], json!(0));
    assert!(completed[0]["data"]["expires_at"].is_string());
    assert!(
        events(&app, &admin.token, "PAYMENT_EXPORT_FAILED")
            .await
            .is_empty()
    );
    app.run_pending_jobs().await;
    assert_eq!(unresolvable_attempts_then_forget_retries(&app).await, 1);
}

#[tokio::test]
async fn the_lists_cost_their_page_size() {
    let app = app().await;
    let org = organisation(&app).await;
    let admin = manager(&app, org).await;
    let r = app
        .graphql(
            Some(&admin.token),
            "{ webhookEndpoints(first: 100) { edges { node { deliveries(first: 100) { edges { node { attempts { statusCode } event { data } } } } } } } }",
            json!({}),
        )
        .await;
    // 100 endpoints × 100 deliveries is over the complexity limit.
    assert!(
        !r.error_codes().is_empty(),
        "an unbounded nested log must be refused: {:#}",
        r.body
    );
}

#[tokio::test]
async fn decisions_and_housing_cost_updates_are_events() {
    let app = app().await;
    let org = organisation(&app).await;
    let admin = app
        .landlord_user(
            org,
            &[
                Permission::ManageWebhooks,
                Permission::ProvideTenancyDetails,
                Permission::BulkUpdateHousingCosts,
            ],
        )
        .await;
    create(
        &app,
        &admin.token,
        "https://hooks.partner.invalid/all",
        &[
            "PAYMENT_ARRANGEMENT_DECIDED",
            "HOUSING_COST_UPDATE_APPLIED",
            "HOUSING_COST_UPDATE_REJECTED",
        ],
    )
    .await;
    let staff = app.caseworker().await;

    // A payment arrangement approved by staff.
    let t = tenant(&app, org, "Connor", "Walsh", "UC-1", None).await;
    let r = app
        .graphql(
            Some(&admin.token),
            "mutation($input: ApplyForPaymentArrangementInput!) { applyForPaymentArrangement(input: $input) { id reference } }",
            json!({ "input": { "tenantId": gid("Tenant", t.id), "reason": "Two months of arrears.", "arrears": "964.00" } }),
        )
        .await;
    let applied = r.data()["applyForPaymentArrangement"].clone();
    assert!(
        events(&app, &admin.token, "PAYMENT_ARRANGEMENT_DECIDED")
            .await
            .is_empty()
    );
    let r = app
        .graphql(
            Some(&staff.token),
            "mutation($id: ID!) { approvePaymentArrangement(id: $id, note: \"Agreed with Mr Walsh\") { status } }",
            json!({ "id": applied["id"] }),
        )
        .await;
    assert_eq!(
        r.data()["approvePaymentArrangement"]["status"],
        json!("APPROVED")
    );
    let decided = events(&app, &admin.token, "PAYMENT_ARRANGEMENT_DECIDED").await;
    assert_eq!(decided.len(), 1);
    let data = &decided[0]["data"];
    assert_eq!(data["payment_arrangement_id"], applied["id"]);
    assert_eq!(data["reference"], applied["reference"]);
    assert_eq!(data["status"], json!("APPROVED"));
    assert!(!data.to_string().contains("Walsh"), "{data}");
    // Deciding twice is refused, and is no second event.
    let r = app
        .graphql(
            Some(&staff.token),
            "mutation($id: ID!) { rejectPaymentArrangement(id: $id, reason: \"No\") { status } }",
            json!({ "id": applied["id"] }),
        )
        .await;
    assert!(!r.error_codes().is_empty());
    assert_eq!(
        events(&app, &admin.token, "PAYMENT_ARRANGEMENT_DECIDED")
            .await
            .len(),
        1
    );

    // Two housing-cost CSVs, each checked at upload; one of the properties
    // is removed before the worker runs, so that file is rejected when
    // applied and the other applied. Each outcome is an event of the job.
    crate::support::tenancy::property(&app, org, "FLAT-1", "LS1 4AP").await;
    let gone = crate::support::tenancy::property(&app, org, "FLAT-2", "LS1 4AP").await;
    const UPLOAD: &str = "mutation($file: Upload!) { uploadHousingCosts(file: $file) { id } }";
    let mut ids = Vec::new();
    for file in [
        &b"property_reference,rent,service_charge,frequency\r\nFLAT-2,725.00,35.5,weekly\r\n"[..],
        &b"property_reference,rent,service_charge,frequency\r\nFLAT-1,725.00,35.5,weekly\r\n"[..],
    ] {
        let r = app
            .graphql_multipart(
                Some(&admin.token),
                UPLOAD,
                json!({ "file": null }),
                &[("variables.file", "rents.csv", file)],
            )
            .await;
        ids.push(r.data()["uploadHousingCosts"]["id"].clone());
    }
    let mut removed = sea_orm::IntoActiveModel::into_active_model(gone);
    removed.removed_at = sea_orm::Set(Some(chrono::Utc::now()));
    sea_orm::ActiveModelTrait::update(removed, app.db())
        .await
        .unwrap();
    assert!(
        events(&app, &admin.token, "HOUSING_COST_UPDATE_APPLIED")
            .await
            .is_empty()
    );
    app.run_pending_jobs().await;
    let rejected = events(&app, &admin.token, "HOUSING_COST_UPDATE_REJECTED").await;
    assert_eq!(rejected.len(), 1, "{rejected:#?}");
    assert_eq!(rejected[0]["data"]["housing_cost_update_id"], ids[0]);
    assert_eq!(rejected[0]["data"]["error_count"], json!(1));
    let applied = events(&app, &admin.token, "HOUSING_COST_UPDATE_APPLIED").await;
    assert_eq!(applied.len(), 1, "{applied:#?}");
    assert_eq!(applied[0]["data"]["housing_cost_update_id"], ids[1]);
    assert_eq!(applied[0]["data"]["applied_count"], json!(1));
    app.run_pending_jobs().await;
    let deliveries = webhook_delivery::Entity::find()
        .count(app.db())
        .await
        .unwrap();
    assert!(deliveries > 0);
    assert_eq!(
        unresolvable_attempts_then_forget_retries(&app).await as u64,
        deliveries,
        "one attempt per delivery"
    );
}

const ORG_ENDPOINTS: &str = "query($id: ID!, $first: Int, $after: String) { organisation(id: $id) { id webhookEndpoints(first: $first, after: $after) { edges { node { id url } } pageInfo { hasNextPage endCursor } } } }";
const MY_ORG_ENDPOINTS: &str =
    "{ myOrganisation { id webhookEndpoints { nodes { id url deliveries { nodes { id } } } } } }";

/// `Organisation.webhookEndpoints`: the organisation's managers (users with
/// `MANAGE_WEBHOOKS`) read its endpoints there as in `webhookEndpoints`;
/// everyone else who can see the organisation reads null, and its
/// arguments are checked like any list's.
#[tokio::test]
async fn an_organisation_lists_its_endpoints_for_its_managers_only() {
    let app = app().await;
    let org = organisation(&app).await;
    let admin = manager(&app, org).await;
    let (older, _) = create(
        &app,
        &admin.token,
        "https://hooks.partner.invalid/older",
        &["PAYMENTS_RECORDED"],
    )
    .await;
    let (newer, _) = create(
        &app,
        &admin.token,
        "https://hooks.partner.invalid/newer",
        &["PAYMENTS_RECORDED"],
    )
    .await;
    let other = organisation(&app).await;
    let other_admin = manager(&app, other).await;
    let (elsewhere, _) = create(
        &app,
        &other_admin.token,
        "https://hooks.partner.invalid/else",
        &["PAYMENTS_RECORDED"],
    )
    .await;
    let org_id = gid("Organisation", org);

    // The manager: the same list as the top-level one, newest first, paged.
    let r = app
        .graphql(Some(&admin.token), MY_ORG_ENDPOINTS, json!({}))
        .await;
    let ids: Vec<&Value> = r.data()["myOrganisation"]["webhookEndpoints"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["id"])
        .collect();
    assert_eq!(ids, [&json!(newer), &json!(older)]);
    let r = app
        .graphql(
            Some(&admin.token),
            ORG_ENDPOINTS,
            json!({ "id": org_id, "first": 1 }),
        )
        .await;
    let page = &r.data()["organisation"]["webhookEndpoints"];
    assert_eq!(page["edges"][0]["node"]["id"], json!(newer));
    assert_eq!(page["pageInfo"]["hasNextPage"], json!(true));
    let cursor = page["pageInfo"]["endCursor"].clone();
    let r = app
        .graphql(
            Some(&admin.token),
            ORG_ENDPOINTS,
            json!({ "id": org_id, "first": 1, "after": cursor }),
        )
        .await;
    let page = &r.data()["organisation"]["webhookEndpoints"];
    assert_eq!(page["edges"][0]["node"]["id"], json!(older));
    assert_eq!(page["pageInfo"]["hasNextPage"], json!(false));
    let r = app
        .graphql(Some(&other_admin.token), MY_ORG_ENDPOINTS, json!({}))
        .await;
    assert_eq!(
        r.data()["myOrganisation"]["webhookEndpoints"]["nodes"],
        json!([{ "id": elsewhere, "url": "https://hooks.partner.invalid/else", "deliveries": { "nodes": [] } }]),
        "another organisation's manager sees only theirs"
    );

    // Who sees the organisation but may not manage its webhooks: null.
    let clerk = app
        .landlord_user(org, &[Permission::ManageUsers, Permission::ViewPayments])
        .await;
    let staff = app.caseworker().await;
    let admin_staff = app.service_admin().await;
    for (who, token) in [
        ("user without the permission", &clerk.token),
        ("caseworker", &staff.token),
        ("service admin", &admin_staff.token),
    ] {
        let r = app
            .graphql(Some(token), ORG_ENDPOINTS, json!({ "id": org_id }))
            .await;
        assert_eq!(r.data()["organisation"]["id"], json!(org_id), "{who}");
        assert_eq!(
            r.data()["organisation"]["webhookEndpoints"],
            Value::Null,
            "{who}"
        );
    }
    let r = app
        .graphql(
            Some(&admin_staff.token),
            "{ organisations(first: 100) { nodes { id webhookEndpoints { nodes { id } } } } }",
            json!({}),
        )
        .await;
    let organisations = r.data()["organisations"]["nodes"].as_array().unwrap();
    assert!(organisations.len() >= 2);
    assert!(
        organisations
            .iter()
            .all(|o| o["webhookEndpoints"] == Value::Null)
    );
    // Another organisation's manager cannot see this organisation at all.
    let r = app
        .graphql(
            Some(&other_admin.token),
            ORG_ENDPOINTS,
            json!({ "id": org_id }),
        )
        .await;
    assert_eq!(r.error_code(), "NOT_FOUND");
    // An API token reaches no organisation object (`myOrganisation` is a
    // landlord user's), whatever it carries.
    let token = api_token(&app, org, &[Permission::ManageWebhooks]).await;
    let r = app.graphql(Some(&token), MY_ORG_ENDPOINTS, json!({})).await;
    assert_eq!(r.data()["myOrganisation"], Value::Null);

    // Bad arguments: BAD_USER_INPUT on the argument, no list.
    for (variables, field) in [
        (json!({ "id": org_id, "first": 0 }), "first"),
        (json!({ "id": org_id, "first": 101 }), "first"),
        (json!({ "id": org_id, "after": "not-a-cursor" }), "after"),
    ] {
        let r = app
            .graphql(Some(&admin.token), ORG_ENDPOINTS, variables.clone())
            .await;
        assert_bad_input(&r, field);
        assert_eq!(
            r.body["data"]["organisation"]["webhookEndpoints"],
            Value::Null,
            "{variables}"
        );
    }
    assert_eq!(unresolvable_attempts_then_forget_retries(&app).await, 0);
}
