//! What the community decided, handed to the core as plain values: who the community is, how
//! recovery-scam messages are treated, and where moderator and public posts go. Built from the
//! settings in `app.rs`; the core never reads a settings file itself.

use serde::Deserialize;

use crate::core::identity::Platform;

/// The community the bot serves (the `[community]` settings).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Community {
    /// The community's name, as public posts sign it (default: "this community").
    pub name: Option<String>,
    /// The wallet or company whose users the community helps (default: the wallet the victim
    /// names, else "your wallet provider").
    pub company: Option<String>,
    /// Where the company's support can be reached; shown in checklists and letters.
    pub support_email: Option<String>,
    pub support_url: Option<String>,
    pub support_social: Option<String>,
    /// Language of public posts; defaults to `default_locale`.
    pub public_locale: Option<crate::core::identity::Locale>,
}

/// What happens to a community message flagged as a recovery scam.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScamPolicy {
    /// Delete it (where the bot may). Moderators are alerted either way.
    pub delete: bool,
    /// Answer it in the channel with a short warning.
    pub warn_in_channel: bool,
}

impl Default for ScamPolicy {
    fn default() -> Self {
        ScamPolicy {
            delete: false,
            warn_in_channel: true,
        }
    }
}

/// The platforms that have a moderators' destination and a public destination configured.
/// A message to the moderators (or the public) is written once per platform listed here, each
/// its own outbox row, so a retry on one platform never repeats the post on another. With
/// none listed (the console, `serve` without adapters) one row goes to no platform in
/// particular: the console prints it, `serve` logs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Destinations {
    pub moderators: Vec<Platform>,
    pub public: Vec<Platform>,
}
