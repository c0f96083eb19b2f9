//! Telegram updates as core inputs: who (typed IDs, the platform's language), where (a private
//! chat, a community group, the moderators' group), and what (text as typed, with `/cmd@bot`
//! made plain; a button's callback data as an opaque token).

use teloxide::types::{CallbackQueryId, Chat, Message, Update, UpdateKind, User};

use crate::core::identity::{Actor, ChatRef, Locale, MessageRef, UserRef};
use crate::core::message::{Incoming, Input, Place};

/// What the translation needs to know about the bot and the settings.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub username: &'a str,
    pub moderator_chat: Option<i64>,
}

/// An update the core should see, with what the adapter must answer on Telegram's side.
#[derive(Debug, Clone)]
pub struct Translated {
    pub incoming: Incoming,
    /// The user's Telegram ID, for the moderator check.
    pub user: i64,
    /// A button press, which must be answered (`answerCallbackQuery`) whatever happens.
    pub callback: Option<CallbackQueryId>,
}

/// What to do with one update: hand it to the core, only answer its callback, or nothing.
#[derive(Debug, Clone)]
pub enum Inbound {
    Core(Box<Translated>),
    /// A press the core cannot use (no message to answer on): answer the callback only.
    AnswerOnly(CallbackQueryId),
    Ignore,
}

pub fn translate(update: &Update, cx: &Context<'_>) -> Inbound {
    let id = Some(format!("telegram:{}", update.id.0));
    match &update.kind {
        UpdateKind::Message(m) => message(m, cx, id, false),
        // An edit can add a seed phrase to a message already seen: screen edits in community
        // groups (and only there: in private an edit would be taken as a new answer).
        UpdateKind::EditedMessage(m) => message(m, cx, id, true),
        UpdateKind::CallbackQuery(q) => {
            let (Some(data), Some(on)) = (&q.data, &q.message) else {
                return Inbound::AnswerOnly(q.id.clone());
            };
            if q.from.is_bot {
                return Inbound::AnswerOnly(q.id.clone());
            }
            let chat = on.chat();
            let incoming = Incoming {
                actor: actor(&q.from),
                chat: ChatRef::Telegram { chat: chat.id.0 },
                place: place(chat, cx),
                input: Input::Press(data.clone()),
                id,
                message: Some(MessageRef::Telegram {
                    chat: chat.id.0,
                    message: on.id().0,
                }),
                link: on
                    .regular_message()
                    .and_then(Message::url)
                    .map(|u| u.to_string()),
                locale_hint: hint(&q.from),
            };
            Inbound::Core(Box::new(Translated {
                incoming,
                user: q.from.id.0 as i64,
                callback: Some(q.id.clone()),
            }))
        }
        _ => Inbound::Ignore,
    }
}

fn message(m: &Message, cx: &Context<'_>, id: Option<String>, edited: bool) -> Inbound {
    // Other bots, the anonymous-admin stand-in, channel posts: nobody to answer.
    let Some(from) = m.from.as_ref().filter(|u| !u.is_bot) else {
        return Inbound::Ignore;
    };
    let Some(text) = m.text().or_else(|| m.caption()) else {
        return Inbound::Ignore;
    };
    let place = place(&m.chat, cx);
    if edited && (place != Place::Community || text.trim_start().starts_with('/')) {
        return Inbound::Ignore;
    }
    let Some(text) = plain_command(text, cx.username) else {
        // A command for another bot in the same group.
        return Inbound::Ignore;
    };
    let incoming = Incoming {
        actor: actor(from),
        chat: ChatRef::Telegram { chat: m.chat.id.0 },
        place,
        input: Input::Text(text),
        id,
        message: Some(MessageRef::Telegram {
            chat: m.chat.id.0,
            message: m.id.0,
        }),
        link: m.url().map(|u| u.to_string()),
        locale_hint: hint(from),
    };
    Inbound::Core(Box::new(Translated {
        incoming,
        user: from.id.0 as i64,
        callback: None,
    }))
}

/// `/report@RecourseBot chain=eth` → `/report chain=eth`; `None` for `/report@OtherBot`.
pub fn plain_command(text: &str, username: &str) -> Option<String> {
    let trimmed = text.trim_start();
    if !trimmed.starts_with('/') {
        return Some(text.to_string());
    }
    let (word, rest) = match trimmed.find(char::is_whitespace) {
        Some(i) => trimmed.split_at(i),
        None => (trimmed, ""),
    };
    match word.split_once('@') {
        None => Some(text.to_string()),
        Some((name, bot)) if bot.eq_ignore_ascii_case(username) => Some(format!("{name}{rest}")),
        Some(_) => None,
    }
}

fn place(chat: &Chat, cx: &Context<'_>) -> Place {
    if chat.is_private() {
        Place::Private
    } else if Some(chat.id.0) == cx.moderator_chat {
        Place::Moderators
    } else {
        Place::Community
    }
}

