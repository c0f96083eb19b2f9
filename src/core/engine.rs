//! Commands in, replies and notices out: the engine decides, the store records, and every
//! message leaves through the outbox.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use minijinja::{Value, context};
use serde::Serialize;

use crate::config::{Community, Settings};
use crate::core::authorities::Directory;
use crate::core::case::{Case, CaseId, Event, EventKind};
use crate::core::clock::Clock;
use crate::core::command::{self, Command, ParseError, Parsed};
use crate::core::identity::{ActorRecord, Locale, UserRef};
use crate::core::intake::{self, Intake, Invalid, Question, Step, Want};
use crate::core::ladder::Ladder;
use crate::core::message::{Incoming, Outgoing, Recipient};
use crate::core::ports::{Change, Saved, Store, StoreError, StoredCase};
use crate::core::secrets::{self, Assessment, Field};
use crate::core::steps;
use crate::core::views::{CaseView, CommunityView};
use crate::prompts::{PromptError, PromptKey, Prompts};

/// Everything the rules need besides the store and the clock.
pub struct Services {
    pub prompts: Prompts,
    pub ladder: Ladder,
    pub community: Community,
    pub default_locale: Locale,
    pub public_locale: Locale,
    pub max_chars: usize,
    pub authorities: Directory,
    pub scam: crate::core::scam::ScamPatterns,
    pub scam_settings: crate::config::ScamSettings,
}

impl Services {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Services> {
        let (mut authorities, mut errors) = Directory::builtin();
        if let Some(path) = &settings.authorities.extra {
            let text = std::fs::read_to_string(path).map_err(|e| {
                anyhow::anyhow!("cannot read authorities.extra {}: {e}", path.display())
            })?;
            let (extra, extra_errors) = Directory::parse(&text);
            errors.extend(extra_errors);
            authorities.extend(extra);
        }
        // A broken entry is reported and skipped; the bot starts with the rest.
        for e in errors {
            tracing::warn!(entry = e.index, name = ?e.name, problem = %e.problem, "authorities entry skipped");
        }
        Ok(Services {
            prompts: Prompts::new()?,
            ladder: settings.ladder()?,
            community: settings.community.clone(),
            default_locale: settings.default_locale,
            public_locale: settings.public_locale(),
            max_chars: settings.limits.max_message_chars,
            authorities,
            scam: scam_patterns(settings)?,
            scam_settings: settings.scam.clone(),
        })
    }

    pub fn view(&self, case: &Case, locale: Locale, now: DateTime<Utc>) -> CaseView {
        CaseView::new(case, &self.ladder, &self.community, locale, now)
    }

    pub fn community_view(&self, locale: Locale) -> CommunityView {
        CommunityView::new(&self.community, locale)
    }

    pub fn render<C: Serialize>(
        &self,
        locale: Locale,
        key: PromptKey,
        ctx: &C,
    ) -> Result<String, EngineError> {
        Ok(self.prompts.render(locale, key, ctx)?)
    }
}

/// The shipped recovery-scam patterns plus the settings' extra file. A broken entry is
/// reported and skipped; a missing file is an error.
fn scam_patterns(settings: &Settings) -> anyhow::Result<crate::core::scam::ScamPatterns> {
    use crate::core::scam::ScamPatterns;
    let (mut patterns, errors) = ScamPatterns::builtin();
    let mut all_errors = errors;
    if let Some(path) = &settings.scam.extra_patterns {
        let text = std::fs::read_to_string(path).map_err(|e| {
            anyhow::anyhow!("cannot read scam.extra_patterns {}: {e}", path.display())
        })?;
        let (extra, errors) = ScamPatterns::parse(&text);
        all_errors.extend(errors);
        patterns.extend(extra);
    }
    for e in all_errors {
        tracing::warn!(problem = %e, "scam pattern skipped");
    }
    Ok(patterns)
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The database is away; nothing was recorded. Tell the user to try again shortly.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => EngineError::Unavailable(m),
            StoreError::Failed(e) => EngineError::Internal(e),
        }
    }
}

impl From<PromptError> for EngineError {
    fn from(e: PromptError) -> Self {
        EngineError::Internal(e.into())
    }
}

