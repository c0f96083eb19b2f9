//! The outbox's sink for Discord: sends, edits and deletes what the outbox hands it through
//! Discord's REST API, and sorts Discord's answers into the outbox's kinds.
//!
//! It speaks REST itself (reqwest) rather than through serenity: with serenity's ratelimiter
//! off (required behind `discord.api_url`), serenity 0.12.5 drops a 429's headers and body, so
//! it could not say how long to wait. Here a 429 waits what `Retry-After` (or the body's
//! `retry_after`) says; a global one, or one for a shared bucket, pauses every send of this
//! sink, a per-route one only that channel's; a 5xx or a network error is retried; every new
//! message carries a `nonce` derived from its outbox row with `enforce_nonce`, so a retry after
//! a lost answer never posts twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::config::DiscordSettings;
use crate::core::case::CaseId;
use crate::core::clock::Clock;
use crate::core::identity::{ChatRef, MessageRef, UserRef};
use crate::core::message::{Attachment, Op, Recipient};
use crate::core::ports::OutboxItem;
use crate::core::ports::Store;
use crate::delivery::{SendError, Sink};
use crate::platforms::discord::render;

/// Discord's JSON error codes the sink tells apart.
const UNKNOWN_CHANNEL: i64 = 10003;
const UNKNOWN_MESSAGE: i64 = 10008;
const UNKNOWN_USER: i64 = 10013;
const CANNOT_DM: i64 = 50007;

/// Where the configured destinations are.
#[derive(Debug, Clone, Copy, Default)]
pub struct Channels {
    pub moderators: Option<u64>,
    pub public: Option<u64>,
    /// Where case threads are opened (else the channel the report was made from).
    pub cases: Option<u64>,
    /// The server (where a thread made before is looked up).
    pub guild: Option<u64>,
}

#[derive(Clone)]
pub struct DiscordSink {
    client: reqwest::Client,
    base: String,
    token: SecretString,
    channels: Channels,
    /// The clock the outbox runs on: a 429's wait is measured on it.
    clock: Arc<dyn Clock>,
    waits: Arc<Mutex<Waits>>,
    /// Each person's DM channel, once Discord opened it.
    dms: Arc<Mutex<HashMap<u64, u64>>>,
    /// Where each case's thread is (kept in the database's settings); without it the victim
    /// is written to in their DMs.
    store: Option<crate::store::SqlStore>,
    /// Threads the victim was added to since this process started (adding is idempotent).
    joined: Arc<Mutex<std::collections::HashSet<u64>>>,
    /// This process, as the holder of the short lease under which a case's thread is opened.
    holder: String,
}

impl std::fmt::Debug for DiscordSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("DiscordSink")
            .field("base", &self.base)
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

/// What Discord's 429s said, until when.
#[derive(Debug, Default)]
struct Waits {
    /// Every request (a global limit, or a shared-scope one).
    all: Option<DateTime<Utc>>,
    /// One route: a channel's messages, the DM route.
    route: HashMap<String, DateTime<Utc>>,
}

/// A failed call: the outbox's kind, and Discord's JSON error code if it gave one.
struct Failure {
    error: SendError,
    code: Option<i64>,
}

impl From<SendError> for Failure {
    fn from(error: SendError) -> Failure {
        Failure { error, code: None }
    }
}

impl DiscordSink {
    pub fn new(settings: &DiscordSettings, clock: Arc<dyn Clock>) -> anyhow::Result<DiscordSink> {
        let token = settings
            .token
            .clone()
            .ok_or_else(|| anyhow::anyhow!("discord.token is not set"))?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .user_agent("DiscordBot (https://github.com/recourse, 0.1) Recourse")
            .build()?;
        Ok(DiscordSink {
            client,
            base: settings.rest_base(),
            token,
            channels: Channels {
                moderators: settings.moderator_channel,
                public: settings.public_channel,
                cases: settings.case_channel,
                guild: settings.guild,
            },
            clock,
            waits: Arc::new(Mutex::new(Waits::default())),
            dms: Arc::new(Mutex::new(HashMap::new())),
            store: None,
            joined: Arc::new(Mutex::new(Default::default())),
            holder: format!("{}-{:08x}", std::process::id(), rand::random::<u32>()),
        })
    }

