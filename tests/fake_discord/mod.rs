//! A small Discord on 127.0.0.1 for the Discord tests. REST: the routes the bot uses (channel
//! messages: create with `nonce`/`enforce_nonce`, edit, delete; opening a DM; `GET /gateway`;
//! registering commands; interaction callbacks, follow-ups and `@original` edits), every call
//! recorded, and faults on demand: 429 with Discord's headers and body (per route, global or
//! shared), 500, 403 with Discord's JSON error codes, a dropped connection, and a message
//! created whose answer is lost. Gateway: a WebSocket that says HELLO, takes IDENTIFY, sends
//! READY, answers heartbeats and delivers the events a test injects (INTERACTION_CREATE,
//! MESSAGE_CREATE). The real sink and the real poise/serenity client run against it.

#![allow(dead_code)]

pub mod live;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_util::sync::CancellationToken;

pub const TOKEN: &str = "MTIzNDU2Nzg5.discord-test-token-never-logged";
pub const APP_ID: u64 = 777_000_000_000_001;
pub const BOT_ID: u64 = 777_000_000_000_002;
/// The community's server in the tests.
pub const GUILD: u64 = 333_000_000_000_001;

#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// 429 for one route: `Retry-After` seconds (fractional allowed).
    TooMany(f64),
    /// 429 with `X-RateLimit-Global: true`.
    GlobalTooMany(f64),
    ServerError,
    /// 403 with this Discord JSON error code.
    Forbidden(i64),
    Drop,
    /// Create the message, then drop the connection without answering.
    LoseAnswer,
    /// Answer as usual, this much later.
    Slow(std::time::Duration),
}

#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub authorization: String,
    pub body: Value,
    /// The status it was answered with (0: dropped).
    pub status: u16,
    pub answered: Value,
}

