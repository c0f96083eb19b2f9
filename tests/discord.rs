//! Discord's outbox end to end: the real sink (built by the same `app::discord_sink` that
//! `recourse serve` uses) against a fake Discord REST API on 127.0.0.1, on real databases,
//! with the clock injected. A case filed by a Discord user reaches the moderators' channel with
//! its buttons and the victim's DM with each step; Discord's 429s (per route and global), 500s
//! and lost answers cost nothing and post nothing twice.

mod common;
mod fake_discord;

use std::sync::Arc;

use chrono::Duration;
use common::*;
use fake_discord::{FakeDiscord, Fault, TOKEN};
use recourse::app::LogSink;
use recourse::config::Settings;
use recourse::core::case::CaseId;
use recourse::core::clock::{Clock, ManualClock};
use recourse::core::engine::Engine;
use recourse::core::identity::{Actor, ChatRef, Platform, UserRef};
use recourse::core::message::{Incoming, Input, Place};
use recourse::core::ports::Store;
use recourse::delivery::Delivery;
use recourse::scheduler::Scheduler;
use recourse::store::SqlStore;
use recourse::webhook::Router;
use tokio::sync::Notify;

const MODS: u64 = 555_000_000_000_001;
const PUBLIC: u64 = 555_000_000_000_002;
/// The channel the victim used the bot in (their answers go back there).
const HERE: u64 = 555_000_000_000_003;
const ANA: u64 = 444_000_000_000_001;
const TX: &str = "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060";

struct Bot {
    fake: FakeDiscord,
    store: SqlStore,
    clock: ManualClock,
    engine: Engine<SqlStore>,
    scheduler: Scheduler<SqlStore>,
    delivery: Delivery<SqlStore, Router<LogSink>>,
}

impl Bot {
    async fn start(url: &str) -> Bot {
        let fake = FakeDiscord::start().await;
        let mut settings = Settings::default();
        settings.discord.token = Some(TOKEN.to_string().into());
        settings.discord.api_url = Some(url::Url::parse(&fake.url()).unwrap());
        settings.discord.moderator_channel = Some(MODS);
        settings.discord.public_channel = Some(PUBLIC);
        let store = SqlStore::open(url).await.expect("open store");
        let clock = ManualClock::fixed(start());
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        let svc = Arc::new(recourse::app::services(&settings).unwrap());
        let sink = recourse::app::discord_sink(&settings, shared.clone())
            .unwrap()
            .expect("a token is set");
        let router =
            recourse::app::router(&settings, vec![(Platform::Discord, Arc::new(sink))]).unwrap();
        let wake = Arc::new(Notify::new());
        let delivery =
            Delivery::new(store.clone(), router, shared.clone(), wake.clone()).telling(svc.clone());
        Bot {
            fake,
            engine: Engine::new(store.clone(), shared.clone(), svc.clone()),
            scheduler: Scheduler::new(store.clone(), shared, svc, wake.clone(), wake),
            store,
            clock,
            delivery,
        }
    }

    /// What a Discord user typed to the bot, answered by the outbox (as when the interaction
    /// could not be answered in place).
    async fn say(&self, user: u64, text: &str) {
        let msg = Incoming {
            actor: Actor {
                user: UserRef::Discord(user),
                name: "ana".into(),
                moderator: false,
            },
            chat: ChatRef::Discord { channel: HERE },
            place: Place::Private,
            input: Input::Text(text.into()),
            id: None,
            message: None,
            link: None,
            locale_hint: None,
        };
        let h = self.engine.handle(&msg).await.expect("engine");
        for a in h.answers() {
            self.engine
                .answered(&a.key, Err("no interaction in this test".into()))
                .await
                .unwrap();
        }
    }

    async fn deliver(&self) {
        self.delivery.run_once(self.clock.now()).await.unwrap();
    }

