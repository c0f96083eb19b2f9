//! The Telegram adapter (teloxide 0.17): long polling under a lease (one poller among the
//! instances sharing a database), each update handed to the engine and confirmed to Telegram
//! only after the engine committed what it caused, answers sent in place, and the outbox's
//! sink for everything sent later. It only translates: every decision is the core's.
//!
//! Rooms: [`inbound`] (updates → core inputs), [`render`] (core messages → Telegram's shape),
//! [`sink`] (the outbox's sink and Telegram's errors in the outbox's terms), [`roles`] (who
//! moderates).

pub mod inbound;
pub mod render;
pub mod roles;
pub mod sink;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use secrecy::ExposeSecret;
use teloxide::prelude::*;
use teloxide::types::{
    AllowedUpdate, BotCommand, BotCommandScope, CallbackQueryId, ChatId, Recipient as TgRecipient,
};
use teloxide::{ApiError, RequestError};
use tokio_util::sync::CancellationToken;

use crate::config::TelegramSettings;
use crate::core::engine::{Engine, EngineError, Handled};
use crate::core::identity::{Locale, MessageRef};
use crate::core::message::{Incoming, Notice, Outgoing, Place};
use crate::core::ports::{OutboxItem, Store};
use crate::delivery::{SendError, Sink};
use crate::platforms::telegram::inbound::{Inbound, Translated};
use crate::platforms::telegram::sink::{Chats, Me, TelegramSink};
use crate::prompts::PromptKey;

/// The lease that says which instance polls.
const LEASE: &str = "telegram/poller";

/// The bot client the settings describe (the token is only ever in the client).
pub fn bot(settings: &TelegramSettings) -> anyhow::Result<Bot> {
    let token = settings
        .token
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("telegram.token is not set"))?;
    Ok(Bot::new(token.expose_secret()).set_api_url(settings.api_url.clone()))
}

/// The outbox's sink for this bot and these settings, and what it shares with the poller.
pub fn sink(bot: Bot, settings: &TelegramSettings) -> TelegramSink {
    TelegramSink::new(
        bot,
        Arc::new(Me::default()),
        Chats {
            moderators: settings.moderator_chat,
            public: settings.public_chat,
        },
    )
}

pub struct Telegram<S: Store> {
    engine: Engine<S>,
    store: S,
    sink: TelegramSink,
    roles: roles::Roles,
    moderator_chat: Option<i64>,
    lease: Duration,
    holder: String,
}

/// What handling one update came to.
enum Outcome {
    /// Handled (or nothing to do): confirm it.
    Done,
    /// The database is away: leave it unconfirmed; Telegram hands it over again.
    Later,
}

impl<S: Store> Telegram<S> {
    pub fn new(
        settings: &TelegramSettings,
        engine: Engine<S>,
        store: S,
        sink: TelegramSink,
    ) -> Self {
        let roles = roles::Roles::new(
            sink.bot().clone(),
            settings.moderator_chat,
            &settings.moderators,
            settings.admins_cache,
        );
        Telegram {
            engine,
            store,
            sink,
            roles,
            moderator_chat: settings.moderator_chat,
            lease: settings.poll_lease,
            // The process ID helps an operator see which instance polls.
            holder: format!("{}-{:08x}", std::process::id(), rand::random::<u32>()),
        }
    }

    fn bot(&self) -> &Bot {
        self.sink.bot()
    }