impl Call {
    pub fn content(&self) -> String {
        self.body["content"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
    /// The buttons' (label, custom_id or url).
    pub fn buttons(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for row in self.body["components"].as_array().into_iter().flatten() {
            for b in row["components"].as_array().into_iter().flatten() {
                out.push((
                    b["label"].as_str().unwrap_or_default().to_string(),
                    b["custom_id"]
                        .as_str()
                        .or_else(|| b["url"].as_str())
                        .unwrap_or_default()
                        .to_string(),
                ));
            }
        }
        out
    }
    pub fn channel(&self) -> Option<u64> {
        let mut parts = self.path.split('/');
        while let Some(p) = parts.next() {
            if p == "channels" {
                return parts.next().and_then(|c| c.parse().ok());
            }
        }
        None
    }
}

#[derive(Default)]
struct State {
    next_id: u64,
    calls: Vec<Call>,
    /// (method and path prefix, calls to let through first, fault).
    faults: Vec<(String, usize, Fault)>,
    /// Messages that exist: (channel, id) → content.
    messages: HashMap<(u64, u64), String>,
    /// (channel, nonce) → message ID, for `enforce_nonce`.
    nonces: HashMap<(u64, String), u64>,
    /// Users whose DMs are closed: a message to their DM channel is a 403 (50007).
    closed: HashSet<u64>,
    /// DM channel → user.
    dms: HashMap<u64, u64>,
    /// The WebSocket address `GET /gateway` names.
    gateway: String,
    /// Gateway sessions that identified and are still open: where injected events go.
    sessions: Vec<(u64, mpsc::UnboundedSender<Value>)>,
    next_session: u64,
    /// Every IDENTIFY received (how many times a bot connected).
    identifies: usize,
    /// The most sessions open at once.
    most_sessions: usize,
    /// Interaction token → the channel the interaction came from (for follow-ups).
    tokens: HashMap<String, u64>,
    /// Follow-ups and `@original` edits per interaction token, in order: (flags, body).
    answers: HashMap<String, Vec<Value>>,
    /// Threads: id → (parent channel, the body it was created with).
    threads: HashMap<u64, (u64, Value)>,
    /// (thread, user) added as members.
    members: HashSet<(u64, u64)>,
}

pub struct FakeDiscord {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: CancellationToken,
    /// Notified on every call and gateway event.
    called: Arc<Notify>,
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl FakeDiscord {
    pub async fn start() -> FakeDiscord {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            next_id: 900_000_000_000_000,
            ..State::default()
        }));
        let stop = CancellationToken::new();
        let called = Arc::new(Notify::new());
        let ws = TcpListener::bind("127.0.0.1:0").await.unwrap();
        lock(&state).gateway = format!("ws://{}", ws.local_addr().unwrap());
        let (st, cancel, n) = (state.clone(), stop.clone(), called.clone());
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = cancel.cancelled() => return,
                    a = listener.accept() => a,
                };
                let Ok((stream, _)) = accepted else { continue };
                let (st, n) = (st.clone(), n.clone());
                tokio::spawn(async move {
                    let _ = serve(st, stream, n).await;
                });
            }
        });
        let (st, cancel, n) = (state.clone(), stop.clone(), called.clone());
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = cancel.cancelled() => return,
                    a = ws.accept() => a,
                };
                let Ok((stream, _)) = accepted else { continue };
                let (st, n, cancel) = (st.clone(), n.clone(), cancel.clone());
                tokio::spawn(async move {
                    let _ = gateway(st, stream, n, cancel).await;
                });
            }
        });
        FakeDiscord {
            addr,
            state,
            stop,
            called,
        }
    }

    /// Waits (up to `within`) until `done` holds for the calls so far; panics with them if not.
    pub async fn until<F: Fn(&[Call]) -> bool>(
        &self,
        what: &str,
        within: std::time::Duration,
        done: F,
    ) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.called.notified();
            if done(&self.lock().calls) {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let summary: Vec<String> = self
                    .calls()
                    .iter()
                    .map(|c| format!("{} {} {} {}", c.status, c.method, c.path, short(&c.body)))
                    .collect();
                panic!("waited for {what}; calls so far:\n{}", summary.join("\n"));
            }
        }
    }

    /// Waits until a bot is connected and has registered its commands.
    pub async fn until_ready(&self, within: std::time::Duration) {
        self.until("a connected bot with its commands", within, |calls| {
            calls
                .iter()
                .any(|c| c.method == "PUT" && c.path.ends_with("/commands"))
        })
        .await;
        self.until_gateway("a gateway session", within, |_, sessions| sessions > 0)
            .await;
    }

    /// Waits until the gateway's (identifies, open sessions) satisfy `done`.
    pub async fn until_gateway<F: Fn(usize, usize) -> bool>(
        &self,
        what: &str,
        within: std::time::Duration,
        done: F,
    ) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.called.notified();
            if done(self.identifies(), self.sessions()) {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "waited for {what}: {} identifies, {} sessions",
                    self.identifies(),
                    self.sessions()
                );
            }
        }
    }

    /// The threads made under `parent`: (thread ID, the body it was created with).
    pub fn threads_in(&self, parent: u64) -> Vec<(u64, Value)> {
        let s = self.lock();
        let mut t: Vec<(u64, Value)> = s
            .threads
            .iter()
            .filter(|(_, (p, _))| *p == parent)
            .map(|(id, (_, b))| (*id, b.clone()))
            .collect();
        t.sort_by_key(|(id, _)| *id);
        t
    }

    pub fn is_member(&self, thread: u64, user: u64) -> bool {
        self.lock().members.contains(&(thread, user))
    }

    /// Open gateway sessions.
    pub fn sessions(&self) -> usize {
        self.lock().sessions.len()
    }

    /// The most gateway sessions that were ever open at once.
    pub fn most_sessions(&self) -> usize {
        self.lock().most_sessions
    }

    pub fn identifies(&self) -> usize {
        self.lock().identifies
    }

    /// Sends a dispatch event to every open session; how many got it.
    pub fn dispatch(&self, event: &str, d: Value) -> usize {
        let mut s = self.lock();
        if event == "INTERACTION_CREATE"
            && let (Some(token), Some(channel)) = (d["token"].as_str(), d["channel_id"].as_str())
        {
            let channel = channel.parse().unwrap_or(0);
            s.tokens.insert(token.to_string(), channel);
        }
        let frame = json!({ "op": 0, "t": event, "d": d });
        s.sessions.retain(|(_, tx)| tx.send(frame.clone()).is_ok());
        s.sessions.len()
    }

    /// What was answered on an interaction's token: follow-ups and edits, in order.
    pub fn answers_to(&self, token: &str) -> Vec<Value> {
        self.lock().answers.get(token).cloned().unwrap_or_default()
    }

    /// The interaction callbacks for one interaction: their `type`s, in order.
    pub fn callbacks(&self, interaction: u64) -> Vec<u64> {
        let prefix = format!("/interactions/{interaction}/");
        self.calls()
            .iter()
            .filter(|c| c.method == "POST" && c.path.contains(&prefix))
            .filter_map(|c| c.body["type"].as_u64())
            .collect()
    }

    /// The bodies of the interaction callbacks for one interaction, in order.
    pub fn callback_bodies(&self, interaction: u64) -> Vec<Value> {
        let prefix = format!("/interactions/{interaction}/");
        self.calls()
            .into_iter()
            .filter(|c| c.method == "POST" && c.path.contains(&prefix))
            .map(|c| c.body)
            .collect()
    }

    /// `discord.api_url` for this fake.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The call of `route` (a prefix of "POST /channels/5/messages"; "POST " for every
    /// creation) after the next `pass` ones fails so (once).
    pub fn fail_after(&self, route: &str, pass: usize, fault: Fault) {
        self.lock().faults.push((route.to_string(), pass, fault));
    }

    pub fn fail(&self, route: &str, fault: Fault) {
        self.fail_after(route, 0, fault);
    }

    /// Makes `channel` the DM channel between the bot and `user`.
    pub fn add_dm(&self, channel: u64, user: u64) {
        self.lock().dms.insert(channel, user);
    }

    pub fn close_dms(&self, user: u64) {
        self.lock().closed.insert(user);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The messages that exist in a channel, oldest first (what its members see).
    pub fn messages_in(&self, channel: u64) -> Vec<String> {
        let s = self.lock();
        let mut m: Vec<(u64, String)> = s
            .messages
            .iter()
            .filter(|((c, _), _)| *c == channel)
            .map(|((_, id), text)| (*id, text.clone()))
            .collect();
        m.sort();
        m.into_iter().map(|(_, t)| t).collect()
    }

    /// The channels holding a message with exactly this content, one entry per message.
    pub fn channels_with(&self, content: &str) -> Vec<u64> {
        let s = self.lock();
        let mut c: Vec<u64> = s
            .messages
            .iter()
            .filter(|(_, t)| t.as_str() == content)
            .map(|((c, _), _)| *c)
            .collect();
        c.sort();
        c
    }

    /// The DM channel the fake opened for `user`.
    pub fn dm_of(&self, user: u64) -> Option<u64> {
        self.lock()
            .dms
            .iter()
            .find(|(_, u)| **u == user)
            .map(|(c, _)| *c)
    }

    /// Successful message creations in a channel, in order.
    pub fn posts_to(&self, channel: u64) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == "POST" && c.status == 200 && c.channel() == Some(channel))
            .collect()
    }
}

