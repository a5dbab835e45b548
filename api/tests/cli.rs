//! The `portal` binary refuses bad configuration before doing anything, and
//! names the variable at fault.

use std::process::Command;

fn portal(vars: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let data = tempfile_dir();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portal"));
    cmd.env_clear()
        .env("PORTAL_DATA_DIR", &data)
        .env("PORTAL_BIND_ADDR", "127.0.0.1:0")
        .args(args);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().expect("run portal")
}

fn tempfile_dir() -> String {
    let dir = std::env::temp_dir().join(format!("portal-cli-{}", std::process::id()));
    dir.display().to_string()
}

#[test]
fn malformed_and_unknown_settings_stop_the_process_naming_the_variable() {
    for (vars, variable) in [
        (
            vec![("PORTAL_MAX_BATCH_SIZE", "many")],
            "PORTAL_MAX_BATCH_SIZE",
        ),
        (vec![("PORTAL_GRAPHQL_DEPTH", "3")], "PORTAL_GRAPHQL_DEPTH"),
        (vec![("DATABASE_URL", "postgres://db/portal")], "REDIS_URL"),
        (
            vec![("PORTAL_SMS_TRANSPORT", "notify")],
            "PORTAL_NOTIFY_API_KEY",
        ),
    ] {
        for args in [&["api"][..], &["worker"], &["migrate"], &[]] {
            let out = portal(&vars, args);
            assert_eq!(out.status.code(), Some(2), "{vars:?} {args:?}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains(variable), "{vars:?} {args:?}: {stderr}");
        }
    }
}

#[test]
fn print_schema_prints_the_checked_in_schema() {
    let out = portal(&[], &["print-schema"]);
    assert!(out.status.success());
    let checked_in =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql")).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), checked_in);
}
