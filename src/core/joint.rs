//! Joint complaints: `/joint <cluster | case>` drafts, in the community's language, one
//! complaint to the company's management and one report for the authorities naming only the
//! cluster's cases whose victims agreed (`/consent`); moderators approve or reject it like a
//! public post (`/joint approve|reject <JC-…>`, or the buttons), and once approved each of
//! those victims gets it with the ask to send it or sign on. Every step is recorded on the
//! draft (the cluster's record, shown by `/cluster`) and as an event on each member case.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use minijinja::{Value, context};
use serde::Serialize;

use crate::core::action::Action;
use crate::core::case::{Case, CaseId, Event, EventKind};
use crate::core::cluster::Cluster;
use crate::core::cluster_cmd::{address_view, totals_view};
use crate::core::draft::{self, Draft, DraftBody, DraftStatus};
use crate::core::engine::{Ctx, Engine, EngineError, Outcome};
use crate::core::identity::{ActorRecord, Locale};
use crate::core::message::{Button, Does, Op, Outgoing, Recipient, Target, fan_out};
use crate::core::ports::{Change, Saved, Store};
use crate::core::views::fmt_time;
use crate::prompts::PromptKey;

/// One consenting case as the joint complaint lists it: no victim's name or contact.
#[derive(Debug, Serialize)]
struct Listed {
    id: String,
    amount: Option<String>,
    asset: Option<String>,
    chain: Option<String>,
    txs: Vec<crate::core::views::LinkView>,
    first_contact: Option<String>,
    silence: Option<String>,
    platform: String,
}

/// A draft for moderators' lists (`/cluster`'s record of joint complaints).
#[derive(Debug, Serialize)]
pub(crate) struct JointLine {
    id: String,
    status: &'static str,
    at: String,
    by: String,
    decided_at: Option<String>,
    decided_by: Option<String>,
    reason: Option<String>,
    cases: usize,
}

fn line(d: &Draft) -> JointLine {
    let cases = match &d.body {
        DraftBody::Joint { cases, .. } => cases.len(),
        DraftBody::Stats { .. } => 0,
    };
    JointLine {
        id: d.id.clone(),
        status: d.status.key(),
        at: fmt_time(d.created_at),
        by: d.created_by.clone(),
        decided_at: d.decided_at.map(fmt_time),
        decided_by: d.decided_by.clone(),
        reason: d.reason.clone(),
        cases,
    }
}

fn notice_key(id: &str) -> String {
    format!("joint:{id}:mods")
}

/// "mo (discord)": who acted, and where.
fn who(cx: &Ctx<'_>) -> String {
    format!(
        "{} ({})",
        cx.msg.actor.name,
        cx.msg.actor.user.platform().key()
    )
}

impl<S: Store> Engine<S> {
    /// The joint complaints drafted for a cluster, oldest first.
    pub(crate) async fn joint_lines(&self, cluster: &str) -> Result<Vec<JointLine>, EngineError> {
        Ok(self
            .store
            .drafts_about(cluster)
            .await?
            .iter()
            .map(line)
            .collect())
    }

