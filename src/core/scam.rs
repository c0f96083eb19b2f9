//! Detection of "fund recovery" / hacker-for-hire / fake-support scam messages in community channels.
//!
//! # Model
//!
//! Patterns come from a TOML document (`data/scam_patterns.toml` is built in). Each pattern has an
//! `all` list (every phrase must appear) and an optional `any` list (at least one must appear).
//!
//! # Normalisation
//!
//! Messages and phrases go through the same folding:
//! compatibility decomposition (NFKD, i.e. what NFKC does plus accent stripping: full-width and
//! "math bold" letters become ASCII, `é` becomes `e`), lower-casing, removal of zero-width and
//! other invisible format characters, a few Cyrillic/Greek look-alikes mapped to Latin, `您` → `你`,
//! and leetspeak `0→o 1→i|l 3→e 4→a 5→s @→a $→s` (`|` is treated like `1`). Everything that is
//! not a letter or digit becomes a separator; runs of separators collapse to one space, and a
//! space is also inserted between CJK and non-CJK letters.
//!
//! * A phrase containing CJK characters is matched against the message with **all spaces
//!   removed**, so `追 回`, `追-回` and `追.回` all match `追回`.
//! * Any other phrase is matched against the spaced form **at the start of a word**, open at the
//!   end: `recover` matches `recovered`/`recovery`, but `dm me` does not match inside `admin me`.
//! * `1` is ambiguous (`he1p` vs `b1tcoin`): when the message contains one, the message is scanned
//!   a second time with `1→l`, and hits of both scans are combined.
//!
//! All phrases (of all patterns and of the guard) are compiled into two Aho–Corasick automata, so
//! a check is one linear pass over the folded message (two when it contains `1`), independent of
//! the number of patterns.
//!
//! # Warning / question guard
//!
//! Moderators warn about these scams and victims ask about them using the very same words
//! ("beware of anyone offering to recover…", "有人说能帮我追回，是骗子吗？"). After a pattern matched,
//! the guard decides whether to report it:
//!
//! 1. the message **asks** whether something is legit ("is this legit", "is it a scam",
//!    "是骗子吗", "靠谱吗", …) → not reported;
//! 2. the message **warns** ("beware", "scam", "don't trust", "never", "不要相信", "骗子", "小心",
//!    …) → not reported, *unless* it also carries an **endorsement / call to action** typical of
//!    spam ("helped me", "contact him", "DM me", "帮我追回了", "加我", "私信我", …). Spammers
//!    routinely open with "Beware of fake hackers! … contact him on telegram", which stays flagged.
//!
//! Known limitation: a warning that literally quotes spam ("they say 'DM me, I can help you'")
//! is still flagged, because the quote carries the call to action.
//!
//! Traditional Chinese is not folded to Simplified; add patterns in Traditional if needed.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// The built-in pattern file.
const BUILTIN_TOML: &str = include_str!("../../data/scam_patterns.toml");

/// Questions about legitimacy: a match in such a message is never reported.
const GUARD_ASK: &[&str] = &[
    "is this a scam",
    "is it a scam",
    "is that a scam",
    "is this legit",
    "is it legit",
    "is that legit",
    "is he legit",
    "is she legit",
    "are they legit",
    "is this real",
    "is this true",
    "is this safe",
    "should i trust",
    "can i trust",
    "should i pay",
    "anyone know if",
    "has anyone used",
    "has anyone tried",
    "scam or legit",
    "legit or scam",
    "legit or not",
    "是骗子吗",
    "是不是骗子",
    "是骗局吗",
    "是不是骗局",
    "是诈骗吗",
    "是不是诈骗",
    "靠谱吗",
    "靠不靠谱",
    "可信吗",
    "能信吗",
    "可靠吗",
    "是真的吗",
    "是不是真的",
    "真的假的",
    "能相信吗",
    "该相信吗",
];

/// Warnings: a match in such a message is reported only together with an endorsement.
const GUARD_WARN: &[&str] = &[
    "beware",
    "scam",
    "don't trust",
    "dont trust",
    "do not trust",
    "not trust",
    "never",
    "careful",
    "watch out",
    "warning",
    "fake",
    "fraud",
    "phishing",
    "don't dm",
    "dont dm",
    "do not dm",
    "don't contact",
    "dont contact",
    "do not contact",
    "don't pay",
    "dont pay",
    "do not pay",
    "don't click",
    "dont click",
    "do not click",
    "don't send",
    "do not send",
    "ignore",
    "avoid",
    "not legit",
    "no legit",
    "no such thing",
    "impersonat",
    "red flag",
    "not possible",
    "impossible",
    "no one can",
    "nobody can",
    "report them",
    "report it",
    "report any",
    "不要相信",
    "别相信",
    "不要信",
    "别信",
    "不可信",
    "不能信",
    "骗子",
    "骗局",
    "防骗",
    "小心",
    "谨慎",
    "警惕",
    "当心",
    "举报",
    "不要私信",
    "不要联系",
    "不要加",
    "不要交",
    "不要付",
    "不要转",
    "别加",
    "别转",
    "别交",
    "别付",
    "冒充",
    "假冒",
    "假客服",
    "都是骗",
    "全是骗",
    "千万别",
    "千万不要",
];

