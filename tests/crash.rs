//! Crash safety with real processes: two `recourse serve` on one PostgreSQL database, one killed
//! with SIGKILL at random moments and restarted while steps fall due; every step is taken once
//! and every webhook message reaches the receiver. `recourse bench --crash` runs it at full size.

mod common;

use std::time::Instant;

use chrono::Duration;
use common::*;
use recourse::bench::crash::{CrashOptions, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_service_loses_nothing_and_repeats_no_step() {
    let Some(admin) = pg_admin_url() else { return };
    let started = Instant::now();
    let opts = CrashOptions {
        db: admin,
        steps: 1_500,
        kills: 3,
        exe: env!("CARGO_BIN_EXE_recourse").into(),
    };
    let report = run(opts, |p| {
        eprintln!("[{:>5.1} s] {p}", started.elapsed().as_secs_f64())
    })
    .await
    .expect("crash run");
    eprintln!("{}", report.table());
    assert_eq!(report.lost, 0, "webhook messages lost");
    assert_eq!(report.duplicate_executions, 0, "steps taken twice");
    assert_eq!(report.executed, report.due_steps, "steps taken");
    assert_eq!(report.step_events, report.due_steps, "step events");
    assert_eq!(report.bad_signatures, 0);
    assert_eq!(report.unknown_keys, 0);
    assert_eq!(report.failed_messages, 0);
    // Two webhook messages per step: the escalation and the moderator notice.
    assert_eq!(report.webhook_messages, 2 * report.due_steps);
    assert!(report.received >= report.webhook_messages);
    assert_eq!(report.distinct_keys, report.webhook_messages);
    assert_eq!(
        report.received,
        report.distinct_keys + report.repeats,
        "every request beyond the first of a key is a repeat"
    );
    assert_eq!(report.kills, 3);
    assert!(report.passed());
}

/// The audit's counts, on both backends (the crash run reads them on PostgreSQL only).
async fn audit_counts_steps_events_and_the_outbox(url: &str) {
    let mut settings = recourse::config::Settings::default();
    // Queued and "sent" to the test's recording sink, never over the network.
    settings.webhook.url = Some(url::Url::parse("http://127.0.0.1:9/hook").unwrap());
    settings.webhook.secret = Some(secrecy::SecretString::from("s3cret"));
    let app = App::with_settings(url, settings).await;
    app.report(&person("ada"), "contacted=now").await;
    app.report(&person("bob"), "contacted=now").await;
    let a = app.store.audit().await.unwrap();
    assert_eq!(a.escalations, 2, "the checklists");
    assert_eq!(a.escalated_cases, 2);
    assert_eq!(a.step_events, 2);
    assert_eq!(a.duplicate_step_events, 0);
    assert!(a.outbox_pending > 0);
    app.wait(Duration::days(1)).await;
    let a = app.store.audit().await.unwrap();
    assert_eq!(a.escalations, 4, "checklists and first reminders");
    assert_eq!(a.escalated_cases, 2);
    assert_eq!(a.step_events, 4);
    assert_eq!(a.duplicate_step_events, 0);
    assert_eq!(a.outbox_pending, 0);
    assert_eq!(a.outbox_failed, 0);
    let keys = app.store.webhook_keys().await.unwrap();
    // Per reminder, the escalation and the moderator notice; report notices for each report.
    assert!(keys.len() >= 4, "{keys:?}");
    assert!(keys.iter().all(|k| k.ends_with(":webhook")), "{keys:?}");
    assert!(a.outbox > keys.len() as u64);
}

both_backends!(audit_counts_steps_events_and_the_outbox);
