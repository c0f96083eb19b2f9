//! Walks open cases up the ladder: claims due steps and hands their messages to the outbox.
//! Sleeps until the next deadline or until a change wakes it; `run_once(now)` drives it in tests.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::core::clock::Clock;
use crate::core::engine::Services;
use crate::core::ports::{Store, StoreError};
use crate::core::steps;
use crate::delivery::Health;

/// Claims at most this many cases per transaction.
const BATCH: u32 = 500;
/// Even with nothing due, look again this often (a deadline set by another instance).
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// After a database error, try again this soon.
const RETRY: Duration = Duration::from_secs(2);

pub struct Scheduler<S: Store> {
    store: S,
    clock: Arc<dyn Clock>,
    svc: Arc<Services>,
    wake: Arc<Notify>,
    delivery: Arc<Notify>,
    /// Passes of the run loop so far (for health checks and tests).
    passes: std::sync::atomic::AtomicU64,
    /// The month whose post was drafted or found drafted.
    monthly_done: std::sync::Mutex<String>,
}

impl<S: Store> Scheduler<S> {
    pub fn new(
        store: S,
        clock: Arc<dyn Clock>,
        svc: Arc<Services>,
        wake: Arc<Notify>,
        delivery: Arc<Notify>,
    ) -> Self {
        Scheduler {
            store,
            clock,
            svc,
            wake,
            delivery,
            passes: std::sync::atomic::AtomicU64::new(0),
            monthly_done: std::sync::Mutex::new(String::new()),
        }
    }

    /// How many times the run loop has looked for due steps.
    pub fn passes(&self) -> u64 {
        self.passes.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Takes every step due at `now`; returns how many were taken.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        self.pass(now, &CancellationToken::new()).await
    }

    /// Like `run_once`, but stops between batches once `cancel` fires (each batch is one
    /// transaction: it is either taken whole or not at all).
    async fn pass(
        &self,
        now: DateTime<Utc>,
        cancel: &CancellationToken,
    ) -> Result<usize, StoreError> {
        self.monthly(now).await;
        let mut steps = 0;
        // Each batch either takes a step or moves a deadline past `now`, so this ends; the
        // bound only guards against a bug turning it into a spin.
        for _ in 0..100_000 {
            if cancel.is_cancelled() {
                break;
            }
            let svc = &self.svc;
            let taken = self
                .store
                .take_due(now, BATCH, |sc| steps::due_change(svc, sc, now))
                .await?;
            steps += taken.steps;
            if taken.steps > 0 {
                fault_point("after-claim");
                self.delivery.notify_one();
            }
            // Nothing claimed, or only stale deadlines refreshed: this pass is done.
            if taken.claimed == 0 || taken.steps == 0 {
                break;
            }
        }
        Ok(steps)
    }

    /// Runs until cancelled.
    /// Drafts the monthly support-responsiveness post when it is due (once per month, across
    /// instances); a failure is logged and tried again on the next pass.
    async fn monthly(&self, now: DateTime<Utc>) {
        let month = now.format("%Y-%m").to_string();
        if self
            .monthly_done
            .lock()
            .map(|m| *m == month)
            .unwrap_or(false)
        {
            return;
        }
        match crate::core::stats_cmd::monthly_post(&self.svc, &self.store, now).await {
            Ok(drafted) => {
                if drafted {
                    self.delivery.notify_one();
                }
                // Looked at once it was due: nothing more to do until the next month (the
                // store refuses a second draft anyway).
                if (drafted || crate::core::stats_cmd::monthly_settled(&self.svc, now))
                    && let Ok(mut m) = self.monthly_done.lock()
                {
                    *m = month;
                }
            }
            Err(e) => tracing::warn!(error = %e, "monthly post not drafted"),
        }
    }

    pub async fn run(&self, cancel: CancellationToken) {
        let mut health = Health::new("scheduler");
        loop {
            let sleep = match self.tick(&cancel).await {
                Ok(sleep) => {
                    health.report(Ok(()));
                    sleep
                }
                Err(e) => {
                    health.report(Err(e));
                    RETRY
                }
            };
            self.passes
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(sleep) => {}
            }
        }
    }

    async fn tick(&self, cancel: &CancellationToken) -> Result<Duration, StoreError> {
        let taken = self.pass(self.clock.now(), cancel).await?;
        if taken > 0 {
            tracing::info!(steps = taken, "escalation steps taken");
        }
        let next = self.store.next_due_at().await?;
        Ok(match next {
            Some(at) => (at - self.clock.now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(MAX_SLEEP),
            None => MAX_SLEEP,
        })
    }
}

/// Fault injection for crash tests: `RECOURSE_FAULT=abort-after-claim` kills the process right
/// after a claim is committed and before anything is sent.
fn fault_point(name: &str) {
    if let Some(v) = std::env::var_os("RECOURSE_FAULT")
        && v.to_str() == Some(&format!("abort-{name}"))
    {
        eprintln!("RECOURSE_FAULT: aborting {name}");
        std::process::abort();
    }
}