    /// `/joint <cluster id | case id | address>`.
    pub(crate) async fn joint(&self, cx: &Ctx<'_>, target: &str) -> Result<Outcome, EngineError> {
        let Some(cl) = self.find_cluster(target).await? else {
            return self.reply(
                cx,
                PromptKey::Joint,
                context! { what => "unknown", target => target },
            );
        };
        let earlier = self.store.drafts_about(&cl.id).await?;
        if let Some(pending) = earlier.iter().find(|d| d.status == DraftStatus::Pending) {
            return self.reply(
                cx,
                PromptKey::Joint,
                context! { what => "pending", joint => line(pending), cluster => &cl.id },
            );
        }
        let loaded = self.load_all(&cl.cases).await?;
        let cases: Vec<&Case> = loaded.iter().map(|s| &s.case).collect();
        // Only the cases whose victims said yes, and that are still open.
        let listed: Vec<&Case> = cases
            .iter()
            .copied()
            .filter(|c| c.joint_consent == Some(true) && c.is_open())
            .collect();
        if listed.is_empty() {
            return self.reply(
                cx,
                PromptKey::Joint,
                context! { what => "none_consenting", cluster => &cl.id, cases => cases.len() },
            );
        }
        let locale = self.svc.public_locale;
        let ctx = self.joint_ctx(&cl, &listed, locale, cx.now);
        let letter = self.svc.render(locale, PromptKey::JointLetter, &ctx)?;
        let report = self.svc.render(locale, PromptKey::JointReport, &ctx)?;
        let ids: Vec<CaseId> = listed.iter().map(|c| c.id.clone()).collect();
        let d = Draft {
            id: draft::joint_id(),
            subject: cl.id.clone(),
            status: DraftStatus::Pending,
            body: DraftBody::Joint {
                cluster: cl.id.clone(),
                locale,
                letter,
                report,
                cases: ids.clone(),
            },
            created_at: cx.now,
            created_by: who(cx),
            decided_at: None,
            decided_by: None,
            reason: None,
        };
        let notices = self.joint_notices(&d, cases.len())?;
        if !self.store.insert_draft(&d, &notices, cx.now).await? {
            return Err(EngineError::Internal(anyhow::anyhow!(
                "joint complaint ID {} taken",
                d.id
            )));
        }
        self.wake_all();
        let actor = cx.actor();
        self.mark(&ids, cx.now, &actor, |_| {
            Some((
                EventKind::JointDrafted {
                    draft: d.id.clone(),
                },
                None,
            ))
        })
        .await;
        self.reply(
            cx,
            PromptKey::Joint,
            context! { what => "drafted", joint => line(&d), cluster => &cl.id, cases => cases.len() },
        )
    }

    /// What the two drafts are written from: the consenting cases, the shared addresses, the
    /// companies they name, the totals.
    fn joint_ctx(
        &self,
        cl: &Cluster,
        listed: &[&Case],
        locale: Locale,
        now: DateTime<Utc>,
    ) -> Value {
        let views: Vec<_> = listed
            .iter()
            .map(|c| self.svc.view(c, locale, now))
            .collect();
        // The companies as the figures count them ("tp钱包" and "TP Wallet" are TokenPocket).
        let mut companies: Vec<String> = Vec::new();
        for (c, v) in listed.iter().zip(&views).filter(|(_, v)| v.company_known) {
            let name = crate::core::stats::company_of(c)
                .map(|c| c.name)
                .unwrap_or_else(|| v.company.clone());
            if !companies.contains(&name) {
                companies.push(name);
            }
        }
        let company = if companies.is_empty() {
            views.first().map(|v| v.company.clone()).unwrap_or_default()
        } else {
            companies.join(", ")
        };
        let cases: Vec<Listed> = listed
            .iter()
            .zip(&views)
            .map(|(c, v)| Listed {
                id: c.id.to_string(),
                amount: v.amount.clone(),
                asset: v.asset.clone(),
                chain: v.chain.clone(),
                txs: v.txs.clone(),
                first_contact: v.first_contact.clone(),
                silence: c
                    .clock
                    .silence(now)
                    .map(|d| crate::core::views::fmt_duration(locale, d)),
                platform: v.platform.clone(),
            })
            .collect();
        let countries: BTreeSet<String> = views.iter().filter_map(|v| v.country.clone()).collect();
        context! {
            company => company,
            community => self.svc.community_view(locale),
            cluster => &cl.id,
            cases => cases,
            shared => cl.shared.iter().map(|(_, a)| address_view(a)).collect::<Vec<_>>(),
            totals => totals_view(listed),
            countries => countries,
            today => fmt_time(now),
        }
    }

