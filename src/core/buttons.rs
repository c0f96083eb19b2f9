//! Buttons and places: pressing a button, the buttons a moderator post carries and the edits
//! that keep those posts current, what is answered where (nothing about a case in a
//! community channel), and the kind answer to plain words.

use minijinja::{Value, context};

use crate::core::action::{Action, ModOp};
use crate::core::case::{Case, CaseId};
use crate::core::command::Command;
use crate::core::engine::{Ctx, Engine, EngineError, Outcome};
use crate::core::identity::Locale;
use crate::core::intake::Intake;
use crate::core::message::{Button, Does, Notice, Op, Outgoing, Place, Recipient, Target};
use crate::core::ports::Store;
use crate::core::services::Services;
use crate::prompts::PromptKey;

/// The outbox key of the moderators' post about a new case (edited as moderators act).
pub fn report_notice_key(case: &CaseId) -> String {
    format!("esc:{}:report:mods", case.as_str())
}

/// The outbox key of the moderators' post about a ladder step (`step` as logged).
pub fn step_notice_key(case: &CaseId, step: &str) -> String {
    format!("esc:{}:{step}:mods", case.as_str())
}

/// Words that say something was stolen, in either language: plain words like these get the
/// kind offer to report rather than a generic greeting.
fn sounds_like_theft(text: &str) -> bool {
    const WORDS: &[&str] = &[
        "stole", "stolen", "drain", "hack", "scam", "theft", "thief", "lost", "missing", "gone",
        "被盗", "盗", "偷", "骗", "转走", "没了", "黑客", "丢", "被转",
    ];
    let lower = text.to_lowercase();
    WORDS.iter().any(|w| lower.contains(w))
}

/// The buttons a moderators' post about `case` carries now: on the case card, claim (until
/// someone has), hold or resume, advance (while steps remain) and close; on a post waiting for
/// a decision, approve and reject. An ended case has none.
pub fn mod_buttons(svc: &Services, case: &Case, post: bool) -> Vec<Button> {
    if !case.is_open() {
        return Vec::new();
    }
    let ladder = &svc.ladder;
    let ops: Vec<ModOp> = if post {
        if case.pending_post.is_none() {
            return Vec::new();
        }
        vec![ModOp::Approve, ModOp::Reject]
    } else {
        let mut ops = Vec::new();
        if case.claimed_by.is_none() {
            ops.push(ModOp::Claim);
        }
        ops.push(if case.hold.is_some() {
            ModOp::Resume
        } else {
            ModOp::Hold
        });
        if ladder.next_step(case).is_some() {
            ops.push(ModOp::Advance);
        }
        ops.push(ModOp::Close);
        ops
    };
    ops.into_iter()
        .filter_map(|op| {
            let action = Action::Mod {
                op,
                case: case.id.clone(),
                guard: op.guard(case, ladder),
            };
            button(svc, svc.default_locale, op.label(), &action)
        })
        .collect()
}

/// A button that comes back as `action`, if its token fits.
pub fn button(svc: &Services, locale: Locale, label_key: &str, action: &Action) -> Option<Button> {
    let token = action.token()?;
    Some(Button {
        label: label(svc, locale, label_key, &context! {}),
        does: Does::Press { token },
    })
}

/// A button's words (the `button` template), in `locale`.
pub fn label(svc: &Services, locale: Locale, label_key: &str, extra: &Value) -> String {
    let ctx = context! { b => label_key, ..extra.clone() };
    svc.render(locale, PromptKey::Button, &ctx)
        .unwrap_or_else(|_| label_key.to_string())
}

impl<S: Store> Engine<S> {
    /// Edits of the moderators' posts about `case` after `action` (an event name) by the
    /// sender: the case card shows who did what and when, with the buttons that now apply;
    /// the decided public post (if `post_step`) says how it was decided and loses its buttons.
    /// Each edit goes to every moderators' destination (one row per platform).
    pub(crate) fn notice_edits(
        &self,
        cx: &Ctx<'_>,
        case: &Case,
        action: &str,
        post_step: Option<&str>,
    ) -> Result<Vec<Outgoing>, EngineError> {
        let locale = self.svc.default_locale;
        let last = context! {
            action => action,
            by => cx.msg.actor.name,
            platform => cx.msg.actor.user.platform().key(),
            at => crate::core::views::fmt_time(cx.now),
        };
        let edit = |target: String, post: bool| -> Result<Outgoing, EngineError> {
            let ctx = context! {
                case => self.svc.view(case, locale, cx.now),
                last => last.clone(),
                post => post,
            };
            let text = self.svc.render(locale, PromptKey::ModCard, &ctx)?;
            let mut o = Outgoing::fresh(Some(case.id.clone()), Recipient::MODERATORS, text)
                .with_buttons(mod_buttons(&self.svc, case, post));
            o.meta.op = Op::Edit {
                target: Target::Row { key: target },
            };
            Ok(o)
        };
        let mut out = vec![edit(report_notice_key(&case.id), false)?];
        if let Some(step) = post_step {
            out.push(edit(step_notice_key(&case.id, step), true)?);
        }
        Ok(out)
    }