    /// Victims hear about a case in its private thread, kept in this database.
    pub fn with_threads(mut self, store: crate::store::SqlStore) -> DiscordSink {
        self.store = Some(store);
        self
    }

    fn waits(&self) -> std::sync::MutexGuard<'_, Waits> {
        self.waits.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What a 429 told us to wait for this route (or everything), if it still holds.
    fn waiting(&self, route: &str) -> Option<Duration> {
        let now = self.clock.now();
        let w = self.waits();
        [w.all, w.route.get(route).copied()]
            .into_iter()
            .flatten()
            .filter(|until| *until > now)
            .max()
            .and_then(|until| (until - now).to_std().ok())
    }

    /// One REST call. `route` names the rate-limit lane it is in.
    async fn call(
        &self,
        method: reqwest::Method,
        route: &str,
        path: &str,
        body: Option<RequestBody>,
    ) -> Result<Value, Failure> {
        if let Some(after) = self.waiting(route) {
            return Err(SendError::RetryAfter {
                after,
                reason: format!("Discord asked to wait ({route})"),
            }
            .into());
        }
        let url = format!("{}{}", self.base, path);
        let mut req = self.client.request(method, &url).header(
            reqwest::header::AUTHORIZATION,
            format!("Bot {}", self.token.expose_secret()),
        );
        req = match body {
            Some(RequestBody::Json(v)) => req.json(&v),
            Some(RequestBody::Form(f)) => req.multipart(f),
            None => req,
        };
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                return Err(SendError::Retry(self.redact(&e.without_url().to_string())).into());
            }
        };
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(json);
        }
        let code = json["code"].as_i64();
        let message = json["message"].as_str().unwrap_or("").to_string();
        let reason = self.redact(&format!(
            "Discord answered {} to {route}: {message}{}",
            status.as_u16(),
            code.map(|c| format!(" (code {c})")).unwrap_or_default()
        ));
        let error = match status.as_u16() {
            429 => {
                let after = retry_after(&headers, &json);
                let global = json["global"].as_bool().unwrap_or(false)
                    || header(&headers, "x-ratelimit-global").as_deref() == Some("true")
                    || header(&headers, "x-ratelimit-scope").as_deref() == Some("global");
                let shared = header(&headers, "x-ratelimit-scope").as_deref() == Some("shared");
                let until = self.clock.now()
                    + chrono::Duration::from_std(after).unwrap_or(chrono::Duration::seconds(1));
                let mut w = self.waits();
                if global || shared {
                    w.all = Some(w.all.map_or(until, |u| u.max(until)));
                } else {
                    w.route.insert(route.to_string(), until);
                }
                SendError::RetryAfter { after, reason }
            }
            // The token may be fixed in the settings; Discord's side may recover.
            401 | 408 | 500..=599 => SendError::Retry(reason),
            _ => SendError::Permanent(reason),
        };
        Err(Failure { error, code })
    }

    fn redact(&self, text: &str) -> String {
        let token = self.token.expose_secret();
        if token.is_empty() {
            text.to_string()
        } else {
            text.replace(token, "<token>")
        }
    }

    /// The channel a recipient is in: a person's is their DM channel, opened on first use.
    async fn channel_of(&self, to: &Recipient) -> Result<u64, Failure> {
        match to {
            Recipient::Chat {
                chat: ChatRef::Discord { channel },
            } => Ok(*channel),
            Recipient::User {
                user: UserRef::Discord(id),
            } => self.dm(*id).await,
            Recipient::Moderators { .. } => self.channels.moderators.ok_or_else(|| {
                SendError::Permanent("discord.moderator_channel is not set".to_string()).into()
            }),
            Recipient::Public { .. } => self.channels.public.ok_or_else(|| {
                SendError::Permanent("discord.public_channel is not set".to_string()).into()
            }),
            other => Err(
                SendError::Permanent(format!("not a Discord recipient: {}", other.key())).into(),
            ),
        }
    }

    /// A person's DM channel, opened on first use and remembered.
    pub async fn dm_channel(&self, user: u64) -> Result<u64, SendError> {
        self.dm(user).await.map_err(|f| f.error)
    }

    async fn dm(&self, user: u64) -> Result<u64, Failure> {
        if let Some(c) = self
            .dms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&user)
        {
            return Ok(*c);
        }
        let got = self
            .call(
                reqwest::Method::POST,
                "dm",
                "/users/@me/channels",
                Some(RequestBody::Json(
                    json!({ "recipient_id": user.to_string() }),
                )),
            )
            .await
            .map_err(|f| match f.code {
                Some(UNKNOWN_USER | CANNOT_DM) => Failure {
                    error: SendError::Unreachable(f.error.to_string()),
                    code: f.code,
                },
                _ => f,
            })?;
        let channel = snowflake(&got["id"]).ok_or_else(|| {
            Failure::from(SendError::Retry(
                "Discord opened a DM without a channel ID".to_string(),
            ))
        })?;
        self.dms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(user, channel);
        Ok(channel)
    }

    /// Whether a channel only its members read (a DM, a private thread): a private message
    /// (an answer that could not be given ephemerally) goes nowhere else.
    async fn is_private_channel(&self, channel: u64) -> Result<bool, Failure> {
        let known = self
            .dms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .any(|c| *c == channel);
        if known {
            return Ok(true);
        }
        let got = self
            .call(
                reqwest::Method::GET,
                "channel",
                &format!("/channels/{channel}"),
                None,
            )
            .await?;
        // 1 DM, 3 group DM, 12 private thread.
        Ok(matches!(got["type"].as_i64(), Some(1 | 3 | 12)))
    }

    /// Where a message to a victim about a case goes: the case's private thread (opened on
    /// the first message, the victim added), or their DMs where no thread can be had.
    async fn victim_channel(&self, user: u64, case: &CaseId) -> Result<u64, Failure> {
        let Some(store) = &self.store else {
            return self.dm(user).await;
        };
        let thread = match store
            .get_setting(&thread_key(case))
            .await
            .map_err(db_unavailable)?
        {
            Some(v) if v == NO_THREAD => return self.dm(user).await,
            Some(v) => v.parse::<u64>().ok(),
            None => None,
        };
        let thread = match thread {
            Some(t) => t,
            None => {
                let origin = store
                    .get_setting(&origin_key(case))
                    .await
                    .map_err(db_unavailable)?
                    .and_then(|v| v.parse::<u64>().ok());
                let Some(parent) = self.channels.cases.or(origin) else {
                    return self.dm(user).await;
                };
                match self.thread_once(store, parent, case).await {
                    Ok(t) => t,
                    Err(f) if matches!(f.error, SendError::Permanent(_)) => {
                        // No rights to make threads there, or the server's limit: DMs, and
                        // the moderators are told why.
                        let reason = f.error.to_string();
                        tracing::warn!(case = %case, error = %reason, "cannot open a case thread; writing to the victim's DMs");
                        store
                            .put_setting(&thread_key(case), NO_THREAD)
                            .await
                            .map_err(db_unavailable)?;
                        self.tell_moderators_no_thread(case, &reason).await;
                        return self.dm(user).await;
                    }
                    Err(f) => return Err(f),
                }
            }
        };
        let added = self
            .joined
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&thread);
        if !added {
            self.call(
                reqwest::Method::PUT,
                &format!("channel:{thread}"),
                &format!("/channels/{thread}/thread-members/{user}"),
                None,
            )
            .await?;
            self.joined
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(thread);
        }
        Ok(thread)
    }

    /// Opens the case's thread once, however many instances and retries ask: one instance at
    /// a time (a short lease per case), and a retry after an answer that was lost (or a crash
    /// before the thread was noted) finds the thread made before instead of making another.
    async fn thread_once(
        &self,
        store: &crate::store::SqlStore,
        parent: u64,
        case: &CaseId,
    ) -> Result<u64, Failure> {
        let lease = format!("discord/thread-open/{case}");
        let now = self.clock.now();
        let held = store
            .hold_lease(
                &lease,
                &self.holder,
                now + chrono::Duration::seconds(30),
                now,
            )
            .await
            .map_err(db_unavailable)?;
        if !held {
            return Err(SendError::RetryAfter {
                after: Duration::from_secs(5),
                reason: "another instance is opening the case's thread".to_string(),
            }
            .into());
        }
        let made = self.thread_once_held(store, parent, case).await;
        if let Err(e) = store.drop_lease(&lease, &self.holder).await {
            tracing::info!(error = %e, "could not hand back a case thread's lease; it runs out by itself");
        }
        made
    }

    async fn thread_once_held(
        &self,
        store: &crate::store::SqlStore,
        parent: u64,
        case: &CaseId,
    ) -> Result<u64, Failure> {
        // Another instance may have opened it meanwhile.
        let noted = store
            .get_setting(&thread_key(case))
            .await
            .map_err(db_unavailable)?;
        if let Some(t) = noted.and_then(|v| v.parse::<u64>().ok()) {
            return Ok(t);
        }
        let pending = format!("discord/thread-pending/{case}");
        let tried = store
            .get_setting(&pending)
            .await
            .map_err(db_unavailable)?
            .is_some();
        let found = if tried {
            self.find_thread(parent, case).await?
        } else {
            None
        };
        let thread = match found {
            Some(t) => t,
            None => {
                store
                    .put_setting(&pending, &parent.to_string())
                    .await
                    .map_err(db_unavailable)?;
                self.open_thread(parent, case).await?
            }
        };
        store
            .put_setting(&thread_key(case), &thread.to_string())
            .await
            .map_err(db_unavailable)?;
        store
            .put_setting(&thread_case_key(thread), case.as_str())
            .await
            .map_err(db_unavailable)?;
        Ok(thread)
    }

    /// The case's thread under `parent` if an earlier attempt made it (the server's active
    /// threads, by name).
    async fn find_thread(&self, parent: u64, case: &CaseId) -> Result<Option<u64>, Failure> {
        let guild = match self.channels.guild {
            Some(g) => g,
            None => {
                let channel = self
                    .call(
                        reqwest::Method::GET,
                        &format!("channel:{parent}"),
                        &format!("/channels/{parent}"),
                        None,
                    )
                    .await?;
                snowflake(&channel["guild_id"]).ok_or_else(|| {
                    Failure::from(SendError::Retry(
                        "Discord named no server for the case channel".to_string(),
                    ))
                })?
            }
        };
        let active = self
            .call(
                reqwest::Method::GET,
                &format!("guild:{guild}"),
                &format!("/guilds/{guild}/threads/active"),
                None,
            )
            .await?;
        let name = format!("Case {case}");
        Ok(active["threads"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["name"] == name.as_str() && snowflake(&t["parent_id"]) == Some(parent))
            .and_then(|t| snowflake(&t["id"])))
    }

    /// A private thread for a case (not invitable: only the bot adds people).
    async fn open_thread(&self, parent: u64, case: &CaseId) -> Result<u64, Failure> {
        let got = self
            .call(
                reqwest::Method::POST,
                &format!("threads:{parent}"),
                &format!("/channels/{parent}/threads"),
                Some(RequestBody::Json(json!({
                    "name": format!("Case {case}"),
                    "type": 12,
                    "invitable": false,
                    "auto_archive_duration": 10080,
                }))),
            )
            .await
            .map_err(|f| match (f.code, &f.error) {
                // Too many active threads, or a 403 (no rights): will not get better by retrying.
                (Some(160006 | 160007 | 50001 | 50013), _) | (_, SendError::Permanent(_)) => {
                    Failure {
                        error: SendError::Permanent(f.error.to_string()),
                        code: f.code,
                    }
                }
                _ => f,
            })?;
        snowflake(&got["id"]).ok_or_else(|| {
            SendError::Retry("Discord made a thread without an ID".to_string()).into()
        })
    }

    async fn tell_moderators_no_thread(&self, case: &CaseId, reason: &str) {
        let Some(mods) = self.channels.moderators else {
            return;
        };
        let text = format!(
            "I could not open a private thread for case {case} ({reason}). The victim gets DMs instead. Check that I may create private threads in the case channel, and the server's limit on active threads."
        );
        let body = render::body(&text, &[], Some(&nonce(&format!("nothread:{case}"), 0)));
        if let Err(f) = self
            .call(
                reqwest::Method::POST,
                &format!("channel:{mods}"),
                &format!("/channels/{mods}/messages"),
                Some(RequestBody::Json(body)),
            )
            .await
        {
            tracing::warn!(error = %f.error, "could not tell the moderators about a missing case thread");
        }
    }

    async fn send_new(&self, item: &OutboxItem) -> Result<Option<MessageRef>, Failure> {
        let channel = match (&item.to, &item.case_id) {
            (
                Recipient::User {
                    user: UserRef::Discord(user),
                },
                Some(case),
            ) => self.victim_channel(*user, case).await?,
            _ => self.channel_of(&item.to).await?,
        };
        if item.meta.private
            && matches!(item.to, Recipient::Chat { .. })
            && !self.is_private_channel(channel).await?
        {
            return Err(SendError::Permanent(
                "a private answer is not posted in a channel others read".to_string(),
            )
            .into());
        }
        let route = format!("channel:{channel}");
        let path = format!("/channels/{channel}/messages");
        let parts = render_parts(item);
        let last = parts.len() - 1;
        let mut sent = None;
        for (i, part) in parts.into_iter().enumerate() {
            let buttons = if i == last {
                &item.meta.buttons[..]
            } else {
                &[]
            };
            let mut body = render::body(&part, buttons, Some(&nonce(&item.key, i)));
            if i == 0
                && let Some(MessageRef::Discord {
                    channel: c,
                    message,
                }) = &item.meta.reply_to
                && *c == channel
            {
                body["message_reference"] =
                    json!({ "message_id": message.to_string(), "fail_if_not_exists": false });
            }
            let request = with_file(body, item.attachment.as_ref().filter(|_| i == last));
            let got = self
                .call(reqwest::Method::POST, &route, &path, Some(request))
                .await
                .map_err(|f| unreachable_if_dm(f, &item.to))?;
            sent = snowflake(&got["id"]).map(|message| MessageRef::Discord { channel, message });
        }
        Ok(sent)
    }

    // ----- interactions: answers in place ---------------------------------------------------

    /// The first response to an interaction (`POST /interactions/{id}/{token}/callback`):
    /// a deferral, a modal, an update of the message a button is on.
    pub async fn interaction_callback(
        &self,
        id: u64,
        token: &str,
        body: Value,
    ) -> Result<(), SendError> {
        self.call(
            reqwest::Method::POST,
            "interaction",
            &format!("/interactions/{id}/{token}/callback"),
            Some(RequestBody::Json(body)),
        )
        .await
        .map(|_| ())
        .map_err(|f| f.error)
    }

    /// A follow-up on an interaction's token (ephemeral when the message is private), in
    /// parts when long, the file with the last part. The reference is the last part's, for a
    /// message others can see; an ephemeral one cannot be changed through a channel.
    pub async fn followup(
        &self,
        application: u64,
        token: &str,
        item: &OutboxItem,
    ) -> Result<Option<MessageRef>, SendError> {
        let parts = render_parts(item);
        let last = parts.len() - 1;
        let mut sent = None;
        for (i, part) in parts.into_iter().enumerate() {
            let buttons = if i == last {
                &item.meta.buttons[..]
            } else {
                &[]
            };
            let mut body = render::body(&part, buttons, None);
            if item.meta.private {
                body["flags"] = json!(render::EPHEMERAL);
            }
            let request = with_file(body, item.attachment.as_ref().filter(|_| i == last));
            let got = self
                .call(
                    reqwest::Method::POST,
                    "interaction",
                    &format!("/webhooks/{application}/{token}"),
                    Some(request),
                )
                .await
                .map_err(|f| f.error)?;
            sent = match (
                item.meta.private,
                snowflake(&got["channel_id"]),
                snowflake(&got["id"]),
            ) {
                (false, Some(channel), Some(message)) => {
                    Some(MessageRef::Discord { channel, message })
                }
                _ => None,
            };
        }
        Ok(sent)
    }

    /// Replaces the message an interaction answers (`PATCH …/messages/@original`): the
    /// message a pressed button is on, ephemeral or not.
    pub async fn edit_original(
        &self,
        application: u64,
        token: &str,
        item: &OutboxItem,
    ) -> Result<(), SendError> {
        let text = crate::platforms::text::truncate(&item.text, render::MAX_TEXT);
        let body = render::body(&text, &item.meta.buttons, None);
        self.call(
            reqwest::Method::PATCH,
            "interaction",
            &format!("/webhooks/{application}/{token}/messages/@original"),
            Some(RequestBody::Json(body)),
        )
        .await
        .map(|_| ())
        .map_err(|f| f.error)
    }

    /// Deletes a message in a channel (a secret posted where others read it). `Ok` when it
    /// is gone, whoever removed it.
    pub async fn delete_message(&self, channel: u64, message: u64) -> Result<(), SendError> {
        match self
            .call(
                reqwest::Method::DELETE,
                &format!("delete:{channel}"),
                &format!("/channels/{channel}/messages/{message}"),
                None,
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(f) if matches!(f.code, Some(UNKNOWN_MESSAGE | UNKNOWN_CHANNEL)) => Ok(()),
            Err(f) => Err(f.error),
        }
    }

    fn target(item: &OutboxItem) -> Result<(u64, u64), Failure> {
        match &item.target {
            Some(MessageRef::Discord { channel, message }) => Ok((*channel, *message)),
            Some(_) => Err(SendError::Permanent(
                "the message to change is not on Discord".to_string(),
            )
            .into()),
            None => Err(SendError::Permanent(
                "the platform gave no reference for the message to change".to_string(),
            )
            .into()),
        }
    }

    async fn edit(&self, item: &OutboxItem) -> Result<Option<MessageRef>, Failure> {
        let (channel, message) = Self::target(item)?;
        let text = crate::platforms::text::truncate(&item.text, render::MAX_TEXT);
        let body = render::body(&text, &item.meta.buttons, None);
        self.call(
            reqwest::Method::PATCH,
            &format!("channel:{channel}"),
            &format!("/channels/{channel}/messages/{message}"),
            Some(RequestBody::Json(body)),
        )
        .await?;
        Ok(item.target.clone())
    }

    async fn delete(&self, item: &OutboxItem) -> Result<Option<MessageRef>, Failure> {
        let (channel, message) = Self::target(item)?;
        self.delete_message(channel, message)
            .await
            .map(|()| None)
            .map_err(Failure::from)
    }
}

