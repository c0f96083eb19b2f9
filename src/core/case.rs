//! The case: its unguessable ID, the facts of the report, the support-silence clock, and the
//! append-only timeline of events that the current state is folded from.

use chrono::{DateTime, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::core::authorities::Country;
use crate::core::evidence::{Address, Chain, TxHash};
use crate::core::identity::{ActorRecord, ChatRef, Locale, UserRef};

/// Crockford base32: no I, L, O or U, so IDs survive being read aloud or retyped.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const ID_LEN: usize = 10;

/// A case ID such as `RC-7K3MQ-9XT2H`: 50 random bits, nothing sequential.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CaseId(String);

impl CaseId {
    pub fn generate() -> CaseId {
        let mut rng = rand::rng();
        let body: String = (0..ID_LEN)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect();
        CaseId(body)
    }

    /// Accepts any case, with or without the `RC-` prefix, dashes, spaces or a leading `#`;
    /// reads O as 0 and I/L as 1 as Crockford base32 does.
    pub fn parse(s: &str) -> Option<CaseId> {
        let mut body = String::with_capacity(ID_LEN + 2);
        for c in s.trim().trim_start_matches('#').chars() {
            let c = match c.to_ascii_uppercase() {
                '-' | ' ' | '_' => continue,
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            body.push(c);
        }
        // The prefix is told apart by length: a random body may itself start with "RC".
        if body.len() == ID_LEN + 2 && body.starts_with("RC") {
            body.drain(..2);
        }
        let valid = body.len() == ID_LEN && body.bytes().all(|b| ALPHABET.contains(&b));
        valid.then_some(CaseId(body))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RC-{}-{}", &self.0[..5], &self.0[5..])
    }
}

impl TryFrom<String> for CaseId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        CaseId::parse(&s).ok_or_else(|| format!("not a case id: {s}"))
    }
}

impl From<CaseId> for String {
    fn from(id: CaseId) -> String {
        id.0
    }
}

/// How the victim thinks the theft happened; decides what to do first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TheftKind {
    SeedLeaked,
    MaliciousApproval,
    TronPermission,
    AddressPoisoning,
    AccountTakeover,
    FakeSupport,
    #[default]
    Unknown,
}

impl TheftKind {
    pub const ALL: [TheftKind; 7] = [
        TheftKind::SeedLeaked,
        TheftKind::MaliciousApproval,
        TheftKind::TronPermission,
        TheftKind::AddressPoisoning,
        TheftKind::AccountTakeover,
        TheftKind::FakeSupport,
        TheftKind::Unknown,
    ];

    pub fn key(self) -> &'static str {
        match self {
            TheftKind::SeedLeaked => "seed_leaked",
            TheftKind::MaliciousApproval => "malicious_approval",
            TheftKind::TronPermission => "tron_permission",
            TheftKind::AddressPoisoning => "address_poisoning",
            TheftKind::AccountTakeover => "account_takeover",
            TheftKind::FakeSupport => "fake_support",
            TheftKind::Unknown => "unknown",
        }
    }

    /// The intake's numbered choice (1-7), the key, or a short alias.
    pub fn parse(s: &str) -> Option<TheftKind> {
        let s = s.trim().to_lowercase();
        if let Ok(n) = s.parse::<usize>() {
            return n
                .checked_sub(1)
                .and_then(|i| TheftKind::ALL.get(i).copied());
        }
        let kind = match s.as_str() {
            "seed" | "key" | "seed_leaked" | "leak" | "助记词" | "私钥" => {
                TheftKind::SeedLeaked
            }
            "approval" | "approve" | "permit" | "malicious_approval" | "授权" => {
                TheftKind::MaliciousApproval
            }
            "tron" | "permission" | "multisig" | "tron_permission" | "多签" => {
                TheftKind::TronPermission
            }
            "poisoning" | "poison" | "address_poisoning" | "投毒" => TheftKind::AddressPoisoning,
            "account" | "exchange" | "takeover" | "account_takeover" | "账户" => {
                TheftKind::AccountTakeover
            }
            "fake" | "scam" | "recovery" | "fake_support" | "假客服" => TheftKind::FakeSupport,
            "unknown" | "dont_know" | "?" | "不知道" => TheftKind::Unknown,
            _ => return None,
        };
        Some(kind)
    }
}

