//! The Telegram adapter end to end: the real teloxide client and the real adapter (built by
//! the same `app::telegram` that `recourse serve` uses) against a fake Bot API on 127.0.0.1,
//! on real databases, with the clock injected for the ladder.

mod common;
mod fake_telegram;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use common::*;
use fake_telegram::{Call, FakeTelegram, Fault, TOKEN, TgUser};
use recourse::app::LogSink;
use recourse::config::Settings;
use recourse::core::case::CaseId;
use recourse::core::clock::{Clock, ManualClock};
use recourse::core::identity::Platform;
use recourse::core::ports::Store;
use recourse::delivery::Delivery;
use recourse::scheduler::Scheduler;
use recourse::store::SqlStore;
use recourse::webhook::Router;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

const MODS: i64 = -1001;
const PUBLIC: i64 = -1002;
/// A supergroup's ID as Telegram gives it (-100…), so its messages have t.me links.
const GROUP: i64 = -1001234500003;
const MOD_ID: i64 = 42;
const ADMIN_ID: i64 = 43;
const TX: &str = "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060";
const SEED: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
/// Long enough for a handled update to be confirmed on a slow machine; never waited out
/// when things work.
const WAIT: StdDuration = StdDuration::from_secs(20);

fn settings(fake: &FakeTelegram) -> Settings {
    let mut s = Settings::default();
    s.telegram.token = Some(TOKEN.to_string().into());
    s.telegram.api_url = url::Url::parse(&fake.url()).unwrap();
    s.telegram.moderator_chat = Some(MODS);
    s.telegram.public_chat = Some(PUBLIC);
    s.telegram.moderators = vec![MOD_ID];
    s
}

