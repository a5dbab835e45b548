//! What the run prepares and checks against: the S3 client (built as the
//! worker builds its own) and the `HEAD` size check, the `portal` binary, the
//! uploaded file, and the seeded resident, case and session.

use std::{io::Write as _, path::Path};

use anyhow::Context as _;
use aws_sdk_s3::{
    Client,
    config::{
        BehaviorVersion, Credentials, Region, RequestChecksumCalculation,
        ResponseChecksumValidation,
    },
};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use uuid::Uuid;

use super::Args;

/// An S3 client for the configured server, built as the worker builds its
/// own (path-style, checksums only where required).
pub(super) fn s3_client(args: &Args) -> Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http)
        .region(Region::new(args.s3_region.clone()))
        .credentials_provider(Credentials::new(
            &args.s3_access_key_id,
            &args.s3_secret_access_key,
            None,
            None,
            "portal-bench",
        ))
        .endpoint_url(args.s3_endpoint.trim_end_matches('/'))
        .force_path_style(true)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .build();
    Client::from_conf(config)
}

/// `HEAD` the object: it must exist with `size` bytes.
pub(super) async fn check_size(
    s3: &Client,
    bucket: &str,
    key: &str,
    size: u64,
) -> anyhow::Result<()> {
    let head = s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "HEAD s3://{bucket}/{key}: {}",
                aws_sdk_s3::error::DisplayErrorContext(e)
            )
        })?;
    let found = head.content_length.unwrap_or(-1);
    anyhow::ensure!(
        found == size as i64,
        "s3://{bucket}/{key} holds {found} bytes, not {size}"
    );
    Ok(())
}

/// The `portal` to run as the API: the binary at `explicit`, or this binary's
/// own `portal` subcommand (the same code, built with it).
pub(super) fn portal_binary(explicit: Option<&Path>) -> anyhow::Result<crate::suite::Portal> {
    match explicit {
        Some(path) => crate::suite::Portal::binary(path),
        None => crate::suite::Portal::embedded(),
    }
}

/// Writes `size` bytes: a PDF header, then pseudo-random bytes (xorshift).
pub(super) async fn write_file(path: &Path, size: u64) -> anyhow::Result<()> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut out = std::fs::File::create(&path)?;
        let header = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n";
        out.write_all(header)?;
        let mut left = size - header.len() as u64;
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut buf = vec![0u8; 1 << 20];
        while left > 0 {
            for word in buf.chunks_exact_mut(8) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                word.copy_from_slice(&state.to_le_bytes());
            }
            let n = left.min(buf.len() as u64) as usize;
            out.write_all(&buf[..n])?;
            left -= n as u64;
        }
        out.sync_all()?;
        Ok(())
    })
    .await?
}

/// Writes the resident, their open case and a session. Returns the case and
/// the session token.
pub(super) async fn seed(db: &DatabaseConnection) -> anyhow::Result<(Uuid, String)> {
    let (org, staff, resident, case_id) = (
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
    );
    let now = Utc::now();
    let user_columns = "id, kind, organisation_id, first_name, last_name, email, email_normalized, \
         status, mobile_reset_pending, two_factor_method, failed_login_attempts, staff_team, \
         staff_role, address, last_login_at, created_at, updated_at";
    let statements: Vec<(String, Vec<sea_orm::Value>)> = vec![
        (
            "INSERT INTO organisations (id, name, address, requires_two_factor, created_at, updated_at) \
             VALUES ($1, 'Bench Housing', '1 High Street', false, $2, $2)"
                .into(),
            vec![org.into(), now.into()],
        ),
        (
            format!(
                "INSERT INTO users ({user_columns}) VALUES \
                 ($1, 'STAFF', NULL, 'Case', 'Worker', 'staff@bench.example', 'staff@bench.example', \
                  'ACTIVE', false, 'NONE', 0, 'Dispute Resolution', 'CASEWORKER', NULL, $3, $3, $3), \
                 ($2, 'RESIDENT', NULL, 'Bench', 'Resident', 'resident@bench.example', 'resident@bench.example', \
                  'ACTIVE', false, 'NONE', 0, NULL, NULL, '1 Low Road', $3, $3, $3)"
            ),
            vec![staff.into(), resident.into(), now.into()],
        ),
        (
            "INSERT INTO cases (id, reference, case_type, stage, status_label, category, \
                                landlord_organisation_id, owner_user_id, closed_at, created_at, updated_at) \
             VALUES ($1, '202600001', 'Complaint about a member landlord', 'Assessment', \
                     'Case under assessment', 'Damp and mould', $2, $3, NULL, $4, $4)"
                .into(),
            vec![case_id.into(), org.into(), staff.into(), now.into()],
        ),
        (
            "INSERT INTO case_parties (id, case_id, party_kind, user_id, organisation_id, created_at) \
             VALUES ($1, $3, 'RESIDENT', $4, NULL, $6), ($2, $3, 'LANDLORD', NULL, $5, $6)"
                .into(),
            vec![
                Uuid::new_v4().into(),
                Uuid::new_v4().into(),
                case_id.into(),
                resident.into(),
                org.into(),
                now.into(),
            ],
        ),
    ];
    for (sql, values) in statements {
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await
        .context("seeding the case")?;
    }
    let client = api::auth::ClientInfo {
        ip: Some("127.0.0.1".into()),
        user_agent: Some("bench".into()),
        request_id: "bench".into(),
    };
    let token = api::auth::session::create(db, resident, &client, false).await?;
    Ok((case_id, token))
}
