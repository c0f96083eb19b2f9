//! `recourse bench`: builds its own cases in a throwaway database and measures the real store,
//! scheduler, engine and outbox against the targets in the README. No network, no tokens.

pub mod crash;
mod timed;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::core::case::{Case, CaseId, Event, EventKind};
use crate::core::clock::{Clock, SystemClock};
use crate::core::engine::{Engine, Services};
use crate::core::identity::{Actor, ChatRef, Platform, UserRef};
use crate::core::message::{Incoming, Outgoing, Recipient};
use crate::core::ports::{Change, OutboxItem, Store};
use crate::delivery::{Delivery, SendError, Sink};
use crate::ratelimit::{DeliverySettings, Limiter, PlatformLimits, Rate, minimum_drain};
use crate::scheduler::Scheduler;
use crate::store::SqlStore;
use crate::store::scratch::Scratch;

pub use timed::Timed;

#[derive(Debug, Clone)]
pub struct Options {
    /// An SQLite file (new) or a `postgres://` server URL; default: a temporary SQLite file.
    pub db: Option<String>,
    pub cases: u64,
    pub quick: bool,
}

/// How long each phase runs; `--quick` shortens them.
struct Plan {
    cases: u64,
    /// Due steps drained by one scheduler (and again by two on PostgreSQL).
    backlog: u64,
    /// Seconds of deadlines falling due at `due_rate` per second.
    due_seconds: u64,
    due_rate: u64,
    intakes: usize,
    next_due_queries: usize,
    messages: u32,
    chats: u32,
}

impl Plan {
    fn new(o: &Options) -> Plan {
        if o.quick {
            Plan {
                cases: o.cases,
                backlog: 20_000,
                due_seconds: 15,
                due_rate: 1_000,
                intakes: 300,
                next_due_queries: 1_000,
                messages: 3_000,
                chats: 600,
            }
        } else {
            Plan {
                cases: o.cases,
                backlog: 100_000,
                due_seconds: 60,
                due_rate: 1_000,
                intakes: 1_000,
                next_due_queries: 2_000,
                messages: 10_000,
                chats: 2_000,
            }
        }
    }
}

/// One measured figure and its target.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub key: &'static str,
    pub value: f64,
    pub unit: &'static str,
    pub target: String,
    pub pass: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub backend: String,
    pub recourse: &'static str,
    pub cases: u64,
    pub quick: bool,
    pub figures: Vec<Figure>,
    /// Every figure as a flat `key: value` map, as the README's table names them.
    pub values: HashMap<&'static str, f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub memory_mb: u64,
    pub os: String,
}

impl Machine {
    fn read() -> Machine {
        let memory_mb = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| kb_field(&m, "MemTotal:"))
            .map_or(0, |kb| kb / 1024);
        Machine {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_mb,
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        }
    }
}