/// Endorsements / calls to action that keep a warning-shaped message flagged.
const GUARD_ENDORSE: &[&str] = &[
    "helped me",
    "i recovered",
    "recovered my",
    "got back my",
    "got my funds back",
    "got my money back",
    "contact him",
    "contact her",
    "contact us",
    "contact me",
    "contact mr",
    "reach out to him",
    "reach out to her",
    "reach out to us",
    "reach out to me",
    "reach him",
    "reach her",
    "dm me",
    "pm me",
    "inbox me",
    "message me",
    "message him",
    "message her",
    "text me",
    "send me a",
    "write to him",
    "write to her",
    "gmail",
    "protonmail",
    "highly recommend",
    "i recommend",
    "recommend him",
    "recommend her",
    "i can help",
    "we can help",
    "i will help",
    "i'll help",
    "帮我追回了",
    "帮我找回了",
    "我追回了",
    "我找回了",
    "成功追回",
    "成功找回",
    "已经追回",
    "已追回",
    "全部追回",
    "联系他",
    "联系她",
    "联系我",
    "加他",
    "加我",
    "私信我",
    "私聊我",
    "微信号",
    "电报号",
    "飞机号",
    "推荐",
    "多亏",
    "感谢",
];

/// What kind of scam a pattern detects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScamCategory {
    /// "I recovered my stolen crypto with the help of …", "funds recovery expert".
    RecoveryOffer,
    /// "Ethical hacker", "hackers for hire".
    HackerService,
    /// "DM me, I can help you get your funds back".
    DmSolicitation,
    /// Impersonated support staff: "support team will assist you, click …".
    FakeSupport,
    /// "Pay a small fee to unlock your funds", "先交手续费".
    UpfrontFee,
}

impl ScamCategory {
    /// Stable snake_case key (same as the serde / TOML spelling).
    pub fn key(self) -> &'static str {
        match self {
            Self::RecoveryOffer => "recovery_offer",
            Self::HackerService => "hacker_service",
            Self::DmSolicitation => "dm_solicitation",
            Self::FakeSupport => "fake_support",
            Self::UpfrontFee => "upfront_fee",
        }
    }
}

/// A message matched a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScamMatch {
    /// The pattern's `id`.
    pub pattern: String,
    /// The pattern's category.
    pub category: ScamCategory,
}

/// A `[[pattern]]` entry that was skipped (or, with `index` 0 and no `id`, a document-level
/// problem such as invalid TOML).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scam pattern #{index} ({}): {problem}", .id.as_deref().unwrap_or("no id"))]
pub struct PatternError {
    /// Zero-based position in the `[[pattern]]` array.
    pub index: usize,
    /// The entry's `id`, when it has a readable one.
    pub id: Option<String>,
    /// What is wrong.
    pub problem: String,
}

/// A set of compiled scam patterns.
#[derive(Debug, Clone, Default)]
pub struct ScamPatterns {
    patterns: Vec<Pattern>,
    compiled: Compiled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Lang {
    En,
    Zh,
}

#[derive(Debug, Clone)]
struct Pattern {
    id: String,
    category: ScamCategory,
    #[cfg_attr(not(test), allow(dead_code))]
    lang: Lang,
    all: Vec<String>,
    any: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPattern {
    id: String,
    category: ScamCategory,
    lang: Lang,
    all: Vec<String>,
    #[serde(default)]
    any: Vec<String>,
}

impl ScamPatterns {
    /// The built-in patterns from `data/scam_patterns.toml`.
    pub fn builtin() -> (ScamPatterns, Vec<PatternError>) {
        Self::parse(BUILTIN_TOML)
    }

