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
use fake_discord::{FakeDiscord, Fault, GUILD, TOKEN, button, member, posted, slash, with_roles};
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

use fake_discord::live::*;

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
        fake.add_dm(HERE, ANA);
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
    let id = bot.report(ANA).await;
    // They close their DMs after reporting: the ladder's steps cannot reach them.
    bot.fake.close_dms(ANA);
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

// ----- the gateway: the real poise/serenity client against the fake --------------------------

async fn a_slash_report_files_the_case_and_answers_only_the_victim(url: &str) {
    let fake = FakeDiscord::start().await;
    let bot = Live::start(url, &fake).await;
    fake.until_ready(READY).await;
    // Registered for the configured server, with Chinese names and descriptions.
    let registered = fake
        .calls()
        .into_iter()
        .find(|c| c.method == "PUT" && c.path.ends_with("/commands"))
        .unwrap();
    assert!(
        registered
            .path
            .contains(&format!("/guilds/{GUILD}/commands"))
    );
    let report = registered
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "report")
        .unwrap();
    assert_eq!(report["name_localizations"]["zh-CN"], "报案");
    assert!(
        !report["description_localizations"]["zh-CN"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    let option_names: Vec<&str> = report["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    for key in [
        "wallet",
        "how",
        "chain",
        "amount",
        "asset",
        "tx",
        "address",
        "noticed",
        "contacted",
        "country",
        "lang",
    ] {
        assert!(
            option_names.contains(&key),
            "option {key} in {option_names:?}"
        );
    }

    assert!(
        registered
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "Report to moderators"
                && c["type"] == 3
                && c["name_localizations"]["zh-CN"] == "举报给管理员"),
        "the message context menu, with its Chinese name"
    );
    let id = bot.next_id();
    let ana = member(ANA, "ana", &[], 0);
    let sent = fake.dispatch(
        "INTERACTION_CREATE",
        slash(
            id,
            "report",
            &[
                ("wallet", "MetaMask"),
                ("chain", "eth"),
                ("amount", "1200"),
                ("asset", "USDT"),
                ("tx", TX),
                ("contacted", "now"),
            ],
            ana.clone(),
            HERE,
            "en-US",
        ),
    );
    assert_eq!(sent, 1, "one gateway session");
    let got = answers(&fake, id, 1).await;
    // Acknowledged first, ephemerally; then answered on the token, ephemerally.
    let callbacks: Vec<fake_discord::Call> = fake
        .calls()
        .into_iter()
        .filter(|c| c.path.contains(&format!("/interactions/{id}/")))
        .collect();
    assert_eq!(callbacks.len(), 1);
    assert_eq!(callbacks[0].body["type"], 5);
    assert_eq!(callbacks[0].body["data"]["flags"], 64);
    assert!(got.iter().all(|a| a["flags"] == 64), "{got:?}");
    let text: String = got
        .iter()
        .map(|a| a["content"].as_str().unwrap_or_default())
        .collect();
    let case = case_id_in(&text).unwrap_or_else(|| panic!("no case ID in {text}"));
    // Nothing about it in the channel where the command was used.
    assert!(fake.posts_to(HERE).is_empty());
    let cases = bot.store.cases_of(&UserRef::Discord(ANA)).await.unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].case.id.to_string(), case);
    assert_eq!(cases[0].case.report.wallet.as_deref(), Some("MetaMask"));
    assert_eq!(cases[0].case.report.txs.len(), 1);

    // The moderators hear of it through the outbox, with their buttons.
    bot.deliver().await;
    let notice = fake
        .posts_to(MODS)
        .into_iter()
        .find(|c| c.content().contains(&case))
        .expect("moderator notice");
    let claim = notice
        .buttons()
        .into_iter()
        .find(|(label, _)| label.to_lowercase().contains("claim"))
        .expect("a Claim button")
        .1;

    // Someone without the role: an ephemeral refusal, and nothing claimed.
    let id2 = bot.next_id();
    fake.dispatch(
        "INTERACTION_CREATE",
        button(id2, &claim, &notice, ana.clone()),
    );
    let refused = answers(&fake, id2, 1).await;
    assert_eq!(fake.callbacks(id2), vec![6]);
    assert_eq!(refused[0]["flags"], 64);
    let sc = bot
        .store
        .load_case(&CaseId::parse(&case).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sc.case.claimed_by, None);

    // A moderator (by role): claimed, acknowledged to them, the post edited by the outbox.
    let id3 = bot.next_id();
    fake.dispatch(
        "INTERACTION_CREATE",
        button(id3, &claim, &notice, member(MO, "mo", &[MOD_ROLE], 0)),
    );
    let ok = answers(&fake, id3, 1).await;
    assert_eq!(ok[0]["flags"], 64);
    let sc = bot
        .store
        .load_case(&CaseId::parse(&case).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sc.case.claimed_by.as_deref(), Some("mo"));
    bot.deliver().await;
    let shown = fake.messages_in(MODS).join("\n");
    assert!(shown.contains("mo"), "the moderator post says who: {shown}");

    // The same press again (a stale button): the case as it is, never claimed twice.
    let id4 = bot.next_id();
    fake.dispatch(
        "INTERACTION_CREATE",
        button(id4, &claim, &notice, member(MO, "mo", &[MOD_ROLE], 0)),
    );
    answers(&fake, id4, 1).await;
    let events = bot
        .store
        .events(&CaseId::parse(&case).unwrap())
        .await
        .unwrap();
    let claims = events
        .iter()
        .filter(|e| format!("{:?}", e.kind).starts_with("Claimed"))
        .count();
    assert_eq!(claims, 1, "{events:#?}");

    // /status in Chinese: the interaction's locale picks the language.
    let id5 = bot.next_id();
    fake.dispatch(
        "INTERACTION_CREATE",
        slash(
            id5,
            "status",
            &[],
            member(ANA + 1, "bo", &[], 0),
            HERE,
            "zh-CN",
        ),
    );
    let zh = answers(&fake, id5, 1).await;
    let zh: String = zh
        .iter()
        .map(|a| a["content"].as_str().unwrap_or_default())
        .collect();
    assert!(
        zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "{zh}"
    );
    bot.stop().await;
    assert_eq!(fake.sessions(), 0, "the shard closed on stop");
}

