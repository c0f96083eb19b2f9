//! The scheduler and the outbox under concurrency and failure: two instances on one
//! PostgreSQL database, SQLite shared by two pools, retries, and a database that goes away.

mod common;

use std::sync::Arc;

use chrono::Duration;
use common::*;
use recourse::core::ports::Store;
use recourse::delivery::SendError;
use recourse::store::SqlStore;

const CASES: usize = 150;

/// Files `CASES` cases, jumps 15 days, lets both instances race, and checks every case took
/// each step exactly once and each message was queued exactly once.
async fn race(url: &str) {
    let a = App::new(url).await;
    for i in 0..CASES {
        a.report(&person(&format!("v{i}")), "contacted=now").await;
    }
    a.deliver().await;
    let b = App::on(
        SqlStore::open(url).await.unwrap(),
        a.clock.clone(),
        Default::default(),
    );
    a.clock.advance(Duration::days(15));
    let now = a.now();
    let (ra, rb) = tokio::join!(a.scheduler.run_once(now), b.scheduler.run_once(now));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    // Per case: one reminder (the latest due), public post, complaint, authorities.
    assert_eq!(ra + rb, CASES * 4, "a took {ra}, b took {rb}");
    assert_eq!(
        a.scheduler.run_once(now).await.unwrap() + b.scheduler.run_once(now).await.unwrap(),
        0
    );
    let (da, db) = tokio::join!(a.delivery.run_once(now), b.delivery.run_once(now));
    assert_eq!(
        da.unwrap() + db.unwrap(),
        CASES * 4 * 2,
        "victim + moderators per step"
    );
    let mut keys: Vec<String> = a
        .sink
        .take()
        .into_iter()
        .chain(b.sink.take())
        .map(|i| i.key)
        .collect();
    let total = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), total, "a message was sent twice");
    for i in 0..CASES {
        let cases = a
            .store
            .cases_of(&person(&format!("v{i}")).user)
            .await
            .unwrap();
        let events = a.store.events(&cases[0].case.id).await.unwrap();
        let steps = events
            .iter()
            .filter(|e| e.kind.name() == "step_taken")
            .count();
        assert_eq!(steps, 5, "case {i}: checklist + 4 steps");
    }
}

#[tokio::test]
async fn two_schedulers_on_one_postgres_never_take_a_step_twice() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    race(db.url()).await;
}

#[tokio::test]
async fn two_pools_on_one_sqlite_file_never_take_a_step_twice() {
    let db = TestDb::sqlite();
    race(db.url()).await;
}

async fn failed_sends_are_retried_with_backoff_then_given_up(url: &str) {
    let app = App::new(url).await;
    app.report(&person("una"), "contacted=now").await;
    app.deliver().await;
    app.wait(Duration::hours(24)).await;
    // The reminder went out; now make the next message fail once, temporarily.
    app.sink.take();
    app.clock.advance(Duration::hours(24));
    app.scheduler.run_once(app.now()).await.unwrap();
    *app.sink.fail.lock().unwrap() = Some(SendError::Retry("429".into()));
    assert_eq!(
        app.delivery.run_once(app.now()).await.unwrap(),
        1,
        "one of two sent"
    );
    assert_eq!(
        app.delivery.run_once(app.now()).await.unwrap(),
        0,
        "the failed one waits"
    );
    app.clock.advance(Duration::seconds(3));
    assert_eq!(
        app.delivery.run_once(app.now()).await.unwrap(),
        1,
        "retried after backoff"
    );
    assert_eq!(app.sink.take().len(), 2);
    // A permanent failure is recorded and not retried.
    app.clock.advance(Duration::hours(24));
    app.scheduler.run_once(app.now()).await.unwrap();
    *app.sink.fail.lock().unwrap() = Some(SendError::Permanent("bot blocked".into()));
    app.delivery.run_once(app.now()).await.unwrap();
    app.clock.advance(Duration::days(1));
    assert_eq!(app.delivery.run_once(app.now()).await.unwrap(), 0);
    assert_eq!(
        app.sink.take().len(),
        1,
        "only the other message of that step"
    );
}

both_backends!(failed_sends_are_retried_with_backoff_then_given_up);

/// A TCP proxy in front of PostgreSQL that the test can cut and restore.
struct Proxy {
    port: u16,
    open: Arc<std::sync::atomic::AtomicBool>,
    conns: Arc<tokio::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(target: String) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let conns = Arc::new(tokio::sync::Mutex::new(Vec::new()));
        let (o, c) = (open.clone(), conns.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !o.load(std::sync::atomic::Ordering::SeqCst) {
                    continue; // dropped: the client sees the connection close
                }
                let target = target.clone();
                c.lock().await.push(tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _copied =
                            tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                }));
            }
        });
        Proxy { port, open, conns }
    }

    async fn cut(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
        for h in self.conns.lock().await.drain(..) {
            h.abort();
        }
    }

    fn restore(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_database_outage_gets_a_plain_answer_and_nothing_is_lost() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let mut url = url::Url::parse(db.url()).unwrap();
    let target = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let proxy = Proxy::start(target).await;
    url.set_host(Some("127.0.0.1")).unwrap();
    url.set_port(Some(proxy.port)).unwrap();
    let app = App::new(url.as_str()).await;
    let vic = person("vic");
    let id = app.report(&vic, "wallet=Z contacted=now").await;
    app.deliver().await;

    proxy.cut().await;
    let msg = recourse::core::message::Incoming {
        actor: vic.clone(),
        chat: recourse::core::identity::ChatRef::Console,
        place: recourse::core::message::Place::Private,
        input: recourse::core::message::Input::Text(format!("/replied {id}")),
        message: None,
        id: None,
        link: None,
        locale_hint: None,
    };
    let err = app.engine.handle(&msg).await.expect_err("database is down");
    let text = app.engine.error_text(&err, &msg);
    assert!(text.contains("try again"), "{text}");
    app.clock.advance(Duration::hours(25));
    assert!(
        app.scheduler.run_once(app.now()).await.is_err(),
        "the scheduler notices"
    );

    proxy.restore();
    // Catches up on the missed step, and the earlier case data is intact.
    assert_eq!(app.scheduler.run_once(app.now()).await.unwrap(), 1);
    let out = app.deliver().await;
    assert_eq!(to_user(&out, "vic").len(), 1);
    let s = app.say(&vic, &format!("/status {id}")).await;
    assert!(s.contains("Support silent for 1d"), "{s}");
}

