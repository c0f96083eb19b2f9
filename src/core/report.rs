//! Filing a report: the `/report` dialogue one question at a time, the one-line form, and
//! opening the case with the steps due at once.

use minijinja::{Value, context};

use crate::core::action::Action;
use crate::core::buttons::label;
use crate::core::case::TheftKind;
use crate::core::case::{Case, CaseId, Event, EventKind};
use crate::core::command::ReportField;
use crate::core::engine::{Ctx, Engine, EngineError, Outcome};
use crate::core::evidence::Chain;
use crate::core::identity::{ActorRecord, Locale};
use crate::core::intake::{self, Intake, Invalid, Question, Step, Want};
use crate::core::message::{Button, Does, Outgoing, Recipient};
use crate::core::ports::{Change, Store};
use crate::core::steps;
use crate::prompts::PromptKey;

impl<S: Store> Engine<S> {
    pub(crate) fn start_intake(&self, cx: &Ctx<'_>) -> Result<Outcome, EngineError> {
        let intake = Intake::new(cx.locale);
        let mut o = self.ask(cx, &intake, context! { first => true })?;
        o.dialogue = Some(Some(intake));
        Ok(o)
    }

    /// Asks the current question again (a button for an earlier question was pressed).
    pub(crate) fn ask_again(&self, cx: &Ctx<'_>, i: &Intake) -> Result<Outcome, EngineError> {
        self.ask(cx, i, context! { first => false })
    }

    /// The choices offered as buttons with a question: the answer's own words where the
    /// answer is a choice, and skip (or done, after evidence) wherever a question may be left.
    fn choices(&self, i: &Intake) -> Vec<Button> {
        let q = i.question;
        let locale = i.locale;
        let choice = |label: String, value: &str| {
            let action = Action::Answer {
                question: q,
                choice: value.to_string(),
            };
            action.token().map(|token| Button {
                label,
                does: Does::Press { token },
            })
        };
        let word = |b: &str, extra: Value| label(&self.svc, locale, b, &extra);
        let mut buttons: Vec<Option<Button>> = match q {
            Question::Language => vec![
                choice("English".to_string(), "en"),
                choice("中文".to_string(), "zh"),
            ],
            Question::How => TheftKind::ALL
                .iter()
                .map(|k| choice(word("how", context! { k => k.key() }), k.key()))
                .collect(),
            Question::Chain => CHAIN_CHOICES
                .iter()
                .map(|c| choice(c.display_name().to_string(), c.key()))
                .collect(),
            _ => Vec::new(),
        };
        match q {
            Question::Language => {}
            Question::Evidence => buttons.push(choice(word("done", context! {}), "done")),
            _ => buttons.push(choice(word("skip", context! {}), "skip")),
        }
        buttons.into_iter().flatten().collect()
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
        let answer = self.to_chat(cx, text).with_buttons(self.choices(i));
        Ok(Outcome {
            out: vec![answer],
            ..Outcome::default()
        })
    }

