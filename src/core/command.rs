//! Text in, typed command out: the slash commands every platform shares. A platform with
//! structured commands (Discord's options) builds a [`Command`] directly; free text comes here.

use crate::core::case::CaseId;
use crate::core::identity::Locale;

/// A command, typed: case references are parsed [`CaseId`]s (whether the sender may see the
/// case is the engine's business), report fields are named by [`ReportField`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    /// `/start` (Telegram's first message, and its deep links: `/start report`).
    Start {
        report: bool,
    },
    /// `/report` alone starts the dialogue; with fields it files at once.
    Report(Vec<(ReportField, String)>),
    Cancel,
    Skip,
    Done,
    Contacted {
        case: Option<CaseId>,
        rest: String,
    },
    Replied {
        case: Option<CaseId>,
        rest: String,
    },
    Unresolved {
        case: Option<CaseId>,
    },
    Status {
        case: Option<CaseId>,
    },
    Resolve {
        case: Option<CaseId>,
    },
    Withdraw {
        case: Option<CaseId>,
    },
    Lang {
        case: Option<CaseId>,
        locale: Locale,
    },
    /// `/evidence [list|add|remove] [case] …`
    Evidence {
        action: EvidenceAction,
        case: Option<CaseId>,
        args: Vec<String>,
    },
    /// `/export [case] [time zone]`
    Export {
        case: Option<CaseId>,
        tz: Option<String>,
    },
    /// `/authorities [country]`
    Authorities {
        country: Option<String>,
    },
    Queue,
    Case {
        case: CaseId,
    },
    Claim {
        case: CaseId,
    },
    Note {
        case: CaseId,
        text: String,
    },
    Hold {
        case: CaseId,
        reason: String,
    },
    Resume {
        case: CaseId,
    },
    Advance {
        case: CaseId,
    },
    Approve {
        case: CaseId,
    },
    Reject {
        case: CaseId,
        reason: String,
    },
    Close {
        case: CaseId,
        reason: String,
    },
    /// A member flags someone's message for the moderators (a fake support account, a
    /// "recovery" offer). Only platforms give it (Discord's message context menu): the link to
    /// the message is the input's [`crate::core::message::Incoming::link`].
    /// A report form's answers (Discord's modal, which holds only text): filled in like the
    /// one-line form, then the intake asks what a form cannot (how it happened, the country,
    /// the language) with its buttons. Only platforms give it.
    ReportForm {
        fields: Vec<(ReportField, String)>,
        /// "eth 1200 USDT": a chain first (if it reads as one), then the amount.
        chain_amount: String,
        /// Hashes and addresses together, each recognised by its shape.
        evidence: String,
    },
    /// Support staff answered the victim where the platform can tell (a member with the
    /// configured support role writing in the case's Discord thread). Only platforms give it.
    SupportReply {
        case: CaseId,
        text: String,
    },
    /// The victim's answer on joining their case to a joint complaint.
    Consent {
        case: Option<CaseId>,
        yes: bool,
    },
    Clusters,
    /// One cluster, named by its ID, a shared address, or one of its cases.
    Cluster {
        target: String,
    },
    /// Takes an address out of clustering (it no longer links cases in this community).
    Unlink {
        case: CaseId,
        address: String,
        reason: String,
    },
    /// Drafts a joint complaint for a cluster (named by its ID, a case, or an address).
    Joint {
        target: String,
    },
    /// Approves or rejects a joint complaint.
    JointDecide {
        id: String,
        approve: bool,
        reason: String,
    },
    /// Support responsiveness: every company with enough cases, or one.
    Stats {
        company: Option<String>,
    },
    /// The figures as CSV and JSON files (moderators).
    StatsExport,
    /// Approves or rejects a monthly support-responsiveness post.
    StatsDecide {
        id: String,
        approve: bool,
        reason: String,
    },
    Flag {
        /// Who wrote the flagged message, as the platform names them.
        author: String,
        /// Its text (screened before anything of it is kept).
        text: String,
    },
}

/// The fields of the one-line `/report` form (and of Discord's `/report` options).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportField {
    Lang,
    Wallet,
    How,
    Chain,
    Amount,
    Asset,
    Tx,
    Address,
    /// The thief's addresses: filed labelled `attacker`, so they link cases.
    Attacker,
    Noticed,
    Contacted,
    Country,
}

impl ReportField {
    pub const ALL: [ReportField; 12] = [
        ReportField::Lang,
        ReportField::Wallet,
        ReportField::How,
        ReportField::Chain,
        ReportField::Amount,
        ReportField::Asset,
        ReportField::Tx,
        ReportField::Address,
        ReportField::Attacker,
        ReportField::Noticed,
        ReportField::Contacted,
        ReportField::Country,
    ];

