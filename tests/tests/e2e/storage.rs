//! Storage as the API serves it: signed local download URLs through
//! `GET /files/...`, and the store the harness configures (S3 when
//! `TEST_S3_ENDPOINT` is set).

use std::time::Duration;

use axum::{body::Body, http::Request};
use platform::storage::{DownloadSpec, Storage};
use portal_tests::TestApp;

#[tokio::test]
async fn signed_local_urls_download_exact_bytes_and_refuse_tampering() {
    let app = TestApp::builder().embedded().build().await;
    let storage = &app.state.storage;
    assert!(matches!(storage, Storage::Local(_)));
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    storage
        .put("exports/e1.csv", &data[..], "text/csv")
        .await
        .unwrap();
    let url = storage
        .download_url(&DownloadSpec {
            key: "exports/e1.csv",
            filename: "Payments \"Nov\".csv",
            content_type: "text/csv",
            ttl: Duration::from_secs(60),
        })
        .await
        .unwrap();
    let url = url::Url::parse(&url).unwrap();
    let path = format!("{}?{}", url.path(), url.query().unwrap());
    let res = app
        .request(Request::get(&path).body(Body::empty()).unwrap())
        .await;
    assert_eq!(res.status(), 200);
    let h = res.headers().clone();
    assert_eq!(h["content-type"], "text/csv");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(
        h["content-disposition"],
        "attachment; filename=\"Payments _Nov_.csv\"; filename*=UTF-8''Payments%20%22Nov%22.csv"
    );
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    assert!(body == data, "bytes differ");

    // Any change to the signed query, an unsigned request, or a key outside
    // the store answers 404.
    for bad in [
        path.replace("exports/e1.csv", "exports/e2.csv"),
        path.replace("type=text%2Fcsv", "type=text%2Fhtml"),
        path.replace("signature=", "signature=00"),
        "/files/exports/e1.csv".to_owned(),
        "/files/../secrets?expires=1&name=a&type=b&signature=00".to_owned(),
    ] {
        let res = app
            .request(Request::get(&bad).body(Body::empty()).unwrap())
            .await;
        assert_eq!(res.status(), 404, "{bad}");
    }
}

#[tokio::test]
async fn the_harness_store_round_trips() {
    let app = TestApp::init().await;
    let storage = &app.state.storage;
    if std::env::var("TEST_S3_ENDPOINT").is_ok() {
        assert!(
            matches!(storage, Storage::S3(_)),
            "TEST_S3_ENDPOINT set but not used"
        );
    }
    storage.check().await.unwrap();
    let key = format!("documents/{}", uuid::Uuid::new_v4());
    storage
        .put(&key, &b"hello"[..], "text/plain")
        .await
        .unwrap();
    assert_eq!(storage.size(&key).await.unwrap(), Some(5));
    storage.delete(&key).await.unwrap();
}
