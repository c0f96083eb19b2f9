//! The outbox under platform rate limits: a chat over its limit waits without holding up other
//! chats, messages that must wait long are handed back unleased, and a burst on the real clock
//! never exceeds a window.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use recourse::core::clock::{Clock, ManualClock, SystemClock};
use recourse::core::identity::{ChatRef, Platform};
use recourse::core::message::{Outgoing, Recipient};
use recourse::core::ports::{OutboxItem, Store};
use recourse::delivery::{Delivery, SendError, Sink};
use recourse::ratelimit::{DeliverySettings, Limiter, PlatformLimits, Rate, minimum_drain};
use recourse::store::SqlStore;
use tokio::sync::Notify;
use tokio::time::Instant;

fn tg(chat: i64) -> Recipient {
    Recipient::Chat {
        chat: ChatRef::Telegram { chat },
    }
}

fn limits(overall: &str, chat: &str, group: &str) -> DeliverySettings {
    DeliverySettings {
        telegram: PlatformLimits {
            overall: overall.parse().unwrap(),
            chat: chat.parse().unwrap(),
            group: group.parse().unwrap(),
        },
        ..DeliverySettings::default()
    }
}

/// Records when each message arrived.
#[derive(Clone, Default)]
struct TimedSink(Arc<Mutex<Vec<(Recipient, Instant)>>>);

impl Sink for TimedSink {
    async fn send(
        &self,
        item: &OutboxItem,
    ) -> Result<Option<recourse::core::identity::MessageRef>, SendError> {
        self.0
            .lock()
            .unwrap()
            .push((item.to.clone(), Instant::now()));
        Ok(None)
    }
}

async fn a_chat_over_its_limit_is_handed_back_and_others_go_first(url: &str) {
    let store = SqlStore::open(url).await.unwrap();
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::fixed(start()));
    let out: Vec<Outgoing> = [5, 5, 5, 6, 6]
        .iter()
        .enumerate()
        .map(|(i, chat)| Outgoing::fresh(None, tg(*chat), format!("message {i}")))
        .collect();
    store
        .enqueue(&out, chrono::Utc::now(), &Default::default())
        .await
        .unwrap();
    let settings = limits("30/1s", "1/1h", "20/1m");
    let sink = TimedSink::default();
    let delivery = Delivery::new(
        store.clone(),
        sink.clone(),
        clock.clone(),
        Arc::new(Notify::new()),
    )
    .limited(Limiter::new(&settings, vec![Platform::Telegram]));
    // Far in the future, so every message is due whatever the wall clock says.
    let now = start() + chrono::Duration::days(3650);
    assert_eq!(delivery.run_once(now).await.unwrap(), 2);
    let sent: Vec<Recipient> = sink
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|(to, _)| to.clone())
        .collect();
    assert_eq!(
        sent,
        vec![tg(5), tg(6)],
        "one per chat; chat 6 did not wait for chat 5"
    );
    // The rest were handed back, not left leased: another pass (or instance) sees them now.
    let pending = store.outbox_pending(now, 10).await.unwrap();
    let texts: Vec<&str> = pending.iter().map(|i| i.text.as_str()).collect();
    assert_eq!(texts, ["message 1", "message 2", "message 4"]);
    store.close().await;
}

both_backends!(a_chat_over_its_limit_is_handed_back_and_others_go_first);

/// A small burst on the real clock, with limits tight enough to bind: every sliding window is
/// kept, and the drain takes about the least time the limits allow.
#[tokio::test]
async fn a_burst_keeps_every_window_on_the_real_clock() {
    let db = TestDb::sqlite();
    let store = SqlStore::open(db.url()).await.unwrap();
    let settings = limits("20/200ms", "6/200ms", "8/400ms");
    let chats = [1, 2, 3, -4, 5];
    let out: Vec<Outgoing> = (0..60)
        .map(|i| Outgoing::fresh(None, tg(chats[i % chats.len()]), format!("m{i}")))
        .collect();
    store
        .enqueue(&out, chrono::Utc::now(), &Default::default())
        .await
        .unwrap();
    let sink = TimedSink::default();
    let delivery = Delivery::new(
        store.clone(),
        sink.clone(),
        Arc::new(SystemClock),
        Arc::new(Notify::new()),
    )
    .limited(Limiter::new(&settings, vec![Platform::Telegram]));
    let began = Instant::now();
    let now = chrono::Utc::now() + chrono::Duration::days(1);
    assert_eq!(delivery.run_once(now).await.unwrap(), 60);
    let log = sink.0.lock().unwrap().clone();
    let check = |filter: &dyn Fn(&Recipient) -> bool, rate: Rate| {
        let times: Vec<Instant> = log
            .iter()
            .filter(|(to, _)| filter(to))
            .map(|(_, t)| *t)
            .collect();
        for (i, t) in times.iter().enumerate() {
            let within = times[..=i].iter().filter(|s| **s + rate.per > *t).count();
            assert!(
                within <= rate.count as usize,
                "{within} in one window of {rate}"
            );
        }
    };
    let l = settings.telegram;
    check(&|_| true, l.overall);
    for c in chats {
        check(&|to| *to == tg(c), l.chat);
    }
    check(&|to| *to == tg(-4), l.group);
    let counts: Vec<(Recipient, u32)> = chats.iter().map(|c| (tg(*c), 12)).collect();
    let minimum = minimum_drain(&settings, &[Platform::Telegram], &counts);
    let took = log.last().unwrap().1 - began;
    assert!(
        took >= minimum,
        "{took:?} is faster than the limits allow ({minimum:?})"
    );
    assert!(
        took < minimum + Duration::from_secs(1),
        "{took:?} is much slower than the limits require ({minimum:?})"
    );
    store.close().await;
}