fn kb_field(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find(|l| l.starts_with(name))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

struct Figures(Vec<Figure>);

impl Figures {
    fn at_most(&mut self, key: &'static str, value: f64, unit: &'static str, max: f64) {
        self.push(key, value, unit, format!("≤ {max}"), value <= max);
    }
    fn at_least(&mut self, key: &'static str, value: f64, unit: &'static str, min: f64) {
        self.push(key, value, unit, format!("≥ {min}"), value >= min);
    }
    fn info(&mut self, key: &'static str, value: f64, unit: &'static str) {
        self.push(key, value, unit, String::new(), true);
    }
    fn push(
        &mut self,
        key: &'static str,
        value: f64,
        unit: &'static str,
        target: String,
        pass: bool,
    ) {
        let value = (value * 100.0).round() / 100.0;
        self.0.push(Figure {
            key,
            value,
            unit,
            target,
            pass,
        });
    }
}

/// Runs every phase and removes the database afterwards, whether the run succeeded or not.
pub async fn run(opts: Options, progress: impl Fn(&str)) -> anyhow::Result<Report> {
    let (scratch, url) = Scratch::create(opts.db.as_deref()).await?;
    let result = run_on(&url, &opts, &progress).await;
    if let Err(e) = scratch.remove().await {
        progress(&format!("warning: {e:#}"));
    }
    result
}

async fn run_on(url: &str, opts: &Options, progress: &impl Fn(&str)) -> anyhow::Result<Report> {
    let plan = Plan::new(opts);
    let store = SqlStore::open(url).await?;
    let backend = store.server_version().await?;
    let settings = Settings::default();
    let svc = Arc::new(crate::app::services(&settings)?);
    let mut figures = Figures(Vec::new());

    progress("delivery: a burst through the outbox at Telegram's limits ×10");
    delivery_phase(&store, &plan, &mut figures).await?;

    progress(&format!("seeding {} open cases", plan.cases));
    let template = Template::new(&store, &svc).await?;
    let started = Instant::now();
    let now = Utc::now();
    let spread = chrono::Duration::days(7).num_milliseconds() as f64 / plan.cases as f64;
    seed(&store, &template, plan.cases, |i| {
        now + chrono::Duration::hours(2)
            + chrono::Duration::milliseconds((i as f64 * spread) as i64)
    })
    .await?;
    let seed_rate = plan.cases as f64 / started.elapsed().as_secs_f64();
    figures.info("seed_cases_per_s", seed_rate, "cases/s");

    progress("memory of an idle `recourse serve`");
    figures.at_most("rss_idle_mb", rss_idle_mb(url).await?, "MB", 40.0);

    progress("settling: VACUUM ANALYZE on PostgreSQL, a WAL checkpoint on SQLite");
    store.settle().await?;

    progress("round trip and next-deadline query");
    let mut samples = Vec::with_capacity(plan.next_due_queries);
    for _ in 0..plan.next_due_queries {
        let t = Instant::now();
        store.round_trip().await?;
        samples.push(t.elapsed().as_secs_f64() * 1e6);
    }
    figures.info("round_trip_p50_us", percentile(&mut samples, 50.0), "µs");
    figures.info("round_trip_p99_us", percentile(&mut samples, 99.0), "µs");
    let mut samples = Vec::with_capacity(plan.next_due_queries);
    for _ in 0..plan.next_due_queries {
        let t = Instant::now();
        store.next_due_at().await?;
        samples.push(t.elapsed().as_secs_f64() * 1e6);
    }
    figures.info(
        "next_due_query_p50_us",
        percentile(&mut samples, 50.0),
        "µs",
    );
    figures.at_most(
        "next_due_query_p99_us",
        percentile(&mut samples, 99.0),
        "µs",
        1000.0,
    );

    progress("intake: /report through the engine");
    let engine = Engine::new(store.clone(), Arc::new(SystemClock), svc.clone());
    let mut samples = Vec::with_capacity(plan.intakes);
    for i in 0..plan.intakes {
        let msg = report_message(9_000_000_000 + i as i64);
        let t = Instant::now();
        engine.handle(&msg).await?;
        samples.push(t.elapsed().as_secs_f64() * 1e3);
    }
    figures.info("intake_p50_ms", percentile(&mut samples, 50.0), "ms");
    figures.at_most("intake_p99_ms", percentile(&mut samples, 99.0), "ms", 5.0);

    progress("cluster join: a /report naming the attacker address of an earlier one");
    let pairs = (plan.intakes / 4).max(10);
    let mut samples = Vec::with_capacity(pairs);
    for i in 0..pairs {
        let attacker = format!("0x{:040x}", 0xc1u128 << 120 | i as u128);
        let first = report_message(8_000_000_000 + 2 * i as i64);
        engine.handle(&with_attacker(first, &attacker)).await?;
        let second = with_attacker(report_message(8_000_000_001 + 2 * i as i64), &attacker);
        let t = Instant::now();
        let handled = engine.handle(&second).await?;
        samples.push(t.elapsed().as_secs_f64() * 1e3);
        anyhow::ensure!(
            handled.out.iter().any(|o| o.key.starts_with("cluster:")),
            "the second report naming {attacker} joined no cluster"
        );
    }
    figures.info("cluster_join_p50_ms", percentile(&mut samples, 50.0), "ms");
    figures.at_most(
        "cluster_join_p99_ms",
        percentile(&mut samples, 99.0),
        "ms",
        10.0,
    );

    progress(&format!(
        "stats: /stats over the figures of {STATS_CASES} cases (synthesized counters)"
    ));
    let rows = stats_counters(&store, STATS_CASES).await?;
    figures.info("stats_rows", rows as f64, "rows");
    store.settle().await?;
    // The store's part alone: the summed counters read for one /stats.
    let today = crate::core::stats::day_of(Utc::now());
    let mut samples = Vec::with_capacity(STATS_SAMPLES);
    for _ in 0..STATS_SAMPLES {
        let t = Instant::now();
        let rows = store
            .stat_summary(today - crate::core::stats::RECENT_DAYS + 1, today, None)
            .await?;
        samples.push(t.elapsed().as_secs_f64() * 1e3);
        anyhow::ensure!(!rows.is_empty(), "no counters read");
    }
    figures.info("stats_read_p50_ms", percentile(&mut samples, 50.0), "ms");
    for (key_50, key_99, moderator) in [
        ("stats_p50_ms", "stats_p99_ms", false),
        ("stats_mod_p50_ms", "stats_mod_p99_ms", true),
    ] {
        let mut samples = Vec::with_capacity(STATS_SAMPLES);
        for i in 0..STATS_SAMPLES {
            let mut msg = report_message(7_000_000_000 + i as i64);
            msg.actor.moderator = moderator;
            msg.input = crate::core::message::Input::Text("/stats".to_string());
            let t = Instant::now();
            let handled = engine.handle(&msg).await?;
            samples.push(t.elapsed().as_secs_f64() * 1e3);
            anyhow::ensure!(
                handled.out.iter().any(|o| o.text.contains("Company 00")),
                "/stats did not show the most reported company"
            );
        }
        figures.info(key_50, percentile(&mut samples, 50.0), "ms");
        figures.at_most(key_99, percentile(&mut samples, 99.0), "ms", 50.0);
    }

    progress(&format!("claims: a backlog of {} due steps", plan.backlog));
    let postgres = matches!(store, SqlStore::Postgres(_));
    let base = Utc::now() - chrono::Duration::hours(6);
    let backlog_at = |first: DateTime<Utc>| {
        let step = 3_600_000.0 / plan.backlog as f64;
        move |i: u64| first + chrono::Duration::milliseconds((i as f64 * step) as i64)
    };
    seed(&store, &template, plan.backlog, backlog_at(base)).await?;
    let one = claim_backlog(
        std::slice::from_ref(&store),
        &svc,
        base + chrono::Duration::hours(1),
    )
    .await?;
    anyhow::ensure!(
        one.0 == plan.backlog,
        "one scheduler took {} steps; {} were due",
        one.0,
        plan.backlog
    );
    figures.at_least(
        "claims_per_s",
        one.1,
        "steps/s",
        if postgres { 10_000.0 } else { 5_000.0 },
    );
    if postgres {
        let second = SqlStore::open(url).await?;
        let first = base + chrono::Duration::hours(2);
        seed(&store, &template, plan.backlog, backlog_at(first)).await?;
        let two = claim_backlog(
            &[store.clone(), second.clone()],
            &svc,
            first + chrono::Duration::hours(1),
        )
        .await?;
        second.close().await;
        anyhow::ensure!(
            two.0 == plan.backlog,
            "two schedulers took {} of {} steps",
            two.0,
            plan.backlog
        );
        figures.at_least("claims_per_s_2", two.1, "steps/s", 10_000.0);
    }

    let n = plan.due_seconds * plan.due_rate;
    progress(&format!(
        "due-to-claim: {} deadlines at {}/s for {} s on the real clock",
        n, plan.due_rate, plan.due_seconds
    ));
    let lats = due_to_claim(&store, &svc, &template, &plan, seed_rate).await?;
    let mut lats = lats;
    figures.info("due_to_claim_p50_ms", percentile(&mut lats, 50.0), "ms");
    figures.at_most(
        "due_to_claim_p99_ms",
        percentile(&mut lats, 99.0),
        "ms",
        1000.0,
    );
    figures.info("due_to_claim_max_ms", percentile(&mut lats, 100.0), "ms");
    store.close().await;

    let values = figures.0.iter().map(|f| (f.key, f.value)).collect();
    Ok(Report {
        machine: Machine::read(),
        backend,
        recourse: env!("CARGO_PKG_VERSION"),
        cases: plan.cases,
        quick: opts.quick,
        figures: figures.0,
        values,
    })
}

/// Cases whose figures `/stats` reads in the bench (the target is at this many).
const STATS_CASES: u64 = 1_000_000;
const STATS_SAMPLES: usize = 200;

/// Fills the figures' counters as `n` cases would: 40 companies (a few much more reported
/// than the rest), reports spread over two years up to today, two in three with support
/// contacted, a third of those answered after a minute to two months, some escalated.
/// The cases themselves are not written: `/stats` reads only the counters. Returns the
/// number of rows they take (one per count, one per company and scope for its reply times
/// and silences).
async fn stats_counters(store: &SqlStore, n: u64) -> anyhow::Result<usize> {
    use crate::core::stats::{self, Facts};
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(15);
    let now = Utc::now();
    let mut sum: std::collections::HashMap<stats::Cell, i64> = Default::default();
    let names: Vec<(String, String)> = (0..40)
        .map(|c| {
            let name = format!("Company {c:02}");
            (crate::core::company::fold(&name), name)
        })
        .collect();
    for _ in 0..n {
        // Company c with weight 1 / (c + 1).
        let c = ((40f64 + 1.0).powf(rng.random::<f64>()) - 1.0) as usize;
        let (key, name) = &names[c.min(39)];
        let reported = now - chrono::Duration::minutes(rng.random_range(0..730 * 24 * 60));
        let contacted = rng
            .random_bool(2.0 / 3.0)
            .then(|| reported + chrono::Duration::minutes(rng.random_range(0..600)));
        let answered = contacted.filter(|_| rng.random_bool(1.0 / 3.0)).map(|c| {
            let minutes = 86_400f64.powf(rng.random::<f64>());
            c + chrono::Duration::minutes(minutes as i64)
        });
        let public = rng.random_bool(0.2);
        let f = Facts {
            company: key.clone(),
            name: name.clone(),
            day: stats::day_of(reported),
            contacted,
            answered: answered.filter(|a| *a <= now),
            public,
            complaint: public && rng.random_bool(0.5),
            authorities: public && rng.random_bool(0.3),
            resolved: rng.random_bool(0.05),
        };
        for cell in stats::cells(&f) {
            *sum.entry(cell).or_default() += 1;
        }
    }
    let sum: std::collections::BTreeMap<_, _> = sum.into_iter().collect();
    store.add_stat_counters(&sum, &names).await?;
    let (dists, counts): (Vec<&stats::Cell>, Vec<&stats::Cell>) = sum
        .keys()
        .partition(|c| stats::DISTRIBUTED.contains(&c.metric));
    let dist_rows: std::collections::BTreeSet<_> =
        dists.iter().map(|c| (c.scope, &c.company)).collect();
    Ok(counts.len() + dist_rows.len())
}

/// Nearest-rank percentile; sorts `v`.
fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

fn report_message(user: i64) -> Incoming {
    Incoming {
        actor: Actor {
            user: UserRef::Telegram(user),
            name: format!("victim {user}"),
            moderator: false,
        },
        chat: ChatRef::Telegram { chat: user },
        place: crate::core::message::Place::Private,
        input: crate::core::message::Input::Text(
            "/report wallet=ExampleWallet how=seed chain=eth amount=\"1.2 ETH\" \
             tx=0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060 \
             country=GB"
                .to_string(),
        ),
        message: None,
        id: None,
        link: None,
        locale_hint: None,
    }
}

/// The same report, naming the thief's address: it files the case into a cluster when an
/// earlier report named it.
fn with_attacker(mut msg: Incoming, attacker: &str) -> Incoming {
    if let crate::core::message::Input::Text(t) = &mut msg.input {
        t.push_str(&format!(" attacker={attacker}"));
    }
    msg
}

/// A real case, made by the engine from a `/report`, that seeding copies with new ids,
/// reporters and clocks.
struct Template {
    case: Case,
    events: Vec<Event>,
    /// From the clock's start to the next deadline.
    to_due: chrono::Duration,
}

impl Template {
    async fn new(store: &SqlStore, svc: &Arc<Services>) -> anyhow::Result<Template> {
        let engine = Engine::new(store.clone(), Arc::new(SystemClock), svc.clone());
        let handled = engine.handle(&report_message(1)).await?;
        let id = handled
            .out
            .iter()
            .find_map(|o| o.case_id.clone())
            .context("the template report made no case")?;
        let stored = store
            .load_case(&id)
            .await?
            .context("template case not stored")?;
        let events = store.events(&id).await?;
        let since = stored.case.clock.since.context("template has no clock")?;
        let due = svc
            .ladder
            .next_due(&stored.case)
            .context("template has no deadline")?;
        Ok(Template {
            to_due: due.at - since,
            case: stored.case,
            events,
        })
    }

    /// A copy whose next step falls due at `due`.
    fn copy(&self, n: u64, due: DateTime<Utc>) -> Change {
        let mut case = self.case.clone();
        case.id = CaseId::generate();
        case.reporter = UserRef::Telegram(1_000_000_000 + n as i64);
        let since = due - self.to_due;
        case.clock.since = Some(since);
        case.created_at = since;
        let events = self
            .events
            .iter()
            .map(|e| {
                let mut e = e.clone();
                e.at = since;
                if let EventKind::Reported {
                    id, reporter, chat, ..
                } = &mut e.kind
                {
                    *id = case.id.clone();
                    *reporter = case.reporter.clone();
                    *chat = ChatRef::Telegram {
                        chat: 1_000_000_000 + n as i64,
                    };
                }
                e
            })
            .collect();
        Change {
            at: since,
            next_due_at: Some(due),
            case,
            expected_version: None,
            events,
            outgoing: Vec::new(),
            step_key: None,
            talk: Default::default(),
        }
    }
}

/// Writes `n` copies of the template through the store's batch path.
async fn seed(
    store: &SqlStore,
    template: &Template,
    n: u64,
    due: impl Fn(u64) -> DateTime<Utc>,
) -> anyhow::Result<()> {
    const CHUNK: u64 = 2_000;
    let mut i = 0;
    while i < n {
        let end = (i + CHUNK).min(n);
        let batch: Vec<Change> = (i..end).map(|k| template.copy(k, due(k))).collect();
        store.save_batch(&batch).await?;
        i = end;
    }
    Ok(())
}

/// Drains every step due at `now` with one scheduler per store, concurrently; returns the
/// steps taken and the rate.
async fn claim_backlog(
    stores: &[SqlStore],
    svc: &Arc<Services>,
    now: DateTime<Utc>,
) -> anyhow::Result<(u64, f64)> {
    let started = Instant::now();
    let mut runs = tokio::task::JoinSet::new();
    for store in stores {
        let scheduler = Scheduler::new(
            store.clone(),
            Arc::new(SystemClock),
            svc.clone(),
            Arc::new(Notify::new()),
            Arc::new(Notify::new()),
        );
        runs.spawn(async move { scheduler.run_once(now).await });
    }
    let mut taken = 0;
    while let Some(r) = runs.join_next().await {
        taken += r??;
    }
    let secs = started.elapsed().as_secs_f64();
    Ok((taken as u64, taken as f64 / secs))
}

/// Seeds deadlines falling due at a steady rate shortly after now, runs the real scheduler loop
/// on the real clock, and returns, per step, milliseconds from its due instant to its claim.
async fn due_to_claim(
    store: &SqlStore,
    svc: &Arc<Services>,
    template: &Template,
    plan: &Plan,
    seed_rate: f64,
) -> anyhow::Result<Vec<f64>> {
    let n = plan.due_seconds * plan.due_rate;
    // Start after seeding is surely over: twice the time seeding took so far, plus a second.
    let lead = Duration::from_secs_f64(2.0 * n as f64 / seed_rate + 1.0);
    let first = Utc::now() + chrono::Duration::from_std(lead)?;
    let step_us = 1_000_000 / plan.due_rate as i64;
    let due_of = |i: u64| first + chrono::Duration::microseconds(i as i64 * step_us);
    let timed = Timed::new(store.clone());
    let mut want: HashMap<CaseId, DateTime<Utc>> = HashMap::with_capacity(n as usize);
    const CHUNK: u64 = 2_000;
    let mut i = 0;
    while i < n {
        let end = (i + CHUNK).min(n);
        let batch: Vec<Change> = (i..end)
            .map(|k| template.copy(2_000_000_000 + k, due_of(k)))
            .collect();
        for c in &batch {
            want.insert(c.case.id.clone(), c.next_due_at.unwrap_or(first));
        }
        store.save_batch(&batch).await?;
        i = end;
    }
    if Utc::now() >= first {
        // A slow machine: the first deadlines passed while seeding; their latency shows it.
        tracing::warn!("seeding the due-to-claim phase ran past the first deadlines");
    }
    let scheduler = Scheduler::new(
        timed.clone(),
        Arc::new(SystemClock),
        svc.clone(),
        Arc::new(Notify::new()),
        Arc::new(Notify::new()),
    );
    let cancel = CancellationToken::new();
    let deadline = Instant::now() + lead + Duration::from_secs(plan.due_seconds + 120);
    let watch = async {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let done = timed.claimed_count();
            if done >= n as usize || Instant::now() > deadline {
                cancel.cancel();
                return;
            }
        }
    };
    tokio::join!(scheduler.run(cancel.clone()), watch);
    let claims = timed.claims();
    let mut lats: Vec<f64> = claims
        .iter()
        .filter_map(|(id, at)| {
            let due = want.get(id)?;
            Some((*at - *due).num_microseconds()? as f64 / 1000.0)
        })
        .collect();
    anyhow::ensure!(
        lats.len() == n as usize,
        "only {} of {n} deadlines were claimed in time",
        lats.len()
    );
    lats.iter_mut().for_each(|l| *l = l.max(0.0));
    Ok(lats)
}

