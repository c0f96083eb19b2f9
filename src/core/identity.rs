//! Who is talking and where: typed platform identities, chats, message references and actors.

use serde::{Deserialize, Serialize};

/// The platforms Recourse speaks on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Console,
    Discord,
    Telegram,
}

impl Platform {
    pub fn key(self) -> &'static str {
        match self {
            Platform::Console => "console",
            Platform::Discord => "discord",
            Platform::Telegram => "telegram",
        }
    }

    pub fn parse(s: &str) -> Option<Platform> {
        match s {
            "console" => Some(Platform::Console),
            "discord" => Some(Platform::Discord),
            "telegram" => Some(Platform::Telegram),
            _ => None,
        }
    }
}

/// A person on one platform. The console names people by the name given to `/as`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "platform", content = "id", rename_all = "lowercase")]
pub enum UserRef {
    Console(String),
    Discord(u64),
    Telegram(i64),
}

impl UserRef {
    pub fn platform(&self) -> Platform {
        match self {
            UserRef::Console(_) => Platform::Console,
            UserRef::Discord(_) => Platform::Discord,
            UserRef::Telegram(_) => Platform::Telegram,
        }
    }

    /// The platform-local identifier, as the store indexes it next to the platform.
    pub fn local_id(&self) -> String {
        match self {
            UserRef::Console(name) => name.clone(),
            UserRef::Discord(id) => id.to_string(),
            UserRef::Telegram(id) => id.to_string(),
        }
    }
}

/// A conversation: a channel, group or private chat.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "platform", rename_all = "lowercase")]
pub enum ChatRef {
    Console,
    /// The console's stand-in for a community channel (`/channel <text>`).
    ConsoleChannel,
    Discord {
        channel: u64,
    },
    Telegram {
        chat: i64,
    },
}

impl ChatRef {
    pub fn platform(&self) -> Platform {
        match self {
            ChatRef::Console | ChatRef::ConsoleChannel => Platform::Console,
            ChatRef::Discord { .. } => Platform::Discord,
            ChatRef::Telegram { .. } => Platform::Telegram,
        }
    }
}

/// A message a platform accepted, kept so that it can be edited or deleted later. The outbox
/// stores one with every row it sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "platform", rename_all = "lowercase")]
pub enum MessageRef {
    Console { line: u64 },
    Discord { channel: u64, message: u64 },
    Telegram { chat: i64, message: i32 },
}

/// The person behind a command, as the adapter established it from trusted platform data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user: UserRef,
    pub name: String,
    pub moderator: bool,
}

/// Who did something, as the timeline records it. `user: None` is Recourse itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorRecord {
    pub user: Option<UserRef>,
    pub name: String,
    #[serde(default)]
    pub moderator: bool,
}

impl ActorRecord {
    pub fn system() -> ActorRecord {
        ActorRecord {
            user: None,
            name: "Recourse".to_string(),
            moderator: false,
        }
    }

    pub fn is_system(&self) -> bool {
        self.user.is_none()
    }
}

impl From<&Actor> for ActorRecord {
    fn from(a: &Actor) -> Self {
        ActorRecord {
            user: Some(a.user.clone()),
            name: a.name.clone(),
            moderator: a.moderator,
        }
    }
}

/// Languages every user-facing word exists in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    #[default]
    En,
    Zh,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::Zh];

    pub fn key(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Zh => "zh",
        }
    }

    /// The language of what someone wrote, where the text says: any Han character is Chinese;
    /// three or more Latin words (letters only, so hashes, tickers and case IDs do not count)
    /// are English; a command's name is not a word. Anything else says nothing.
    pub fn of_text(text: &str) -> Option<Locale> {
        let text = text.trim();
        if text.chars().any(is_han) {
            return Some(Locale::Zh);
        }
        let body = match text.strip_prefix('/') {
            Some(cmd) => cmd.split_once(char::is_whitespace).map_or("", |(_, r)| r),
            None => text,
        };
        let words = body
            .split_whitespace()
            .map(|w| w.trim_matches(|c: char| c.is_ascii_punctuation()))
            .filter(|w| {
                w.len() >= 2
                    && w.chars().all(|c| c.is_ascii_alphabetic() || c == '\'')
                    && w.chars().any(|c| c.is_ascii_lowercase())
            })
            .count();
        (words >= 3).then_some(Locale::En)
    }

    /// Accepts codes (`en`, `zh`, `zh-CN`, `zh-hans`), names and the intake's numbered choices.
    pub fn parse(s: &str) -> Option<Locale> {
        let s = s.trim().to_lowercase();
        match s.as_str() {
            "1" | "en" | "english" | "英文" | "英语" => Some(Locale::En),
            "2" | "zh" | "cn" | "chinese" | "中文" | "简体中文" | "汉语" => {
                Some(Locale::Zh)
            }
            _ if s.starts_with("en-") || s.starts_with("en_") => Some(Locale::En),
            _ if s.starts_with("zh-") || s.starts_with("zh_") => Some(Locale::Zh),
            _ => None,
        }
    }
}

/// CJK Unified Ideographs, their extension A and the compatibility block: enough to tell
/// Chinese from everything else the bot is written to.
fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_of_what_was_written() {
        assert_eq!(Locale::of_text("我的钱包被盗了，怎么办"), Some(Locale::Zh));
        assert_eq!(Locale::of_text("USDT被盗"), Some(Locale::Zh));
        assert_eq!(Locale::of_text("my wallet got drained"), Some(Locale::En));
        assert_eq!(
            Locale::of_text("/contacted email to their support team"),
            Some(Locale::En)
        );
        // No signal: a command alone, a hash, an amount, a case ID.
        for none in [
            "/status",
            "2.5 ETH",
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "RC-7K3MQ-9XT2H",
            "ok",
            "",
        ] {
            assert_eq!(Locale::of_text(none), None, "{none}");
        }
    }
}