enum RequestBody {
    Json(Value),
    Form(reqwest::multipart::Form),
}

/// A message body, as multipart with the file when there is one.
fn with_file(mut body: Value, file: Option<&Attachment>) -> RequestBody {
    let Some(a) = file else {
        return RequestBody::Json(body);
    };
    body["attachments"] = json!([{ "id": 0, "filename": a.filename }]);
    let bytes = || reqwest::multipart::Part::bytes(a.content.clone().into_bytes());
    let part = bytes()
        .file_name(a.filename.clone())
        .mime_str(&a.content_type)
        .unwrap_or_else(|_| bytes().file_name(a.filename.clone()));
    RequestBody::Form(
        reqwest::multipart::Form::new()
            .text("payload_json", body.to_string())
            .part("files[0]", part),
    )
}

/// A person who cannot be written to (DMs closed, not in a shared server) is unreachable.
fn unreachable_if_dm(f: Failure, to: &Recipient) -> Failure {
    match (to, f.code) {
        (Recipient::User { .. }, Some(CANNOT_DM | UNKNOWN_CHANNEL)) => Failure {
            error: SendError::Unreachable(f.error.to_string()),
            code: f.code,
        },
        _ => f,
    }
}

fn render_parts(item: &OutboxItem) -> Vec<String> {
    match &item.attachment {
        // A file's name says what it is; the text (if any) goes with it.
        Some(a) if item.text == a.filename || item.text.trim().is_empty() => {
            vec![a.filename.clone()]
        }
        _ => crate::platforms::text::split(&item.text, render::MAX_TEXT),
    }
}

