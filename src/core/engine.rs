//! Commands in, replies and notices out: the engine decides, the store records, and every
//! message is written to the outbox with the change; answers to the input in hand are handed
//! back to the adapter to send in place (see [`crate::core::message`]).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use minijinja::{Value, context};

use crate::core::case::{Case, CaseId, Event, EventKind};
use crate::core::clock::Clock;
use crate::core::command::{self, Command, ParseError, Parsed};
use crate::core::identity::{ActorRecord, Locale, MessageRef, UserRef};
use crate::core::intake::Intake;
use crate::core::message::fan_out;
use crate::core::message::{Incoming, Input, Outgoing, Place, Recipient};
use crate::core::ports::{Change, Saved, Store, StoreError, StoredCase, Talk};
use crate::core::webhook;
use crate::prompts::{PromptError, PromptKey};

pub use crate::core::services::Services;

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

/// What the adapter must do with the input it passed in.
#[derive(Debug, Default)]
pub struct Handled {
    /// Every message written to the outbox, in order. Those that answer the input in hand
    /// ([`Handled::answers`]) were written leased: send them in place, then call
    /// [`Engine::answered`]. The rest the outbox sends.
    pub out: Vec<Outgoing>,
    /// Delete the incoming message (it held a secret and was seen in a shared channel).
    pub delete_original: bool,
    /// The input was handled before (the same [`Incoming::id`]); nothing was done now.
    pub duplicate: bool,
}

impl Handled {
    /// A redelivered input, handled before: nothing to do (its answers, if the first handling
    /// did not send them, go out through the outbox).
    fn duplicate() -> Handled {
        Handled {
            duplicate: true,
            ..Handled::default()
        }
    }

    /// The answers to send where the user is, in order.
    pub fn answers(&self) -> impl Iterator<Item = &Outgoing> {
        self.out.iter().filter(|o| o.is_answer())
    }
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
    /// The language each recent sender was last answered in, so that an error while the
    /// database is away still speaks their language. Bounded; forgotten when full.
    recent_locales: Arc<std::sync::Mutex<std::collections::HashMap<UserRef, Locale>>>,
}

/// How many senders' languages [`Engine::error_text`] remembers.
const RECENT_LOCALES: usize = 10_000;

impl<S: Store> Clone for Engine<S> {
    fn clone(&self) -> Self {
        Engine {
            store: self.store.clone(),
            clock: self.clock.clone(),
            svc: self.svc.clone(),
            wake: self.wake.clone(),
            recent_locales: self.recent_locales.clone(),
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
            recent_locales: Arc::default(),
        }
    }

    /// Also wake `notify` (the scheduler's, the outbox's) after each saved change.
    pub fn waking(mut self, notify: Arc<tokio::sync::Notify>) -> Engine<S> {
        self.wake.push(notify);
        self
    }

    pub(crate) fn wake_all(&self) {
        for w in &self.wake {
            w.notify_one();
        }
    }

    pub fn services(&self) -> &Services {
        &self.svc
    }

    /// Handles one input. On `Err` nothing was recorded; the adapter answers with
    /// [`Engine::error_text`].
    pub async fn handle(&self, msg: &Incoming) -> Result<Handled, EngineError> {
        let handled = self.handle_inner(msg).await;
        if let Err(e) = &handled {
            tracing::warn!(error = %e, user = ?msg.actor.user, "input not handled");
        }
        handled
    }

    /// The adapter sent an answer in place (`Ok` with the platform's reference, if any), or
    /// could not (`Err`): then the outbox sends it as an ordinary message, at once.
    pub async fn answered(
        &self,
        key: &str,
        result: Result<Option<MessageRef>, String>,
    ) -> Result<(), EngineError> {
        let now = self.clock.now();
        match result {
            Ok(r) => self.store.outbox_sent_key(key, r.as_ref(), now).await?,
            Err(e) => self.unanswered(key, &e, None).await?,
        }
        Ok(())
    }

