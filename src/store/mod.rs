//! The only place with SQL: the store port implemented for SQLite and PostgreSQL.

pub mod postgres;
pub mod scratch;
pub mod sqlite;

use chrono::{DateTime, Utc};

use crate::core::case::{CaseId, Event};
use crate::core::identity::{ChatRef, MessageRef, UserRef};
use crate::core::message::Outgoing;
use crate::core::ports::{
    CaseMessage, Change, Conversation, OutboxItem, RowState, Saved, Store, StoreError, StoreResult,
    StoredCase, Taken, Talk,
};

/// Counts over the whole database, read for `recourse bench --crash`'s verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Audit {
    /// Rows in the escalation log: steps taken.
    pub escalations: u64,
    /// Cases with at least one step in the escalation log.
    pub escalated_cases: u64,
    /// `step_taken` events on all timelines.
    pub step_events: u64,
    /// `step_taken` events beyond the first for the same case, step and occurrence.
    pub duplicate_step_events: u64,
    pub outbox: u64,
    /// Outbox rows neither sent nor failed.
    pub outbox_pending: u64,
    /// Outbox rows that failed for good.
    pub outbox_failed: u64,
}

/// A store on the backend its URL names.
#[derive(Clone)]
pub enum SqlStore {
    Sqlite(sqlite::Backend),
    Postgres(postgres::Backend),
}

impl SqlStore {
    /// `postgres://…` selects PostgreSQL; `sqlite:…` or a plain file path selects SQLite.
    pub async fn open(url: &str) -> anyhow::Result<SqlStore> {
        let store = match SqlStore::sqlite_url(url) {
            Some(url) => SqlStore::Sqlite(sqlite::Backend::open(&url).await?),
            None => SqlStore::Postgres(postgres::Backend::open(url).await?),
        };
        match &store {
            SqlStore::Sqlite(b) => b.backfill_links().await?,
            SqlStore::Postgres(b) => b.backfill_links().await?,
        }
        match &store {
            SqlStore::Sqlite(b) => b.backfill_stats().await?,
            SqlStore::Postgres(b) => b.backfill_stats().await?,
        }
        Ok(store)
    }

    /// With SQLite, claims the database for this process (see `sqlite::Backend::lock_process`);
    /// keep the returned guard for as long as the process runs. PostgreSQL needs none.
    pub fn lock_process(url: &str) -> anyhow::Result<Option<std::fs::File>> {
        match SqlStore::sqlite_url(url) {
            Some(url) => sqlite::Backend::lock_process(&url).map(Some),
            None => Ok(None),
        }
    }

    fn sqlite_url(url: &str) -> Option<String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            None
        } else if url.starts_with("sqlite:") {
            Some(url.to_string())
        } else {
            Some(format!("sqlite://{url}"))
        }
    }

    /// Leases outbox rows for `lease` (`delivery.lease`) instead of the default 60 s.
    pub fn with_outbox_lease(mut self, lease: std::time::Duration) -> SqlStore {
        let ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        match &mut self {
            SqlStore::Sqlite(b) => b.lease_ms = ms,
            SqlStore::Postgres(b) => b.lease_ms = ms,
        }
        self
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            SqlStore::Sqlite(_) => "sqlite",
            SqlStore::Postgres(_) => "postgres",
        }
    }

    /// See the backends' `SETTLE`: the benchmark's way to measure latency after a bulk load
    /// the way a running service sees it, not while the server digests the load.
    pub async fn settle(&self) -> StoreResult<()> {
        match self {
            SqlStore::Sqlite(b) => b.settle().await,
            SqlStore::Postgres(b) => b.settle().await,
        }
    }

    /// Adds to the figures' counters as if many cases had been saved (for `recourse bench`).
    pub async fn add_stat_counters(
        &self,
        sum: &std::collections::BTreeMap<crate::core::stats::Cell, i64>,
        names: &[(String, String)],
    ) -> StoreResult<()> {
        match self {
            SqlStore::Sqlite(b) => b.add_stat_counters(sum, names).await,
            SqlStore::Postgres(b) => b.add_stat_counters(sum, names).await,
        }
    }

    /// One `SELECT 1`, for benchmark reports.
    pub async fn round_trip(&self) -> StoreResult<()> {
        match self {
            SqlStore::Sqlite(b) => b.round_trip().await,
            SqlStore::Postgres(b) => b.round_trip().await,
        }
    }

    /// The database server's version, for benchmark reports.
    pub async fn server_version(&self) -> anyhow::Result<String> {
        Ok(match self {
            SqlStore::Sqlite(b) => format!("SQLite {}", b.version().await?),
            SqlStore::Postgres(b) => format!("PostgreSQL {}", b.version().await?),
        })
    }

    /// Saves many changes in one transaction: all of them, or none if any conflicts.
    pub async fn save_batch(&self, changes: &[Change]) -> StoreResult<Vec<Saved>> {
        match self {
            SqlStore::Sqlite(b) => b.save_batch(changes).await,
            SqlStore::Postgres(b) => b.save_batch(changes).await,
        }
    }

    /// The counts of [`Audit`].
    pub async fn audit(&self) -> StoreResult<Audit> {
        match self {
            SqlStore::Sqlite(b) => b.audit().await,
            SqlStore::Postgres(b) => b.audit().await,
        }
    }

    /// The keys of every outbox row for the webhook, sent or not.
    pub async fn webhook_keys(&self) -> StoreResult<Vec<String>> {
        match self {
            SqlStore::Sqlite(b) => b.webhook_keys().await,
            SqlStore::Postgres(b) => b.webhook_keys().await,
        }
    }

    /// Forgets handled inputs older than `before` (see the `inbox` table).
    pub async fn prune_inbox(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        match self {
            SqlStore::Sqlite(b) => b.prune_inbox(before).await,
            SqlStore::Postgres(b) => b.prune_inbox(before).await,
        }
    }

    pub async fn close(&self) {
        match self {
            SqlStore::Sqlite(b) => b.close().await,
            SqlStore::Postgres(b) => b.close().await,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        use sqlx::Error as E;
        if sqlite::is_read_only(&e) {
            sqlite::saw_read_only();
        }
        match &e {
            E::PoolTimedOut | E::PoolClosed | E::Io(_) | E::Tls(_) | E::WorkerCrashed => {
                StoreError::Unavailable(e.to_string())
            }
            E::Database(db) if is_unavailable_code(db.code().as_deref()) => {
                StoreError::Unavailable(e.to_string())
            }
            _ => StoreError::Failed(anyhow::Error::new(e).context("database query failed")),
        }
    }
}