/// What the adapter must do with the message it passed in.
#[derive(Debug, Default)]
pub struct Handled {
    /// Messages now in the outbox, in order (also returned here for tests and logs).
    pub out: Vec<Outgoing>,
    /// Delete the incoming message (it held a secret and was seen in a shared channel).
    pub delete_original: bool,
}

/// A decision not yet saved.
#[derive(Default)]
pub(crate) struct Outcome {
    pub change: Option<Change>,
    pub out: Vec<Outgoing>,
    pub dialogue: Option<Option<Intake>>,
    pub delete_original: bool,
    pub locale: Option<Locale>,
}

pub(crate) struct Ctx<'a> {
    pub msg: &'a Incoming,
    pub now: DateTime<Utc>,
    pub locale: Locale,
}

impl Ctx<'_> {
    pub fn actor(&self) -> ActorRecord {
        ActorRecord::from(&self.msg.actor)
    }

    pub fn event(&self, kind: EventKind) -> Event {
        Event::new(self.now, self.actor(), kind)
    }
}

pub struct Engine<S: Store> {
    pub(crate) store: S,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) svc: Arc<Services>,
    /// Woken after every saved change, so the scheduler and the outbox need not poll.
    wake: Vec<Arc<tokio::sync::Notify>>,
}

impl<S: Store> Clone for Engine<S> {
    fn clone(&self) -> Self {
        Engine {
            store: self.store.clone(),
            clock: self.clock.clone(),
            svc: self.svc.clone(),
            wake: self.wake.clone(),
        }
    }
}

const CONFLICT_RETRIES: usize = 5;

impl<S: Store> Engine<S> {
    pub fn new(store: S, clock: Arc<dyn Clock>, svc: Arc<Services>) -> Engine<S> {
        Engine {
            store,
            clock,
            svc,
            wake: Vec::new(),
        }
    }

    /// Also wake `notify` (the scheduler's, the outbox's) after each saved change.
    pub fn waking(mut self, notify: Arc<tokio::sync::Notify>) -> Engine<S> {
        self.wake.push(notify);
        self
    }

    pub fn services(&self) -> &Services {
        &self.svc
    }

    /// Handles one message. On `Err` nothing was recorded; the adapter answers with
    /// [`Engine::error_text`].
    pub async fn handle(&self, msg: &Incoming) -> Result<Handled, EngineError> {
        for _ in 0..CONFLICT_RETRIES {
            let now = self.clock.now();
            let outcome = self.decide(msg, now).await?;
            if let Some(h) = self.commit(msg, outcome, now).await? {
                return Ok(h);
            }
        }
        Err(EngineError::Internal(anyhow::anyhow!(
            "case kept changing under the command; gave up after {CONFLICT_RETRIES} tries"
        )))
    }

    /// The plain words for a failure, in the sender's language (no database needed).
    pub fn error_text(&self, err: &EngineError, locale: Option<Locale>) -> String {
        let locale = locale.unwrap_or(self.svc.default_locale);
        let key = match err {
            EngineError::Unavailable(_) => PromptKey::Unavailable,
            EngineError::Internal(_) => PromptKey::InternalError,
        };
        self.svc
            .prompts
            .render(locale, key, &context! {})
            .unwrap_or_else(|_| "Something went wrong; please try again shortly.".to_string())
    }

    async fn commit(
        &self,
        msg: &Incoming,
        outcome: Outcome,
        now: DateTime<Utc>,
    ) -> Result<Option<Handled>, EngineError> {
        let Outcome {
            change,
            out,
            dialogue,
            delete_original,
            locale,
        } = outcome;
        let out = match change {
            Some(mut change) => {
                change.outgoing.extend(out);
                match self.store.save(&change).await? {
                    Saved::Done => change.outgoing,
                    Saved::Conflict | Saved::StepAlreadyTaken => return Ok(None),
                }
            }
            None => {
                self.store.enqueue(&out).await?;
                out
            }
        };
        if let Some(d) = dialogue {
            let state = d.map(|i| serde_json::to_string(&i)).transpose();
            let state = state.map_err(|e| EngineError::Internal(e.into()))?;
            self.store
                .set_dialogue(&msg.actor.user, &msg.chat, state.as_deref(), now)
                .await?;
        }
        if let Some(l) = locale {
            self.store
                .put_setting(&locale_key(&msg.actor.user), l.key())
                .await?;
        }
        for w in &self.wake {
            w.notify_one();
        }
        Ok(Some(Handled {
            out,
            delete_original,
        }))
    }

