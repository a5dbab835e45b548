//! The scenarios against the PostGraphile peers (5.x, the ratio's baseline,
//! and 4.x beside it): the payment search and a resident's case page, first
//! checked to return the same rows on every server, then loaded with `oha` on
//! each; one table row per scenario, and one for where the case page's CPU
//! goes (the server's own and PostgreSQL's, per request).

use std::{collections::HashMap, path::Path};

use chrono::{Duration as Days, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    Args, RANGE_DAYS,
    load::{Oha, load},
    report::{Row, ratio},
    server::{Server, graphql, mib},
    tools::PeerInstall,
};
use crate::table::rate;

/// A running peer.
pub(super) struct Peer<'a> {
    pub(super) install: &'a PeerInstall,
    pub(super) server: &'a Server,
}

/// The payment search as a PostGraphile `major` writes it.
fn peer_search(major: u8, org: Uuid, from: &str, to: &str) -> Value {
    let row_id = if major >= 5 { "rowId" } else { "id" };
    let order = if major >= 5 { "ROW_ID_DESC" } else { "ID_DESC" };
    json!({
        "query": format!(
            "{{ allPayments(first: 50, orderBy: [PAYMENT_DATE_DESC, {order}], \
               condition: {{ organisationId: \"{org}\" }}, \
               filter: {{ paymentDate: {{ greaterThanOrEqualTo: \"{from}\", lessThanOrEqualTo: \"{to}\" }} }}) {{ \
               totalCount pageInfo {{ hasNextPage endCursor }} \
               edges {{ node {{ {row_id} amountPence paymentDate periodStart periodEnd tenantName postcode claimReference arrangementReference }} }} }} }}"
        ),
    })
}

/// The case page as a PostGraphile `major` writes it (5.x names the `id`
/// column `rowId`, `id` being its global node id).
fn peer_case(major: u8, case_id: Uuid) -> Value {
    let (by_id, id) = if major >= 5 {
        (format!("caseByRowId(rowId: \"{case_id}\")"), "rowId")
    } else {
        (format!("caseById(id: \"{case_id}\")"), "id")
    };
    json!({
        "query": format!(
            "{{ {by_id} {{ {id} reference caseType stage statusLabel category createdAt closedAt \
               userByOwnerUserId {{ {id} firstName lastName staffTeam staffRole }} \
               organisationByLandlordOrganisationId {{ name address }} \
               casePartiesByCaseId {{ nodes {{ partyKind userByUserId {{ firstName lastName address }} organisationByOrganisationId {{ name address }} }} }} \
               nextTasks: tasksByCaseId(first: 5, orderBy: DUE_DATE_ASC, condition: {{ status: \"PENDING\", assigneeKind: \"RESIDENT\" }}) {{ nodes {{ {id} title dueDate status }} }} \
               tasksByCaseId(orderBy: DUE_DATE_ASC, condition: {{ assigneeKind: \"RESIDENT\" }}) {{ nodes {{ {id} title dueDate status assigneeKind \
                 userByAssigneeUserId {{ firstName lastName }} organisationByAssigneeOrganisationId {{ name }} }} }} \
               messagesByCaseId(orderBy: CREATED_AT_ASC) {{ nodes {{ {id} subject body createdAt \
                 userBySenderUserId {{ firstName lastName staffTeam }} }} }} }} }}"
        ),
    })
}