    /// The key as written in the one-line form and used as a Discord option name.
    pub fn key(self) -> &'static str {
        match self {
            ReportField::Lang => "lang",
            ReportField::Wallet => "wallet",
            ReportField::How => "how",
            ReportField::Chain => "chain",
            ReportField::Amount => "amount",
            ReportField::Asset => "asset",
            ReportField::Tx => "tx",
            ReportField::Address => "address",
            ReportField::Attacker => "attacker",
            ReportField::Noticed => "noticed",
            ReportField::Contacted => "contacted",
            ReportField::Country => "country",
        }
    }

    /// Accepts the keys and their aliases (`language`, `app`, `txs`, `addr`, `addresses`).
    pub fn parse(s: &str) -> Option<ReportField> {
        Some(match s.trim().to_lowercase().as_str() {
            "lang" | "language" => ReportField::Lang,
            "wallet" | "app" => ReportField::Wallet,
            "how" => ReportField::How,
            "chain" => ReportField::Chain,
            "amount" => ReportField::Amount,
            "asset" => ReportField::Asset,
            "tx" | "txs" => ReportField::Tx,
            "address" | "addr" | "addresses" => ReportField::Address,
            "attacker" | "thief" | "scammer" | "attackers" => ReportField::Attacker,
            "noticed" => ReportField::Noticed,
            "contacted" => ReportField::Contacted,
            "country" => ReportField::Country,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceAction {
    List,
    Add,
    Remove,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Command(Command),
    /// Not a command: an answer in a dialogue, or chatter.
    Text,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    Unknown(String),
    /// The command needs more; the name says which usage to show.
    Usage(&'static str),
    /// `/report` with a part that is not `key=value`.
    BadPair(String),
    /// `/report` with a key it does not know.
    BadKey(String),
    /// Something that should be a case ID and is not.
    BadCase(String),
    /// `/lang` with a language the bot does not speak.
    BadLanguage(String),
}

/// Command names a moderator uses; listed in help and refused to others.
pub const MODERATOR_COMMANDS: &[&str] = &[
    "queue", "case", "claim", "note", "hold", "resume", "advance", "approve", "reject", "close",
    "clusters", "cluster", "unlink", "joint",
];

/// The commands a platform's menu offers in each kind of place, in menu order (their
/// descriptions are the `command_menu` prompt). Follows what is answered where: a victim's
/// commands in private, moderator commands in the moderators' room.
pub fn menu(place: crate::core::message::Place) -> &'static [&'static str] {
    use crate::core::message::Place;
    match place {
        Place::Private => &[
            "report",
            "status",
            "contacted",
            "replied",
            "unresolved",
            "evidence",
            "export",
            "authorities",
            "consent",
            "stats",
            "lang",
            "resolve",
            "withdraw",
            "cancel",
            "help",
        ],
        Place::Community => &["report", "authorities", "stats", "help"],
        Place::Moderators => &[
            "queue", "case", "note", "claim", "hold", "resume", "advance", "approve", "reject",
            "close", "clusters", "cluster", "unlink", "joint", "stats", "help",
        ],
    }
}

/// Splits off the first whitespace-separated word.
pub fn split_first(s: &str) -> (&str, &str) {
    let s = s.trim();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], s[i..].trim()),
        None => (s, ""),
    }
}

fn optional_case(rest: &str) -> (Option<CaseId>, String) {
    let (first, tail) = split_first(rest);
    match CaseId::parse(first) {
        Some(id) if !first.is_empty() => (Some(id), tail.to_string()),
        _ => (None, rest.trim().to_string()),
    }
}

/// The first word, if any, as a case: for commands whose only argument is a case.
fn only_case(rest: &str) -> Result<Option<CaseId>, ParseError> {
    let (first, _) = split_first(rest);
    if first.is_empty() {
        return Ok(None);
    }
    CaseId::parse(first)
        .map(Some)
        .ok_or_else(|| ParseError::BadCase(first.to_string()))
}

fn required_case(rest: &str, name: &'static str) -> Result<(CaseId, String), ParseError> {
    let (first, tail) = split_first(rest);
    if first.is_empty() {
        return Err(ParseError::Usage(name));
    }
    let id = CaseId::parse(first).ok_or_else(|| ParseError::BadCase(first.to_string()))?;
    Ok((id, tail.to_string()))
}

