//! Shared test helpers: a database per test (SQLite file or a fresh PostgreSQL database), the
//! real engine, scheduler and outbox on an injected clock, and a sink that records what it sent.
#![allow(dead_code)]

pub mod samples;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use recourse::config::Settings;
use recourse::core::clock::{Clock, ManualClock};
use recourse::core::engine::{Engine, Handled};
use recourse::core::identity::{Actor, ChatRef, UserRef};
use recourse::core::message::{Incoming, Input, Place, Recipient};
use recourse::core::ports::{OutboxItem, Store};
use recourse::delivery::{Delivery, SendError, Sink};
use recourse::scheduler::Scheduler;
use recourse::store::SqlStore;
use tokio::sync::Notify;

/// The PostgreSQL server tests use: `RECOURSE_TEST_POSTGRES` (an admin URL). `.ci/run` sets it;
/// CI never skips, a developer without it gets a clear skip message.
pub fn pg_admin_url() -> Option<String> {
    match std::env::var("RECOURSE_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI must set RECOURSE_TEST_POSTGRES (see .ci/run)")
        }
        _ => {
            eprintln!(
                "SKIPPED: PostgreSQL tests need RECOURSE_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres"
            );
            None
        }
    }
}

/// A database that exists for one test and is removed afterwards.
pub enum TestDb {
    Sqlite {
        dir: tempfile::TempDir,
        url: String,
    },
    Postgres {
        admin: String,
        name: String,
        url: String,
    },
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = dir.path().join("recourse.db").display().to_string();
        TestDb::Sqlite { dir, url }
    }

    pub async fn postgres() -> Option<TestDb> {
        let admin = pg_admin_url()?;
        let name = format!("recourse_test_{:016x}", rand::random::<u64>());
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
            .await
            .expect("connect to the test PostgreSQL server");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let mut url = url::Url::parse(&admin).expect("admin url");
        url.set_path(&name);
        Some(TestDb::Postgres {
            admin,
            name,
            url: url.to_string(),
        })
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => url,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin, name, .. } = self {
            let (admin, db) = (admin.clone(), name.clone());
            // Drop runs outside any runtime guarantee: use a short-lived one on its own thread.
            let dropped = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(async {
                    let mut conn =
                        <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await?;
                    sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await?;
                    Ok::<_, anyhow::Error>(())
                })
            })
            .join();
            if !matches!(dropped, Ok(Ok(()))) {
                eprintln!("warning: could not drop test database {name}");
            }
        }
    }
}

/// Records every message "sent"; can be told to fail.
#[derive(Clone, Default)]
pub struct RecordingSink {
    pub sent: Arc<Mutex<Vec<OutboxItem>>>,
    pub fail: Arc<Mutex<Option<SendError>>>,
}

impl RecordingSink {
    pub fn take(&self) -> Vec<OutboxItem> {
        std::mem::take(&mut *self.sent.lock().unwrap())
    }
}

impl Sink for RecordingSink {
    async fn send(
        &self,
        item: &OutboxItem,
    ) -> Result<Option<recourse::core::identity::MessageRef>, SendError> {
        if let Some(e) = self.fail.lock().unwrap().take() {
            return Err(e);
        }
        self.sent.lock().unwrap().push(item.clone());
        Ok(Some(recourse::core::identity::MessageRef::Console {
            line: u64::try_from(item.id).unwrap_or(0),
        }))
    }
}

pub fn person(name: &str) -> Actor {
    Actor {
        user: UserRef::Console(name.into()),
        name: name.into(),
        moderator: false,
    }
}

pub fn moderator(name: &str) -> Actor {
    Actor {
        moderator: true,
        ..person(name)
    }
}

/// The whole core on one database, with a clock the test moves.
pub struct App {
    pub store: SqlStore,
    pub clock: ManualClock,
    pub engine: Engine<SqlStore>,
    pub scheduler: Scheduler<SqlStore>,
    pub delivery: Delivery<SqlStore, RecordingSink>,
    pub sink: RecordingSink,
}