    async fn user_locale(&self, msg: &Incoming) -> Result<Locale, EngineError> {
        let stored = self.store.get_setting(&locale_key(&msg.actor.user)).await?;
        Ok(stored
            .as_deref()
            .and_then(Locale::parse)
            .or(msg.locale_hint)
            .unwrap_or(self.svc.default_locale))
    }

    async fn decide(&self, msg: &Incoming, now: DateTime<Utc>) -> Result<Outcome, EngineError> {
        let locale = self.user_locale(msg).await?;
        let cx = Ctx { msg, now, locale };
        if msg.text.chars().count() > self.svc.max_chars {
            return self.reply(
                &cx,
                PromptKey::TooLong,
                context! { max => self.svc.max_chars },
            );
        }
        let intake = match self.store.dialogue(&msg.actor.user, &msg.chat).await? {
            Some(s) => serde_json::from_str::<Intake>(&s).ok(),
            None => None,
        };
        let parsed = command::parse(&msg.text);
        if let Some(outcome) = self.screen(&cx, &parsed, intake.as_ref())? {
            return Ok(outcome);
        }
        let cmd = match parsed {
            Ok(Parsed::Command(cmd)) => cmd,
            Ok(Parsed::Text) => {
                return match intake {
                    Some(i) => self.intake_answer(&cx, i),
                    // In a shared channel the bot only answers commands, and watches for
                    // recovery scams.
                    None if !msg.private => self.watch_channel(&cx),
                    None => self.reply(&cx, PromptKey::NotUnderstood, context! {}),
                };
            }
            Err(ParseError::Unknown(name)) => {
                return self.reply(&cx, PromptKey::UnknownCommand, context! { command => name });
            }
            Err(ParseError::Usage(name))
                if command::MODERATOR_COMMANDS.contains(&name) && !msg.actor.moderator =>
            {
                return self.reply(&cx, PromptKey::NotModerator, context! { command => name });
            }
            Err(ParseError::Usage(name)) => {
                return self.reply(&cx, PromptKey::Usage, context! { command => name });
            }
            Err(ParseError::BadPair(part)) => {
                return self.reply(
                    &cx,
                    PromptKey::BadValue,
                    context! { field => "pair", value => part },
                );
            }
        };
        self.command(&cx, cmd, intake).await
    }

