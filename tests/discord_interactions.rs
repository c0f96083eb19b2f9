//! Discord interactions at their edges, with the real poise/serenity client against the fake:
//! acknowledged within Discord's three seconds while the database stalls; autocomplete
//! suggesting only the user's own cases; `/export` attaching the dossier's files; a follow-up
//! refused (429, 500) reaching the DM once; a case thread whose creation answer was lost found
//! again rather than made twice; and two real `recourse serve` processes on one
//! PostgreSQL database, one holding the gateway, the other taking over after a `kill -9`.

mod common;
mod fake_discord;

use std::time::Duration as StdDuration;

use chrono::Duration;
use common::*;
use fake_discord::live::*;
use fake_discord::{FakeDiscord, Fault, autocomplete, member, slash};
use recourse::core::case::CaseId;
use recourse::core::ports::Store;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

const BEA: u64 = 444_000_000_000_002;

/// A TCP proxy in front of PostgreSQL that holds every byte while paused: the database seems
/// to hang (connections stay open), as a slow or locked server does.
struct Valve {
    port: u16,
    open: watch::Sender<bool>,
}

impl Valve {
    async fn start(target: String) -> Valve {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (open, watching) = watch::channel(true);
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let (target, watching) = (target.clone(), watching.clone());
                tokio::spawn(async move {
                    let Ok(outbound) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    let (ri, wi) = inbound.into_split();
                    let (ro, wo) = outbound.into_split();
                    tokio::join!(pipe(ri, wo, watching.clone()), pipe(ro, wi, watching));
                });
            }
        });
        Valve { port, open }
    }

    fn pause(&self) {
        self.open.send_replace(false);
    }

    fn resume(&self) {
        self.open.send_replace(true);
    }
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut open: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if open.wait_for(|o| *o).await.is_err() || to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _closed = to.shutdown().await;
}

/// A database the test can stall: PostgreSQL behind a paused [`Valve`], or SQLite with its
/// write lock held by another connection.
enum Stall {
    Postgres(Valve),
    Sqlite(String, Option<sqlx::SqliteConnection>),
}

impl Stall {
    /// The URL the bot is to use, and the stall for it.
    async fn new(url: &str) -> (String, Stall) {
        if !url.starts_with("postgres") {
            let sqlite = format!("sqlite://{url}");
            return (url.to_string(), Stall::Sqlite(sqlite, None));
        }
        let mut u = url::Url::parse(url).unwrap();
        let target = format!("{}:{}", u.host_str().unwrap(), u.port().unwrap_or(5432));
        let valve = Valve::start(target).await;
        u.set_host(Some("127.0.0.1")).unwrap();
        u.set_port(Some(valve.port)).unwrap();
        (u.to_string(), Stall::Postgres(valve))
    }

    async fn hold(&mut self) {
        use sqlx::Connection;
        match self {
            Stall::Postgres(v) => v.pause(),
            Stall::Sqlite(url, held) => {
                let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
                sqlx::query("BEGIN EXCLUSIVE")
                    .execute(&mut c)
                    .await
                    .unwrap();
                *held = Some(c);
            }
        }
    }

    async fn release(&mut self) {
        match self {
            Stall::Postgres(v) => v.resume(),
            Stall::Sqlite(_, held) => {
                if let Some(mut c) = held.take() {
                    sqlx::query("ROLLBACK").execute(&mut c).await.unwrap();
                }
            }
        }
    }
}

/// The first callback's type for an interaction, waited for (Discord allows 3 s).
async fn acknowledged(fake: &FakeDiscord, id: u64) -> u64 {
    let prefix = format!("/interactions/{id}/");
    fake.until("the acknowledgement", StdDuration::from_secs(3), |calls| {
        calls.iter().any(|c| c.path.contains(&prefix))
    })
    .await;
    fake.callbacks(id)[0]
}

