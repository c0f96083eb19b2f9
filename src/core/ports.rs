//! The store port: everything the core needs from persistence, implemented in `crate::store`.

use chrono::{DateTime, Utc};
use std::future::Future;

use crate::core::case::{Case, CaseId, Event};
use crate::core::identity::{ChatRef, MessageRef, UserRef};
use crate::core::message::{Attachment, Meta, Outgoing, Recipient};

/// See [`Store::conversation`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conversation {
    pub locale: Option<String>,
    pub dialogue: Option<String>,
}

/// A case as loaded, with the version its next save must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCase {
    pub case: Case,
    pub version: i64,
}

/// One atomic change to a case: its new state, the events that led there, the messages it
/// sends, and the ladder step it takes (if any). Stored all together or not at all.
#[derive(Debug, Clone)]
pub struct Change {
    /// When the change happened (the clock's `now`).
    pub at: DateTime<Utc>,
    pub case: Case,
    /// `None` creates the case; `Some(v)` saves only if the stored version is still `v`.
    pub expected_version: Option<i64>,
    pub next_due_at: Option<DateTime<Utc>>,
    pub events: Vec<Event>,
    pub outgoing: Vec<Outgoing>,
    /// The escalation-log key (`step#occurrence`); a second save with the same key is refused.
    pub step_key: Option<String>,
    /// What the input that caused this also changes about the conversation, in the same
    /// transaction.
    pub talk: Talk,
}

/// The conversation's side of a change, written with it or not at all: the input's platform
/// ID ([`crate::core::message::Incoming::id`]; a second write with the same ID is refused, so
/// a redelivered update is handled once), the person's dialogue state in this chat, and the
/// language they chose.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Talk {
    pub inbox: Option<String>,
    /// `Some(None)` ends the dialogue.
    pub dialogue: Option<(UserRef, ChatRef, Option<String>)>,
    /// `(setting key, language)`.
    pub locale: Option<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    Done,
    /// Someone else changed the case first: reload and decide again.
    Conflict,
    /// The step was already taken (by another instance): nothing was written.
    StepAlreadyTaken,
    /// The input that caused it was handled before (a redelivered update): nothing was written.
    Duplicate,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached right now; the user should try again shortly.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// What one claim pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Taken {
    /// Cases claimed (each either took a step or had its deadline refreshed).
    pub claimed: usize,
    /// Steps taken and saved.
    pub steps: usize,
}

/// A message waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub id: i64,
    pub key: String,
    pub case_id: Option<CaseId>,
    pub to: Recipient,
    pub text: String,
    pub attachment: Option<Attachment>,
    pub meta: Meta,
    pub attempts: u32,
    /// For an edit or a delete: the platform's reference of the message it is about, as the
    /// outbox resolved it just before sending.
    pub target: Option<MessageRef>,
}

impl OutboxItem {
    /// An answer in the shape a sink sends, before the outbox holds it as a row: what an
    /// adapter sends in place. An edit or a delete of a known message targets it.
    pub fn answer(o: &Outgoing) -> OutboxItem {
        use crate::core::message::{Op, Target};
        let target = match &o.meta.op {
            Op::Edit {
                target: Target::Message { message },
            }
            | Op::Delete {
                target: Target::Message { message },
            } => Some(message.clone()),
            _ => None,
        };
        OutboxItem {
            id: 0,
            key: o.key.clone(),
            case_id: o.case_id.clone(),
            to: o.to.clone(),
            text: o.text.clone(),
            attachment: o.attachment.clone(),
            meta: o.meta.clone(),
            attempts: 0,
            target,
        }
    }
}

/// Where the message an edit or a delete is about stands (see `Target::Row`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowState {
    /// Sent; the platform's reference, if it gave one.
    Sent(Option<MessageRef>),
    /// Not sent yet: the edit waits.
    Pending,
    /// It failed for good, or there is no such row: the edit has nothing to change.
    Gone,
}

/// A message the outbox holds for a case, for the dossier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseMessage {
    pub at: DateTime<Utc>,
    pub to: Recipient,
    pub text: String,
}

pub type StoreResult<T> = Result<T, StoreError>;

