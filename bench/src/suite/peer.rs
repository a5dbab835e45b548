//! The two scenarios against the PostGraphile peer: the payment search and a
//! resident's case page, first checked to return the same rows on both
//! servers, then loaded with `oha` on each; one table row per scenario.

use std::path::Path;

use chrono::{Duration as Days, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    Args, PEER_VERSION, RANGE_DAYS,
    load::load,
    report::{Row, ratio},
    server::{Server, graphql, mib},
};
use crate::table::rate;

#[allow(clippy::too_many_arguments)]
pub(super) async fn measure(
    args: &Args,
    seconds: u64,
    oha: &Path,
    api: &Server,
    peer: &Server,
    org: Uuid,
    payments_token: &str,
    session: &str,
    case_id: Uuid,
) -> anyhow::Result<Vec<Row>> {
    let today = Utc::now().date_naive();
    let from = today - Days::days(RANGE_DAYS - 1);
    let http = reqwest::Client::new();
    // (a) The payment search.
    let ours_search = json!({
        "query": crate::payments::SEARCH,
        "variables": { "filter": { "from": from.to_string(), "to": today.to_string() } },
    });
    let peer_search = json!({
        "query": format!(
            "{{ allPayments(first: 50, orderBy: [PAYMENT_DATE_DESC, ID_DESC], \
               condition: {{ organisationId: \"{org}\" }}, \
               filter: {{ paymentDate: {{ greaterThanOrEqualTo: \"{from}\", lessThanOrEqualTo: \"{today}\" }} }}) {{ \
               totalCount pageInfo {{ hasNextPage endCursor }} \
               edges {{ node {{ id amountPence paymentDate periodStart periodEnd tenantName postcode claimReference arrangementReference }} }} }} }}"
        ),
    });
    let ours = graphql(&http, &api.endpoint, Some(payments_token), &ours_search).await?;
    let theirs = graphql(&http, &peer.endpoint, None, &peer_search).await?;
    let (our_count, our_page) = (
        ours["data"]["payments"]["totalCount"].as_i64(),
        ours["data"]["payments"]["edges"].as_array().map(Vec::len),
    );
    let (peer_count, peer_page) = (
        theirs["data"]["allPayments"]["totalCount"].as_i64(),
        theirs["data"]["allPayments"]["edges"]
            .as_array()
            .map(Vec::len),
    );
    eprintln!(
        "[check] payment search: portal totalCount {our_count:?}, page {our_page:?}; PostGraphile totalCount {peer_count:?}, page {peer_page:?}"
    );
    anyhow::ensure!(
        our_count.is_some() && our_count == peer_count && our_page == peer_page,
        "the two payment searches differ"
    );
    // (b) The case page.
    let ours_case =
        json!({ "query": crate::cases::CASE, "variables": { "id": case_id.to_string() } });
    let peer_case = json!({
        "query": format!(
            "{{ caseById(id: \"{case_id}\") {{ id reference caseType stage statusLabel category createdAt closedAt \
               userByOwnerUserId {{ id firstName lastName staffTeam staffRole }} \
               organisationByLandlordOrganisationId {{ name address }} \
               casePartiesByCaseId {{ nodes {{ partyKind userByUserId {{ firstName lastName address }} organisationByOrganisationId {{ name address }} }} }} \
               nextTasks: tasksByCaseId(first: 5, orderBy: DUE_DATE_ASC, condition: {{ status: \"PENDING\", assigneeKind: \"RESIDENT\" }}) {{ nodes {{ id title dueDate status }} }} \
               tasksByCaseId(orderBy: DUE_DATE_ASC, condition: {{ assigneeKind: \"RESIDENT\" }}) {{ nodes {{ id title dueDate status assigneeKind \
                 userByAssigneeUserId {{ firstName lastName }} organisationByAssigneeOrganisationId {{ name }} }} }} \
               messagesByCaseId(orderBy: CREATED_AT_ASC) {{ nodes {{ id subject body createdAt \
                 userBySenderUserId {{ firstName lastName staffTeam }} }} }} }} }}"
        ),
    });
    let ours = graphql(&http, &api.endpoint, Some(session), &ours_case).await?;
    let theirs = graphql(&http, &peer.endpoint, None, &peer_case).await?;
    let count = |v: &Value| v.as_array().map(Vec::len);
    let ours_rows = (
        count(&ours["data"]["case"]["tasks"]),
        count(&ours["data"]["case"]["messages"]),
    );
    let peer_rows = (
        count(&theirs["data"]["caseById"]["tasksByCaseId"]["nodes"]),
        count(&theirs["data"]["caseById"]["messagesByCaseId"]["nodes"]),
    );
    eprintln!(
        "[check] case page (tasks, messages): portal {ours_rows:?}; PostGraphile {peer_rows:?}"
    );
    anyhow::ensure!(
        ours_rows.0.is_some() && ours_rows == peer_rows,
        "the two case pages differ"
    );

    let mut rows = Vec::new();
    for (name, ours_body, token, peer_body) in [
        (
            format!(
                "(a) payment search, page 50, {RANGE_DAYS}-day range, totalCount ({} rows match)",
                our_count.unwrap_or(0)
            ),
            &ours_search,
            payments_token,
            &peer_search,
        ),
        (
            format!(
                "(b) case page: case, parties, {} tasks, {} messages",
                ours_rows.0.unwrap_or(0),
                ours_rows.1.unwrap_or(0)
            ),
            &ours_case,
            session,
            &peer_case,
        ),
    ] {
        eprintln!("[load] {name}: portal api");
        let ours = load(oha, args.concurrency, seconds, api, Some(token), ours_body).await?;
        eprintln!("[load] {name}: PostGraphile");
        let theirs = load(oha, args.concurrency, seconds, peer, None, peer_body).await?;
        // A 200 may still carry GraphQL errors, which oha cannot see: one
        // more checked request after each load.
        graphql(&http, &api.endpoint, Some(token), ours_body).await?;
        graphql(&http, &peer.endpoint, None, peer_body).await?;
        rows.push(Row {
            scenario: name,
            ours: format!("{} req/s ({})", rate(ours.rps), ours.success()),
            baseline: format!(
                "PostGraphile {PEER_VERSION}: {} req/s ({}), p50 {:.1} / p99 {:.1} ms, RSS {} MiB",
                rate(theirs.rps),
                theirs.success(),
                theirs.p50_ms,
                theirs.p99_ms,
                mib(theirs.peak_rss_kib)
            ),
            ratio: ratio(ours.rps, theirs.rps),
            p50: format!("{:.1} ms", ours.p50_ms),
            p99: format!("{:.1} ms", ours.p99_ms),
            memory: format!("{} MiB", mib(ours.peak_rss_kib)),
        });
    }
    Ok(rows)
}