    /// Broken entries (unknown category, empty `all`, duplicate id) are skipped and reported; the rest load.
    ///
    /// Also skipped: unknown `lang` or keys, ids that are not snake_case, phrases that normalise
    /// to nothing, and patterns needing fewer than two signals (`all` phrases plus one for a
    /// non-empty `any`). A document that is not TOML, or whose `pattern` is not an array, gives
    /// an empty set and one error. A document without `pattern` is an empty set without errors.
    pub fn parse(toml_text: &str) -> (ScamPatterns, Vec<PatternError>) {
        let mut errors = Vec::new();
        let doc_error = |problem: String| PatternError {
            index: 0,
            id: None,
            problem,
        };
        let table: toml::Table = match toml_text.parse() {
            Ok(table) => table,
            Err(e) => {
                let problem = format!("invalid TOML: {}", e.message());
                return (ScamPatterns::default(), vec![doc_error(problem)]);
            }
        };
        let entries = match table.get("pattern") {
            None => return (ScamPatterns::default(), errors),
            Some(toml::Value::Array(entries)) => entries,
            Some(_) => {
                let problem = "`pattern` must be an array of tables ([[pattern]])".to_owned();
                return (ScamPatterns::default(), vec![doc_error(problem)]);
            }
        };

        let mut patterns: Vec<Pattern> = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            let id = entry
                .get("id")
                .and_then(toml::Value::as_str)
                .map(str::to_owned);
            let result = entry
                .clone()
                .try_into::<RawPattern>()
                .map_err(|e| e.message().to_owned())
                .and_then(validate);
            match result {
                Ok(p) if patterns.iter().any(|q| q.id == p.id) => errors.push(PatternError {
                    index,
                    id,
                    problem: format!("duplicate id `{}`", p.id),
                }),
                Ok(p) => patterns.push(p),
                Err(problem) => errors.push(PatternError { index, id, problem }),
            }
        }
        (Self::from_patterns(patterns), errors)
    }

    /// Adds `other`'s patterns after these; a pattern whose id already exists replaces the
    /// existing one in place (so a deployment file can override a built-in pattern).
    pub fn extend(&mut self, other: ScamPatterns) {
        for p in other.patterns {
            match self.patterns.iter_mut().find(|q| q.id == p.id) {
                Some(existing) => *existing = p,
                None => self.patterns.push(p),
            }
        }
        self.compiled = Compiled::build(&self.patterns);
    }

    /// Number of loaded patterns.
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    /// `true` when no pattern is loaded.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The first pattern the message matches, if any.
    pub fn check(&self, text: &str) -> Option<ScamMatch> {
        let c = &self.compiled;
        if c.rules.is_empty() {
            return None;
        }
        let mut hits = vec![false; c.phrase_count];
        let (folded, has_one) = fold(text, 'i');
        c.scan(&folded, &mut hits);
        if has_one {
            c.scan(&fold(text, 'l').0, &mut hits);
        }
        let hit = |ids: &[usize]| ids.iter().any(|&i| hits[i]);
        let index = c
            .rules
            .iter()
            .position(|r| r.all.iter().all(|&i| hits[i]) && (r.any.is_empty() || hit(&r.any)))?;
        if hit(&c.ask) || (hit(&c.warn) && !hit(&c.endorse)) {
            return None;
        }
        let p = &self.patterns[index];
        Some(ScamMatch {
            pattern: p.id.clone(),
            category: p.category,
        })
    }

    fn from_patterns(patterns: Vec<Pattern>) -> Self {
        let compiled = Compiled::build(&patterns);
        Self { patterns, compiled }
    }
}

/// Checks one deserialised entry.
fn validate(raw: RawPattern) -> Result<Pattern, String> {
    let RawPattern {
        id,
        category,
        lang,
        all,
        any,
    } = raw;
    let snake = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
    if id.is_empty() || !id.chars().all(snake) {
        return Err(format!("id `{id}` is not snake_case"));
    }
    if all.is_empty() {
        return Err("`all` is empty".to_owned());
    }
    if let Some(bad) = all
        .iter()
        .chain(&any)
        .find(|p| normalise_phrase(p).1.is_empty())
    {
        return Err(format!("phrase `{bad}` has no letters or digits"));
    }
    if all.len() + usize::from(!any.is_empty()) < 2 {
        return Err(
            "pattern needs at least two signals (two `all` phrases, or `all` + `any`)".to_owned(),
        );
    }
    Ok(Pattern {
        id,
        category,
        lang,
        all,
        any,
    })
}

/// One pattern as phrase ids.
#[derive(Debug, Clone, Default)]
struct Rule {
    all: Vec<usize>,
    any: Vec<usize>,
}

/// All phrases compiled into two automata plus the rules referring to them.
#[derive(Debug, Clone, Default)]
struct Compiled {
    /// Word-start phrases, run over the spaced form.
    spaced: Automaton,
    /// CJK phrases, run over the form without spaces.
    compact: Automaton,
    phrase_count: usize,
    rules: Vec<Rule>,
    ask: Vec<usize>,
    warn: Vec<usize>,
    endorse: Vec<usize>,
}

impl Compiled {
    fn build(patterns: &[Pattern]) -> Self {
        let mut ids: HashMap<(bool, String), usize> = HashMap::new();
        let mut spaced = Vec::new();
        let mut compact = Vec::new();
        let mut intern = |phrase: &str| -> usize {
            let key = normalise_phrase(phrase);
            let next = ids.len();
            *ids.entry(key.clone()).or_insert_with(|| {
                let (is_compact, text) = key;
                if is_compact {
                    compact.push((text, next));
                } else {
                    spaced.push((text, next));
                }
                next
            })
        };
        let mut intern_all = |list: &[String]| list.iter().map(|p| intern(p)).collect::<Vec<_>>();
        let rules = patterns
            .iter()
            .map(|p| Rule {
                all: intern_all(&p.all),
                any: intern_all(&p.any),
            })
            .collect();
        let mut guard = |list: &[&str]| list.iter().map(|p| intern(p)).collect::<Vec<_>>();
        let ask = guard(GUARD_ASK);
        let warn = guard(GUARD_WARN);
        let endorse = guard(GUARD_ENDORSE);
        Self {
            spaced: Automaton::build(&spaced),
            compact: Automaton::build(&compact),
            phrase_count: ids.len(),
            rules,
            ask,
            warn,
            endorse,
        }
    }

