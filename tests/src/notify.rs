//! A GOV.UK Notify-compatible HTTP server for the tests: real HTTP on
//! loopback, answering the two endpoints the portal uses the way Notify
//! does (its request checks, its answers, its error bodies), so the
//! delivery code is tested against the contract rather than against itself.
//!
//! - Every request must carry `Authorization: Bearer <JWT>`, HS256-signed
//!   with the secret of [`NotifyServer::api_key`], `iss` the service id,
//!   `iat` within 30 seconds of now; otherwise `403 AuthError` (or `401`
//!   without a token), as Notify answers.
//! - `POST /v2/notifications/sms` and `/email` must have the body Notify
//!   documents (`phone_number` or `email_address`, `template_id` a UUID,
//!   `personalisation` an object, `reference` a string); otherwise
//!   `400 ValidationError`.
//! - An accepted request is `201` with Notify's answer (`id`, `reference`,
//!   `content`, `template`, `uri`) and is recorded ([`NotifyServer::sent`]).
//! - [`NotifyServer::answer_next`] makes the next requests fail as told
//!   (429, 500, 400 ...), after their token and body pass.
//!
//! [`NotifyServer::receipt`] builds the delivery-status callback Notify
//! would send for a message, to POST at the portal.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    routing::post,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use uuid::Uuid;

use crate::TestAppBuilder;

/// The callback token the portal is configured with by [`TestAppBuilder::with_notify`].
pub const CALLBACK_TOKEN: &str = "notify-callback-token-for-tests";

/// A message Notify accepted.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// Notify's notification id (the answer's `id`).
    pub id: Uuid,
    /// `sms` or `email`.
    pub kind: String,
    /// `phone_number` or `email_address`.
    pub to: String,
    /// The template asked for.
    pub template_id: String,
    /// The personalisation sent.
    pub personalisation: Value,
    /// The caller's reference.
    pub reference: String,
}

#[derive(Default)]
struct Inner {
    accepted: Vec<Accepted>,
    /// Requests refused for their token, with Notify's message.
    refused: Vec<String>,
    /// Answers to give next, instead of accepting.
    scripted: VecDeque<(StatusCode, Value)>,
    /// Requests that reached the endpoint at all.
    requests: usize,
}

#[derive(Clone)]
struct Shared {
    service_id: Uuid,
    secret_key: Uuid,
    inner: Arc<Mutex<Inner>>,
}

/// A running Notify-compatible server (module docs).
pub struct NotifyServer {
    /// Base URL, e.g. `http://127.0.0.1:41234/`.
    pub base_url: String,
    /// The email template id the portal should use.
    pub email_template_id: Uuid,
    /// The text message template id the portal should use.
    pub sms_template_id: Uuid,
    shared: Shared,
}

impl NotifyServer {
    /// Starts a server on a random loopback port, for a new service with a
    /// new API key.
    pub async fn start() -> Self {
        let shared = Shared {
            service_id: Uuid::new_v4(),
            secret_key: Uuid::new_v4(),
            inner: Arc::default(),
        };
        let router = Router::new()
            .route("/v2/notifications/{kind}", post(send))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Notify server");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self {
            base_url: format!("http://{address}/"),
            email_template_id: Uuid::new_v4(),
            sms_template_id: Uuid::new_v4(),
            shared,
        }
    }

    /// The service's API key, `{key name}-{service id}-{secret key}`.
    pub fn api_key(&self) -> String {
        format!(
            "portal_test-{}-{}",
            self.shared.service_id, self.shared.secret_key
        )
    }

    /// An API key of the same service whose secret is wrong (a revoked or
    /// mistyped key): its tokens fail the signature check.
    pub fn wrong_api_key(&self) -> String {
        format!("portal_test-{}-{}", self.shared.service_id, Uuid::new_v4())
    }

    /// The messages accepted so far.
    pub fn accepted(&self) -> Vec<Accepted> {
        self.shared.inner.lock().unwrap().accepted.clone()
    }

    /// The requests refused for their token, with Notify's message.
    pub fn refused(&self) -> Vec<String> {
        self.shared.inner.lock().unwrap().refused.clone()
    }

    /// How many requests arrived.
    pub fn requests(&self) -> usize {
        self.shared.inner.lock().unwrap().requests
    }

    /// Answers the next request that passes the checks with `status` and
    /// Notify's error body of `error` and `message`, instead of accepting it.
    pub fn answer_next(&self, status: StatusCode, error: &str, message: &str) {
        let body = json!({
            "status_code": status.as_u16(),
            "errors": [{ "error": error, "message": message }],
        });
        self.shared
            .inner
            .lock()
            .unwrap()
            .scripted
            .push_back((status, body));
    }

    /// The delivery receipt Notify sends for `message` reaching `status`.
    pub fn receipt(message: &Accepted, status: &str) -> Value {
        json!({
            "id": message.id,
            "reference": message.reference,
            "to": message.to,
            "status": status,
            "created_at": "2026-12-03T09:00:00.000000Z",
            "completed_at": "2026-12-03T09:00:05.000000Z",
            "sent_at": "2026-12-03T09:00:01.000000Z",
            "notification_type": message.kind,
            "template_id": message.template_id,
            "template_version": 1,
        })
    }
}

