//! The Discord adapter. So far its outbox side: [`sink`] posts, edits and deletes what the
//! outbox hands it through Discord's REST API, with Discord's rate limits read from its
//! headers. The gateway side (slash commands, the report form, case threads, the moderator
//! channel's buttons) comes on top of the same contract.

pub mod render;
pub mod sink;

pub use sink::DiscordSink;