    fn scan(&self, folded: &str, hits: &mut [bool]) {
        self.spaced.scan(folded.chars(), hits);
        self.compact
            .scan(folded.chars().filter(|&c| c != ' '), hits);
    }
}

/// Aho–Corasick automaton over `char`s.
#[derive(Debug, Clone)]
struct Automaton {
    nodes: Vec<Node>,
}

#[derive(Debug, Clone, Default)]
struct Node {
    /// Sorted by char.
    next: Vec<(char, usize)>,
    fail: usize,
    /// Phrase ids ending here (including via the failure chain).
    out: Vec<usize>,
}

impl Default for Automaton {
    fn default() -> Self {
        Self {
            nodes: vec![Node::default()],
        }
    }
}

impl Automaton {
    fn goto(&self, state: usize, c: char) -> Option<usize> {
        let next = &self.nodes[state].next;
        next.binary_search_by_key(&c, |&(k, _)| k)
            .ok()
            .map(|i| next[i].1)
    }

    fn build(phrases: &[(String, usize)]) -> Self {
        let mut a = Self::default();
        for (text, id) in phrases {
            let mut state = 0;
            for c in text.chars() {
                state = match a.goto(state, c) {
                    Some(n) => n,
                    None => {
                        let n = a.nodes.len();
                        a.nodes.push(Node::default());
                        let next = &mut a.nodes[state].next;
                        let pos = next.partition_point(|&(k, _)| k < c);
                        next.insert(pos, (c, n));
                        n
                    }
                };
            }
            a.nodes[state].out.push(*id);
        }
        // Breadth-first failure links; children of the root fail to the root.
        let mut queue =
            std::collections::VecDeque::from_iter(a.nodes[0].next.iter().map(|&(_, n)| n));
        while let Some(u) = queue.pop_front() {
            let children = a.nodes[u].next.clone();
            for (c, v) in children {
                let mut f = a.nodes[u].fail;
                let target = loop {
                    if let Some(n) = a.goto(f, c) {
                        break n;
                    }
                    if f == 0 {
                        break 0;
                    }
                    f = a.nodes[f].fail;
                };
                a.nodes[v].fail = target;
                let inherited = a.nodes[target].out.clone();
                a.nodes[v].out.extend(inherited);
                queue.push_back(v);
            }
        }
        a
    }

