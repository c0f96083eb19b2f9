//! Directory of police, regulators, consumer bodies and reporting sites that theft victims can escalate to, by country.

use std::collections::BTreeSet;
use std::fmt;

use serde::Deserialize;

/// The shipped data file (`data/authorities.toml` at the crate root).
const BUILTIN_TOML: &str = include_str!("../../data/authorities.toml");

/// Country code for the international fallback entries.
const INTL: &str = "INTL";
/// Pseudo-country code for entries shared by all EU member states.
const EU: &str = "EU";

/// ISO 3166-1 alpha-2 codes of the EU member states.
const EU_MEMBERS: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// Names and aliases (already normalised: lower case, no dots, single spaces) mapped to codes.
const ALIASES: &[(&str, &str)] = &[
    // Pseudo-countries.
    ("eu", EU),
    ("european union", EU),
    ("欧盟", EU),
    ("歐盟", EU),
    ("intl", INTL),
    ("international", INTL),
    ("国际", INTL),
    ("國際", INTL),
    // United States.
    ("us", "US"),
    ("usa", "US"),
    ("america", "US"),
    ("united states", "US"),
    ("united states of america", "US"),
    ("美国", "US"),
    ("美國", "US"),
    // United Kingdom.
    ("uk", "GB"),
    ("gb", "GB"),
    ("gbr", "GB"),
    ("united kingdom", "GB"),
    ("britain", "GB"),
    ("great britain", "GB"),
    ("england", "GB"),
    ("scotland", "GB"),
    ("wales", "GB"),
    ("northern ireland", "GB"),
    ("英国", "GB"),
    ("英國", "GB"),
    ("英格兰", "GB"),
    ("苏格兰", "GB"),
    ("威尔士", "GB"),
    ("北爱尔兰", "GB"),
    // China (mainland), Hong Kong, Macao, Taiwan.
    ("china", "CN"),
    ("mainland china", "CN"),
    ("prc", "CN"),
    ("people's republic of china", "CN"),
    ("peoples republic of china", "CN"),
    ("中国", "CN"),
    ("中國", "CN"),
    ("中国大陆", "CN"),
    ("中國大陸", "CN"),
    ("大陆", "CN"),
    ("内地", "CN"),
    ("中华人民共和国", "CN"),
    ("hong kong", "HK"),
    ("hongkong", "HK"),
    ("hong kong sar", "HK"),
    ("香港", "HK"),
    ("macau", "MO"),
    ("macao", "MO"),
    ("澳门", "MO"),
    ("澳門", "MO"),
    ("taiwan", "TW"),
    ("台湾", "TW"),
    ("台灣", "TW"),
    ("臺灣", "TW"),
    // Other seeded countries.
    ("singapore", "SG"),
    ("新加坡", "SG"),
    ("canada", "CA"),
    ("加拿大", "CA"),
    ("australia", "AU"),
    ("澳大利亚", "AU"),
    ("澳大利亞", "AU"),
    ("澳洲", "AU"),
    ("india", "IN"),
    ("印度", "IN"),
    ("south korea", "KR"),
    ("korea", "KR"),
    ("republic of korea", "KR"),
    ("韩国", "KR"),
    ("韓國", "KR"),
    ("南韩", "KR"),
    ("南韓", "KR"),
    ("japan", "JP"),
    ("日本", "JP"),
    // A few other common ones.
    ("new zealand", "NZ"),
    ("新西兰", "NZ"),
    ("malaysia", "MY"),
    ("马来西亚", "MY"),
    ("thailand", "TH"),
    ("泰国", "TH"),
    ("vietnam", "VN"),
    ("viet nam", "VN"),
    ("越南", "VN"),
    ("philippines", "PH"),
    ("菲律宾", "PH"),
    ("indonesia", "ID"),
    ("印度尼西亚", "ID"),
    ("印尼", "ID"),
    ("united arab emirates", "AE"),
    ("uae", "AE"),
    ("阿联酋", "AE"),
    ("switzerland", "CH"),
    ("瑞士", "CH"),
    ("norway", "NO"),
    ("挪威", "NO"),
    ("russia", "RU"),
    ("俄罗斯", "RU"),
    ("brazil", "BR"),
    ("巴西", "BR"),
    ("mexico", "MX"),
    ("墨西哥", "MX"),
    // EU member states.
    ("austria", "AT"),
    ("奥地利", "AT"),
    ("belgium", "BE"),
    ("比利时", "BE"),
    ("bulgaria", "BG"),
    ("保加利亚", "BG"),
    ("croatia", "HR"),
    ("克罗地亚", "HR"),
    ("cyprus", "CY"),
    ("塞浦路斯", "CY"),
    ("czechia", "CZ"),
    ("czech republic", "CZ"),
    ("捷克", "CZ"),
    ("denmark", "DK"),
    ("丹麦", "DK"),
    ("estonia", "EE"),
    ("爱沙尼亚", "EE"),
    ("finland", "FI"),
    ("芬兰", "FI"),
    ("france", "FR"),
    ("法国", "FR"),
    ("法國", "FR"),
    ("germany", "DE"),
    ("德国", "DE"),
    ("德國", "DE"),
    ("greece", "GR"),
    ("希腊", "GR"),
    ("hungary", "HU"),
    ("匈牙利", "HU"),
    ("ireland", "IE"),
    ("爱尔兰", "IE"),
    ("italy", "IT"),
    ("意大利", "IT"),
    ("latvia", "LV"),
    ("拉脱维亚", "LV"),
    ("lithuania", "LT"),
    ("立陶宛", "LT"),
    ("luxembourg", "LU"),
    ("卢森堡", "LU"),
    ("malta", "MT"),
    ("马耳他", "MT"),
    ("netherlands", "NL"),
    ("holland", "NL"),
    ("荷兰", "NL"),
    ("poland", "PL"),
    ("波兰", "PL"),
    ("portugal", "PT"),
    ("葡萄牙", "PT"),
    ("romania", "RO"),
    ("罗马尼亚", "RO"),
    ("slovakia", "SK"),
    ("斯洛伐克", "SK"),
    ("slovenia", "SI"),
    ("斯洛文尼亚", "SI"),
    ("spain", "ES"),
    ("西班牙", "ES"),
    ("sweden", "SE"),
    ("瑞典", "SE"),
];