    /// Refuses secrets before anything else sees the text. A 64-hex value is a transaction
    /// hash only where one was asked for: the evidence question or a `tx=` field.
    fn screen(
        &self,
        cx: &Ctx<'_>,
        parsed: &Result<Parsed, ParseError>,
        intake: Option<&Intake>,
    ) -> Result<Option<Outcome>, EngineError> {
        let text = &cx.msg.text;
        let mut verdicts = Vec::new();
        match parsed {
            Ok(Parsed::Command(Command::Report(pairs))) => {
                for (k, v) in pairs {
                    let field = if is_tx_key(k) {
                        Field::TxHash
                    } else {
                        Field::FreeText
                    };
                    verdicts.push(secrets::assess(v, field));
                }
                verdicts.push(secrets::assess(&blank_tx_values(text), Field::FreeText));
            }
            Ok(Parsed::Text) if intake.is_some_and(|i| i.question == Question::Evidence) => {
                verdicts.push(secrets::assess(text, Field::TxHash));
            }
            Ok(Parsed::Command(Command::Evidence {
                action: command::EvidenceAction::Add,
                ..
            })) => verdicts.push(secrets::assess(text, Field::TxHash)),
            _ => verdicts.push(secrets::assess(text, Field::FreeText)),
        }
        let mut kinds = Vec::new();
        let mut ambiguous = false;
        for v in verdicts {
            match v {
                Assessment::Clean => {}
                Assessment::Secret(k) => kinds.extend(k),
                Assessment::AmbiguousHex => ambiguous = true,
            }
        }
        if kinds.is_empty() && !ambiguous {
            return Ok(None);
        }
        if kinds.is_empty() && !cx.msg.private {
            // People share transaction hashes in community channels all the time: leave a
            // bare one alone there, store nothing, and refuse it only inside a command.
            return match parsed {
                Ok(Parsed::Text) if intake.is_none() => Ok(Some(Outcome::default())),
                _ => Ok(Some(self.reply(
                    cx,
                    PromptKey::HexAmbiguous,
                    context! {},
                )?)),
            };
        }
        tracing::info!(user = ?cx.msg.actor.user, secret = !kinds.is_empty(), "message refused: possible secret");
        let kinds: Vec<&str> = kinds.iter().map(|k| secret_kind_key(*k)).collect();
        let key = if kinds.is_empty() {
            PromptKey::HexAmbiguous
        } else {
            PromptKey::SecretRefused
        };
        let mut outcome = Outcome::default();
        let private_text = self.svc.render(
            cx.locale,
            key,
            &context! { kinds => kinds, public => false, name => cx.msg.actor.name },
        )?;
        if cx.msg.private {
            outcome.out.push(self.to_chat(cx, private_text));
        } else {
            // Seen by others: delete it, warn without repeating it, tell the sender privately
            // and let moderators know.
            outcome.delete_original = true;
            let public = self.svc.render(
                self.svc.public_locale,
                key,
                &context! { kinds => kinds, public => true, name => cx.msg.actor.name },
            )?;
            outcome.out.push(self.to_chat(cx, public));
            outcome.out.push(Outgoing::fresh(
                None,
                Recipient::User {
                    user: cx.msg.actor.user.clone(),
                },
                private_text,
            ));
            let notice = self.svc.render(
                self.svc.default_locale,
                PromptKey::ModNotice,
                &context! { what => "secret_deleted", name => cx.msg.actor.name, platform => cx.msg.actor.user.platform().key() },
            )?;
            outcome
                .out
                .push(Outgoing::fresh(None, Recipient::Moderators, notice));
        }
        Ok(Some(outcome))
    }

    async fn command(
        &self,
        cx: &Ctx<'_>,
        cmd: Command,
        intake: Option<Intake>,
    ) -> Result<Outcome, EngineError> {
        if let Some(name) = moderator_command(&cmd)
            && !cx.msg.actor.moderator
        {
            return self.reply(cx, PromptKey::NotModerator, context! { command => name });
        }
        match cmd {
            Command::Help => self.reply(
                cx,
                PromptKey::Help,
                context! { moderator => cx.msg.actor.moderator, in_intake => intake.is_some() },
            ),
            Command::Report(pairs) if pairs.is_empty() => self.start_intake(cx),
            Command::Report(pairs) => self.report_one_line(cx, pairs),
            Command::Cancel => match intake {
                Some(_) => {
                    let mut o = self.reply(cx, PromptKey::IntakeCancelled, context! {})?;
                    o.dialogue = Some(None);
                    Ok(o)
                }
                None => self.reply(cx, PromptKey::IntakeCancelled, context! { nothing => true }),
            },
            Command::Skip | Command::Done => match intake {
                Some(mut i) => {
                    let step = i.skip();
                    self.intake_next(cx, i, step)
                }
                None => self.reply(cx, PromptKey::NotUnderstood, context! {}),
            },
            Command::Contacted { case, rest } => self.contacted(cx, case, rest).await,
            Command::Replied { case, rest } => self.replied(cx, case, rest).await,
            Command::Unresolved { case } => self.unresolved(cx, case).await,
            Command::Status { case } => self.status(cx, case).await,
            Command::Resolve { case } => self.end_case(cx, case, EventKind::Resolved).await,
            Command::Withdraw { case } => self.end_case(cx, case, EventKind::Withdrawn).await,
            Command::Lang { case, rest } => self.set_locale(cx, case, rest).await,
            Command::Evidence { action, case, args } => self.evidence(cx, action, case, args).await,
            Command::Authorities { country } => self.authorities(cx, country).await,
            Command::Queue => self.queue(cx).await,
            Command::Case { case } => self.timeline(cx, &case).await,
            Command::Claim { case } => self.moderate(cx, &case, EventKind::Claimed).await,
            Command::Note { case, text } => {
                self.moderate(cx, &case, EventKind::Noted { text }).await
            }
            Command::Hold { case, reason } => {
                let reason = (!reason.is_empty()).then_some(reason);
                self.moderate(cx, &case, EventKind::Held { reason }).await
            }
            Command::Resume { case } => self.moderate(cx, &case, EventKind::Resumed).await,
            Command::Advance { case } => self.advance(cx, &case).await,
            Command::Approve { case } => self.moderate(cx, &case, EventKind::PostApproved).await,
            Command::Reject { case, reason } => {
                let reason = (!reason.is_empty()).then_some(reason);
                self.moderate(cx, &case, EventKind::PostRejected { reason })
                    .await
            }
            Command::Close { case, reason } => {
                let reason = (!reason.is_empty()).then_some(reason);
                self.moderate(cx, &case, EventKind::Closed { reason }).await
            }
        }
    }

