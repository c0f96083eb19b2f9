//! The `/report` intake: one question at a time, its state persisted between messages, and the
//! parsers shared with the one-line form.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::core::authorities::Country;
use crate::core::case::{Contact, ContactChannel, Report, TheftKind};
use crate::core::command::split_first;
use crate::core::evidence::{self, Address, Chain, EvidenceError, TxHash};
use crate::core::identity::Locale;

/// The questions, in the order they are asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Question {
    Language,
    Wallet,
    How,
    Chain,
    Amount,
    Evidence,
    Noticed,
    Contacted,
    Country,
}

impl Question {
    pub const ALL: [Question; 9] = [
        Question::Language,
        Question::Wallet,
        Question::How,
        Question::Chain,
        Question::Amount,
        Question::Evidence,
        Question::Noticed,
        Question::Contacted,
        Question::Country,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Question::Language => "language",
            Question::Wallet => "wallet",
            Question::How => "how",
            Question::Chain => "chain",
            Question::Amount => "amount",
            Question::Evidence => "evidence",
            Question::Noticed => "noticed",
            Question::Contacted => "contacted",
            Question::Country => "country",
        }
    }

    fn next(self) -> Option<Question> {
        use Question::*;
        match self {
            Language => Some(Wallet),
            Wallet => Some(How),
            How => Some(Chain),
            Chain => Some(Amount),
            Amount => Some(Evidence),
            Evidence => Some(Noticed),
            Noticed => Some(Contacted),
            Contacted => Some(Country),
            Country => None,
        }
    }

    pub fn number(self) -> usize {
        self as usize + 1
    }

    pub const COUNT: usize = 9;
}

/// A report being collected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intake {
    pub question: Question,
    pub locale: Locale,
    pub report: Report,
    pub contact: Option<Contact>,
    /// After a form (Discord's modal) answered the rest: the questions still to ask, in order;
    /// then the report is complete. `None`: every question in turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then: Option<Vec<Question>>,
}

/// Why an answer was not taken; the engine words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    Language,
    How,
    Chain,
    Date,
    Country,
    Empty,
    TooLong,
    Evidence {
        value: String,
        error: EvidenceError,
    },
    /// The value fits several chains and none is known: ask which.
    WhichChain {
        value: String,
        chains: Vec<Chain>,
    },
}

/// What an answer did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Ask the (new) current question.
    Ask,
    /// Evidence was added; the question stays open for more.
    AddedEvidence { txs: usize, addresses: usize },
    /// All questions answered.
    Complete,
}

const MAX_FIELD: usize = 200;

impl Intake {
    pub fn new(locale: Locale) -> Intake {
        Intake {
            question: Question::Language,
            locale,
            report: Report::default(),
            contact: None,
            then: None,
        }
    }

    /// Moves on without an answer (`/skip`, and `/done` after evidence).
    pub fn skip(&mut self) -> Step {
        self.advance()
    }

    fn advance(&mut self) -> Step {
        if let Some(rest) = &mut self.then {
            if rest.is_empty() {
                return Step::Complete;
            }
            self.question = rest.remove(0);
            return Step::Ask;
        }
        match self.question.next() {
            Some(q) => {
                self.question = q;
                Step::Ask
            }
            None => Step::Complete,
        }
    }

    pub fn answer(&mut self, text: &str, now: DateTime<Utc>) -> Result<Step, Invalid> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Invalid::Empty);
        }
        if text.chars().count() > MAX_FIELD && self.question != Question::Evidence {
            return Err(Invalid::TooLong);
        }
        match self.question {
            Question::Language => self.locale = Locale::parse(text).ok_or(Invalid::Language)?,
            Question::Wallet => self.report.wallet = Some(text.to_string()),
            Question::How => self.report.how = TheftKind::parse(text).ok_or(Invalid::How)?,
            Question::Chain => self.report.chain = Some(Chain::parse(text).ok_or(Invalid::Chain)?),
            Question::Amount => set_amount(&mut self.report, text),
            Question::Evidence => {
                let (txs, addresses) = add_evidence(&mut self.report, text)?;
                return Ok(Step::AddedEvidence { txs, addresses });
            }
            Question::Noticed => self.report.noticed_at = Some(parse_when(text, now)?),
            Question::Contacted => self.contact = parse_contact(text, now)?,
            Question::Country => {
                self.report.country = Some(Country::parse(text).ok_or(Invalid::Country)?)
            }
        }
        Ok(self.advance())
    }
}

/// "1.2 ETH" → amount "1.2 ETH", asset "ETH".
pub fn set_amount(report: &mut Report, text: &str) {
    report.amount = Some(text.to_string());
    if report.asset.is_none() {
        report.asset = text
            .split_whitespace()
            .rev()
            .find(|w| w.chars().any(char::is_alphabetic) && w.chars().count() <= 12)
            .map(str::to_uppercase);
    }
}

/// What a field of evidence may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    Any,
    Tx,
    Address,
}

