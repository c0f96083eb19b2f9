//! The outgoing webhook end to end: the real engine, scheduler and outbox on both backends,
//! the real reqwest sink, and a local receiver that checks signatures and answers as scripted.

mod common;

use std::sync::{Arc, Mutex};

use chrono::Duration;
use common::*;
use recourse::config::Settings;
use recourse::core::case::{CaseId, EventKind};
use recourse::core::message::Recipient;
use recourse::core::ports::Store;
use recourse::delivery::Delivery;
use recourse::store::SqlStore;
use recourse::webhook::receiver::{Receiver, Reply};
use recourse::webhook::{Router, WebhookSink};
use secrecy::SecretString;
use tokio::sync::Notify;

const SECRET: &str = "whsec-test-7f3a91c2e4";

fn settings(url: &url::Url) -> Settings {
    let mut s = Settings::default();
    s.webhook.url = Some(url.clone());
    s.webhook.secret = Some(SecretString::from(SECRET));
    // Short, so that the timeout test waits a moment only.
    s.webhook.timeout = std::time::Duration::from_millis(400);
    s
}

/// The app with the webhook on, and an outbox that routes webhook rows to the receiver.
struct Hooked {
    app: App,
    rx: Receiver,
    delivery: Delivery<SqlStore, Router<RecordingSink>>,
}

impl Hooked {
    async fn new(url: &str) -> Hooked {
        let rx = Receiver::start(SECRET).await.unwrap();
        let settings = settings(&rx.url());
        let app = App::with_settings(url, settings.clone()).await;
        let sink = WebhookSink::from_settings(&settings.webhook)
            .unwrap()
            .expect("webhook configured")
            .with_clock(Arc::new(app.clock.clone()));
        let delivery = Delivery::new(
            app.store.clone(),
            Router::new(app.sink.clone(), Some(sink)),
            Arc::new(app.clock.clone()),
            Arc::new(Notify::new()),
        );
        Hooked { app, rx, delivery }
    }

    /// One outbox pass at the clock's time; returns how many were sent.
    async fn deliver(&self) -> usize {
        self.delivery.run_once(self.app.now()).await.unwrap()
    }
}

/// One outbox row: key, recipient, attempts, sent, failed.
#[derive(Debug)]
struct Row {
    key: String,
    to: Recipient,
    attempts: i64,
    sent: bool,
    failed: bool,
}

async fn outbox(url: &str) -> Vec<Row> {
    const Q: &str =
        "SELECT dedupe_key, recipient, attempts, sent_at, failed_at FROM outbox ORDER BY id";
    type T = (String, String, i64, Option<i64>, Option<i64>);
    let rows: Vec<T> = if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let rows = sqlx::query_as(Q).fetch_all(&pool).await.unwrap();
        pool.close().await;
        rows
    } else {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{url}"))
            .await
            .unwrap();
        let rows = sqlx::query_as(Q).fetch_all(&pool).await.unwrap();
        pool.close().await;
        rows
    };
    rows.into_iter()
        .map(|(key, to, attempts, sent, failed)| Row {
            key,
            to: serde_json::from_str(&to).unwrap(),
            attempts,
            sent: sent.is_some(),
            failed: failed.is_some(),
        })
        .collect()
}