async fn interactions_are_acknowledged_while_the_database_stalls(url: &str) {
    let fake = FakeDiscord::start().await;
    let (bot_url, mut stall) = Stall::new(url).await;
    let bot = Live::start(&bot_url, &fake).await;
    fake.until_ready(READY).await;
    let ana = member(ANA, "ana", &[], 0);

    stall.hold().await;
    // A report with options: deferred (ephemeral) before the engine is asked anything.
    let report = bot.next_id();
    let options = [
        ("wallet", "MetaMask"),
        ("chain", "eth"),
        ("contacted", "now"),
    ];
    fake.dispatch(
        "INTERACTION_CREATE",
        slash(report, "report", &options, ana.clone(), HERE, "en-US"),
    );
    // `/report` alone: the form is the first response, and needs no database.
    let form = bot.next_id();
    fake.dispatch(
        "INTERACTION_CREATE",
        slash(form, "report", &[], ana.clone(), HERE, "en-US"),
    );
    // Case suggestions need the database: none, rather than too late.
    let suggest = bot.next_id();
    fake.dispatch(
        "INTERACTION_CREATE",
        autocomplete(suggest, "status", &[], ("case", ""), ana.clone(), HERE),
    );
    assert_eq!(acknowledged(&fake, report).await, 5, "a deferred message");
    assert_eq!(
        fake.callback_bodies(report)[0]["data"]["flags"],
        64,
        "ephemeral"
    );
    assert_eq!(acknowledged(&fake, form).await, 9, "the modal");
    assert_eq!(acknowledged(&fake, suggest).await, 8, "suggestions");
    assert_eq!(
        fake.callback_bodies(suggest)[0]["data"]["choices"],
        serde_json::json!([])
    );
    assert!(
        fake.answers_to(&format!("itoken{report}")).is_empty(),
        "nothing answered while the database is stalled"
    );
    stall.release().await;

    // Once the database answers, so does the bot: the case is filed, the victim told.
    let said = answers(&fake, report, 1).await;
    let text = said[0]["content"].as_str().unwrap();
    let id = case_id_in(text).unwrap_or_else(|| panic!("a case ID in {text}"));
    let case = bot
        .store
        .load_case(&CaseId::parse(&id).unwrap())
        .await
        .unwrap()
        .expect("filed");
    assert_eq!(case.case.report.wallet.as_deref(), Some("MetaMask"));
    bot.stop().await;
}

