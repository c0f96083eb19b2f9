//! The escalation policy: which step of the ladder is due for a case, and when.
//!
//! Steps are measured from the start of support's silence (plus any time on moderator hold).
//! A step may repeat (reminders) until the next step falls due. Each step, and each repeat,
//! happens once per case: its key `step#occurrence` is unique in the escalation log.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

use crate::core::case::Case;

/// What a step does; the words live in prompts/.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// The immediate-action checklist, sent with the reply to the report.
    Checklist,
    /// A reminder with a ready follow-up message, and a notice to moderators.
    Reminder,
    /// A public post drafted for moderator approval, and a social-media post for the victim.
    PublicPost,
    /// A written complaint to the company's management.
    Complaint,
    /// Regulator and law-enforcement contacts for the victim's country.
    Authorities,
    /// A ready freeze request for the exchange or the stablecoin issuer, and the advice to get
    /// a police report number early.
    FreezeRequest,
}

/// When a step applies to a case at all; a step that does not apply is passed over, and falls
/// due as soon as it starts to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    /// The stolen asset is a stablecoin whose issuer can freeze it (USDT, USDC), or the funds
    /// reached an exchange deposit address.
    Freezable,
}

impl When {
    pub fn holds(self, case: &Case) -> bool {
        match self {
            When::Freezable => {
                let text = format!(
                    "{} {}",
                    case.report.asset.as_deref().unwrap_or_default(),
                    case.report.amount.as_deref().unwrap_or_default()
                )
                .to_uppercase();
                ["USDT", "USDC", "TETHER", "USD COIN"]
                    .iter()
                    .any(|s| text.contains(s))
                    || case
                        .evidence
                        .iter()
                        .any(|e| e.label == crate::core::case::EvidenceLabel::ExchangeDeposit)
            }
        }
    }
}

impl StepKind {
    /// The kind a step key names, when it is a kind's own name (the default keys).
    pub fn from_key(key: &str) -> Option<StepKind> {
        [
            StepKind::Checklist,
            StepKind::Reminder,
            StepKind::PublicPost,
            StepKind::Complaint,
            StepKind::Authorities,
            StepKind::FreezeRequest,
        ]
        .into_iter()
        .find(|k| k.key() == key)
    }

    pub fn key(self) -> &'static str {
        match self {
            StepKind::Checklist => "checklist",
            StepKind::Reminder => "reminder",
            StepKind::PublicPost => "public_post",
            StepKind::Complaint => "complaint",
            StepKind::Authorities => "authorities",
            StepKind::FreezeRequest => "freeze_request",
        }
    }
}

/// One rung of the ladder as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepDef {
    /// Unique name of the step; defaults to the kind's name.
    #[serde(default)]
    pub key: String,
    pub kind: StepKind,
    /// Support silence after which the step is due.
    #[serde(with = "humantime_serde")]
    pub after: Duration,
    /// Repeat the step on this interval until the next step is due.
    #[serde(default, with = "humantime_serde")]
    pub repeat: Option<Duration>,
    /// Only for cases where this holds.
    #[serde(default)]
    pub when: Option<When>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LadderError {
    #[error("the ladder has no steps")]
    Empty,
    #[error("step '{0}' appears twice; give each step a unique key")]
    DuplicateKey(String),
    #[error("step '{0}' comes after a later step; list steps in order of their 'after'")]
    OutOfOrder(String),
    #[error("step '{0}' repeats every 0s; a repeat must be at least one minute")]
    RepeatTooShort(String),
}

/// A validated ladder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ladder {
    steps: Vec<StepDef>,
}

/// The next thing due for a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub index: usize,
    pub occurrence: u32,
    pub at: DateTime<Utc>,
}

impl Due {
    /// The escalation-log key: unique per case.
    pub fn log_key(&self, ladder: &Ladder) -> String {
        format!("{}#{}", ladder.steps[self.index].key, self.occurrence)
    }
}

