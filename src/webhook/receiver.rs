//! A webhook receiver on 127.0.0.1 for tests and benchmarks: a small HTTP/1.1 server that
//! checks each POST's signature, records it, and answers as scripted (200 by default).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use recourse::webhook::receiver::{Receiver, Reply};
//! let rx = Receiver::start("the secret").await?;
//! rx.script([Reply::Status(500)]); // the first request fails, the rest get 200
//! // … point webhook.url at rx.url() and deliver …
//! let stats = rx.stats();
//! assert_eq!(stats.bad_signatures, 0);
//! # Ok(()) }
//! ```

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::webhook::{IDEMPOTENCY_KEY, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify};

/// How to answer one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// Answer with this status and an empty body (429 and 503 also carry `Retry-After: 1`).
    Status(u16),
    /// Never answer; keep the connection open until the client gives up (a timeout).
    Stall,
}

/// One request as it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// The `Idempotency-Key` header, if any.
    pub key: Option<String>,
    pub timestamp: Option<String>,
    pub signature: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
    /// The signature headers verify with the receiver's secret.
    pub signature_ok: bool,
    /// An earlier request carried the same idempotency key.
    pub repeat: bool,
    /// What it was answered (`None` when stalled).
    pub status: Option<u16>,
}

/// Counters over everything received so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    pub total: usize,
    pub distinct_keys: usize,
    /// Requests whose key had been seen before (retries, or a duplicate delivery).
    pub repeats: usize,
    pub bad_signatures: usize,
    /// Requests answered with a 2xx status.
    pub accepted: usize,
}

#[derive(Default)]
struct State {
    script: VecDeque<Reply>,
    default: Option<Reply>,
    received: Vec<Received>,
    keys: HashSet<String>,
}

/// A running receiver; stops when dropped.
pub struct Receiver {
    addr: SocketAddr,
    secret: Arc<Vec<u8>>,
    state: Arc<Mutex<State>>,
    stop: CancellationToken,
}

