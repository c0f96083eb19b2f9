//! A store that notes when each case was claimed, around the real one: the benchmark's way to
//! see the instant a claim committed without changing the scheduler.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::core::case::{CaseId, Event};
use crate::core::identity::{ChatRef, MessageRef, UserRef};
use crate::core::message::Outgoing;
use crate::core::ports::{
    CaseMessage, Change, Conversation, OutboxItem, Saved, Store, StoreResult, StoredCase, Taken,
};

#[derive(Clone)]
pub struct Timed<S: Store> {
    inner: S,
    claims: Arc<Mutex<HashMap<CaseId, DateTime<Utc>>>>,
}

impl<S: Store> Timed<S> {
    pub fn new(inner: S) -> Timed<S> {
        Timed {
            inner,
            claims: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CaseId, DateTime<Utc>>> {
        self.claims.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Cases whose step was taken, with the instant the claim committed.
    pub fn claims(&self) -> HashMap<CaseId, DateTime<Utc>> {
        self.lock().clone()
    }

    pub fn claimed_count(&self) -> usize {
        self.lock().len()
    }
}

impl<S: Store> Store for Timed<S> {
    async fn take_due<F>(&self, now: DateTime<Utc>, limit: u32, decide: F) -> StoreResult<Taken>
    where
        F: Fn(StoredCase) -> Change + Send + Sync,
    {
        let stepped = Mutex::new(Vec::new());
        let taken = self
            .inner
            .take_due(now, limit, |sc| {
                let change = decide(sc);
                if change.step_key.is_some() {
                    stepped
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(change.case.id.clone());
                }
                change
            })
            .await?;
        let committed = Utc::now();
        let stepped = stepped.into_inner().unwrap_or_else(|e| e.into_inner());
        let mut claims = self.lock();
        for id in stepped {
            claims.entry(id).or_insert(committed);
        }
        Ok(taken)
    }

    async fn save(&self, change: &Change) -> StoreResult<Saved> {
        self.inner.save(change).await
    }
    async fn load_case(&self, id: &CaseId) -> StoreResult<Option<StoredCase>> {
        self.inner.load_case(id).await
    }
    async fn events(&self, id: &CaseId) -> StoreResult<Vec<Event>> {
        self.inner.events(id).await
    }
    async fn cases_of(&self, user: &UserRef) -> StoreResult<Vec<StoredCase>> {
        self.inner.cases_of(user).await
    }
    async fn queue(&self, limit: u32) -> StoreResult<Vec<StoredCase>> {
        self.inner.queue(limit).await
    }
    async fn enqueue(
        &self,
        out: &[Outgoing],
        now: DateTime<Utc>,
        talk: &crate::core::ports::Talk,
    ) -> StoreResult<bool> {
        self.inner.enqueue(out, now, talk).await
    }
    async fn case_messages(&self, id: &CaseId) -> StoreResult<Vec<CaseMessage>> {
        self.inner.case_messages(id).await
    }
    async fn conversation(
        &self,
        locale_key: &str,
        user: &UserRef,
        chat: &ChatRef,
    ) -> StoreResult<Conversation> {
        self.inner.conversation(locale_key, user, chat).await
    }
    async fn set_dialogue(
        &self,
        user: &UserRef,
        chat: &ChatRef,
        state: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.inner.set_dialogue(user, chat, state, now).await
    }
    async fn next_due_at(&self) -> StoreResult<Option<DateTime<Utc>>> {
        self.inner.next_due_at().await
    }
    async fn outbox_pending(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<OutboxItem>> {
        self.inner.outbox_pending(now, limit).await
    }
    async fn outbox_sent(
        &self,
        id: i64,
        message_ref: Option<&MessageRef>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.inner.outbox_sent(id, message_ref, now).await
    }
    async fn outbox_sent_key(
        &self,
        key: &str,
        message_ref: Option<&MessageRef>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.inner.outbox_sent_key(key, message_ref, now).await
    }
    async fn outbox_release_key(
        &self,
        key: &str,
        error: &str,
        not_before: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        self.inner.outbox_release_key(key, error, not_before).await
    }
    async fn outbox_row_state(&self, key: &str) -> StoreResult<crate::core::ports::RowState> {
        self.inner.outbox_row_state(key).await
    }
    async fn outbox_retry(&self, id: i64, next_at: DateTime<Utc>, error: &str) -> StoreResult<()> {
        self.inner.outbox_retry(id, next_at, error).await
    }
    async fn outbox_wait(&self, id: i64, next_at: DateTime<Utc>, error: &str) -> StoreResult<()> {
        self.inner.outbox_wait(id, next_at, error).await
    }
    async fn hold_lease(
        &self,
        name: &str,
        holder: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.inner.hold_lease(name, holder, until, now).await
    }
    async fn drop_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        self.inner.drop_lease(name, holder).await
    }
    async fn outbox_failed(&self, id: i64, error: &str, now: DateTime<Utc>) -> StoreResult<()> {
        self.inner.outbox_failed(id, error, now).await
    }
    async fn outbox_release(&self, ids: &[i64]) -> StoreResult<()> {
        self.inner.outbox_release(ids).await
    }
    async fn record_delivery_failure(
        &self,
        case_id: &CaseId,
        to: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.inner
            .record_delivery_failure(case_id, to, error, now)
            .await
    }
    async fn links_by_key(
        &self,
        keys: &[String],
    ) -> StoreResult<Vec<crate::core::cluster::LinkRow>> {
        self.inner.links_by_key(keys).await
    }
    async fn links_by_case(
        &self,
        cases: &[CaseId],
    ) -> StoreResult<Vec<crate::core::cluster::LinkRow>> {
        self.inner.links_by_case(cases).await
    }
    async fn shared_links(&self) -> StoreResult<Vec<crate::core::cluster::LinkRow>> {
        self.inner.shared_links().await
    }
    async fn insert_draft(
        &self,
        draft: &crate::core::draft::Draft,
        out: &[Outgoing],
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.inner.insert_draft(draft, out, now).await
    }
    async fn load_draft(&self, id: &str) -> StoreResult<Option<crate::core::draft::Draft>> {
        self.inner.load_draft(id).await
    }
    async fn drafts_about(&self, subject: &str) -> StoreResult<Vec<crate::core::draft::Draft>> {
        self.inner.drafts_about(subject).await
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
        self.inner
            .decide_draft(id, status, by, reason, at, out)
            .await
    }
    async fn stat_counters(
        &self,
        recent_from: i64,
        company: Option<&str>,
    ) -> StoreResult<Vec<crate::core::stats::Counter>> {
        self.inner.stat_counters(recent_from, company).await
    }
    async fn stat_summary(
        &self,
        recent_from: i64,
        today: i64,
        company: Option<&str>,
    ) -> StoreResult<crate::core::stats::Summary> {
        self.inner.stat_summary(recent_from, today, company).await
    }
    async fn stat_companies(&self) -> StoreResult<Vec<(String, String)>> {
        self.inner.stat_companies().await
    }
    async fn get_setting(&self, key: &str) -> StoreResult<Option<String>> {
        self.inner.get_setting(key).await
    }
    async fn put_setting(&self, key: &str, value: &str) -> StoreResult<()> {
        self.inner.put_setting(key, value).await
    }
}
