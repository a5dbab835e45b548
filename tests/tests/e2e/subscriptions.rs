//! Live updates over `/graphql/ws`, on a real socket: a subscriber gets the
//! messages, tasks and unread counts of the cases it may see and nothing
//! else; anonymous subscriptions are refused; and, with Redis, an event raised
//! on one API instance reaches a subscriber on another.

use portal_tests::gid;
use std::{net::SocketAddr, time::Duration};

use chrono::{Days, Utc};
use futures::{SinkExt, StreamExt};
use portal_tests::{TestApp, case_fixtures::Assignee};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

use api::{
    app::AppState,
    events::{CaseEvent, EventBus},
};
use entities::message_read;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn serve(state: AppState) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = api::http::router(state);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// A connection initialised with `token` (none: anonymous).
async fn connect(addr: SocketAddr, token: Option<&str>) -> Socket {
    let mut request = format!("ws://{addr}/graphql/ws")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let payload = match token {
        Some(token) => json!({ "authorization": format!("Bearer {token}") }),
        None => json!({}),
    };
    socket
        .send(Message::text(
            json!({ "type": "connection_init", "payload": payload }).to_string(),
        ))
        .await
        .unwrap();
    let ack = receive(&mut socket).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    socket
}

/// Starts subscription `id` and waits until the server is listening for it
/// (`bus` has one more receiver), so that events published next reach it.
async fn subscribe(socket: &mut Socket, bus: &EventBus, id: &str, query: &str) {
    let before = bus.subscriber_count();
    socket
        .send(Message::text(
            json!({ "id": id, "type": "subscribe", "payload": { "query": query } }).to_string(),
        ))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), async {
        while bus.subscriber_count() <= before {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the subscription starts listening");
}

/// The next protocol message (pings answered and skipped).
async fn receive(socket: &mut Socket) -> Value {
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message within 10 s");
        match next {
            Some(Ok(Message::Text(text))) => {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["type"] == "ping" {
                    continue;
                }
                return value;
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("unexpected: {other:?}"),
        }
    }
}

/// Nothing arrives within a short while.
async fn nothing_more(socket: &mut Socket) {
    let next = tokio::time::timeout(Duration::from_millis(300), socket.next()).await;
    assert!(next.is_err(), "unexpected: {next:?}");
}

const MESSAGES: &str = "subscription { messagePosted { messageId caseId caseReference \
     message { id subject body fromStaff senderName } case { id reference } } }";
const TASKS: &str = "subscription { taskChanged { taskId caseReference \
     task { id title status overdue } } }";
const UNREAD: &str = "subscription { unreadCounts { total byCase { caseId count } } }";

#[tokio::test]
async fn anonymous_subscriptions_are_refused_as_unauthenticated() {
    let app = TestApp::init().await;
    let addr = serve(app.state.clone()).await;
    let mut socket = connect(addr, None).await;
    socket
        .send(Message::text(
            json!({ "id": "1", "type": "subscribe", "payload": { "query": MESSAGES } }).to_string(),
        ))
        .await
        .unwrap();
    // A resolver error: one result carrying the error, then the end.
    let error = receive(&mut socket).await;
    assert_eq!(error["type"], "next", "{error}");
    assert_eq!(
        error["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{error}"
    );
    let complete = receive(&mut socket).await;
    assert_eq!(complete["type"], "complete", "{complete}");
}

#[tokio::test]
async fn a_resident_is_sent_the_messages_of_their_cases_and_no_one_elses() {
    let app = TestApp::init().await;
    let addr = serve(app.state.clone()).await;
    let caseworker = app.caseworker().await;
    let alice = app.resident().await;
    let bob = app.resident().await;
    let alices = app
        .create_case(
            "202600001",
            Some(alice.user.id),
            None,
            Some(caseworker.user.id),
        )
        .await;
    let bobs = app
        .create_case(
            "202600002",
            Some(bob.user.id),
            None,
            Some(caseworker.user.id),
        )
        .await;

    let mut socket = connect(addr, Some(&alice.token)).await;
    subscribe(&mut socket, &app.state.events, "m", MESSAGES).await;

    // Bob's message is published first: had it been delivered, it would
    // arrive before Alice's.
    let secret = app
        .create_message(bobs.id, caseworker.user.id, "For Bob only")
        .await;
    app.state.events.publish(CaseEvent::MessagePosted {
        case_id: bobs.id,
        message_id: secret.id,
    });
    let mine = app
        .create_message(alices.id, caseworker.user.id, "We have your evidence")
        .await;
    app.state.events.publish(CaseEvent::MessagePosted {
        case_id: alices.id,
        message_id: mine.id,
    });

    let next = receive(&mut socket).await;
    assert_eq!(next["type"], "next", "{next}");
    assert_eq!(next["id"], "m");
    let posted = &next["payload"]["data"]["messagePosted"];
    assert_eq!(posted["messageId"], gid("Message", mine.id));
    assert_eq!(posted["caseId"], gid("Case", alices.id));
    assert_eq!(posted["caseReference"], "202600001");
    assert_eq!(posted["case"]["id"], gid("Case", alices.id));
    assert_eq!(posted["case"]["reference"], "202600001");
    assert_eq!(posted["message"]["id"], gid("Message", mine.id));
    assert_eq!(posted["message"]["body"], "We have your evidence");
    assert_eq!(posted["message"]["fromStaff"], true);
    assert_eq!(posted["message"]["senderName"], "Test Staff");

    // An event naming Alice's case but Bob's message (forged or stale) is
    // checked against the message's own case, not the event's.
    app.state.events.publish(CaseEvent::MessagePosted {
        case_id: alices.id,
        message_id: secret.id,
    });
    nothing_more(&mut socket).await;
}

#[tokio::test]
async fn a_landlord_is_not_sent_the_residents_reply() {
    let app = TestApp::init().await;
    let addr = serve(app.state.clone()).await;
    let caseworker = app.caseworker().await;
    let resident = app.resident().await;
    let org = app.create_organisation(&[], false).await;
    let landlord = app
        .create_user(entities::UserKind::Landlord, None, Some(org))
        .await;
    let case = app
        .create_case(
            "202600008",
            Some(resident.user.id),
            Some(org),
            Some(caseworker.user.id),
        )
        .await;
    let residents_party = entities::case_party::Entity::find()
        .filter(entities::case_party::Column::UserId.eq(resident.user.id))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let question = app
        .create_message(case.id, caseworker.user.id, "Can you both send photos?")
        .await;

    let mut socket = connect(addr, Some(&landlord.token)).await;
    subscribe(&mut socket, &app.state.events, "m", MESSAGES).await;

    // The resident's reply is between them and the caseworker.
    let reply = entities::message::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        case_id: Set(case.id),
        sender_user_id: Set(resident.user.id),
        parent_message_id: Set(Some(question.id)),
        replying_party_id: Set(Some(residents_party.id)),
        subject: Set(None),
        body: Set("Photos attached".into()),
        created_at: Set(Utc::now()),
        to_resident: Set(false),
        to_landlord: Set(false),
    }
    .insert(app.db())
    .await
    .unwrap();
    app.state.events.publish(CaseEvent::MessagePosted {
        case_id: case.id,
        message_id: reply.id,
    });
    let update = app
        .create_message(case.id, caseworker.user.id, "Thank you")
        .await;
    app.state.events.publish(CaseEvent::MessagePosted {
        case_id: case.id,
        message_id: update.id,
    });

    let next = receive(&mut socket).await;
    assert_eq!(
        next["payload"]["data"]["messagePosted"]["messageId"],
        gid("Message", update.id),
        "{next}"
    );
    nothing_more(&mut socket).await;
}

/// Live updates follow a message's recipients: a message the caseworker
/// sends to the resident alone reaches the resident's subscriptions and
/// never the landlord's (neither the message nor a change of their unread
/// count); one sent to both reaches both.
#[tokio::test]
async fn a_message_to_the_resident_alone_is_not_sent_to_the_landlord() {
    let app = TestApp::init().await;
    let addr = serve(app.state.clone()).await;
    let caseworker = app.caseworker().await;
    let resident = app.resident().await;
    let org = app.create_organisation(&[], false).await;
    let landlord = app
        .create_user(entities::UserKind::Landlord, None, Some(org))
        .await;
    let case = app
        .create_case(
            "202600010",
            Some(resident.user.id),
            Some(org),
            Some(caseworker.user.id),
        )
        .await;

    let mut residents = connect(addr, Some(&resident.token)).await;
    subscribe(&mut residents, &app.state.events, "m", MESSAGES).await;
    let mut landlords = connect(addr, Some(&landlord.token)).await;
    subscribe(&mut landlords, &app.state.events, "m", MESSAGES).await;
    let mut landlord_counts = connect(addr, Some(&landlord.token)).await;
    subscribe(&mut landlord_counts, &app.state.events, "u", UNREAD).await;
    let initial = receive(&mut landlord_counts).await;
    assert_eq!(initial["payload"]["data"]["unreadCounts"]["total"], 0);

    let send = "mutation($c: ID!, $input: SendMessageInput!) { sendMessage(caseId: $c, input: $input) { id } }";
    let private = app
        .graphql(
            Some(&caseworker.token),
            send,
            json!({ "c": gid("Case", case.id), "input": { "subject": "Medical evidence", "body": "For you only", "recipients": ["RESIDENT"] } }),
        )
        .await;
    let private = private.data()["sendMessage"]["id"].clone();
    let shared = app
        .graphql(
            Some(&caseworker.token),
            send,
            json!({ "c": gid("Case", case.id), "input": { "subject": "Inspection", "body": "For you both", "recipients": ["RESIDENT", "LANDLORD"] } }),
        )
        .await;
    let shared = shared.data()["sendMessage"]["id"].clone();

    for expected in [&private, &shared] {
        let next = receive(&mut residents).await;
        assert_eq!(
            &next["payload"]["data"]["messagePosted"]["messageId"], expected,
            "{next}"
        );
    }
    // Had the private message been delivered, it would arrive first.
    let next = receive(&mut landlords).await;
    assert_eq!(
        next["payload"]["data"]["messagePosted"]["messageId"], shared,
        "{next}"
    );
    nothing_more(&mut landlords).await;
    let counted = receive(&mut landlord_counts).await;
    assert_eq!(
        counted["payload"]["data"]["unreadCounts"]["total"], 1,
        "{counted}"
    );
    nothing_more(&mut landlord_counts).await;
    app.run_pending_jobs().await;
}

#[tokio::test]
async fn a_revoked_session_stops_receiving() {
    let app = TestApp::init().await;
    let addr = serve(app.state.clone()).await;
    let caseworker = app.caseworker().await;
    let resident = app.resident().await;
    let case = app
        .create_case(
            "202600009",
            Some(resident.user.id),
            None,
            Some(caseworker.user.id),
        )
        .await;
    let mut socket = connect(addr, Some(&resident.token)).await;
    subscribe(&mut socket, &app.state.events, "m", MESSAGES).await;

    // Signed out elsewhere ("end this session", a password reset, deactivation).
    entities::session::Entity::update_many()
        .col_expr(
            entities::session::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(Some(Utc::now())),
        )
        .filter(entities::session::Column::UserId.eq(resident.user.id))
        .exec(app.db())
        .await
        .unwrap();
    let message = app
        .create_message(case.id, caseworker.user.id, "After sign-out")
        .await;
    app.state.events.publish(CaseEvent::MessagePosted {
        case_id: case.id,
        message_id: message.id,
    });
    let end = receive(&mut socket).await;
    assert_eq!(end["type"], "complete", "{end}");
}

#[tokio::test]
async fn landlord_users_are_sent_their_organisations_tasks_only() {
    let app = TestApp::init().await;
    let addr = serve(app.state.clone()).await;
    let caseworker = app.caseworker().await;
    let resident = app.resident().await;
    let org = app.create_organisation(&[], false).await;
    let other_org = app.create_organisation(&[], false).await;
    let landlord = app
        .create_user(entities::UserKind::Landlord, None, Some(org))
        .await;
    let outsider = app
        .create_user(entities::UserKind::Landlord, None, Some(other_org))
        .await;
    let case = app
        .create_case(
            "202600003",
            Some(resident.user.id),
            Some(org),
            Some(caseworker.user.id),
        )
        .await;
    let yesterday = Utc::now().date_naive() - Days::new(1);

    let mut landlords = connect(addr, Some(&landlord.token)).await;
    subscribe(&mut landlords, &app.state.events, "t", TASKS).await;
    let mut outsiders = connect(addr, Some(&outsider.token)).await;
    subscribe(&mut outsiders, &app.state.events, "t", TASKS).await;
    let mut staff = connect(addr, Some(&caseworker.token)).await;
    subscribe(&mut staff, &app.state.events, "t", TASKS).await;

    let residents_task = app
        .create_task(
            case.id,
            "Send photos",
            yesterday,
            Assignee::Resident(resident.user.id),
        )
        .await;
    let landlords_task = app
        .create_task(
            case.id,
            "Send the repair log",
            yesterday,
            Assignee::Organisation(org),
        )
        .await;
    for task in [&residents_task, &landlords_task] {
        app.state.events.publish(CaseEvent::TaskChanged {
            case_id: case.id,
            task_id: task.id,
        });
    }

    let next = receive(&mut landlords).await;
    let task = &next["payload"]["data"]["taskChanged"];
    assert_eq!(task["taskId"], gid("Task", landlords_task.id), "{next}");
    assert_eq!(task["caseReference"], "202600003");
    assert_eq!(task["task"]["title"], "Send the repair log");
    assert_eq!(task["task"]["status"], "PENDING");
    assert_eq!(task["task"]["overdue"], true);
    nothing_more(&mut landlords).await;

    // Staff see both; the other organisation's user sees neither.
    for expected in [&residents_task, &landlords_task] {
        let next = receive(&mut staff).await;
        assert_eq!(
            next["payload"]["data"]["taskChanged"]["taskId"],
            gid("Task", expected.id)
        );
    }
    nothing_more(&mut outsiders).await;
}

#[tokio::test]
async fn unread_counts_follow_new_messages_and_reads() {
    let app = TestApp::init().await;
    let addr = serve(app.state.clone()).await;
    let caseworker = app.caseworker().await;
    let resident = app.resident().await;
    let stranger = app.resident().await;
    let case = app
        .create_case(
            "202600004",
            Some(resident.user.id),
            None,
            Some(caseworker.user.id),
        )
        .await;
    let other = app
        .create_case(
            "202600005",
            Some(stranger.user.id),
            None,
            Some(caseworker.user.id),
        )
        .await;
    let first = app
        .create_message(case.id, caseworker.user.id, "First")
        .await;

    let mut socket = connect(addr, Some(&resident.token)).await;
    subscribe(&mut socket, &app.state.events, "u", UNREAD).await;
    let initial = receive(&mut socket).await;
    assert_eq!(
        initial["payload"]["data"]["unreadCounts"],
        json!({ "total": 1, "byCase": [{ "caseId": gid("Case", case.id), "count": 1 }] })
    );

    // A message on someone else's case changes nothing and sends nothing.
    let theirs = app
        .create_message(other.id, caseworker.user.id, "Not yours")
        .await;
    app.state.events.publish(CaseEvent::MessagePosted {
        case_id: other.id,
        message_id: theirs.id,
    });
    let second = app
        .create_message(case.id, caseworker.user.id, "Second")
        .await;
    app.state.events.publish(CaseEvent::MessagePosted {
        case_id: case.id,
        message_id: second.id,
    });
    let after_post = receive(&mut socket).await;
    assert_eq!(after_post["payload"]["data"]["unreadCounts"]["total"], 2);

    // Someone else reading is not this user's business.
    app.state.events.publish(CaseEvent::MessagesRead {
        user_id: stranger.user.id,
        case_id: case.id,
    });
    nothing_more(&mut socket).await;

    for message in [&first, &second] {
        message_read::ActiveModel {
            message_id: Set(message.id),
            user_id: Set(resident.user.id),
            read_at: Set(Utc::now()),
        }
        .insert(app.db())
        .await
        .unwrap();
    }
    app.state.events.publish(CaseEvent::MessagesRead {
        user_id: resident.user.id,
        case_id: case.id,
    });
    let after_read = receive(&mut socket).await;
    assert_eq!(
        after_read["payload"]["data"]["unreadCounts"],
        json!({ "total": 0, "byCase": [] })
    );
}

/// Two API instances on one database and one Redis: an event published on
/// instance A reaches a subscriber on instance B, and the case policy still
/// holds there.
#[tokio::test]
async fn an_event_raised_on_one_instance_reaches_a_subscriber_on_another() {
    if portal_tests::skip_unless(&["TEST_REDIS_URL"], "cross-instance live updates").is_none() {
        return;
    }
    let app = TestApp::init().await;
    let a = app.state.clone();
    // Instance B: its own state and event bus, on the same database, queue
    // name (so the same events channel) and Redis.
    let b = api::run::build_app(a.config.clone(), a.db.clone(), a.queue.clone())
        .await
        .expect("build app");
    assert_ne!(a.events.instance(), b.events.instance());
    a.events.bridged().await;
    b.events.bridged().await;
    let addr_b = serve(b.clone()).await;

    let caseworker = app.caseworker().await;
    let resident = app.resident().await;
    let stranger = app.resident().await;
    let case = app
        .create_case(
            "202600006",
            Some(resident.user.id),
            None,
            Some(caseworker.user.id),
        )
        .await;
    let other = app
        .create_case(
            "202600007",
            Some(stranger.user.id),
            None,
            Some(caseworker.user.id),
        )
        .await;

    let mut socket = connect(addr_b, Some(&resident.token)).await;
    subscribe(&mut socket, &b.events, "m", MESSAGES).await;

    let hidden = app
        .create_message(other.id, caseworker.user.id, "Not for this subscriber")
        .await;
    a.events.publish(CaseEvent::MessagePosted {
        case_id: other.id,
        message_id: hidden.id,
    });
    let message = app
        .create_message(case.id, caseworker.user.id, "Raised on instance A")
        .await;
    a.events.publish(CaseEvent::MessagePosted {
        case_id: case.id,
        message_id: message.id,
    });

    let next = receive(&mut socket).await;
    assert_eq!(
        next["payload"]["data"]["messagePosted"]["message"]["body"], "Raised on instance A",
        "{next}"
    );
    nothing_more(&mut socket).await;
}

/// An instance does not deliver its own events twice (once locally, once
/// back from Redis).
#[tokio::test]
async fn an_instance_delivers_its_own_events_once() {
    if portal_tests::skip_unless(&["TEST_REDIS_URL"], "the Redis events bridge").is_none() {
        return;
    }
    let app = TestApp::init().await;
    let bus = &app.state.events;
    bus.bridged().await;
    let mut rx = bus.subscribe();
    let event = CaseEvent::TaskChanged {
        case_id: uuid::Uuid::now_v7(),
        task_id: uuid::Uuid::now_v7(),
    };
    bus.publish(event.clone());
    assert_eq!(rx.recv().await.unwrap(), event);
    let again = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await;
    assert!(again.is_err(), "delivered twice: {again:?}");
}