fn chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

impl Default for Ladder {
    fn default() -> Self {
        let h = |n: u64| Duration::from_secs(n * 3600);
        let step = |kind: StepKind, after: Duration, repeat: Option<Duration>| StepDef {
            key: kind.key().to_string(),
            kind,
            after,
            repeat,
            when: None,
        };
        Ladder {
            steps: vec![
                step(StepKind::Checklist, Duration::ZERO, None),
                StepDef {
                    when: Some(When::Freezable),
                    ..step(StepKind::FreezeRequest, Duration::ZERO, None)
                },
                step(StepKind::Reminder, h(24), Some(h(24))),
                step(StepKind::PublicPost, h(72), None),
                step(StepKind::Complaint, h(7 * 24), None),
                step(StepKind::Authorities, h(14 * 24), None),
            ],
        }
    }
}

impl Ladder {
    pub fn new(mut steps: Vec<StepDef>) -> Result<Ladder, LadderError> {
        if steps.is_empty() {
            return Err(LadderError::Empty);
        }
        for s in &mut steps {
            if s.key.trim().is_empty() {
                s.key = s.kind.key().to_string();
            }
        }
        for (i, s) in steps.iter().enumerate() {
            if steps[..i].iter().any(|p| p.key == s.key) {
                return Err(LadderError::DuplicateKey(s.key.clone()));
            }
            if i > 0 && steps[i - 1].after > s.after {
                return Err(LadderError::OutOfOrder(steps[i - 1].key.clone()));
            }
            if s.repeat.is_some_and(|r| r < Duration::from_secs(60)) {
                return Err(LadderError::RepeatTooShort(s.key.clone()));
            }
        }
        Ok(Ladder { steps })
    }

    pub fn steps(&self) -> &[StepDef] {
        &self.steps
    }

    pub fn step(&self, index: usize) -> &StepDef {
        &self.steps[index]
    }

