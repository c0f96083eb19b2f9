//! The adapter contract: what a platform hands the engine ([`Incoming`]: free text, a typed
//! command, or a button press), and what the engine asks to be sent ([`Outgoing`]: text, buttons,
//! where it goes, whether it answers the input in hand, whether it edits an earlier message).
//!
//! Every outgoing message is written to the outbox in the same transaction as the change that
//! caused it. Answers to the input in hand ([`Outgoing::is_answer`]) are written leased, handed
//! back in [`crate::core::engine::Handled`] and sent by the adapter where the user is (a reply,
//! an edited button message, an interaction response); the adapter then reports the result
//! with [`crate::core::engine::Engine::answered`]. If it cannot (a crash, a platform error),
//! the lease runs out and the outbox sends the answer as an ordinary message.

use serde::{Deserialize, Serialize};

use crate::core::case::CaseId;
use crate::core::command::Command;
use crate::core::identity::{Actor, ChatRef, Locale, MessageRef, Platform, UserRef};

/// What a person did, as the adapter translated it. Nothing here is trusted beyond what the
/// adapter established from platform data (who the actor is and whether they moderate).
#[derive(Debug, Clone)]
pub struct Incoming {
    pub actor: Actor,
    pub chat: ChatRef,
    /// Who else sees the answer; the adapter knows from the platform.
    pub place: Place,
    pub input: Input,
    /// The platform's ID of this input (`telegram:<update id>`, a Discord interaction ID),
    /// when it has one: a redelivered input with the same ID is handled once.
    pub id: Option<String>,
    /// The message in hand on its platform (the message typed, or the one a pressed button is
    /// on), so that an answer can reply to it or edit it.
    pub message: Option<MessageRef>,
    /// A link to the message on its platform, for moderators (none in the console).
    pub link: Option<String>,
    /// The language the platform reports for the sender, used until they choose one (after
    /// the language of what they write).
    pub locale_hint: Option<Locale>,
}

/// Where the conversation is, as far as who reads the answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Only the sender sees the answer: a private chat with the bot, or an interaction
    /// answered ephemerally.
    Private,
    /// A community channel or group: everybody reads it. Nothing about a case is answered
    /// here, and no report is taken.
    Community,
    /// The moderators' own channel or group.
    Moderators,
}

/// The three ways in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Whatever was typed: parsed by the same parser the console uses.
    Text(String),
    /// A command the platform already structured (a slash command with options).
    Command(Command),
    /// A button pressed: the opaque token the core put on it ([`crate::core::action`]). It
    /// carries no authority: the core decodes it, checks it is still current, and checks the
    /// presser's rights again.
    Press(String),
}

impl Incoming {
    pub fn private(&self) -> bool {
        self.place == Place::Private
    }

    /// The typed text, or "" for structured input.
    pub fn text(&self) -> &str {
        match &self.input {
            Input::Text(t) => t,
            _ => "",
        }
    }
}

/// Where an outgoing message goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum Recipient {
    /// Into a conversation (the one a command came from, or a case's home chat).
    Chat { chat: ChatRef },
    /// Privately to one person.
    User { user: UserRef },
    /// The moderators' channel. Decisions say `platform: None` ("the moderators"); the engine
    /// writes one row per configured platform ([`crate::core::policy::Destinations`]).
    Moderators {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        platform: Option<Platform>,
    },
    /// The community's public channel, likewise one row per platform.
    Public {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        platform: Option<Platform>,
    },
    /// The outgoing webhook (`webhook.url`). The message's text is the JSON payload, exactly
    /// as it is signed and sent (see [`crate::core::webhook`]).
    Webhook,
}

impl Recipient {
    /// The moderators, wherever they are (the engine writes one row per platform).
    pub const MODERATORS: Recipient = Recipient::Moderators { platform: None };
    /// The public channel, wherever it is.
    pub const PUBLIC: Recipient = Recipient::Public { platform: None };

    /// A stable one-word name for the timeline (`delivery_failed`) and logs.
    pub fn key(&self) -> &'static str {
        match self {
            Recipient::Chat { .. } => "chat",
            Recipient::User { .. } => "user",
            Recipient::Moderators { .. } => "moderators",
            Recipient::Public { .. } => "public",
            Recipient::Webhook => "webhook",
        }
    }

    pub fn is_moderators(&self) -> bool {
        matches!(self, Recipient::Moderators { .. })
    }

    /// The platform whose sink sends this, if it is known from the recipient alone.
    pub fn platform(&self) -> Option<Platform> {
        match self {
            Recipient::Chat { chat } => Some(chat.platform()),
            Recipient::User { user } => Some(user.platform()),
            Recipient::Moderators { platform } | Recipient::Public { platform } => *platform,
            Recipient::Webhook => None,
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

/// A button. Its label is already in the reader's language; the adapter lays buttons out in
/// its platform's way (inline keyboard, components, or a numbered list in the console).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    pub label: String,
    pub does: Does,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Does {
    /// Comes back as [`Input::Press`] with this token (at most 64 bytes: Telegram's limit).
    Press { token: String },
    /// Opens the private conversation with the bot at the report (Telegram: the deep link
    /// `https://t.me/<bot>?start=report`; Discord: the `/report` command).
    OpenPrivateReport,
    /// Opens the private conversation with the bot (Telegram: `https://t.me/<bot>`).
    OpenPrivate,
    /// Opens a web page.
    Link { url: String },
}

/// What an outbox row does on the platform.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// A new message.
    #[default]
    Send,
    /// Replaces the text and buttons of an earlier message.
    Edit { target: Target },
    /// Deletes an earlier message.
    Delete { target: Target },
}

/// Which earlier message an edit or a delete is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Target {
    /// The message another outbox row sent (by its key): the outbox waits until that row is
    /// sent, and gives up if it never will be.
    Row { key: String },
    /// A message known by its platform reference (the one a button was pressed on).
    Message { message: MessageRef },
}

