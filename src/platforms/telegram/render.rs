//! Core messages in Telegram's shape: plain text (no parse mode, so nothing a user typed can
//! turn into markup and nothing needs escaping), split at Telegram's 4,096-character limit on
//! line boundaries, and buttons as an inline keyboard.

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use crate::core::message::{Button, Does};

/// Telegram's limit for one message, counted as it counts (UTF-16 code units).
pub const MAX_TEXT: usize = 4096;
/// Telegram's limit for a document's caption.
pub const MAX_CAPTION: usize = 1024;
/// Telegram's limit for a callback answer's toast or alert.
pub const MAX_NOTICE: usize = 200;

#[cfg(test)]
use crate::platforms::text::units;
pub use crate::platforms::text::{split, truncate};

/// The deep link that opens the private chat with the bot (at the report, with `start`).
pub fn deep_link(username: &str, start: Option<&str>) -> Option<url::Url> {
    let mut url = url::Url::parse(&format!("https://t.me/{username}")).ok()?;
    if let Some(s) = start {
        url.query_pairs_mut().append_pair("start", s);
    }
    Some(url)
}

/// Buttons as an inline keyboard: short labels two to a row, long ones alone. A button that
/// opens the private chat becomes a URL button with the deep link.
pub fn keyboard(buttons: &[Button], username: &str) -> Option<InlineKeyboardMarkup> {
    if buttons.is_empty() {
        return None;
    }
    let mut rows: Vec<Vec<InlineKeyboardButton>> = Vec::new();
    let short = buttons.iter().all(|b| b.label.chars().count() <= 14);
    for b in buttons {
        let button = match &b.does {
            Does::Press { token } => InlineKeyboardButton::callback(b.label.clone(), token.clone()),
            Does::OpenPrivateReport => {
                InlineKeyboardButton::url(b.label.clone(), deep_link(username, Some("report"))?)
            }
            Does::OpenPrivate => {
                InlineKeyboardButton::url(b.label.clone(), deep_link(username, None)?)
            }
            Does::Link { url } => {
                InlineKeyboardButton::url(b.label.clone(), url::Url::parse(url).ok()?)
            }
        };
        match rows.last_mut() {
            Some(row) if short && row.len() < 2 => row.push(button),
            _ => rows.push(vec![button]),
        }
    }
    Some(InlineKeyboardMarkup::new(rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_split_on_lines_and_never_inside_a_character() {
        let line = "被盗".repeat(30); // 60 units
        let text = vec![line.clone(); 100].join("\n"); // 6,099 units
        let parts = split(&text, MAX_TEXT);
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| units(p) <= MAX_TEXT));
        assert_eq!(parts.join("\n"), text);
        // One line longer than the limit is cut inside, at a character boundary.
        let emoji = "🙂".repeat(3000); // 6,000 units
        let parts = split(&emoji, MAX_TEXT);
        assert!(parts.iter().all(|p| units(p) <= MAX_TEXT));
        assert_eq!(parts.concat(), emoji);
        assert_eq!(split("short", MAX_TEXT), vec!["short"]);
        assert_eq!(split("", MAX_TEXT), vec!["."]);
    }

    #[test]
    fn truncation_and_deep_links() {
        assert_eq!(truncate("abc", 200), "abc");
        let t = truncate(&"x".repeat(300), 200);
        assert_eq!(units(&t), 200);
        assert!(t.ends_with('…'));
        assert_eq!(
            deep_link("RecourseBot", Some("report")).unwrap().as_str(),
            "https://t.me/RecourseBot?start=report"
        );
    }
}