    /// The moderators' notice of a draft (with Approve and Reject) and, after it, the draft's
    /// text, each to every moderators' destination.
    fn joint_notices(&self, d: &Draft, cluster_cases: usize) -> Result<Vec<Outgoing>, EngineError> {
        let DraftBody::Joint {
            letter,
            report,
            cases,
            ..
        } = &d.body
        else {
            return Ok(Vec::new());
        };
        let mods = self.svc.default_locale;
        let text = self.svc.render(
            mods,
            PromptKey::Joint,
            &context! {
                what => "notice",
                joint => line(d),
                cluster => &d.subject,
                cases => cluster_cases,
                listed => cases.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
            },
        )?;
        let buttons = [("approve", "approve"), ("reject", "reject")]
            .into_iter()
            .filter_map(|(label, verb)| {
                let token = Action::Run(format!("/joint {verb} {}", d.id)).token()?;
                Some(Button {
                    label: crate::core::buttons::label(&self.svc, mods, label, &context! {}),
                    does: Does::Press { token },
                })
            })
            .collect();
        let notice = Outgoing::keyed(notice_key(&d.id), None, Recipient::MODERATORS, text)
            .with_buttons(buttons);
        let body = Outgoing::keyed(
            format!("joint:{}:text", d.id),
            None,
            Recipient::MODERATORS,
            format!("{letter}\n\n---\n\n{report}"),
        );
        Ok(fan_out(vec![notice, body], &self.svc.destinations))
    }

    /// `/joint approve|reject <JC-…> [reason]`.
    pub(crate) async fn joint_decide(
        &self,
        cx: &Ctx<'_>,
        id: &str,
        approve: bool,
        reason: String,
    ) -> Result<Outcome, EngineError> {
        let Some(d) = self.store.load_draft(id).await? else {
            return self.reply(
                cx,
                PromptKey::Joint,
                context! { what => "unknown", target => id },
            );
        };
        let DraftBody::Joint { cases, .. } = &d.body else {
            return self.reply(
                cx,
                PromptKey::Joint,
                context! { what => "unknown", target => id },
            );
        };
        if d.status != DraftStatus::Pending {
            // A stale button or a second moderator: say how it was decided, and finish what a
            // crash may have left undone (each case's event and message are written once).
            self.deliver_decision(&d, cx.now).await;
            return self.reply(
                cx,
                PromptKey::Joint,
                context! { what => "decided", joint => line(&d) },
            );
        }
        if approve {
            // A victim may have changed their mind since the draft: it names only consenting
            // cases, so it is drafted again rather than sent.
            let loaded = self.load_all(cases).await?;
            let withdrawn: Vec<String> = loaded
                .iter()
                .filter(|s| s.case.joint_consent != Some(true) || !s.case.is_open())
                .map(|s| s.case.id.to_string())
                .collect();
            if !withdrawn.is_empty() || loaded.len() != cases.len() {
                return self.reply(
                    cx,
                    PromptKey::Joint,
                    context! { what => "consent_changed", joint => line(&d), cluster => &d.subject, withdrawn => withdrawn },
                );
            }
        }
        let status = if approve {
            DraftStatus::Approved
        } else {
            DraftStatus::Rejected
        };
        let reason = (!reason.trim().is_empty()).then(|| reason.trim().to_string());
        let decided = Draft {
            status,
            decided_at: Some(cx.now),
            decided_by: Some(who(cx)),
            reason: reason.clone(),
            ..d.clone()
        };
        let edit = self.notice_edit(&decided)?;
        let by = who(cx);
        if !self
            .store
            .decide_draft(id, status, &by, reason.as_deref(), cx.now, &edit)
            .await?
        {
            let now = self.store.load_draft(id).await?.unwrap_or(d);
            return self.reply(
                cx,
                PromptKey::Joint,
                context! { what => "decided", joint => line(&now) },
            );
        }
        self.wake_all();
        self.deliver_decision(&decided, cx.now).await;
        self.reply(
            cx,
            PromptKey::Joint,
            context! { what => "done", joint => line(&decided), cluster => &d.subject },
        )
    }

