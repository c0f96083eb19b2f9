//! `recourse bench --crash`: two `recourse serve` processes on one PostgreSQL database while
//! thousands of ladder steps fall due, one of them killed with SIGKILL at random moments and
//! restarted, the webhook pointed at a local receiver. Afterwards the database and the receiver
//! say whether every step was taken exactly once and every webhook message arrived.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use rand::Rng;
use serde::Serialize;
use tokio::process::{Child, Command};

use super::{Machine, Template, seed};
use crate::config::Settings;
use crate::store::SqlStore;
use crate::store::scratch::Scratch;
use crate::webhook::receiver::Receiver;

#[derive(Debug, Clone)]
pub struct CrashOptions {
    /// A `postgres://` server URL; a database `recourse_bench_…` is created there and dropped.
    pub db: String,
    /// Ladder steps falling due during the run (one per seeded case).
    pub steps: u64,
    /// How many times one of the two services is killed and restarted.
    pub kills: u32,
    /// The `recourse` binary to run as the services.
    pub exe: PathBuf,
}

/// What the run observed; [`CrashReport::passed`] is the verdict.
#[derive(Debug, Clone, Serialize)]
pub struct CrashReport {
    pub machine: Machine,
    pub backend: String,
    pub recourse: &'static str,
    /// Steps seeded to fall due during the run.
    pub due_steps: u64,
    /// Seconds over which they fell due.
    pub window_s: f64,
    /// Steps in the escalation log after the run (written by the services).
    pub executed: u64,
    /// `step_taken` events the services wrote.
    pub step_events: u64,
    /// Events recording the same (case, step) more than once.
    pub duplicate_executions: u64,
    /// Webhook rows in the outbox (two per step: the escalation and the moderator notice).
    pub webhook_messages: u64,
    /// Requests the receiver got, the distinct keys among them, and repeats of a key it had
    /// already seen (a send that was cut off before it was marked sent, then sent again).
    pub received: u64,
    pub distinct_keys: u64,
    pub repeats: u64,
    /// Webhook rows whose key never reached the receiver.
    pub lost: u64,
    /// Keys the receiver got that no outbox row has.
    pub unknown_keys: u64,
    pub bad_signatures: u64,
    /// Outbox rows given up on (none is expected: the receiver always answers 200).
    pub failed_messages: u64,
    pub kills: u32,
    /// Warnings and errors the services logged (`RECOURSE_LOG=warn`).
    pub service_warnings: u64,
    pub elapsed_s: f64,
}

impl CrashReport {
    /// Nothing lost, nothing done twice, and the counts agree with each steady.
    pub fn passed(&self) -> bool {
        self.lost == 0
            && self.duplicate_executions == 0
            && self.executed == self.due_steps
            && self.step_events == self.due_steps
            && self.received >= self.webhook_messages
            && self.unknown_keys == 0
            && self.bad_signatures == 0
            && self.failed_messages == 0
    }

    pub fn table(&self) -> String {
        let mut s = format!(
            "recourse {} crash test on {}: 2 services, one killed (SIGKILL) {} times\n\
             machine: {} cores, {} MB, {}\n\n",
            self.recourse,
            self.backend,
            self.kills,
            self.machine.cores,
            self.machine.memory_mb,
            self.machine.os
        );
        let rows: [(&str, String); 16] = [
            (
                "due steps",
                format!("{} (over {:.1} s)", self.due_steps, self.window_s),
            ),
            ("executed", self.executed.to_string()),
            ("step events", self.step_events.to_string()),
            (
                "duplicate executions",
                self.duplicate_executions.to_string(),
            ),
            ("webhook messages", self.webhook_messages.to_string()),
            ("received", self.received.to_string()),
            ("distinct keys", self.distinct_keys.to_string()),
            ("repeats (seen keys)", self.repeats.to_string()),
            ("lost", self.lost.to_string()),
            ("unknown keys", self.unknown_keys.to_string()),
            ("bad signatures", self.bad_signatures.to_string()),
            ("failed messages", self.failed_messages.to_string()),
            ("kills", self.kills.to_string()),
            ("service warnings", self.service_warnings.to_string()),
            ("elapsed", format!("{:.1} s", self.elapsed_s)),
            (
                "result",
                if self.passed() { "PASS" } else { "FAIL" }.to_string(),
            ),
        ];
        for (k, v) in rows {
            s.push_str(&format!("{k:<22} {v}\n"));
        }
        s
    }
}

/// How long the services lease outbox rows: short, so messages a killed service held are
/// sent again within seconds rather than the default minute.
const LEASE: &str = "3s";

