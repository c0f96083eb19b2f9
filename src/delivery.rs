//! The outbox: every message is stored before it is sent and marked sent after, so a crash
//! never loses one. Failed sends are retried with backoff; a permanent failure is recorded.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::core::clock::Clock;
use crate::core::identity::MessageRef;
use crate::core::message::{Op, Target};
use crate::core::ports::{OutboxItem, RowState, Store, StoreError};
use crate::ratelimit::{DeliverySettings, Limiter};

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Try again later (rate limit, timeout, server error).
    #[error("temporary failure: {0}")]
    Retry(String),
    /// The platform said when to try again (a 429's `retry_after`); not counted as a failed
    /// attempt.
    #[error("rate limited for {after:?}: {reason}")]
    RetryAfter { after: Duration, reason: String },
    /// Will never succeed (chat gone, message too old to edit).
    #[error("permanent failure: {0}")]
    Permanent(String),
    /// The person cannot be reached on this platform (they blocked the bot, or never started a
    /// private chat with it): permanent, and the moderators are told.
    #[error("recipient unreachable: {0}")]
    Unreachable(String),
}

/// Where messages go: a platform adapter, or the console. A sink carries out the row's
/// [`crate::core::message::Op`]: a new message, or an edit or delete of `item.target`.
pub trait Sink: Send + Sync {
    /// Sends one message; returns a reference to it (for later edits) if the platform has one.
    fn send(
        &self,
        item: &OutboxItem,
    ) -> impl Future<Output = Result<Option<MessageRef>, SendError>> + Send;
}

/// A [`Sink`] behind a pointer, so that one router can hold each platform's.
pub trait DynSink: Send + Sync {
    fn send_dyn<'a>(
        &'a self,
        item: &'a OutboxItem,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Option<MessageRef>, SendError>> + Send + 'a>>;
}

impl<K: Sink> DynSink for K {
    fn send_dyn<'a>(
        &'a self,
        item: &'a OutboxItem,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Option<MessageRef>, SendError>> + Send + 'a>>
    {
        Box::pin(self.send(item))
    }
}

const MAX_ATTEMPTS: u32 = 8;
const BATCH: u32 = 100;
/// A message that may not go for longer than this (a busy group) is handed back to the outbox
/// rather than held under a lease; the next pass picks it up when its window opens.
const MAX_WAIT: Duration = Duration::from_secs(5);

pub struct Delivery<S: Store, K: Sink> {
    store: S,
    sink: K,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
    limiter: std::sync::Mutex<Limiter>,
    /// How long a leased batch is worked on before the rest is leased afresh: half the lease.
    hold: Duration,
    /// For the notices the outbox itself writes (a victim who cannot be reached).
    svc: Option<Arc<crate::core::services::Services>>,
}

impl<S: Store, K: Sink> Delivery<S, K> {
    /// An outbox with the platforms' default limits and no broadcast channels (the console).
    pub fn new(store: S, sink: K, clock: Arc<dyn Clock>, wake: Arc<Notify>) -> Self {
        Delivery {
            store,
            sink,
            clock,
            wake,
            limiter: std::sync::Mutex::new(Limiter::new(&DeliverySettings::default(), Vec::new())),
            hold: DeliverySettings::default().lease / 2,
            svc: None,
        }
    }

    /// Tells the moderators (through these services' words and destinations) when a victim
    /// cannot be reached.
    pub fn telling(mut self, svc: Arc<crate::core::services::Services>) -> Self {
        self.svc = Some(svc);
        self
    }

    /// The store leases outbox rows for `lease` (`delivery.lease`); work within half of it.
    pub fn leasing(mut self, lease: Duration) -> Self {
        self.hold = lease / 2;
        self
    }

    /// Sends within these limits instead.
    pub fn limited(mut self, limiter: Limiter) -> Self {
        self.limiter = std::sync::Mutex::new(limiter);
        self
    }

    pub fn sink(&self) -> &K {
        &self.sink
    }