pub fn start() -> DateTime<Utc> {
    samples::t0()
}

impl App {
    pub async fn new(url: &str) -> App {
        App::with_settings(url, Settings::default()).await
    }

    pub async fn with_settings(url: &str, settings: Settings) -> App {
        let store = SqlStore::open(url).await.expect("open store");
        let clock = ManualClock::fixed(start());
        App::on(store, clock, settings)
    }

    /// Another instance (own services, scheduler and outbox) on an existing store and clock.
    pub fn on(store: SqlStore, clock: ManualClock, settings: Settings) -> App {
        let svc = Arc::new(recourse::app::services(&settings).expect("services"));
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        let wake = Arc::new(Notify::new());
        let sink = RecordingSink::default();
        App {
            engine: Engine::new(store.clone(), shared.clone(), svc.clone()),
            scheduler: Scheduler::new(
                store.clone(),
                shared.clone(),
                svc,
                wake.clone(),
                wake.clone(),
            ),
            delivery: Delivery::new(store.clone(), sink.clone(), shared, wake),
            store,
            clock,
            sink,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// One private message from `who`; returns the texts sent back to that chat.
    pub async fn say(&self, who: &Actor, text: &str) -> String {
        let h = self.handle(who, text, true).await;
        h.out
            .iter()
            .filter(|o| matches!(o.to, Recipient::Chat { .. }))
            .map(|o| o.text.clone())
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub async fn handle(&self, who: &Actor, text: &str, private: bool) -> Handled {
        let msg = Incoming {
            actor: who.clone(),
            chat: if private {
                ChatRef::Console
            } else {
                ChatRef::Telegram { chat: -100 }
            },
            place: if private {
                Place::Private
            } else {
                Place::Community
            },
            input: Input::Text(text.into()),
            message: None,
            id: None,
            link: None,
            locale_hint: None,
        };
        self.input(&msg).await
    }

    /// Hands `msg` to the engine and, as an adapter does, sends its answers in place (into
    /// the recording sink) and reports them sent.
    pub async fn input(&self, msg: &Incoming) -> Handled {
        let h = self.engine.handle(msg).await.expect("engine");
        for a in h.answers() {
            let item = OutboxItem {
                id: 0,
                key: a.key.clone(),
                case_id: a.case_id.clone(),
                to: a.to.clone(),
                text: a.text.clone(),
                attachment: a.attachment.clone(),
                meta: a.meta.clone(),
                attempts: 0,
                target: None,
            };
            self.sink.sent.lock().unwrap().push(item);
            self.engine
                .answered(&a.key, Ok(None))
                .await
                .expect("answer recorded");
        }
        h
    }

    /// Files a case with the one-line form; returns its ID as displayed.
    pub async fn report(&self, who: &Actor, args: &str) -> String {
        let reply = self.say(who, &format!("/report {args}")).await;
        case_id_in(&reply).unwrap_or_else(|| panic!("no case id in: {reply}"))
    }

    /// Moves the clock by `d`, taking each step at its own deadline; returns the steps taken.
    pub async fn wait(&self, d: Duration) -> usize {
        let steps = self.advance(d).await;
        self.delivery.run_once(self.now()).await.unwrap();
        steps
    }

    /// Like [`App::wait`], but leaves what the steps queued in the outbox.
    pub async fn advance(&self, d: Duration) -> usize {
        let target = self.now() + d;
        let mut steps = 0;
        while let Some(at) = self.store.next_due_at().await.unwrap() {
            if at > target {
                break;
            }
            self.clock.advance_to(at);
            steps += self.scheduler.run_once(self.now()).await.unwrap();
        }
        self.clock.advance_to(target);
        steps
    }

    /// Sends what is in the outbox and returns it.
    pub async fn deliver(&self) -> Vec<OutboxItem> {
        self.delivery.run_once(self.now()).await.unwrap();
        self.sink.take()
    }
}

/// The stored state of the case with this displayed ID.
pub async fn load(app: &App, id: &str) -> recourse::core::case::Case {
    app.store
        .load_case(&recourse::core::case::CaseId::parse(id).unwrap())
        .await
        .unwrap()
        .unwrap()
        .case
}

/// Finds the first `RC-XXXXX-XXXXX` in a text.
pub fn case_id_in(text: &str) -> Option<String> {
    let i = text.find("RC-")?;
    let id: String = text[i..].chars().take(14).collect();
    recourse::core::case::CaseId::parse(&id).map(|c| c.to_string())
}

pub fn to_user(items: &[OutboxItem], name: &str) -> Vec<String> {
    items
        .iter()
        .filter(|i| matches!(&i.to, Recipient::User { user: UserRef::Console(n) } if n == name))
        .map(|i| i.text.clone())
        .collect()
}

pub fn to_mods(items: &[OutboxItem]) -> Vec<String> {
    items
        .iter()
        .filter(|i| i.to.is_moderators() && i.meta.op == recourse::core::message::Op::Send)
        .map(|i| i.text.clone())
        .collect()
}

pub fn to_public(items: &[OutboxItem]) -> Vec<String> {
    items
        .iter()
        .filter(|i| matches!(i.to, Recipient::Public { .. }))
        .map(|i| i.text.clone())
        .collect()
}

/// Runs a test body against SQLite, and against PostgreSQL when the server is available.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite_backend {
            $(
                #[tokio::test]
                async fn $name() {
                    let db = $crate::common::TestDb::sqlite();
                    super::$name(db.url()).await;
                }
            )*
        }
        mod postgres_backend {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(db) = $crate::common::TestDb::postgres().await else { return };
                    super::$name(db.url()).await;
                }
            )*
        }
    };
}