#[tokio::test]
async fn a_new_case_wakes_the_sleeping_scheduler() {
    use recourse::core::clock::{Clock, ManualClock};
    use recourse::core::engine::Engine;
    use recourse::scheduler::Scheduler;
    use tokio::sync::Notify;
    let db = TestDb::sqlite();
    let store = SqlStore::open(db.url()).await.unwrap();
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::offset(Duration::zero()));
    let svc = Arc::new(recourse::app::services(&Default::default()).unwrap());
    let wake = Arc::new(Notify::new());
    let engine = Engine::new(store.clone(), clock.clone(), svc.clone()).waking(wake.clone());
    let scheduler = Arc::new(Scheduler::new(
        store.clone(),
        clock,
        svc,
        wake,
        Arc::new(Notify::new()),
    ));
    let cancel = tokio_util::sync::CancellationToken::new();
    let running = {
        let (cancel, scheduler) = (cancel.clone(), scheduler.clone());
        tokio::spawn(async move { scheduler.run(cancel).await })
    };
    // Let it finish its first pass over an empty database and go to sleep (for a minute).
    while scheduler.passes() == 0 {
        tokio::task::yield_now().await;
    }
    // A case reported with a contact two days old is overdue at once: the engine's wake-up must
    // get it taken now, not when the scheduler next looks.
    let msg = recourse::core::message::Incoming {
        actor: person("xia"),
        chat: recourse::core::identity::ChatRef::Console,
        place: recourse::core::message::Place::Private,
        input: recourse::core::message::Input::Text("/report contacted=\"2d ago\"".into()),
        message: None,
        id: None,
        link: None,
        locale_hint: None,
    };
    engine.handle(&msg).await.unwrap();
    let user = person("xia").user;
    let took = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            let cases = store.cases_of(&user).await.unwrap();
            if cases[0].case.progress.done.len() >= 2 {
                return;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    cancel.cancel();
    running.await.unwrap();
    assert!(
        took.is_ok(),
        "the overdue reminder was not taken after the wake-up"
    );
}

/// Makes an SQLite database and its write-ahead log read-only (the immutable attribute, since
/// the tests run as root, for whom file modes do not count) until dropped.
struct ReadOnly(Vec<std::path::PathBuf>);

impl ReadOnly {
    fn set(db: &str) -> Option<ReadOnly> {
        let files: Vec<std::path::PathBuf> = ["", "-wal"]
            .iter()
            .map(|s| std::path::PathBuf::from(format!("{db}{s}")))
            .collect();
        let ok = std::process::Command::new("chattr")
            .arg("+i")
            .args(&files)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("SKIPPED: cannot make files immutable here (chattr +i needs root on ext4)");
            return None;
        }
        Some(ReadOnly(files))
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        let _ = std::process::Command::new("chattr")
            .arg("-i")
            .args(&self.0)
            .status();
    }
}

#[tokio::test]
async fn a_read_only_sqlite_file_gets_a_plain_answer_and_nothing_is_lost() {
    let db = TestDb::sqlite();
    let app = App::new(db.url()).await;
    let vic = person("vic");
    let id = app.report(&vic, "wallet=Z contacted=now").await;
    app.deliver().await;

    let Some(read_only) = ReadOnly::set(db.url()) else {
        return;
    };
    let msg = recourse::core::message::Incoming {
        actor: vic.clone(),
        chat: recourse::core::identity::ChatRef::Console,
        place: recourse::core::message::Place::Private,
        input: recourse::core::message::Input::Text(format!("/replied {id}")),
        message: None,
        id: None,
        link: None,
        locale_hint: None,
    };
    let err = app
        .engine
        .handle(&msg)
        .await
        .expect_err("file is read-only");
    assert!(
        matches!(err, recourse::core::engine::EngineError::Unavailable(_)),
        "{err:?}"
    );
    let text = app.engine.error_text(&err, &msg);
    assert!(text.contains("try again"), "{text}");
    app.clock.advance(Duration::hours(25));
    assert!(
        app.scheduler.run_once(app.now()).await.is_err(),
        "the scheduler notices"
    );

    drop(read_only);
    // Catches up on the missed step; the reply that failed was not recorded, the case intact.
    assert_eq!(app.scheduler.run_once(app.now()).await.unwrap(), 1);
    let out = app.deliver().await;
    assert_eq!(to_user(&out, "vic").len(), 1);
    let s = app.say(&vic, &format!("/status {id}")).await;
    assert!(s.contains("Support silent for 1d"), "{s}");
    assert_consistent(&app, &id).await;
}