/// The string fields `keys` of each object of `list`, in order.
fn fields(list: &Value, keys: &[&str]) -> Option<Vec<Vec<String>>> {
    list.as_array().map(|items| {
        items
            .iter()
            .map(|item| {
                keys.iter()
                    .map(|k| match &item[*k] {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect()
            })
            .collect()
    })
}

/// Like [`fields`], sorted (for lists whose order ties may break apart).
fn sorted_fields(list: &Value, keys: &[&str]) -> Option<Vec<Vec<String>>> {
    fields(list, keys).map(|mut rows| {
        rows.sort();
        rows
    })
}

/// What the payment search returned, to compare: the total and the page's
/// (date, tenant, claim reference) in order.
type SearchRows = (Option<i64>, Option<Vec<Vec<String>>>);
/// What the case page returned, to compare: its tasks and messages.
type CaseRows = (Option<Vec<Vec<String>>>, Option<Vec<Vec<String>>>);

const PAYMENT_KEYS: &[&str] = &["paymentDate", "tenantName", "claimReference"];
const TASK_KEYS: &[&str] = &["title", "dueDate", "status"];
const MESSAGE_KEYS: &[&str] = &["subject", "body"];

fn peer_search_rows(v: &Value) -> SearchRows {
    let page = &v["data"]["allPayments"];
    let nodes: Vec<Value> = page["edges"]
        .as_array()
        .map(|e| e.iter().map(|e| e["node"].clone()).collect())
        .unwrap_or_default();
    (
        page["totalCount"].as_i64(),
        fields(&Value::Array(nodes), PAYMENT_KEYS),
    )
}

fn peer_case_rows(v: &Value) -> CaseRows {
    let case = v["data"]
        .as_object()
        .and_then(|d| d.values().next())
        .cloned()
        .unwrap_or(Value::Null);
    (
        sorted_fields(&case["tasksByCaseId"]["nodes"], TASK_KEYS),
        sorted_fields(&case["messagesByCaseId"]["nodes"], MESSAGE_KEYS),
    )
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn measure(
    args: &Args,
    seconds: u64,
    oha: &Path,
    api: &Server,
    peers: &[Peer<'_>],
    database_url: &str,
    org: Uuid,
    payments_token: &str,
    session: &str,
    case_id: Uuid,
) -> anyhow::Result<Vec<Row>> {
    anyhow::ensure!(!peers.is_empty(), "no peer");
    let today = Utc::now().date_naive();
    let from = today - Days::days(RANGE_DAYS - 1);
    let (from_s, today_s) = (from.to_string(), today.to_string());
    let http = reqwest::Client::new();

    // (a) The payment search: the same total and the same page everywhere.
    let ours_search = json!({
        "query": crate::payments::SEARCH,
        "variables": { "filter": { "from": from_s, "to": today_s } },
    });
    let ours = graphql(&http, &api.endpoint, Some(payments_token), &ours_search).await?;
    let ours_nodes: Vec<Value> = ours["data"]["payments"]["edges"]
        .as_array()
        .map(|e| e.iter().map(|e| e["node"].clone()).collect())
        .unwrap_or_default();
    let our_search: SearchRows = (
        ours["data"]["payments"]["totalCount"].as_i64(),
        fields(&Value::Array(ours_nodes), PAYMENT_KEYS),
    );
    let mut peer_searches = Vec::new();
    for peer in peers {
        let body = peer_search(peer.install.major, org, &from_s, &today_s);
        let theirs = graphql(&http, &peer.server.endpoint, None, &body).await?;
        let rows = peer_search_rows(&theirs);
        eprintln!(
            "[check] payment search: portal totalCount {:?}, page {:?}; {} totalCount {:?}, page {:?}",
            our_search.0,
            our_search.1.as_ref().map(Vec::len),
            peer.install.name(),
            rows.0,
            rows.1.as_ref().map(Vec::len),
        );
        anyhow::ensure!(
            our_search.0.is_some() && our_search.1.as_ref().is_some_and(|p| !p.is_empty()),
            "the portal's payment search returned nothing: {ours}"
        );
        anyhow::ensure!(
            rows == our_search,
            "the payment searches of the portal and {} differ: {:?} against {:?}",
            peer.install.name(),
            our_search,
            rows
        );
        peer_searches.push(body);
    }

    // (b) The case page: the same tasks and messages everywhere.
    let case_gid =
        api::graphql::scalars::global_id(api::graphql::scalars::NodeKind::Case, case_id).0;
    let ours_case = json!({ "query": crate::cases::CASE, "variables": { "id": case_gid } });
    let ours = graphql(&http, &api.endpoint, Some(session), &ours_case).await?;
    let our_case: CaseRows = (
        sorted_fields(&ours["data"]["case"]["tasks"], TASK_KEYS),
        sorted_fields(&ours["data"]["case"]["messages"], MESSAGE_KEYS),
    );
    let mut peer_cases = Vec::new();
    for peer in peers {
        let body = peer_case(peer.install.major, case_id);
        let theirs = graphql(&http, &peer.server.endpoint, None, &body).await?;
        let rows = peer_case_rows(&theirs);
        eprintln!(
            "[check] case page (tasks, messages): portal ({:?}, {:?}); {} ({:?}, {:?})",
            our_case.0.as_ref().map(Vec::len),
            our_case.1.as_ref().map(Vec::len),
            peer.install.name(),
            rows.0.as_ref().map(Vec::len),
            rows.1.as_ref().map(Vec::len),
        );
        anyhow::ensure!(
            our_case.0.as_ref().is_some_and(|t| !t.is_empty()),
            "the portal's case page has no tasks: {ours}"
        );
        anyhow::ensure!(
            rows == our_case,
            "the case pages of the portal and {} differ: {:?} against {:?}",
            peer.install.name(),
            our_case,
            rows
        );
        peer_cases.push(body);
    }

    let cpu_db = platform::db::connect_url(database_url).await?;
    let ticks = clock_ticks();
    let mut rows = Vec::new();
    let scenarios = [
        (
            format!(
                "(a) payment search, page 50, {RANGE_DAYS}-day range, totalCount ({} rows match)",
                our_search.0.unwrap_or(0)
            ),
            &ours_search,
            payments_token,
            &peer_searches,
        ),
        (
            format!(
                "(b) case page: case, parties, {} tasks, {} messages",
                our_case.0.as_ref().map_or(0, Vec::len),
                our_case.1.as_ref().map_or(0, Vec::len)
            ),
            &ours_case,
            session,
            &peer_cases,
        ),
    ];
    let last = scenarios.len() - 1;
    for (i, (name, ours_body, token, peer_bodies)) in scenarios.into_iter().enumerate() {
        eprintln!("[load] {name}: portal api");
        let before = Cpu::read(&cpu_db, api.pid).await;
        let ours = load(oha, args.concurrency, seconds, api, Some(token), ours_body).await?;
        let ours_cpu = Cpu::read(&cpu_db, api.pid)
            .await
            .since(&before, ticks, &ours);
        let mut theirs = Vec::new();
        for (peer, body) in peers.iter().zip(peer_bodies) {
            eprintln!("[load] {name}: {}", peer.install.name());
            let before = Cpu::read(&cpu_db, peer.server.pid).await;
            let figures = load(oha, args.concurrency, seconds, peer.server, None, body).await?;
            let cpu = Cpu::read(&cpu_db, peer.server.pid)
                .await
                .since(&before, ticks, &figures);
            theirs.push((peer, figures, cpu));
        }
        // A 200 may still carry GraphQL errors, which oha cannot see: one
        // more checked request after each load.
        graphql(&http, &api.endpoint, Some(token), ours_body).await?;
        for (peer, body) in peers.iter().zip(peer_bodies) {
            graphql(&http, &peer.server.endpoint, None, body).await?;
        }
        let baseline = theirs
            .iter()
            .map(|(peer, t, _)| {
                format!(
                    "{}: {} req/s ({}), p50 {:.1} / p99 {:.1} ms, RSS {} MiB",
                    peer.install.name(),
                    rate(t.rps),
                    t.success(),
                    t.p50_ms,
                    t.p99_ms,
                    mib(t.peak_rss_kib)
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let (first_peer, first, first_cpu) = &theirs[0];
        rows.push(Row {
            scenario: format!("{name} (ratio to {})", first_peer.install.name()),
            ours: format!("{} req/s ({})", rate(ours.rps), ours.success()),
            baseline,
            ratio: ratio(ours.rps, first.rps),
            p50: format!("{:.1} ms", ours.p50_ms),
            p99: format!("{:.1} ms", ours.p99_ms),
            memory: format!("{} MiB", mib(ours.peak_rss_kib)),
        });
        if i == last {
            // Where the case page's CPU goes: the server's own and the
            // PostgreSQL backends' serving it, per request.
            rows.push(Row {
                scenario: "where the case page's CPU goes: ms of CPU per request, the server / PostgreSQL (its backends on the bench database); ratio: the server's CPU per request, ours / theirs".into(),
                ours: ours_cpu.describe("the API"),
                baseline: theirs
                    .iter()
                    .map(|(peer, _, cpu)| format!("{}: {}", peer.install.name(), cpu.describe("node")))
                    .collect::<Vec<_>>()
                    .join("; "),
                ratio: ratio(ours_cpu.server_ms, first_cpu.server_ms),
                p50: "—".into(),
                p99: "—".into(),
                memory: "—".into(),
            });
        }
    }
    cpu_db.close().await.ok();
    Ok(rows)
}

/// CPU time per request of a server and of the PostgreSQL backends, over a
/// load.
struct CpuPerRequest {
    server_ms: f64,
    postgres_ms: f64,
}

impl CpuPerRequest {
    fn describe(&self, server: &str) -> String {
        format!(
            "{server} {:.2} ms, PostgreSQL {:.2} ms",
            self.server_ms, self.postgres_ms
        )
    }
}

/// CPU ticks used so far by a server and by each backend of the bench
/// database (from `/proc/<pid>/stat`: user + system).
struct Cpu {
    server: u64,
    backends: HashMap<u32, u64>,
}

impl Cpu {
    async fn read(db: &DatabaseConnection, server_pid: u32) -> Self {
        let pids: Vec<u32> = db
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT pid FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            ))
            .await
            .map(|rows| {
                rows.iter()
                    .filter_map(|r| r.try_get::<i32>("", "pid").ok())
                    .map(|p| p as u32)
                    .collect()
            })
            .unwrap_or_default();
        Self {
            server: cpu_ticks(server_pid).unwrap_or(0),
            backends: pids
                .into_iter()
                .filter_map(|p| cpu_ticks(p).map(|t| (p, t)))
                .collect(),
        }
    }

    /// Per request of `load`, since `before`. A backend that started during
    /// the load counts whole; one that ended during it is lost (the pools
    /// keep theirs open).
    fn since(&self, before: &Self, ticks_per_second: f64, load: &Oha) -> CpuPerRequest {
        let requests = load.requests.max(1) as f64;
        let ms = |ticks: u64| ticks as f64 * 1000.0 / ticks_per_second / requests;
        let postgres: u64 = self
            .backends
            .iter()
            .map(|(pid, now)| now.saturating_sub(before.backends.get(pid).copied().unwrap_or(0)))
            .sum();
        CpuPerRequest {
            server_ms: ms(self.server.saturating_sub(before.server)),
            postgres_ms: ms(postgres),
        }
    }
}

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: the fields start after its ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the line; 12 and 13 after the state.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux when that fails).
fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}