/// What sort of body an authority is. The declaration order is the presentation order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum AuthorityKind {
    Police,
    Regulator,
    Consumer,
    Reporting,
}

impl AuthorityKind {
    /// The lower-case name used in the data file.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorityKind::Police => "police",
            AuthorityKind::Regulator => "regulator",
            AuthorityKind::Consumer => "consumer",
            AuthorityKind::Reporting => "reporting",
        }
    }

    fn parse(s: &str) -> Option<AuthorityKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "police" => Some(AuthorityKind::Police),
            "regulator" => Some(AuthorityKind::Regulator),
            "consumer" => Some(AuthorityKind::Consumer),
            "reporting" => Some(AuthorityKind::Reporting),
            _ => None,
        }
    }
}

/// Why a string is not a country.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CountryError {
    #[error("unrecognised country {0:?}")]
    Unrecognised(String),
}

/// An upper-case ISO 3166-1 alpha-2 code, `"EU"`, or `"INTL"` (international fallback).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String")]
pub struct Country(String);

impl Country {
    /// Parses a code (any case), a common English name or alias, or a Chinese name.
    /// Any other two-letter ASCII code is accepted as-is (upper-cased).
    pub fn parse(s: &str) -> Option<Country> {
        let normalised = normalise_name(s);
        if normalised.is_empty() {
            return None;
        }
        if let Some((_, code)) = ALIASES.iter().find(|(alias, _)| *alias == normalised) {
            return Some(Country((*code).to_owned()));
        }
        let trimmed = s.trim();
        if trimmed.len() == 2 && trimmed.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Some(Country(trimmed.to_ascii_uppercase()));
        }
        None
    }

    /// The code: upper-case alpha-2, `"EU"` or `"INTL"`.
    pub fn code(&self) -> &str {
        &self.0
    }

    /// Whether this is a member state of the European Union.
    pub fn is_eu_member(&self) -> bool {
        EU_MEMBERS.contains(&self.0.as_str())
    }

    fn is_intl(&self) -> bool {
        self.0 == INTL
    }

    fn eu() -> Country {
        Country(EU.to_owned())
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Country {
    type Error = CountryError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Country::parse(&value).ok_or(CountryError::Unrecognised(value))
    }
}