/// How the victim reached support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactChannel {
    Email,
    Ticket,
    WebForm,
    Social,
    LiveChat,
    Phone,
    Other,
}

impl ContactChannel {
    pub fn key(self) -> &'static str {
        match self {
            ContactChannel::Email => "email",
            ContactChannel::Ticket => "ticket",
            ContactChannel::WebForm => "web_form",
            ContactChannel::Social => "social",
            ContactChannel::LiveChat => "live_chat",
            ContactChannel::Phone => "phone",
            ContactChannel::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<ContactChannel> {
        let c = match s.trim().to_lowercase().as_str() {
            "email" | "e-mail" | "mail" | "邮件" | "邮箱" | "电子邮件" => {
                ContactChannel::Email
            }
            "ticket" | "in-app" | "inapp" | "app" | "工单" | "应用内" => {
                ContactChannel::Ticket
            }
            "form" | "web" | "website" | "web_form" | "webform" | "网站" | "表单" => {
                ContactChannel::WebForm
            }
            "social" | "twitter" | "x" | "telegram" | "discord" | "weibo" | "社交" | "社交媒体"
            | "微博" => ContactChannel::Social,
            "chat" | "livechat" | "live_chat" | "在线客服" | "客服" => {
                ContactChannel::LiveChat
            }
            "phone" | "call" | "电话" => ContactChannel::Phone,
            "other" | "其他" => ContactChannel::Other,
            _ => return None,
        };
        Some(c)
    }
}

/// One message the victim sent to support.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub at: DateTime<Utc>,
    pub channel: Option<ContactChannel>,
    pub reference: Option<String>,
}

/// One answer from support.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportReply {
    pub at: DateTime<Utc>,
    pub summary: Option<String>,
    pub unresolved: bool,
}

/// What the victim reported. Every field but the theft kind may be unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Report {
    pub wallet: Option<String>,
    #[serde(default)]
    pub how: TheftKind,
    pub chain: Option<Chain>,
    pub asset: Option<String>,
    pub amount: Option<String>,
    #[serde(default)]
    pub txs: Vec<TxHash>,
    #[serde(default)]
    pub addresses: Vec<Address>,
    /// Addresses the victim named as the thief's (`attacker=` in the one-line form): filed
    /// labelled `attacker`, so they link the case to others naming them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attackers: Vec<Address>,
    pub noticed_at: Option<DateTime<Utc>>,
    pub country: Option<Country>,
    /// The company the case counts under in the figures per company
    /// ([`crate::core::stats`]): the wallet or app normalised through the alias table, else
    /// the community's company; set when the case is filed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
}

/// What a piece of evidence shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceLabel {
    /// The transaction that took the funds.
    TheftTx,
    VictimAddress,
    AttackerAddress,
    /// Where the stolen funds moved afterwards.
    LaterMovement,
    /// A deposit address at a centralised exchange the funds reached (it can freeze them).
    ExchangeDeposit,
    Unlabeled,
}

impl EvidenceLabel {
    pub fn key(self) -> &'static str {
        match self {
            EvidenceLabel::TheftTx => "theft_tx",
            EvidenceLabel::VictimAddress => "victim_address",
            EvidenceLabel::AttackerAddress => "attacker_address",
            EvidenceLabel::LaterMovement => "later_movement",
            EvidenceLabel::ExchangeDeposit => "exchange_deposit",
            EvidenceLabel::Unlabeled => "unlabeled",
        }
    }

    pub fn parse(s: &str) -> Option<EvidenceLabel> {
        Some(match s.trim().to_lowercase().as_str() {
            "theft" | "theft_tx" | "stolen" | "被盗" | "被盗交易" => EvidenceLabel::TheftTx,
            "victim" | "mine" | "my" | "victim_address" | "我的" | "我的地址" => {
                EvidenceLabel::VictimAddress
            }
            "attacker" | "thief" | "scammer" | "attacker_address" | "攻击者" | "黑客" | "骗子" => {
                EvidenceLabel::AttackerAddress
            }
            "movement" | "later" | "moved" | "later_movement" | "转移" | "后续转移" => {
                EvidenceLabel::LaterMovement
            }
            "exchange" | "cex" | "deposit" | "exchange_deposit" | "交易所" => {
                EvidenceLabel::ExchangeDeposit
            }
            "none" | "unlabeled" | "其他" => EvidenceLabel::Unlabeled,
            _ => return None,
        })
    }
}

