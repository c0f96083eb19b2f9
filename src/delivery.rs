//! The outbox: every message is stored before it is sent and marked sent after, so a crash
//! never loses one. Failed sends are retried with backoff; a permanent failure is recorded.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::core::clock::Clock;
use crate::core::ports::{OutboxItem, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Try again later (rate limit, timeout, server error).
    #[error("temporary failure: {0}")]
    Retry(String),
    /// Will never succeed (chat gone, bot blocked).
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// Where messages go: a platform adapter, or the console.
pub trait Sink: Send + Sync {
    /// Sends one message; returns a reference to it (for later edits) if the platform has one.
    fn send(
        &self,
        item: &OutboxItem,
    ) -> impl Future<Output = Result<Option<String>, SendError>> + Send;
}

const MAX_ATTEMPTS: u32 = 8;
const BATCH: u32 = 100;

pub struct Delivery<S: Store, K: Sink> {
    store: S,
    sink: K,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
}

impl<S: Store, K: Sink> Delivery<S, K> {
    pub fn new(store: S, sink: K, clock: Arc<dyn Clock>, wake: Arc<Notify>) -> Self {
        Delivery {
            store,
            sink,
            clock,
            wake,
        }
    }

    pub fn sink(&self) -> &K {
        &self.sink
    }

    /// Sends everything due at `now`; returns how many were sent.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut sent = 0;
        loop {
            let batch = self.store.outbox_pending(now, BATCH).await?;
            if batch.is_empty() {
                return Ok(sent);
            }
            for item in &batch {
                match self.sink.send(item).await {
                    Ok(r) => {
                        self.store.outbox_sent(item.id, r.as_deref(), now).await?;
                        sent += 1;
                    }
                    Err(SendError::Permanent(e)) => {
                        tracing::warn!(id = item.id, error = %e, "message dropped");
                        record_on_case(&self.store, item, &e, now).await?;
                        self.store.outbox_failed(item.id, &e, now).await?;
                    }
                    Err(SendError::Retry(e)) if item.attempts + 1 >= MAX_ATTEMPTS => {
                        tracing::warn!(id = item.id, error = %e, "message failed too often");
                        record_on_case(&self.store, item, &e, now).await?;
                        self.store.outbox_failed(item.id, &e, now).await?;
                    }
                    Err(SendError::Retry(e)) => {
                        let wait = backoff(item.attempts);
                        self.store.outbox_retry(item.id, now + wait, &e).await?;
                    }
                }
            }
            if batch.len() < BATCH as usize {
                return Ok(sent);
            }
        }
    }

    /// Runs until cancelled; woken when messages are queued, and polls for retries.
    pub async fn run(&self, cancel: CancellationToken) {
        let mut failing = false;
        loop {
            match self.run_once(self.clock.now()).await {
                Ok(_) if failing => {
                    tracing::info!("delivery: database reachable again");
                    failing = false;
                }
                Ok(_) => {}
                Err(e) if !failing => {
                    tracing::warn!(error = %e, "delivery: database unavailable, will retry");
                    failing = true;
                }
                Err(_) => {}
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
        }
    }
}

/// 2 s, 4 s, 8 s … capped at 10 minutes.
fn backoff(attempts: u32) -> chrono::Duration {
    chrono::Duration::seconds(2_i64.saturating_pow(attempts + 1).min(600))
}

/// A message about a case that will never arrive is noted on the case's timeline, so that
/// moderators reading it know (for example that the helpdesk refused the webhook). Noted
/// before the row is marked failed: a crash in between repeats the note rather than lose it.
async fn record_on_case<S: Store>(
    store: &S,
    item: &OutboxItem,
    error: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    match &item.case_id {
        Some(case_id) => {
            store
                .record_delivery_failure(case_id, item.to.key(), error, now)
                .await
        }
        None => Ok(()),
    }
}
