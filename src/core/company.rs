//! Which company a case names: the reported wallet or app folded (case, width, spaces and
//! punctuation) and looked up in the alias table (`data/companies.toml`, plus the settings'
//! file), so that "TP Wallet", "tp钱包" and "ＴｏｋｅｎＰｏｃｋｅｔ" all count as TokenPocket.

use std::collections::HashMap;

use serde::Deserialize;
use unicode_normalization::UnicodeNormalization;

/// The shipped alias table (`data/companies.toml` at the crate root).
const BUILTIN_TOML: &str = include_str!("../../data/companies.toml");

/// A company as the figures count it: `key` is what cases are grouped by, `name` how it is
/// shown.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Company {
    pub key: String,
    pub name: String,
}

/// The alias table: folded alias → the company's name.
#[derive(Debug, Clone, Default)]
pub struct Companies {
    aliases: HashMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    company: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
}

/// Case, width (full-width letters and digits), spaces and punctuation folded away: what two
/// spellings of one name share. Letters of any script are kept.
pub fn fold(name: &str) -> String {
    name.nfkc()
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

impl Companies {
    /// The shipped table. It is part of the binary, so a broken one fails the unit tests.
    pub fn builtin() -> Companies {
        let mut c = Companies::default();
        if let Err(e) = c.extend_from(BUILTIN_TOML) {
            tracing::error!(error = %e, "the shipped company table is broken");
        }
        c
    }

    /// Adds a table in the shipped file's shape; its aliases win over earlier ones.
    pub fn extend_from(&mut self, toml_text: &str) -> Result<(), String> {
        let file: File = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        for entry in file.company {
            let name = entry.name.trim().to_string();
            if fold(&name).is_empty() {
                return Err(format!("a company without a name: {:?}", entry.name));
            }
            for alias in entry.aliases.iter().chain(std::iter::once(&entry.name)) {
                let key = fold(alias);
                if !key.is_empty() {
                    self.aliases.insert(key, name.clone());
                }
            }
        }
        Ok(())
    }

    /// The company `reported` names (a wallet or app as the victim wrote it), or `None` when
    /// it names nothing. A name not in the table is its own company, shown as written.
    pub fn normalise(&self, reported: &str) -> Option<Company> {
        let folded = fold(reported);
        if folded.is_empty() {
            return None;
        }
        Some(match self.aliases.get(&folded) {
            Some(name) => Company {
                key: fold(name),
                name: name.clone(),
            },
            None => Company {
                key: folded,
                name: reported.split_whitespace().collect::<Vec<_>>().join(" "),
            },
        })
    }

    /// The company a case counts under: its reported wallet or app, else the community's.
    pub fn of_case(&self, wallet: Option<&str>, community: Option<&str>) -> Option<Company> {
        wallet
            .and_then(|w| self.normalise(w))
            .or_else(|| community.and_then(|c| self.normalise(c)))
    }

    pub fn len(&self) -> usize {
        self.aliases.len()
    }

    pub fn is_empty(&self) -> bool {
        self.aliases.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(c: &Companies, s: &str) -> String {
        c.normalise(s).unwrap().name
    }

    #[test]
    fn the_shipped_table_parses_and_folds_the_usual_spellings() {
        let mut shipped = Companies::default();
        shipped
            .extend_from(BUILTIN_TOML)
            .expect("data/companies.toml");
        let c = Companies::builtin();
        assert_eq!(c.len(), shipped.len());
        for s in [
            "TokenPocket",
            "TP Wallet",
            "tp钱包",
            "TP钱包",
            "ＴｏｋｅｎＰｏｃｋｅｔ",
            "token-pocket",
        ] {
            assert_eq!(name(&c, s), "TokenPocket", "{s}");
        }
        for s in ["imToken", "im钱包", "IMTOKEN", "im token"] {
            assert_eq!(name(&c, s), "imToken", "{s}");
        }
        for s in ["MetaMask", "小狐狸钱包", "meta-mask", "METAMASK "] {
            assert_eq!(name(&c, s), "MetaMask", "{s}");
        }
        for (s, n) in [
            ("trust wallet", "Trust Wallet"),
            ("OKX Web3 Wallet", "OKX Wallet"),
            ("币安", "Binance"),
            ("coinbase wallet", "Coinbase"),
            ("BitKeep", "Bitget Wallet"),
            ("Safe-Pal", "SafePal"),
            ("phantom wallet", "Phantom"),
        ] {
            assert_eq!(name(&c, s), n, "{s}");
        }
        // Every spelling of one company has one key.
        assert_eq!(
            c.normalise("tp钱包").unwrap().key,
            c.normalise("TokenPocket").unwrap().key
        );
    }

    #[test]
    fn an_unknown_name_is_its_own_company_and_nothing_names_none() {
        let c = Companies::builtin();
        let a = c.normalise("  Acme   Vault ").unwrap();
        let b = c.normalise("acme-vault").unwrap();
        assert_eq!(a.key, b.key, "one company however it is spelled");
        assert_eq!(a.name, "Acme Vault");
        assert_eq!(c.normalise(" -- "), None);
        assert_eq!(c.normalise(""), None);
        // The community's company stands in for a report that names none.
        assert_eq!(
            c.of_case(None, Some("TP Wallet")).unwrap().name,
            "TokenPocket"
        );
        assert_eq!(
            c.of_case(Some("im钱包"), Some("TP Wallet")).unwrap().name,
            "imToken"
        );
        assert_eq!(c.of_case(None, None), None);
    }

    #[test]
    fn a_settings_table_adds_aliases_and_wins() {
        let mut c = Companies::builtin();
        c.extend_from(
            "[[company]]\nname = \"Acme Vault\"\naliases = [\"AV\", \"艾克美钱包\"]\n\n\
             [[company]]\nname = \"TP Wallet (TokenPocket)\"\naliases = [\"TP\"]\n",
        )
        .unwrap();
        assert_eq!(name(&c, "艾克美钱包"), "Acme Vault");
        assert_eq!(name(&c, "av"), "Acme Vault");
        assert_eq!(name(&c, "tp"), "TP Wallet (TokenPocket)");
        assert!(c.extend_from("[[company]]\nname = \"--\"\n").is_err());
        assert!(c.extend_from("[[company]]\nnom = \"x\"\n").is_err());
    }
}
