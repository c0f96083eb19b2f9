//! The moderators' side: the cross-platform queue, case timelines and actions on a case.

use minijinja::{Value, context};

use crate::core::action::Action;
use crate::core::buttons::mod_buttons;
use crate::core::case::{Case, CaseId, Event, EventKind};
use crate::core::engine::{Ctx, Engine, EngineError, Outcome};
use crate::core::identity::ActorRecord;
use crate::core::ladder::Due;
use crate::core::message::{Button, Does, Outgoing, Recipient};
use crate::core::ports::Store;
use crate::core::steps;
use crate::core::views::EventView;
use crate::prompts::PromptKey;

const QUEUE_LIMIT: u32 = 50;
/// The queue offers its first cases as buttons, at most this many (Discord's five rows of five
/// would allow 25; ten keeps a Telegram keyboard readable).
const QUEUE_BUTTONS: usize = 10;

macro_rules! found {
    ($e:expr) => {
        match $e? {
            Ok(sc) => sc,
            Err(outcome) => return Ok(outcome),
        }
    };
}

/// Why a moderator action changes nothing, if it would not.
fn no_op(case: &Case, kind: &EventKind) -> Option<&'static str> {
    match kind {
        EventKind::Held { .. } if case.hold.is_some() => Some("already_held"),
        EventKind::Resumed if case.hold.is_none() => Some("not_held"),
        EventKind::PostApproved | EventKind::PostRejected { .. } if case.pending_post.is_none() => {
            Some("no_post")
        }
        _ => None,
    }
}

impl<S: Store> Engine<S> {
    pub(crate) async fn queue(&self, cx: &Ctx<'_>) -> Result<Outcome, EngineError> {
        let cases = self.store.queue(QUEUE_LIMIT).await?;
        let rows: Vec<_> = cases
            .iter()
            .map(|sc| self.svc.view(&sc.case, cx.locale, cx.now))
            .collect();
        let mut o = self.reply(
            cx,
            PromptKey::Queue,
            context! { cases => rows, limit => QUEUE_LIMIT },
        )?;
        // One button per case (at most a keyboard's worth) opens its card.
        let buttons: Vec<Button> = cases
            .iter()
            .take(QUEUE_BUTTONS)
            .filter_map(|sc| {
                let token = Action::Run(format!("/case {}", sc.case.id)).token()?;
                let label = crate::core::buttons::label(
                    &self.svc,
                    cx.locale,
                    "case",
                    &context! { case => self.svc.view(&sc.case, cx.locale, cx.now) },
                );
                Some(Button {
                    label,
                    does: Does::Press { token },
                })
            })
            .collect();
        if let Some(first) = o.out.first_mut() {
            first.meta.buttons = buttons;
        }
        Ok(o)
    }

    pub(crate) async fn timeline(&self, cx: &Ctx<'_>, id: &CaseId) -> Result<Outcome, EngineError> {
        let sc = found!(self.find_case(cx, Some(id), &|_| String::new()).await);
        let events = self.store.events(&sc.case.id).await?;
        let views: Vec<EventView> = self.svc.event_views(&events, cx.locale, None)?;
        let ctx = self.case_ctx(cx, &sc.case, context! { events => views });
        let mut o = self.reply(cx, PromptKey::Timeline, ctx)?;
        // The card acts like the moderators' post about the case: its buttons, and the
        // decision on a public post if one waits.
        let mut buttons = mod_buttons(&self.svc, &sc.case, false);
        buttons.extend(mod_buttons(&self.svc, &sc.case, true));
        if let Some(first) = o.out.first_mut() {
            first.meta.buttons = buttons;
        }
        Ok(o)
    }