/// Every text column of every table, concatenated: for checking that a secret was never stored.
pub async fn everything_stored(url: &str) -> String {
    const QUERIES: &[&str] = &[
        "SELECT state AS t FROM cases",
        "SELECT data AS t FROM events",
        "SELECT body AS t FROM outbox",
        "SELECT state AS t FROM dialogues",
        "SELECT value AS t FROM settings",
        "SELECT body AS t FROM drafts",
        "SELECT facts AS t FROM case_stats",
    ];
    // The same loop for each backend's pool type.
    macro_rules! dump {
        ($pool:expr) => {{
            let pool = $pool;
            let mut all = String::new();
            for q in QUERIES {
                for (t,) in sqlx::query_as::<_, (String,)>(q)
                    .fetch_all(&pool)
                    .await
                    .unwrap()
                {
                    all.push_str(&t);
                    all.push('\n');
                }
            }
            pool.close().await;
            all
        }};
    }
    if url.starts_with("postgres") {
        dump!(sqlx::PgPool::connect(url).await.unwrap())
    } else {
        dump!(
            sqlx::SqlitePool::connect(&format!("sqlite://{url}"))
                .await
                .unwrap()
        )
    }
}

/// The stored state of a case equals the fold of its stored events.
pub async fn assert_consistent(app: &App, id: &str) {
    let id = recourse::core::case::CaseId::parse(id).unwrap();
    let stored = app.store.load_case(&id).await.unwrap().unwrap().case;
    let events = app.store.events(&id).await.unwrap();
    assert_eq!(
        recourse::core::case::Case::from_events(&events).as_ref(),
        Some(&stored),
        "case {id} differs from the fold of its events"
    );
}

/// Answers an adapter holds to send in place, not yet sent nor handed to the outbox (a
/// handed-over row has no lease).
pub async fn unsent_answers(url: &str) -> i64 {
    const Q: &str = "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL \
                     AND lease_until IS NOT NULL AND meta LIKE '%\"answer\":true%'";
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let (n,): (i64,) = sqlx::query_as(Q).fetch_one(&pool).await.unwrap();
        pool.close().await;
        n
    } else {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{url}"))
            .await
            .unwrap();
        let (n,): (i64,) = sqlx::query_as(Q).fetch_one(&pool).await.unwrap();
        pool.close().await;
        n
    }
}