/// SQLite: BUSY, LOCKED, READONLY, IOERR, CANTOPEN (primary codes, possibly extended).
/// PostgreSQL: connection exceptions (08…), admin shutdown and friends (57P0…), read-only (25006).
fn is_unavailable_code(code: Option<&str>) -> bool {
    let Some(code) = code else { return false };
    if let Ok(n) = code.parse::<i32>() {
        return matches!(n & 0xff, 5 | 6 | 8 | 10 | 14);
    }
    code.starts_with("08") || code.starts_with("57P0") || code == "25006"
}

macro_rules! dispatch {
    ($self:expr, $b:ident => $call:expr) => {
        match $self {
            SqlStore::Sqlite($b) => $call,
            SqlStore::Postgres($b) => $call,
        }
    };
}

impl Store for SqlStore {
    async fn save(&self, change: &Change) -> StoreResult<Saved> {
        dispatch!(self, b => b.save(change).await)
    }
    async fn load_case(&self, id: &CaseId) -> StoreResult<Option<StoredCase>> {
        dispatch!(self, b => b.load_case(id).await)
    }
    async fn events(&self, id: &CaseId) -> StoreResult<Vec<Event>> {
        dispatch!(self, b => b.events(id).await)
    }
    async fn cases_of(&self, user: &UserRef) -> StoreResult<Vec<StoredCase>> {
        dispatch!(self, b => b.cases_of(user).await)
    }
    async fn queue(&self, limit: u32) -> StoreResult<Vec<StoredCase>> {
        dispatch!(self, b => b.queue(limit).await)
    }
    async fn enqueue(
        &self,
        out: &[Outgoing],
        now: DateTime<Utc>,
        talk: &Talk,
    ) -> StoreResult<bool> {
        dispatch!(self, b => b.enqueue(out, now, talk).await)
    }
    async fn case_messages(&self, id: &CaseId) -> StoreResult<Vec<CaseMessage>> {
        dispatch!(self, b => b.case_messages(id).await)
    }
    async fn conversation(
        &self,
        locale_key: &str,
        user: &UserRef,
        chat: &ChatRef,
    ) -> StoreResult<Conversation> {
        dispatch!(self, b => b.conversation(locale_key, user, chat).await)
    }
    async fn set_dialogue(
        &self,
        user: &UserRef,
        chat: &ChatRef,
        state: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        dispatch!(self, b => b.set_dialogue(user, chat, state, now).await)
    }
    async fn next_due_at(&self) -> StoreResult<Option<DateTime<Utc>>> {
        dispatch!(self, b => b.next_due_at().await)
    }
    async fn take_due<F>(&self, now: DateTime<Utc>, limit: u32, decide: F) -> StoreResult<Taken>
    where
        F: Fn(StoredCase) -> Change + Send + Sync,
    {
        dispatch!(self, b => b.take_due(now, limit, decide).await)
    }
    async fn outbox_pending(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<OutboxItem>> {
        dispatch!(self, b => b.outbox_pending(now, limit).await)
    }
    async fn outbox_sent(
        &self,
        id: i64,
        message_ref: Option<&MessageRef>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        dispatch!(self, b => b.outbox_sent(id, message_ref, now).await)
    }
    async fn outbox_sent_key(
        &self,
        key: &str,
        message_ref: Option<&MessageRef>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        dispatch!(self, b => b.outbox_sent_key(key, message_ref, now).await)
    }
    async fn outbox_release_key(
        &self,
        key: &str,
        error: &str,
        not_before: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        dispatch!(self, b => b.outbox_release_key(key, error, not_before).await)
    }
    async fn outbox_row_state(&self, key: &str) -> StoreResult<RowState> {
        dispatch!(self, b => b.outbox_row_state(key).await)
    }
    async fn outbox_retry(&self, id: i64, next_at: DateTime<Utc>, error: &str) -> StoreResult<()> {
        dispatch!(self, b => b.outbox_retry(id, next_at, error).await)
    }
    async fn outbox_wait(&self, id: i64, next_at: DateTime<Utc>, error: &str) -> StoreResult<()> {
        dispatch!(self, b => b.outbox_wait(id, next_at, error).await)
    }
    async fn hold_lease(
        &self,
        name: &str,
        holder: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        dispatch!(self, b => b.hold_lease(name, holder, until, now).await)
    }
    async fn drop_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        dispatch!(self, b => b.drop_lease(name, holder).await)
    }
    async fn outbox_failed(&self, id: i64, error: &str, now: DateTime<Utc>) -> StoreResult<()> {
        dispatch!(self, b => b.outbox_failed(id, error, now).await)
    }
    async fn outbox_release(&self, ids: &[i64]) -> StoreResult<()> {
        dispatch!(self, b => b.outbox_release(ids).await)
    }
    async fn record_delivery_failure(
        &self,
        case_id: &CaseId,
        to: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        dispatch!(self, b => b.record_delivery_failure(case_id, to, error, now).await)
    }
    async fn links_by_key(
        &self,
        keys: &[String],
    ) -> StoreResult<Vec<crate::core::cluster::LinkRow>> {
        dispatch!(self, b => b.links_by_key(keys).await)
    }
    async fn links_by_case(
        &self,
        cases: &[CaseId],
    ) -> StoreResult<Vec<crate::core::cluster::LinkRow>> {
        dispatch!(self, b => b.links_by_case(cases).await)
    }
    async fn shared_links(&self) -> StoreResult<Vec<crate::core::cluster::LinkRow>> {
        dispatch!(self, b => b.shared_links().await)
    }
    async fn insert_draft(
        &self,
        draft: &crate::core::draft::Draft,
        out: &[Outgoing],
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        dispatch!(self, b => b.insert_draft(draft, out, now).await)
    }
    async fn load_draft(&self, id: &str) -> StoreResult<Option<crate::core::draft::Draft>> {
        dispatch!(self, b => b.load_draft(id).await)
    }
    async fn drafts_about(&self, subject: &str) -> StoreResult<Vec<crate::core::draft::Draft>> {
        dispatch!(self, b => b.drafts_about(subject).await)
    }
    async fn decide_draft(
        &self,
        id: &str,
        status: crate::core::draft::DraftStatus,
        by: &str,
        reason: Option<&str>,
        at: DateTime<Utc>,
        out: &[Outgoing],
    ) -> StoreResult<bool> {
        dispatch!(self, b => b.decide_draft(id, status, by, reason, at, out).await)
    }
    async fn stat_summary(
        &self,
        recent_from: i64,
        today: i64,
        company: Option<&str>,
    ) -> StoreResult<crate::core::stats::Summary> {
        dispatch!(self, b => b.stat_summary(recent_from, today, company).await)
    }
    async fn stat_counters(
        &self,
        recent_from: i64,
        company: Option<&str>,
    ) -> StoreResult<Vec<crate::core::stats::Counter>> {
        dispatch!(self, b => b.stat_counters(recent_from, company).await)
    }
    async fn stat_companies(&self) -> StoreResult<Vec<(String, String)>> {
        dispatch!(self, b => b.stat_companies().await)
    }
    async fn get_setting(&self, key: &str) -> StoreResult<Option<String>> {
        dispatch!(self, b => b.get_setting(key).await)
    }
    async fn put_setting(&self, key: &str, value: &str) -> StoreResult<()> {
        dispatch!(self, b => b.put_setting(key, value).await)
    }
}
