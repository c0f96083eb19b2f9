//! A small Bot API on 127.0.0.1 for the Telegram tests: `/bot<token>/<Method>` (any case),
//! the `{ok, result}` envelope, long-polling `getUpdates` with offsets, the methods the adapter
//! calls, injected updates, every call recorded, and faults on demand (429 with `retry_after`,
//! 500, 403, a dropped connection). The real teloxide client and the real adapter run against
//! it.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub const TOKEN: &str = "123456:TEST-token-never-logged";
pub const BOT_ID: i64 = 123456;
pub const BOT_USERNAME: &str = "RecourseTestBot";

/// A failure to answer one call with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429 Too Many Requests with `parameters.retry_after` seconds.
    TooMany(u32),
    /// 500 Internal Server Error.
    ServerError,
    /// 403 with this description ("Forbidden: bot was blocked by the user").
    Forbidden(String),
    /// 400 with this description.
    BadRequest(String),
    /// Close the connection without answering.
    Drop,
}

/// One call as it arrived: the method in lower case and its parameters (JSON or multipart
/// fields; a file's field holds `{"filename", "content"}`).
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub params: Value,
    /// What it was answered with (`None`: a fault).
    pub answered: Option<Value>,
}

impl Call {
    pub fn chat(&self) -> Option<i64> {
        as_i64(&self.params["chat_id"])
    }
    pub fn text(&self) -> String {
        self.params["text"]
            .as_str()
            .or_else(|| self.params["caption"].as_str())
            .unwrap_or_default()
            .to_string()
    }
    /// The inline keyboard's buttons: (label, callback data or URL).
    pub fn buttons(&self) -> Vec<(String, String)> {
        let markup = match &self.params["reply_markup"] {
            Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
            v => v.clone(),
        };
        let mut out = Vec::new();
        for row in markup["inline_keyboard"].as_array().into_iter().flatten() {
            for b in row.as_array().into_iter().flatten() {
                let label = b["text"].as_str().unwrap_or_default().to_string();
                let data = b["callback_data"]
                    .as_str()
                    .or_else(|| b["url"].as_str())
                    .unwrap_or_default()
                    .to_string();
                out.push((label, data));
            }
        }
        out
    }
    pub fn sent_message_id(&self) -> Option<i32> {
        self.answered
            .as_ref()
            .and_then(|a| a["message_id"].as_i64())
            .map(|v| v as i32)
    }
}

fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

#[derive(Default)]
struct State {
    /// Updates not yet confirmed (their IDs ascending).
    pending: VecDeque<Value>,
    next_update: i64,
    next_message: i64,
    next_callback: i64,
    calls: Vec<Call>,
    /// Faults for the next calls of a method (lower case; "*" for any but getUpdates).
    /// (method, calls of it to let through first, the fault).
    faults: Vec<(String, usize, Fault)>,
    admins: Vec<i64>,
    /// Users who never started the bot or blocked it: a send to them is a 403.
    blocked: Vec<i64>,
    /// Long polls currently open, and the most ever open at once.
    polling: usize,
    most_polling: usize,
}

pub struct FakeTelegram {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    arrived: Arc<Notify>,
    called: Arc<Notify>,
    stop: CancellationToken,
}