/// Adds every hash and address in `text`; all-or-nothing, so a typo loses nothing already
/// collected and adds nothing half-checked.
pub fn add_evidence(report: &mut Report, text: &str) -> Result<(usize, usize), Invalid> {
    add_evidence_as(report, text, Want::Any)
}

/// As [`add_evidence`], for a field that holds only transactions or only addresses.
pub fn add_evidence_as(
    report: &mut Report,
    text: &str,
    want: Want,
) -> Result<(usize, usize), Invalid> {
    let mut txs = Vec::new();
    let mut addresses = Vec::new();
    let tokens: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ',' || c == '，')
        .map(|t| t.trim().trim_start_matches("chain="))
        .filter(|t| !t.is_empty())
        .collect();
    // A chain named in the same message ("0x… bsc") settles which chain the values are on.
    let named = tokens.iter().find_map(|t| Chain::parse(t));
    let chain = report.chain.or(named);
    for token in tokens {
        if Chain::parse(token).is_some() {
            continue;
        }
        if chain.is_none() {
            let chains = candidate_chains(token);
            if chains.len() > 1 {
                return Err(Invalid::WhichChain {
                    value: token.to_string(),
                    chains,
                });
            }
        }
        match classify(chain, token) {
            Ok(Item::Tx(_)) if want == Want::Address => {
                return Err(Invalid::Evidence {
                    value: token.to_string(),
                    error: EvidenceError::LooksLikeTxHash,
                });
            }
            Ok(Item::Address(_)) if want == Want::Tx => {
                return Err(Invalid::Evidence {
                    value: token.to_string(),
                    error: EvidenceError::LooksLikeAddress,
                });
            }
            Ok(Item::Tx(t)) => txs.push(t),
            Ok(Item::Address(a)) => addresses.push(a),
            Err(error) => {
                return Err(Invalid::Evidence {
                    value: token.to_string(),
                    error,
                });
            }
        }
    }
    let counts = (txs.len(), addresses.len());
    if report.chain.is_none() && counts != (0, 0) {
        report.chain = chain.or_else(|| {
            txs.first()
                .map(TxHash::chain)
                .or_else(|| addresses.first().map(Address::chain))
        });
    }
    for t in txs {
        if !report.txs.contains(&t) {
            report.txs.push(t);
        }
    }
    for a in addresses {
        if !report.addresses.contains(&a) {
            report.addresses.push(a);
        }
    }
    Ok(counts)
}

pub enum Item {
    Tx(TxHash),
    Address(Address),
}

/// Every chain a value could be a hash or an address of, likeliest first, without repeats.
pub fn candidate_chains(token: &str) -> Vec<Chain> {
    let mut chains = evidence::chains_for_tx(token);
    for c in evidence::chains_for_address(token) {
        if !chains.contains(&c) {
            chains.push(c);
        }
    }
    chains
}

/// A hash or an address of the reported chain; with no chain yet, the likeliest chain whose
/// shape fits.
pub fn classify(chain: Option<Chain>, token: &str) -> Result<Item, EvidenceError> {
    let chains = match chain {
        Some(c) => vec![c],
        None => {
            let mut c = evidence::chains_for_tx(token);
            c.extend(evidence::chains_for_address(token));
            if c.is_empty() {
                return Err(EvidenceError::WrongShape);
            }
            c
        }
    };
    let mut first_err = None;
    for c in chains {
        match TxHash::parse(c, token) {
            Ok(t) => return Ok(Item::Tx(t)),
            Err(EvidenceError::LooksLikeAddress) => match Address::parse(c, token) {
                Ok(a) => return Ok(Item::Address(a)),
                Err(e) => first_err = first_err.or(Some(e)),
            },
            Err(e) => match Address::parse(c, token) {
                Ok(a) => return Ok(Item::Address(a)),
                Err(EvidenceError::LooksLikeTxHash | EvidenceError::WrongShape) => {
                    first_err = first_err.or(Some(e))
                }
                Err(e2) => first_err = first_err.or(Some(e2)),
            },
        }
    }
    Err(first_err.unwrap_or(EvidenceError::WrongShape))
}

