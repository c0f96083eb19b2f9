//! The outbox's sink for Telegram: sends, edits and deletes what the outbox hands it, and
//! sorts Telegram's answers into the outbox's kinds: a 429 waits its `retry_after`, a 5xx or a
//! network error is retried, a 403 means the person cannot be reached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use teloxide::prelude::*;
use teloxide::types::{
    ChatId, InlineKeyboardMarkup, InputFile, LinkPreviewOptions, MessageId, ReplyParameters,
};
use teloxide::{ApiError, RequestError};

use crate::core::identity::{ChatRef, MessageRef, UserRef};
use crate::core::message::{Op, Recipient};
use crate::core::ports::OutboxItem;
use crate::delivery::{SendError, Sink};
use crate::platforms::telegram::render;

/// What the adapter learns about its bot at start (`getMe`), shared with the sink.
#[derive(Debug, Default)]
pub struct Me {
    username: OnceLock<String>,
}

impl Me {
    pub fn set(&self, username: String) {
        // Set once at start; a second getMe (a restart of the poller) names the same bot.
        if self.username.set(username).is_err() {
            tracing::debug!("bot username already known");
        }
    }

    pub fn username(&self) -> Option<&str> {
        self.username.get().map(String::as_str)
    }
}

/// Where the configured destinations are.
#[derive(Debug, Clone, Copy, Default)]
pub struct Chats {
    pub moderators: Option<i64>,
    pub public: Option<i64>,
}

#[derive(Clone)]
pub struct TelegramSink {
    bot: Bot,
    me: Arc<Me>,
    chats: Chats,
    /// A long text goes out in parts; when a later part fails, the parts Telegram accepted
    /// (how many, and the last one's reference), by outbox row, so that the retry resumes
    /// after them instead of repeating them. Kept in memory: a retry by another instance, or
    /// after a restart, repeats the parts already sent.
    partial: Arc<Mutex<HashMap<i64, (usize, MessageRef)>>>,
}

impl std::fmt::Debug for TelegramSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the bot (it holds the token).
        f.debug_struct("TelegramSink")
            .field("chats", &self.chats)
            .finish_non_exhaustive()
    }
}

