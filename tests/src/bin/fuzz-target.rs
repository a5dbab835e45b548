//! A running instance for the schema fuzzer (`.ci/fuzz`): the real router on
//! a fresh embedded database with the demo data, introspection on, and two
//! signed-in users — a caseworker (staff) and a landlord user with every
//! permission — whose bearer tokens are printed as one JSON line:
//!
//! ```text
//! {"url":"http://127.0.0.1:PORT/graphql","staff_token":"ps_...","landlord_token":"ps_..."}
//! ```
//!
//! It serves until stdin closes or it is killed. Use `--port` to choose the
//! port (default: any free one).

use std::net::SocketAddr;

use portal_tests::TestApp;
use tokio::io::AsyncReadExt;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let port: u16 = match std::env::args().skip_while(|a| a != "--port").nth(1) {
        Some(p) => p.parse()?,
        None => 0,
    };
    let app = TestApp::builder()
        .embedded()
        .allow_leftover_jobs()
        .env("PORTAL_INTROSPECTION", "true")
        .env("PORTAL_FIELD_SUGGESTIONS", "true")
        // The fuzzer sends thousands of operations from one session; the
        // per-principal cost budget (tested in `attacks::cost`) would end
        // the run early.
        .env("PORTAL_COST_PER_MINUTE", "1000000000")
        .build()
        .await;
    api::demo::load_demo_data(app.db(), app.config()).await?;
    let staff = app.caseworker().await;
    let org = app.create_organisation(&["fuzz.example"], false).await;
    let landlord = app.landlord_user(org, entities::Permission::ALL).await;

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    println!(
        "{}",
        serde_json::json!({
            "url": format!("http://{addr}/graphql"),
            "staff_token": staff.token,
            "landlord_token": landlord.token,
        })
    );
    let router = api::http::router(app.state.clone());
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    );
    let stdin_closed = async {
        let mut sink = Vec::new();
        let _ = tokio::io::stdin().read_to_end(&mut sink).await;
    };
    tokio::select! {
        r = server => r?,
        () = stdin_closed => {}
    }
    Ok(())
}
