//! The outgoing webhook on the wire: a sink that POSTs the outbox's webhook rows, signed with
//! HMAC-SHA256, and a router that sends those rows there and everything else to the platform.
//!
//! Each POST carries the stored body unchanged (the JSON payload of [`crate::core::webhook`])
//! and these headers:
//!
//! - `Idempotency-Key`: the outbox key, the same on every retry of one message;
//! - `X-Recourse-Timestamp`: the sender's time of this attempt, in Unix seconds;
//! - `X-Recourse-Signature`: `sha256=` and the lowercase hex HMAC-SHA256, keyed with
//!   `webhook.secret`, of `"{timestamp}.{body}"` (recomputed for every attempt).
//!
//! A receiver recomputes the HMAC over the timestamp header, a `.`, and the raw body bytes,
//! compares it in constant time with the header ([`verify`] does exactly that), rejects
//! timestamps too far from its own clock (against replays), and deduplicates on
//! `Idempotency-Key`, since a message can arrive twice when an answer is lost.

pub mod receiver;

use std::sync::Arc;
use std::time::Duration;

use hmac::{KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};

use crate::config::WebhookSettings;
use crate::core::clock::{Clock, SystemClock};
use crate::core::identity::{MessageRef, Platform};
use crate::core::message::Recipient;
use crate::core::ports::OutboxItem;
use crate::delivery::{DynSink, SendError, Sink};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
pub const TIMESTAMP_HEADER: &str = "X-Recourse-Timestamp";
pub const SIGNATURE_HEADER: &str = "X-Recourse-Signature";

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length (a long one is hashed first), so this cannot fail.
    match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    }
}

/// The raw HMAC-SHA256 of `data` under `key`, in lowercase hex.
pub fn hmac_sha256_hex(key: &[u8], data: &[u8]) -> String {
    let mut m = mac(key);
    m.update(data);
    hex::encode(m.finalize().into_bytes())
}

/// The `X-Recourse-Signature` value for one attempt: `sha256=<hex>` over `"{timestamp}.{body}"`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut m = mac(secret);
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    format!("sha256={}", hex::encode(m.finalize().into_bytes()))
}

/// Whether `signature` (the header's value) signs `body` sent at `timestamp` (the other
/// header's value, as received). Constant-time in the comparison.
pub fn verify(secret: &[u8], timestamp: &str, body: &[u8], signature: &str) -> bool {
    let Some(hex_sig) = signature.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_sig) else {
        return false;
    };
    let mut m = mac(secret);
    m.update(timestamp.as_bytes());
    m.update(b".");
    m.update(body);
    m.verify_slice(&expected).is_ok()
}

/// POSTs webhook rows to `webhook.url`.
pub struct WebhookSink {
    client: reqwest::Client,
    url: url::Url,
    secret: SecretString,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSink")
            .field("host", &self.url.host_str())
            .finish_non_exhaustive()
    }
}

impl WebhookSink {
    pub fn new(url: url::Url, secret: SecretString, timeout: Duration) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            // A redirect would turn the POST into a GET and drop the body: refuse it instead.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("recourse/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build the webhook HTTP client: {e}"))?;
        Ok(WebhookSink {
            client,
            url,
            secret,
            clock: Arc::new(SystemClock),
        })
    }

    /// The sink the settings describe, or `None` when `webhook.url` is not set.
    pub fn from_settings(settings: &WebhookSettings) -> anyhow::Result<Option<Self>> {
        settings.validate()?;
        match (&settings.url, &settings.secret) {
            (Some(url), Some(secret)) => Ok(Some(WebhookSink::new(
                url.clone(),
                secret.clone(),
                settings.timeout,
            )?)),
            _ => Ok(None),
        }
    }

    /// Signs with this clock's time instead of the system's (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

impl Sink for WebhookSink {
    async fn send(&self, item: &OutboxItem) -> Result<Option<MessageRef>, SendError> {
        let timestamp = self.clock.now().timestamp();
        let signature = sign(
            self.secret.expose_secret().as_bytes(),
            timestamp,
            item.text.as_bytes(),
        );
        let sent = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(IDEMPOTENCY_KEY, &item.key)
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature)
            .body(item.text.clone())
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            // Connection refused, reset, timed out: the receiver may be back shortly. The
            // error's text names the host, never the secret (which is only in a header).
            Err(e) if e.is_timeout() => {
                return Err(SendError::Retry(format!(
                    "webhook timed out: {}",
                    without_url(e)
                )));
            }
            Err(e) => {
                return Err(SendError::Retry(format!(
                    "webhook unreachable: {}",
                    without_url(e)
                )));
            }
        };
        classify(response.status(), response.headers())
    }
}