async fn webhook_rows(url: &str) -> Vec<Row> {
    outbox(url)
        .await
        .into_iter()
        .filter(|r| r.to == Recipient::Webhook)
        .collect()
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

async fn escalation_steps_and_notices_are_posted_once_signed(url: &str) {
    let h = Hooked::new(url).await;
    let id = h
        .app
        .report(&person("alice"), "contacted=now chain=eth")
        .await;
    assert_eq!(
        h.deliver().await,
        3,
        "the notice and the two webhook copies (the reply was answered in place)"
    );
    // The platform got its two messages, and no webhook row.
    let platform = h.app.sink.take();
    assert_eq!(platform.len(), 2);
    assert!(platform.iter().all(|i| i.to != Recipient::Webhook));
    let checklist = platform
        .iter()
        .find(|i| matches!(i.to, Recipient::Chat { .. }))
        .unwrap();

    let got = h.rx.requests();
    assert_eq!(got.len(), 2, "{got:#?}");
    for r in &got {
        assert!(r.signature_ok, "bad signature: {r:?}");
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/hook");
        assert_eq!(r.content_type.as_deref(), Some("application/json"));
        let p = json(&r.body);
        assert_eq!(p["version"], 1);
        assert_eq!(Some(p["id"].as_str().unwrap()), r.key.as_deref());
        assert_eq!(p["case_id"], id.as_str());
        assert_eq!(p["occurred_at"], "2026-11-20T09:30:00Z", "{p}");
        assert!(!r.repeat);
    }
    let esc = json(&got[0].body);
    assert_eq!(esc["type"], "escalation");
    assert_eq!(esc["step"], "checklist#0");
    assert_eq!(
        esc["text"],
        checklist.text.as_str(),
        "the text the victim got"
    );
    let notice = json(&got[1].body);
    assert_eq!(notice["type"], "moderator_notice");
    assert!(notice["text"].as_str().unwrap().contains(&id), "{notice}");

    // A day of silence: the reminder step, to the victim and to the moderators.
    assert_eq!(h.app.advance(Duration::hours(24)).await, 1);
    h.deliver().await;
    let got = h.rx.requests();
    assert_eq!(got.len(), 4, "{got:#?}");
    let esc = json(&got[2].body);
    assert_eq!(esc["type"], "escalation");
    assert_eq!(esc["step"], "reminder#0");
    let victim = to_user(&h.app.sink.take(), "alice");
    assert_eq!(esc["text"], victim[0].as_str());
    let notice = json(&got[3].body);
    assert_eq!(notice["type"], "moderator_notice");
    assert_eq!(notice["step"], "reminder#0");

    // Nothing more goes out, and each message went out once.
    assert_eq!(h.deliver().await, 0);
    let stats = h.rx.stats();
    assert_eq!((stats.total, stats.distinct_keys, stats.repeats), (4, 4, 0));
    assert_eq!(stats.bad_signatures, 0);
    assert!(
        webhook_rows(url)
            .await
            .iter()
            .all(|r| r.sent && r.attempts == 1)
    );
    assert_consistent(&h.app, &id).await;
}

async fn a_moderator_notice_without_a_case_is_posted(url: &str) {
    let h = Hooked::new(url).await;
    let spam =
        "I recovered my stolen USDT with the help of a recovery expert, contact him on telegram";
    h.app.handle(&person("spammer"), spam, false).await;
    // `Store::enqueue` (a message without a case change) stamps its rows with the wall clock,
    // not the injected one, so deliver at the later of the two.
    let now = h.app.now().max(chrono::Utc::now());
    h.delivery.run_once(now).await.unwrap();
    let got = h.rx.requests();
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(got[0].signature_ok);
    let p = json(&got[0].body);
    assert_eq!(p["type"], "moderator_notice");
    assert!(p["case_id"].is_null() && p["step"].is_null(), "{p}");
    assert!(p["text"].as_str().unwrap().contains("spammer"), "{p}");
}

async fn a_server_error_is_retried_with_the_same_key(url: &str) {
    let h = Hooked::new(url).await;
    h.rx.script([Reply::Status(500)]);
    let id = h.app.report(&person("bo"), "contacted=now").await;
    assert_eq!(
        h.deliver().await,
        2,
        "the escalation copy failed (the reply was answered in place)"
    );
    assert_eq!(h.deliver().await, 0, "and waits for its backoff");
    h.app.clock.advance(Duration::seconds(3));
    assert_eq!(h.deliver().await, 1, "retried after the backoff");
    let got = h.rx.requests();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].status, Some(500));
    assert_eq!(got[2].key, got[0].key, "the retry carries the same key");
    assert_eq!(got[2].body, got[0].body, "and the same body");
    assert!(got[2].repeat && got[2].signature_ok);
    let stats = h.rx.stats();
    assert_eq!(
        (stats.distinct_keys, stats.repeats, stats.accepted),
        (2, 1, 2)
    );
    let rows = webhook_rows(url).await;
    let retried = rows
        .iter()
        .find(|r| Some(&r.key) == got[0].key.as_ref())
        .unwrap();
    assert!(
        retried.sent && !retried.failed && retried.attempts == 2,
        "{retried:?}"
    );
    // A retried success leaves the timeline alone.
    let events = h
        .app
        .store
        .events(&CaseId::parse(&id).unwrap())
        .await
        .unwrap();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e.kind, EventKind::DeliveryFailed { .. }))
    );
}

async fn a_timeout_and_a_rate_limit_are_retried(url: &str) {
    let h = Hooked::new(url).await;
    h.rx.script([Reply::Stall, Reply::Status(429)]);
    h.app.report(&person("cy"), "contacted=now").await;
    // The escalation copy stalls until the client's timeout; the notice copy gets a 429.
    assert_eq!(h.deliver().await, 1, "the moderators' notice");
    h.app.clock.advance(Duration::seconds(3));
    assert_eq!(h.deliver().await, 2, "both retried and delivered");
    let got = h.rx.requests();
    assert_eq!(got.len(), 4, "{got:#?}");
    assert_eq!(got[0].status, None, "stalled");
    assert_eq!(got[1].status, Some(429));
    let stats = h.rx.stats();
    assert_eq!(
        (stats.distinct_keys, stats.repeats, stats.accepted),
        (2, 2, 2)
    );
    assert!(
        webhook_rows(url)
            .await
            .iter()
            .all(|r| r.sent && r.attempts == 2)
    );
}