    /// A channel message offering "fund recovery", hacking or DMs: alert moderators with its
    /// link, and (as configured) warn in the channel and delete it.
    fn watch_channel(&self, cx: &Ctx<'_>) -> Result<Outcome, EngineError> {
        let Some(m) = self.svc.scam.check(&cx.msg.text) else {
            return Ok(Outcome::default());
        };
        tracing::info!(pattern = %m.pattern, user = ?cx.msg.actor.user, "recovery-scam message flagged");
        let settings = &self.svc.scam_settings;
        let mut outcome = Outcome {
            delete_original: settings.delete,
            ..Outcome::default()
        };
        let notice = self.svc.render(
            self.svc.default_locale,
            PromptKey::ModNotice,
            &context! {
                what => "scam_flagged",
                name => cx.msg.actor.name,
                platform => cx.msg.actor.user.platform().key(),
                category => m.category.key(),
                pattern => m.pattern,
                link => cx.msg.link,
                deleted => settings.delete,
                excerpt => crate::core::secrets::redact(&cx.msg.text.chars().take(200).collect::<String>()),
            },
        )?;
        outcome
            .out
            .push(Outgoing::fresh(None, Recipient::Moderators, notice));
        if settings.warn_in_channel {
            let warning = self.svc.render(
                self.svc.public_locale,
                PromptKey::ScamWarning,
                &context! { category => m.category.key(), deleted => settings.delete },
            )?;
            outcome.out.push(self.to_chat(cx, warning));
        }
        Ok(outcome)
    }

    // ----- replies ------------------------------------------------------------------------

    pub(crate) fn to_chat(&self, cx: &Ctx<'_>, text: String) -> Outgoing {
        Outgoing::fresh(
            None,
            Recipient::Chat {
                chat: cx.msg.chat.clone(),
            },
            text,
        )
    }

    pub(crate) fn reply(
        &self,
        cx: &Ctx<'_>,
        key: PromptKey,
        ctx: Value,
    ) -> Result<Outcome, EngineError> {
        let text = self.svc.render(cx.locale, key, &ctx)?;
        Ok(Outcome {
            out: vec![self.to_chat(cx, text)],
            ..Outcome::default()
        })
    }

    pub(crate) fn case_ctx(&self, cx: &Ctx<'_>, case: &Case, extra: Value) -> Value {
        context! {
            case => self.svc.view(case, cx.locale, cx.now),
            community => self.svc.community_view(cx.locale),
            ..extra
        }
    }

    /// Saves `events` on `case` with a reply rendered from the new state.
    pub(crate) fn case_change(
        &self,
        cx: &Ctx<'_>,
        stored: StoredCase,
        kinds: Vec<EventKind>,
        key: PromptKey,
        extra: Value,
    ) -> Result<Outcome, EngineError> {
        let mut case = stored.case;
        let events: Vec<Event> = kinds.into_iter().map(|k| cx.event(k)).collect();
        for e in &events {
            case.apply(e);
        }
        let text = self
            .svc
            .render(cx.locale, key, &self.case_ctx(cx, &case, extra))?;
        Ok(Outcome {
            change: Some(Change {
                at: cx.now,
                next_due_at: self.svc.ladder.next_due(&case).map(|d| d.at),
                case,
                expected_version: Some(stored.version),
                events,
                outgoing: Vec::new(),
                step_key: None,
            }),
            out: vec![self.to_chat(cx, text)],
            ..Outcome::default()
        })
    }

