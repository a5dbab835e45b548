//! The harness itself: a test that leaves background jobs unprocessed fails.

use api::jobs::noop::Noop;
use portal_tests::TestApp;
use worker::outbox;

#[tokio::test]
#[should_panic(expected = "left 1 background job(s) unprocessed")]
async fn a_test_that_forgets_its_jobs_fails() {
    let app = TestApp::init().await;
    outbox::enqueue(app.db(), &Noop::default()).await.unwrap();
    drop(app);
}

#[tokio::test]
async fn a_test_that_runs_its_jobs_passes() {
    let app = TestApp::init().await;
    outbox::enqueue(app.db(), &Noop::default()).await.unwrap();
    assert_eq!(app.run_pending_jobs().await, 1);
}