    /// Polls until cancelled, while this instance holds the poller lease.
    pub async fn run(self, cancel: CancellationToken) {
        if !self.identify(&cancel).await {
            return;
        }
        self.register_commands().await;
        let poll = (self.lease / 3).clamp(Duration::from_secs(1), Duration::from_secs(10));
        let mut offset: Option<i32> = None;
        let mut holding = false;
        let mut backoff = Duration::from_secs(1);
        while !cancel.is_cancelled() {
            let now = Utc::now();
            let until = now + chrono::Duration::from_std(self.lease).unwrap_or_default();
            match self.store.hold_lease(LEASE, &self.holder, until, now).await {
                Ok(true) if !holding => {
                    tracing::info!("polling Telegram (this instance holds the poller lease)");
                    holding = true;
                }
                Ok(true) => {}
                Ok(false) => {
                    if holding {
                        tracing::info!("another instance polls Telegram now");
                    }
                    holding = false;
                    offset = None;
                    pause(&cancel, self.lease / 4).await;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot renew the poller lease; not polling until the database answers");
                    holding = false;
                    pause(&cancel, Duration::from_secs(2)).await;
                    continue;
                }
            }
            let mut req = self
                .bot()
                .get_updates()
                .timeout(poll.as_secs() as u32)
                .allowed_updates([
                    AllowedUpdate::Message,
                    AllowedUpdate::EditedMessage,
                    AllowedUpdate::CallbackQuery,
                ]);
            if let Some(o) = offset {
                req = req.offset(o);
            }
            let got = tokio::select! {
                _ = cancel.cancelled() => break,
                got = req.send() => got,
            };
            match got {
                Ok(updates) => {
                    backoff = Duration::from_secs(1);
                    for u in updates {
                        match self.handle(&u).await {
                            Outcome::Done => offset = Some(u.id.0 as i32 + 1),
                            Outcome::Later => {
                                pause(&cancel, Duration::from_secs(2)).await;
                                break;
                            }
                        }
                    }
                }
                Err(RequestError::RetryAfter(s)) => pause(&cancel, s.duration()).await,
                Err(RequestError::Api(ApiError::TerminatedByOtherGetUpdates)) => {
                    tracing::warn!("another program polls this bot token; waiting");
                    pause(&cancel, Duration::from_secs(5)).await;
                }
                Err(e) => {
                    tracing::warn!(error = %self.sink.redact(&e.to_string()), "getUpdates failed; retrying");
                    pause(&cancel, backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
        self.stop(offset).await;
    }

    /// Confirms what was handled (so a restart does not fetch it again; it would be recognised
    /// and skipped anyway) and hands the lease over.
    async fn stop(&self, offset: Option<i32>) {
        if let Some(o) = offset {
            let confirm = self.bot().get_updates().offset(o).limit(1).timeout(0);
            match tokio::time::timeout(Duration::from_secs(3), confirm.send()).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::info!(error = %self.sink.redact(&e.to_string()), "could not confirm the last updates; they will be skipped after a restart")
                }
                Err(_) => tracing::info!(
                    "confirming the last updates timed out; they will be skipped after a restart"
                ),
            }
        }
        if let Err(e) = self.store.drop_lease(LEASE, &self.holder).await {
            tracing::info!(error = %e, "could not hand over the poller lease; it runs out by itself");
        }
        tracing::info!("Telegram polling stopped");
    }

    /// getMe until it answers: the bot's username makes the deep links.
    async fn identify(&self, cancel: &CancellationToken) -> bool {
        let mut wait = Duration::from_secs(1);
        loop {
            let got = tokio::select! {
                _ = cancel.cancelled() => return false,
                got = self.bot().get_me().send() => got,
            };
            match got {
                Ok(me) => {
                    let username = me.username.clone().unwrap_or_default();
                    tracing::info!(bot = %username, "connected to Telegram");
                    self.sink.me().set(username);
                    return true;
                }
                Err(e) => {
                    tracing::warn!(error = %self.sink.redact(&e.to_string()), "cannot reach Telegram (getMe); retrying");
                    pause(cancel, wait).await;
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    /// The command menus: per place (private chats, groups, the moderators' group) and per
    /// language (English by default, Chinese for `language_code` "zh").
    async fn register_commands(&self) {
        let mut scopes = vec![
            (Place::Private, BotCommandScope::AllPrivateChats),
            (Place::Community, BotCommandScope::AllGroupChats),
        ];
        if let Some(chat) = self.moderator_chat {
            scopes.push((
                Place::Moderators,
                BotCommandScope::Chat {
                    chat_id: TgRecipient::Id(ChatId(chat)),
                },
            ));
        }
        let svc = self.engine.services();
        for (place, scope) in scopes {
            for locale in Locale::ALL {
                let commands: Vec<BotCommand> = crate::core::command::menu(place)
                    .iter()
                    .map(|c| {
                        let words = svc
                            .render(
                                locale,
                                PromptKey::CommandMenu,
                                &minijinja::context! { c => c },
                            )
                            .unwrap_or_else(|_| c.to_string());
                        BotCommand::new(*c, words)
                    })
                    .collect();
                let mut req = self.bot().set_my_commands(commands).scope(scope.clone());
                if locale == Locale::Zh {
                    req = req.language_code("zh");
                }
                if let Err(e) = req.send().await {
                    tracing::warn!(error = %self.sink.redact(&e.to_string()), ?place, "could not register the command menu");
                }
            }
        }
    }

    async fn handle(&self, update: &teloxide::types::Update) -> Outcome {
        let username = self.sink.me().username().unwrap_or_default().to_string();
        let cx = inbound::Context {
            username: &username,
            moderator_chat: self.moderator_chat,
        };
        let mut t = match inbound::translate(update, &cx) {
            Inbound::Ignore => return Outcome::Done,
            Inbound::AnswerOnly(id) => {
                let _ = self.answer_callback(id, None).await;
                return Outcome::Done;
            }
            Inbound::Core(t) => *t,
        };
        t.incoming.actor.moderator = self.roles.is_moderator(t.user).await;
        match self.engine.handle(&t.incoming).await {
            Ok(h) => {
                self.carry_out(&t, &h).await;
                Outcome::Done
            }
            Err(e) => {
                let text = self.engine.error_text(&e, &t.incoming);
                self.say_error(&t, text).await;
                match e {
                    EngineError::Unavailable(_) => Outcome::Later,
                    // Handling it again would fail again: confirm it; the user was told.
                    EngineError::Internal(_) => Outcome::Done,
                }
            }
        }
    }

    /// Does what the engine's answer asks, in place: deletes the message (a secret seen by
    /// others), answers the button press, sends the answers, and reports each to the engine.
    async fn carry_out(&self, t: &Translated, h: &Handled) {
        let msg = &t.incoming;
        let mut callback = t.callback.clone();
        if h.duplicate {
            if let Some(id) = callback {
                let _ = self.answer_callback(id, None).await;
            }
            return;
        }
        if h.delete_original {
            self.delete_original(msg).await;
        }
        // A press gets its answer at once (the client shows a spinner until then): as a toast
        // or an alert when the answer is one, else an empty acknowledgement.
        if let Some(id) = &callback
            && !h.answers().any(|a| a.meta.notice.is_some())
        {
            let _ = self.answer_callback(id.clone(), None).await;
            callback = None;
        }
        for a in h.answers() {
            let recorded = match (&callback, a.meta.notice) {
                (Some(id), Some(notice)) => {
                    let r = self
                        .answer_callback(id.clone(), Some((&a.text, notice)))
                        .await;
                    callback = None;
                    self.engine.answered(&a.key, r.map(|()| None)).await
                }
                _ => match self.sink.send(&OutboxItem::answer(a)).await {
                    Ok(r) => self.engine.answered(&a.key, Ok(r)).await,
                    // A rate limit: the outbox sends it when Telegram said to.
                    Err(SendError::RetryAfter { after, reason }) => {
                        self.engine.unanswered(&a.key, &reason, Some(after)).await
                    }
                    Err(e) => self.engine.unanswered(&a.key, &e.to_string(), None).await,
                },
            };
            if let Err(e) = recorded {
                tracing::warn!(error = %e, key = %a.key, "could not record an answer; the outbox may send it again");
            }
        }
    }

    async fn delete_original(&self, msg: &Incoming) {
        let Some(MessageRef::Telegram { chat, message }) = &msg.message else {
            return;
        };
        let deleted = self
            .bot()
            .delete_message(ChatId(*chat), teloxide::types::MessageId(*message))
            .await;
        match deleted {
            Ok(_) | Err(RequestError::Api(ApiError::MessageToDeleteNotFound)) => {}
            Err(e) => {
                let error = self.sink.redact(&e.to_string());
                tracing::warn!(error = %error, "could not delete a message holding a secret; asking the moderators");
                if let Err(e) = self.engine.delete_failed(msg, &error).await {
                    tracing::error!(error = %e, "could not ask the moderators to delete a message holding a secret");
                }
            }
        }
    }

    /// answerCallbackQuery, with a toast or an alert; `Err` with the reason if it failed.
    async fn answer_callback(
        &self,
        id: CallbackQueryId,
        notice: Option<(&str, Notice)>,
    ) -> Result<(), String> {
        let mut req = self.bot().answer_callback_query(id);
        if let Some((text, kind)) = notice {
            req = req
                .text(render::truncate(text, render::MAX_NOTICE))
                .show_alert(kind == Notice::Alert);
        }
        req.send().await.map(|_| ()).map_err(|e| {
            let e = self.sink.redact(&e.to_string());
            tracing::info!(error = %e, "could not answer a button press");
            e
        })
    }

    /// The engine failed (nothing was recorded): the plain words, where the user is.
    async fn say_error(&self, t: &Translated, text: String) {
        if let Some(id) = &t.callback
            && self
                .answer_callback(id.clone(), Some((&text, Notice::Alert)))
                .await
                .is_ok()
        {
            return;
        }
        let mut o = Outgoing::fresh(
            None,
            crate::core::message::Recipient::Chat {
                chat: t.incoming.chat.clone(),
            },
            text,
        );
        o.meta.reply_to = t.incoming.message.clone();
        if let Err(e) = self.sink.send(&OutboxItem::answer(&o)).await {
            tracing::info!(error = %e, "could not tell the user about a failure");
        }
    }
}

async fn pause(cancel: &CancellationToken, d: Duration) {
    tokio::select! {
        _ = cancel.cancelled() => {}
        _ = tokio::time::sleep(d) => {}
    }
}