pub trait Store: Clone + Send + Sync + 'static {
    fn save(&self, change: &Change) -> impl Future<Output = StoreResult<Saved>> + Send;
    fn load_case(
        &self,
        id: &CaseId,
    ) -> impl Future<Output = StoreResult<Option<StoredCase>>> + Send;
    fn events(&self, id: &CaseId) -> impl Future<Output = StoreResult<Vec<Event>>> + Send;
    /// A reporter's cases, newest first.
    fn cases_of(&self, user: &UserRef)
    -> impl Future<Output = StoreResult<Vec<StoredCase>>> + Send;
    /// Open cases for moderators: awaiting a decision first, then the longest silence.
    fn queue(&self, limit: u32) -> impl Future<Output = StoreResult<Vec<StoredCase>>> + Send;
    /// Writes messages that change no case, with `talk`, in one transaction. Answers
    /// ([`Outgoing::is_answer`]) are written leased, for the adapter to send in place. Nothing
    /// is written if `talk.inbox` was handled before: returns whether it was written.
    fn enqueue(
        &self,
        out: &[Outgoing],
        now: DateTime<Utc>,
        talk: &Talk,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Every message queued for a case (sent or not), oldest first; files are left out.
    fn case_messages(
        &self,
        id: &CaseId,
    ) -> impl Future<Output = StoreResult<Vec<CaseMessage>>> + Send;

    /// What the engine reads before every message, in one query: the setting `locale_key`
    /// (the person's language) and the person's dialogue state in this chat.
    fn conversation(
        &self,
        locale_key: &str,
        user: &UserRef,
        chat: &ChatRef,
    ) -> impl Future<Output = StoreResult<Conversation>> + Send;
    fn set_dialogue(
        &self,
        user: &UserRef,
        chat: &ChatRef,
        state: Option<&str>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// The earliest escalation deadline of any open case.
    fn next_due_at(&self) -> impl Future<Output = StoreResult<Option<DateTime<Utc>>>> + Send;
    /// Claims up to `limit` cases whose deadline has passed, lets `decide` turn each into a
    /// change, and saves those changes, all while no other instance can claim the same cases.
    /// `decide` may run on several threads at once for one batch.
    fn take_due<F>(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        decide: F,
    ) -> impl Future<Output = StoreResult<Taken>> + Send
    where
        F: Fn(StoredCase) -> Change + Send + Sync;

    fn outbox_pending(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<OutboxItem>>> + Send;
    fn outbox_sent(
        &self,
        id: i64,
        message_ref: Option<&MessageRef>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// An answer the adapter sent in place (by its key).
    fn outbox_sent_key(
        &self,
        key: &str,
        message_ref: Option<&MessageRef>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// An answer the adapter could not send in place: the outbox sends it now, or not before
    /// `not_before` (a platform's rate limit said when).
    fn outbox_release_key(
        &self,
        key: &str,
        error: &str,
        not_before: Option<DateTime<Utc>>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Where the row with this key stands, for an edit or a delete of what it sent.
    fn outbox_row_state(&self, key: &str) -> impl Future<Output = StoreResult<RowState>> + Send;
    fn outbox_retry(
        &self,
        id: i64,
        next_at: DateTime<Utc>,
        error: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Like `outbox_retry` without counting an attempt (the platform said when to come back).
    fn outbox_wait(
        &self,
        id: i64,
        next_at: DateTime<Utc>,
        error: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Takes or renews the named lease (one poller or gateway connection among instances)
    /// until `until`; true if `holder` has it now.
    fn hold_lease(
        &self,
        name: &str,
        holder: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Gives the lease up (a clean stop), so another instance takes over at once.
    fn drop_lease(&self, name: &str, holder: &str) -> impl Future<Output = StoreResult<()>> + Send;
    fn outbox_failed(
        &self,
        id: i64,
        error: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Hands leased messages back unsent (on shutdown, or when a rate limit makes them wait).
    fn outbox_release(&self, ids: &[i64]) -> impl Future<Output = StoreResult<()>> + Send;

    /// Notes on a case's timeline that a message about it could not be delivered
    /// (a `DeliveryFailed` event; the case's state and version are unchanged).
    fn record_delivery_failure(
        &self,
        case_id: &CaseId,
        to: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// The cluster index's rows naming any of these link keys ([`crate::core::cluster`]).
    fn links_by_key(
        &self,
        keys: &[String],
    ) -> impl Future<Output = StoreResult<Vec<crate::core::cluster::LinkRow>>> + Send;
    /// The cluster index's rows of these cases.
    fn links_by_case(
        &self,
        cases: &[CaseId],
    ) -> impl Future<Output = StoreResult<Vec<crate::core::cluster::LinkRow>>> + Send;
    /// The cluster index's rows of every key two or more cases name.
    fn shared_links(
        &self,
    ) -> impl Future<Output = StoreResult<Vec<crate::core::cluster::LinkRow>>> + Send;

    /// Writes a new draft ([`crate::core::draft`]) with its messages; false if its ID exists.
    fn insert_draft(
        &self,
        draft: &crate::core::draft::Draft,
        out: &[Outgoing],
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    fn load_draft(
        &self,
        id: &str,
    ) -> impl Future<Output = StoreResult<Option<crate::core::draft::Draft>>> + Send;
    /// Drafts about one subject (a cluster's ID, a month), oldest first.
    fn drafts_about(
        &self,
        subject: &str,
    ) -> impl Future<Output = StoreResult<Vec<crate::core::draft::Draft>>> + Send;
    /// Decides a pending draft and writes the decision's messages at once; false, and nothing
    /// written, if it was decided before.
    #[allow(clippy::too_many_arguments)]
    fn decide_draft(
        &self,
        id: &str,
        status: crate::core::draft::DraftStatus,
        by: &str,
        reason: Option<&str>,
        at: DateTime<Utc>,
        out: &[Outgoing],
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// The counters of the figures per company ([`crate::core::stats`]): all time, and per
    /// day of report from `recent_from` on; of one company (its key), or of all.
    fn stat_counters(
        &self,
        recent_from: i64,
        company: Option<&str>,
    ) -> impl Future<Output = StoreResult<Vec<crate::core::stats::Counter>>> + Send;
    /// The counters summed for `/stats`, per company key: all time, and over the cases
    /// reported from day `recent_from` to `today`; of one company (its key) or of all.
    fn stat_summary(
        &self,
        recent_from: i64,
        today: i64,
        company: Option<&str>,
    ) -> impl Future<Output = StoreResult<crate::core::stats::Summary>> + Send;
    /// Each counted company's key and how it is shown.
    fn stat_companies(&self) -> impl Future<Output = StoreResult<Vec<(String, String)>>> + Send;

    fn get_setting(&self, key: &str) -> impl Future<Output = StoreResult<Option<String>>> + Send;
    fn put_setting(&self, key: &str, value: &str) -> impl Future<Output = StoreResult<()>> + Send;
}