fn lock(st: &Mutex<State>) -> MutexGuard<'_, State> {
    st.lock().unwrap_or_else(PoisonError::into_inner)
}

fn fault(st: &Mutex<State>, route: &str) -> Option<Fault> {
    let mut s = lock(st);
    let i = s
        .faults
        .iter()
        .position(|(r, _, _)| route.starts_with(r.as_str()))?;
    if s.faults[i].1 > 0 {
        s.faults[i].1 -= 1;
        return None;
    }
    Some(s.faults.remove(i).2)
}

pub fn message(id: u64, channel: u64, content: &str) -> Value {
    json!({
        "id": id.to_string(), "channel_id": channel.to_string(), "type": 0,
        "author": { "id": BOT_ID.to_string(), "username": "Recourse", "discriminator": "0",
                    "avatar": null, "bot": true },
        "content": content, "timestamp": "2026-12-04T00:00:00+00:00", "edited_timestamp": null,
        "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
        "attachments": [], "embeds": [], "pinned": false,
    })
}

/// What one request is answered with: status, extra headers, body (None: drop).
type Answer = (u16, Vec<(&'static str, String)>, Option<Value>);

fn route(method: &str, path: &str) -> String {
    format!("{method} {}", path.trim_start_matches("/api/v10"))
}

fn answer(st: &Mutex<State>, method: &str, path: &str, body: &Value, f: Option<Fault>) -> Answer {
    let mut lose = false;
    match f {
        Some(Fault::TooMany(s)) => {
            return (
                429,
                vec![
                    ("Retry-After", format!("{s}")),
                    ("X-RateLimit-Scope", "user".into()),
                    ("X-RateLimit-Bucket", "abcd".into()),
                ],
                Some(
                    json!({"message": "You are being rate limited.", "retry_after": s, "global": false}),
                ),
            );
        }
        Some(Fault::GlobalTooMany(s)) => {
            return (
                429,
                vec![
                    ("Retry-After", format!("{s}")),
                    ("X-RateLimit-Global", "true".into()),
                    ("X-RateLimit-Scope", "global".into()),
                ],
                Some(
                    json!({"message": "You are being rate limited.", "retry_after": s, "global": true}),
                ),
            );
        }
        Some(Fault::ServerError) => {
            return (
                500,
                vec![],
                Some(json!({"message": "500: Internal Server Error", "code": 0})),
            );
        }
        Some(Fault::Forbidden(code)) => {
            return (
                403,
                vec![],
                Some(json!({"message": "Missing Access", "code": code})),
            );
        }
        Some(Fault::Drop) => return (0, vec![], None),
        Some(Fault::LoseAnswer) => lose = true,
        Some(Fault::Slow(_)) | None => {}
    }
    let parts: Vec<&str> = path.trim_start_matches("/api/v10/").split('/').collect();
    let mut s = lock(st);
    match (method, parts.as_slice()) {
        ("POST", ["users", "@me", "channels"]) => {
            let user: u64 = body["recipient_id"]
                .as_str()
                .and_then(|u| u.parse().ok())
                .unwrap_or(0);
            let channel = match s.dms.iter().find(|(_, u)| **u == user) {
                Some((c, _)) => *c,
                None => {
                    s.next_id += 1;
                    let c = s.next_id;
                    s.dms.insert(c, user);
                    c
                }
            };
            (
                200,
                vec![],
                Some(json!({"id": channel.to_string(), "type": 1,
                "recipients": [{"id": user.to_string(), "username": "u", "discriminator": "0", "avatar": null}]})),
            )
        }
        ("POST", ["channels", c, "messages"]) => {
            let channel: u64 = c.parse().unwrap_or(0);
            if s.dms.get(&channel).is_some_and(|u| s.closed.contains(u)) {
                return (
                    403,
                    vec![],
                    Some(json!({"message": "Cannot send messages to this user", "code": 50007})),
                );
            }
            let content = body["content"].as_str().unwrap_or_default().to_string();
            let nonce = body["nonce"].as_str().map(str::to_string);
            if body["enforce_nonce"] == json!(true)
                && let Some(n) = &nonce
                && let Some(id) = s.nonces.get(&(channel, n.clone()))
            {
                // Discord answers a repeated nonce with the message it already created.
                let id = *id;
                return (200, vec![], Some(message(id, channel, &content)));
            }
            s.next_id += 1;
            let id = s.next_id;
            s.messages.insert((channel, id), content.clone());
            if let Some(n) = nonce {
                s.nonces.insert((channel, n), id);
            }
            if lose {
                return (0, vec![], None);
            }
            (200, vec![], Some(message(id, channel, &content)))
        }
        ("GET", ["gateway"]) | ("GET", ["gateway", "bot"]) => (
            200,
            vec![],
            Some(json!({"url": s.gateway, "shards": 1,
                "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}})),
        ),
        ("PUT", ["applications", _, "commands"])
        | ("PUT", ["applications", _, "guilds", _, "commands"]) => {
            let mut registered = Vec::new();
            for c in body.as_array().into_iter().flatten() {
                s.next_id += 1;
                let mut c = c.clone();
                c["id"] = json!(s.next_id.to_string());
                c["application_id"] = json!(APP_ID.to_string());
                c["version"] = json!("1");
                c["default_member_permissions"] = Value::Null;
                c["type"] = c.get("type").cloned().unwrap_or(json!(1));
                registered.push(c);
            }
            (200, vec![], Some(Value::Array(registered)))
        }
        ("POST", ["interactions", _, _, "callback"]) => (204, vec![], Some(Value::Null)),
        ("POST", ["webhooks", _, token]) => {
            let token = token.split('?').next().unwrap_or_default().to_string();
            let channel = s.tokens.get(&token).copied().unwrap_or(0);
            s.next_id += 1;
            let id = s.next_id;
            s.answers.entry(token).or_default().push(body.clone());
            let mut m = message(id, channel, body["content"].as_str().unwrap_or_default());
            m["flags"] = body.get("flags").cloned().unwrap_or(json!(0));
            (200, vec![], Some(m))
        }
        ("PATCH", ["webhooks", _, token, "messages", "@original"]) => {
            let token = token.to_string();
            let channel = s.tokens.get(&token).copied().unwrap_or(0);
            s.answers.entry(token).or_default().push(body.clone());
            (
                200,
                vec![],
                Some(message(
                    1,
                    channel,
                    body["content"].as_str().unwrap_or_default(),
                )),
            )
        }
        ("POST", ["channels", c, "threads"]) => {
            let parent: u64 = c.parse().unwrap_or(0);
            s.next_id += 1;
            let id = s.next_id;
            s.threads.insert(id, (parent, body.clone()));
            if lose {
                return (0, vec![], None);
            }
            (
                201,
                vec![],
                Some(
                    json!({"id": id.to_string(), "type": 12, "parent_id": parent.to_string(),
                    "name": body["name"], "guild_id": GUILD.to_string()}),
                ),
            )
        }
        ("GET", ["guilds", _, "threads", "active"]) => {
            let threads: Vec<Value> = s
                .threads
                .iter()
                .map(|(id, (parent, b))| {
                    json!({"id": id.to_string(), "type": 12, "parent_id": parent.to_string(),
                           "name": b["name"], "guild_id": GUILD.to_string()})
                })
                .collect();
            (
                200,
                vec![],
                Some(json!({"threads": threads, "members": []})),
            )
        }
        ("PUT", ["channels", t, "thread-members", u]) => {
            let key = (t.parse().unwrap_or(0), u.parse().unwrap_or(0));
            s.members.insert(key);
            (204, vec![], Some(Value::Null))
        }
        ("GET", ["channels", c]) => {
            let channel: u64 = c.parse().unwrap_or(0);
            let kind = if s.dms.contains_key(&channel) {
                1
            } else if s.threads.contains_key(&channel) {
                12
            } else {
                0
            };
            (
                200,
                vec![],
                Some(json!({"id": channel.to_string(), "type": kind})),
            )
        }
        ("PATCH", ["channels", c, "messages", m]) => {
            let key = (c.parse().unwrap_or(0), m.parse().unwrap_or(0));
            let content = body["content"].as_str().unwrap_or_default().to_string();
            match s.messages.get_mut(&key) {
                Some(t) => {
                    *t = content.clone();
                    (200, vec![], Some(message(key.1, key.0, &content)))
                }
                None => (
                    404,
                    vec![],
                    Some(json!({"message": "Unknown Message", "code": 10008})),
                ),
            }
        }
        ("DELETE", ["channels", c, "messages", m]) => {
            let key = (c.parse().unwrap_or(0), m.parse().unwrap_or(0));
            match s.messages.remove(&key) {
                Some(_) => (204, vec![], Some(Value::Null)),
                None => (
                    404,
                    vec![],
                    Some(json!({"message": "Unknown Message", "code": 10008})),
                ),
            }
        }
        _ => (
            404,
            vec![],
            Some(json!({"message": "404: Not Found", "code": 0})),
        ),
    }
}

async fn serve(
    st: Arc<Mutex<State>>,
    stream: TcpStream,
    called: Arc<Notify>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    loop {
        let Some(req) = read_request(&mut reader).await? else {
            return Ok(());
        };
        let body = parse_body(&req);
        // Interaction callbacks and follow-ups are authorised by the interaction's token.
        let open = req.path.contains("/interactions/") || req.path.contains("/webhooks/");
        let (status, headers, answered) = if !open && req.authorization != format!("Bot {TOKEN}") {
            (
                401,
                vec![],
                Some(json!({"message": "401: Unauthorized", "code": 0})),
            )
        } else {
            let f = fault(&st, &route(&req.method, &req.path));
            if let Some(Fault::Slow(d)) = f {
                tokio::time::sleep(d).await;
            }
            answer(&st, &req.method, &req.path, &body, f)
        };
        lock(&st).calls.push(Call {
            method: req.method.clone(),
            path: req.path.clone(),
            authorization: req.authorization.clone(),
            body,
            status,
            answered: answered.clone().unwrap_or(Value::Null),
        });
        called.notify_waiters();
        let Some(answered) = answered else {
            return Ok(());
        };
        let text = if status == 204 {
            String::new()
        } else {
            answered.to_string()
        };
        let mut head = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            text.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let stream = reader.get_mut();
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(text.as_bytes()).await?;
        stream.flush().await?;
    }
}

struct Request {
    method: String,
    path: String,
    authorization: String,
    content_type: String,
    body: Vec<u8>,
}

/// A JSON body, or a multipart one's `payload_json` with `files` listing the file parts'
/// (filename, content).
fn parse_body(req: &Request) -> Value {
    if let Some(boundary) = req.content_type.split("boundary=").nth(1) {
        let text = String::from_utf8_lossy(&req.body).to_string();
        let mut payload = Value::Null;
        let mut files = Vec::new();
        for part in text.split(&format!("--{boundary}")) {
            let Some((head, content)) = part.split_once("\r\n\r\n") else {
                continue;
            };
            let content = content.trim_end_matches("\r\n").to_string();
            if head.contains("name=\"payload_json\"") {
                payload = serde_json::from_str(&content).unwrap_or(Value::Null);
            } else if let Some(f) = head.split("filename=\"").nth(1) {
                let name = f.split('"').next().unwrap_or_default();
                files.push(json!({"filename": name, "content": content}));
            }
        }
        payload["files"] = Value::Array(files);
        return payload;
    }
    serde_json::from_slice(&req.body).unwrap_or(Value::Null)
}

async fn read_request<R: tokio::io::AsyncBufRead + Unpin>(
    r: &mut R,
) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    if r.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    let mut words = line.split_whitespace();
    let method = words.next().unwrap_or_default().to_string();
    let path = words.next().unwrap_or_default().to_string();
    let (mut length, mut authorization, mut content_type) = (0usize, String::new(), String::new());
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).await? == 0 {
            return Ok(None);
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let (k, v) = (k.trim().to_lowercase(), v.trim().to_string());
            match k.as_str() {
                "content-length" => length = v.parse().unwrap_or(0),
                "authorization" => authorization = v,
                "content-type" => content_type = v,
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    r.read_exact(&mut body).await?;
    Ok(Some(Request {
        method,
        path,
        authorization,
        content_type,
        body,
    }))
}

fn short(v: &Value) -> String {
    let t = v.to_string();
    if t.len() > 300 {
        format!(
            "{}…",
            &t[..t.char_indices().nth(300).map(|(i, _)| i).unwrap_or(t.len())]
        )
    } else {
        t
    }
}

/// One gateway session: HELLO, IDENTIFY → READY, heartbeats acknowledged, injected events
/// delivered with a sequence number, until either side closes.
async fn gateway(
    st: Arc<Mutex<State>>,
    stream: TcpStream,
    called: Arc<Notify>,
    cancel: CancellationToken,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut ws = tokio_tungstenite::accept_async(stream).await?;
    ws.send(Ws::Text(
        json!({"op": 10, "d": {"heartbeat_interval": 41250}}).to_string(),
    ))
    .await?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Value>();
    let mut session = None;
    let mut seq = 0u64;
    let result = loop {
        tokio::select! {
            _ = cancel.cancelled() => break Ok(()),
            event = rx.recv() => {
                let Some(mut frame) = event else { break Ok(()) };
                seq += 1;
                frame["s"] = json!(seq);
                if let Err(e) = ws.send(Ws::Text(frame.to_string())).await {
                    break Err(e.into());
                }
            }
            got = ws.next() => {
                let text = match got {
                    Some(Ok(Ws::Text(t))) => t,
                    Some(Ok(Ws::Close(_))) | None => break Ok(()),
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => break Err(e.into()),
                };
                let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                match v["op"].as_u64() {
                    Some(1) => {
                        let _ = ws.send(Ws::Text(json!({"op": 11}).to_string())).await;
                    }
                    Some(2) | Some(6) => {
                        seq += 1;
                        let gateway = lock(&st).gateway.clone();
                        let ready = json!({"op": 0, "t": "READY", "s": seq, "d": {
                            "v": 10,
                            "user": {"id": BOT_ID.to_string(), "username": "Recourse",
                                     "discriminator": "0", "avatar": null, "bot": true},
                            "guilds": [], "session_id": format!("s{seq}"),
                            "resume_gateway_url": gateway, "shard": [0, 1],
                            "application": {"id": APP_ID.to_string(), "flags": 0}
                        }});
                        if let Err(e) = ws.send(Ws::Text(ready.to_string())).await {
                            break Err(e.into());
                        }
                        let mut s = lock(&st);
                        s.identifies += 1;
                        s.next_session += 1;
                        let id = s.next_session;
                        s.sessions.push((id, tx.clone()));
                        s.most_sessions = s.most_sessions.max(s.sessions.len());
                        session = Some(id);
                        drop(s);
                        called.notify_waiters();
                    }
                    _ => {}
                }
            }
        }
    };
    if let Some(id) = session {
        lock(&st).sessions.retain(|(s, _)| *s != id);
    }
    called.notify_waiters();
    result
}

// ----- what Discord sends: fixtures serenity reads ------------------------------------------

/// A server member, as interactions carry them.
pub fn member(user: u64, name: &str, roles: &[u64], permissions: u64) -> serde_json::Value {
    serde_json::json!({
        "user": {"id": user.to_string(), "username": name, "discriminator": "0",
                 "avatar": null, "global_name": name},
        "roles": roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        "joined_at": "2026-01-01T00:00:00+00:00", "deaf": false, "mute": false, "flags": 0,
        "permissions": permissions.to_string()
    })
}

/// A slash command used in a server channel, as Discord sends it.
pub fn slash(
    id: u64,
    name: &str,
    options: &[(&str, &str)],
    who: serde_json::Value,
    channel: u64,
    locale: &str,
) -> serde_json::Value {
    let options: Vec<serde_json::Value> = options
        .iter()
        .map(|(n, v)| serde_json::json!({"name": n, "type": 3, "value": v}))
        .collect();
    serde_json::json!({
        "id": id.to_string(), "application_id": APP_ID.to_string(), "type": 2,
        "token": format!("itoken{id}"), "channel_id": channel.to_string(),
        "guild_id": GUILD.to_string(), "member": who,
        "data": {"id": "1", "name": name, "type": 1, "options": options},
        "version": 1, "locale": locale, "guild_locale": "en-US", "entitlements": [],
        "attachment_size_limit": 8_388_608, "app_permissions": "0"
    })
}

/// An autocomplete request: `name` typed so far as `typed` into option `focused`, beside the
/// `options` already filled.
pub fn autocomplete(
    id: u64,
    command: &str,
    options: &[(&str, &str)],
    focused: (&str, &str),
    who: Value,
    channel: u64,
) -> Value {
    let mut v = slash(id, command, options, who, channel, "en-US");
    v["type"] = json!(4);
    let opts = v["data"]["options"].as_array_mut().unwrap();
    opts.push(json!({"name": focused.0, "type": 3, "value": focused.1, "focused": true}));
    v
}

/// A button pressed on a message in a server channel.
pub fn button(id: u64, custom_id: &str, on: &Call, who: serde_json::Value) -> serde_json::Value {
    // A channel message, or a follow-up (ephemeral, with its flags) in the interaction's channel.
    let channel = on
        .channel()
        .or_else(|| {
            on.answered["channel_id"]
                .as_str()
                .and_then(|c| c.parse().ok())
        })
        .expect("a message in a channel");
    let mut message = message(
        on.answered["id"].as_str().unwrap().parse().unwrap(),
        channel,
        &on.content(),
    );
    message["components"] = on.body["components"].clone();
    message["flags"] = on.answered["flags"].clone();
    serde_json::json!({
        "id": id.to_string(), "application_id": APP_ID.to_string(), "type": 3,
        "token": format!("itoken{id}"), "channel_id": channel.to_string(),
        "guild_id": GUILD.to_string(), "member": who, "message": message,
        "data": {"custom_id": custom_id, "component_type": 2},
        "version": 1, "locale": "en-US", "guild_locale": "en-US", "entitlements": [],
        "attachment_size_limit": 8_388_608, "app_permissions": "0"
    })
}

/// A message posted where the bot reads it (a server channel, or a DM when `guild` is false).
pub fn posted(
    id: u64,
    channel: u64,
    guild: bool,
    user: u64,
    name: &str,
    text: &str,
) -> serde_json::Value {
    let mut m = message(id, channel, text);
    m["author"] = serde_json::json!({"id": user.to_string(), "username": name,
        "discriminator": "0", "avatar": null, "global_name": name});
    if guild {
        m["guild_id"] = serde_json::json!(GUILD.to_string());
        m["member"] = serde_json::json!({"roles": [], "joined_at": "2026-01-01T00:00:00+00:00",
            "deaf": false, "mute": false, "flags": 0});
    }
    m
}

/// "Report to moderators" (a message context-menu command) used on `target`.
pub fn context_menu(id: u64, name: &str, target: Value, who: Value) -> Value {
    let message = target["id"].as_str().unwrap_or_default().to_string();
    let channel = target["channel_id"].clone();
    json!({
        "id": id.to_string(), "application_id": APP_ID.to_string(), "type": 2,
        "token": format!("itoken{id}"), "channel_id": channel,
        "guild_id": GUILD.to_string(), "member": who,
        "data": {"id": "2", "name": name, "type": 3, "target_id": message,
                 "resolved": {"messages": {message.clone(): target}}},
        "version": 1, "locale": "en-US", "guild_locale": "en-US", "entitlements": [],
        "attachment_size_limit": 8_388_608, "app_permissions": "0"
    })
}

/// The same message, its author holding these roles.
pub fn with_roles(mut m: Value, roles: &[u64]) -> Value {
    m["member"]["roles"] = json!(roles.iter().map(|r| r.to_string()).collect::<Vec<_>>());
    m
}

/// The report form submitted with these text fields (`custom_id`, value).
pub fn modal_submit(id: u64, fields: &[(&str, &str)], who: Value, channel: u64) -> Value {
    let rows: Vec<Value> = fields
        .iter()
        .map(|(k, v)| json!({"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]}))
        .collect();
    json!({
        "id": id.to_string(), "application_id": APP_ID.to_string(), "type": 5,
        "token": format!("itoken{id}"), "channel_id": channel.to_string(),
        "guild_id": GUILD.to_string(), "member": who,
        "data": {"custom_id": "recourse:report-form", "components": rows},
        "version": 1, "locale": "en-US", "guild_locale": "en-US", "entitlements": [],
        "attachment_size_limit": 8_388_608, "app_permissions": "0"
    })
}
