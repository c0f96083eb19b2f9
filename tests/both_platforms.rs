//! One community on Telegram and Discord at once, as `recourse serve` runs it: both real
//! adapters (teloxide against a fake Bot API, poise/serenity against a fake Discord), one
//! database, one outbox routing to both. A case reported on Telegram reaches both moderator
//! rooms; a moderator on Discord approves its public post; the Telegram moderators' post says
//! so, the post goes to both public channels, and the victim hears on Telegram.

mod common;
mod fake_discord;
mod fake_telegram;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use common::*;
use fake_discord::{FakeDiscord, GUILD, button, member};
use fake_telegram::{FakeTelegram, TgUser};
use recourse::config::Settings;
use recourse::core::case::CaseId;
use recourse::core::clock::{Clock, ManualClock};
use recourse::core::identity::Platform;
use recourse::core::ports::Store;
use recourse::delivery::Delivery;
use recourse::scheduler::Scheduler;
use recourse::store::SqlStore;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

const TG_MODS: i64 = -1001234500001;
const TG_PUBLIC: i64 = -1001234500002;
const DC_MODS: u64 = 555_000_000_000_001;
const DC_PUBLIC: u64 = 555_000_000_000_002;
const MOD_ROLE: u64 = 333_000_000_000_007;
const MO: u64 = 444_000_000_000_009;
const TX: &str = "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060";
const WAIT: StdDuration = StdDuration::from_secs(20);

async fn a_case_reported_on_telegram_is_approved_from_discord(url: &str) {
    let tg = FakeTelegram::start().await;
    let dc = FakeDiscord::start().await;
    let mut settings = Settings::default();
    settings.telegram.token = Some(fake_telegram::TOKEN.to_string().into());
    settings.telegram.api_url = url::Url::parse(&tg.url()).unwrap();
    settings.telegram.moderator_chat = Some(TG_MODS);
    settings.telegram.public_chat = Some(TG_PUBLIC);
    settings.discord.token = Some(fake_discord::TOKEN.to_string().into());
    settings.discord.api_url = Some(url::Url::parse(&dc.url()).unwrap());
    settings.discord.guild = Some(GUILD);
    settings.discord.moderator_channel = Some(DC_MODS);
    settings.discord.public_channel = Some(DC_PUBLIC);
    settings.discord.moderator_role = Some(MOD_ROLE);
    let store = SqlStore::open(url).await.expect("open store");
    let clock = ManualClock::fixed(start());
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let svc = Arc::new(recourse::app::services(&settings).unwrap());
    let (tg_sink, telegram) =
        recourse::app::telegram(&settings, &store, shared.clone(), svc.clone(), &[])
            .unwrap()
            .expect("a Telegram token");
    let (dc_sink, discord) =
        recourse::app::discord(&settings, &store, shared.clone(), svc.clone(), &[])
            .unwrap()
            .expect("a Discord token");
    let router = recourse::app::router(
        &settings,
        vec![
            (Platform::Telegram, Arc::new(tg_sink)),
            (Platform::Discord, Arc::new(dc_sink)),
        ],
    )
    .unwrap();
    let wake = Arc::new(Notify::new());
    let delivery =
        Delivery::new(store.clone(), router, shared.clone(), wake.clone()).telling(svc.clone());
    let scheduler = Scheduler::new(store.clone(), shared, svc, wake.clone(), wake);
    let cancel = CancellationToken::new();
    let tasks = [
        tokio::spawn(telegram.run(cancel.clone())),
        tokio::spawn(discord.run(cancel.clone())),
    ];
    dc.until_ready(WAIT).await;

    // Eve reports on Telegram, in her private chat.
    let eve = TgUser::new(1001, "Eve");
    tg.private(
        &eve,
        &format!("/report wallet=MetaMask chain=eth amount=1200 asset=USDT tx={TX} contacted=now"),
    );
    tg.until("the answer to Eve", WAIT, |calls| {
        calls
            .iter()
            .any(|c| c.method == "sendmessage" && c.chat() == Some(eve.id))
    })
    .await;
    let answer = tg.sent_to(eve.id).last().unwrap().text();
    let id = case_id_in(&answer).unwrap_or_else(|| panic!("no case ID in {answer}"));

    // Each moderator room gets its own copy.
    delivery.run_once(clock.now()).await.unwrap();
    assert!(tg.sent_to(TG_MODS).iter().any(|c| c.text().contains(&id)));
    assert!(
        dc.posts_to(DC_MODS)
            .iter()
            .any(|c| c.content().contains(&id))
    );

    // The ladder reaches the public post, which waits for a decision in both rooms.
    let target = clock.now() + Duration::hours(73);
    while let Some(at) = store.next_due_at().await.unwrap() {
        if at > target {
            break;
        }
        clock.advance_to(at);
        scheduler.run_once(clock.now()).await.unwrap();
    }
    clock.advance_to(target);
    delivery.run_once(clock.now()).await.unwrap();
    assert!(tg.sent_to(TG_PUBLIC).is_empty() && dc.posts_to(DC_PUBLIC).is_empty());
    let waiting = |t: &str| t.contains(&id) && t.contains("waits for your decision");
    let tg_post = tg
        .sent_to(TG_MODS)
        .into_iter()
        .find(|c| waiting(&c.text()))
        .expect("the post notice on Telegram");
    let dc_post = dc
        .posts_to(DC_MODS)
        .into_iter()
        .find(|c| waiting(&c.content()))
        .expect("the post notice on Discord");
    let approve = dc_post
        .buttons()
        .into_iter()
        .find(|(label, _)| label.contains("Approve"))
        .expect("an Approve button")
        .1;

    // A Discord moderator approves it.
    let press = 111_000_000_000_001;
    dc.dispatch(
        "INTERACTION_CREATE",
        button(press, &approve, &dc_post, member(MO, "mo", &[MOD_ROLE], 0)),
    );
    let route = format!("/webhooks/{}/itoken{press}", fake_discord::APP_ID);
    dc.until("the moderator's acknowledgement", WAIT, |calls| {
        calls.iter().any(|c| c.path.contains(&route))
    })
    .await;
    let case = store
        .load_case(&CaseId::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap()
        .case;
    assert!(case.pending_post.is_none(), "decided");
    assert_eq!(case.published_posts, 1);
    delivery.run_once(clock.now()).await.unwrap();

    // The Telegram moderators' post now says who decided, and where.
    let edit = tg
        .calls()
        .into_iter()
        .filter(|c| c.method == "editmessagetext" && c.chat() == Some(TG_MODS))
        .find(|c| c.params["message_id"] == tg_post.sent_message_id().unwrap())
        .expect("the Telegram post edited");
    let shown = edit.text();
    assert!(
        shown.contains("mo") && shown.to_lowercase().contains("discord"),
        "{shown}"
    );
    // Published once in each public channel; the victim hears on Telegram.
    assert_eq!(tg.sent_to(TG_PUBLIC).len(), 1);
    assert_eq!(dc.posts_to(DC_PUBLIC).len(), 1);
    assert!(
        dc.calls()
            .iter()
            .all(|c| !c.path.contains("/users/@me/channels")),
        "nothing for the victim on Discord"
    );
    cancel.cancel();
    for t in tasks {
        tokio::time::timeout(WAIT, t)
            .await
            .expect("both adapters stop")
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_case_reported_on_telegram_is_approved_from_discord() {
    let db = TestDb::sqlite();
    a_case_reported_on_telegram_is_approved_from_discord(db.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_case_reported_on_telegram_is_approved_from_discord() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    a_case_reported_on_telegram_is_approved_from_discord(db.url()).await;
}