impl TelegramSink {
    pub fn new(bot: Bot, me: Arc<Me>, chats: Chats) -> TelegramSink {
        TelegramSink {
            bot,
            me,
            chats,
            partial: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn partial_lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, (usize, MessageRef)>> {
        self.partial.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn partial_of(&self, row: i64) -> Option<(usize, MessageRef)> {
        self.partial_lock().get(&row).cloned()
    }

    fn chat_of(&self, to: &Recipient) -> Result<ChatId, SendError> {
        match to {
            Recipient::Chat {
                chat: ChatRef::Telegram { chat },
            } => Ok(ChatId(*chat)),
            // A private chat's ID is the person's ID.
            Recipient::User {
                user: UserRef::Telegram(id),
            } => Ok(ChatId(*id)),
            Recipient::Moderators { .. } => self.chats.moderators.map(ChatId).ok_or_else(|| {
                SendError::Permanent("telegram.moderator_chat is not set".to_string())
            }),
            Recipient::Public { .. } => {
                self.chats.public.map(ChatId).ok_or_else(|| {
                    SendError::Permanent("telegram.public_chat is not set".to_string())
                })
            }
            other => Err(SendError::Permanent(format!(
                "not a Telegram recipient: {}",
                other.key()
            ))),
        }
    }

    fn keyboard(&self, item: &OutboxItem) -> Result<Option<InlineKeyboardMarkup>, SendError> {
        if item.meta.buttons.is_empty() {
            return Ok(None);
        }
        let username = self.me.username().ok_or_else(|| {
            SendError::Retry("the bot's username is not known yet (getMe pending)".to_string())
        })?;
        Ok(render::keyboard(&item.meta.buttons, username))
    }

    fn target(item: &OutboxItem) -> Result<(ChatId, MessageId), SendError> {
        match &item.target {
            Some(MessageRef::Telegram { chat, message }) => {
                Ok((ChatId(*chat), MessageId(*message)))
            }
            Some(_) => Err(SendError::Permanent(
                "the message to change is not on Telegram".to_string(),
            )),
            None => Err(SendError::Permanent(
                "the platform gave no reference for the message to change".to_string(),
            )),
        }
    }

    async fn send_new(&self, item: &OutboxItem) -> Result<Option<MessageRef>, SendError> {
        let chat = self.chat_of(&item.to)?;
        let keyboard = self.keyboard(item)?;
        let reply = match &item.meta.reply_to {
            Some(MessageRef::Telegram { chat: c, message }) if ChatId(*c) == chat => {
                Some(ReplyParameters::new(MessageId(*message)).allow_sending_without_reply())
            }
            _ => None,
        };
        if let Some(a) = &item.attachment {
            let file =
                InputFile::memory(a.content.clone().into_bytes()).file_name(a.filename.clone());
            let mut req = self.bot.send_document(chat, file);
            if item.text != a.filename && !item.text.trim().is_empty() {
                req = req.caption(render::truncate(&item.text, render::MAX_CAPTION));
            }
            let sent = req.await.map_err(|e| self.classify(e))?;
            return Ok(Some(reference(&sent)));
        }
        let parts = render::split(&item.text, render::MAX_TEXT);
        let last = parts.len() - 1;
        let (done, mut sent_ref) = match self.partial_of(item.id) {
            Some((n, r)) => (n, Some(r)),
            None => (0, None),
        };
        for (i, part) in parts.into_iter().enumerate().skip(done) {
            let mut req = self
                .bot
                .send_message(chat, part)
                .link_preview_options(no_preview());
            if i == 0
                && let Some(r) = &reply
            {
                req = req.reply_parameters(r.clone());
            }
            if i == last
                && let Some(k) = &keyboard
            {
                req = req.reply_markup(k.clone());
            }
            let sent = match req.await {
                Ok(sent) => sent,
                Err(e) => {
                    let e = self.classify(e);
                    let retried = matches!(e, SendError::Retry(_) | SendError::RetryAfter { .. });
                    match &sent_ref {
                        Some(r) if retried => {
                            self.partial_lock().insert(item.id, (i, r.clone()));
                        }
                        _ => {
                            self.partial_lock().remove(&item.id);
                        }
                    }
                    return Err(e);
                }
            };
            sent_ref = Some(reference(&sent));
        }
        self.partial_lock().remove(&item.id);
        Ok(sent_ref)
    }

    async fn edit(&self, item: &OutboxItem) -> Result<Option<MessageRef>, SendError> {
        let (chat, id) = Self::target(item)?;
        let keyboard = self.keyboard(item)?.unwrap_or_else(|| {
            InlineKeyboardMarkup::new(Vec::<Vec<teloxide::types::InlineKeyboardButton>>::new())
        });
        let text = render::truncate(&item.text, render::MAX_TEXT);
        match self
            .bot
            .edit_message_text(chat, id, text)
            .link_preview_options(no_preview())
            .reply_markup(keyboard)
            .await
        {
            Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => {}
            Err(e) => return Err(self.classify(e)),
        }
        Ok(item.target.clone())
    }

    async fn delete(&self, item: &OutboxItem) -> Result<Option<MessageRef>, SendError> {
        let (chat, id) = Self::target(item)?;
        match self.bot.delete_message(chat, id).await {
            Ok(_) | Err(RequestError::Api(ApiError::MessageToDeleteNotFound)) => Ok(None),
            Err(e) => Err(self.classify(e)),
        }
    }

    /// The error in the outbox's terms, its text without the token (a network error's text
    /// names the URL, and the token is in the URL's path).
    pub fn classify(&self, e: RequestError) -> SendError {
        let text = self.redact(&e.to_string());
        match e {
            RequestError::RetryAfter(s) => SendError::RetryAfter {
                after: s.duration(),
                reason: text,
            },
            RequestError::Network(_) | RequestError::Io(_) | RequestError::InvalidJson { .. } => {
                SendError::Retry(text)
            }
            RequestError::MigrateToChatId(id) => SendError::Permanent(format!(
                "the group became a supergroup with ID {id}; update the chat ID in the settings"
            )),
            RequestError::Api(api) => match api {
                ApiError::BotBlocked
                | ApiError::CantInitiateConversation
                | ApiError::UserDeactivated
                | ApiError::BotKicked
                | ApiError::BotKickedFromSupergroup
                | ApiError::ChatNotFound => SendError::Unreachable(text),
                // A token refused today may be fixed in the settings tomorrow.
                ApiError::InvalidToken => SendError::Retry(text),
                ApiError::Unknown(d) if d.starts_with("Forbidden") => SendError::Unreachable(text),
                ApiError::Unknown(d)
                    if d.starts_with("Bad Request") || d.starts_with("Not Found") =>
                {
                    SendError::Permanent(text)
                }
                // "Internal Server Error", "Bad Gateway", "Too Many Requests" without a
                // retry_after: Telegram's side, worth another try.
                ApiError::Unknown(_) => SendError::Retry(text),
                _ => SendError::Permanent(text),
            },
        }
    }

    pub fn redact(&self, text: &str) -> String {
        let token = self.bot.token();
        if token.is_empty() {
            text.to_string()
        } else {
            text.replace(token, "<token>")
        }
    }

    pub fn bot(&self) -> &Bot {
        &self.bot
    }

    pub fn me(&self) -> &Me {
        &self.me
    }
}

fn no_preview() -> LinkPreviewOptions {
    LinkPreviewOptions {
        is_disabled: true,
        url: None,
        prefer_small_media: false,
        prefer_large_media: false,
        show_above_text: false,
    }
}

/// The reference the outbox keeps for a message Telegram accepted.
pub fn reference(m: &teloxide::types::Message) -> MessageRef {
    MessageRef::Telegram {
        chat: m.chat.id.0,
        message: m.id.0,
    }
}

impl Sink for TelegramSink {
    async fn send(&self, item: &OutboxItem) -> Result<Option<MessageRef>, SendError> {
        match item.meta.op {
            Op::Send => self.send_new(item).await,
            Op::Edit { .. } => self.edit(item).await,
            Op::Delete { .. } => self.delete(item).await,
        }
    }
}