/// Runs the crash test and drops its database afterwards. The services' logs are kept (and
/// their folder named) only when the run fails.
pub async fn run(opts: CrashOptions, progress: impl Fn(&str)) -> anyhow::Result<CrashReport> {
    anyhow::ensure!(
        opts.db.starts_with("postgres://") || opts.db.starts_with("postgresql://"),
        "the crash test needs a PostgreSQL server (--db postgres://…): two processes share \
         one database"
    );
    anyhow::ensure!(opts.steps > 0, "the crash test needs at least one step");
    let dir = std::env::temp_dir().join(format!(
        "recourse-crash-{:012x}",
        rand::random::<u64>() >> 16
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (scratch, url) = Scratch::create(Some(&opts.db)).await?;
    let result = run_on(&url, &dir, &opts, &progress).await;
    if let Err(e) = scratch.remove().await {
        progress(&format!("warning: {e:#}"));
    }
    match &result {
        Ok(r) if r.passed() => {
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                progress(&format!("warning: cannot remove {}: {e}", dir.display()));
            }
        }
        _ => progress(&format!("the services' logs are in {}", dir.display())),
    }
    result
}

async fn run_on(
    url: &str,
    dir: &Path,
    opts: &CrashOptions,
    progress: &impl Fn(&str),
) -> anyhow::Result<CrashReport> {
    let started = Instant::now();
    let store = SqlStore::open(url).await?;
    let backend = store.server_version().await?;
    let svc = Arc::new(crate::app::services(&Settings::default())?);
    let template = Template::new(&store, &svc).await?;

    // About 1,500 steps a second, over 5 to 20 seconds, starting once seeding and the services'
    // start are surely over.
    let window = Duration::from_secs_f64((opts.steps as f64 / 1_500.0).clamp(5.0, 20.0));
    let lead = Duration::from_secs(2) + Duration::from_secs_f64(opts.steps as f64 / 4_000.0);
    let first = Utc::now() + chrono::Duration::from_std(lead)?;
    let first_instant = Instant::now() + lead;
    progress(&format!(
        "seeding {} cases, one step each falling due over {:.1} s",
        opts.steps,
        window.as_secs_f64()
    ));
    let window_ms = window.as_millis() as f64;
    let steps = opts.steps;
    seed(&store, &template, steps, |i| {
        first + chrono::Duration::milliseconds((i as f64 * window_ms / steps as f64) as i64)
    })
    .await?;
    if Instant::now() > first_instant {
        progress(
            "note: seeding overran; the first steps were already due when the services started",
        );
    }
    let before = store.audit().await?;

    let secret = format!("{:032x}", rand::random::<u128>());
    let receiver = Receiver::start(secret.as_str())
        .await
        .context("cannot start the webhook receiver")?;
    let (config, secrets) = write_settings(dir, receiver.url().as_str(), &secret)?;
    let launch = Launch {
        exe: &opts.exe,
        url,
        dir,
        config: &config,
        secrets: &secrets,
    };
    let mut killed = Service::start(&launch, "a")?;
    let mut steady = Service::start(&launch, "b")?;
    progress(&format!(
        "two services started (pids {} and {}); webhook at {}",
        killed.pid(),
        steady.pid(),
        receiver.url()
    ));

    // Kill moments spread over the window and as long again (when the outbox is still
    // draining), one at a random point in each of `kills` equal slots.
    let span = window * 2;
    let moments: Vec<Instant> = {
        let mut rng = rand::rng();
        (0..opts.kills)
            .map(|i| {
                let at = (f64::from(i) + rng.random_range(0.05..0.95)) / f64::from(opts.kills);
                first_instant + span.mul_f64(at)
            })
            .collect()
    };
    for (n, at) in moments.iter().enumerate() {
        tokio::time::sleep_until((*at).into()).await;
        steady.ensure_running()?;
        let pid = killed.pid();
        killed.kill().await?;
        let seen = store.audit().await?;
        progress(&format!(
            "kill {}/{}: serve {pid} got SIGKILL; {} of {} steps taken, {} messages unsent",
            n + 1,
            opts.kills,
            seen.escalations - before.escalations,
            opts.steps,
            seen.outbox_pending
        ));
        // A supervisor's restart delay.
        let pause = rand::rng().random_range(0..300);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        killed = Service::start(&launch, "a")?;
    }

    progress("waiting for every step to be taken and every message sent");
    let deadline = first_instant + span + Duration::from_secs(120 + opts.steps / 100);
    let after = loop {
        let now = store.audit().await?;
        if now.escalations - before.escalations >= opts.steps && now.outbox_pending == 0 {
            break now;
        }
        killed.ensure_running()?;
        steady.ensure_running()?;
        if Instant::now() > deadline {
            anyhow::bail!(
                "not done in time: {} of {} steps taken, {} messages unsent",
                now.escalations - before.escalations,
                opts.steps,
                now.outbox_pending
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    progress("done; stopping both services with SIGTERM");
    killed.stop().await?;
    steady.stop().await?;

    let sent: HashSet<String> = store.webhook_keys().await?.into_iter().collect();
    store.close().await;
    let got = receiver.keys();
    let stats = receiver.stats();
    Ok(CrashReport {
        machine: Machine::read(),
        backend,
        recourse: env!("CARGO_PKG_VERSION"),
        due_steps: opts.steps,
        window_s: window.as_secs_f64(),
        executed: after.escalations - before.escalations,
        step_events: after.step_events - before.step_events,
        duplicate_executions: after.duplicate_step_events,
        webhook_messages: sent.len() as u64,
        received: stats.total as u64,
        distinct_keys: stats.distinct_keys as u64,
        repeats: stats.repeats as u64,
        lost: sent.difference(&got).count() as u64,
        unknown_keys: got.difference(&sent).count() as u64,
        bad_signatures: stats.bad_signatures as u64,
        failed_messages: after.outbox_failed,
        kills: opts.kills,
        service_warnings: count_warnings(dir)?,
        elapsed_s: started.elapsed().as_secs_f64(),
    })
}

/// The services' settings: the webhook, a short outbox lease, and platform limits out of the
/// way (messages to people go to the log; only the outbox's crash behaviour is under test).
fn write_settings(dir: &Path, url: &str, secret: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
    let config = dir.join("recourse.toml");
    let secrets = dir.join("secrets.toml");
    let unlimited = "{ overall = \"1000000/1s\", chat = \"1000000/1s\", group = \"1000000/1s\" }";
    std::fs::write(
        &config,
        format!(
            "[webhook]\nurl = \"{url}\"\n\n[delivery]\nlease = \"{LEASE}\"\n\
             telegram = {unlimited}\ndiscord = {unlimited}\n"
        ),
    )
    .context("cannot write the services' settings")?;
    std::fs::write(&secrets, format!("[webhook]\nsecret = \"{secret}\"\n"))
        .context("cannot write the services' secrets")?;
    Ok((config, secrets))
}

struct Launch<'a> {
    exe: &'a Path,
    url: &'a str,
    dir: &'a Path,
    config: &'a Path,
    secrets: &'a Path,
}

/// One `recourse serve` process; its log goes to `<name>-<pid>.log` in the run's folder.
struct Service {
    child: Child,
    pid: u32,
}

impl Service {
    fn start(l: &Launch, name: &str) -> anyhow::Result<Service> {
        let log_path = l.dir.join(format!("{name}-{}.log", rand::random::<u32>()));
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("cannot create {}", log_path.display()))?;
        let child = Command::new(l.exe)
            .arg("--config")
            .arg(l.config)
            .arg("--secrets")
            .arg(l.secrets)
            .args(["--db", l.url, "serve"])
            .env("RECOURSE_LOG", "warn")
            .current_dir(l.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {} serve", l.exe.display()))?;
        let pid = child.id().context("the service exited at once")?;
        Ok(Service { child, pid })
    }

    fn pid(&self) -> u32 {
        self.pid
    }

    /// SIGKILL: no shutdown path runs, open transactions are cut off.
    async fn kill(&mut self) -> anyhow::Result<()> {
        self.child.start_kill().context("cannot kill the service")?;
        self.child.wait().await?;
        Ok(())
    }

    fn ensure_running(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => anyhow::bail!("serve {} stopped by itself ({status})", self.pid),
        }
    }

    /// SIGTERM, the clean stop; it must end within 15 s and exit 0.
    async fn stop(mut self) -> anyhow::Result<()> {
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .context("cannot run kill -TERM")?;
        anyhow::ensure!(sent.success(), "kill -TERM {} failed", self.pid);
        let status = tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .with_context(|| format!("serve {} did not stop within 15 s of SIGTERM", self.pid))??;
        anyhow::ensure!(
            status.success(),
            "serve {} exited with {status} after SIGTERM",
            self.pid
        );
        Ok(())
    }
}

/// Log lines the services wrote; at `RECOURSE_LOG=warn` each one is a warning or an error.
fn count_warnings(dir: &Path) -> anyhow::Result<u64> {
    let mut n = 0;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "log") {
            n += std::fs::read_to_string(&path)?.lines().count() as u64;
        }
    }
    Ok(n)
}