async fn one_instance_holds_the_gateway_and_another_takes_over(url: &str) {
    let fake = FakeDiscord::start().await;
    let first = Live::start(url, &fake).await;
    fake.until_ready(READY).await;
    let second = Live::start(url, &fake).await;
    // The second instance waits for the lease while the first keeps it; on a clean stop the
    // first hands it over and the second connects.
    assert_eq!((fake.identifies(), fake.sessions()), (1, 1));
    first.stop().await;
    fake.until_gateway("a takeover", READY, |identifies, sessions| {
        identifies == 2 && sessions == 1
    })
    .await;
    // The new holder answers.
    let id = second.next_id();
    fake.dispatch(
        "INTERACTION_CREATE",
        slash(id, "help", &[], member(ANA, "ana", &[], 0), HERE, "en-US"),
    );
    assert!(!answers(&fake, id, 1).await.is_empty());
    second.stop().await;
}

const SEED: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
/// Ana's DM channel with the bot.
const ANA_DM: u64 = 555_000_000_000_010;

async fn a_secret_in_a_channel_is_deleted_and_never_kept_and_dms_hold_the_intake(url: &str) {
    let fake = FakeDiscord::start().await;
    fake.add_dm(ANA_DM, ANA);
    let bot = Live::start(url, &fake).await;
    fake.until_ready(READY).await;
    let id = bot.next_id();
    fake.dispatch(
        "MESSAGE_CREATE",
        posted(
            id,
            HERE,
            true,
            ANA,
            "ana",
            &format!("help, my words are {SEED}"),
        ),
    );
    let delete = format!("/channels/{HERE}/messages/{id}");
    fake.until("the secret deleted", ANSWERED, |calls| {
        calls
            .iter()
            .any(|c| c.method == "DELETE" && c.path.ends_with(&delete))
    })
    .await;
    bot.deliver().await;
    // Warned in private, without the words.
    let dm = fake.messages_in(ANA_DM).join("\n");
    assert!(!dm.is_empty(), "a private word to the poster");
    for c in fake.calls() {
        assert!(
            !c.body.to_string().contains("abandon abandon"),
            "repeated: {c:?}"
        );
    }
    assert!(!everything_stored(url).await.contains("abandon abandon"));

    // A member flags a "recovery" offer: the moderators get it with its link; the member an
    // ephemeral thank-you.
    let offer = bot.next_id();
    let scam = posted(
        offer,
        HERE,
        true,
        ANA + 7,
        "helpdesk_official",
        "Lost funds? I recover stolen crypto, DM me",
    );
    let id = bot.next_id();
    fake.dispatch(
        "INTERACTION_CREATE",
        fake_discord::context_menu(id, "Report to moderators", scam, member(ANA, "ana", &[], 0)),
    );
    let thanks = answers(&fake, id, 1).await;
    assert_eq!(thanks[0]["flags"], 64);
    assert!(
        thanks[0]["content"].as_str().unwrap().contains("Thank you"),
        "{thanks:?}"
    );
    bot.deliver().await;
    let link = format!("https://discord.com/channels/{GUILD}/{HERE}/{offer}");
    let told = fake.messages_in(MODS).join("\n");
    assert!(
        told.contains(&link) && told.contains("helpdesk_official"),
        "{told}"
    );

    // In their DM, typing is the chat: /report starts the intake there.
    let id = bot.next_id();
    fake.dispatch(
        "MESSAGE_CREATE",
        posted(id, ANA_DM, false, ANA, "ana", "/report"),
    );
    fake.until("the first question", ANSWERED, |calls| {
        calls
            .iter()
            .filter(|c| c.method == "POST" && c.channel() == Some(ANA_DM))
            .count()
            >= 2
    })
    .await;
    let question = fake.posts_to(ANA_DM).last().unwrap().clone();
    assert!(
        !question.buttons().is_empty(),
        "the question offers its choices: {question:?}"
    );
    assert!(
        question.content().to_lowercase().contains("seed"),
        "{}",
        question.content()
    );
    bot.stop().await;
}