    fn scan(&self, chars: impl Iterator<Item = char>, hits: &mut [bool]) {
        if self.nodes.len() <= 1 {
            return;
        }
        let mut state = 0;
        for c in chars {
            state = loop {
                if let Some(n) = self.goto(state, c) {
                    break n;
                }
                if state == 0 {
                    break 0;
                }
                state = self.nodes[state].fail;
            };
            for &id in &self.nodes[state].out {
                hits[id] = true;
            }
        }
    }
}

/// `(matched without spaces, folded phrase)`; word-start phrases keep their leading space.
fn normalise_phrase(phrase: &str) -> (bool, String) {
    let (folded, _) = fold(phrase, 'i');
    if folded.chars().any(is_cjk) {
        (true, folded.chars().filter(|&c| c != ' ').collect())
    } else if folded.trim().is_empty() {
        (false, String::new())
    } else {
        (false, folded.trim_end().to_owned())
    }
}

/// Folds text to the spaced matching form: starts and ends with a space, single spaces between
/// runs of letters/digits. `one` is what `1` and `|` become. Also returns whether one was seen.
fn fold(text: &str, one: char) -> (String, bool) {
    let mut out = String::with_capacity(text.len() + 2);
    out.push(' ');
    let mut seen_one = false;
    let mut last_cjk: Option<bool> = None;
    let mut push = |c: char| {
        if is_combining_mark(c) || is_invisible(c) {
            return;
        }
        let c = match c {
            '1' | '|' => {
                seen_one = true;
                one
            }
            other => fold_char(other),
        };
        if c.is_alphanumeric() {
            let cjk = is_cjk(c);
            if last_cjk.is_some_and(|l| l != cjk) && !out.ends_with(' ') {
                out.push(' ');
            }
            last_cjk = Some(cjk);
            out.push(c);
        } else if !out.ends_with(' ') {
            out.push(' ');
        }
    };
    // Per-character NFKD is enough: combining marks are dropped, so canonical reordering
    // across characters cannot change the result.
    for c in text.chars() {
        if c.is_ascii() {
            push(c.to_ascii_lowercase());
        } else {
            decompose_compatible(c, |d| d.to_lowercase().for_each(&mut push));
        }
    }
    if !out.ends_with(' ') {
        out.push(' ');
    }
    (out, seen_one)
}

/// Leetspeak, look-alike letters and variant CJK forms.
fn fold_char(c: char) -> char {
    match c {
        '0' => 'o',
        '3' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        // Cyrillic look-alikes (already lower-cased).
        'а' => 'a',
        'е' | 'ё' => 'e',
        'о' => 'o',
        'р' => 'p',
        'с' => 'c',
        'у' => 'y',
        'х' => 'x',
        'і' => 'i',
        'ј' => 'j',
        'ѕ' => 's',
        'к' => 'k',
        'ԁ' => 'd',
        // Greek look-alikes.
        'α' => 'a',
        'ο' => 'o',
        'ι' => 'i',
        'κ' => 'k',
        'ν' => 'v',
        'ρ' => 'p',
        'υ' => 'u',
        '您' => '你',
        other => other,
    }
}

/// Zero-width and other invisible format characters spammers insert inside words.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

/// Han, kana and hangul: scripts written without spaces between words.
fn is_cjk(c: char) -> bool {
    matches!(
        c,
        '\u{3040}'..='\u{30FF}'
            | '\u{3400}'..='\u{4DBF}'
            | '\u{4E00}'..='\u{9FFF}'
            | '\u{AC00}'..='\u{D7AF}'
            | '\u{F900}'..='\u{FAFF}'
            | '\u{20000}'..='\u{323AF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ScamCategory::*;

    fn builtin() -> ScamPatterns {
        let (set, errors) = ScamPatterns::builtin();
        assert!(errors.is_empty(), "builtin errors: {errors:?}");
        set
    }

    /// Realistic spam → category of the first matching builtin pattern.
    const SPAM: &[(&str, ScamCategory)] = &[
        // English
        (
            "I recovered my stolen crypto with the help of Mr. Adams, he is the best in the business",
            RecoveryOffer,
        ),
        (
            "Big thanks to CyberTrace Pro who helped me recover my lost bitcoin within 48 hours!!",
            RecoveryOffer,
        ),
        (
            "This guy helped me get back all my scammed USDT, you won't regret it",
            RecoveryOffer,
        ),
        (
            "If you need to recover anything just contact him on telegram, he is fast",
            RecoveryOffer,
        ),
        (
            "Funds recovery expert available 24/7, contact via telegram",
            RecoveryOffer,
        ),
        (
            "Our crypto recovery specialist team gets results fast",
            RecoveryOffer,
        ),
        (
            "You can recover your lost or stolen crypto today, 100% guaranteed",
            RecoveryOffer,
        ),
        (
            "We recover lost or stolen crypto for victims worldwide",
            RecoveryOffer,
        ),
        (
            "Get everything back. We handle recovery, pay only after successful recovery",
            RecoveryOffer,
        ),
        (
            "Hire an ethical hacker to trace and retrieve your funds",
            HackerService,
        ),
        (
            "Looking for a legit hacker? I know the best hacker in the game",
            HackerService,
        ),
        (
            "I recommend this hacker, he recovered my wallet in 2 days",
            HackerService,
        ),
        ("DM me I can help you get your funds back", DmSolicitation),
        (
            "pm me for assistance, I've sorted this for dozens of people",
            DmSolicitation,
        ),
        ("Inbox me, I will help you with that", DmSolicitation),
        (
            "Same happened to me last year. Message me, I got you",
            DmSolicitation,
        ),
        ("send me a message for help", DmSolicitation),
        ("contact me on telegram for help bro", DmSolicitation),
        (
            "Our support team will assist you, click the link below to open a ticket",
            FakeSupport,
        ),
        (
            "Hello, this is the support desk. Kindly message the live chat",
            FakeSupport,
        ),
        (
            "Admin here: validate your wallet via the secure dapp to restore access",
            FakeSupport,
        ),
        (
            "You just need to pay a small fee to unlock your funds",
            UpfrontFee,
        ),
        (
            "You will pay a processing fee before we send the coins back",
            UpfrontFee,
        ),
        // Chinese
        ("专业追回被盗资金，成功率高，联系我", RecoveryOffer),
        ("我们团队可以帮你找回被盗币，24小时在线", RecoveryOffer),
        ("别担心，我可以帮你追回全部损失", RecoveryOffer),
        ("帮您找回被盗的USDT，放心", RecoveryOffer),
        ("多亏王老师帮我追回了被盗的USDT，推荐给大家", RecoveryOffer),
        ("感谢这位大神帮我找回了丢失的比特币", RecoveryOffer),
        ("专业追款，被骗资金全额返还，联系我们", RecoveryOffer),
        ("资深团队专业追损，不成功不收费", RecoveryOffer),
        ("我们可以帮你挽回损失", RecoveryOffer),
        ("顶级黑客团队，专业追回各类链上资产", HackerService),
        ("找黑客找回丢失的币，专业可靠", HackerService),
        ("白帽黑客接单，链上追踪、钱包破解", HackerService),
        ("遇到同样情况的朋友私信我，我帮你解决", DmSolicitation),
        ("币没了？私聊我，免费分析", DmSolicitation),
        ("被盗的币能追回，加我微信 abc123", DmSolicitation),
        ("钱包被盗可找回，有需要的加我电报", DmSolicitation),
        ("先交手续费，资金马上到账", UpfrontFee),
        ("缴纳保证金即可提现", UpfrontFee),
        ("交500U解冻费即可提现", UpfrontFee),
        ("您好，我是官方客服专员，请点击链接验证钱包", FakeSupport),
        ("官方客服在线，点击链接处理冻结问题", FakeSupport),
        ("我是交易所客服，你的账户异常，请加我处理", FakeSupport),
    ];

    /// Ordinary messages, victims, moderators' warnings and victims' questions.
    const HAM: &[&str] = &[
        "my wallet was drained, I need to recover what's left",
        "support hasn't replied, how do I recover my account?",
        "beware of anyone who DMs you offering recovery — it's a scam",
        "Someone on telegram says he is a recovery expert and can get my BTC back. Is this legit?",
        "Reminder: there is no such thing as a legit crypto recovery service. Don't pay anyone.",
        "Don't trust anyone who says they can recover your stolen funds for a fee",
        "Mods will never DM you first. Report any account that does.",
        "gm everyone, what's the best hardware wallet for a beginner?",
        "I reported the theft to the police and to the exchange, they froze part of the funds",
        "The hacker moved everything through a mixer, can anyone help me trace it?",
        "Thanks mods, the guide helped me a lot",
        "Please DM the moderators only through the official ticket bot",
        "Has anyone used Chainalysis reports for a police case?",
        "Lost 2 ETH to a phishing link last night, feeling terrible",
        "Can I recover my seed phrase if I only have 11 words?",
        "Gas fees are crazy today, paid a $40 fee to swap",
        "If someone offers to help you recover your crypto for a small fee, ignore them",
        "Anyone recovered funds after an approval exploit? With the help of revoke.cash I stopped further losses",
        "The recovery service on the exchange site helped me get my account back",
        "Has anyone tried those recovery companies? I'm desperate",
        "Please don't DM anyone offering help. Mods only post in this channel.",
        "我的钱包被盗了，客服一直不回复，怎么办？",
        "感谢管理员帮我找回了账号",
        "我被盗了三万U，报警了也没用，有没有办法追回？",
        "有人说能帮我追回，是骗子吗？",
        "有人私信我说能帮我追回，是骗子吗？",
        "不要相信任何私信说能帮你追回的人",
        "小心那些自称黑客能追回被盗资金的人，全是骗子",
        "今天比特币又涨了，大家怎么看？",
        "被盗的币还能追回吗？已经报警了",
        "管理员不会主动私信你，请注意防骗",
        "交易所客服让我提交工单，等了三天了",
    ];

    #[test]
    fn builtin_loads_with_enough_patterns_per_language() {
        let set = builtin();
        let en = set.patterns.iter().filter(|p| p.lang == Lang::En).count();
        let zh = set.patterns.iter().filter(|p| p.lang == Lang::Zh).count();
        assert!(en >= 15 && zh >= 15, "en {en}, zh {zh}");
        assert_eq!(set.len(), en + zh);
        assert!(!set.is_empty());
    }

    #[test]
    fn spam_samples_match_expected_category() {
        let set = builtin();
        for &(sample, expected) in SPAM {
            let m = set.check(sample);
            assert_eq!(
                m.as_ref().map(|m| m.category),
                Some(expected),
                "{sample:?} → {m:?}"
            );
        }
    }

    #[test]
    fn every_builtin_pattern_matches_some_sample() {
        let set = builtin();
        for p in &set.patterns {
            let single = ScamPatterns::from_patterns(vec![p.clone()]);
            let hit = SPAM.iter().find(|(s, _)| single.check(s).is_some());
            let Some((sample, _)) = hit else {
                panic!("pattern {} matches no spam sample", p.id);
            };
            assert_eq!(single.check(sample).map(|m| m.category), Some(p.category));
        }
    }

    #[test]
    fn ordinary_messages_do_not_match() {
        let set = builtin();
        assert!(HAM.len() >= 15);
        for msg in HAM {
            assert_eq!(set.check(msg), None, "{msg:?}");
        }
    }

    #[test]
    fn obfuscated_variants_still_match() {
        let set = builtin();
        let cases: &[(&str, &str)] = &[
            (
                "I r3c0vered my st0len crypt0 with the h3lp of Mr. Adams",
                "en_recovered_with_help_of",
            ),
            // `1` as both `l` and `i` in one message.
            (
                "He he1ped me rec0ver my 1ost b1tcoin",
                "en_helped_me_recover",
            ),
            ("DM m3, I c4n h3lp y0u", "en_dm_me"),
            ("D\u{200B}M me, I can help you", "en_dm_me"),
            ("ＤＭ ｍｅ，Ｉ ｃａｎ ｈｅｌｐ ｙｏｕ", "en_dm_me"),
            (
                "h\u{0456}re an eth\u{0456}cal h\u{0430}cker",
                "en_ethical_hacker",
            ),
            ("𝐞𝐭𝐡𝐢𝐜𝐚𝐥 𝐡𝐚𝐜𝐤𝐞𝐫 𝐜𝐨𝐧𝐭𝐚𝐜𝐭 𝐧𝐨𝐰", "en_ethical_hacker"),
            ("pay a $mall fee to unl0ck", "en_small_fee"),
            ("Éthical hàcker for crypto", "en_ethical_hacker"),
            ("追 回 被 盗 资 金，专 业 团 队", "zh_zhuihui_beidao"),
            ("追-回被-盗，联.系.我", "zh_zhuihui_beidao"),
            ("私❤信❤我，帮你搞定", "zh_dm_me"),
            ("先 交 手 续 费", "zh_prepay_fee"),
        ];
        for (msg, id) in cases {
            assert_eq!(
                set.check(msg).map(|m| m.pattern),
                Some((*id).to_owned()),
                "{msg:?}"
            );
        }
    }

    #[test]
    fn warning_shaped_spam_stays_flagged() {
        let set = builtin();
        let spam = [
            "Beware of fake hackers! I got scammed twice until this hacker helped me recover my lost BTC",
            "Got scammed? DM me I can help you get your funds back",
            "小心骗子！我被骗后是王老师帮我追回了，推荐",
        ];
        for msg in spam {
            assert!(set.check(msg).is_some(), "{msg:?}");
        }
    }

    #[test]
    fn word_start_matching_and_folding() {
        let (folded, one) = fold("Ｒ3c0ver-ME!!  追 回", 'i');
        assert_eq!(folded, " recover me 追 回 ");
        assert!(!one);
        assert_eq!(fold("被盗的usdt", 'i').0, " 被盗的 usdt ");
        assert_eq!(normalise_phrase("追 - 回"), (true, "追回".to_owned()));
        assert_eq!(normalise_phrase("DM me"), (false, " dm me".to_owned()));
        let toml = r#"
            [[pattern]]
            id = "t"
            category = "dm_solicitation"
            lang = "en"
            all = ["dm me", "help"]
        "#;
        let (set, errors) = ScamPatterns::parse(toml);
        assert!(errors.is_empty());
        assert!(set.check("admin me help").is_none());
        assert!(set.check("dm me for help").is_some());
    }

    #[test]
    fn broken_entries_are_reported_and_the_rest_load() {
        let toml = r#"
            [[pattern]]
            id = "good_one"
            category = "recovery_offer"
            lang = "en"
            all = ["alpha", "beta"]

            [[pattern]]
            id = "bad_category"
            category = "lottery"
            lang = "en"
            all = ["alpha", "gamma"]

            [[pattern]]
            id = "empty_all"
            category = "upfront_fee"
            lang = "en"
            all = []
            any = ["x"]

            [[pattern]]
            id = "good_one"
            category = "fake_support"
            lang = "en"
            all = ["delta", "epsilon"]

            [[pattern]]
            id = "one_signal"
            category = "fake_support"
            lang = "zh"
            all = ["追回"]

            [[pattern]]
            category = "fake_support"
            lang = "en"
            all = ["no", "id"]

            [[pattern]]
            id = "typo_key"
            category = "fake_support"
            lang = "en"
            all = ["zeta"]
            anny = ["eta"]

            [[pattern]]
            id = "good_two"
            category = "hacker_service"
            lang = "zh"
            all = ["黑客"]
            any = ["接单"]
        "#;
        let (set, errors) = ScamPatterns::parse(toml);
        assert_eq!(set.len(), 2);
        let got: Vec<(usize, Option<&str>)> =
            errors.iter().map(|e| (e.index, e.id.as_deref())).collect();
        assert_eq!(
            got,
            vec![
                (1, Some("bad_category")),
                (2, Some("empty_all")),
                (3, Some("good_one")),
                (4, Some("one_signal")),
                (5, None),
                (6, Some("typo_key")),
            ]
        );
        assert!(
            errors[0].problem.contains("lottery"),
            "{}",
            errors[0].problem
        );
        assert!(errors[2].problem.contains("duplicate"));
        assert!(errors[0].to_string().contains("bad_category"));
        let m = set.check("alpha and beta");
        assert_eq!(
            m.map(|m| (m.pattern, m.category)),
            Some(("good_one".to_owned(), RecoveryOffer))
        );
        assert_eq!(
            set.check("黑 客接单").map(|m| m.category),
            Some(HackerService)
        );
    }

    #[test]
    fn garbage_document_gives_empty_set_and_one_error() {
        let (set, errors) = ScamPatterns::parse("this is [[not toml");
        assert!(set.is_empty());
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].index, errors[0].id.as_deref()), (0, None));
        let (set, errors) = ScamPatterns::parse("pattern = 3");
        assert!(set.is_empty());
        assert_eq!(errors.len(), 1);
        let (set, errors) = ScamPatterns::parse("");
        assert!(set.is_empty() && errors.is_empty());
        assert_eq!(set.check("DM me I can help you"), None);
        assert_eq!(ScamPatterns::default().check("DM me I can help you"), None);
    }

    #[test]
    fn extend_appends_and_overrides() {
        let mut set = builtin();
        let before = set.len();
        let extra = r#"
            [[pattern]]
            id = "en_dm_me"
            category = "fake_support"
            lang = "en"
            all = ["dm me", "help you"]

            [[pattern]]
            id = "custom_airdrop"
            category = "fake_support"
            lang = "en"
            all = ["claim", "airdrop"]
        "#;
        let (extra, errors) = ScamPatterns::parse(extra);
        assert!(errors.is_empty());
        set.extend(extra);
        assert_eq!(set.len(), before + 1);
        assert_eq!(
            set.check("DM me I can help you").map(|m| m.category),
            Some(FakeSupport)
        );
        assert_eq!(
            set.check("claim your airdrop now").map(|m| m.pattern),
            Some("custom_airdrop".to_owned())
        );
    }

    #[test]
    fn category_keys_match_serde() {
        for c in [
            RecoveryOffer,
            HackerService,
            DmSolicitation,
            FakeSupport,
            UpfrontFee,
        ] {
            let v = toml::Value::try_from(c).map(|v| v.as_str().map(str::to_owned));
            assert_eq!(v, Ok(Some(c.key().to_owned())));
        }
    }

    #[test]
    fn long_adversarial_messages_are_fine() {
        let set = builtin();
        let long_en = "recover ".repeat(600) + &"1".repeat(1000);
        let long_zh = "追".repeat(4000);
        let mixed = "a追1@".repeat(1000);
        for msg in [long_en.as_str(), long_zh.as_str(), mixed.as_str()] {
            assert_eq!(set.check(msg), None);
        }
        let spam = "bla ".repeat(1000) + "DM me I can help you";
        assert!(set.check(&spam).is_some());
    }
}