fn choices(fake: &FakeDiscord, id: u64) -> Vec<(String, String)> {
    let body = &fake.callback_bodies(id)[0];
    assert_eq!(body["type"], 8, "{body}");
    body["data"]["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["value"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Files a case for `who` with options and returns its ID.
async fn file(bot: &Live, fake: &FakeDiscord, who: Value, options: &[(&str, &str)]) -> String {
    let id = bot.next_id();
    fake.dispatch(
        "INTERACTION_CREATE",
        slash(id, "report", options, who, HERE, "en-US"),
    );
    let said = answers(fake, id, 1).await;
    let text = said[0]["content"].as_str().unwrap().to_string();
    case_id_in(&text).unwrap_or_else(|| panic!("a case ID in {text}"))
}

async fn autocomplete_suggests_the_users_own_cases_and_the_cores_lists(url: &str) {
    let fake = FakeDiscord::start().await;
    let bot = Live::start(url, &fake).await;
    fake.until_ready(READY).await;
    let (ana, bea) = (member(ANA, "ana", &[], 0), member(BEA, "bea", &[], 0));
    let anas = file(
        &bot,
        &fake,
        ana.clone(),
        &[
            ("wallet", "MetaMask"),
            ("amount", "1200"),
            ("contacted", "now"),
        ],
    )
    .await;
    let beas = file(&bot, &fake, bea.clone(), &[("wallet", "Trust Wallet")]).await;

    let ask = |who: Value, command: &str, focused: (&str, &str)| {
        let id = bot.next_id();
        fake.dispatch(
            "INTERACTION_CREATE",
            autocomplete(id, command, &[], focused, who, HERE),
        );
        id
    };
    let a = ask(ana.clone(), "status", ("case", ""));
    acknowledged(&fake, a).await;
    let offered = choices(&fake, a);
    assert_eq!(offered.len(), 1, "{offered:?}");
    assert_eq!(offered[0].1, anas);
    assert!(offered[0].0.contains("MetaMask"), "{offered:?}");
    let b = ask(bea.clone(), "export", ("case", ""));
    acknowledged(&fake, b).await;
    assert_eq!(
        choices(&fake, b)
            .into_iter()
            .map(|(_, v)| v)
            .collect::<Vec<_>>(),
        vec![beas.clone()],
        "another victim's case is never offered"
    );
    // Typing narrows it; a closed case is no longer offered.
    let typed = ask(ana.clone(), "status", ("case", "zzz"));
    acknowledged(&fake, typed).await;
    assert!(choices(&fake, typed).is_empty());
    let resolve = bot.next_id();
    fake.dispatch(
        "INTERACTION_CREATE",
        slash(
            resolve,
            "resolve",
            &[("case", &anas)],
            ana.clone(),
            HERE,
            "en-US",
        ),
    );
    answers(&fake, resolve, 1).await;
    let after = ask(ana.clone(), "status", ("case", ""));
    acknowledged(&fake, after).await;
    assert!(
        choices(&fake, after).is_empty(),
        "the resolved case is gone"
    );

    // The core's fixed lists: chains, and how it happened in the user's language.
    let chain = ask(ana.clone(), "report", ("chain", "tro"));
    acknowledged(&fake, chain).await;
    let chains = choices(&fake, chain);
    assert!(chains.iter().any(|(_, v)| v == "tron"), "{chains:?}");
    assert!(chains.iter().all(|(_, v)| v != "eth"), "{chains:?}");
    let how = ask(ana, "report", ("how", ""));
    acknowledged(&fake, how).await;
    assert!(choices(&fake, how).len() >= 5, "every way a theft happens");
    bot.stop().await;
}

async fn export_attaches_the_dossiers_two_files_privately(url: &str) {
    let fake = FakeDiscord::start().await;
    let bot = Live::start(url, &fake).await;
    fake.until_ready(READY).await;
    let ana = member(ANA, "ana", &[], 0);
    let case = file(
        &bot,
        &fake,
        ana.clone(),
        &[("wallet", "MetaMask"), ("chain", "eth"), ("tx", TX)],
    )
    .await;
    let id = bot.next_id();
    fake.dispatch(
        "INTERACTION_CREATE",
        slash(id, "export", &[("case", &case)], ana, HERE, "en-US"),
    );
    let said = answers(&fake, id, 3).await;
    let files: Vec<&Value> = said
        .iter()
        .flat_map(|a| a["files"].as_array().into_iter().flatten())
        .collect();
    let names: Vec<&str> = files
        .iter()
        .map(|f| f["filename"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            format!("recourse-{case}.md").as_str(),
            format!("recourse-{case}.html").as_str()
        ]
    );
    for f in &files {
        let content = f["content"].as_str().unwrap();
        assert!(content.contains(&case) && content.contains(TX), "{content}");
    }
    for a in &said {
        assert_eq!(a["flags"], 64, "only the victim sees it: {a}");
    }
    assert!(
        fake.posts_to(HERE).is_empty(),
        "nothing about the case in the channel"
    );
    bot.stop().await;
}

async fn a_refused_follow_up_reaches_the_victims_dm_once(url: &str) {
    let fake = FakeDiscord::start().await;
    let bot = Live::start(url, &fake).await;
    fake.until_ready(READY).await;
    let ana = member(ANA, "ana", &[], 0);
    let case = file(&bot, &fake, ana.clone(), &[("wallet", "MetaMask")]).await;
    let webhook = format!("POST /webhooks/{}/", fake_discord::APP_ID);
    for (fault, command) in [
        (Fault::TooMany(2.0), "status"),
        (Fault::ServerError, "unresolved"),
    ] {
        fake.fail(&webhook, fault.clone());
        let id = bot.next_id();
        fake.dispatch(
            "INTERACTION_CREATE",
            slash(id, command, &[("case", &case)], ana.clone(), HERE, "en-US"),
        );
        let route = format!("/webhooks/{}/itoken{id}", fake_discord::APP_ID);
        fake.until("the refused follow-up", ANSWERED, |calls| {
            calls.iter().any(|c| c.path.contains(&route))
        })
        .await;
        let refused = fake
            .calls()
            .into_iter()
            .find(|c| c.path.contains(&route))
            .unwrap();
        assert_ne!(refused.status, 200);
        let text = refused.content();
        assert!(text.contains(&case), "{text}");
        // The outbox takes it over, waits as told, and sends it privately, once.
        bot.wait(Duration::minutes(2)).await;
        let dm = fake.dm_of(ANA).expect("a DM channel");
        let threads: Vec<u64> = fake.threads_in(HERE).into_iter().map(|(t, _)| t).collect();
        let delivered = fake.channels_with(&text);
        assert_eq!(delivered.len(), 1, "{fault:?}: once: {delivered:?}");
        assert!(
            delivered[0] == dm || threads.contains(&delivered[0]),
            "{fault:?}: privately"
        );
        bot.wait(Duration::hours(1)).await;
        assert_eq!(
            fake.channels_with(&text),
            delivered,
            "{fault:?}: never twice"
        );
        let follow_ups = fake
            .calls()
            .into_iter()
            .filter(|c| c.path.contains(&route))
            .count();
        assert_eq!(follow_ups, 1, "{fault:?}: not retried on the token");
    }
    bot.stop().await;
}

async fn a_thread_whose_answer_was_lost_is_found_not_made_twice(url: &str) {
    let fake = FakeDiscord::start().await;
    let bot = Live::start(url, &fake).await;
    fake.until_ready(READY).await;
    let ana = member(ANA, "ana", &[], 0);
    // Discord makes the thread, and the answer never arrives (as if the process died then).
    fake.fail(&format!("POST /channels/{HERE}/threads"), Fault::LoseAnswer);
    let case = file(
        &bot,
        &fake,
        ana,
        &[("wallet", "MetaMask"), ("contacted", "now")],
    )
    .await;
    // The first message for the victim's thread: the next day's reminder.
    bot.wait(Duration::hours(25)).await;
    assert_eq!(fake.threads_in(HERE).len(), 1, "made once, its answer lost");
    bot.wait(Duration::hours(2)).await;
    let threads = fake.threads_in(HERE);
    assert_eq!(threads.len(), 1, "found again, not made twice: {threads:?}");
    let (thread, body) = &threads[0];
    assert_eq!(body["name"], format!("Case {case}"));
    assert!(fake.is_member(*thread, ANA), "the victim is added to it");
    assert!(
        fake.messages_in(*thread).iter().any(|m| m.contains(&case)),
        "the victim's messages are there: {:?}",
        fake.messages_in(*thread)
    );
    bot.stop().await;
}

both_backends!(
    a_thread_whose_answer_was_lost_is_found_not_made_twice,
    interactions_are_acknowledged_while_the_database_stalls,
    autocomplete_suggests_the_users_own_cases_and_the_cores_lists,
    export_attaches_the_dossiers_two_files_privately,
    a_refused_follow_up_reaches_the_victims_dm_once,
);

// ----- two real processes -------------------------------------------------------------------

/// A `recourse serve` process on `url` with the fake as its Discord.
fn serve(url: &str, fake: &FakeDiscord) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_recourse"))
        .args(["--db", url, "serve"])
        .env("RECOURSE_LOG", "info")
        .env("RECOURSE__DISCORD__TOKEN", fake_discord::TOKEN)
        .env("RECOURSE__DISCORD__API_URL", fake.url())
        .env("RECOURSE__DISCORD__GUILD", fake_discord::GUILD.to_string())
        .env("RECOURSE__DISCORD__MODERATOR_CHANNEL", MODS.to_string())
        .env("RECOURSE__DISCORD__GATEWAY_LEASE", "3s")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

async fn gateway_holder(url: &str) -> Option<u32> {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let holder: Option<(String,)> =
        sqlx::query_as("SELECT holder FROM leases WHERE name = 'discord/gateway'")
            .fetch_optional(&pool)
            .await
            .unwrap();
    pool.close().await;
    holder.and_then(|(h,)| h.split('-').next()?.parse().ok())
}

/// Two services on one PostgreSQL database: one holds the gateway, the other waits; the holder
/// killed with SIGKILL, the other connects within 30 s and answers; nothing is handled twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_one_gateway_and_a_takeover_after_kill() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    // The schema once, so that the two services do not race to migrate.
    recourse::store::SqlStore::open(db.url())
        .await
        .unwrap()
        .close()
        .await;
    let fake = FakeDiscord::start().await;
    let mut a = serve(db.url(), &fake);
    let mut b = serve(db.url(), &fake);
    fake.until_ready(READY).await;
    let ana = member(ANA, "ana", &[], 0);
    let first = 111_000_000_000_001;
    fake.dispatch(
        "INTERACTION_CREATE",
        slash(
            first,
            "report",
            &[("wallet", "MetaMask"), ("contacted", "now")],
            ana.clone(),
            HERE,
            "en-US",
        ),
    );
    let said = answers(&fake, first, 1).await;
    let case = case_id_in(said[0]["content"].as_str().unwrap()).expect("filed");
    let holder = gateway_holder(db.url()).await.expect("a holder");
    let (dead, alive) = if holder == a.id() {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    dead.kill().unwrap();
    dead.wait().unwrap();
    fake.until_gateway(
        "the other instance connected",
        StdDuration::from_secs(30),
        |identifies, sessions| identifies >= 2 && sessions == 1,
    )
    .await;
    assert_eq!(fake.most_sessions(), 1, "one gateway connection at a time");
    assert_eq!(gateway_holder(db.url()).await, Some(alive.id()));
    let second = 111_000_000_000_002;
    fake.dispatch(
        "INTERACTION_CREATE",
        slash(second, "status", &[("case", &case)], ana, HERE, "en-US"),
    );
    let said = answers(&fake, second, 1).await;
    assert!(
        said[0]["content"].as_str().unwrap().contains(&case),
        "{said:?}"
    );
    assert_eq!(
        fake.callbacks(first).len(),
        1,
        "the report acknowledged once"
    );
    let store = recourse::store::SqlStore::open(db.url()).await.unwrap();
    let filed = store
        .cases_of(&recourse::core::identity::UserRef::Discord(ANA))
        .await
        .unwrap();
    assert_eq!(filed.len(), 1, "filed once");
    store.close().await;
    // SIGTERM: a clean stop, the shard closed and the lease handed over.
    std::process::Command::new("kill")
        .args(["-TERM", &alive.id().to_string()])
        .status()
        .unwrap();
    let status = alive.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(
        gateway_holder(db.url()).await,
        None,
        "the lease is handed over"
    );
    assert_eq!(fake.sessions(), 0);
}