    pub(crate) fn intake_answer(
        &self,
        cx: &Ctx<'_>,
        mut i: Intake,
        text: &str,
    ) -> Result<Outcome, EngineError> {
        match i.answer(text, cx.now) {
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

    pub(crate) fn intake_next(
        &self,
        cx: &Ctx<'_>,
        i: Intake,
        step: Step,
    ) -> Result<Outcome, EngineError> {
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
                let done = self.choices(&i);
                for out in &mut o.out {
                    out.meta.buttons = done.clone();
                }
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

    /// A form's answers, then the questions a form cannot hold, asked in turn with buttons.
    pub(crate) fn report_form(
        &self,
        cx: &Ctx<'_>,
        pairs: Vec<(ReportField, String)>,
        chain_amount: &str,
        evidence: &str,
    ) -> Result<Outcome, EngineError> {
        let mut i = Intake::new(cx.locale);
        let mut pairs = pairs;
        let (first, rest) = crate::core::command::split_first(chain_amount);
        match crate::core::evidence::Chain::parse(first) {
            Some(_) => {
                pairs.push((ReportField::Chain, first.to_string()));
                if !rest.is_empty() {
                    pairs.push((ReportField::Amount, rest.to_string()));
                }
            }
            None if !chain_amount.trim().is_empty() => {
                pairs.push((ReportField::Amount, chain_amount.trim().to_string()))
            }
            None => {}
        }
        if let Err(o) = self.fill(cx, &mut i, &pairs)? {
            return Ok(o);
        }
        if !evidence.trim().is_empty()
            && let Err(invalid) = intake::add_evidence(&mut i.report, evidence)
        {
            return self.reply(cx, invalid_key(&invalid), invalid_ctx(&invalid));
        }
        let given = |f: ReportField| pairs.iter().any(|(k, _)| *k == f);
        let mut rest: Vec<Question> = [
            (ReportField::How, Question::How),
            (ReportField::Country, Question::Country),
            (ReportField::Lang, Question::Language),
        ]
        .into_iter()
        .filter(|(f, _)| !given(*f))
        .map(|(_, q)| q)
        .collect();
        if rest.is_empty() {
            return self.intake_next(cx, i, Step::Complete);
        }
        i.question = rest.remove(0);
        i.then = Some(rest);
        self.intake_next(cx, i, Step::Ask)
    }

    /// The fields of a one-line report or a form, answered as the intake would; `Err` with
    /// the answer to a value that is not taken (nothing is filed).
    fn fill(
        &self,
        cx: &Ctx<'_>,
        i: &mut Intake,
        pairs: &[(ReportField, String)],
    ) -> Result<Result<(), Outcome>, EngineError> {
        for (k, v) in pairs.iter().cloned() {
            let q = match k {
                ReportField::Lang => Question::Language,
                ReportField::Wallet => Question::Wallet,
                ReportField::How => Question::How,
                ReportField::Chain => Question::Chain,
                ReportField::Amount => Question::Amount,
                ReportField::Asset => {
                    i.report.asset = Some(v.to_uppercase());
                    continue;
                }
                ReportField::Tx | ReportField::Address => {
                    let want = if k == ReportField::Tx {
                        Want::Tx
                    } else {
                        Want::Address
                    };
                    if let Err(invalid) = intake::add_evidence_as(&mut i.report, &v, want) {
                        return Ok(Err(self.reply(
                            cx,
                            invalid_key(&invalid),
                            invalid_ctx(&invalid),
                        )?));
                    }
                    continue;
                }
                ReportField::Attacker => {
                    if let Err(invalid) = add_attackers(&mut i.report, &v) {
                        return Ok(Err(self.reply(
                            cx,
                            invalid_key(&invalid),
                            invalid_ctx(&invalid),
                        )?));
                    }
                    continue;
                }
                ReportField::Noticed => Question::Noticed,
                ReportField::Contacted => Question::Contacted,
                ReportField::Country => Question::Country,
            };
            i.question = q;
            if let Err(invalid) = i.answer(&v, cx.now) {
                return Ok(Err(self.reply(
                    cx,
                    invalid_key(&invalid),
                    invalid_ctx(&invalid),
                )?));
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
            let attackers: Vec<String> = (i.report.attackers.drain(..))
                .map(|a| a.as_str().to_string())
                .collect();
            i.report.chain = Some(chain);
            for (items, want) in [(txs, Want::Tx), (addresses, Want::Address)] {
                if let Err(invalid) = intake::add_evidence_as(&mut i.report, &items.join(" "), want)
                {
                    return Ok(Err(self.reply(
                        cx,
                        invalid_key(&invalid),
                        invalid_ctx(&invalid),
                    )?));
                }
            }
            if let Err(invalid) = add_attackers(&mut i.report, &attackers.join(" ")) {
                return Ok(Err(self.reply(
                    cx,
                    invalid_key(&invalid),
                    invalid_ctx(&invalid),
                )?));
            }
        }
        Ok(Ok(()))
    }

    pub(crate) fn report_one_line(
        &self,
        cx: &Ctx<'_>,
        pairs: Vec<(ReportField, String)>,
    ) -> Result<Outcome, EngineError> {
        let mut i = Intake::new(cx.locale);
        if let Err(o) = self.fill(cx, &mut i, &pairs)? {
            return Ok(o);
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
        mut report: crate::core::case::Report,
        contact: Option<crate::core::case::Contact>,
    ) -> Result<Outcome, EngineError> {
        let id = CaseId::generate();
        report.company = self
            .svc
            .companies
            .of_case(
                report.wallet.as_deref(),
                self.svc.community.company.as_deref(),
            )
            .map(|c| c.name);
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
                talk: Default::default(),
                case: case.clone(),
            }),
            out: vec![
                Outgoing {
                    key: format!("esc:{}:report:victim", case.id.as_str()),
                    case_id: Some(case.id.clone()),
                    ..self.to_chat(cx, reply)
                },
                Outgoing::keyed(
                    crate::core::buttons::report_notice_key(&case.id),
                    Some(case.id.clone()),
                    Recipient::MODERATORS,
                    notice,
                )
                .with_buttons(crate::core::buttons::mod_buttons(&self.svc, &case, false)),
            ],
            ..Outcome::default()
        })
    }
}

/// The chains offered as buttons in the intake (the rest are typed).
const CHAIN_CHOICES: [Chain; 8] = [
    Chain::Ethereum,
    Chain::Bsc,
    Chain::Tron,
    Chain::Bitcoin,
    Chain::Solana,
    Chain::Polygon,
    Chain::Arbitrum,
    Chain::Base,
];

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

/// `attacker=`: addresses checked like `address=`, kept apart as the thief's.
fn add_attackers(report: &mut crate::core::case::Report, text: &str) -> Result<(), Invalid> {
    let mut found = crate::core::case::Report {
        chain: report.chain,
        ..Default::default()
    };
    intake::add_evidence_as(&mut found, text, Want::Address)?;
    if report.chain.is_none() {
        report.chain = found.chain;
    }
    for a in found.addresses {
        if !report.attackers.contains(&a) {
            report.attackers.push(a);
        }
    }
    Ok(())
}
