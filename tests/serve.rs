//! `recourse serve` as a process: it takes steps that fell due while it was down, sends their
//! messages through the outbox, and stops cleanly on SIGTERM.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use recourse::core::clock::ManualClock;

async fn pending_and_steps(url: &str) -> (i64, i64) {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{url}"))
        .await
        .unwrap();
    let (pending,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")
        .fetch_one(&pool)
        .await
        .unwrap();
    let (steps,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM escalations")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    (pending, steps)
}

#[tokio::test]
async fn serve_catches_up_sends_and_stops_on_sigterm() {
    let db = TestDb::sqlite();
    // A case reported two days ago (on a clock set back), with nothing sent since.
    {
        let store = recourse::store::SqlStore::open(db.url()).await.unwrap();
        let clock = ManualClock::fixed(chrono::Utc::now() - chrono::Duration::days(2));
        let app = App::on(store.clone(), clock, Default::default());
        app.report(&person("wes"), "contacted=now").await;
        store.close().await;
    }
    let (pending, steps) = pending_and_steps(db.url()).await;
    assert_eq!(
        (pending, steps),
        (1, 1),
        "moderator notice queued (the reply was answered in place); checklist taken"
    );

    let child = Command::new(env!("CARGO_BIN_EXE_recourse"))
        .args(["--db", db.url(), "serve"])
        .env("RECOURSE_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait (bounded) for the service to do its work: the overdue reminder taken, all sent.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (pending, steps) = pending_and_steps(db.url()).await;
        if steps == 2 && pending == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "serve did not catch up: {pending} pending, {steps} steps"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A second process on the same SQLite file refuses to start, saying why.
    let second = Command::new(env!("CARGO_BIN_EXE_recourse"))
        .args(["--db", db.url(), "serve"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "second serve ran: {said}");
    assert!(
        said.contains("another recourse process") && said.contains("PostgreSQL"),
        "{said}"
    );
    let stopped = Instant::now();
    let kill = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit status {:?}", out.status);
    assert!(
        stopped.elapsed() < Duration::from_secs(5),
        "took {:?} to stop",
        stopped.elapsed()
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("escalation steps taken"), "{log}");
    assert!(
        !log.contains("Time to follow up"),
        "message text never reaches the log: {log}"
    );
}

/// A stop asked for while the service is still connecting to its database is a clean stop:
/// exit 0, not death by the signal's default action.
#[tokio::test]
async fn sigterm_while_connecting_is_a_clean_stop() {
    // A "database server" that accepts the connection and never answers, so `serve` is held
    // in its start-up.
    let server = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "postgres://recourse@{}/recourse",
        server.local_addr().unwrap()
    );
    let child = Command::new(env!("CARGO_BIN_EXE_recourse"))
        .args(["--db", &url, "serve"])
        .env("RECOURSE_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (_held, _) = tokio::time::timeout(Duration::from_secs(30), server.accept())
        .await
        .expect("serve never connected")
        .unwrap();
    let stopped = Instant::now();
    let kill = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit status {:?}: {log}", out.status);
    assert!(log.contains("stopped while starting"), "{log}");
    assert!(
        stopped.elapsed() < Duration::from_secs(5),
        "took {:?} to stop",
        stopped.elapsed()
    );
}