/// Lower-cases ASCII, drops dots and a leading "the", and collapses whitespace.
fn normalise_name(s: &str) -> String {
    let lowered: String = s
        .chars()
        .filter(|c| *c != '.')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let joined = lowered.split_whitespace().collect::<Vec<_>>().join(" ");
    match joined.strip_prefix("the ") {
        Some(rest) => rest.to_owned(),
        None => joined,
    }
}

/// One body a victim can report to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Authority {
    pub country: Country,
    pub name: String,
    pub name_zh: String,
    pub kind: AuthorityKind,
    pub handles: String,
    pub handles_zh: String,
    pub url: Option<String>,
    pub phone: Option<String>,
    pub languages: Vec<String>,
    pub notes: Option<String>,
    pub notes_zh: Option<String>,
}

/// A problem with one `[[authority]]` entry (or with the whole document). Developer-facing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("authority entry {index}{}: {problem}", name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default())]
pub struct EntryError {
    /// Zero-based position among the `[[authority]]` tables (0 for whole-document problems).
    pub index: usize,
    /// The entry's `name`, when it has a readable one.
    pub name: Option<String>,
    /// What is wrong.
    pub problem: String,
}

/// The kinds of problem an entry can have; rendered into [`EntryError::problem`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum EntryProblem {
    #[error("document is not valid TOML: {0}")]
    NotToml(String),
    #[error("`authority` is not an array of tables")]
    NotAnArrayOfTables,
    #[error("entry is not a table")]
    NotATable,
    #[error("malformed entry: {0}")]
    Malformed(String),
    #[error("missing or empty field `{0}`")]
    Missing(&'static str),
    #[error("unknown kind {0:?}")]
    UnknownKind(String),
    #[error("unrecognised country {0:?}")]
    BadCountry(String),
    #[error("url {0:?} does not start with https://")]
    BadUrl(String),
}

/// The entry as written in the file, before validation.
#[derive(Debug, Deserialize)]
struct RawAuthority {
    country: Option<String>,
    name: Option<String>,
    name_zh: Option<String>,
    kind: Option<String>,
    handles: Option<String>,
    handles_zh: Option<String>,
    url: Option<String>,
    phone: Option<String>,
    languages: Option<Vec<String>>,
    notes: Option<String>,
    notes_zh: Option<String>,
}

/// The whole document.
#[derive(Debug, Deserialize)]
struct RawDocument {
    #[serde(default)]
    authority: Option<toml::Value>,
}