    // ----- case lookup ----------------------------------------------------------------------

    /// The case a command names, if the sender may see it. Someone else's case reads as
    /// "not found" so that IDs cannot be probed.
    pub(crate) async fn find_case(
        &self,
        cx: &Ctx<'_>,
        raw: Option<&str>,
    ) -> Result<Result<StoredCase, Outcome>, EngineError> {
        let Some(raw) = raw else {
            return self.only_open_case(cx).await;
        };
        let not_found = |s: &Self| s.reply(cx, PromptKey::CaseNotFound, context! { case => raw });
        let Some(id) = CaseId::parse(raw) else {
            return Ok(Err(not_found(self)?));
        };
        match self.store.load_case(&id).await? {
            Some(sc) if sc.case.reporter == cx.msg.actor.user || cx.msg.actor.moderator => {
                Ok(Ok(sc))
            }
            _ => Ok(Err(not_found(self)?)),
        }
    }

    async fn only_open_case(
        &self,
        cx: &Ctx<'_>,
    ) -> Result<Result<StoredCase, Outcome>, EngineError> {
        let mut open: Vec<StoredCase> = self
            .store
            .cases_of(&cx.msg.actor.user)
            .await?
            .into_iter()
            .filter(|c| c.case.is_open())
            .collect();
        match open.len() {
            0 => Ok(Err(self.reply(cx, PromptKey::NoCases, context! {})?)),
            1 => Ok(Ok(open.remove(0))),
            _ => {
                let ids: Vec<String> = open.iter().map(|c| c.case.id.to_string()).collect();
                Ok(Err(self.reply(
                    cx,
                    PromptKey::WhichCase,
                    context! { cases => ids },
                )?))
            }
        }
    }

    // ----- intake -----------------------------------------------------------------------------

    fn start_intake(&self, cx: &Ctx<'_>) -> Result<Outcome, EngineError> {
        let intake = Intake::new(cx.locale);
        let mut o = self.ask(cx, &intake, context! { first => true })?;
        o.dialogue = Some(Some(intake));
        Ok(o)
    }

    fn ask(&self, cx: &Ctx<'_>, i: &Intake, extra: Value) -> Result<Outcome, EngineError> {
        let chains: Vec<&str> = crate::core::evidence::Chain::ALL
            .iter()
            .map(|c| c.display_name())
            .collect();
        let text = self.svc.render(
            i.locale,
            PromptKey::IntakeQuestion,
            &context! {
                question => i.question.key(),
                number => i.question.number(),
                total => Question::COUNT,
                chains => chains,
                chain => i.report.chain.map(|c| c.display_name()),
                ..extra
            },
        )?;
        Ok(Outcome {
            out: vec![self.to_chat(cx, text)],
            ..Outcome::default()
        })
    }

    fn intake_answer(&self, cx: &Ctx<'_>, mut i: Intake) -> Result<Outcome, EngineError> {
        match i.answer(&cx.msg.text, cx.now) {
            Ok(step) => self.intake_next(cx, i, step),
            Err(invalid) => {
                let ctx = invalid_ctx(&invalid);
                let cx = Ctx {
                    locale: i.locale,
                    ..*cx
                };
                self.reply(&cx, invalid_key(&invalid), ctx)
            }
        }
    }

    fn intake_next(&self, cx: &Ctx<'_>, i: Intake, step: Step) -> Result<Outcome, EngineError> {
        let cx = Ctx {
            locale: i.locale,
            ..*cx
        };
        match step {
            Step::Ask => {
                let mut o = self.ask(&cx, &i, context! { first => false })?;
                o.locale = Some(i.locale);
                o.dialogue = Some(Some(i));
                Ok(o)
            }
            Step::AddedEvidence { txs, addresses } => {
                let view = crate::core::views::EvidenceView::new(&i.report);
                let mut o = self.reply(
                    &cx,
                    PromptKey::IntakeEvidenceAdded,
                    context! { txs => txs, addresses => addresses, total_txs => i.report.txs.len(), total_addresses => i.report.addresses.len(), evidence => view },
                )?;
                o.dialogue = Some(Some(i));
                Ok(o)
            }
            Step::Complete => {
                let mut o = self.open_case(&cx, i.locale, i.report, i.contact)?;
                o.dialogue = Some(None);
                o.locale = Some(i.locale);
                Ok(o)
            }
        }
    }