    /// Moves the clock by `d`, each step at its deadline, and delivers.
    async fn wait(&self, d: Duration) {
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

    async fn report(&self, user: u64) -> String {
        self.say(
            user,
            &format!(
                "/report wallet=MetaMask chain=eth amount=1200 asset=USDT tx={TX} contacted=now"
            ),
        )
        .await;
        self.deliver().await;
        let here = self.fake.messages_in(HERE).join("\n");
        case_id_in(&here).unwrap_or_else(|| panic!("no case ID in: {here}"))
    }
}

async fn a_case_reaches_the_moderators_channel_and_every_step_the_victims_dm(url: &str) {
    let bot = Bot::start(url).await;
    let id = bot.report(ANA).await;
    let notice = bot
        .fake
        .posts_to(MODS)
        .into_iter()
        .find(|c| c.content().contains(&id))
        .expect("the moderators hear of the case");
    assert!(
        notice
            .buttons()
            .iter()
            .any(|(l, t)| l.contains("Claim") && !t.is_empty() && t.len() <= 100),
        "{:?}",
        notice.buttons()
    );
    assert_eq!(
        notice.body["allowed_mentions"]["parse"],
        serde_json::json!([])
    );
    assert_eq!(notice.body["enforce_nonce"], true);
    assert!(notice.body["nonce"].as_str().is_some_and(|n| n.len() <= 25));
    assert_eq!(notice.authorization, format!("Bot {TOKEN}"));
    // Each ladder step reaches the victim privately: Discord opens the DM once.
    bot.wait(Duration::hours(25)).await;
    let dm = bot.fake.dm_of(ANA).expect("a DM was opened");
    let dm_texts = bot.fake.messages_in(dm).join("\n");
    assert!(
        dm_texts.contains(&id),
        "the reminder names the case: {dm_texts}"
    );
    bot.wait(Duration::days(15)).await;
    let opened = bot
        .fake
        .calls()
        .iter()
        .filter(|c| c.path.ends_with("/users/@me/channels"))
        .count();
    assert_eq!(opened, 1, "the DM channel is remembered");
    assert!(bot.fake.messages_in(dm).len() >= 3, "the later steps too");
    // Nothing about the case went to the public channel without a moderator's approval.
    assert!(bot.fake.messages_in(PUBLIC).is_empty());
    // The token never reached the database.
    assert!(!everything_stored(url).await.contains(TOKEN));
}

async fn rate_limits_server_errors_and_lost_answers_post_each_message_once(url: &str) {
    let bot = Bot::start(url).await;
    // A 429 for the moderators' channel: that lane waits what Retry-After says; the victim's
    // answer in another channel goes at once.
    bot.fake.fail(
        &format!("POST /channels/{MODS}/messages"),
        Fault::TooMany(3.0),
    );
    let id = bot.report(ANA).await;
    let about = |c: u64| {
        bot.fake
            .messages_in(c)
            .iter()
            .filter(|t| t.contains(&id))
            .count()
    };
    assert_eq!(about(MODS), 0);
    bot.clock.advance(Duration::seconds(2));
    bot.deliver().await;
    assert_eq!(about(MODS), 0, "still within Retry-After");
    let tried = bot.fake.calls().len();
    bot.deliver().await;
    assert_eq!(bot.fake.calls().len(), tried, "no call while told to wait");
    bot.clock.advance(Duration::seconds(2));
    bot.deliver().await;
    assert_eq!(about(MODS), 1, "sent once the wait is over");

    // A global 429 pauses every lane.
    bot.fake.fail("POST ", Fault::GlobalTooMany(5.0));
    bot.say(ANA, "/status").await;
    bot.say(ANA, &format!("/contacted {id} email")).await;
    let before = bot.fake.messages_in(HERE).len();
    bot.deliver().await;
    assert_eq!(
        bot.fake.messages_in(HERE).len(),
        before,
        "nothing while paused"
    );
    bot.clock.advance(Duration::seconds(6));
    bot.deliver().await;
    assert!(
        bot.fake.messages_in(HERE).len() >= before + 2,
        "both, after"
    );

    // A 500, a dropped connection, and a message Discord created whose answer was lost: each
    // retried with the same nonce; the moderators' channel ends with one copy of each notice.
    let mods_before = bot.fake.messages_in(MODS).len();
    bot.fake.fail("POST ", Fault::ServerError);
    bot.fake.fail("POST ", Fault::Drop);
    bot.fake.fail("POST ", Fault::LoseAnswer);
    let second = bot.report(ANA + 1).await;
    for _ in 0..6 {
        bot.clock.advance(Duration::minutes(10));
        bot.deliver().await;
    }
    let mods = bot.fake.messages_in(MODS);
    let copies = mods.iter().filter(|t| t.contains(&second)).count();
    assert_eq!(copies, 1, "one notice, however often tried: {mods:#?}");
    assert_eq!(mods.len(), mods_before + 1);
    let nonces: Vec<String> = bot
        .fake
        .calls()
        .iter()
        .filter(|c| c.channel() == Some(MODS) && c.content().contains(&second))
        .filter_map(|c| c.body["nonce"].as_str().map(str::to_string))
        .collect();
    assert!(
        nonces.len() >= 2 && nonces.iter().all(|n| *n == nonces[0]),
        "{nonces:?}"
    );
}

async fn a_victim_with_closed_dms_is_reported_to_the_moderators(url: &str) {
    let bot = Bot::start(url).await;
    bot.fake.close_dms(ANA);
    let id = bot.report(ANA).await;
    bot.wait(Duration::hours(25)).await;
    bot.deliver().await;
    let told = bot.fake.messages_in(MODS).join("\n");
    assert!(told.contains("cannot reach the victim"), "{told}");
    let events = bot
        .store
        .events(&CaseId::parse(&id).unwrap())
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| format!("{:?}", e.kind).contains("DeliveryFailed")),
        "{events:#?}"
    );
}

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = super::TestDb::sqlite();
                    super::$name(db.url()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = super::TestDb::postgres().await else { return };
                    super::$name(db.url()).await;
                }
            )*
        }
    };
}

both_backends!(
    a_case_reaches_the_moderators_channel_and_every_step_the_victims_dm,
    rate_limits_server_errors_and_lost_answers_post_each_message_once,
    a_victim_with_closed_dms_is_reported_to_the_moderators,
);