/// What the settings hold for a case that cannot have a thread.
const NO_THREAD: &str = "dm";

/// The settings key of a case's thread.
pub fn thread_key(case: &CaseId) -> String {
    format!("discord/thread/{case}")
}

/// The settings key of the case a thread is for.
pub fn thread_case_key(thread: u64) -> String {
    format!("discord/thread-case/{thread}")
}

/// The settings key of the channel a case was reported from (where its thread opens when no
/// case channel is configured).
pub fn origin_key(case: &CaseId) -> String {
    format!("discord/origin/{case}")
}

/// The nonce of one part of one outbox row: the same on every retry, 24 characters (Discord
/// allows 25).
pub fn nonce(key: &str, part: usize) -> String {
    let digest = Sha256::digest(format!("{key}#{part}").as_bytes());
    hex::encode(&digest[..12])
}

fn db_unavailable(e: crate::core::ports::StoreError) -> Failure {
    Failure::from(SendError::Retry(format!(
        "the database did not answer: {e}"
    )))
}

fn snowflake(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

fn header(h: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_ascii_lowercase())
}

/// How long a 429 asks to wait: `Retry-After` (seconds, possibly fractional), else
/// `X-RateLimit-Reset-After`, else the body's `retry_after`; at least 50 ms, at most an hour.
fn retry_after(h: &reqwest::header::HeaderMap, body: &Value) -> Duration {
    let secs = header(h, "retry-after")
        .and_then(|s| s.parse::<f64>().ok())
        .or_else(|| header(h, "x-ratelimit-reset-after").and_then(|s| s.parse::<f64>().ok()))
        .or_else(|| body["retry_after"].as_f64())
        .unwrap_or(1.0);
    Duration::from_secs_f64(secs.clamp(0.05, 3600.0))
}