    /// What is answered where. In a community channel nobody's case is discussed and no
    /// report is taken: those commands get a button to the private chat. Moderator commands
    /// work in private and in the moderators' room; a victim's commands only in private.
    pub(crate) fn elsewhere(
        &self,
        cx: &Ctx<'_>,
        cmd: &Command,
    ) -> Result<Option<Outcome>, EngineError> {
        let moderator = crate::core::engine::moderator_command(cmd).is_some();
        let public_ok = matches!(
            cmd,
            Command::Help
                | Command::Start { report: false }
                | Command::Authorities { .. }
                | Command::Stats { .. }
                | Command::Cancel
                | Command::Flag { .. }
        );
        let go = match cx.msg.place {
            Place::Private => return Ok(None),
            Place::Moderators if moderator || public_ok => return Ok(None),
            Place::Community if public_ok => return Ok(None),
            _ => match cmd {
                Command::Report(_)
                | Command::ReportForm { .. }
                | Command::Start { report: true } => "report",
                _ if moderator => "moderator",
                _ => "case",
            },
        };
        let mut o = self.reply(cx, PromptKey::GoPrivate, context! { what => go })?;
        let (key, does) = match go {
            "report" => ("report_privately", Does::OpenPrivateReport),
            _ => ("open_private", Does::OpenPrivate),
        };
        if go != "moderator" {
            let words = label(&self.svc, cx.locale, key, &context! {});
            for out in &mut o.out {
                out.meta.buttons = vec![Button {
                    label: words.clone(),
                    does: does.clone(),
                }];
            }
        }
        Ok(Some(o))
    }

    /// Plain words in a private chat, outside a report: a kind answer in the language they
    /// wrote in, with a button that starts the report.
    pub(crate) fn offer_report(&self, cx: &Ctx<'_>, text: &str) -> Result<Outcome, EngineError> {
        let mut o = self.reply(
            cx,
            PromptKey::Offer,
            context! { theft => sounds_like_theft(text) },
        )?;
        self.offer_buttons(cx, &mut o);
        Ok(o)
    }

    /// Adds "Report a theft" and "Help" buttons to an answer.
    pub(crate) fn offer_buttons(&self, cx: &Ctx<'_>, o: &mut Outcome) {
        let buttons: Vec<Button> = [("report", Action::Report), ("help", Action::Help)]
            .iter()
            .filter_map(|(l, action)| button(&self.svc, cx.locale, l, action))
            .collect();
        if let Some(first) = o.out.first_mut() {
            first.meta.buttons = buttons;
        }
    }

    /// A button was pressed: decode its token, check it still means what it meant, and act as
    /// the presser, with the presser's rights.
    pub(crate) async fn press(
        &self,
        cx: &Ctx<'_>,
        token: &str,
        intake: Option<Intake>,
    ) -> Result<Outcome, EngineError> {
        let Some(action) = Action::decode(token) else {
            return self.notice(
                cx,
                Notice::Alert,
                PromptKey::ButtonStale,
                context! { what => "expired" },
            );
        };
        match action {
            Action::Report => Box::pin(self.command(cx, Command::Report(Vec::new()), intake)).await,
            Action::Help => Box::pin(self.command(cx, Command::Help, intake)).await,
            Action::Run(line) => Box::pin(self.decide_text(cx, &line, intake)).await,
            Action::Answer { question, choice } => match intake {
                Some(i) if i.question == question => match choice.as_str() {
                    "skip" | "done" => Box::pin(self.command(cx, Command::Skip, Some(i))).await,
                    _ => self.intake_answer(cx, i, &choice),
                },
                // An answer to a question already answered: ask the current one again.
                Some(i) => self.ask_again(cx, &i),
                None => self.notice(
                    cx,
                    Notice::Alert,
                    PromptKey::ButtonStale,
                    context! { what => "intake" },
                ),
            },
            Action::Mod { op, case, guard } => self.press_mod(cx, op, case, guard).await,
        }
    }

    async fn press_mod(
        &self,
        cx: &Ctx<'_>,
        op: ModOp,
        id: CaseId,
        guard: Option<i64>,
    ) -> Result<Outcome, EngineError> {
        if !cx.msg.actor.moderator {
            return self.notice(
                cx,
                Notice::Alert,
                PromptKey::NotModerator,
                context! { command => op.label() },
            );
        }
        let Some(sc) = self.store.load_case(&id).await? else {
            return self.notice(
                cx,
                Notice::Alert,
                PromptKey::CaseNotFound,
                context! { case => id.to_string() },
            );
        };
        if !sc.case.is_open() || !op.is_current(guard, &sc.case, &self.svc.ladder) {
            let ctx = self.case_ctx(cx, &sc.case, context! { what => "case" });
            return self.notice(cx, Notice::Alert, PromptKey::ButtonStale, ctx);
        }
        let cmd = match op {
            ModOp::Claim => Command::Claim { case: id },
            ModOp::Approve => Command::Approve { case: id },
            ModOp::Reject => Command::Reject {
                case: id,
                reason: String::new(),
            },
            ModOp::Hold => Command::Hold {
                case: id,
                reason: String::new(),
            },
            ModOp::Resume => Command::Resume { case: id },
            ModOp::Advance => Command::Advance { case: id },
            ModOp::Close => Command::Close {
                case: id,
                reason: String::new(),
            },
        };
        let mut o = Box::pin(self.command(cx, cmd, None)).await?;
        for out in o.out.iter_mut().filter(|o| o.is_answer()) {
            out.meta.notice = Some(Notice::Toast);
        }
        Ok(o)
    }

    /// A short answer shown as a toast or an alert where the platform has them.
    pub(crate) fn notice(
        &self,
        cx: &Ctx<'_>,
        notice: Notice,
        key: PromptKey,
        ctx: Value,
    ) -> Result<Outcome, EngineError> {
        let mut o = self.reply(cx, key, ctx)?;
        for out in &mut o.out {
            out.meta.notice = Some(notice);
        }
        Ok(o)
    }
}