    fn limiter(&self) -> std::sync::MutexGuard<'_, Limiter> {
        // The limiter holds no invariant a panic could break; keep going with its state.
        self.limiter.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends everything due at `now`, waiting as the rate limits require; returns how many
    /// were sent.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        self.drain(now, &CancellationToken::new()).await
    }

    async fn drain(
        &self,
        now: DateTime<Utc>,
        cancel: &CancellationToken,
    ) -> Result<usize, StoreError> {
        let mut sent = 0;
        'batches: loop {
            // Lease each batch from the time it is taken, not from the start of the drain: in
            // a drain longer than the lease (a backlog) later batches would be leased already
            // expired, and another instance would send them at the same time.
            let now = now.max(self.clock.now());
            let batch = self.store.outbox_pending(now, BATCH).await?;
            let leased = Instant::now();
            if batch.is_empty() {
                return Ok(sent);
            }
            let full = batch.len() == BATCH as usize;
            // One queue per recipient, in order: a chat that must wait does not hold up others.
            let mut queues: Vec<VecDeque<OutboxItem>> = Vec::new();
            for item in batch {
                match queues.iter_mut().find(|q| q[0].to == item.to) {
                    Some(q) => q.push_back(item),
                    None => queues.push(VecDeque::from([item])),
                }
            }
            while let Some((next, ready)) = {
                let limiter = self.limiter();
                let t = Instant::now();
                queues
                    .iter()
                    .enumerate()
                    .filter_map(|(i, q)| q.front().map(|item| (i, limiter.ready_at(&item.to, t))))
                    .min_by_key(|(i, at)| (*at, *i))
            } {
                if leased.elapsed() > self.hold {
                    // Half the lease is gone (slow sends, long waits): hand the rest back and
                    // lease afresh, so that no message is sent after its lease ran out.
                    let ids: Vec<i64> = queues.iter().flatten().map(|i| i.id).collect();
                    self.store.outbox_release(&ids).await?;
                    continue 'batches;
                }
                if ready > Instant::now() {
                    let give_back = ready - Instant::now() > MAX_WAIT
                        || tokio::select! {
                            _ = cancel.cancelled() => true,
                            _ = tokio::time::sleep_until(ready) => false,
                        };
                    if give_back {
                        let ids: Vec<i64> = queues.iter().flatten().map(|i| i.id).collect();
                        self.store.outbox_release(&ids).await?;
                        return Ok(sent);
                    }
                }
                let Some(item) = queues[next].pop_front() else {
                    break;
                };
                sent += usize::from(self.deliver(&item).await?);
            }
            if !full || cancel.is_cancelled() {
                return Ok(sent);
            }
        }
    }

    /// Sends one message and records the outcome; true if it went out.
    async fn deliver(&self, item: &OutboxItem) -> Result<bool, StoreError> {
        let mut item = item.clone();
        let target = match &item.meta.op {
            Op::Send => None,
            Op::Edit { target } | Op::Delete { target } => Some(target.clone()),
        };
        match target {
            None => {}
            Some(Target::Message { message }) => item.target = Some(message),
            Some(Target::Row { key }) => match self.store.outbox_row_state(&key).await? {
                RowState::Sent(r) => item.target = r,
                RowState::Pending => {
                    // The message to edit has not gone out yet: try again once it may have.
                    let now = self.clock.now();
                    let wait = backoff(item.attempts);
                    self.store
                        .outbox_retry(item.id, now + wait, "waiting for the message it edits")
                        .await?;
                    return Ok(false);
                }
                RowState::Gone => {
                    // Nothing to edit (that message never went out): not worth a note.
                    let now = self.clock.now();
                    self.store
                        .outbox_failed(item.id, "the message it edits was never sent", now)
                        .await?;
                    return Ok(false);
                }
            },
        }
        let item = &item;
        let result = self.sink.send(item).await;
        self.limiter().record(&item.to, Instant::now());
        let now = self.clock.now();
        match result {
            Ok(r) => {
                self.store.outbox_sent(item.id, r.as_ref(), now).await?;
                return Ok(true);
            }
            Err(SendError::RetryAfter { after, reason }) => {
                let after = chrono::Duration::from_std(after)
                    .unwrap_or(chrono::Duration::seconds(60))
                    .max(chrono::Duration::seconds(1));
                self.store
                    .outbox_wait(item.id, now + after, &reason)
                    .await?;
            }
            Err(SendError::Permanent(e)) => {
                tracing::warn!(id = item.id, error = %e, "message dropped");
                record_on_case(&self.store, item, &e, now).await?;
                self.store.outbox_failed(item.id, &e, now).await?;
            }
            Err(SendError::Unreachable(e)) => {
                tracing::warn!(id = item.id, error = %e, "recipient unreachable; message dropped");
                record_on_case(&self.store, item, &e, now).await?;
                self.tell_unreachable(item, &e, now).await?;
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
        Ok(false)
    }

    /// A message about a case to its victim will never arrive: tell the moderators (once; the
    /// notice's key derives from the message's).
    async fn tell_unreachable(
        &self,
        item: &OutboxItem,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        use crate::core::message::Recipient;
        let (Some(svc), Some(case_id)) = (&self.svc, &item.case_id) else {
            return Ok(());
        };
        let platform = match &item.to {
            Recipient::Chat { chat } => chat.platform(),
            Recipient::User { user } => user.platform(),
            _ => return Ok(()),
        };
        let out = crate::core::notices::unreachable(svc, &item.key, case_id, platform, error, now)
            .map_err(|e| StoreError::Failed(anyhow::anyhow!("{e}")))?;
        self.store.enqueue(&out, now, &Default::default()).await?;
        self.wake.notify_one();
        Ok(())
    }

    /// Runs until cancelled; woken when messages are queued, and polls for retries. On
    /// cancellation, messages leased but not yet sent are handed back at once.
    pub async fn run(&self, cancel: CancellationToken) {
        let mut health = Health::new("delivery");
        loop {
            let result = self.drain(self.clock.now(), &cancel).await;
            health.report(result.map(|_| ()));
            if cancel.is_cancelled() {
                break;
            }
            self.limiter().prune(Instant::now());
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
        }
    }
}

/// Reports a database outage once when it starts, again every `EVERY` while it lasts, and once
/// when it ends, instead of once per failed attempt.
pub struct Health {
    what: &'static str,
    failing_since: Option<Instant>,
    last_report: Option<Instant>,
}

impl Health {
    const EVERY: Duration = Duration::from_secs(60);

    pub fn new(what: &'static str) -> Health {
        Health {
            what,
            failing_since: None,
            last_report: None,
        }
    }

    pub fn report(&mut self, result: Result<(), StoreError>) {
        let now = Instant::now();
        match result {
            Ok(()) => {
                if let Some(since) = self.failing_since.take() {
                    let down =
                        humantime::format_duration(Duration::from_secs((now - since).as_secs()));
                    tracing::info!(what = self.what, down = %down, "database reachable again");
                }
                self.last_report = None;
            }
            Err(e) => {
                let since = *self.failing_since.get_or_insert(now);
                if self.last_report.is_none_or(|t| now - t >= Self::EVERY) {
                    let down =
                        humantime::format_duration(Duration::from_secs((now - since).as_secs()));
                    tracing::warn!(what = self.what, error = %e, down = %down, "database unavailable; retrying");
                    self.last_report = Some(now);
                }
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