impl FakeTelegram {
    pub async fn start() -> FakeTelegram {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            next_update: 1000,
            next_message: 500,
            ..State::default()
        }));
        let fake = FakeTelegram {
            addr,
            state,
            arrived: Arc::new(Notify::new()),
            called: Arc::new(Notify::new()),
            stop: CancellationToken::new(),
        };
        let server = Server {
            state: fake.state.clone(),
            arrived: fake.arrived.clone(),
            called: fake.called.clone(),
            stop: fake.stop.clone(),
        };
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = server.stop.cancelled() => return,
                    a = listener.accept() => a,
                };
                let Ok((stream, _)) = accepted else { continue };
                let server = server.clone();
                tokio::spawn(async move {
                    let _ = server.serve(stream).await;
                });
            }
        });
        fake
    }

    /// `telegram.api_url` for this fake.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn set_admins(&self, ids: &[i64]) {
        self.lock().admins = ids.to_vec();
    }

    pub fn block(&self, user: i64) {
        self.lock().blocked.push(user);
    }

    /// The next `n` calls of `method` (any case; "*" for any method but getUpdates) fail so.
    pub fn fail(&self, method: &str, fault: Fault, n: usize) {
        let mut s = self.lock();
        for _ in 0..n {
            s.faults.push((method.to_lowercase(), 0, fault.clone()));
        }
    }

    /// The call of `method` after the next `pass` ones fails so (once).
    pub fn fail_after(&self, method: &str, pass: usize, fault: Fault) {
        self.lock()
            .faults
            .push((method.to_lowercase(), pass, fault));
    }

    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Calls of these methods (lower case), in order.
    pub fn calls_of(&self, methods: &[&str]) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| methods.contains(&c.method.as_str()))
            .collect()
    }

    /// Messages sent (answered, not faulted) to a chat, in order.
    pub fn sent_to(&self, chat: i64) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| {
                (c.method == "sendmessage" || c.method == "senddocument")
                    && c.answered.is_some()
                    && c.chat() == Some(chat)
            })
            .collect()
    }

    /// Updates handed out but not yet confirmed, plus those not handed out.
    pub fn unconfirmed(&self) -> usize {
        self.lock().pending.len()
    }

    pub fn polling(&self) -> usize {
        self.lock().polling
    }

    /// The most long polls that were ever open at once (Telegram allows one per token).
    pub fn most_polling(&self) -> usize {
        self.lock().most_polling
    }

    /// Waits (bounded by `within`) until `done` holds over the calls; panics with `what`.
    pub async fn until<F: Fn(&[Call]) -> bool>(&self, what: &str, within: Duration, done: F) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.called.notified();
            if done(&self.lock().calls) {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let calls = self.calls();
                let summary: Vec<String> = calls
                    .iter()
                    .map(|c| format!("{} {}", c.method, short(&c.params.to_string())))
                    .collect();
                panic!("waited for {what}; calls so far:\n{}", summary.join("\n"));
            }
        }
    }

    /// Waits until every injected update was confirmed (the offset moved past it).
    pub async fn until_confirmed(&self, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.called.notified();
            if self.lock().pending.is_empty() {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("updates not confirmed: {}", self.unconfirmed());
            }
        }
    }

    fn push(&self, body: Value) -> i64 {
        let id = {
            let mut s = self.lock();
            s.next_update += 1;
            let id = s.next_update;
            let mut u = json!({ "update_id": id });
            for (k, v) in body.as_object().unwrap() {
                u[k] = v.clone();
            }
            s.pending.push_back(u);
            id
        };
        self.arrived.notify_waiters();
        id
    }

    fn message_id(&self) -> i64 {
        let mut s = self.lock();
        s.next_message += 1;
        s.next_message
    }

    /// A text message from `user` in their private chat with the bot.
    pub fn private(&self, user: &TgUser, text: &str) -> i64 {
        let message = json!({
            "message_id": self.message_id(),
            "date": now(),
            "chat": { "id": user.id, "type": "private", "first_name": user.first_name },
            "from": user.json(),
            "text": text,
            "entities": entities(text),
        });
        self.push(json!({ "message": message }))
    }

    /// A text message from `user` in a supergroup; returns (update ID, message ID).
    pub fn group(&self, chat: i64, user: &TgUser, text: &str) -> (i64, i64) {
        let message_id = self.message_id();
        let message = json!({
            "message_id": message_id,
            "date": now(),
            "chat": { "id": chat, "type": "supergroup", "title": "Community" },
            "from": user.json(),
            "text": text,
            "entities": entities(text),
        });
        (self.push(json!({ "message": message })), message_id)
    }

    /// `user` presses the button with callback `data` on the bot's message `on` (a call the
    /// fake answered).
    pub fn press(&self, user: &TgUser, on: &Call, data: &str) -> i64 {
        let chat = on.chat().expect("the pressed message's chat");
        let message_id = on.sent_message_id().expect("the pressed message's ID");
        let chat_json = chat_json(chat);
        let id = {
            let mut s = self.lock();
            s.next_callback += 1;
            format!("cb{}", s.next_callback)
        };
        let query = json!({
            "id": id,
            "from": user.json(),
            "message": {
                "message_id": message_id,
                "date": now(),
                "chat": chat_json,
                "from": bot_user(),
                "text": on.text(),
            },
            "chat_instance": format!("ci{chat}"),
            "data": data,
        });
        self.push(json!({ "callback_query": query }))
    }

    pub fn stop(&self) {
        self.stop.cancel();
    }
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn short(s: &str) -> String {
    s.chars().take(300).collect()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn entities(text: &str) -> Value {
    if text.starts_with('/') {
        let len = text
            .find(char::is_whitespace)
            .unwrap_or(text.len())
            .min(text.encode_utf16().count());
        json!([{ "type": "bot_command", "offset": 0, "length": len }])
    } else {
        json!([])
    }
}

fn chat_json(chat: i64) -> Value {
    if chat > 0 {
        json!({ "id": chat, "type": "private", "first_name": "someone" })
    } else {
        json!({ "id": chat, "type": "supergroup", "title": "a group" })
    }
}

fn bot_user() -> Value {
    json!({
        "id": BOT_ID, "is_bot": true, "first_name": "Recourse", "username": BOT_USERNAME,
    })
}

/// A Telegram user of the tests.
#[derive(Debug, Clone)]
pub struct TgUser {
    pub id: i64,
    pub first_name: String,
    pub username: Option<String>,
    pub language_code: Option<String>,
}

impl TgUser {
    pub fn new(id: i64, name: &str) -> TgUser {
        TgUser {
            id,
            first_name: name.to_string(),
            username: Some(name.to_lowercase()),
            language_code: Some("en".to_string()),
        }
    }
    pub fn speaking(mut self, code: &str) -> TgUser {
        self.language_code = Some(code.to_string());
        self
    }
    fn json(&self) -> Value {
        let mut v = json!({ "id": self.id, "is_bot": false, "first_name": self.first_name });
        if let Some(u) = &self.username {
            v["username"] = json!(u);
        }
        if let Some(l) = &self.language_code {
            v["language_code"] = json!(l);
        }
        v
    }
}

#[derive(Clone)]
struct Server {
    state: Arc<Mutex<State>>,
    arrived: Arc<Notify>,
    called: Arc<Notify>,
    stop: CancellationToken,
}

struct Request {
    path: String,
    content_type: String,
    body: Vec<u8>,
}

enum Answer {
    Ok(Value),
    Error(u16, String, Option<u32>),
    Drop,
}

impl Server {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn serve(self, stream: TcpStream) -> std::io::Result<()> {
        let mut reader = BufReader::new(stream);
        let Some(req) = read_request(&mut reader).await? else {
            return Ok(());
        };
        let method = req
            .path
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .split('?')
            .next()
            .unwrap_or_default()
            .to_lowercase();
        let token_ok = req.path.starts_with(&format!("/bot{TOKEN}/"));
        let params = params(&req);
        let answer = if !token_ok {
            Answer::Error(401, "Unauthorized".into(), None)
        } else if method == "getupdates" {
            self.get_updates(&params).await
        } else {
            self.answer(&method, &params)
        };
        if method != "getupdates"
            || !matches!(&answer, Answer::Ok(v) if v.as_array().is_some_and(|a| a.is_empty()))
        {
            let answered = match &answer {
                Answer::Ok(v) => Some(v.clone()),
                _ => None,
            };
            self.lock().calls.push(Call {
                method: method.clone(),
                params: params.clone(),
                answered,
            });
        }
        self.called.notify_waiters();
        let stream = reader.get_mut();
        let (code, body) = match answer {
            Answer::Drop => return Ok(()),
            Answer::Ok(result) => (200, json!({ "ok": true, "result": result })),
            Answer::Error(code, description, retry_after) => {
                let mut b = json!({ "ok": false, "error_code": code, "description": description });
                if let Some(s) = retry_after {
                    b["parameters"] = json!({ "retry_after": s });
                }
                (code, b)
            }
        };
        let body = body.to_string();
        let head = format!(
            "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        stream.flush().await?;
        Ok(())
    }

    fn fault(&self, method: &str) -> Option<Fault> {
        let mut s = self.lock();
        let i = s
            .faults
            .iter()
            .position(|(m, _, _)| m == method || (m == "*" && method != "getupdates"))?;
        if s.faults[i].1 > 0 {
            s.faults[i].1 -= 1;
            return None;
        }
        Some(s.faults.remove(i).2)
    }

    async fn get_updates(&self, params: &Value) -> Answer {
        if let Some(f) = self.fault("getupdates") {
            return fault_answer(f);
        }
        let offset = as_i64(&params["offset"]);
        let limit = as_i64(&params["limit"]).unwrap_or(100).clamp(1, 100) as usize;
        let timeout = as_i64(&params["timeout"]).unwrap_or(0).clamp(0, 50) as u64;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
        {
            let mut s = self.lock();
            s.polling += 1;
            s.most_polling = s.most_polling.max(s.polling);
        }
        let result = loop {
            let arrived = self.arrived.notified();
            {
                let mut s = self.lock();
                if let Some(o) = offset {
                    while s
                        .pending
                        .front()
                        .is_some_and(|u| u["update_id"].as_i64().unwrap_or(0) < o)
                    {
                        s.pending.pop_front();
                    }
                }
                if !s.pending.is_empty() {
                    break s.pending.iter().take(limit).cloned().collect::<Vec<_>>();
                }
            }
            // Confirming (the offset) counts as a call for those waiting on it.
            self.called.notify_waiters();
            tokio::select! {
                _ = arrived => {}
                _ = tokio::time::sleep_until(deadline) => break Vec::new(),
                _ = self.stop.cancelled() => break Vec::new(),
            }
        };
        self.lock().polling -= 1;
        Answer::Ok(Value::Array(result))
    }

    fn answer(&self, method: &str, p: &Value) -> Answer {
        if let Some(f) = self.fault(method) {
            return fault_answer(f);
        }
        let chat = as_i64(&p["chat_id"]);
        if matches!(method, "sendmessage" | "senddocument")
            && let Some(c) = chat
            && self.lock().blocked.contains(&c)
        {
            return Answer::Error(403, "Forbidden: bot was blocked by the user".into(), None);
        }
        match method {
            "getme" => Answer::Ok(json!({
                "id": BOT_ID, "is_bot": true, "first_name": "Recourse", "username": BOT_USERNAME,
                "can_join_groups": true, "can_read_all_group_messages": true,
                "supports_inline_queries": false, "has_main_web_app": false,
            })),
            "getwebhookinfo" => Answer::Ok(json!({
                "url": "", "has_custom_certificate": false, "pending_update_count": 0,
            })),
            "deletewebhook" | "setmycommands" | "answercallbackquery" | "deletemessage" => {
                Answer::Ok(json!(true))
            }
            "sendmessage" | "senddocument" => {
                let Some(chat) = chat else {
                    return Answer::Error(400, "Bad Request: chat_id is empty".into(), None);
                };
                let id = {
                    let mut s = self.lock();
                    s.next_message += 1;
                    s.next_message
                };
                let mut m = json!({
                    "message_id": id, "date": now(), "chat": chat_json(chat), "from": bot_user(),
                });
                if method == "sendmessage" {
                    m["text"] = p["text"].clone();
                } else {
                    m["document"] = json!({
                        "file_id": format!("f{id}"), "file_unique_id": format!("u{id}"),
                        "file_name": p["document"]["filename"].clone(),
                    });
                    if let Some(c) = p["caption"].as_str() {
                        m["caption"] = json!(c);
                    }
                }
                Answer::Ok(m)
            }
            "editmessagetext" | "editmessagereplymarkup" => {
                let Some(chat) = chat else {
                    return Answer::Error(400, "Bad Request: chat_id is empty".into(), None);
                };
                Answer::Ok(json!({
                    "message_id": as_i64(&p["message_id"]).unwrap_or(0), "date": now(),
                    "chat": chat_json(chat), "from": bot_user(),
                    "text": p["text"].as_str().unwrap_or("(unchanged)"),
                }))
            }
            "getchatadministrators" => {
                let admins = self.lock().admins.clone();
                Answer::Ok(Value::Array(
                    admins
                        .iter()
                        .map(|id| {
                            json!({
                                "status": "creator", "is_anonymous": false,
                                "user": { "id": id, "is_bot": false, "first_name": format!("admin{id}") },
                            })
                        })
                        .collect(),
                ))
            }
            "getchatmember" => {
                let user = as_i64(&p["user_id"]).unwrap_or(0);
                let status = if self.lock().admins.contains(&user) {
                    "creator"
                } else {
                    "member"
                };
                let mut m = json!({
                    "status": status,
                    "user": { "id": user, "is_bot": false, "first_name": format!("user{user}") },
                });
                if status == "creator" {
                    m["is_anonymous"] = json!(false);
                }
                Answer::Ok(m)
            }
            _ => Answer::Error(404, "Not Found: method not found".into(), None),
        }
    }
}

fn fault_answer(f: Fault) -> Answer {
    match f {
        Fault::TooMany(s) => {
            Answer::Error(429, format!("Too Many Requests: retry after {s}"), Some(s))
        }
        Fault::ServerError => Answer::Error(500, "Internal Server Error".into(), None),
        Fault::Forbidden(d) => Answer::Error(403, d, None),
        Fault::BadRequest(d) => Answer::Error(400, d, None),
        Fault::Drop => Answer::Drop,
    }
}

/// JSON bodies as they are; multipart fields as a JSON object.
fn params(req: &Request) -> Value {
    if req.content_type.starts_with("multipart/form-data") {
        let boundary = req
            .content_type
            .split("boundary=")
            .nth(1)
            .unwrap_or_default()
            .trim_matches('"')
            .to_string();
        return multipart(&req.body, &boundary);
    }
    if req.body.is_empty() {
        return json!({});
    }
    serde_json::from_slice(&req.body).unwrap_or(json!({}))
}

fn multipart(body: &[u8], boundary: &str) -> Value {
    let mut out = serde_json::Map::new();
    let delimiter = format!("--{boundary}");
    let text = body;
    let mut parts = Vec::new();
    let mut start = None;
    let d = delimiter.as_bytes();
    let mut i = 0;
    while i + d.len() <= text.len() {
        if &text[i..i + d.len()] == d {
            if let Some(s) = start {
                parts.push(&text[s..i.saturating_sub(2)]);
            }
            i += d.len();
            // Skip the CRLF after the delimiter.
            start = Some((i + 2).min(text.len()));
        } else {
            i += 1;
        }
    }
    for part in parts {
        let Some(split) = part.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..split]).to_string();
        let content = &part[split + 4..];
        let field = |key: &str| {
            head.split(&format!("{key}=\""))
                .nth(1)
                .and_then(|r| r.split('"').next())
                .map(str::to_string)
        };
        let Some(name) = field(" name").or_else(|| field("name")) else {
            continue;
        };
        let content = String::from_utf8_lossy(content).to_string();
        let value = match field("filename") {
            Some(filename) => json!({ "filename": filename, "content": content }),
            None => json!(content),
        };
        out.insert(name, value);
    }
    // teloxide uploads a file as its own part and names it `attach://<part>` in the field.
    let attached: Vec<(String, String)> = out
        .iter()
        .filter_map(|(k, v)| {
            Some((
                k.clone(),
                v.as_str()?.strip_prefix("attach://")?.to_string(),
            ))
        })
        .collect();
    for (field, part) in attached {
        if let Some(file) = out.remove(&part) {
            out.insert(field, file);
        }
    }
    Value::Object(out)
}

async fn read_request<R: tokio::io::AsyncBufRead + Unpin>(
    r: &mut R,
) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    if r.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    let path = line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let mut length = 0usize;
    let mut chunked = false;
    let mut content_type = String::new();
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
            let (k, v) = (k.trim().to_lowercase(), v.trim());
            match k.as_str() {
                "content-length" => length = v.parse().unwrap_or(0),
                "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
                "content-type" => content_type = v.to_string(),
                _ => {}
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).await?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).await?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        body.resize(length, 0);
        r.read_exact(&mut body).await?;
    }
    Ok(Some(Request {
        path,
        content_type,
        body,
    }))
}