/// A transaction hash or an address, checked for its chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum EvidenceValue {
    Tx(TxHash),
    Address(Address),
}

impl EvidenceValue {
    pub fn as_str(&self) -> &str {
        match self {
            EvidenceValue::Tx(t) => t.as_str(),
            EvidenceValue::Address(a) => a.as_str(),
        }
    }
}

/// One piece of evidence on a case, numbered for `/evidence remove`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceItem {
    pub number: u32,
    pub value: EvidenceValue,
    pub label: EvidenceLabel,
    pub added_at: DateTime<Utc>,
    pub added_by: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    Open,
    Resolved,
    Withdrawn,
    Closed,
}

impl CaseStatus {
    pub fn key(self) -> &'static str {
        match self {
            CaseStatus::Open => "open",
            CaseStatus::Resolved => "resolved",
            CaseStatus::Withdrawn => "withdrawn",
            CaseStatus::Closed => "closed",
        }
    }
}

/// The support-silence clock: running from the first unanswered contact, stopped by a reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SilenceClock {
    /// When the current silence began; `None` while support's last answer stands.
    pub since: Option<DateTime<Utc>>,
    /// True while the start is the report itself because no contact time was given yet.
    pub assumed: bool,
    /// Time spent on moderator hold during this silence; the ladder does not count it.
    pub held_ms: i64,
}

impl SilenceClock {
    pub fn silence(&self, now: DateTime<Utc>) -> Option<chrono::Duration> {
        self.since.map(|s| (now - s).max(chrono::Duration::zero()))
    }

    /// The instant the ladder measures from: the start of silence plus time on hold.
    pub fn ladder_base(&self) -> Option<DateTime<Utc>> {
        self.since
            .map(|s| s + chrono::Duration::milliseconds(self.held_ms))
    }

    fn start(&mut self, at: DateTime<Utc>, assumed: bool) {
        self.since = Some(at);
        self.assumed = assumed;
        self.held_ms = 0;
    }
}

/// How far up the ladder a case has gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Progress {
    /// Keys of the ladder steps already taken, in order.
    pub done: Vec<String>,
    /// Which occurrence of the last step was the latest (0 = the step itself, 1+ = repeats).
    pub repeats: u32,
    pub last_at: Option<DateTime<Utc>>,
    /// The kinds of the steps taken (a complaint, the authorities…), for the figures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<crate::core::ladder::StepKind>,
}

impl Progress {
    pub fn last(&self) -> Option<&str> {
        self.done.last().map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub since: DateTime<Utc>,
    pub by: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostDraft {
    pub text: String,
    pub drafted_at: DateTime<Utc>,
    /// The escalation-log key of the step that drafted it (`public_post#0`): its moderator
    /// notice is the one to update when the post is decided.
    #[serde(default)]
    pub step: Option<String>,
}

/// A case's current state, always the fold of its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub id: CaseId,
    pub reporter: UserRef,
    pub reporter_name: String,
    pub chat: ChatRef,
    pub locale: Locale,
    pub created_at: DateTime<Utc>,
    pub report: Report,
    pub status: CaseStatus,
    pub ended_at: Option<DateTime<Utc>>,
    pub contacts: Vec<Contact>,
    pub replies: Vec<SupportReply>,
    pub clock: SilenceClock,
    pub progress: Progress,
    pub hold: Option<Hold>,
    pub claimed_by: Option<String>,
    pub pending_post: Option<PostDraft>,
    pub published_posts: u32,
    pub notes: u32,
    /// The evidence: the report's, then what was added later; removed items are gone.
    pub evidence: Vec<EvidenceItem>,
    /// The number the next added item gets (numbers are never reused).
    pub next_evidence: u32,
    /// How many cases its cluster had when the case was last told it joined one (0: never
    /// in a cluster). See [`crate::core::cluster`].
    #[serde(default)]
    pub cluster_size: u32,
    /// Whether the victim lets moderators include the case in a joint complaint; `None`
    /// until they answer, which counts as no.
    #[serde(default)]
    pub joint_consent: Option<bool>,
    /// The joint complaints the case is in, and how each was decided (`None`: pending).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub joints: Vec<(String, Option<bool>)>,
}

impl Case {
    pub fn is_open(&self) -> bool {
        self.status == CaseStatus::Open
    }