    /// An answer that could not be sent in place goes to the outbox, which sends it now or,
    /// when the platform said to wait (a rate limit), after `wait`.
    pub async fn unanswered(
        &self,
        key: &str,
        error: &str,
        wait: Option<std::time::Duration>,
    ) -> Result<(), EngineError> {
        tracing::info!(key, error = %error, "answer not sent in place; the outbox sends it");
        let not_before = wait.map(|w| {
            self.clock.now()
                + chrono::Duration::from_std(w).unwrap_or(chrono::Duration::seconds(60))
        });
        self.store
            .outbox_release_key(key, error, not_before)
            .await?;
        for w in &self.wake {
            w.notify_one();
        }
        Ok(())
    }

    async fn handle_inner(&self, msg: &Incoming) -> Result<Handled, EngineError> {
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

    /// The plain words for a failure, in the sender's language as far as it can be known
    /// without the database: the one they were last answered in, else the language of what
    /// they wrote, else the platform's hint, else the community default.
    pub fn error_text(&self, err: &EngineError, msg: &Incoming) -> String {
        let locale = self
            .recent_locale(&msg.actor.user)
            .or_else(|| Locale::of_text(msg.text()))
            .or(msg.locale_hint)
            .unwrap_or(self.svc.default_locale);
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
        // The conversation's side (input ID, dialogue, chosen language) is written in the same
        // transaction as the change: a crash leaves all of it or none.
        let dialogue = match dialogue {
            Some(d) => {
                let state = d.map(|i| serde_json::to_string(&i)).transpose();
                let state = state.map_err(|e| EngineError::Internal(e.into()))?;
                Some((msg.actor.user.clone(), msg.chat.clone(), state))
            }
            None => None,
        };
        let talk = Talk {
            inbox: msg.id.clone(),
            dialogue,
            locale: locale.map(|l| (locale_key(&msg.actor.user), l.key().to_string())),
        };
        let mut joined = None;
        let out = match change {
            Some(mut change) => {
                change.outgoing.extend(out);
                joined = Some(self.join_cluster(&mut change).await?);
                if self.svc.webhook {
                    let copies = webhook::mirror(
                        &change.outgoing,
                        Some(&change.case.id),
                        change.step_key.as_deref(),
                        change.at,
                    );
                    change.outgoing.extend(copies);
                }
                change.outgoing =
                    fan_out(std::mem::take(&mut change.outgoing), &self.svc.destinations);
                change.talk = talk;
                match self.store.save(&change).await? {
                    Saved::Done => change.outgoing,
                    Saved::Conflict | Saved::StepAlreadyTaken => return Ok(None),
                    Saved::Duplicate => return Ok(Some(Handled::duplicate())),
                }
            }
            None => {
                let mut out = out;
                if self.svc.webhook {
                    out.extend(webhook::mirror(&out, None, None, now));
                }
                let out = fan_out(out, &self.svc.destinations);
                if !self.store.enqueue(&out, now, &talk).await? {
                    return Ok(Some(Handled::duplicate()));
                }
                out
            }
        };
        for w in &self.wake {
            w.notify_one();
        }
        if let Some(joined) = joined.filter(|j| !j.others.is_empty()) {
            self.tell_joined(joined, now).await;
        }
        Ok(Some(Handled {
            out,
            delete_original,
            duplicate: false,
        }))
    }

    async fn decide(&self, msg: &Incoming, now: DateTime<Utc>) -> Result<Outcome, EngineError> {
        let user = &msg.actor.user;
        let conv = (self.store)
            .conversation(&locale_key(user), user, &msg.chat)
            .await?;
        let intake =
            (conv.dialogue.as_deref()).and_then(|s| serde_json::from_str::<Intake>(s).ok());
        // A language chosen (by /lang or in the intake) wins; then the language of what they
        // write (or, for a button or a bare command, of what they wrote last), then the
        // platform's hint, then the community default.
        let locale = (conv.locale.as_deref())
            .and_then(Locale::parse)
            .or_else(|| Locale::of_text(msg.text()))
            .or_else(|| self.recent_locale(user))
            .or(msg.locale_hint)
            .unwrap_or(self.svc.default_locale);
        self.remember_locale(user, locale);
        let cx = Ctx { msg, now, locale };
        match &msg.input {
            Input::Text(text) => self.decide_text(&cx, text, intake).await,
            Input::Command(cmd) => {
                if let Some(outcome) = self.screen_command(&cx, cmd)? {
                    return Ok(outcome);
                }
                self.command(&cx, cmd.clone(), intake).await
            }
            Input::Press(token) => self.press(&cx, token, intake).await,
        }
    }

    fn recent_locale(&self, user: &UserRef) -> Option<Locale> {
        self.recent_locales
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(user)
            .copied()
    }

    fn remember_locale(&self, user: &UserRef, locale: Locale) {
        let mut recent = self
            .recent_locales
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if recent.len() >= RECENT_LOCALES && !recent.contains_key(user) {
            recent.clear();
        }
        recent.insert(user.clone(), locale);
    }

    /// Free text: the same parser the console uses, after the secret screen.
    pub(crate) async fn decide_text(
        &self,
        cx: &Ctx<'_>,
        text: &str,
        intake: Option<Intake>,
    ) -> Result<Outcome, EngineError> {
        let msg = cx.msg;
        if text.chars().count() > self.svc.max_chars {
            return self.reply(
                cx,
                PromptKey::TooLong,
                context! { max => self.svc.max_chars },
            );
        }
        let parsed = command::parse(text);
        if let Some(outcome) = self.screen(cx, text, &parsed, intake.as_ref())? {
            return Ok(outcome);
        }
        let cmd = match parsed {
            Ok(Parsed::Command(cmd)) => cmd,
            Ok(Parsed::Text) => {
                return match (intake, msg.place) {
                    (Some(i), _) => self.intake_answer(cx, i, text),
                    // In a shared channel the bot only answers commands, and watches for
                    // recovery scams; the moderators' room is theirs to talk in.
                    (None, Place::Community) => self.watch_channel(cx),
                    (None, Place::Moderators) => Ok(Outcome::default()),
                    (None, Place::Private) => self.offer_report(cx, text),
                };
            }
            Err(ParseError::Unknown(name)) => {
                return self.reply(cx, PromptKey::UnknownCommand, context! { command => name });
            }
            Err(ParseError::Usage(name))
                if command::MODERATOR_COMMANDS.contains(&name) && !msg.actor.moderator =>
            {
                return self.reply(cx, PromptKey::NotModerator, context! { command => name });
            }
            Err(ParseError::Usage(name)) => {
                return self.reply(cx, PromptKey::Usage, context! { command => name });
            }
            Err(ParseError::BadPair(part)) => {
                return self.reply(
                    cx,
                    PromptKey::BadValue,
                    context! { field => "pair", value => part },
                );
            }
            Err(ParseError::BadKey(key)) => {
                return self.reply(
                    cx,
                    PromptKey::BadValue,
                    context! { field => "key", value => key },
                );
            }
            Err(ParseError::BadLanguage(value)) => {
                return self.reply(
                    cx,
                    PromptKey::BadValue,
                    context! { field => "language", value => value },
                );
            }
            Err(ParseError::BadCase(raw)) => {
                return self.reply(cx, PromptKey::CaseNotFound, context! { case => raw });
            }
        };
        self.command(cx, cmd, intake).await
    }

    pub(crate) async fn command(
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
        if let Some(outcome) = self.elsewhere(cx, &cmd)? {
            return Ok(outcome);
        }
        match cmd {
            Command::Help => self.reply(
                cx,
                PromptKey::Help,
                context! { moderator => cx.msg.actor.moderator, in_intake => intake.is_some() },
            ),
            Command::Start { report: true } => self.start_intake(cx),
            Command::Start { report: false } => {
                let mut o = self.reply(cx, PromptKey::Start, context! {})?;
                self.offer_buttons(cx, &mut o);
                Ok(o)
            }
            Command::Report(pairs) if pairs.is_empty() => self.start_intake(cx),
            Command::Report(pairs) => self.report_one_line(cx, pairs),
            Command::ReportForm {
                fields,
                chain_amount,
                evidence,
            } => self.report_form(cx, fields, &chain_amount, &evidence),
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
            Command::Lang { case, locale } => self.set_locale(cx, case, locale).await,
            Command::Evidence { action, case, args } => self.evidence(cx, action, case, args).await,
            Command::Authorities { country } => self.authorities(cx, country).await,
            Command::Export { case, tz } => self.export(cx, case, tz).await,
            Command::Queue => self.queue(cx).await,
            Command::Consent { case, yes } => self.consent(cx, case, yes).await,
            Command::Clusters => self.clusters(cx).await,
            Command::Cluster { target } => self.cluster(cx, &target).await,
            Command::Unlink {
                case,
                address,
                reason,
            } => self.unlink(cx, &case, &address, reason).await,
            Command::Joint { target } => self.joint(cx, &target).await,
            Command::Stats { company } => self.stats(cx, company).await,
            Command::StatsExport => self.stats_export(cx).await,
            Command::StatsDecide {
                id,
                approve,
                reason,
            } => self.stats_decide(cx, &id, approve, reason).await,
            Command::JointDecide {
                id,
                approve,
                reason,
            } => self.joint_decide(cx, &id, approve, reason).await,
            Command::Flag { author, text } => self.flag(cx, &author, &text),
            Command::SupportReply { case, text } => self.support_reply(cx, &case, text).await,
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

    // ----- replies ------------------------------------------------------------------------

    /// The answer to the input in hand, into the conversation it came from: written leased
    /// and handed back to the adapter to send in place.
    pub(crate) fn to_chat(&self, cx: &Ctx<'_>, text: String) -> Outgoing {
        let mut o = Outgoing::fresh(
            None,
            Recipient::Chat {
                chat: cx.msg.chat.clone(),
            },
            text,
        );
        o.meta.answer = true;
        o.meta.private = cx.msg.private();
        if matches!(cx.msg.input, Input::Text(_)) {
            o.meta.reply_to = cx.msg.message.clone();
        }
        o
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
                talk: Default::default(),
            }),
            out: vec![self.to_chat(cx, text)],
            ..Outcome::default()
        })
    }

    // ----- case lookup ----------------------------------------------------------------------

    /// The case a command names, if the sender may see it. Someone else's case reads as
    /// "not found" so that IDs cannot be probed. Without an ID: the sender's only open case,
    /// or, with several, a picker whose buttons run `redo` for each.
    pub(crate) async fn find_case(
        &self,
        cx: &Ctx<'_>,
        id: Option<&CaseId>,
        redo: Redo<'_>,
    ) -> Result<Result<StoredCase, Outcome>, EngineError> {
        let Some(id) = id else {
            return self.only_open_case(cx, redo).await;
        };
        match self.store.load_case(id).await? {
            Some(sc) if sc.case.reporter == cx.msg.actor.user || cx.msg.actor.moderator => {
                Ok(Ok(sc))
            }
            _ => Ok(Err(self.reply(
                cx,
                PromptKey::CaseNotFound,
                context! { case => id.to_string() },
            )?)),
        }
    }

    async fn only_open_case(
        &self,
        cx: &Ctx<'_>,
        redo: Redo<'_>,
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
                let mut o = self.reply(cx, PromptKey::WhichCase, context! { cases => ids })?;
                let buttons: Vec<_> = open
                    .iter()
                    .take(PICKER_MAX)
                    .map_while(|c| {
                        let action = crate::core::action::Action::Run(redo(&c.case.id));
                        let token = action.token()?;
                        let label = crate::core::buttons::label(
                            &self.svc,
                            cx.locale,
                            "case",
                            &context! { case => self.svc.view(&c.case, cx.locale, cx.now) },
                        );
                        Some(crate::core::message::Button {
                            label,
                            does: crate::core::message::Does::Press { token },
                        })
                    })
                    .collect();
                // All or none: a picker missing a case would mislead.
                if buttons.len() == open.len().min(PICKER_MAX) {
                    for out in &mut o.out {
                        out.meta.buttons = buttons.clone();
                    }
                }
                Ok(Err(o))
            }
        }
    }
}

/// Builds the command line a picker's button runs for one case.
pub(crate) type Redo<'a> = &'a (dyn Fn(&CaseId) -> String + Sync);

/// A picker offers at most this many cases as buttons.
const PICKER_MAX: usize = 10;

pub(crate) fn locale_key(user: &UserRef) -> String {
    format!("locale/{}/{}", user.platform().key(), user.local_id())
}

pub(crate) fn moderator_command(cmd: &Command) -> Option<&'static str> {
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
        Command::Clusters => "clusters",
        Command::Cluster { .. } => "cluster",
        Command::Unlink { .. } => "unlink",
        Command::Joint { .. } | Command::JointDecide { .. } => "joint",
        Command::StatsExport | Command::StatsDecide { .. } => "stats export",
        _ => return None,
    })
}