/// Splits on whitespace, keeping "quoted parts" (straight or curly quotes) together.
pub fn tokenize(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in s.chars() {
        match c {
            '"' | '“' | '”' | '「' | '」' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// Parses a message. Accepts `/cmd`, `/cmd@botname` (Telegram groups) and the full-width `／`.
pub fn parse(text: &str) -> Result<Parsed, ParseError> {
    let text = text.trim();
    let Some(body) = text.strip_prefix('/').or_else(|| text.strip_prefix('／')) else {
        return Ok(Parsed::Text);
    };
    let (word, rest) = split_first(body);
    let name = word.split('@').next().unwrap_or_default().to_lowercase();
    let cmd = match name.as_str() {
        "help" | "帮助" => Command::Help,
        "start" => Command::Start {
            report: split_first(rest).0.eq_ignore_ascii_case("report"),
        },
        "report" | "报告" => Command::Report(pairs(rest)?),
        "cancel" | "取消" => Command::Cancel,
        "skip" | "跳过" => Command::Skip,
        "done" | "完成" => Command::Done,
        "contacted" => {
            let (case, rest) = optional_case(rest);
            Command::Contacted { case, rest }
        }
        "replied" => {
            let (case, rest) = optional_case(rest);
            Command::Replied { case, rest }
        }
        "unresolved" => Command::Unresolved {
            case: only_case(rest)?,
        },
        "status" | "mycases" => Command::Status {
            case: only_case(rest)?,
        },
        "resolve" | "resolved" => Command::Resolve {
            case: only_case(rest)?,
        },
        "withdraw" => Command::Withdraw {
            case: only_case(rest)?,
        },
        "lang" | "language" | "语言" => {
            let (case, rest) = optional_case(rest);
            if rest.is_empty() {
                return Err(ParseError::Usage("lang"));
            }
            let locale = Locale::parse(&rest).ok_or(ParseError::BadLanguage(rest))?;
            Command::Lang { case, locale }
        }
        "evidence" | "证据" => {
            let (word, rest) = split_first(rest);
            let (action, rest) = match word.to_lowercase().as_str() {
                "" | "list" | "ls" | "列表" => (EvidenceAction::List, rest),
                "add" | "添加" => (EvidenceAction::Add, rest),
                "remove" | "rm" | "delete" | "删除" => (EvidenceAction::Remove, rest),
                // `/evidence RC-…` lists that case.
                _ if CaseId::parse(word).is_some() => (EvidenceAction::List, split_first(body).1),
                _ => return Err(ParseError::Usage("evidence")),
            };
            let (case, rest) = optional_case(rest);
            let args: Vec<String> = tokenize(&rest);
            if action != EvidenceAction::List && args.is_empty() {
                return Err(ParseError::Usage("evidence"));
            }
            Command::Evidence { action, case, args }
        }
        "export" | "dossier" | "导出" => {
            let (case, rest) = optional_case(rest);
            Command::Export {
                case,
                tz: (!rest.is_empty()).then_some(rest),
            }
        }
        "authorities" | "police" | "报警" | "监管" => Command::Authorities {
            country: (!rest.is_empty()).then(|| rest.to_string()),
        },
        "queue" => Command::Queue,
        "case" => Command::Case {
            case: required_case(rest, "case")?.0,
        },
        "claim" => Command::Claim {
            case: required_case(rest, "claim")?.0,
        },
        "note" => {
            let (case, text) = required_case(rest, "note")?;
            if text.is_empty() {
                return Err(ParseError::Usage("note"));
            }
            Command::Note { case, text }
        }
        "hold" => {
            let (case, reason) = required_case(rest, "hold")?;
            Command::Hold { case, reason }
        }
        "resume" => Command::Resume {
            case: required_case(rest, "resume")?.0,
        },
        "advance" => Command::Advance {
            case: required_case(rest, "advance")?.0,
        },
        "approve" => Command::Approve {
            case: required_case(rest, "approve")?.0,
        },
        "reject" => {
            let (case, reason) = required_case(rest, "reject")?;
            Command::Reject { case, reason }
        }
        "close" => {
            let (case, reason) = required_case(rest, "close")?;
            Command::Close { case, reason }
        }
        "consent" | "同意" => {
            let (case, rest) = optional_case(rest);
            let yes = match rest.trim().to_lowercase().as_str() {
                "yes" | "y" | "ok" | "是" | "同意" | "可以" => true,
                "no" | "n" | "否" | "不" | "不同意" => false,
                _ => return Err(ParseError::Usage("consent")),
            };
            Command::Consent { case, yes }
        }
        "clusters" => Command::Clusters,
        "cluster" => {
            let target = split_first(rest).0.to_string();
            if target.is_empty() {
                return Err(ParseError::Usage("cluster"));
            }
            Command::Cluster { target }
        }
        "unlink" => {
            let (case, tail) = required_case(rest, "unlink")?;
            let (address, reason) = split_first(&tail);
            if address.is_empty() {
                return Err(ParseError::Usage("unlink"));
            }
            Command::Unlink {
                case,
                address: address.to_string(),
                reason: reason.to_string(),
            }
        }
        "stats" | "统计" => {
            let (first, tail) = split_first(rest);
            match first.to_lowercase().as_str() {
                "export" | "导出" => Command::StatsExport,
                verb @ ("approve" | "reject" | "批准" | "拒绝") => {
                    let (id, reason) = split_first(tail);
                    let id = id.trim().to_uppercase();
                    if !id.starts_with("ST-") {
                        return Err(ParseError::Usage("stats"));
                    }
                    Command::StatsDecide {
                        id,
                        approve: matches!(verb, "approve" | "批准"),
                        reason: reason.to_string(),
                    }
                }
                "" => Command::Stats { company: None },
                _ => Command::Stats {
                    company: Some(rest.trim().to_string()),
                },
            }
        }
        "joint" | "联名" => {
            let (first, tail) = split_first(rest);
            let approve = match first.to_lowercase().as_str() {
                "" => return Err(ParseError::Usage("joint")),
                "approve" | "批准" => Some(true),
                "reject" | "拒绝" => Some(false),
                _ => None,
            };
            match approve {
                Some(approve) => {
                    let (id, reason) = split_first(tail);
                    let id =
                        crate::core::draft::parse_joint_id(id).ok_or(ParseError::Usage("joint"))?;
                    Command::JointDecide {
                        id,
                        approve,
                        reason: reason.to_string(),
                    }
                }
                None => Command::Joint {
                    target: first.to_string(),
                },
            }
        }
        _ => return Err(ParseError::Unknown(name)),
    };
    Ok(Parsed::Command(cmd))
}

fn pairs(rest: &str) -> Result<Vec<(ReportField, String)>, ParseError> {
    tokenize(rest)
        .into_iter()
        .map(|t| match t.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => match ReportField::parse(k) {
                Some(f) => Ok((f, v.trim().to_string())),
                None => Err(ParseError::BadKey(k.trim().to_string())),
            },
            _ => Err(ParseError::BadPair(t)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizes_quoted_values() {
        assert_eq!(
            tokenize(r#"chain=eth amount="1.2 ETH" contacted=“2026-11-20 email #4411”"#),
            vec![
                "chain=eth",
                "amount=1.2 ETH",
                "contacted=2026-11-20 email #4411"
            ]
        );
    }

    #[test]
    fn parses_one_line_report() {
        let Ok(Parsed::Command(Command::Report(p))) = parse(r#"/report chain=eth amount="1 ETH""#)
        else {
            panic!("not a report")
        };
        assert_eq!(p[1], (ReportField::Amount, "1 ETH".to_string()));
    }

    #[test]
    fn unknown_and_usage_errors() {
        assert_eq!(
            parse("/frobnicate"),
            Err(ParseError::Unknown("frobnicate".into()))
        );
        assert_eq!(parse("/note"), Err(ParseError::Usage("note")));
        assert_eq!(
            parse("/note RC-AAAAA-BBBBB"),
            Err(ParseError::Usage("note"))
        );
        assert_eq!(
            parse("/claim nonsense"),
            Err(ParseError::BadCase("nonsense".into()))
        );
        assert_eq!(
            parse("/report colour=red"),
            Err(ParseError::BadKey("colour".into()))
        );
        assert_eq!(
            parse("/lang klingon"),
            Err(ParseError::BadLanguage("klingon".into()))
        );
        assert_eq!(
            parse("/start report"),
            Ok(Parsed::Command(Command::Start { report: true }))
        );
        assert_eq!(
            parse("/report chain"),
            Err(ParseError::BadPair("chain".into()))
        );
        assert_eq!(parse("hello"), Ok(Parsed::Text));
    }

    #[test]
    fn optional_case_is_taken_only_when_it_parses() {
        assert_eq!(
            parse("/contacted email #44").unwrap(),
            Parsed::Command(Command::Contacted {
                case: None,
                rest: "email #44".into()
            })
        );
        assert_eq!(
            parse("/contacted@RecourseBot rc-abcde-fghjk email").unwrap(),
            Parsed::Command(Command::Contacted {
                case: CaseId::parse("rc-abcde-fghjk"),
                rest: "email".into()
            })
        );
    }
}