    /// Rebuilds a case from its timeline; `None` if the first event is not the report.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Option<Case> {
        let mut iter = events.into_iter();
        let first = iter.next()?;
        let mut case = Case::opened(first)?;
        for ev in iter {
            case.apply(ev);
        }
        Some(case)
    }

    /// The state right after the report event.
    pub fn opened(ev: &Event) -> Option<Case> {
        let EventKind::Reported {
            id,
            reporter,
            chat,
            locale,
            report,
            contact,
        } = &ev.kind
        else {
            return None;
        };
        let mut case = Case {
            id: id.clone(),
            reporter: reporter.clone(),
            reporter_name: ev.actor.name.clone(),
            chat: chat.clone(),
            locale: *locale,
            created_at: ev.at,
            report: (**report).clone(),
            status: CaseStatus::Open,
            ended_at: None,
            contacts: Vec::new(),
            replies: Vec::new(),
            clock: SilenceClock::default(),
            progress: Progress::default(),
            hold: None,
            claimed_by: None,
            pending_post: None,
            published_posts: 0,
            notes: 0,
            evidence: Vec::new(),
            next_evidence: 1,
            cluster_size: 0,
            joint_consent: None,
            joints: Vec::new(),
        };
        let values = (report.txs.iter().cloned().map(EvidenceValue::Tx))
            .map(|v| (v, EvidenceLabel::TheftTx))
            .chain(
                report
                    .addresses
                    .iter()
                    .filter(|a| !report.attackers.contains(a))
                    .cloned()
                    .map(|a| (EvidenceValue::Address(a), EvidenceLabel::Unlabeled)),
            )
            .chain(
                report
                    .attackers
                    .iter()
                    .cloned()
                    .map(|a| (EvidenceValue::Address(a), EvidenceLabel::AttackerAddress)),
            );
        for (value, label) in values {
            case.add_evidence(value, label, ev.at, &ev.actor.name);
        }
        match contact {
            Some(c) => {
                case.contacts.push(c.clone());
                case.clock.start(c.at.min(ev.at), false);
            }
            // Silence counts from the report until the victim tells us when they wrote.
            None => case.clock.start(ev.at, true),
        }
        Some(case)
    }

