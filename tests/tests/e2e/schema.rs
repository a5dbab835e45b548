//! `schema.graphql` at the top of the repository is the served schema.

#[test]
fn checked_in_schema_matches_the_served_schema() {
    let served = api::graphql::sdl();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql");
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    if checked_in != served {
        if std::env::var("UPDATE_SCHEMA").is_ok() {
            std::fs::write(path, &served).expect("write schema.graphql");
            return;
        }
        panic!(
            "schema.graphql is stale: run `cargo run -q -- print-schema > schema.graphql` \
             (or this test with UPDATE_SCHEMA=1) and commit it"
        );
    }
}
