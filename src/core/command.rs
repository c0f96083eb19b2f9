//! Text in, typed command out: the slash commands every platform shares.

/// A command as typed. Case references stay raw here; the engine resolves them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    /// `/report` alone starts the dialogue; with `key=value` pairs it files at once.
    Report(Vec<(String, String)>),
    Cancel,
    Skip,
    Done,
    Contacted {
        case: Option<String>,
        rest: String,
    },
    Replied {
        case: Option<String>,
        rest: String,
    },
    Unresolved {
        case: Option<String>,
    },
    Status {
        case: Option<String>,
    },
    Resolve {
        case: Option<String>,
    },
    Withdraw {
        case: Option<String>,
    },
    Lang {
        case: Option<String>,
        rest: String,
    },
    /// `/evidence [list|add|remove] [case] …`
    Evidence {
        action: EvidenceAction,
        case: Option<String>,
        args: Vec<String>,
    },
    /// `/export [case] [time zone]`
    Export {
        case: Option<String>,
        tz: Option<String>,
    },
    /// `/authorities [country]`
    Authorities {
        country: Option<String>,
    },
    Queue,
    Case {
        case: String,
    },
    Claim {
        case: String,
    },
    Note {
        case: String,
        text: String,
    },
    Hold {
        case: String,
        reason: String,
    },
    Resume {
        case: String,
    },
    Advance {
        case: String,
    },
    Approve {
        case: String,
    },
    Reject {
        case: String,
        reason: String,
    },
    Close {
        case: String,
        reason: String,
    },
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
}

/// Command names a moderator uses; listed in help and refused to others.
pub const MODERATOR_COMMANDS: &[&str] = &[
    "queue", "case", "claim", "note", "hold", "resume", "advance", "approve", "reject", "close",
];

/// Splits off the first whitespace-separated word.
pub fn split_first(s: &str) -> (&str, &str) {
    let s = s.trim();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], s[i..].trim()),
        None => (s, ""),
    }
}

fn optional_case(rest: &str) -> (Option<String>, String) {
    let (first, tail) = split_first(rest);
    if !first.is_empty() && crate::core::case::CaseId::parse(first).is_some() {
        (Some(first.to_string()), tail.to_string())
    } else {
        (None, rest.trim().to_string())
    }
}

/// The first word, if any: for commands whose only argument is a case.
fn first_word(rest: &str) -> Option<String> {
    let (first, _) = split_first(rest);
    (!first.is_empty()).then(|| first.to_string())
}

fn required_case(rest: &str, name: &'static str) -> Result<(String, String), ParseError> {
    let (first, tail) = split_first(rest);
    if first.is_empty() {
        return Err(ParseError::Usage(name));
    }
    Ok((first.to_string(), tail.to_string()))
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
        "help" | "start" | "帮助" => Command::Help,
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
            case: first_word(rest),
        },
        "status" | "mycases" => Command::Status {
            case: first_word(rest),
        },
        "resolve" | "resolved" => Command::Resolve {
            case: first_word(rest),
        },
        "withdraw" => Command::Withdraw {
            case: first_word(rest),
        },
        "lang" | "language" | "语言" => {
            let (case, rest) = optional_case(rest);
            if rest.is_empty() {
                return Err(ParseError::Usage("lang"));
            }
            Command::Lang { case, rest }
        }
        "evidence" | "证据" => {
            let (word, rest) = split_first(rest);
            let (action, rest) = match word.to_lowercase().as_str() {
                "" | "list" | "ls" | "列表" => (EvidenceAction::List, rest),
                "add" | "添加" => (EvidenceAction::Add, rest),
                "remove" | "rm" | "delete" | "删除" => (EvidenceAction::Remove, rest),
                // `/evidence RC-…` lists that case.
                _ if crate::core::case::CaseId::parse(word).is_some() => {
                    (EvidenceAction::List, split_first(body).1)
                }
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
        _ => return Err(ParseError::Unknown(name)),
    };
    Ok(Parsed::Command(cmd))
}

fn pairs(rest: &str) -> Result<Vec<(String, String)>, ParseError> {
    tokenize(rest)
        .into_iter()
        .map(|t| match t.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                Ok((k.trim().to_lowercase(), v.trim().to_string()))
            }
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
        assert_eq!(p[1], ("amount".to_string(), "1 ETH".to_string()));
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
                case: Some("rc-abcde-fghjk".into()),
                rest: "email".into()
            })
        );
    }
}