/// Starts `recourse serve` on the seeded database and reads its resident memory once idle.
async fn rss_idle_mb(url: &str) -> anyhow::Result<f64> {
    let exe = std::env::current_exe().context("cannot find the recourse binary")?;
    let mut child = tokio::process::Command::new(exe)
        .args(["--db", url, "serve"])
        .env("RECOURSE_LOG", "warn")
        .env_remove("RECOURSE_CONFIG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start recourse serve")?;
    let pid = child.id().context("serve exited at once")?;
    // Started, migrated, first scheduler and outbox pass done: then it only sleeps.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .context("cannot read the service's memory (Linux /proc)")?;
    let kb = kb_field(&status, "VmRSS:").context("no VmRSS in /proc")?;
    #[cfg(unix)]
    {
        // SIGTERM: the clean stop path.
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
    }
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
    Ok(kb as f64 / 1024.0)
}

/// A sink that enforces the platform's windows the way the platform does: a message over a
/// limit is refused with 429 (counted as a violation) and must be retried.
struct LimitedSink {
    limits: PlatformLimits,
    log: std::sync::Mutex<LimitLog>,
}

#[derive(Default)]
struct LimitLog {
    overall: std::collections::VecDeque<Instant>,
    chats: HashMap<i64, std::collections::VecDeque<Instant>>,
    groups: HashMap<i64, std::collections::VecDeque<Instant>>,
    sent: u64,
    violations: u64,
    last: Option<Instant>,
}