fn actor(u: &User) -> Actor {
    let name = match &u.username {
        Some(n) => format!("@{n}"),
        None => u.full_name(),
    };
    Actor {
        user: UserRef::Telegram(u.id.0 as i64),
        name,
        // Decided by the adapter's moderator check before the core sees it.
        moderator: false,
    }
}

/// Telegram's `language_code`: `zh`, `zh-hans`, `zh-TW` → Chinese; `en…` → English.
fn hint(u: &User) -> Option<Locale> {
    u.language_code.as_deref().and_then(Locale::parse)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_addressed_to_this_bot_are_made_plain() {
        assert_eq!(
            plain_command("/report@RecourseBot chain=eth", "recoursebot").as_deref(),
            Some("/report chain=eth")
        );
        assert_eq!(
            plain_command("/status", "RecourseBot").as_deref(),
            Some("/status")
        );
        assert_eq!(plain_command("/report@OtherBot", "RecourseBot"), None);
        assert_eq!(
            plain_command("my wallet got drained", "RecourseBot").as_deref(),
            Some("my wallet got drained")
        );
    }

    /// Parsed from text, as it arrives on the wire: teloxide's `Update` reads a
    /// `serde_json::Value` as `UpdateKind::Error`.
    fn update(json: serde_json::Value) -> Update {
        serde_json::from_str(&json.to_string()).expect("a fixture the real teloxide reads")
    }

    fn cx() -> Context<'static> {
        Context {
            username: "RecourseBot",
            moderator_chat: Some(-100200),
        }
    }

    #[test]
    fn private_group_and_moderator_messages_and_presses() {
        let private = update(serde_json::json!({
            "update_id": 10,
            "message": {
                "message_id": 5, "date": 1_700_000_000,
                "chat": {"id": 42, "type": "private", "first_name": "Ann"},
                "from": {"id": 42, "is_bot": false, "first_name": "Ann", "language_code": "zh-hans"},
                "text": "我的钱包被盗了"
            }
        }));
        let Inbound::Core(t) = translate(&private, &cx()) else {
            panic!("a private message reaches the core")
        };
        assert_eq!(t.incoming.place, Place::Private);
        assert_eq!(t.incoming.id.as_deref(), Some("telegram:10"));
        assert_eq!(t.incoming.locale_hint, Some(Locale::Zh));
        assert_eq!(t.incoming.actor.user, UserRef::Telegram(42));

        let group = update(serde_json::json!({
            "update_id": 11,
            "message": {
                "message_id": 6, "date": 1_700_000_000,
                "chat": {"id": -1001234567890_i64, "type": "supergroup", "title": "Community"},
                "from": {"id": 43, "is_bot": false, "first_name": "Bo", "username": "bo"},
                "text": "/report@RecourseBot"
            }
        }));
        let Inbound::Core(t) = translate(&group, &cx()) else {
            panic!("a group command reaches the core")
        };
        assert_eq!(t.incoming.place, Place::Community);
        assert_eq!(t.incoming.text(), "/report");
        assert_eq!(t.incoming.actor.name, "@bo");
        assert_eq!(
            t.incoming.link.as_deref(),
            Some("https://t.me/c/1234567890/6")
        );

        let press = update(serde_json::json!({
            "update_id": 12,
            "callback_query": {
                "id": "cb1", "chat_instance": "ci",
                "from": {"id": 44, "is_bot": false, "first_name": "Mo"},
                "data": "m:claim:RC-7K3MQ-9XT2H:-",
                "message": {
                    "message_id": 7, "date": 1_700_000_000,
                    "chat": {"id": -100200, "type": "supergroup", "title": "Mods"},
                    "from": {"id": 1, "is_bot": true, "first_name": "Recourse", "username": "RecourseBot"},
                    "text": "New case"
                }
            }
        }));
        let Inbound::Core(t) = translate(&press, &cx()) else {
            panic!("a press reaches the core")
        };
        assert_eq!(t.incoming.place, Place::Moderators);
        assert_eq!(
            t.incoming.input,
            Input::Press("m:claim:RC-7K3MQ-9XT2H:-".into())
        );
        assert!(t.callback.is_some());
        assert!(
            !t.incoming.actor.moderator,
            "the adapter's check decides, not the update"
        );

        // A bot's message is nobody's input.
        let bot = update(serde_json::json!({
            "update_id": 13,
            "message": {
                "message_id": 8, "date": 1_700_000_000,
                "chat": {"id": -100300, "type": "supergroup", "title": "Community"},
                "from": {"id": 9, "is_bot": true, "first_name": "Spam"},
                "text": "hello"
            }
        }));
        assert!(matches!(translate(&bot, &cx()), Inbound::Ignore));
    }
}
