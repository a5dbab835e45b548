//! The storage interface against both backends: the local folder always, and a
//! real S3-compatible server when `TEST_S3_ENDPOINT` is set (with
//! `TEST_S3_BUCKET`, `TEST_S3_ACCESS_KEY_ID`, `TEST_S3_SECRET_ACCESS_KEY`).

use std::time::Duration;

use platform::{
    config::S3Config,
    storage::{DownloadSpec, LocalStorage, S3Storage, Storage, StorageError},
};
use tokio::io::AsyncReadExt;

fn s3_config() -> Option<S3Config> {
    let endpoint = std::env::var("TEST_S3_ENDPOINT").ok()?;
    let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    Some(S3Config {
        bucket: var("TEST_S3_BUCKET", "portal-test"),
        endpoint: Some(endpoint.parse().expect("TEST_S3_ENDPOINT is a URL")),
        region: var("TEST_S3_REGION", "us-east-1"),
        credentials: Some((
            var("TEST_S3_ACCESS_KEY_ID", "ci-access"),
            var("TEST_S3_SECRET_ACCESS_KEY", "ci-secret-key-123").into(),
        )),
        force_path_style: true,
    })
}

async fn backends(dir: &std::path::Path) -> Vec<(&'static str, Storage)> {
    let mut out = vec![(
        "local",
        Storage::Local(
            LocalStorage::open(dir.to_path_buf(), "http://127.0.0.1:1/".parse().unwrap())
                .await
                .unwrap()
                .into(),
        ),
    )];
    match s3_config() {
        Some(c) => out.push((
            "s3",
            Storage::S3(S3Storage::connect(&c).await.unwrap().into()),
        )),
        None => eprintln!("skipping the S3 backend: TEST_S3_ENDPOINT is not set"),
    }
    out
}

/// Deterministic bytes that differ at every position, so a reordered or
/// dropped part cannot pass.
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i / 251 % 256) as u8)
        .collect()
}

async fn read_all(s: &Storage, key: &str) -> Vec<u8> {
    let mut out = Vec::new();
    s.get(key)
        .await
        .unwrap()
        .read_to_end(&mut out)
        .await
        .unwrap();
    out
}

fn unique_key(prefix: &str) -> String {
    format!("{prefix}/{}", uuid::Uuid::new_v4())
}

#[tokio::test]
async fn small_and_multipart_objects_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    for (name, s) in backends(dir.path()).await {
        s.check().await.unwrap_or_else(|e| panic!("{name}: {e}"));
        // Empty, small, exactly one part, and several parts with a short tail.
        for len in [
            0,
            1000,
            platform::storage::PART_SIZE,
            2 * platform::storage::PART_SIZE + 12_345,
        ] {
            let key = unique_key("documents");
            let data = pattern(len);
            let n = s
                .put(&key, &data[..], "application/octet-stream")
                .await
                .unwrap();
            assert_eq!(n, len as u64, "{name} {len}");
            assert_eq!(
                s.size(&key).await.unwrap(),
                Some(len as u64),
                "{name} {len}"
            );
            assert!(
                read_all(&s, &key).await == data,
                "{name}: bytes differ for {len}"
            );
            s.delete(&key).await.unwrap();
            assert_eq!(s.size(&key).await.unwrap(), None, "{name}");
        }
    }
}

#[tokio::test]
async fn rename_quarantines_and_missing_objects_are_not_found() {
    let dir = tempfile::tempdir().unwrap();
    for (name, s) in backends(dir.path()).await {
        let key = unique_key("documents");
        let quarantined = platform::storage::keys::quarantined(&key);
        s.put(&key, &b"X5O!P%@AP"[..], "text/plain").await.unwrap();
        s.rename(&key, &quarantined).await.unwrap();
        assert_eq!(s.size(&key).await.unwrap(), None, "{name}");
        assert_eq!(read_all(&s, &quarantined).await, b"X5O!P%@AP", "{name}");
        // Retried moves are harmless; moving nothing is NotFound.
        s.rename(&key, &quarantined).await.unwrap();
        assert!(
            matches!(
                s.rename(&unique_key("documents"), &unique_key("quarantine"))
                    .await,
                Err(StorageError::NotFound(_))
            ),
            "{name}"
        );
        assert!(
            matches!(s.get(&key).await, Err(StorageError::NotFound(_))),
            "{name}"
        );
        s.delete(&quarantined).await.unwrap();
        s.delete(&quarantined).await.unwrap();
    }
}

/// A body that fails part-way: the client hung up mid-upload.
struct HangsUp {
    left: usize,
}

impl tokio::io::AsyncRead for HangsUp {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.left == 0 {
            return std::task::Poll::Ready(Err(std::io::Error::other("connection reset")));
        }
        let n = self.left.min(buf.remaining()).min(64 * 1024);
        buf.put_slice(&vec![b'a'; n]);
        self.left -= n;
        std::task::Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn a_failed_upload_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for (name, s) in backends(dir.path()).await {
        // Fails before the first part completes, and after several parts.
        for left in [10_000, 3 * platform::storage::PART_SIZE + 5] {
            let key = unique_key("documents");
            let err = s
                .put(&key, HangsUp { left }, "text/plain")
                .await
                .unwrap_err();
            assert!(matches!(err, StorageError::Source(_)), "{name}: {err}");
            assert_eq!(
                s.size(&key).await.unwrap(),
                None,
                "{name}: object left behind"
            );
        }
    }
}

#[tokio::test]
async fn download_urls_serve_the_bytes_with_the_display_name() {
    let dir = tempfile::tempdir().unwrap();
    for (name, s) in backends(dir.path()).await {
        let Storage::S3(_) = &s else {
            // Local URLs are served by the API's /files route; tested there.
            continue;
        };
        let key = unique_key("exports");
        let data = pattern(70_000);
        s.put(&key, &data[..], "text/csv").await.unwrap();
        let url = s
            .download_url(&DownloadSpec {
                key: &key,
                filename: "Payments – Nov \"2026\".csv",
                content_type: "text/csv",
                ttl: Duration::from_secs(120),
            })
            .await
            .unwrap();
        let resp = reqwest::get(&url).await.unwrap();
        assert_eq!(resp.status(), 200, "{name}: {url}");
        let cd = resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            cd.contains("filename*=UTF-8''Payments%20%E2%80%93%20Nov%20%222026%22.csv"),
            "{cd}"
        );
        assert_eq!(resp.headers()["content-type"], "text/csv");
        assert!(resp.bytes().await.unwrap() == data, "{name}: bytes differ");
        // Tampering with the signed query fails.
        let tampered = url.replace(
            "response-content-type=text%2Fcsv",
            "response-content-type=text%2Fhtml",
        );
        assert_ne!(tampered, url);
        assert_eq!(
            reqwest::get(&tampered).await.unwrap().status(),
            403,
            "{name}"
        );
        s.delete(&key).await.unwrap();
    }
}