/// Trims a string field and treats blank as absent.
fn clean(field: Option<String>) -> Option<String> {
    field.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn required(field: Option<String>, key: &'static str) -> Result<String, EntryProblem> {
    clean(field).ok_or(EntryProblem::Missing(key))
}

impl RawAuthority {
    fn validate(self) -> Result<Authority, EntryProblem> {
        let country_text = required(self.country, "country")?;
        let country =
            Country::parse(&country_text).ok_or(EntryProblem::BadCountry(country_text))?;
        let name = required(self.name, "name")?;
        let kind_text = required(self.kind, "kind")?;
        let kind = AuthorityKind::parse(&kind_text).ok_or(EntryProblem::UnknownKind(kind_text))?;
        let name_zh = required(self.name_zh, "name_zh")?;
        let handles = required(self.handles, "handles")?;
        let handles_zh = required(self.handles_zh, "handles_zh")?;
        let url = match clean(self.url) {
            Some(url) => {
                let ok = url
                    .strip_prefix("https://")
                    .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace));
                if !ok {
                    return Err(EntryProblem::BadUrl(url));
                }
                Some(url)
            }
            None => None,
        };
        let languages = self
            .languages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|l| clean(Some(l)))
            .map(|l| l.to_ascii_lowercase())
            .collect();
        Ok(Authority {
            country,
            name,
            name_zh,
            kind,
            handles,
            handles_zh,
            url,
            phone: clean(self.phone),
            languages,
            notes: clean(self.notes),
            notes_zh: clean(self.notes_zh),
        })
    }
}

/// A set of authorities, queried by country.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    /// In priority order within each kind (earlier first).
    entries: Vec<Authority>,
}

impl Directory {
    /// The file shipped in the repo (`data/authorities.toml`), embedded at compile time.
    pub fn builtin() -> (Directory, Vec<EntryError>) {
        Directory::parse(BUILTIN_TOML)
    }

