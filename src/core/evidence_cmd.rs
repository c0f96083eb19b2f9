//! `/evidence list|add|remove`: a case's transactions and addresses, labelled and numbered.

use minijinja::context;

use crate::core::case::{EventKind, EvidenceLabel, EvidenceValue};
use crate::core::command::EvidenceAction;
use crate::core::engine::{Ctx, Engine, EngineError, Outcome};
use crate::core::evidence::Chain;
use crate::core::intake::{self, Invalid, Item};
use crate::core::ports::{Store, StoredCase};
use crate::core::report::{invalid_ctx, invalid_key};
use crate::core::views::EvidenceView;
use crate::prompts::PromptKey;

impl<S: Store> Engine<S> {
    pub(crate) async fn evidence(
        &self,
        cx: &Ctx<'_>,
        action: EvidenceAction,
        case: Option<crate::core::case::CaseId>,
        args: Vec<String>,
    ) -> Result<Outcome, EngineError> {
        let redo = |id: &crate::core::case::CaseId| {
            let verb = match action {
                EvidenceAction::List => "list",
                EvidenceAction::Add => "add",
                EvidenceAction::Remove => "remove",
            };
            format!("/evidence {verb} {id} {}", args.join(" "))
        };
        let sc = match self.find_case(cx, case.as_ref(), &redo).await? {
            Ok(sc) => sc,
            Err(outcome) => return Ok(outcome),
        };
        match action {
            EvidenceAction::List => {
                let ctx = self.case_ctx(
                    cx,
                    &sc.case,
                    context! { evidence => EvidenceView::of_case(&sc.case) },
                );
                self.reply(cx, PromptKey::EvidenceList, ctx)
            }
            _ if !sc.case.is_open() => self.ended_reply(cx, &sc.case),
            EvidenceAction::Add => self.add_evidence(cx, sc, &args),
            EvidenceAction::Remove => self.remove_evidence(cx, sc, &args),
        }
    }

    /// `<value> [label] [chain]`, in any order: the words that name a label or a chain are
    /// taken as such, the rest is the value.
    fn add_evidence(
        &self,
        cx: &Ctx<'_>,
        sc: StoredCase,
        args: &[String],
    ) -> Result<Outcome, EngineError> {
        let mut label = None;
        let mut chain = None;
        let mut values = Vec::new();
        for a in args {
            let a = a.trim_start_matches("chain=").trim_start_matches("label=");
            if let Some(l) = EvidenceLabel::parse(a) {
                label = Some(l);
            } else if let Some(c) = Chain::parse(a) {
                chain = Some(c);
            } else {
                values.push(a.to_string());
            }
        }
        let [value] = values.as_slice() else {
            return self.reply(cx, PromptKey::Usage, context! { command => "evidence" });
        };
        let chain = chain.or(sc.case.report.chain);
        if chain.is_none() {
            let chains = intake::candidate_chains(value);
            if chains.len() > 1 {
                let invalid = Invalid::WhichChain {
                    value: value.clone(),
                    chains,
                };
                let ctx = context! { case_id => sc.case.id.to_string(), ..invalid_ctx(&invalid) };
                return self.reply(cx, invalid_key(&invalid), ctx);
            }
        }
        let value = match intake::classify(chain, value) {
            Ok(Item::Tx(t)) => EvidenceValue::Tx(t),
            Ok(Item::Address(a)) => EvidenceValue::Address(a),
            Err(error) => {
                let invalid = Invalid::Evidence {
                    value: value.clone(),
                    error,
                };
                return self.reply(cx, invalid_key(&invalid), invalid_ctx(&invalid));
            }
        };
        if let Some(existing) = sc.case.evidence.iter().find(|e| e.value == value) {
            let number = existing.number;
            // Naming a label for an item already there relabels it (`/evidence add 0x… attacker`
            // for an address the report filed unlabelled).
            if let Some(label) = label.filter(|l| *l != existing.label) {
                let kinds = vec![EventKind::EvidenceLabelled { number, label }];
                let mut after = sc.case.clone();
                after.apply(&cx.event(kinds[0].clone()));
                let evidence = EvidenceView::of_case(&after);
                return self.case_change(
                    cx,
                    sc,
                    kinds,
                    PromptKey::EvidenceDone,
                    context! { action => "labelled", number => number, evidence => evidence },
                );
            }
            let ctx = self.case_ctx(
                cx,
                &sc.case,
                context! { action => "duplicate", number => number, evidence => EvidenceView::of_case(&sc.case) },
            );
            return self.reply(cx, PromptKey::EvidenceDone, ctx);
        }
        let label = label.unwrap_or(match value {
            EvidenceValue::Tx(_) => EvidenceLabel::TheftTx,
            EvidenceValue::Address(_) => EvidenceLabel::Unlabeled,
        });
        let number = sc.case.next_evidence;
        let mut after = sc.case.clone();
        after.apply(&cx.event(EventKind::EvidenceAdded {
            value: value.clone(),
            label,
        }));
        let evidence = EvidenceView::of_case(&after);
        self.case_change(
            cx,
            sc,
            vec![EventKind::EvidenceAdded { value, label }],
            PromptKey::EvidenceDone,
            context! { action => "added", number => number, evidence => evidence },
        )
    }

    fn remove_evidence(
        &self,
        cx: &Ctx<'_>,
        sc: StoredCase,
        args: &[String],
    ) -> Result<Outcome, EngineError> {
        let number = args
            .first()
            .and_then(|a| a.trim_start_matches('#').parse::<u32>().ok());
        let Some(number) = number.filter(|n| sc.case.evidence.iter().any(|e| e.number == *n))
        else {
            let ctx = self.case_ctx(
                cx,
                &sc.case,
                context! { action => "missing", number => args.first(), evidence => EvidenceView::of_case(&sc.case) },
            );
            return self.reply(cx, PromptKey::EvidenceDone, ctx);
        };
        let mut after = sc.case.clone();
        after.apply(&cx.event(EventKind::EvidenceRemoved { number }));
        let evidence = EvidenceView::of_case(&after);
        self.case_change(
            cx,
            sc,
            vec![EventKind::EvidenceRemoved { number }],
            PromptKey::EvidenceDone,
            context! { action => "removed", number => number, evidence => evidence },
        )
    }
}
