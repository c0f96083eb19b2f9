//! Who moderates on Telegram: the administrators of the moderators' group (asked with
//! getChatAdministrators and trusted for a short while) plus the user IDs in the settings.
//! Decided here from platform data and handed to the core as a fact.

use std::collections::HashSet;
use std::time::Duration;

use teloxide::prelude::*;
use teloxide::types::ChatId;
use tokio::sync::Mutex;
use tokio::time::Instant;

pub struct Roles {
    bot: Bot,
    chat: Option<i64>,
    extra: HashSet<i64>,
    ttl: Duration,
    cache: Mutex<Option<(Instant, HashSet<i64>)>>,
}

impl Roles {
    pub fn new(bot: Bot, chat: Option<i64>, extra: &[i64], ttl: Duration) -> Roles {
        Roles {
            bot,
            chat,
            extra: extra.iter().copied().collect(),
            ttl,
            cache: Mutex::new(None),
        }
    }

    pub async fn is_moderator(&self, user: i64) -> bool {
        if self.extra.contains(&user) {
            return true;
        }
        let Some(chat) = self.chat else {
            return false;
        };
        let mut cache = self.cache.lock().await;
        if let Some((at, admins)) = &*cache
            && at.elapsed() < self.ttl
        {
            return admins.contains(&user);
        }
        match self.bot.get_chat_administrators(ChatId(chat)).await {
            Ok(members) => {
                let admins: HashSet<i64> = members
                    .iter()
                    .filter(|m| !m.user.is_bot)
                    .map(|m| m.user.id.0 as i64)
                    .collect();
                let is = admins.contains(&user);
                *cache = Some((Instant::now(), admins));
                is
            }
            Err(e) => {
                // Keep what was known (a brief outage should not lock moderators out), and ask
                // again on the next press.
                tracing::warn!(error = %redacted(&e, &self.bot), "cannot read the moderator group's administrators");
                cache.as_ref().is_some_and(|(_, a)| a.contains(&user))
            }
        }
    }
}

pub fn redacted(e: &teloxide::RequestError, bot: &Bot) -> String {
    let text = e.to_string();
    if bot.token().is_empty() {
        text
    } else {
        text.replace(bot.token(), "<token>")
    }
}