/// Dates as victims write them: `2026-11-20`, `2026-11-20 14:30`, `today`, `yesterday`,
/// `3h ago`, `2d ago`, `今天`, `昨天`, `3小时前`, `2天前`. Never in the future.
pub fn parse_when(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, Invalid> {
    let t = text.trim().to_lowercase();
    let at = match t.as_str() {
        "now" | "just now" | "today" | "刚才" | "现在" | "今天" => Some(now),
        "yesterday" | "昨天" => Some(now - Duration::days(1)),
        _ => None,
    };
    let at = at
        .or_else(|| relative(&t).map(|d| now - d))
        .or_else(|| {
            NaiveDateTime::parse_from_str(&t, "%Y-%m-%d %H:%M")
                .ok()
                .map(|n| n.and_utc())
        })
        .or_else(|| {
            NaiveDate::parse_from_str(&t, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|n| n.and_utc())
        })
        .ok_or(Invalid::Date)?;
    if at > now + Duration::minutes(5) {
        return Err(Invalid::Date);
    }
    Ok(at.min(now))
}

fn relative(t: &str) -> Option<Duration> {
    let t = t.trim_end_matches("ago").trim_end_matches('前').trim();
    let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
    let n: i64 = digits.parse().ok()?;
    if n > 3650 {
        return None;
    }
    match t[digits.len()..].trim() {
        "m" | "min" | "mins" | "minutes" | "分钟" => Some(Duration::minutes(n)),
        "h" | "hour" | "hours" | "小时" => Some(Duration::hours(n)),
        "d" | "day" | "days" | "天" => Some(Duration::days(n)),
        _ => None,
    }
}

/// "2026-11-20 email #4411" → a contact; "no" / "not yet" / "没有" → none yet. The date is
/// optional (now), then an optional channel word, then the reference.
pub fn parse_contact(text: &str, now: DateTime<Utc>) -> Result<Option<Contact>, Invalid> {
    let t = text.trim();
    if matches!(
        t.to_lowercase().as_str(),
        "no" | "not yet" | "none" | "n" | "没有" | "还没有" | "还没" | "否"
    ) {
        return Ok(None);
    }
    Ok(Some(parse_contact_parts(t, now)))
}

/// The `/contacted` arguments: `[date] [channel] [reference]`, each optional.
pub fn parse_contact_parts(text: &str, now: DateTime<Utc>) -> Contact {
    let mut rest = text.trim();
    let mut at = now;
    // A date may be one word (2026-11-20, yesterday) or two (2026-11-20 14:30, 3h ago).
    let words: Vec<&str> = rest.split_whitespace().collect();
    for n in [2, 1] {
        if words.len() >= n
            && let Ok(t) = parse_when(&words[..n].join(" "), now)
        {
            at = t;
            for _ in 0..n {
                rest = split_first(rest).1;
            }
            break;
        }
    }
    let (first, tail) = split_first(rest);
    let channel = ContactChannel::parse(first);
    let reference = if channel.is_some() { tail } else { rest };
    Contact {
        at,
        channel,
        reference: (!reference.is_empty())
            .then(|| reference.chars().take(MAX_FIELD).collect::<String>()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
    }

    #[test]
    fn parses_dates_victims_write() {
        let n = now();
        assert_eq!(parse_when("today", n), Ok(n));
        assert_eq!(parse_when("昨天", n), Ok(n - Duration::days(1)));
        assert_eq!(parse_when("3h ago", n), Ok(n - Duration::hours(3)));
        assert_eq!(parse_when("2天前", n), Ok(n - Duration::days(2)));
        assert_eq!(
            parse_when("2026-11-20 14:30", n),
            Ok(Utc.with_ymd_and_hms(2026, 11, 20, 14, 30, 0).unwrap())
        );
        assert_eq!(parse_when("2027-01-01", n), Err(Invalid::Date));
        assert_eq!(parse_when("last tuesday-ish", n), Err(Invalid::Date));
    }

    #[test]
    fn parses_contacts() {
        let c = parse_contact("2026-11-20 email #4411", now())
            .unwrap()
            .unwrap();
        assert_eq!(c.channel, Some(ContactChannel::Email));
        assert_eq!(c.reference.as_deref(), Some("#4411"));
        assert_eq!(c.at, Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap());
        assert_eq!(parse_contact("not yet", now()), Ok(None));
        let c = parse_contact_parts("ticket 88123", now());
        assert_eq!((c.at, c.channel), (now(), Some(ContactChannel::Ticket)));
        assert_eq!(c.reference.as_deref(), Some("88123"));
    }

    #[test]
    fn walks_every_question_and_skips() {
        let mut i = Intake::new(Locale::En);
        assert_eq!(i.answer("中文", now()), Ok(Step::Ask));
        assert_eq!(i.locale, Locale::Zh);
        assert_eq!(i.answer("MetaMask", now()), Ok(Step::Ask));
        assert_eq!(i.answer("9", now()), Err(Invalid::How));
        assert_eq!(i.answer("2", now()), Ok(Step::Ask));
        assert_eq!(i.report.how, TheftKind::MaliciousApproval);
        assert_eq!(i.skip(), Step::Ask);
        assert_eq!(i.answer("500 USDT", now()), Ok(Step::Ask));
        assert_eq!(i.report.asset.as_deref(), Some("USDT"));
        assert_eq!(i.question, Question::Evidence);
        assert_eq!(i.skip(), Step::Ask);
        assert_eq!(i.skip(), Step::Ask);
        assert_eq!(i.answer("no", now()), Ok(Step::Ask));
        assert_eq!(i.answer("Narnia", now()), Err(Invalid::Country));
        assert_eq!(i.answer("US", now()), Ok(Step::Complete));
    }
}