    /// Applies one event. Every state change of a case goes through here.
    pub fn apply(&mut self, ev: &Event) {
        match &ev.kind {
            EventKind::Reported { .. } => {}
            EventKind::SupportContacted(c) => {
                self.contacts.push(c.clone());
                if self.clock.since.is_none() || self.clock.assumed {
                    self.clock.start(c.at, false);
                }
            }
            EventKind::SupportReplied { summary } => {
                self.replies.push(SupportReply {
                    at: ev.at,
                    summary: summary.clone(),
                    unresolved: false,
                });
                self.clock.since = None;
                self.clock.assumed = false;
            }
            EventKind::ReplyUnresolved => {
                let from = match self.replies.last_mut() {
                    Some(r) => {
                        r.unresolved = true;
                        r.at
                    }
                    None => ev.at,
                };
                self.clock.start(from, false);
            }
            EventKind::StepTaken {
                step,
                occurrence,
                kind,
            } => {
                if !self.progress.done.iter().any(|d| d == step) {
                    self.progress.done.push(step.clone());
                }
                if let Some(k) = kind.or_else(|| crate::core::ladder::StepKind::from_key(step))
                    && !self.progress.kinds.contains(&k)
                {
                    self.progress.kinds.push(k);
                }
                self.progress.repeats = *occurrence;
                self.progress.last_at = Some(ev.at);
            }
            EventKind::PostDrafted { text, step } => {
                self.pending_post = Some(PostDraft {
                    text: text.clone(),
                    drafted_at: ev.at,
                    step: step.clone(),
                });
            }
            EventKind::PostApproved => {
                self.pending_post = None;
                self.published_posts += 1;
            }
            EventKind::PostRejected { .. } => self.pending_post = None,
            EventKind::Claimed => self.claimed_by = Some(ev.actor.name.clone()),
            EventKind::Noted { .. } => self.notes += 1,
            EventKind::Held { reason } => {
                self.hold = Some(Hold {
                    since: ev.at,
                    by: ev.actor.name.clone(),
                    reason: reason.clone(),
                });
            }
            EventKind::Resumed => {
                if let Some(h) = self.hold.take()
                    && self.clock.since.is_some()
                {
                    self.clock.held_ms += (ev.at - h.since).num_milliseconds().max(0);
                }
            }
            EventKind::Advanced => {}
            EventKind::LocaleChanged { locale } => self.locale = *locale,
            EventKind::EvidenceAdded { value, label } => {
                self.add_evidence(value.clone(), *label, ev.at, &ev.actor.name)
            }
            EventKind::EvidenceRemoved { number } => self.evidence.retain(|e| e.number != *number),
            EventKind::EvidenceLabelled { number, label } => {
                for e in self.evidence.iter_mut().filter(|e| e.number == *number) {
                    e.label = *label;
                }
            }
            EventKind::ClusterJoined { cases, .. } => self.cluster_size = *cases,
            EventKind::JointConsent { yes } => self.joint_consent = Some(*yes),
            // The store stops the address linking cases; the case's evidence is unchanged.
            EventKind::Unlinked { .. } => {}
            EventKind::JointDrafted { draft } => {
                if !self.joints.iter().any(|(d, _)| d == draft) {
                    self.joints.push((draft.clone(), None));
                }
            }
            EventKind::JointDecided {
                draft, approved, ..
            } => {
                if let Some(j) = self.joints.iter_mut().find(|(d, _)| d == draft) {
                    j.1 = Some(*approved);
                }
            }
            EventKind::Resolved => self.end(CaseStatus::Resolved, ev.at),
            EventKind::Withdrawn => self.end(CaseStatus::Withdrawn, ev.at),
            EventKind::Closed { .. } => self.end(CaseStatus::Closed, ev.at),
            // A record for people reading the timeline; the case itself is unchanged, so the
            // store can append it without a new version.
            EventKind::DeliveryFailed { .. } => {}
        }
    }

    fn add_evidence(
        &mut self,
        value: EvidenceValue,
        label: EvidenceLabel,
        at: DateTime<Utc>,
        by: &str,
    ) {
        self.evidence.push(EvidenceItem {
            number: self.next_evidence,
            value,
            label,
            added_at: at,
            added_by: by.to_string(),
        });
        self.next_evidence += 1;
    }

    fn end(&mut self, status: CaseStatus, at: DateTime<Utc>) {
        self.status = status;
        self.ended_at = Some(at);
        self.pending_post = None;
        self.hold = None;
    }
}

