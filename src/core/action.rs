//! Buttons: what pressing one means, written into a short opaque token (at most 64 bytes, the
//! tightest platform limit: Telegram's `callback_data`) and read back when it is pressed.
//!
//! A token is no authority. Anyone can forge one, so pressing is exactly as strong as typing:
//! the engine decodes it, checks it is still current (a guard taken when the button was made:
//! a post already decided or a step already taken makes the button stale, and a stale button
//! answers with the case's state instead of acting twice), and checks the presser's rights
//! again. Tokens are plain text:
//!
//! - `m:<op>:<case>:<guard>`: a moderator action (`cl` claim, `ap` approve, `rj` reject, `ho`
//!   hold, `re` resume, `ad` advance, `cs` close); the guard is a number or `-`;
//! - `i:<question>:<choice>`: an answer to the intake question it was offered with;
//! - `c:<command line>`: a command, run as if typed (the case picker);
//! - `r`: start a report; `h`: help.

use crate::core::case::{Case, CaseId};
use crate::core::intake::Question;
use crate::core::ladder::Ladder;

/// The longest token any platform accepts (Telegram `callback_data`; Discord allows 100).
pub const MAX_TOKEN: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModOp {
    Claim,
    Approve,
    Reject,
    Hold,
    Resume,
    Advance,
    Close,
}

impl ModOp {
    fn code(self) -> &'static str {
        match self {
            ModOp::Claim => "cl",
            ModOp::Approve => "ap",
            ModOp::Reject => "rj",
            ModOp::Hold => "ho",
            ModOp::Resume => "re",
            ModOp::Advance => "ad",
            ModOp::Close => "cs",
        }
    }

    fn from_code(s: &str) -> Option<ModOp> {
        Some(match s {
            "cl" => ModOp::Claim,
            "ap" => ModOp::Approve,
            "rj" => ModOp::Reject,
            "ho" => ModOp::Hold,
            "re" => ModOp::Resume,
            "ad" => ModOp::Advance,
            "cs" => ModOp::Close,
            _ => return None,
        })
    }

    /// The button label's key in the `button` template.
    pub fn label(self) -> &'static str {
        match self {
            ModOp::Claim => "claim",
            ModOp::Approve => "approve",
            ModOp::Reject => "reject",
            ModOp::Hold => "hold",
            ModOp::Resume => "resume",
            ModOp::Advance => "advance",
            ModOp::Close => "close",
        }
    }

    /// What the button stays valid for, read off the case when the button is made:
    /// approve/reject: the draft it was offered for; advance: the step it would take;
    /// claim: nobody has claimed yet. Hold, resume and close are no-ops when repeated.
    pub fn guard(self, case: &Case, ladder: &Ladder) -> Option<i64> {
        match self {
            ModOp::Approve | ModOp::Reject => case
                .pending_post
                .as_ref()
                .map(|p| p.drafted_at.timestamp_millis()),
            ModOp::Advance => ladder.next_step(case).and_then(|i| i64::try_from(i).ok()),
            ModOp::Claim => Some(0),
            ModOp::Hold | ModOp::Resume | ModOp::Close => None,
        }
    }

    /// Whether a button made with `guard` still means what it meant.
    pub fn is_current(self, guard: Option<i64>, case: &Case, ladder: &Ladder) -> bool {
        match self {
            ModOp::Claim => case.claimed_by.is_none(),
            ModOp::Approve | ModOp::Reject | ModOp::Advance => {
                guard.is_some() && self.guard(case, ladder) == guard
            }
            ModOp::Hold | ModOp::Resume | ModOp::Close => true,
        }
    }
}

/// What a button does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Mod {
        op: ModOp,
        case: CaseId,
        guard: Option<i64>,
    },
    /// Answers the intake question `question` with `choice` (a key the question accepts, or
    /// `skip` / `done`).
    Answer {
        question: Question,
        choice: String,
    },
    /// Runs this command line as if typed.
    Run(String),
    Report,
    Help,
}

impl Action {
    /// The token, or `None` if it would not fit [`MAX_TOKEN`] (then no button is offered).
    pub fn token(&self) -> Option<String> {
        let t = match self {
            Action::Mod { op, case, guard } => format!(
                "m:{}:{}:{}",
                op.code(),
                case.as_str(),
                guard.map_or_else(|| "-".to_string(), |g| g.to_string())
            ),
            Action::Answer { question, choice } => format!("i:{}:{choice}", question.key()),
            Action::Run(line) => format!("c:{line}"),
            Action::Report => "r".to_string(),
            Action::Help => "h".to_string(),
        };
        (t.len() <= MAX_TOKEN).then_some(t)
    }

    pub fn decode(token: &str) -> Option<Action> {
        if token.len() > MAX_TOKEN {
            return None;
        }
        let (kind, rest) = token.split_once(':').unwrap_or((token, ""));
        match kind {
            "r" if rest.is_empty() => Some(Action::Report),
            "h" if rest.is_empty() => Some(Action::Help),
            "c" if !rest.is_empty() => Some(Action::Run(rest.to_string())),
            "i" => {
                let (q, choice) = rest.split_once(':')?;
                let question = Question::ALL.into_iter().find(|x| x.key() == q)?;
                Some(Action::Answer {
                    question,
                    choice: choice.to_string(),
                })
            }
            "m" => {
                let mut parts = rest.splitn(3, ':');
                let op = ModOp::from_code(parts.next()?)?;
                let case = CaseId::parse(parts.next()?)?;
                let guard = match parts.next()? {
                    "-" => None,
                    g => Some(g.parse().ok()?),
                };
                Some(Action::Mod { op, case, guard })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_fit_telegram() {
        let case = CaseId::generate();
        let all = [
            Action::Mod {
                op: ModOp::Approve,
                case: case.clone(),
                guard: Some(1_764_700_000_000),
            },
            Action::Mod {
                op: ModOp::Close,
                case: case.clone(),
                guard: None,
            },
            Action::Answer {
                question: Question::How,
                choice: "seed_leaked".into(),
            },
            Action::Run(format!("/status {case}")),
            Action::Report,
            Action::Help,
        ];
        for a in all {
            let t = a.token().expect("fits");
            assert!(t.len() <= MAX_TOKEN, "{t}");
            assert_eq!(Action::decode(&t), Some(a));
        }
    }

    #[test]
    fn forged_or_oversized_tokens_decode_to_nothing() {
        for bad in [
            "",
            "x",
            "m:zz:RCABCDEFGHJK:-",
            "m:ap:not-a-case:-",
            "m:ap:RC-ABCDE-FGHJK:soon",
            "i:nope:1",
            "c:",
            "r:extra",
        ] {
            assert_eq!(Action::decode(bad), None, "{bad}");
        }
        assert_eq!(Action::Run("x".repeat(70)).token(), None);
        assert_eq!(Action::decode(&format!("c:{}", "x".repeat(70))), None);
    }
}