impl TestAppBuilder {
    /// Sends email and text messages through `server`, and accepts its
    /// callbacks with [`CALLBACK_TOKEN`].
    pub fn with_notify(self, server: &NotifyServer) -> Self {
        self.env("PORTAL_NOTIFY_API_KEY", server.api_key())
            .env("PORTAL_NOTIFY_BASE_URL", server.base_url.clone())
            .env("PORTAL_EMAIL_TRANSPORT", "notify")
            .env(
                "PORTAL_NOTIFY_EMAIL_TEMPLATE_ID",
                server.email_template_id.to_string(),
            )
            .env("PORTAL_SMS_TRANSPORT", "notify")
            .env(
                "PORTAL_NOTIFY_SMS_TEMPLATE_ID",
                server.sms_template_id.to_string(),
            )
            .env("PORTAL_NOTIFY_CALLBACK_TOKEN", CALLBACK_TOKEN)
    }
}

fn error(status: StatusCode, error: &str, message: &str) -> (StatusCode, Json<Value>) {
    (
        status,
        Json(json!({
            "status_code": status.as_u16(),
            "errors": [{ "error": error, "message": message }],
        })),
    )
}

/// Checks the bearer token as Notify does; Notify's message on failure.
fn check_token(shared: &Shared, headers: &HeaderMap) -> Result<(), (StatusCode, &'static str)> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or((
            StatusCode::UNAUTHORIZED,
            "Unauthorized: authentication token must be provided",
        ))?;
    let invalid = (
        StatusCode::FORBIDDEN,
        "Invalid token: signature, api token not found",
    );
    let parts: Vec<&str> = token.split('.').collect();
    let [header, claims, signature] = parts[..] else {
        return Err((StatusCode::FORBIDDEN, "Invalid token: not a JWT"));
    };
    let decode = |part: &str| -> Option<Value> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
    };
    let header = decode(header).ok_or(invalid)?;
    if header["alg"] != "HS256" || header["typ"] != "JWT" {
        return Err((
            StatusCode::FORBIDDEN,
            "Invalid token: algorithm used is not HS256",
        ));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(shared.secret_key.to_string().as_bytes())
        .expect("any key length");
    mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
    let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| invalid)?;
    mac.verify_slice(&signature).map_err(|_| invalid)?;
    let claims = decode(claims).ok_or(invalid)?;
    if claims["iss"] != shared.service_id.to_string() {
        return Err((StatusCode::FORBIDDEN, "Invalid token: service not found"));
    }
    let iat = claims["iat"]
        .as_i64()
        .ok_or((StatusCode::FORBIDDEN, "Invalid token: API key not found"))?;
    if (chrono::Utc::now().timestamp() - iat).abs() > 30 {
        return Err((
            StatusCode::FORBIDDEN,
            "Error: Your system clock must be accurate to within 30 seconds",
        ));
    }
    Ok(())
}

async fn send(
    State(shared): State<Shared>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, Json<Value>) {
    shared.inner.lock().unwrap().requests += 1;
    if let Err((status, message)) = check_token(&shared, &headers) {
        shared
            .inner
            .lock()
            .unwrap()
            .refused
            .push(message.to_owned());
        return error(status, "AuthError", message);
    }
    let Ok(body) = serde_json::from_str::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "ValidationError",
            "Invalid JSON supplied in POST data",
        );
    };
    let to_field = match kind.as_str() {
        "sms" => "phone_number",
        "email" => "email_address",
        _ => return error(StatusCode::NOT_FOUND, "NotFoundError", "Not Found"),
    };
    let Some(to) = body[to_field].as_str() else {
        return error(
            StatusCode::BAD_REQUEST,
            "ValidationError",
            &format!("{to_field} is a required property"),
        );
    };
    let Some(template_id) = body["template_id"]
        .as_str()
        .filter(|id| Uuid::try_parse(id).is_ok())
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "ValidationError",
            "template_id is not a valid UUID",
        );
    };
    if !body["personalisation"].is_object() {
        return error(
            StatusCode::BAD_REQUEST,
            "ValidationError",
            "personalisation is not of type object",
        );
    }
    let reference = body["reference"].as_str().unwrap_or_default().to_owned();
    if let Some((status, answer)) = shared.inner.lock().unwrap().scripted.pop_front() {
        return (status, Json(answer));
    }
    let id = Uuid::new_v4();
    let personalisation = body["personalisation"].clone();
    let message_body = personalisation["body"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let content = if kind == "sms" {
        json!({ "body": message_body, "from_number": "GOVUK" })
    } else {
        json!({
            "body": message_body,
            "subject": personalisation["subject"],
            "from_email": "portal@notifications.service.gov.uk",
            "one_click_unsubscribe_url": null,
        })
    };
    shared.inner.lock().unwrap().accepted.push(Accepted {
        id,
        kind: kind.clone(),
        to: to.to_owned(),
        template_id: template_id.to_owned(),
        personalisation,
        reference: reference.clone(),
    });
    (
        StatusCode::CREATED,
        Json(json!({
            "id": id,
            "reference": reference,
            "content": content,
            "uri": format!("https://api.notifications.service.gov.uk/v2/notifications/{id}"),
            "template": {
                "id": template_id,
                "version": 1,
                "uri": format!("https://api.notifications.service.gov.uk/v2/template/{template_id}"),
            },
            "scheduled_for": null,
        })),
    )
}