/// One instance: the adapter polling the fake, and the scheduler and the outbox run by hand
/// on an injected clock.
struct Bot {
    fake: Arc<FakeTelegram>,
    store: SqlStore,
    clock: ManualClock,
    scheduler: Scheduler<SqlStore>,
    delivery: Delivery<SqlStore, Router<LogSink>>,
    cancel: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Bot {
    async fn start(url: &str) -> Bot {
        let fake = Arc::new(FakeTelegram::start().await);
        fake.set_admins(&[ADMIN_ID]);
        Bot::on(url, fake, ManualClock::fixed(start())).await
    }

    async fn on(url: &str, fake: Arc<FakeTelegram>, clock: ManualClock) -> Bot {
        let settings = settings(&fake);
        let store = SqlStore::open(url).await.expect("open store");
        let svc = Arc::new(recourse::app::services(&settings).unwrap());
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        let wake = Arc::new(Notify::new());
        let (sink, adapter) =
            recourse::app::telegram(&settings, &store, shared.clone(), svc.clone(), &[])
                .unwrap()
                .expect("a token is set");
        let router =
            recourse::app::router(&settings, vec![(Platform::Telegram, Arc::new(sink))]).unwrap();
        let delivery =
            Delivery::new(store.clone(), router, shared.clone(), wake.clone()).telling(svc.clone());
        let scheduler = Scheduler::new(store.clone(), shared, svc, wake.clone(), wake);
        let cancel = CancellationToken::new();
        let task = tokio::spawn(adapter.run(cancel.clone()));
        let bot = Bot {
            fake,
            store,
            clock,
            scheduler,
            delivery,
            cancel,
            task: Some(task),
        };
        bot.fake
            .until("the adapter polls", WAIT, |c| {
                c.iter().any(|c| c.method == "setmycommands")
            })
            .await;
        bot
    }

    /// Stops polling the way Ctrl-C does and waits for the adapter to finish.
    async fn stop(&mut self) {
        self.cancel.cancel();
        if let Some(t) = self.task.take() {
            tokio::time::timeout(StdDuration::from_secs(10), t)
                .await
                .expect("the adapter stops within seconds")
                .unwrap();
        }
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Injects one update and waits until the adapter confirmed it; returns the calls it made.
    async fn send(&self, inject: impl FnOnce(&FakeTelegram)) -> Vec<Call> {
        let before = self.fake.calls().len();
        inject(&self.fake);
        self.fake.until_confirmed(WAIT).await;
        self.fake.calls()[before..].to_vec()
    }

    /// `user` presses the button `data` on the bot's message `on`.
    async fn press(&self, user: &TgUser, on: &Call, data: &str) -> Vec<Call> {
        self.send(|f| {
            f.press(user, on, data);
        })
        .await
    }

    async fn say(&self, user: &TgUser, text: &str) -> Vec<Call> {
        self.send(|f| {
            f.private(user, text);
        })
        .await
    }

    /// Sends what the outbox holds now; returns the calls made.
    async fn deliver(&self) -> Vec<Call> {
        let before = self.fake.calls().len();
        self.delivery.run_once(self.now()).await.unwrap();
        self.fake.calls()[before..].to_vec()
    }

    /// Moves the clock, taking each step at its deadline, then delivers.
    async fn wait(&self, d: Duration) -> Vec<Call> {
        let target = self.now() + d;
        while let Some(at) = self.store.next_due_at().await.unwrap() {
            if at > target {
                break;
            }
            self.clock.advance_to(at);
            self.scheduler.run_once(self.now()).await.unwrap();
        }
        self.clock.advance_to(target);
        self.deliver().await
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn sends_to(calls: &[Call], chat: i64) -> Vec<Call> {
    calls
        .iter()
        .filter(|c| {
            matches!(c.method.as_str(), "sendmessage" | "senddocument")
                && c.answered.is_some()
                && c.chat() == Some(chat)
        })
        .cloned()
        .collect()
}

fn last_to(calls: &[Call], chat: i64) -> Call {
    sends_to(calls, chat)
        .pop()
        .unwrap_or_else(|| panic!("nothing sent to {chat}: {calls:#?}"))
}

fn button(call: &Call, label: &str) -> String {
    call.buttons()
        .into_iter()
        .find(|(l, _)| l == label)
        .map(|(_, d)| d)
        .unwrap_or_else(|| panic!("no button {label} in {:?}", call.buttons()))
}

fn texts(calls: &[Call]) -> String {
    calls.iter().map(Call::text).collect::<Vec<_>>().join("\n")
}

fn alert(calls: &[Call]) -> Option<String> {
    calls
        .iter()
        .find(|c| c.method == "answercallbackquery" && c.params["show_alert"] == true)
        .map(|c| c.params["text"].as_str().unwrap_or_default().to_string())
}

/// Files a case with the one-line form in a private chat; returns its ID.
async fn report(bot: &Bot, user: &TgUser, args: &str) -> String {
    let calls = bot.say(user, &format!("/report {args}")).await;
    let text = texts(&sends_to(&calls, user.id));
    case_id_in(&text).unwrap_or_else(|| panic!("no case ID in {text}"))
}

async fn whole_intake_dialogue_with_buttons(url: &str) {
    let bot = Bot::start(url).await;
    // The menus: per scope (private chats, groups, the moderators' group), each in English
    // and in Chinese.
    bot.fake
        .until("six menus", WAIT, |c| {
            c.iter().filter(|c| c.method == "setmycommands").count() >= 6
        })
        .await;
    let menus: Vec<(String, String, String)> = bot
        .fake
        .calls_of(&["setmycommands"])
        .iter()
        .map(|c| {
            let scope = &c.params["scope"];
            let scope = match scope["type"].as_str() {
                Some("chat") => format!("chat {}", scope["chat_id"]),
                Some(t) => t.to_string(),
                None => "default".to_string(),
            };
            let lang = c.params["language_code"].as_str().unwrap_or("").to_string();
            (scope, lang, c.params["commands"].to_string())
        })
        .collect();
    for scope in [
        "all_private_chats",
        "all_group_chats",
        &format!("chat {MODS}"),
    ] {
        for lang in ["", "zh"] {
            assert!(
                menus.iter().any(|(s, l, _)| s == scope && l == lang),
                "{scope} {lang:?}: {menus:?}"
            );
        }
    }
    let private_zh = menus
        .iter()
        .find(|(s, l, _)| s == "all_private_chats" && l == "zh")
        .unwrap();
    assert!(private_zh.2.contains("\"report\"") && private_zh.2.contains("报告"));
    let mods_en = menus
        .iter()
        .find(|(s, l, _)| s == &format!("chat {MODS}") && l.is_empty())
        .unwrap();
    assert!(mods_en.2.contains("\"queue\""), "{}", mods_en.2);
    let ann = TgUser::new(1001, "Ann");
    // The deep link opens the intake at once: the first question, with its choices.
    let calls = bot.say(&ann, "/start report").await;
    let q = last_to(&calls, ann.id);
    assert!(
        q.text().contains("never ask for your seed phrase"),
        "{}",
        q.text()
    );
    let english = button(&q, "English");
    let calls = bot.press(&ann, &q, &english).await;
    assert!(
        calls.iter().any(|c| c.method == "answercallbackquery"),
        "the press is answered"
    );
    let q = last_to(&calls, ann.id);
    assert!(q.text().contains("Which wallet"), "{}", q.text());
    let calls = bot.say(&ann, "MetaMask").await;
    let q = last_to(&calls, ann.id);
    let how = q.buttons();
    assert!(how.len() >= 7, "how it happened, as buttons: {how:?}");
    let calls = bot.press(&ann, &q, &how[1].1).await;
    let q = last_to(&calls, ann.id);
    let eth = button(&q, "Ethereum");
    let calls = bot.press(&ann, &q, &eth).await;
    let q = last_to(&calls, ann.id);
    assert!(q.text().contains("how much"), "{}", q.text());
    bot.say(&ann, "2.5 ETH").await;
    let calls = bot.say(&ann, TX).await;
    let q = last_to(&calls, ann.id);
    let done = button(&q, "Done");
    let calls = bot.press(&ann, &q, &done).await;
    assert!(
        texts(&calls).contains("When did you notice"),
        "{}",
        texts(&calls)
    );
    bot.say(&ann, "3h ago").await;
    bot.say(&ann, "email #4411").await;
    let calls = bot.say(&ann, "US").await;
    let id = case_id_in(&texts(&sends_to(&calls, ann.id))).expect("the case is filed");
    let c = bot
        .store
        .load_case(&CaseId::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap()
        .case;
    assert_eq!(c.report.how.key(), "malicious_approval");
    assert_eq!(c.report.chain.unwrap().key(), "eth");
    assert_eq!(c.report.asset.as_deref(), Some("ETH"));
    // The moderators hear of it in their group, with buttons.
    let calls = bot.deliver().await;
    let notice = last_to(&calls, MODS);
    assert!(notice.text().contains(&id), "{}", notice.text());
    let labels: Vec<String> = notice.buttons().into_iter().map(|(l, _)| l).collect();
    assert_eq!(labels, ["Claim", "Hold", "Advance", "Close"]);
    // The checklist and everything else for the victim reached her private chat, in order,
    // and nothing reached any group but the moderators'.
    assert!(sends_to(&bot.fake.calls(), GROUP).is_empty());
    assert!(sends_to(&bot.fake.calls(), PUBLIC).is_empty());
}

async fn one_line_form_and_victim_commands(url: &str) {
    let bot = Bot::start(url).await;
    let bo = TgUser::new(1002, "Bo");
    let id = report(
        &bot,
        &bo,
        &format!("chain=eth amount=\"2.5 ETH\" tx={TX} contacted=\"email #4411\" country=US"),
    )
    .await;
    let calls = bot.say(&bo, "/status").await;
    assert!(texts(&calls).contains(&id), "{}", texts(&calls));
    // The dossier arrives as two documents.
    let calls = bot.say(&bo, &format!("/export {id}")).await;
    let docs: Vec<String> = calls
        .iter()
        .filter(|c| c.method == "senddocument" && c.chat() == Some(bo.id))
        .map(|c| {
            c.params["document"]["filename"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(docs.len(), 2, "HTML and Markdown: {docs:?} {calls:#?}");
    assert!(
        docs.iter().any(|d| d.ends_with(".html")) && docs.iter().any(|d| d.ends_with(".md")),
        "{docs:?} {calls:?}"
    );
    // A second case: a command without an ID offers a picker.
    report(&bot, &bo, "chain=tron contacted=now").await;
    let calls = bot.say(&bo, "/replied").await;
    let pick = last_to(&calls, bo.id);
    assert!(pick.buttons().len() >= 2, "{:?}", pick.buttons());
    let (_, data) = pick
        .buttons()
        .into_iter()
        .find(|(l, _)| l.contains(&id))
        .expect("the first case offered");
    let calls = bot.press(&bo, &pick, &data).await;
    assert!(texts(&calls).contains(&id), "{}", texts(&calls));
    // Someone else cannot see her case.
    let cy = TgUser::new(1003, "Cy");
    let calls = bot.say(&cy, &format!("/status {id}")).await;
    assert!(!texts(&calls).contains("2.5"), "{}", texts(&calls));
    // A malformed hash and an oversized message get plain answers; nothing breaks.
    let calls = bot.say(&bo, &format!("/evidence {id} tx=0x1234")).await;
    assert!(!sends_to(&calls, bo.id).is_empty());
    let calls = bot.say(&bo, &"x".repeat(10_000)).await;
    assert!(!sends_to(&calls, bo.id).is_empty());
}

async fn group_report_deep_link_and_secrets(url: &str) {
    let bot = Bot::start(url).await;
    let dee = TgUser::new(1004, "Dee");
    let calls = bot
        .send(|f| {
            f.group(
                GROUP,
                &dee,
                &format!("/report@{} chain=eth", fake_telegram::BOT_USERNAME),
            );
        })
        .await;
    let answer = last_to(&calls, GROUP);
    let link = answer
        .buttons()
        .into_iter()
        .find(|(_, d)| d.starts_with("https://t.me/"))
        .expect("a URL button");
    assert_eq!(
        link.1,
        format!("https://t.me/{}?start=report", fake_telegram::BOT_USERNAME)
    );
    assert!(
        bot.store.queue(100).await.unwrap().is_empty(),
        "nothing collected in a group"
    );
    // A seed phrase in the group: deleted, a warning that does not repeat it, a private word.
    let mut message = 0;
    let calls = bot
        .send(|f| {
            message = f
                .group(GROUP, &dee, &format!("help, my words are {SEED}"))
                .1;
        })
        .await;
    let deleted = calls
        .iter()
        .find(|c| c.method == "deletemessage")
        .expect("deleted");
    assert_eq!(deleted.params["message_id"], message);
    let warning = last_to(&calls, GROUP);
    assert!(!warning.text().contains("abandon"), "{}", warning.text());
    let calls = [calls, bot.deliver().await].concat();
    assert!(!sends_to(&calls, dee.id).is_empty(), "told privately");
    for c in bot.fake.calls() {
        if c.method != "getupdates" {
            assert!(
                !c.params.to_string().contains("abandon abandon"),
                "repeated: {c:?}"
            );
        }
    }
    let stored = everything_stored(url).await;
    assert!(!stored.contains("abandon abandon"), "stored");
    // Without delete rights, the moderators are asked to delete it.
    bot.fake.fail(
        "deletemessage",
        Fault::BadRequest("Bad Request: message can't be deleted".into()),
        1,
    );
    bot.send(|f| {
        f.group(GROUP, &dee, SEED);
    })
    .await;
    let calls = bot.deliver().await;
    assert!(
        texts(&sends_to(&calls, MODS)).contains("could not delete"),
        "{}",
        texts(&calls)
    );
    assert!(!everything_stored(url).await.contains("abandon abandon"));
}

async fn moderator_buttons_stale_and_public_post(url: &str) {
    let bot = Bot::start(url).await;
    let eve = TgUser::new(1005, "Eve");
    let mo = TgUser::new(MOD_ID, "Mo");
    let admin = TgUser::new(ADMIN_ID, "Ada");
    let id = report(&bot, &eve, "chain=eth contacted=now").await;
    let notice = last_to(&bot.deliver().await, MODS);
    let claim = button(&notice, "Claim");
    // Someone who is not a moderator: an alert, nothing changes.
    let calls = bot.press(&eve, &notice, &claim).await;
    assert!(alert(&calls).expect("an alert").contains("Only moderators"));
    let case = |bot: &Bot| {
        let id = CaseId::parse(&id).unwrap();
        let store = bot.store.clone();
        async move { store.load_case(&id).await.unwrap().unwrap().case }
    };
    assert!(case(&bot).await.claimed_by.is_none());
    // A moderator from the settings: acted, answered at once, the post edited.
    let calls = bot.press(&mo, &notice, &claim).await;
    assert!(calls.iter().any(|c| c.method == "answercallbackquery"));
    assert!(case(&bot).await.claimed_by.is_some());
    let calls = bot.deliver().await;
    let edit = calls
        .iter()
        .find(|c| c.method == "editmessagetext")
        .expect("the post is edited");
    assert_eq!(edit.params["message_id"], notice.sent_message_id().unwrap());
    assert!(edit.text().contains("claimed by @mo"), "{}", edit.text());
    // The same button again: the state, not a second claim.
    let calls = bot.press(&admin, &notice, &claim).await;
    assert!(alert(&calls).expect("an alert").contains("out of date"));
    // The ladder: the public post waits for a decision; nothing public before it.
    let calls = bot.wait(Duration::hours(73)).await;
    assert!(sends_to(&calls, PUBLIC).is_empty());
    let post = sends_to(&calls, MODS)
        .into_iter()
        .find(|c| c.text().contains("waits for your decision"))
        .unwrap_or_else(|| panic!("the post notice: {}", texts(&sends_to(&calls, MODS))));
    assert!(
        !sends_to(&calls, eve.id).is_empty(),
        "the victim hears of each step"
    );
    // The group's administrator (getChatAdministrators) approves it.
    let approve = button(&post, "Approve");
    bot.press(&admin, &post, &approve).await;
    let calls = bot.deliver().await;
    assert_eq!(sends_to(&calls, PUBLIC).len(), 1, "published once");
    bot.press(&admin, &post, &approve).await;
    assert!(
        sends_to(&bot.deliver().await, PUBLIC).is_empty(),
        "never twice"
    );
    // /queue and /case in the moderators' group.
    let calls = bot
        .send(|f| {
            f.group(MODS, &mo, "/queue");
        })
        .await;
    assert!(texts(&sends_to(&calls, MODS)).contains(&id));
    let calls = bot
        .send(|f| {
            f.group(MODS, &mo, &format!("/note {id} called the victim"));
        })
        .await;
    assert!(!sends_to(&calls, MODS).is_empty());
}

async fn faults_lose_nothing_and_send_nothing_twice(url: &str) {
    let bot = Bot::start(url).await;
    let fay = TgUser::new(1006, "Fay");
    // An answer in place meets a 429: it stays in the outbox and goes out once, later.
    bot.fake.fail("sendmessage", Fault::TooMany(5), 1);
    let calls = bot.say(&fay, "/report chain=eth contacted=now").await;
    assert!(sends_to(&calls, fay.id).is_empty(), "{calls:#?}");
    let first = bot.deliver().await;
    assert!(sends_to(&first, fay.id).is_empty(), "waits as told");
    bot.clock.advance(Duration::seconds(6));
    let calls = [first, bot.deliver().await].concat();
    let filed = sends_to(&calls, fay.id);
    let id = case_id_in(&texts(&filed)).expect("the answer arrived");
    assert_eq!(
        sends_to(&calls, MODS).len(),
        1,
        "the moderators' notice too, once"
    );
    // A 500 and a dropped connection: retried with backoff, sent once.
    bot.fake.fail("sendmessage", Fault::ServerError, 1);
    bot.fake.fail("sendmessage", Fault::Drop, 1);
    let calls = bot.wait(Duration::hours(25)).await;
    let mut delivered = sends_to(&calls, fay.id).len();
    for _ in 0..4 {
        bot.clock.advance(Duration::minutes(10));
        delivered += sends_to(&bot.deliver().await, fay.id).len();
    }
    assert_eq!(delivered, 1, "the reminder, once");
    let reminders = sends_to(&bot.fake.calls(), fay.id)
        .iter()
        .filter(|c| c.text().contains(&id))
        .count();
    assert!(reminders >= 1);
    // A 403: retries end, the case records it, the moderators are told.
    bot.fake.block(fay.id);
    bot.wait(Duration::hours(48)).await;
    let calls = bot.deliver().await;
    let told = texts(&sends_to(&bot.fake.calls(), MODS));
    assert!(
        told.contains("cannot reach the victim"),
        "{told}\n{calls:#?}"
    );
    let events = bot
        .store
        .events(&CaseId::parse(&id).unwrap())
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| format!("{:?}", e.kind).contains("blocked")),
        "recorded on the case: {events:?}"
    );
    let before = bot.fake.calls_of(&["sendmessage"]).len();
    bot.clock.advance(Duration::hours(1));
    bot.deliver().await;
    assert_eq!(
        bot.fake.calls_of(&["sendmessage"]).len(),
        before,
        "no retry after a 403"
    );
}

async fn restart_mid_dialogue(url: &str) {
    let mut bot = Bot::start(url).await;
    let gus = TgUser::new(1007, "Gus").speaking("zh-hans");
    let calls = bot.say(&gus, "/report").await;
    let q = last_to(&calls, gus.id);
    let zh = button(&q, "中文");
    bot.press(&gus, &q, &zh).await;
    bot.say(&gus, "imToken").await;
    bot.stop().await;
    let (fake, clock) = (bot.fake.clone(), bot.clock.clone());
    drop(bot);
    // A new process on the same database and token: the dialogue goes on where it stopped.
    let bot = Bot::on(url, fake, clock).await;
    let calls = bot.say(&gus, "1").await;
    let q = last_to(&calls, gus.id);
    assert!(
        q.buttons().iter().any(|(l, _)| l == "TRON"),
        "{:?}",
        q.buttons()
    );
    assert!(
        q.text().contains("区块链") || q.text().contains("链"),
        "{}",
        q.text()
    );
}

async fn languages_and_every_ladder_step(url: &str) {
    let bot = Bot::start(url).await;
    // Plain words, no language set anywhere: answered in the language written, with a button.
    let hal = TgUser::new(1010, "Hal");
    let calls = bot.say(&hal, "我的钱包被盗了，怎么办").await;
    let a = last_to(&calls, hal.id);
    assert!(a.text().contains("很遗憾"), "{}", a.text());
    let start = button(&a, "报告被盗");
    let calls = bot.press(&hal, &a, &start).await;
    assert!(
        last_to(&calls, hal.id).text().contains("语言"),
        "the intake starts: {}",
        texts(&calls)
    );
    // Telegram's language_code zh picks Chinese until /lang says otherwise.
    let ivy = TgUser::new(1011, "Ivy").speaking("zh-hans");
    let calls = bot.say(&ivy, "/help").await;
    assert!(
        last_to(&calls, ivy.id).text().contains("我能做什么") || texts(&calls).contains("报告"),
        "{}",
        texts(&calls)
    );
    bot.say(&ivy, "/lang en").await;
    let calls = bot.say(&ivy, "/help").await;
    assert!(
        last_to(&calls, ivy.id).text().contains("What I can do"),
        "{}",
        texts(&calls)
    );
    // Every step of the ladder reaches the victim's private chat, on the injected clock.
    let jo = TgUser::new(1012, "Jo");
    let calls = bot
        .say(
            &jo,
            "/report chain=tron amount=\"500 USDT\" contacted=now country=US",
        )
        .await;
    let id = case_id_in(&texts(&sends_to(&calls, jo.id))).expect("filed");
    let first = [calls, bot.wait(Duration::zero()).await].concat();
    assert!(
        texts(&sends_to(&first, jo.id)).contains("may still be frozen"),
        "the freeze request at once: {}",
        texts(&first)
    );
    for (after, words) in [
        (Duration::hours(24), "Time to follow up"),
        (Duration::hours(48), "Going public"),
        (Duration::days(4), "written complaint"),
        (Duration::days(7), "report to the authorities"),
    ] {
        let calls = bot.wait(after).await;
        let to_jo = texts(&sends_to(&calls, jo.id));
        assert!(
            to_jo.contains(words) && to_jo.contains(&id),
            "{words}: {to_jo}"
        );
        assert!(
            !sends_to(&calls, MODS).is_empty(),
            "the moderators hear of {words}"
        );
    }
    let c = bot
        .store
        .load_case(&CaseId::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap()
        .case;
    for step in [
        "freeze_request",
        "reminder",
        "public_post",
        "complaint",
        "authorities",
    ] {
        assert!(
            c.progress.done.iter().any(|d| d.starts_with(step)),
            "{step}: {:?}",
            c.progress.done
        );
    }
}

async fn scams_and_the_moderators_case_card(url: &str) {
    let bot = Bot::start(url).await;
    // A recovery scam in a community group: moderators alerted with a link, a warning.
    let spammer = TgUser::new(1020, "Recovery Pro");
    let mut message = 0;
    let calls = bot
        .send(|f| {
            message = f
                .group(
                    GROUP,
                    &spammer,
                    "I recovered my stolen USDT with the help of a recovery expert, contact him on telegram",
                )
                .1;
        })
        .await;
    assert!(
        last_to(&calls, GROUP).text().contains("recovery fee"),
        "{}",
        texts(&calls)
    );
    assert!(
        !calls.iter().any(|c| c.method == "deletemessage"),
        "deleting scams is off by default"
    );
    let calls = [calls, bot.deliver().await].concat();
    let alert = texts(&sends_to(&calls, MODS));
    assert!(alert.contains("recovery scam"), "{alert}");
    assert!(
        alert.contains(&format!("https://t.me/c/1234500003/{message}")),
        "with a link to the message: {alert}"
    );
    // /case in the moderators' group: the card, with buttons that act.
    let kim = TgUser::new(1021, "Kim");
    let mo = TgUser::new(MOD_ID, "Mo");
    let id = report(&bot, &kim, "chain=eth contacted=now").await;
    bot.deliver().await;
    let case = |bot: &Bot| {
        let id = CaseId::parse(&id).unwrap();
        let store = bot.store.clone();
        async move { store.load_case(&id).await.unwrap().unwrap().case }
    };
    let calls = bot
        .send(|f| {
            f.group(MODS, &mo, &format!("/case {id}"));
        })
        .await;
    let card = last_to(&calls, MODS);
    assert!(card.text().contains(&id), "{}", card.text());
    // The queue offers each case as a button that opens the same card.
    let calls = bot
        .send(|f| {
            f.group(MODS, &mo, "/queue");
        })
        .await;
    let queue = last_to(&calls, MODS);
    let (_, open) = queue
        .buttons()
        .into_iter()
        .find(|(l, _)| l.contains(&id))
        .unwrap_or_else(|| panic!("the case in the queue's buttons: {:?}", queue.buttons()));
    let calls = bot.press(&mo, &queue, &open).await;
    assert!(
        texts(&sends_to(&calls, MODS)).contains(&id)
            && sends_to(&calls, MODS)
                .iter()
                .any(|c| c.buttons().iter().any(|(l, _)| l == "Hold")),
        "{calls:#?}"
    );
    let hold = button(&card, "Hold");
    bot.press(&mo, &card, &hold).await;
    assert!(case(&bot).await.hold.is_some(), "held");
    let edited = bot.deliver().await;
    let resume = edited
        .iter()
        .flat_map(|c| c.buttons())
        .find(|(l, _)| l == "Resume")
        .map(|(_, d)| d)
        .unwrap_or_else(|| panic!("a Resume button: {edited:#?}"));
    bot.press(&mo, &card, &resume).await;
    assert!(case(&bot).await.hold.is_none(), "resumed");
    bot.deliver().await;
    // A public post rejected: nothing is published.
    let calls = bot.wait(Duration::hours(73)).await;
    let post = sends_to(&calls, MODS)
        .into_iter()
        .find(|c| c.text().contains("waits for your decision") && c.text().contains(&id))
        .unwrap_or_else(|| panic!("the post notice: {}", texts(&sends_to(&calls, MODS))));
    let reject = button(&post, "Reject");
    bot.press(&mo, &post, &reject).await;
    assert!(case(&bot).await.pending_post.is_none(), "rejected");
    let calls = bot.deliver().await;
    assert!(
        sends_to(&bot.fake.calls(), PUBLIC).is_empty(),
        "never published"
    );
    assert!(
        calls
            .iter()
            .any(|c| c.method == "editmessagetext" && c.text().contains("rejected")),
        "the post notice says so: {calls:#?}"
    );
    // Close, from the card.
    let close = button(&card, "Close");
    bot.press(&mo, &card, &close).await;
    assert!(!case(&bot).await.is_open(), "closed");
}

/// Checksummed EVM address (an EIP-55 test vector), the thief's in the cluster test.
const THIEF: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

/// Two Telegram reports naming one attacker address form a cluster: the moderators' group
/// hears of it, each victim is asked privately (Yes / No buttons; no other victim's data) and
/// the answer is kept; `/clusters`, `/stats` and `/stats export` (as files) work in the
/// moderators' group, and `/stats` for anyone keeps to the threshold.
async fn clusters_consent_and_stats(url: &str) {
    let bot = Bot::start(url).await;
    let (ann, ben) = (TgUser::new(1101, "Ann"), TgUser::new(1102, "Ben"));
    let mo = TgUser::new(MOD_ID, "Mo");
    let form = |amount: &str| {
        format!(r#"wallet=SafePal chain=eth amount="{amount} ETH" attacker={THIEF} contacted=now"#)
    };
    let a = report(&bot, &ann, &form("1")).await;
    let b = report(&bot, &ben, &form("2")).await;
    let calls = bot.deliver().await;
    let mods = texts(&sends_to(&calls, MODS));
    assert!(mods.contains("cluster CL-") && mods.contains(&b), "{mods}");
    let ask = sends_to(&calls, ben.id)
        .into_iter()
        .find(|c| c.buttons().iter().any(|(l, _)| l == "Yes, include my case"))
        .unwrap_or_else(|| panic!("no question to Ben: {}", texts(&calls)));
    assert!(ask.text().contains("other report"), "{}", ask.text());
    for other in [a.as_str(), "Ann", "1 ETH"] {
        assert!(!ask.text().contains(other), "{other} in {}", ask.text());
    }
    let yes = button(&ask, "Yes, include my case");
    let mut calls = bot.press(&ben, &ask, &yes).await;
    calls.extend(bot.deliver().await);
    assert!(texts(&calls).contains("may include"), "{}", texts(&calls));
    let case = bot
        .store
        .load_case(&CaseId::parse(&b).unwrap())
        .await
        .unwrap()
        .unwrap()
        .case;
    assert_eq!(case.joint_consent, Some(true));
    // Someone who is not a moderator cannot list clusters.
    let calls = bot.say(&ann, "/clusters").await;
    assert!(!texts(&calls).contains("CL-"), "{}", texts(&calls));
    let calls = bot
        .send(|f| {
            f.group(MODS, &mo, "/clusters");
        })
        .await;
    let list = texts(&sends_to(&calls, MODS));
    assert!(
        list.contains("2 cases") && list.contains("1 consenting"),
        "{list}"
    );
    // Figures: two reports are under the threshold for anyone, shown to moderators.
    let calls = bot.say(&ann, "/stats").await;
    let anyone = texts(&sends_to(&calls, ann.id));
    assert!(
        !anyone.contains("SafePal") && anyone.contains("not enough reports yet"),
        "{anyone}"
    );
    let calls = bot
        .send(|f| {
            f.group(MODS, &mo, "/stats");
        })
        .await;
    let shown = texts(&sends_to(&calls, MODS));
    assert!(
        shown.contains("SafePal") && shown.contains("2 reports"),
        "{shown}"
    );
    let mut calls = bot
        .send(|f| {
            f.group(MODS, &mo, "/stats export");
        })
        .await;
    calls.extend(bot.deliver().await);
    let files = calls
        .iter()
        .filter(|c| c.method == "senddocument" && c.chat() == Some(MODS))
        .count();
    assert_eq!(files, 2, "CSV and JSON: {calls:#?}");
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = TestDb::sqlite();
                    super::$name(db.url()).await;
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = TestDb::postgres().await else { return };
                    super::$name(db.url()).await;
                }
            )*
        }
    };
}

on_both_backends!(
    whole_intake_dialogue_with_buttons,
    one_line_form_and_victim_commands,
    group_report_deep_link_and_secrets,
    moderator_buttons_stale_and_public_post,
    faults_lose_nothing_and_send_nothing_twice,
    restart_mid_dialogue,
    languages_and_every_ladder_step,
    scams_and_the_moderators_case_card,
    clusters_consent_and_stats,
);

/// A `recourse serve` process on `url` polling the fake.
fn serve(url: &str, fake: &FakeTelegram) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_recourse"))
        .args(["--db", url, "serve"])
        .env("RECOURSE_LOG", "info")
        .env("RECOURSE__TELEGRAM__TOKEN", TOKEN)
        .env("RECOURSE__TELEGRAM__API_URL", fake.url())
        .env("RECOURSE__TELEGRAM__MODERATOR_CHAT", MODS.to_string())
        .env("RECOURSE__TELEGRAM__POLL_LEASE", "3s")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

async fn poller(url: &str) -> Option<u32> {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let holder: Option<(String,)> =
        sqlx::query_as("SELECT holder FROM leases WHERE name = 'telegram/poller'")
            .fetch_optional(&pool)
            .await
            .unwrap();
    pool.close().await;
    holder.and_then(|(h,)| h.split('-').next()?.parse().ok())
}

/// Two services on one PostgreSQL database: one polls, the other waits; the poller killed,
/// the other takes over within the lease and nothing is handled twice or lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_one_poller_and_a_takeover() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    // Create the schema once, so that the two services do not race to migrate.
    SqlStore::open(db.url()).await.unwrap().close().await;
    let fake = FakeTelegram::start().await;
    let mut a = serve(db.url(), &fake);
    let mut b = serve(db.url(), &fake);
    let hal = TgUser::new(1010, "Hal");
    fake.private(&hal, "/report chain=eth contacted=now");
    fake.until("the report answered", WAIT, |c| {
        c.iter()
            .any(|c| c.chat() == Some(hal.id) && c.text().contains("RC-"))
    })
    .await;
    fake.until_confirmed(WAIT).await;
    assert_eq!(fake.most_polling(), 1, "one poller at a time");
    let holder = poller(db.url()).await.expect("a poller holds the lease");
    let (dead, alive) = if holder == a.id() {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    assert_eq!(holder, dead.id());
    dead.kill().unwrap();
    dead.wait().unwrap();
    // The other takes over within the lease (3 s here; 30 s is the bound asked for).
    fake.private(&hal, "/status");
    fake.until(
        "the other instance answers",
        StdDuration::from_secs(30),
        |c| {
            c.iter()
                .filter(|c| c.chat() == Some(hal.id) && c.method == "sendmessage")
                .count()
                >= 2
        },
    )
    .await;
    fake.until_confirmed(WAIT).await;
    assert_eq!(poller(db.url()).await, Some(alive.id()));
    let replies: Vec<String> = fake.sent_to(hal.id).iter().map(Call::text).collect();
    let filed = replies.iter().filter(|t| t.contains("is open")).count();
    assert_eq!(filed, 1, "the report handled once: {replies:#?}");
    // SIGTERM: a clean stop within seconds, the lease handed over.
    let stopped = std::time::Instant::now();
    std::process::Command::new("kill")
        .args(["-TERM", &alive.id().to_string()])
        .status()
        .unwrap();
    let status = alive.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(stopped.elapsed() < StdDuration::from_secs(10));
    assert_eq!(poller(db.url()).await, None, "the lease is handed over");
}

/// A text over Telegram's 4,096 characters goes out in parts split on lines; when a later part
/// fails, the retry sends only what is left.
#[tokio::test]
async fn a_long_text_in_parts_resumes_after_the_part_that_failed() {
    use recourse::core::identity::UserRef;
    use recourse::core::message::{Meta, Recipient};
    use recourse::core::ports::OutboxItem;
    use recourse::delivery::{SendError, Sink};

    let fake = FakeTelegram::start().await;
    let settings = settings(&fake);
    let bot = teloxide::Bot::new(TOKEN).set_api_url(settings.telegram.api_url.clone());
    let sink = recourse::platforms::telegram::sink(bot, &settings.telegram);
    let long: String = (0..300)
        .map(|i| format!("line {i}: {}", "x".repeat(30)))
        .collect::<Vec<_>>()
        .join("\n");
    let item = OutboxItem {
        id: 7,
        key: "long".into(),
        case_id: None,
        to: Recipient::User {
            user: UserRef::Telegram(1030),
        },
        text: long.clone(),
        attachment: None,
        meta: Meta::default(),
        attempts: 0,
        target: None,
    };
    // A dropped connection (a 5xx would do the same, after teloxide's own 10 s pause).
    fake.fail_after("sendmessage", 1, Fault::Drop);
    let first = sink.send(&item).await;
    assert!(matches!(first, Err(SendError::Retry(_))), "{first:?}");
    assert_eq!(fake.sent_to(1030).len(), 1, "the first part went out");
    let sent = sink.send(&item).await.expect("the retry succeeds");
    let parts = fake.sent_to(1030);
    assert!(parts.len() >= 3, "{}", parts.len());
    for p in &parts {
        assert!(p.text().chars().count() <= 4096);
    }
    assert_eq!(
        parts.iter().map(Call::text).collect::<Vec<_>>().join("\n"),
        long,
        "every line once, in order"
    );
    assert_eq!(
        sent,
        Some(recourse::core::identity::MessageRef::Telegram {
            chat: 1030,
            message: parts.last().unwrap().sent_message_id().unwrap(),
        }),
        "the reference is the last part's"
    );
}
