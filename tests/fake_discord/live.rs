//! `recourse serve`'s Discord half for the gateway tests: the adapter built by `app::discord`,
//! its gateway running under its lease against the fake, and the outbox on an injected clock;
//! with the IDs the tests share.

use std::sync::Arc;

use chrono::Duration;
use recourse::app::LogSink;
use recourse::config::Settings;
use recourse::core::clock::{Clock, ManualClock};
use recourse::core::identity::Platform;
use recourse::core::ports::Store;
use recourse::delivery::Delivery;
use recourse::scheduler::Scheduler;
use recourse::store::SqlStore;
use recourse::webhook::Router;
use tokio::sync::Notify;

use super::{FakeDiscord, GUILD, TOKEN};
use crate::common::{start, unsent_answers};

pub const MODS: u64 = 555_000_000_000_001;
pub const PUBLIC: u64 = 555_000_000_000_002;
/// The channel the victim used the bot in: for the outbox tests, their DM with the bot (where
/// answers that could not be given in place go); for the gateway tests, a server channel.
pub const HERE: u64 = 555_000_000_000_003;
pub const ANA: u64 = 444_000_000_000_001;
pub const TX: &str = "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060";

pub const MOD_ROLE: u64 = 333_000_000_000_007;
pub const MO: u64 = 444_000_000_000_009;

/// `recourse serve`'s Discord half: the adapter built by `app::discord`, its gateway running
/// under its lease, and the outbox (on the injected clock) delivering what it wrote.
pub struct Live {
    pub url: String,
    pub store: SqlStore,
    pub clock: ManualClock,
    pub scheduler: Scheduler<SqlStore>,
    pub delivery: Delivery<SqlStore, Router<LogSink>>,
    pub cancel: tokio_util::sync::CancellationToken,
    pub running: tokio::task::JoinHandle<()>,
    pub next: std::sync::atomic::AtomicU64,
}

pub fn live_settings(fake: &FakeDiscord) -> Settings {
    let mut settings = Settings::default();
    settings.discord.token = Some(TOKEN.to_string().into());
    settings.discord.api_url = Some(url::Url::parse(&fake.url()).unwrap());
    settings.discord.guild = Some(GUILD);
    settings.discord.moderator_channel = Some(MODS);
    settings.discord.public_channel = Some(PUBLIC);
    settings.discord.moderator_role = Some(MOD_ROLE);
    settings.discord.gateway_lease = std::time::Duration::from_secs(2);
    settings
}

impl Live {
    pub async fn start(url: &str, fake: &FakeDiscord) -> Live {
        Live::with(url, live_settings(fake)).await
    }

    pub async fn with(url: &str, settings: Settings) -> Live {
        let store = SqlStore::open(url).await.expect("open store");
        let clock = ManualClock::fixed(start());
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        let svc = Arc::new(recourse::app::services(&settings).unwrap());
        let (sink, gateway) =
            recourse::app::discord(&settings, &store, shared.clone(), svc.clone(), &[])
                .unwrap()
                .expect("a token is set");
        let router =
            recourse::app::router(&settings, vec![(Platform::Discord, Arc::new(sink))]).unwrap();
        let wake = Arc::new(Notify::new());
        let delivery =
            Delivery::new(store.clone(), router, shared.clone(), wake.clone()).telling(svc.clone());
        let scheduler = Scheduler::new(store.clone(), shared, svc, wake.clone(), wake);
        let cancel = tokio_util::sync::CancellationToken::new();
        let running = {
            let cancel = cancel.clone();
            tokio::spawn(async move { gateway.run(cancel).await })
        };
        Live {
            url: url.to_string(),
            store,
            clock,
            scheduler,
            delivery,
            cancel,
            running,
            next: std::sync::atomic::AtomicU64::new(1),
        }
    }

    pub fn next_id(&self) -> u64 {
        111_000_000_000_000 + self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    }

    pub async fn deliver(&self) {
        self.delivery.run_once(self.clock.now()).await.unwrap();
    }

    /// Waits until the adapter has recorded every answer it was sending in place (before the
    /// clock jumps past their leases and the outbox would take them over).
    pub async fn settled(&self) {
        let deadline = tokio::time::Instant::now() + ANSWERED;
        while unsent_answers(&self.url).await > 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "answers never recorded"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Moves the clock by `d`, each step at its deadline, and delivers (once the answers in
    /// hand are recorded).
    pub async fn wait(&self, d: Duration) {
        self.settled().await;
        let target = self.clock.now() + d;
        while let Some(at) = self.store.next_due_at().await.unwrap() {
            if at > target {
                break;
            }
            self.clock.advance_to(at);
            self.scheduler.run_once(self.clock.now()).await.unwrap();
        }
        self.clock.advance_to(target);
        self.deliver().await;
    }

    pub async fn stop(self) {
        self.cancel.cancel();
        self.running.await.unwrap();
    }
}

pub const READY: std::time::Duration = std::time::Duration::from_secs(30);
pub const ANSWERED: std::time::Duration = std::time::Duration::from_secs(15);

/// Waits for the `n`th follow-up or edit on an interaction's token and returns them all.
pub async fn answers(fake: &FakeDiscord, id: u64, n: usize) -> Vec<serde_json::Value> {
    let token = format!("itoken{id}");
    let route = format!("/webhooks/{}/{token}", super::APP_ID);
    fake.until("the interaction's answers", ANSWERED, |calls| {
        calls.iter().filter(|c| c.path.contains(&route)).count() >= n
    })
    .await;
    fake.answers_to(&token)
}