/// How an answer is shown, where the platform can tell the difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    /// A short acknowledgement (Telegram: a callback toast; Discord: an ephemeral line).
    Toast,
    /// A refusal the presser must see (Telegram: a callback alert; Discord: ephemeral).
    Alert,
}

/// Everything about a message beyond its text, stored beside it in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Meta {
    #[serde(skip_serializing_if = "is_send")]
    pub op: Op,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Button>,
    /// Reply to this message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<MessageRef>,
    /// Only the addressee may see it (ephemeral where the platform has it). Never set on a
    /// message to a shared channel.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub private: bool,
    /// The answer to the input in hand: handed back to the adapter to send in place.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub answer: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<Notice>,
}

fn is_send(op: &Op) -> bool {
    *op == Op::Send
}

impl Meta {
    pub fn is_default(&self) -> bool {
        *self == Meta::default()
    }
}

/// A message to send. `key` makes sending idempotent: the outbox holds one row per key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub key: String,
    pub case_id: Option<CaseId>,
    pub to: Recipient,
    pub text: String,
    pub attachment: Option<Attachment>,
    pub meta: Meta,
}

impl Outgoing {
    /// A message with a fresh random key (replies; each is its own message).
    pub fn fresh(case_id: Option<CaseId>, to: Recipient, text: String) -> Outgoing {
        Outgoing {
            key: fresh_key(),
            case_id,
            to,
            text,
            attachment: None,
            meta: Meta::default(),
        }
    }

    /// A message with this key.
    pub fn keyed(key: String, case_id: Option<CaseId>, to: Recipient, text: String) -> Outgoing {
        Outgoing {
            key,
            ..Outgoing::fresh(case_id, to, text)
        }
    }

    pub fn with_buttons(mut self, buttons: Vec<Button>) -> Outgoing {
        self.meta.buttons = buttons;
        self
    }

    pub fn is_answer(&self) -> bool {
        self.meta.answer
    }
}

pub fn fresh_key() -> String {
    format!("m:{:032x}", rand::random::<u128>())
}

/// Writes one row per configured destination for every message to the moderators or the
/// public: each gets the platform and a key suffixed with it (so the rows are independent and
/// each is sent once), and an edit of such a message is fanned out the same way, each copy
/// aimed at its own platform's row. Other messages pass through unchanged.
pub fn fan_out(out: Vec<Outgoing>, to: &crate::core::policy::Destinations) -> Vec<Outgoing> {
    let mut fanned = Vec::with_capacity(out.len());
    for o in out {
        let platforms = match o.to {
            Recipient::Moderators { platform: None } => &to.moderators,
            Recipient::Public { platform: None } => &to.public,
            _ => {
                fanned.push(o);
                continue;
            }
        };
        if platforms.is_empty() {
            fanned.push(o);
            continue;
        }
        for p in platforms {
            let mut copy = o.clone();
            copy.key = format!("{}:{}", o.key, p.key());
            copy.to = match o.to {
                Recipient::Public { .. } => Recipient::Public { platform: Some(*p) },
                _ => Recipient::Moderators { platform: Some(*p) },
            };
            let retarget = |t: &mut Target| {
                if let Target::Row { key } = t {
                    *key = format!("{key}:{}", p.key());
                }
            };
            match &mut copy.meta.op {
                Op::Edit { target } | Op::Delete { target } => retarget(target),
                Op::Send => {}
            }
            fanned.push(copy);
        }
    }
    fanned
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::policy::Destinations;

    #[test]
    fn moderator_posts_get_one_row_per_platform_and_edits_follow_them() {
        let to = Destinations {
            moderators: vec![Platform::Telegram, Platform::Discord],
            public: vec![Platform::Discord],
        };
        let notice = Outgoing::keyed("n".into(), None, Recipient::MODERATORS, "t".into());
        let mut edit = Outgoing::keyed("e".into(), None, Recipient::MODERATORS, "u".into());
        edit.meta.op = Op::Edit {
            target: Target::Row { key: "n".into() },
        };
        let post = Outgoing::keyed("p".into(), None, Recipient::PUBLIC, "x".into());
        let victim = Outgoing::keyed(
            "v".into(),
            None,
            Recipient::User {
                user: UserRef::Telegram(7),
            },
            "y".into(),
        );
        let out = fan_out(vec![notice, edit, post, victim], &to);
        let keys: Vec<&str> = out.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "n:telegram",
                "n:discord",
                "e:telegram",
                "e:discord",
                "p:discord",
                "v"
            ]
        );
        assert_eq!(
            out[1].to,
            Recipient::Moderators {
                platform: Some(Platform::Discord)
            }
        );
        assert_eq!(
            out[3].meta.op,
            Op::Edit {
                target: Target::Row {
                    key: "n:discord".into()
                }
            }
        );
        // Nothing configured: one row, as before.
        let one = fan_out(
            vec![Outgoing::keyed(
                "n".into(),
                None,
                Recipient::MODERATORS,
                "t".into(),
            )],
            &Destinations::default(),
        );
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].key, "n");
    }

    #[test]
    fn old_rows_without_a_platform_still_read() {
        let r: Recipient = serde_json::from_str(r#"{"to":"moderators"}"#).unwrap();
        assert_eq!(r, Recipient::MODERATORS);
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"to":"moderators"}"#);
        let m: Meta = serde_json::from_str("{}").unwrap();
        assert!(m.is_default());
        assert_eq!(serde_json::to_string(&Meta::default()).unwrap(), "{}");
    }
}