const CASES: u64 = 555_000_000_000_020;
const SUPPORT_ROLE: u64 = 333_000_000_000_008;
const SAM: u64 = 444_000_000_000_011;

async fn each_case_gets_a_private_thread_where_support_replies_stop_the_clock(url: &str) {
    let fake = FakeDiscord::start().await;
    let mut settings = live_settings(&fake);
    settings.discord.case_channel = Some(CASES);
    settings.discord.support_role = Some(SUPPORT_ROLE);
    let bot = Live::with(url, settings).await;
    fake.until_ready(READY).await;
    let id = bot.next_id();
    let options = [
        ("wallet", "MetaMask"),
        ("chain", "eth"),
        ("tx", TX),
        ("contacted", "now"),
    ];
    fake.dispatch(
        "INTERACTION_CREATE",
        slash(
            id,
            "report",
            &options,
            member(ANA, "ana", &[], 0),
            HERE,
            "en-US",
        ),
    );
    let text: String = answers(&fake, id, 1)
        .await
        .iter()
        .map(|a| a["content"].as_str().unwrap_or_default().to_string())
        .collect();
    let case = case_id_in(&text).unwrap_or_else(|| panic!("no case ID in {text}"));
    // The first step reaches the victim in a private, not invitable thread of the case channel.
    bot.wait(Duration::hours(25)).await;
    let threads = fake.threads_in(CASES);
    assert_eq!(threads.len(), 1, "{threads:?}");
    let (thread, made) = &threads[0];
    assert_eq!(made["type"], 12);
    assert_eq!(made["invitable"], false);
    assert!(made["name"].as_str().unwrap().contains(&case));
    assert!(fake.is_member(*thread, ANA), "the victim is in it");
    assert!(
        !fake.posts_to(*thread).is_empty(),
        "the step is in the thread"
    );
    assert!(
        fake.dm_of(ANA)
            .is_none_or(|dm| fake.posts_to(dm).is_empty()),
        "nothing in DMs: {:?}",
        fake.dm_of(ANA).map(|dm| fake
            .posts_to(dm)
            .iter()
            .map(|c| c.content())
            .collect::<Vec<_>>())
    );

    // Support staff answer in the thread: the clock stops, the victim is told there.
    let before = fake.posts_to(*thread).len();
    let m = bot.next_id();
    fake.dispatch(
        "MESSAGE_CREATE",
        with_roles(
            posted(
                m,
                *thread,
                true,
                SAM,
                "sam_support",
                "Hi Ana, we are looking at it now.",
            ),
            &[SUPPORT_ROLE],
        ),
    );
    let t = *thread;
    fake.until("the victim told in the thread", ANSWERED, |calls| {
        calls
            .iter()
            .filter(|c| c.method == "POST" && c.status == 200 && c.channel() == Some(t))
            .count()
            > before
    })
    .await;
    let told = fake.posts_to(*thread).last().unwrap().content();
    assert!(told.contains("sam_support"), "{told}");
    let sc = bot
        .store
        .load_case(&CaseId::parse(&case).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sc.case.replies.len(), 1);
    assert!(sc.case.clock.since.is_none(), "the clock stopped");
    // Someone without the role writing there is not support.
    let m = bot.next_id();
    fake.dispatch(
        "MESSAGE_CREATE",
        posted(m, *thread, true, ANA, "ana", "thanks!"),
    );

    // No thread to be had (the server's limit): DMs, and the moderators are told.
    fake.fail(
        &format!("POST /channels/{CASES}/threads"),
        Fault::Forbidden(160006),
    );
    let id = bot.next_id();
    let bo = ANA + 1;
    fake.dispatch(
        "INTERACTION_CREATE",
        slash(
            id,
            "report",
            &options,
            member(bo, "bo", &[], 0),
            HERE,
            "en-US",
        ),
    );
    answers(&fake, id, 1).await;
    bot.wait(Duration::hours(25)).await;
    assert_eq!(fake.threads_in(CASES).len(), 1);
    let dm = fake.dm_of(bo).expect("a DM instead");
    assert!(!fake.posts_to(dm).is_empty());
    let mods = fake.messages_in(MODS).join("\n");
    assert!(mods.contains("could not open a private thread"), "{mods}");
    let sc = bot
        .store
        .load_case(&CaseId::parse(&case).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        sc.case.replies.len(),
        1,
        "ana's words were not a support reply"
    );
    bot.stop().await;
}