    /// The moderators' notice, edited to show the decision (no buttons left).
    fn notice_edit(&self, d: &Draft) -> Result<Vec<Outgoing>, EngineError> {
        let mods = self.svc.default_locale;
        let text = self.svc.render(
            mods,
            PromptKey::Joint,
            &context! { what => "notice", joint => line(d), cluster => &d.subject },
        )?;
        let mut o = Outgoing::fresh(None, Recipient::MODERATORS, text);
        o.meta.op = Op::Edit {
            target: Target::Row {
                key: notice_key(&d.id),
            },
        };
        Ok(fan_out(vec![o], &self.svc.destinations))
    }

    /// Records a decided draft on each of its cases, once, and sends an approved one to each
    /// victim in their own chat, with the ask in their language.
    async fn deliver_decision(&self, d: &Draft, now: DateTime<Utc>) {
        let DraftBody::Joint {
            letter,
            report,
            cases,
            ..
        } = &d.body
        else {
            return;
        };
        let approved = match d.status {
            DraftStatus::Approved => true,
            DraftStatus::Rejected => false,
            DraftStatus::Pending => return,
        };
        let actor = ActorRecord {
            user: None,
            name: d.decided_by.clone().unwrap_or_default(),
            moderator: true,
        };
        let others = cases.len().saturating_sub(1);
        self.mark(cases, now, &actor, |case| {
            if case
                .joints
                .iter()
                .any(|(j, done)| j == &d.id && done.is_some())
            {
                return None;
            }
            let kind = EventKind::JointDecided {
                draft: d.id.clone(),
                approved,
                reason: d.reason.clone(),
            };
            if !approved {
                return Some((kind, None));
            }
            let text = self
                .svc
                .render(
                    case.locale,
                    PromptKey::JointVictim,
                    &context! {
                        case => self.svc.view(case, case.locale, now),
                        joint => &d.id,
                        others => others,
                        letter => letter,
                        report => report,
                    },
                )
                .ok()?;
            let o = Outgoing::keyed(
                format!("joint:{}:{}:victim", d.id, case.id.as_str()),
                Some(case.id.clone()),
                Recipient::User {
                    user: case.reporter.clone(),
                },
                text,
            );
            Some((kind, Some(o)))
        })
        .await;
    }

    /// Saves one event (and its message) on each case, retrying a case another change got to
    /// first; `what` returns `None` for a case that needs nothing. A failure is logged and
    /// the next case goes on: the step can be finished by deciding again.
    async fn mark<F>(&self, ids: &[CaseId], now: DateTime<Utc>, actor: &ActorRecord, what: F)
    where
        F: Fn(&Case) -> Option<(EventKind, Option<Outgoing>)>,
    {
        for id in ids {
            for _ in 0..5 {
                let sc = match self.store.load_case(id).await {
                    Ok(Some(sc)) => sc,
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(case = %id, error = %e, "joint complaint step not recorded");
                        break;
                    }
                };
                let Some((kind, out)) = what(&sc.case) else {
                    break;
                };
                let mut case = sc.case;
                let event = Event::new(now, actor.clone(), kind);
                case.apply(&event);
                let change = Change {
                    at: now,
                    next_due_at: self.svc.ladder.next_due(&case).map(|d| d.at),
                    case,
                    expected_version: Some(sc.version),
                    events: vec![event],
                    outgoing: out.into_iter().collect(),
                    step_key: None,
                    talk: Default::default(),
                };
                match self.store.save(&change).await {
                    Ok(Saved::Conflict) => continue,
                    Ok(_) => {
                        self.wake_all();
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(case = %id, error = %e, "joint complaint step not recorded");
                        break;
                    }
                }
            }
        }
    }
}