/// The error and its causes ("connection refused" is in a cause), with the host but not the
/// URL, which may hold a token in its path or query.
fn without_url(e: reqwest::Error) -> String {
    let host = e.url().and_then(|u| u.host_str()).map(str::to_string);
    let e = e.without_url();
    let mut text = match host {
        Some(h) => format!("{h}: {e}"),
        None => e.to_string(),
    };
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// 2xx is delivered; 408, 429 and 5xx are worth another try; any other answer will not change.
fn classify(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
) -> Result<Option<MessageRef>, SendError> {
    let code = status.as_u16();
    if status.is_success() {
        return Ok(None);
    }
    let retry_after = headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(|v| format!(" (Retry-After: {v})"))
        .unwrap_or_default();
    match code {
        408 | 429 | 500..=599 => Err(SendError::Retry(format!(
            "webhook answered HTTP {status}{retry_after}"
        ))),
        300..=399 => Err(SendError::Permanent(format!(
            "webhook answered HTTP {status} (a redirect; set webhook.url to the final address)"
        ))),
        _ => Err(SendError::Permanent(format!(
            "webhook answered HTTP {status}"
        ))),
    }
}

/// Sends each row to its platform's sink (one per running adapter), webhook rows through the
/// webhook, and the rest (the console, rows for no platform in particular) through `inner`.
pub struct Router<K: Sink> {
    inner: K,
    webhook: Option<WebhookSink>,
    platforms: Vec<(Platform, Arc<dyn DynSink>)>,
}

impl<K: Sink> Router<K> {
    /// `webhook` is `None` when none is configured; a webhook row then fails permanently
    /// (none is queued while `webhook.url` is unset, but rows from an earlier run may remain).
    pub fn new(inner: K, webhook: Option<WebhookSink>) -> Self {
        Router {
            inner,
            webhook,
            platforms: Vec::new(),
        }
    }

    /// Rows for `platform` go to `sink`.
    pub fn with_platform(mut self, platform: Platform, sink: Arc<dyn DynSink>) -> Self {
        self.platforms.push((platform, sink));
        self
    }

    pub fn inner(&self) -> &K {
        &self.inner
    }
}

impl<K: Sink> Sink for Router<K> {
    async fn send(&self, item: &OutboxItem) -> Result<Option<MessageRef>, SendError> {
        if item.to == Recipient::Webhook {
            return match &self.webhook {
                Some(w) => w.send(item).await,
                None => Err(SendError::Permanent(
                    "no webhook configured (webhook.url is not set)".to_string(),
                )),
            };
        }
        let platform = item.to.platform();
        match self.platforms.iter().find(|(p, _)| Some(*p) == platform) {
            Some((_, sink)) => sink.send_dyn(item).await,
            None => self.inner.send(item).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 1.
        assert_eq!(
            hmac_sha256_hex(&[0x0b; 20], b"Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        // Test case 2: a key shorter than the block.
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block is hashed first.
        assert_eq!(
            hmac_sha256_hex(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn the_signature_covers_timestamp_and_body() {
        let sig = sign(b"s3cret", 1_700_000_000, b"{\"a\":1}");
        assert_eq!(
            sig,
            format!(
                "sha256={}",
                hmac_sha256_hex(b"s3cret", b"1700000000.{\"a\":1}")
            )
        );
        assert!(verify(b"s3cret", "1700000000", b"{\"a\":1}", &sig));
        assert!(!verify(b"s3cret", "1700000001", b"{\"a\":1}", &sig));
        assert!(!verify(b"s3cret", "1700000000", b"{\"a\":2}", &sig));
        assert!(!verify(b"other", "1700000000", b"{\"a\":1}", &sig));
        assert!(!verify(b"s3cret", "1700000000", b"{\"a\":1}", "sha256=zz"));
        assert!(!verify(b"s3cret", "1700000000", b"{\"a\":1}", &sig[7..]));
    }

    #[test]
    fn statuses_are_sorted_into_retry_and_permanent() {
        let h = reqwest::header::HeaderMap::new();
        let s = |c| classify(reqwest::StatusCode::from_u16(c).unwrap(), &h);
        for ok in [200, 201, 202, 204] {
            assert!(matches!(s(ok), Ok(None)), "{ok}");
        }
        for retry in [408, 429, 500, 502, 503, 504] {
            assert!(matches!(s(retry), Err(SendError::Retry(_))), "{retry}");
        }
        for stop in [301, 400, 401, 403, 404, 410, 422] {
            assert!(matches!(s(stop), Err(SendError::Permanent(_))), "{stop}");
        }
    }
}