async fn a_client_error_stops_and_is_noted_on_the_case(url: &str) {
    let h = Hooked::new(url).await;
    h.rx.set_default(Reply::Status(400));
    let id = h.app.report(&person("dee"), "contacted=now").await;
    assert_eq!(
        h.deliver().await,
        1,
        "only the platform's notice (the reply was answered in place)"
    );
    h.app.clock.advance(Duration::hours(1));
    assert_eq!(h.deliver().await, 0);
    assert_eq!(h.rx.total(), 2, "no retry after a 400");
    let rows = webhook_rows(url).await;
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter().all(|r| r.failed && !r.sent && r.attempts == 1),
        "{rows:?}"
    );

    let case_id = CaseId::parse(&id).unwrap();
    let failures: Vec<(String, String)> = h
        .app
        .store
        .events(&case_id)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::DeliveryFailed { to, error } => Some((to, error)),
            _ => None,
        })
        .collect();
    assert_eq!(failures.len(), 2, "{failures:?}");
    for (to, error) in &failures {
        assert_eq!(to, "webhook");
        assert!(error.contains("400"), "{error}");
    }
    // The stored state still equals the fold of the timeline, and moderators can read it.
    assert_consistent(&h.app, &id).await;
    let timeline = h.app.say(&moderator("mo"), &format!("/case {id}")).await;
    assert!(
        timeline.contains("could not be delivered") && timeline.contains("HTTP 400"),
        "{timeline}"
    );
    // The case goes on as before.
    assert_eq!(h.app.advance(Duration::hours(24)).await, 1);
    assert_consistent(&h.app, &id).await;
}

async fn without_a_url_nothing_is_queued_for_a_webhook(url: &str) {
    let app = App::new(url).await;
    app.report(&person("eve"), "contacted=now").await;
    app.handle(
        &person("spammer"),
        "I recovered my stolen USDT with the help of a recovery expert, contact him on telegram",
        false,
    )
    .await;
    app.wait(Duration::days(4)).await;
    let rows = outbox(url).await;
    assert!(rows.len() > 5, "the ladder ran: {rows:?}");
    assert!(rows.iter().all(|r| r.to != Recipient::Webhook), "{rows:?}");
}

/// Log lines captured for one test (the subscriber is this thread's default; the tests run
/// on a current-thread runtime, so every task of the test logs here).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn the_secret_is_never_stored_logged_or_sent(url: &str) {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let h = Hooked::new(url).await;
    h.rx.script([Reply::Status(503), Reply::Status(400)]);
    h.app.report(&person("fay"), "contacted=now").await;
    h.deliver().await;
    h.app.clock.advance(Duration::seconds(3));
    h.deliver().await;
    assert!(h.rx.total() >= 3);

    let settings = settings(&h.rx.url());
    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(!logged.is_empty(), "the log capture works");
    let places = [
        ("logs", logged),
        ("database", everything_stored(url).await),
        ("settings dump", format!("{settings:?}")),
        (
            "requests",
            h.rx.requests()
                .iter()
                .map(|r| format!("{r:?}"))
                .collect::<String>(),
        ),
    ];
    for (place, text) in places {
        assert!(!text.contains(SECRET), "the secret is in the {place}");
    }
}

both_backends!(
    escalation_steps_and_notices_are_posted_once_signed,
    a_moderator_notice_without_a_case_is_posted,
    a_server_error_is_retried_with_the_same_key,
    a_timeout_and_a_rate_limit_are_retried,
    a_client_error_stops_and_is_noted_on_the_case,
    without_a_url_nothing_is_queued_for_a_webhook,
    the_secret_is_never_stored_logged_or_sent,
);

#[test]
fn a_url_without_a_secret_is_refused_clearly() {
    let mut s = Settings::default();
    s.webhook.url = Some(url::Url::parse("https://hooks.example.org/x").unwrap());
    let err = recourse::app::services(&s).err().expect("refused");
    assert!(
        err.to_string().contains("webhook.secret is required"),
        "{err}"
    );
    s.webhook.secret = Some(SecretString::from(SECRET));
    s.webhook.url = Some(url::Url::parse("ftp://hooks.example.org/x").unwrap());
    let err = recourse::app::services(&s).err().expect("refused");
    assert!(err.to_string().contains("http"), "{err}");
}

#[test]
fn check_config_shows_the_host_and_never_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("recourse.toml");
    std::fs::write(
        &config,
        "[webhook]\nurl = \"https://hooks.example.org/recourse/t0ken\"\n",
    )
    .unwrap();
    let run = |secret: Option<&str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_recourse"));
        cmd.args(["--config", config.to_str().unwrap(), "check-config"])
            .current_dir(dir.path())
            .env_remove("RECOURSE__WEBHOOK__SECRET");
        if let Some(s) = secret {
            cmd.env("RECOURSE__WEBHOOK__SECRET", s);
        }
        let out = cmd.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let (ok, text) = run(None);
    assert!(!ok && text.contains("webhook.secret is required"), "{text}");
    let (ok, text) = run(Some(SECRET));
    assert!(ok, "{text}");
    assert!(
        text.contains("webhook: hooks.example.org (signed"),
        "{text}"
    );
    assert!(!text.contains(SECRET) && !text.contains("t0ken"), "{text}");
}