fn admit(log: &mut std::collections::VecDeque<Instant>, rate: Rate, now: Instant) -> bool {
    while log.front().is_some_and(|t| *t + rate.per <= now) {
        log.pop_front();
    }
    log.len() < rate.count as usize
}

impl Sink for LimitedSink {
    async fn send(
        &self,
        item: &OutboxItem,
    ) -> Result<Option<crate::core::identity::MessageRef>, SendError> {
        let now = Instant::now();
        let Recipient::Chat {
            chat: ChatRef::Telegram { chat },
        } = &item.to
        else {
            return Err(SendError::Permanent("not a Telegram chat".into()));
        };
        let mut g = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let l = &mut *g;
        let chat_log = l.chats.entry(*chat).or_default();
        let mut ok = admit(&mut l.overall, self.limits.overall, now)
            && admit(chat_log, self.limits.chat, now);
        if *chat < 0 {
            ok &= admit(l.groups.entry(*chat).or_default(), self.limits.group, now);
        }
        if !ok {
            l.violations += 1;
            return Err(SendError::Retry("429 Too Many Requests".into()));
        }
        l.overall.push_back(now);
        chat_log.push_back(now);
        if *chat < 0 {
            l.groups.entry(*chat).or_default().push_back(now);
        }
        l.sent += 1;
        l.last = Some(now);
        Ok(None)
    }
}