/// Everything that can happen to a case. Stored as JSON in the timeline; never edited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    Reported {
        id: CaseId,
        reporter: UserRef,
        chat: ChatRef,
        locale: Locale,
        report: Box<Report>,
        contact: Option<Contact>,
    },
    SupportContacted(Contact),
    SupportReplied {
        summary: Option<String>,
    },
    ReplyUnresolved,
    StepTaken {
        step: String,
        occurrence: u32,
        /// The step's kind (events before it was recorded: read from a default key).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<crate::core::ladder::StepKind>,
    },
    PostDrafted {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<String>,
    },
    PostApproved,
    PostRejected {
        reason: Option<String>,
    },
    Claimed,
    Noted {
        text: String,
    },
    Held {
        reason: Option<String>,
    },
    Resumed,
    Advanced,
    LocaleChanged {
        locale: Locale,
    },
    EvidenceAdded {
        value: EvidenceValue,
        label: EvidenceLabel,
    },
    EvidenceRemoved {
        number: u32,
    },
    EvidenceLabelled {
        number: u32,
        label: EvidenceLabel,
    },
    /// The case now shares a linking address with other cases (see [`crate::core::cluster`]).
    ClusterJoined {
        /// The shared address, as checked.
        address: Address,
        /// How many cases the cluster has with this one.
        cases: u32,
    },
    /// The victim's answer on a joint complaint.
    JointConsent {
        yes: bool,
    },
    /// The case is in a joint complaint drafted for its cluster ([`crate::core::draft`]).
    JointDrafted {
        draft: String,
    },
    /// A moderator approved (the victim got the complaint) or rejected the joint complaint.
    JointDecided {
        draft: String,
        approved: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A moderator took the case out of its cluster: the address no longer links cases.
    Unlinked {
        address: Address,
        reason: Option<String>,
    },
    Resolved,
    Withdrawn,
    Closed {
        reason: Option<String>,
    },
    /// A message about the case could not be delivered and will not be retried.
    DeliveryFailed {
        /// The recipient's kind ([`crate::core::message::Recipient::key`]).
        to: String,
        error: String,
    },
}

impl EventKind {
    /// A stable name for the timeline's `kind` column and the templates.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Reported { .. } => "reported",
            EventKind::SupportContacted(_) => "support_contacted",
            EventKind::SupportReplied { .. } => "support_replied",
            EventKind::ReplyUnresolved => "reply_unresolved",
            EventKind::StepTaken { .. } => "step_taken",
            EventKind::PostDrafted { .. } => "post_drafted",
            EventKind::PostApproved => "post_approved",
            EventKind::PostRejected { .. } => "post_rejected",
            EventKind::Claimed => "claimed",
            EventKind::Noted { .. } => "noted",
            EventKind::Held { .. } => "held",
            EventKind::Resumed => "resumed",
            EventKind::Advanced => "advanced",
            EventKind::LocaleChanged { .. } => "locale_changed",
            EventKind::EvidenceAdded { .. } => "evidence_added",
            EventKind::EvidenceRemoved { .. } => "evidence_removed",
            EventKind::EvidenceLabelled { .. } => "evidence_labelled",
            EventKind::ClusterJoined { .. } => "cluster_joined",
            EventKind::JointConsent { .. } => "joint_consent",
            EventKind::Unlinked { .. } => "unlinked",
            EventKind::JointDrafted { .. } => "joint_drafted",
            EventKind::JointDecided { .. } => "joint_decided",
            EventKind::Resolved => "resolved",
            EventKind::Withdrawn => "withdrawn",
            EventKind::Closed { .. } => "closed",
            EventKind::DeliveryFailed { .. } => "delivery_failed",
        }
    }
}

/// One entry of a case's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub actor: ActorRecord,
    pub kind: EventKind,
}

impl Event {
    pub fn new(at: DateTime<Utc>, actor: ActorRecord, kind: EventKind) -> Event {
        Event { at, actor, kind }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_ids_are_random_readable_and_forgiving() {
        let a = CaseId::generate();
        let b = CaseId::generate();
        assert_ne!(a, b);
        let shown = a.to_string();
        assert!(shown.starts_with("RC-") && shown.len() == 14, "{shown}");
        assert_eq!(CaseId::parse(&shown), Some(a.clone()));
        assert_eq!(CaseId::parse(&shown.to_lowercase()), Some(a.clone()));
        assert_eq!(CaseId::parse(&shown.replace('-', "")), Some(a));
        assert_eq!(
            CaseId::parse("rc-o1lI0-abcde").map(|c| c.to_string()),
            Some("RC-01110-ABCDE".into())
        );
        for bad in [
            "",
            "RC-",
            "RC-12345",
            "RC-12345-678901",
            "RC-UUUUU-UUUUU",
            "hello",
        ] {
            assert_eq!(CaseId::parse(bad), None, "{bad}");
        }
    }
}