    pub fn index_of(&self, key: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.key == key)
    }

    fn pending(&self, case: &Case, i: usize) -> bool {
        let s = &self.steps[i];
        !case.progress.done.iter().any(|d| d == &s.key) && s.when.is_none_or(|w| w.holds(case))
    }

    /// The first step not yet taken that applies to the case, in ladder order.
    pub fn next_step(&self, case: &Case) -> Option<usize> {
        (0..self.steps.len()).find(|&i| self.pending(case, i))
    }

    /// When occurrence `k` of step `index` falls due for this case, if the clock runs.
    fn occurrence_at(&self, case: &Case, index: usize, k: u32) -> Option<DateTime<Utc>> {
        let base = case.clock.ladder_base()?;
        let step = &self.steps[index];
        let repeat = step.repeat.map(chrono).unwrap_or_default();
        Some(base + chrono(step.after) + repeat * k as i32)
    }

    /// The earliest pending step or repeat, or `None` when nothing can fall due: the case is
    /// closed, on hold, support has answered, or the ladder is finished.
    pub fn next_due(&self, case: &Case) -> Option<Due> {
        if !case.is_open() || case.hold.is_some() || case.clock.since.is_none() {
            return None;
        }
        let rung = self.next_step(case).map(|index| Due {
            index,
            occurrence: 0,
            at: self
                .occurrence_at(case, index, 0)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        });
        let repeat = self.pending_repeat(case).and_then(|(index, k)| {
            let at = self.occurrence_at(case, index, k)?;
            Some(Due {
                index,
                occurrence: k,
                at,
            })
        });
        match (rung, repeat) {
            (Some(r), Some(p)) if p.at < r.at => Some(p),
            (Some(r), _) => Some(r),
            (None, p) => p,
        }
    }

    /// The next repeat of the last step taken, if that step repeats.
    fn pending_repeat(&self, case: &Case) -> Option<(usize, u32)> {
        let last = self.index_of(case.progress.last()?)?;
        self.steps[last].repeat?;
        Some((last, case.progress.repeats + 1))
    }

    /// What to run at `now`, if anything. Steps are never skipped; of a repeating step only the
    /// latest due occurrence runs, so a service that was down sends one reminder, not a pile.
    pub fn due_now(&self, case: &Case, now: DateTime<Utc>) -> Option<Due> {
        let due = self.next_due(case)?;
        if due.at > now {
            return None;
        }
        let step = &self.steps[due.index];
        let Some(repeat) = step.repeat.map(chrono) else {
            return Some(due);
        };
        // A repeat never runs once the following step is due: that step runs instead.
        let following = (0..self.steps.len()).find(|&i| i != due.index && self.pending(case, i));
        let limit = following.and_then(|i| self.occurrence_at(case, i, 0));
        if due.occurrence > 0
            && let (Some(index), Some(at)) = (following, limit)
            && at <= now
        {
            return Some(Due {
                index,
                occurrence: 0,
                at,
            });
        }
        let mut latest = due;
        loop {
            let at = latest.at + repeat;
            if at > now || limit.is_some_and(|l| at >= l) {
                return Some(latest);
            }
            latest = Due {
                occurrence: latest.occurrence + 1,
                at,
                ..latest
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::case::{CaseId, Event, EventKind, EvidenceLabel, EvidenceValue, Report};
    use crate::core::evidence::{Address, Chain};
    use crate::core::identity::{ActorRecord, ChatRef, Locale, UserRef};
    use chrono::{Duration as D, TimeZone};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    }

    fn opened(report: Report) -> Case {
        let ev = Event::new(
            t0(),
            ActorRecord::system(),
            EventKind::Reported {
                id: CaseId::generate(),
                reporter: UserRef::Console("v".into()),
                chat: ChatRef::Console,
                locale: Locale::En,
                report: Box::new(report),
                contact: None,
            },
        );
        Case::opened(&ev).unwrap()
    }

    fn case() -> Case {
        opened(Report::default())
    }

    fn take(case: &mut Case, ladder: &Ladder, due: Due) {
        case.apply(&Event::new(
            due.at,
            ActorRecord::system(),
            EventKind::StepTaken {
                step: ladder.step(due.index).key.clone(),
                occurrence: due.occurrence,
                kind: Some(ladder.step(due.index).kind),
            },
        ));
    }

    #[test]
    fn default_ladder_walks_in_order_with_repeats() {
        let l = Ladder::default();
        let mut c = case();
        let mut seen = Vec::new();
        while let Some(due) = l.next_due(&c) {
            seen.push((
                l.step(due.index).kind,
                due.occurrence,
                (due.at - t0()).num_hours(),
            ));
            take(&mut c, &l, due);
        }
        use StepKind::*;
        assert_eq!(
            seen,
            vec![
                (Checklist, 0, 0),
                (Reminder, 0, 24),
                (Reminder, 1, 48),
                (PublicPost, 0, 72),
                (Complaint, 0, 168),
                (Authorities, 0, 336),
            ]
        );
    }

    #[test]
    fn nothing_is_due_on_hold_after_a_reply_or_when_closed() {
        let l = Ladder::default();
        let mut c = case();
        let at = |h: i64| t0() + D::hours(h);
        let mut happen = |h: i64, kind: EventKind| {
            c.apply(&Event::new(at(h), ActorRecord::system(), kind));
            l.next_due(&c).map(|d| d.at)
        };
        assert_eq!(happen(1, EventKind::Held { reason: None }), None);
        assert_eq!(
            happen(3, EventKind::Resumed),
            Some(at(2)),
            "2h on hold shift the checklist"
        );
        assert_eq!(happen(4, EventKind::SupportReplied { summary: None }), None);
        assert_eq!(
            happen(5, EventKind::ReplyUnresolved),
            Some(at(4)),
            "from the reply again"
        );
        assert_eq!(happen(6, EventKind::Closed { reason: None }), None);
    }

    #[test]
    fn catching_up_takes_the_latest_reminder_and_never_skips_a_rung() {
        let l = Ladder::default();
        let mut c = case();
        let first = l.due_now(&c, t0()).unwrap();
        take(&mut c, &l, first);
        // 60 h later: reminders #1 (24 h) and #2 (48 h) are both past; only #2 runs.
        let due = l.due_now(&c, t0() + D::hours(60)).unwrap();
        assert_eq!(
            (l.step(due.index).kind, due.occurrence),
            (StepKind::Reminder, 1)
        );
        take(&mut c, &l, due);
        // 10 days later the public post runs, not a third reminder, then the complaint.
        let now = t0() + D::days(10);
        let due = l.due_now(&c, now).unwrap();
        assert_eq!(l.step(due.index).kind, StepKind::PublicPost);
        take(&mut c, &l, due);
        assert_eq!(
            l.step(l.due_now(&c, now).unwrap().index).kind,
            StepKind::Complaint
        );
        assert_eq!(l.due_now(&c, t0()), None, "nothing before its time");
    }

    #[test]
    fn invalid_ladders_are_refused_with_the_reason() {
        let s = |kind, h: u64| StepDef {
            key: String::new(),
            kind,
            after: Duration::from_secs(h * 3600),
            repeat: None,
            when: None,
        };
        assert_eq!(Ladder::new(vec![]), Err(LadderError::Empty));
        assert_eq!(
            Ladder::new(vec![s(StepKind::Reminder, 1), s(StepKind::Reminder, 2)]),
            Err(LadderError::DuplicateKey("reminder".into()))
        );
        assert_eq!(
            Ladder::new(vec![s(StepKind::Complaint, 5), s(StepKind::Reminder, 2)]),
            Err(LadderError::OutOfOrder("complaint".into()))
        );
        let mut fast = s(StepKind::Reminder, 1);
        fast.repeat = Some(Duration::from_secs(1));
        assert_eq!(
            Ladder::new(vec![fast]),
            Err(LadderError::RepeatTooShort("reminder".into()))
        );
        let mut named = s(StepKind::Reminder, 1);
        named.key = "nudge".into();
        assert!(Ladder::new(vec![s(StepKind::Reminder, 0), named]).is_ok());
    }

    fn kinds_due(l: &Ladder, c: &mut Case) -> Vec<StepKind> {
        let mut kinds = Vec::new();
        while let Some(due) = l.next_due(c) {
            kinds.push(l.step(due.index).kind);
            take(c, l, due);
        }
        kinds
    }

    #[test]
    fn freeze_request_only_for_freezable_cases() {
        let l = Ladder::default();
        let mut plain = opened(Report {
            asset: Some("ETH".into()),
            ..Report::default()
        });
        assert!(!kinds_due(&l, &mut plain).contains(&StepKind::FreezeRequest));
        let mut usdt = opened(Report {
            amount: Some("5000 USDT".into()),
            ..Report::default()
        });
        assert_eq!(
            kinds_due(&l, &mut usdt)[..2],
            [StepKind::Checklist, StepKind::FreezeRequest]
        );
    }

    #[test]
    fn an_exchange_deposit_found_later_makes_the_freeze_request_due_at_once() {
        let l = Ladder::default();
        let mut c = opened(Report::default());
        let done = kinds_due(&l, &mut c);
        assert!(!done.contains(&StepKind::FreezeRequest));
        assert_eq!(l.next_due(&c), None, "ladder finished");
        let deposit = Address::parse(Chain::Tron, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t").unwrap();
        let at = Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap();
        c.apply(&Event::new(
            at,
            ActorRecord::system(),
            EventKind::EvidenceAdded {
                value: EvidenceValue::Address(deposit),
                label: EvidenceLabel::ExchangeDeposit,
            },
        ));
        let due = l.due_now(&c, at).expect("due now");
        assert_eq!(l.step(due.index).kind, StepKind::FreezeRequest);
    }
}