impl Receiver {
    /// Listens on 127.0.0.1 on a free port and verifies signatures with `secret`.
    pub async fn start(secret: impl Into<String>) -> std::io::Result<Receiver> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let rx = Receiver {
            addr: listener.local_addr()?,
            secret: Arc::new(secret.into().into_bytes()),
            state: Arc::default(),
            stop: CancellationToken::new(),
        };
        let (secret, state, stop) = (rx.secret.clone(), rx.state.clone(), rx.stop.clone());
        tokio::spawn(async move {
            loop {
                let stream = tokio::select! {
                    _ = stop.cancelled() => return,
                    accepted = listener.accept() => match accepted {
                        Ok((s, _)) => s,
                        Err(e) => {
                            tracing::debug!(error = %e, "receiver: accept failed");
                            continue;
                        }
                    },
                };
                let conn = Conn {
                    secret: secret.clone(),
                    state: state.clone(),
                    stop: stop.clone(),
                };
                tokio::spawn(async move {
                    if let Err(e) = conn.serve(stream).await {
                        tracing::debug!(error = %e, "receiver: connection ended");
                    }
                });
            }
        });
        Ok(rx)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>/hook`, for `webhook.url`.
    pub fn url(&self) -> url::Url {
        let raw = format!("http://{}/hook", self.addr);
        match url::Url::parse(&raw) {
            Ok(u) => u,
            Err(_) => unreachable!("a socket address makes a valid URL"),
        }
    }

    /// Answers the next requests with `replies`, one each, then with the default.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.lock().script.extend(replies);
    }

    /// How to answer once the script is used up (200 unless set).
    pub fn set_default(&self, reply: Reply) {
        self.lock().default = Some(reply);
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    pub fn stats(&self) -> Stats {
        let s = self.lock();
        Stats {
            total: s.received.len(),
            distinct_keys: s.keys.len(),
            repeats: s.received.iter().filter(|r| r.repeat).count(),
            bad_signatures: s.received.iter().filter(|r| !r.signature_ok).count(),
            accepted: s
                .received
                .iter()
                .filter(|r| r.status.is_some_and(|c| (200..300).contains(&c)))
                .count(),
        }
    }

    /// Every idempotency key received so far.
    pub fn keys(&self) -> HashSet<String> {
        self.lock().keys.clone()
    }

    pub fn total(&self) -> usize {
        self.stats().total
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stops accepting and drops stalled connections.
    pub fn stop(&self) {
        self.stop.cancel();
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

struct Conn {
    secret: Arc<Vec<u8>>,
    state: Arc<Mutex<State>>,
    stop: CancellationToken,
}

/// A request head, without its body.
struct Head {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }
}

const MAX_BODY: usize = 1 << 20;

impl Conn {
    /// Serves requests on one connection until the client closes it (keep-alive).
    async fn serve(self, stream: TcpStream) -> std::io::Result<()> {
        let (read, mut write) = stream.into_split();
        let mut read = BufReader::new(read);
        loop {
            let Some(head) = read_head(&mut read).await? else {
                return Ok(());
            };
            let len = head
                .header("content-length")
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if len > MAX_BODY {
                write.write_all(&response(413)).await?;
                return Ok(());
            }
            let mut body = vec![0; len];
            read.read_exact(&mut body).await?;
            let reply = self.record(&head, body);
            match reply {
                Reply::Status(code) => {
                    write.write_all(&response(code)).await?;
                    write.flush().await?;
                    if head
                        .header("connection")
                        .is_some_and(|v| v.eq_ignore_ascii_case("close"))
                    {
                        return Ok(());
                    }
                }
                Reply::Stall => {
                    // Hold the connection until the client hangs up or the receiver stops.
                    let mut sink = Vec::new();
                    tokio::select! {
                        _ = self.stop.cancelled() => {}
                        _ = read.read_to_end(&mut sink) => {}
                    }
                    return Ok(());
                }
            }
        }
    }

    fn record(&self, head: &Head, body: Vec<u8>) -> Reply {
        let timestamp = head.header(TIMESTAMP_HEADER);
        let signature = head.header(SIGNATURE_HEADER);
        let signature_ok = match (&timestamp, &signature) {
            (Some(t), Some(s)) => verify(&self.secret, t, &body, s),
            _ => false,
        };
        let key = head.header(IDEMPOTENCY_KEY);
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let repeat = match &key {
            Some(k) => !state.keys.insert(k.clone()),
            None => false,
        };
        let reply = state
            .script
            .pop_front()
            .or(state.default)
            .unwrap_or(Reply::Status(200));
        state.received.push(Received {
            method: head.method.clone(),
            path: head.path.clone(),
            key,
            timestamp,
            signature,
            content_type: head.header("content-type"),
            body: String::from_utf8_lossy(&body).into_owned(),
            signature_ok,
            repeat,
            status: match reply {
                Reply::Status(c) => Some(c),
                Reply::Stall => None,
            },
        });
        reply
    }
}

/// Reads a request line and headers; `None` when the client closed the connection.
async fn read_head<R: tokio::io::AsyncBufRead + Unpin>(
    read: &mut R,
) -> std::io::Result<Option<Head>> {
    let mut line = String::new();
    if read.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if read.read_line(&mut h).await? == 0 {
            return Ok(None);
        }
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        if let Some((name, value)) = h.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    Ok(Some(Head {
        method,
        path,
        headers,
    }))
}

fn response(code: u16) -> Vec<u8> {
    let reason = match code {
        200 => "OK",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let retry_after = if matches!(code, 429 | 503) {
        "Retry-After: 1\r\n"
    } else {
        ""
    };
    format!("HTTP/1.1 {code} {reason}\r\n{retry_after}Content-Length: 0\r\n\r\n").into_bytes()
}