async fn delivery_phase(
    store: &SqlStore,
    plan: &Plan,
    figures: &mut Figures,
) -> anyhow::Result<()> {
    let limits = PlatformLimits::TELEGRAM.scaled(10);
    let settings = DeliverySettings {
        telegram: limits,
        ..DeliverySettings::default()
    };
    // One chat in ten is a group (negative id, as Telegram numbers them).
    let chat_of = |i: u32| {
        let c = i64::from(i % plan.chats) + 1;
        if c % 10 == 0 { -c } else { c }
    };
    let out: Vec<Outgoing> = (0..plan.messages)
        .map(|i| {
            Outgoing::fresh(
                None,
                Recipient::Chat {
                    chat: ChatRef::Telegram { chat: chat_of(i) },
                },
                format!("bench message {i}"),
            )
        })
        .collect();
    let mut counts: HashMap<i64, u32> = HashMap::new();
    for i in 0..plan.messages {
        *counts.entry(chat_of(i)).or_default() += 1;
    }
    let counts: Vec<(Recipient, u32)> = counts
        .into_iter()
        .map(|(chat, n)| {
            (
                Recipient::Chat {
                    chat: ChatRef::Telegram { chat },
                },
                n,
            )
        })
        .collect();
    let minimum = minimum_drain(&settings, &[Platform::Telegram], &counts);
    store.enqueue(&out, Utc::now(), &Default::default()).await?;
    let sink = LimitedSink {
        limits,
        log: std::sync::Mutex::new(LimitLog::default()),
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let delivery = Delivery::new(store.clone(), sink, clock, Arc::new(Notify::new()))
        .limited(Limiter::new(&settings, vec![Platform::Telegram]));
    let started = Instant::now();
    let cancel = CancellationToken::new();
    let watch = async {
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let sent = delivery.sink().log.lock().map_or(0, |l| l.sent);
            if sent >= u64::from(plan.messages)
                || started.elapsed() > minimum * 3 + Duration::from_secs(30)
            {
                cancel.cancel();
                return;
            }
        }
    };
    tokio::join!(delivery.run(cancel.clone()), watch);
    let log = delivery
        .sink()
        .log
        .lock()
        .map_err(|_| anyhow::anyhow!("sink log poisoned"))?;
    anyhow::ensure!(
        log.sent == u64::from(plan.messages),
        "only {} of {} messages were delivered",
        log.sent,
        plan.messages
    );
    let drain = log.last.map_or(Duration::ZERO, |l| l - started);
    // The first burst goes at once, so the limits allow draining in `minimum`; the first
    // send's own latency is the only other cost.
    let min_s = minimum.as_secs_f64();
    figures.at_most(
        "delivery_drain_s",
        drain.as_secs_f64(),
        "s",
        (min_s * 1.1 * 100.0).round() / 100.0,
    );
    figures.info("delivery_min_s", min_s, "s");
    figures.at_most("delivery_violations", log.violations as f64, "", 0.0);
    Ok(())
}

/// The report as a table, with the machine and versions above it.
pub fn table(r: &Report) -> String {
    let mut s = format!(
        "recourse {} bench on {} ({}{}), {} open cases\nmachine: {} cores, {} MB, {}\n\n",
        r.recourse,
        r.backend,
        if r.quick { "--quick" } else { "full" },
        "",
        r.cases,
        r.machine.cores,
        r.machine.memory_mb,
        r.machine.os
    );
    s.push_str(&format!(
        "{:<24} {:>14}  {:<12} {}\n",
        "figure", "value", "target", ""
    ));
    for f in &r.figures {
        let mark = if f.target.is_empty() {
            ""
        } else if f.pass {
            "pass"
        } else {
            "FAIL"
        };
        s.push_str(&format!(
            "{:<24} {:>10} {:<3}  {:<12} {}\n",
            f.key, f.value, f.unit, f.target, mark
        ));
    }
    s
}