    pub(crate) async fn moderate(
        &self,
        cx: &Ctx<'_>,
        id: &CaseId,
        kind: EventKind,
    ) -> Result<Outcome, EngineError> {
        let sc = found!(self.find_case(cx, Some(id), &|_| String::new()).await);
        let action = kind.name();
        if !sc.case.is_open() {
            return self.ended_reply(cx, &sc.case);
        }
        if let Some(reason) = no_op(&sc.case, &kind) {
            let ctx = self.case_ctx(cx, &sc.case, context! { action => action, noop => reason });
            return self.reply(cx, PromptKey::ModDone, ctx);
        }
        let before = sc.case.clone();
        let mut outcome = self.case_change(
            cx,
            sc,
            vec![kind.clone()],
            PromptKey::ModDone,
            context! { action => action, noop => false },
        )?;
        let case = outcome
            .change
            .as_ref()
            .map(|c| c.case.clone())
            .unwrap_or(before.clone());
        if let EventKind::PostApproved = kind
            && let Some(draft) = &before.pending_post
        {
            outcome.out.push(Outgoing::keyed(
                format!("pub:{}:{}", case.id.as_str(), before.published_posts),
                Some(case.id.clone()),
                Recipient::PUBLIC,
                draft.text.clone(),
            ));
        }
        if !matches!(kind, EventKind::Noted { .. }) {
            // The decided post, when this decided it (approve, reject, or close with one
            // pending), and the case card: every moderators' copy shows who did what.
            let post_step = match (&kind, &before.pending_post) {
                (
                    EventKind::PostApproved
                    | EventKind::PostRejected { .. }
                    | EventKind::Closed { .. },
                    Some(p),
                ) => p.step.as_deref(),
                _ => None,
            };
            outcome
                .out
                .extend(self.notice_edits(cx, &case, action, post_step)?);
        }
        let update = match &kind {
            EventKind::PostApproved => Some(("post_published", None)),
            EventKind::PostRejected { reason } => Some(("post_rejected", reason.clone())),
            EventKind::Closed { reason } => Some(("closed", reason.clone())),
            EventKind::Held { reason } => Some(("held", reason.clone())),
            EventKind::Resumed => Some(("resumed", None)),
            _ => None,
        };
        if let Some((what, reason)) = update {
            outcome
                .out
                .push(self.victim_update(cx, &case, what, reason)?);
        }
        Ok(outcome)
    }

    fn victim_update(
        &self,
        cx: &Ctx<'_>,
        case: &Case,
        what: &str,
        reason: Option<String>,
    ) -> Result<Outgoing, EngineError> {
        let ctx: Value = context! {
            case => self.svc.view(case, case.locale, cx.now),
            community => self.svc.community_view(case.locale),
            what => what,
            reason => reason,
        };
        let text = self
            .svc
            .render(case.locale, PromptKey::VictimUpdate, &ctx)?;
        Ok(Outgoing::fresh(
            Some(case.id.clone()),
            Recipient::User {
                user: case.reporter.clone(),
            },
            text,
        ))
    }

    /// Takes the next step of the ladder now, whatever the clock says.
    pub(crate) async fn advance(&self, cx: &Ctx<'_>, id: &CaseId) -> Result<Outcome, EngineError> {
        let sc = found!(self.find_case(cx, Some(id), &|_| String::new()).await);
        if !sc.case.is_open() {
            return self.ended_reply(cx, &sc.case);
        }
        let Some(index) = self.svc.ladder.next_step(&sc.case) else {
            let ctx = self.case_ctx(
                cx,
                &sc.case,
                context! { action => "advanced", noop => "ladder_done" },
            );
            return self.reply(cx, PromptKey::ModDone, ctx);
        };
        let due = Due {
            index,
            occurrence: 0,
            at: cx.now,
        };
        let mut case = sc.case.clone();
        let advanced = cx.event(EventKind::Advanced);
        case.apply(&advanced);
        let taken = steps::take(&self.svc, &case, due, cx.now)?;
        let mut kinds = vec![EventKind::Advanced];
        kinds.extend(taken.events);
        let mut outcome = self.case_change(
            cx,
            sc,
            kinds,
            PromptKey::ModDone,
            context! { action => "advanced", noop => false, step => self.svc.ladder.step(index).kind.key() },
        )?;
        if let Some(change) = outcome.change.as_mut() {
            change.step_key = Some(due.log_key(&self.svc.ladder));
            // The step's own events are Recourse's doing, on the moderator's word.
            for e in change.events.iter_mut().skip(1) {
                e.actor = ActorRecord::system();
            }
        }
        outcome.out.extend(taken.out);
        if let Some(change) = &outcome.change {
            let case = change.case.clone();
            outcome
                .out
                .extend(self.notice_edits(cx, &case, "advanced", None)?);
        }
        Ok(outcome)
    }
}

/// Rebuilds a case from stored events (used by tests and consistency checks).
pub fn replay(events: &[Event]) -> Option<Case> {
    Case::from_events(events)
}
