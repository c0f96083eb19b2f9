//! Messages in and out of the core: what a platform hands the engine, and what the engine
//! asks to be sent (always through the outbox).

use serde::{Deserialize, Serialize};

use crate::core::case::CaseId;
use crate::core::identity::{Actor, ChatRef, UserRef};

/// A message a person sent, as the adapter translated it.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub actor: Actor,
    pub chat: ChatRef,
    /// True for a private chat with the bot; false in a community channel or group.
    pub private: bool,
    pub text: String,
    /// A link to the message on its platform, for moderators (none in the console).
    pub link: Option<String>,
    /// The language the platform reports for the sender, used until they choose one.
    pub locale_hint: Option<crate::core::identity::Locale>,
}

/// Where an outgoing message goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum Recipient {
    /// Back into the conversation a command came from.
    Chat { chat: ChatRef },
    /// Privately to one person.
    User { user: UserRef },
    /// The moderators' channel on every platform.
    Moderators,
    /// The community's public channel.
    Public,
    /// The outgoing webhook (`webhook.url`). The message's text is the JSON payload, exactly
    /// as it is signed and sent (see [`crate::core::webhook`]).
    Webhook,
}

impl Recipient {
    /// A stable one-word name for the timeline (`delivery_failed`) and logs.
    pub fn key(&self) -> &'static str {
        match self {
            Recipient::Chat { .. } => "chat",
            Recipient::User { .. } => "user",
            Recipient::Moderators => "moderators",
            Recipient::Public => "public",
            Recipient::Webhook => "webhook",
        }
    }
}

/// A file sent with a message (the case dossier).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub content: String,
}

/// A message to send. `key` makes sending idempotent: the outbox holds one row per key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub key: String,
    pub case_id: Option<CaseId>,
    pub to: Recipient,
    pub text: String,
    pub attachment: Option<Attachment>,
}

impl Outgoing {
    /// A message with a fresh random key (replies; each is its own message).
    pub fn fresh(case_id: Option<CaseId>, to: Recipient, text: String) -> Outgoing {
        Outgoing {
            key: format!("m:{:032x}", rand::random::<u128>()),
            case_id,
            to,
            text,
            attachment: None,
        }
    }
}