async fn report_without_options_opens_the_form_and_the_rest_follows_as_buttons(url: &str) {
    let fake = FakeDiscord::start().await;
    let bot = Live::start(url, &fake).await;
    fake.until_ready(READY).await;
    let ana = member(ANA, "ana", &[], 0);
    // The form is the first response: a modal of text inputs only, nothing deferred before.
    let id = bot.next_id();
    fake.dispatch(
        "INTERACTION_CREATE",
        slash(id, "report", &[], ana.clone(), HERE, "en-US"),
    );
    let callback = format!("/interactions/{id}/");
    fake.until("the form", ANSWERED, |calls| {
        calls.iter().any(|c| c.path.contains(&callback))
    })
    .await;
    assert_eq!(fake.callbacks(id), vec![9]);
    let modal = fake
        .calls()
        .into_iter()
        .find(|c| c.path.contains(&format!("/interactions/{id}/")))
        .unwrap();
    let rows = modal.body["data"]["components"].as_array().unwrap();
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| r["components"][0]["type"] == 4));

    // Submitted: what a form cannot hold is asked next, with buttons, ephemerally.
    let id = bot.next_id();
    fake.dispatch(
        "INTERACTION_CREATE",
        fake_discord::modal_submit(
            id,
            &[
                ("wallet", "MetaMask"),
                ("chain_amount", "eth 1200 USDT"),
                ("evidence", TX),
                ("noticed", ""),
                ("contacted", "now"),
            ],
            ana.clone(),
            HERE,
        ),
    );
    let token = format!("itoken{id}");
    let asked = answers(&fake, id, 1).await;
    assert_eq!(fake.callbacks(id), vec![5]);
    assert_eq!(asked[0]["flags"], 64);
    let question = fake
        .calls()
        .into_iter()
        .rfind(|c| c.path.contains(&token))
        .unwrap();
    let how = question
        .buttons()
        .into_iter()
        .find(|(label, _)| label.to_lowercase().contains("approval"))
        .unwrap_or_else(|| panic!("the how choices: {:?}", question.buttons()));
    // Each answer by button: how it happened, then skip the country, then the language.
    let mut on = question;
    for pick in [Some(how.1), None, None] {
        let token = match pick {
            Some(t) => t,
            None => {
                let b = on.buttons();
                b.iter()
                    .find(|(l, _)| l == "Skip" || l == "English")
                    .unwrap_or_else(|| panic!("{b:?} in {}", on.content()))
                    .1
                    .clone()
            }
        };
        let press = bot.next_id();
        fake.dispatch(
            "INTERACTION_CREATE",
            button(press, &token, &on, ana.clone()),
        );
        answers(&fake, press, 1).await;
        let itoken = format!("itoken{press}");
        on = fake
            .calls()
            .into_iter()
            .rfind(|c| c.path.contains(&itoken))
            .unwrap();
    }
    let text = on.content();
    let case = case_id_in(&text).unwrap_or_else(|| panic!("no case in {text}"));
    let cases = bot.store.cases_of(&UserRef::Discord(ANA)).await.unwrap();
    assert_eq!(cases.len(), 1);
    let c = &cases[0].case;
    assert_eq!(c.id.to_string(), case);
    assert_eq!(c.report.wallet.as_deref(), Some("MetaMask"));
    assert_eq!(c.report.amount.as_deref(), Some("1200 USDT"));
    assert_eq!(c.report.txs.len(), 1);
    assert_eq!(c.report.how.key(), "malicious_approval");
    assert!(fake.posts_to(HERE).is_empty(), "nothing in the channel");
    bot.stop().await;
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
    a_slash_report_files_the_case_and_answers_only_the_victim,
    one_instance_holds_the_gateway_and_another_takes_over,
    a_secret_in_a_channel_is_deleted_and_never_kept_and_dms_hold_the_intake,
    each_case_gets_a_private_thread_where_support_replies_stop_the_clock,
    report_without_options_opens_the_form_and_the_rest_follows_as_buttons,
);