    /// Parses a TOML document of `[[authority]]` tables. Broken entries are skipped and
    /// reported; the rest load. A document that is not TOML yields an empty directory and
    /// one error.
    pub fn parse(toml_text: &str) -> (Directory, Vec<EntryError>) {
        let doc: RawDocument = match toml::from_str(toml_text) {
            Ok(doc) => doc,
            Err(e) => {
                let problem = EntryProblem::NotToml(e.message().to_owned());
                return (Directory::default(), vec![entry_error(0, None, &problem)]);
            }
        };
        let items = match doc.authority {
            None => Vec::new(),
            Some(toml::Value::Array(items)) => items,
            Some(_) => {
                let problem = EntryProblem::NotAnArrayOfTables;
                return (Directory::default(), vec![entry_error(0, None, &problem)]);
            }
        };

        let mut entries = Vec::with_capacity(items.len());
        let mut errors = Vec::new();
        for (index, item) in items.into_iter().enumerate() {
            let name = item
                .get("name")
                .and_then(toml::Value::as_str)
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned);
            let result = if item.is_table() {
                item.try_into::<RawAuthority>()
                    .map_err(|e| EntryProblem::Malformed(e.message().to_owned()))
                    .and_then(RawAuthority::validate)
            } else {
                Err(EntryProblem::NotATable)
            };
            match result {
                Ok(authority) => entries.push(authority),
                Err(problem) => errors.push(entry_error(index, name, &problem)),
            }
        }
        (Directory { entries }, errors)
    }

    /// Adds entries (e.g. moderators' own from settings); they come before the existing
    /// entries of the same kind.
    pub fn extend(&mut self, other: Directory) {
        let mut entries = other.entries;
        entries.append(&mut self.entries);
        self.entries = entries;
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries for a country ordered police, regulator, consumer, reporting, followed by the
    /// international reporting entries. EU members without entries of their own get the
    /// "EU" entries. An unknown country, or one with no entries, gets all international
    /// entries (police fallback first).
    pub fn for_country(&self, country: Option<&Country>) -> Vec<&Authority> {
        let of = |c: &Country| -> Vec<&Authority> {
            self.entries.iter().filter(|a| &a.country == c).collect()
        };
        let mut own = match country {
            Some(c) if !c.is_intl() => {
                let own = of(c);
                if own.is_empty() && c.is_eu_member() {
                    of(&Country::eu())
                } else {
                    own
                }
            }
            _ => Vec::new(),
        };

        let intl = self.entries.iter().filter(|a| a.country.is_intl());
        if own.is_empty() {
            let mut all: Vec<&Authority> = intl.collect();
            all.sort_by_key(|a| a.kind);
            return all;
        }
        own.sort_by_key(|a| a.kind);
        own.extend(intl.filter(|a| a.kind == AuthorityKind::Reporting));
        own
    }

    /// Distinct countries with entries, sorted, excluding "INTL".
    pub fn countries(&self) -> Vec<Country> {
        self.entries
            .iter()
            .filter(|a| !a.country.is_intl())
            .map(|a| a.country.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }
}

fn entry_error(index: usize, name: Option<String>, problem: &EntryProblem) -> EntryError {
    EntryError {
        index,
        name,
        problem: problem.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(code: &str) -> Country {
        Country::parse(code).expect("valid country")
    }

    fn names<'a>(list: &[&'a Authority]) -> Vec<&'a str> {
        list.iter().map(|a| a.name.as_str()).collect()
    }

    fn kinds(list: &[&Authority]) -> Vec<AuthorityKind> {
        list.iter().map(|a| a.kind).collect()
    }

    fn assert_kind_order(list: &[&Authority]) {
        let k = kinds(list);
        let mut sorted = k.clone();
        sorted.sort();
        assert_eq!(k, sorted, "kinds out of order");
    }

    #[test]
    fn builtin_parses_cleanly_and_covers_all_rows() {
        let (dir, errors) = Directory::builtin();
        assert!(errors.is_empty(), "{errors:?}");
        assert!(!dir.is_empty());
        let codes: Vec<String> = dir
            .countries()
            .iter()
            .map(|c| c.code().to_owned())
            .collect();
        for code in [
            "US", "GB", "CA", "AU", "SG", "HK", "CN", "TW", "IN", "KR", "JP", "EU",
        ] {
            assert!(codes.iter().any(|c| c == code), "missing {code}");
        }
        assert!(!codes.iter().any(|c| c == "INTL"));
        assert!(dir.entries.iter().any(|a| a.country.code() == "INTL"));
        for a in &dir.entries {
            assert!(!a.name_zh.is_empty() && !a.handles_zh.is_empty());
            assert_eq!(a.notes.is_some(), a.notes_zh.is_some(), "{}", a.name);
            if let Some(url) = &a.url {
                assert!(url.starts_with("https://"));
            }
        }
        // CN has no URL for the police entry; phone 110 instead.
        let cn = dir.for_country(Some(&c("CN")));
        assert_eq!(cn[0].kind, AuthorityKind::Police);
        assert_eq!(cn[0].phone.as_deref(), Some("110"));
        assert!(cn[0].url.is_none());
    }

    #[test]
    fn us_order() {
        let (dir, _) = Directory::builtin();
        let us = dir.for_country(Some(&c("US")));
        assert_kind_order(&us);
        assert!(us[0].name.contains("IC3"));
        assert_eq!(us[0].kind, AuthorityKind::Police);
        assert_eq!(us[1].kind, AuthorityKind::Regulator);
        assert_eq!(us[2].kind, AuthorityKind::Regulator);
        assert!(us[3].name.contains("FTC"));
        assert_eq!(us[3].kind, AuthorityKind::Consumer);
        let last = us.last().expect("non-empty");
        assert_eq!(last.name, "Chainabuse");
        assert_eq!(last.country.code(), "INTL");
        assert_eq!(us.len(), 5);
    }

    #[test]
    fn eu_member_falls_back_to_eu_then_intl_reporting() {
        let (dir, _) = Directory::builtin();
        let de = dir.for_country(Some(&c("Germany")));
        assert!(!de.is_empty());
        let (eu, rest): (Vec<&Authority>, Vec<&Authority>) =
            de.iter().partition(|a| a.country.code() == "EU");
        assert!(!eu.is_empty());
        assert!(
            rest.iter()
                .all(|a| a.country.code() == "INTL" && a.kind == AuthorityKind::Reporting)
        );
        assert_eq!(de[0].country.code(), "EU");
        assert_eq!(de.last().map(|a| a.name.as_str()), Some("Chainabuse"));
    }

    #[test]
    fn unknown_country_gets_intl_with_police_fallback_first() {
        let (dir, _) = Directory::builtin();
        let none = dir.for_country(None);
        assert!(none.iter().all(|a| a.country.code() == "INTL"));
        assert_eq!(none[0].kind, AuthorityKind::Police);
        assert!(none[0].url.is_none());
        assert!(names(&none).iter().any(|n| n.contains("IC3")));
        assert_eq!(none.last().map(|a| a.name.as_str()), Some("Chainabuse"));
        assert_kind_order(&none);
        // A country with no entries at all behaves the same.
        assert_eq!(names(&dir.for_country(Some(&c("BR")))), names(&none));
        assert_eq!(names(&dir.for_country(Some(&c("INTL")))), names(&none));
    }

    const GOOD: &str = r#"
