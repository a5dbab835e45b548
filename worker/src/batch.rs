//! Group commit for the runner's ledger writes: concurrent claims (and
//! completions) of different jobs are merged into one statement.
//!
//! Each job the queue delivers used to cost the worker two statements of its
//! own (claim, complete). With `concurrency` jobs in flight, most of those
//! arrive while another one is on its way to the database; a [`Batcher`]
//! queues them and sends them together as soon as the statement in flight
//! returns ([`crate::outbox::claim_many`], [`crate::outbox::complete_many`]),
//! so under load the ledger sees one statement per batch, and a lone request
//! goes out at once, with no timer adding latency.
//!
//! The statement is run by a spawned task, not by one of the callers: a caller
//! that is dropped (a shutdown) cannot strand the others' requests.

use std::{collections::HashMap, future::Future, pin::Pin, sync::Arc};

use sea_orm::DbErr;
use tokio::sync::oneshot;
use uuid::Uuid;

/// Runs one statement for a batch of ids and returns what each id got.
/// Ids missing from the map get the default answer ([`Batcher::submit`]).
pub type Flush<T> = Arc<
    dyn Fn(Vec<Uuid>) -> Pin<Box<dyn Future<Output = Result<HashMap<Uuid, T>, DbErr>> + Send>>
        + Send
        + Sync,
>;

type Waiter<T> = (Uuid, oneshot::Sender<Result<Option<T>, DbErr>>);

struct State<T> {
    pending: Vec<Waiter<T>>,
    /// Whether a flush task is running (it takes whatever is pending when its
    /// statement returns).
    flushing: bool,
}

/// Merges concurrent requests into batches of at most `max` ids.
pub struct Batcher<T> {
    state: Arc<std::sync::Mutex<State<T>>>,
    flush: Flush<T>,
    max: usize,
}

impl<T: Send + 'static> Batcher<T> {
    /// A batcher sending at most `max` ids per `flush`.
    pub fn new(max: usize, flush: Flush<T>) -> Self {
        Self {
            state: Arc::new(std::sync::Mutex::new(State {
                pending: Vec::new(),
                flushing: false,
            })),
            flush,
            max: max.max(1),
        }
    }

    /// Queues `id` for the next statement and waits for its answer: `Some`
    /// with what the statement returned for it, `None` when it returned
    /// nothing for it. The same id twice in one batch gets the answer once
    /// (the first request), `None` for the other: a claim is won once.
    pub async fn submit(&self, id: Uuid) -> Result<Option<T>, DbErr> {
        let (tx, rx) = oneshot::channel();
        let start = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.pending.push((id, tx));
            !std::mem::replace(&mut state.flushing, true)
        };
        if start {
            tokio::spawn(run(self.state.clone(), self.flush.clone(), self.max));
        }
        rx.await.unwrap_or_else(|_| {
            Err(DbErr::Custom(
                "the ledger batch was dropped before it answered".into(),
            ))
        })
    }
}

/// The flush task: sends what is pending, answers, and goes on while more
/// arrived meanwhile; stops (clearing `flushing` under the same lock that
/// saw nothing pending) when none did.
async fn run<T: Send + 'static>(
    state: Arc<std::sync::Mutex<State<T>>>,
    flush: Flush<T>,
    max: usize,
) {
    loop {
        let batch: Vec<Waiter<T>> = {
            let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
            if state.pending.is_empty() {
                state.flushing = false;
                return;
            }
            let n = state.pending.len().min(max);
            state.pending.drain(..n).collect()
        };
        let mut ids: Vec<Uuid> = batch.iter().map(|(id, _)| *id).collect();
        ids.sort_unstable();
        ids.dedup();
        match flush(ids).await {
            Ok(mut answers) => {
                for (id, tx) in batch {
                    let _ = tx.send(Ok(answers.remove(&id)));
                }
            }
            Err(e) => {
                let message = e.to_string();
                for (_, tx) in batch {
                    let _ = tx.send(Err(DbErr::Custom(message.clone())));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn counting(calls: Arc<AtomicUsize>, sizes: Arc<std::sync::Mutex<Vec<usize>>>) -> Flush<u32> {
        Arc::new(move |ids: Vec<Uuid>| {
            let calls = calls.clone();
            let sizes = sizes.clone();
            Box::pin(async move {
                calls.fetch_add(1, Ordering::SeqCst);
                sizes.lock().unwrap().push(ids.len());
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                Ok(ids.into_iter().map(|id| (id, 7)).collect())
            })
        })
    }

    async fn submit_all(batcher: &Arc<Batcher<u32>>, ids: &[Uuid]) -> (usize, usize) {
        let mut tasks = Vec::new();
        for &id in ids {
            let batcher = batcher.clone();
            tasks.push(tokio::spawn(async move { batcher.submit(id).await }));
        }
        let (mut answered, mut empty) = (0, 0);
        for task in tasks {
            match task.await.unwrap().unwrap() {
                Some(7) => answered += 1,
                None => empty += 1,
                Some(other) => panic!("unexpected answer {other}"),
            }
        }
        (answered, empty)
    }

    #[tokio::test]
    async fn concurrent_requests_share_statements_of_at_most_max_ids() {
        let calls = Arc::new(AtomicUsize::new(0));
        let sizes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let batcher = Arc::new(Batcher::new(8, counting(calls.clone(), sizes.clone())));
        let ids: Vec<Uuid> = (0..20).map(|_| Uuid::now_v7()).collect();
        assert_eq!(submit_all(&batcher, &ids).await, (20, 0));
        let calls = calls.load(Ordering::SeqCst);
        assert!(calls < 20, "{calls} statements for 20 concurrent requests");
        let sizes = sizes.lock().unwrap();
        assert!(
            sizes.iter().all(|&n| n <= 8),
            "batches respect max: {sizes:?}"
        );
    }

    #[tokio::test]
    async fn an_id_twice_in_one_batch_is_answered_once() {
        let calls = Arc::new(AtomicUsize::new(0));
        let sizes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let batcher = Arc::new(Batcher::new(64, counting(calls.clone(), sizes.clone())));
        let ids: Vec<Uuid> = (0..10).map(|_| Uuid::now_v7()).collect();
        let asked: Vec<Uuid> = ids.iter().copied().chain([ids[3], ids[3]]).collect();
        assert_eq!(submit_all(&batcher, &asked).await, (10, 2));
        // The statement itself was sent each id once.
        assert_eq!(sizes.lock().unwrap().iter().sum::<usize>(), 10);
    }

    #[tokio::test]
    async fn a_lone_request_goes_out_at_once_and_errors_reach_every_waiter() {
        let batcher: Batcher<u32> = Batcher::new(
            8,
            Arc::new(|_ids: Vec<Uuid>| {
                Box::pin(async { Err(DbErr::Custom("database down".into())) })
            }),
        );
        let err = batcher.submit(Uuid::now_v7()).await.unwrap_err();
        assert!(err.to_string().contains("database down"), "{err}");
        // And the batcher still works afterwards (the flush task ended cleanly).
        let err = batcher.submit(Uuid::now_v7()).await.unwrap_err();
        assert!(err.to_string().contains("database down"), "{err}");
    }
}