    fn report_one_line(
        &self,
        cx: &Ctx<'_>,
        pairs: Vec<(String, String)>,
    ) -> Result<Outcome, EngineError> {
        let mut i = Intake::new(cx.locale);
        for (k, v) in pairs {
            let q = match k.as_str() {
                "lang" | "language" => Question::Language,
                "wallet" | "app" => Question::Wallet,
                "how" => Question::How,
                "chain" => Question::Chain,
                "amount" => Question::Amount,
                "asset" => {
                    i.report.asset = Some(v.to_uppercase());
                    continue;
                }
                "tx" | "txs" | "address" | "addr" | "addresses" => {
                    let want = if is_tx_key(&k) {
                        Want::Tx
                    } else {
                        Want::Address
                    };
                    if let Err(invalid) = intake::add_evidence_as(&mut i.report, &v, want) {
                        return self.reply(cx, invalid_key(&invalid), invalid_ctx(&invalid));
                    }
                    continue;
                }
                "noticed" => Question::Noticed,
                "contacted" => Question::Contacted,
                "country" => Question::Country,
                _ => {
                    return self.reply(
                        cx,
                        PromptKey::BadValue,
                        context! { field => "key", value => k },
                    );
                }
            };
            i.question = q;
            if let Err(invalid) = i.answer(&v, cx.now) {
                return self.reply(cx, invalid_key(&invalid), invalid_ctx(&invalid));
            }
        }
        // Evidence listed before `chain=` was checked against guessed chains; check again.
        if let Some(chain) = i.report.chain {
            let txs: Vec<String> = i
                .report
                .txs
                .drain(..)
                .map(|t| t.as_str().to_string())
                .collect();
            let addresses: Vec<String> = i
                .report
                .addresses
                .drain(..)
                .map(|a| a.as_str().to_string())
                .collect();
            i.report.chain = Some(chain);
            for (items, want) in [(txs, Want::Tx), (addresses, Want::Address)] {
                if let Err(invalid) = intake::add_evidence_as(&mut i.report, &items.join(" "), want)
                {
                    return self.reply(cx, invalid_key(&invalid), invalid_ctx(&invalid));
                }
            }
        }
        let locale = i.locale;
        let mut o = self.open_case(&Ctx { locale, ..*cx }, locale, i.report, i.contact)?;
        o.locale = (locale != cx.locale).then_some(locale);
        Ok(o)
    }