[[authority]]
country = "us"
name = "Good One"
name_zh = "好"
kind = "consumer"
handles = "h"
handles_zh = "h"
url = "https://example.org"
languages = ["EN"]
"#;

    #[test]
    fn broken_entry_is_skipped_and_reported() {
        let doc = format!(
            "{GOOD}
[[authority]]
country = \"US\"
name = \"Bad Kind\"
name_zh = \"坏\"
kind = \"sheriff\"
handles = \"h\"
handles_zh = \"h\"
languages = []

[[authority]]
country = \"US\"
name = \"Second Good\"
name_zh = \"好\"
kind = \"police\"
handles = \"h\"
handles_zh = \"h\"
phone = \"911\"
"
        );
        let (dir, errors) = Directory::parse(&doc);
        assert_eq!(dir.len(), 2);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].index, 1);
        assert_eq!(errors[0].name.as_deref(), Some("Bad Kind"));
        assert!(errors[0].problem.contains("sheriff"));
        assert!(errors[0].to_string().contains("Bad Kind"));
        let us = dir.for_country(Some(&c("US")));
        assert_eq!(names(&us), ["Second Good", "Good One"]);
        assert_eq!(us[1].languages, ["en"]);
        assert_eq!(us[1].country.code(), "US");
    }

    #[test]
    fn each_kind_of_broken_entry_is_reported() {
        let cases = [
            ("country = \"Atlantis\"", "country"),
            ("country = \"\"", "country"),
            ("kind = \"\"", "kind"),
            ("url = \"http://example.org\"", "https"),
            ("name = 7", "invalid type"),
        ];
        for (override_line, expect) in cases {
            let key = override_line.split(' ').next().unwrap_or_default();
            let entry: String = GOOD
                .lines()
                .filter(|l| !l.starts_with(&format!("{key} ")))
                .chain([override_line])
                .collect::<Vec<_>>()
                .join("\n");
            let (dir, errors) = Directory::parse(&format!("{GOOD}\n{entry}\n"));
            assert_eq!(dir.len(), 1, "{override_line}");
            assert_eq!(errors.len(), 1, "{override_line}");
            assert_eq!(errors[0].index, 1);
            assert!(
                errors[0].problem.contains(expect),
                "{override_line}: {}",
                errors[0].problem
            );
        }
        // Missing name: reported without a name.
        let no_name: String = GOOD
            .lines()
            .filter(|l| !l.starts_with("name "))
            .collect::<Vec<_>>()
            .join("\n");
        let (dir, errors) = Directory::parse(&no_name);
        assert!(dir.is_empty());
        assert_eq!(errors[0].name, None);
        assert!(errors[0].problem.contains("`name`"));
    }

    #[test]
    fn garbage_gives_empty_directory_and_one_error() {
        let (dir, errors) = Directory::parse("this is {{ not toml");
        assert!(dir.is_empty());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].index, 0);
        assert_eq!(errors[0].name, None);

        let (dir, errors) = Directory::parse("authority = 3");
        assert!(dir.is_empty());
        assert_eq!(errors.len(), 1);

        let (dir, errors) = Directory::parse("");
        assert!(dir.is_empty() && errors.is_empty());
    }

    #[test]
    fn extend_puts_new_entries_first_within_kind() {
        let (mut dir, _) = Directory::builtin();
        let before = dir.len();
        let (extra, errors) = Directory::parse(&GOOD.replace("consumer", "police"));
        assert!(errors.is_empty());
        dir.extend(extra);
        assert_eq!(dir.len(), before + 1);
        let us = dir.for_country(Some(&c("US")));
        assert_eq!(us[0].name, "Good One");
        assert!(us[1].name.contains("IC3"));
    }

    #[test]
    fn country_parse_codes() {
        for (input, code) in [
            ("us", "US"),
            ("GB", "GB"),
            (" jp ", "JP"),
            ("uk", "GB"),
            ("eu", "EU"),
            ("INTL", "INTL"),
            ("zz", "ZZ"),
        ] {
            assert_eq!(
                Country::parse(input).map(|c| c.0),
                Some(code.to_owned()),
                "{input}"
            );
        }
    }

    #[test]
    fn country_parse_english_names() {
        for (input, code) in [
            ("United States", "US"),
            ("USA", "US"),
            ("U.S.A.", "US"),
            ("the United States of America", "US"),
            ("America", "US"),
            ("United Kingdom", "GB"),
            ("Britain", "GB"),
            ("England", "GB"),
            ("Scotland", "GB"),
            ("Wales", "GB"),
            ("China", "CN"),
            ("mainland  China", "CN"),
            ("PRC", "CN"),
            ("Hong Kong", "HK"),
            ("Taiwan", "TW"),
            ("Singapore", "SG"),
            ("Canada", "CA"),
            ("Australia", "AU"),
            ("India", "IN"),
            ("South Korea", "KR"),
            ("Korea", "KR"),
            ("Japan", "JP"),
            ("Germany", "DE"),
            ("France", "FR"),
            ("Italy", "IT"),
            ("Spain", "ES"),
            ("Netherlands", "NL"),
            ("the Netherlands", "NL"),
        ] {
            assert_eq!(
                Country::parse(input).map(|c| c.0),
                Some(code.to_owned()),
                "{input}"
            );
        }
    }

    #[test]
    fn country_parse_chinese_names() {
        for (input, code) in [
            ("美国", "US"),
            ("英国", "GB"),
            ("中国", "CN"),
            ("中国大陆", "CN"),
            ("香港", "HK"),
            ("台湾", "TW"),
            ("新加坡", "SG"),
            ("加拿大", "CA"),
            ("澳大利亚", "AU"),
            ("澳洲", "AU"),
            ("印度", "IN"),
            ("韩国", "KR"),
            ("日本", "JP"),
            ("德国", "DE"),
            ("法国", "FR"),
        ] {
            assert_eq!(
                Country::parse(input).map(|c| c.0),
                Some(code.to_owned()),
                "{input}"
            );
        }
    }

    #[test]
    fn country_parse_rejects_junk() {
        for junk in ["", "  ", "12", "xyz-long", "u1", "Atlantis", "USAA", "日"] {
            assert_eq!(Country::parse(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn eu_membership() {
        assert!(c("DE").is_eu_member());
        assert!(c("France").is_eu_member());
        assert!(!c("GB").is_eu_member());
        assert!(!c("EU").is_eu_member());
        assert!(!c("INTL").is_eu_member());
    }

    #[test]
    fn serde_round_trip() {
        let (dir, _) = Directory::builtin();
        let a = dir.for_country(Some(&c("HK")))[0].clone();
        let text = toml::to_string(&a).expect("serialise");
        assert!(text.contains("country = \"HK\""));
        assert!(text.contains("kind = \"police\""));
        let back: Authority = toml::from_str(&text).expect("deserialise");
        assert_eq!(back, a);
        assert!(toml::from_str::<Authority>(&text.replace("\"HK\"", "\"Narnia\"")).is_err());
    }
}