impl Sink for DiscordSink {
    async fn send(&self, item: &OutboxItem) -> Result<Option<MessageRef>, SendError> {
        let done = match item.meta.op {
            Op::Send => self.send_new(item).await,
            Op::Edit { .. } => self.edit(item).await,
            Op::Delete { .. } => self.delete(item).await,
        };
        done.map_err(|f| f.error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_stable_per_row_and_part_and_fit_discord() {
        assert_eq!(nonce("n:abc", 0), nonce("n:abc", 0));
        assert_ne!(nonce("n:abc", 0), nonce("n:abc", 1));
        assert_ne!(nonce("n:abc", 0), nonce("n:abd", 0));
        assert!(nonce("k", 0).len() <= 25);
    }

    #[test]
    fn retry_after_reads_the_header_then_the_body() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(
            retry_after(&h, &json!({"retry_after": 2.5})),
            Duration::from_millis(2500)
        );
        h.insert("retry-after", "0.3".parse().unwrap());
        assert_eq!(
            retry_after(&h, &json!({"retry_after": 9})),
            Duration::from_millis(300)
        );
        assert_eq!(
            retry_after(&reqwest::header::HeaderMap::new(), &Value::Null),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn the_base_url_gains_the_api_version() {
        let mut s = DiscordSettings::default();
        assert_eq!(s.rest_base(), "https://discord.com/api/v10");
        s.api_url = Some(url::Url::parse("http://127.0.0.1:9000").unwrap());
        assert_eq!(s.rest_base(), "http://127.0.0.1:9000/api/v10");
        s.api_url = Some(url::Url::parse("http://127.0.0.1:9000/api/v10/").unwrap());
        assert_eq!(s.rest_base(), "http://127.0.0.1:9000/api/v10");
    }
}