    /// Files the case and takes the steps due at once (the checklist).
    fn open_case(
        &self,
        cx: &Ctx<'_>,
        locale: Locale,
        report: crate::core::case::Report,
        contact: Option<crate::core::case::Contact>,
    ) -> Result<Outcome, EngineError> {
        let id = CaseId::generate();
        let opened = cx.event(EventKind::Reported {
            id: id.clone(),
            reporter: cx.msg.actor.user.clone(),
            chat: cx.msg.chat.clone(),
            locale,
            report: Box::new(report),
            contact,
        });
        let mut case = Case::opened(&opened)
            .ok_or_else(|| anyhow::anyhow!("a report event did not open a case"))?;
        let mut events = vec![opened];
        let mut step_key = None;
        let mut checklist_sent = false;
        if let Some(due) = self.svc.ladder.due_now(&case, cx.now)
            && due.index == 0
            && self.svc.ladder.step(0).kind == crate::core::ladder::StepKind::Checklist
        {
            let taken = steps::take(&self.svc, &case, due, cx.now)?;
            for k in taken.events {
                let e = Event::new(cx.now, ActorRecord::system(), k);
                case.apply(&e);
                events.push(e);
            }
            step_key = Some(due.log_key(&self.svc.ladder));
            checklist_sent = true;
        }
        let view_ctx = context! {
            case => self.svc.view(&case, locale, cx.now),
            community => self.svc.community_view(locale),
            new => true,
            checklist => checklist_sent,
        };
        let reply = self
            .svc
            .render(locale, PromptKey::ReportCreated, &view_ctx)?;
        let notice = self.svc.render(
            self.svc.default_locale,
            PromptKey::ModNotice,
            &context! {
                what => "new_case",
                case => self.svc.view(&case, self.svc.default_locale, cx.now),
                community => self.svc.community_view(self.svc.default_locale),
            },
        )?;
        tracing::info!(case = %case.id, "case reported");
        Ok(Outcome {
            change: Some(Change {
                at: cx.now,
                next_due_at: self.svc.ladder.next_due(&case).map(|d| d.at),
                expected_version: None,
                events,
                outgoing: Vec::new(),
                step_key,
                case: case.clone(),
            }),
            out: vec![
                Outgoing {
                    key: format!("esc:{}:report:victim", case.id.as_str()),
                    ..Outgoing::fresh(
                        Some(case.id.clone()),
                        Recipient::Chat {
                            chat: cx.msg.chat.clone(),
                        },
                        reply,
                    )
                },
                Outgoing::fresh(Some(case.id.clone()), Recipient::Moderators, notice),
            ],
            ..Outcome::default()
        })
    }
}

fn locale_key(user: &UserRef) -> String {
    format!("locale/{}/{}", user.platform().key(), user.local_id())
}

fn is_tx_key(k: &str) -> bool {
    matches!(k, "tx" | "txs")
}

/// The `/report` text with `tx=` values blanked, for the free-text secret check.
fn blank_tx_values(text: &str) -> String {
    command::tokenize(text)
        .into_iter()
        .map(|t| match t.split_once('=') {
            Some((k, _)) if is_tx_key(&k.trim().to_lowercase()) => format!("{k}=_"),
            _ => t,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn secret_kind_key(k: secrets::SecretKind) -> &'static str {
    use secrets::SecretKind::*;
    match k {
        Mnemonic => "mnemonic",
        PrivateKeyHex => "private_key",
        Wif => "wif",
        ExtendedPrivateKey => "xprv",
        SolanaSecretKey => "solana_key",
        KeystoreJson => "keystore",
    }
}

fn moderator_command(cmd: &Command) -> Option<&'static str> {
    Some(match cmd {
        Command::Queue => "queue",
        Command::Case { .. } => "case",
        Command::Claim { .. } => "claim",
        Command::Note { .. } => "note",
        Command::Hold { .. } => "hold",
        Command::Resume { .. } => "resume",
        Command::Advance { .. } => "advance",
        Command::Approve { .. } => "approve",
        Command::Reject { .. } => "reject",
        Command::Close { .. } => "close",
        _ => return None,
    })
}

/// The template that explains why an answer was not taken.
pub(crate) fn invalid_key(invalid: &Invalid) -> PromptKey {
    match invalid {
        Invalid::Evidence { .. } => PromptKey::EvidenceError,
        Invalid::WhichChain { .. } => PromptKey::WhichChain,
        _ => PromptKey::BadValue,
    }
}

pub(crate) fn invalid_ctx(invalid: &Invalid) -> Value {
    match invalid {
        Invalid::WhichChain { value, chains } => context! {
            value => crate::core::views::shorten(value),
            full => value,
            chains => chains.iter().map(|c| c.display_name()).collect::<Vec<_>>(),
            keys => chains.iter().map(|c| c.key()).collect::<Vec<_>>(),
        },
        Invalid::Evidence { value, error } => context! {
            value => crate::core::views::shorten(value),
            error => error.key(),
        },
        Invalid::Language => context! { field => "language", value => "" },
        Invalid::How => context! { field => "how", value => "" },
        Invalid::Chain => context! { field => "chain", value => "" },
        Invalid::Date => context! { field => "date", value => "" },
        Invalid::Country => context! { field => "country", value => "" },
        Invalid::Empty => context! { field => "empty", value => "" },
        Invalid::TooLong => context! { field => "too_long", value => "" },
    }
}
