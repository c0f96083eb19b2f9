//! Wiring: builds the store, services, scheduler and outbox from settings for each subcommand.

use std::sync::Arc;

use anyhow::Context;
use tokio::io::BufReader;
use tokio::sync::{Mutex, Notify};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Settings;
use crate::core::authorities::Directory;
use crate::core::clock::{Clock, SystemClock};
use crate::core::company::Companies;
use crate::core::engine::{Engine, Services};
use crate::core::identity::Platform;
use crate::core::ports::OutboxItem;
use crate::core::scam::ScamPatterns;
use crate::delivery::{Delivery, DynSink, SendError, Sink};
use crate::platforms::console::{Console, ConsoleSink, console_clock};
use crate::ratelimit::Limiter;
use crate::scheduler::Scheduler;
use crate::store::SqlStore;
use crate::webhook::{Router, WebhookSink};

/// What the core needs, built from the settings: templates, ladder, community, authorities
/// (shipped plus `authorities.extra`), scam patterns (shipped plus `scam.extra_patterns`),
/// and where moderator and public posts go. A missing data file stops the start, clearly.
pub fn services(settings: &Settings) -> anyhow::Result<Services> {
    settings.webhook.validate()?;
    Ok(Services {
        prompts: crate::prompts::Prompts::new()?,
        ladder: settings.ladder()?,
        community: settings.community.clone(),
        default_locale: settings.default_locale,
        public_locale: settings.public_locale(),
        max_chars: settings.limits.max_message_chars,
        authorities: authorities(settings)?,
        companies: companies(settings)?,
        stats_min_cases: settings.stats.min_cases.max(1),
        stats_monthly: settings
            .stats
            .monthly_post
            .then(|| settings.stats.monthly_time()),
        scam: scam_patterns(settings)?,
        scam_policy: settings.scam.policy(),
        webhook: settings.webhook.enabled(),
        destinations: settings.destinations(),
    })
}

/// A data file named in the settings; a missing or unreadable one stops the start, clearly.
fn read_setting_file(path: &std::path::Path, key: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {key} {}: {e}", path.display()))
}

/// The shipped authorities plus the settings' extra file. A broken entry is reported and
/// skipped; the bot starts with the rest.
fn authorities(settings: &Settings) -> anyhow::Result<Directory> {
    let (mut directory, mut errors) = Directory::builtin();
    if let Some(path) = &settings.authorities.extra {
        let (extra, extra_errors) =
            Directory::parse(&read_setting_file(path, "authorities.extra")?);
        errors.extend(extra_errors);
        directory.extend(extra);
    }
    for e in errors {
        tracing::warn!(entry = e.index, name = ?e.name, problem = %e.problem, "authorities entry skipped");
    }
    Ok(directory)
}

/// The shipped company aliases plus the settings' file (`stats.companies`); a broken file
/// stops the start, with its problem.
fn companies(settings: &Settings) -> anyhow::Result<Companies> {
    let mut companies = Companies::builtin();
    if let Some(path) = &settings.stats.companies {
        companies
            .extend_from(&read_setting_file(path, "stats.companies")?)
            .map_err(|e| anyhow::anyhow!("stats.companies {}: {e}", path.display()))?;
    }
    Ok(companies)
}

/// The shipped recovery-scam patterns plus the settings' extra file, likewise.
fn scam_patterns(settings: &Settings) -> anyhow::Result<ScamPatterns> {
    let (mut patterns, mut errors) = ScamPatterns::builtin();
    if let Some(path) = &settings.scam.extra_patterns {
        let (extra, extra_errors) =
            ScamPatterns::parse(&read_setting_file(path, "scam.extra_patterns")?);
        errors.extend(extra_errors);
        patterns.extend(extra);
    }
    for e in errors {
        tracing::warn!(problem = %e, "scam pattern skipped");
    }
    Ok(patterns)
}

/// For `serve` and `console`, which schedule and send: with SQLite, one process per file.
fn lock_database(settings: &Settings) -> anyhow::Result<Option<std::fs::File>> {
    SqlStore::lock_process(&settings.database_url)
}

pub async fn open_store(settings: &Settings) -> anyhow::Result<SqlStore> {
    let store = SqlStore::open(&settings.database_url)
        .await
        .with_context(|| {
            format!(
                "could not open the database ({})",
                redact_url(&settings.database_url)
            )
        })?;
    Ok(store.with_outbox_lease(settings.delivery.lease))
}

/// Hides a password in a database URL before it is printed.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            if u.set_password(Some("***")).is_err() {
                return "(database url)".to_string();
            }
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// `recourse console`: the chat in the terminal. Reads a script when stdin is not a terminal.
pub async fn console(settings: Settings, interactive: bool) -> anyhow::Result<()> {
    let _lock = lock_database(&settings)?;
    let store = open_store(&settings).await?;
    let svc = Arc::new(services(&settings)?);
    let clock = console_clock(&store).await?;
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let wake = Arc::new(Notify::new());
    let out = Arc::new(Mutex::new(tokio::io::stdout()));
    let engine = Engine::new(store.clone(), shared.clone(), svc.clone()).waking(wake.clone());
    let scheduler = Scheduler::new(
        store.clone(),
        shared.clone(),
        svc.clone(),
        wake.clone(),
        wake.clone(),
    );
    let sink = Router::new(
        ConsoleSink::new(out.clone()),
        WebhookSink::from_settings(&settings.webhook)?,
    );
    let delivery = Delivery::new(store.clone(), sink, shared, wake).telling(svc.clone());
    let mut console = Console::new(engine, scheduler, delivery, store.clone(), clock, out);
    let stdin = BufReader::new(tokio::io::stdin());
    let result = console.run(stdin, !interactive).await;
    store.close().await;
    result
}

/// Logs messages for platforms without an adapter here (the console's rows, say, when a
/// `serve` shares a database with a console session, or a platform whose token is unset).
pub struct LogSink;

impl Sink for LogSink {
    async fn send(
        &self,
        item: &OutboxItem,
    ) -> Result<Option<crate::core::identity::MessageRef>, SendError> {
        tracing::info!(id = item.id, key = %item.key, to = ?item.to, "outgoing message (no platform adapter configured for it)");
        Ok(None)
    }
}

/// The outbox's sinks: each configured platform's, the webhook, and the log for the rest.
pub fn router(
    settings: &Settings,
    platforms: Vec<(Platform, Arc<dyn DynSink>)>,
) -> anyhow::Result<Router<LogSink>> {
    let mut router = Router::new(LogSink, WebhookSink::from_settings(&settings.webhook)?);
    for (platform, sink) in platforms {
        router = router.with_platform(platform, sink);
    }
    Ok(router)
}

/// The Telegram adapter when `telegram.token` is set: its sink (for the outbox) and its poller,
/// with an engine that wakes these (the scheduler, the outbox) after each change.
#[cfg(feature = "telegram")]
pub fn telegram(
    settings: &Settings,
    store: &SqlStore,
    clock: Arc<dyn Clock>,
    svc: Arc<Services>,
    wakes: &[Arc<Notify>],
) -> anyhow::Result<
    Option<(
        crate::platforms::telegram::sink::TelegramSink,
        crate::platforms::telegram::Telegram<SqlStore>,
    )>,
> {
    use crate::platforms::telegram;
    if settings.telegram.token.is_none() {
        return Ok(None);
    }
    let bot = telegram::bot(&settings.telegram)?;
    let sink = telegram::sink(bot, &settings.telegram);
    let mut engine = Engine::new(store.clone(), clock, svc);
    for w in wakes {
        engine = engine.waking(w.clone());
    }
    let adapter = telegram::Telegram::new(&settings.telegram, engine, store.clone(), sink.clone());
    Ok(Some((sink, adapter)))
}

/// The Discord outbox sink when `discord.token` is set: moderator notices, public posts and
/// messages to Discord users go through it.
#[cfg(feature = "discord")]
pub fn discord_sink(
    settings: &Settings,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Option<crate::platforms::discord::DiscordSink>> {
    if settings.discord.token.is_none() {
        return Ok(None);
    }
    crate::platforms::discord::DiscordSink::new(&settings.discord, clock).map(Some)
}

/// The Discord adapter when `discord.token` is set: its sink (for the outbox) and its gateway,
/// with an engine that wakes these (the scheduler, the outbox) after each change.
#[cfg(feature = "discord")]
pub fn discord(
    settings: &Settings,
    store: &SqlStore,
    clock: Arc<dyn Clock>,
    svc: Arc<Services>,
    wakes: &[Arc<Notify>],
) -> anyhow::Result<
    Option<(
        crate::platforms::discord::DiscordSink,
        crate::platforms::discord::gateway::Gateway,
    )>,
> {
    use crate::platforms::discord::{adapter::Shared, gateway::Gateway};
    let Some(sink) = discord_sink(settings, clock.clone())? else {
        return Ok(None);
    };
    let sink = sink.with_threads(store.clone());
    let mut engine = Engine::new(store.clone(), clock, svc);
    for w in wakes {
        engine = engine.waking(w.clone());
    }
    let shared = Shared::new(&settings.discord, engine, store.clone(), sink.clone());
    Ok(Some((sink, Gateway::new(&settings.discord, shared))))
}

/// `recourse serve`: the scheduler, the outbox and the platform adapters whose tokens are set,
/// until Ctrl-C or SIGTERM.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    // Listen first: a stop asked for while the service is still connecting is a clean stop
    // too, not the default action of SIGTERM (found by the crash test, which restarts a
    // service moments before stopping both).
    let mut stop = Shutdown::listen();
    let _lock = lock_database(&settings)?;
    let store = tokio::select! {
        store = open_store(&settings) => store?,
        () = stop.wait() => {
            tracing::info!("stopped while starting");
            return Ok(());
        }
    };
    let svc = Arc::new(services(&settings)?);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let wake_scheduler = Arc::new(Notify::new());
    let wake_delivery = Arc::new(Notify::new());
    #[cfg(feature = "telegram")]
    let telegram = telegram(
        &settings,
        &store,
        clock.clone(),
        svc.clone(),
        &[wake_scheduler.clone(), wake_delivery.clone()],
    )?;
    #[cfg(feature = "discord")]
    let discord = discord(
        &settings,
        &store,
        clock.clone(),
        svc.clone(),
        &[wake_scheduler.clone(), wake_delivery.clone()],
    )?;
    let scheduler = Scheduler::new(
        store.clone(),
        clock.clone(),
        svc.clone(),
        wake_scheduler,
        wake_delivery.clone(),
    );
    #[allow(unused_mut)]
    let mut platforms: Vec<(Platform, Arc<dyn DynSink>)> = Vec::new();
    #[cfg(feature = "telegram")]
    if let Some((sink, _)) = &telegram {
        platforms.push((Platform::Telegram, Arc::new(sink.clone())));
    }
    #[cfg(feature = "discord")]
    if let Some((sink, _)) = &discord {
        platforms.push((Platform::Discord, Arc::new(sink.clone())));
    }
    let sink = router(&settings, platforms)?;
    let delivery = Delivery::new(store.clone(), sink, clock, wake_delivery)
        .limited(Limiter::new(&settings.delivery, settings.platforms()))
        .leasing(settings.delivery.lease)
        .telling(svc);
    let cancel = CancellationToken::new();
    let tracker = TaskTracker::new();
    {
        let cancel = cancel.clone();
        tracker.spawn(async move { scheduler.run(cancel).await });
    }
    {
        let cancel = cancel.clone();
        tracker.spawn(async move { delivery.run(cancel).await });
    }
    {
        let (cancel, store) = (cancel.clone(), store.clone());
        tracker.spawn(async move { prune_inbox(store, cancel).await });
    }
    #[cfg(feature = "telegram")]
    if let Some((_, adapter)) = telegram {
        let cancel = cancel.clone();
        tracker.spawn(async move { adapter.run(cancel).await });
    }
    #[cfg(feature = "discord")]
    if let Some((_, gateway)) = discord {
        let cancel = cancel.clone();
        tracker.spawn(async move { gateway.run(cancel).await });
    }
    tracker.close();
    tracing::info!(
        backend = store.backend_name(),
        "recourse is running; Ctrl-C to stop"
    );
    stop.wait().await;
    tracing::info!("stopping: finishing work in flight");
    cancel.cancel();
    tracker.wait().await;
    store.close().await;
    Ok(())
}

/// Forgets handled platform inputs after a week, hourly: platforms redeliver within minutes.
async fn prune_inbox(store: SqlStore, cancel: CancellationToken) {
    loop {
        let before = chrono::Utc::now() - chrono::Duration::days(7);
        if let Err(e) = store.prune_inbox(before).await {
            tracing::info!(error = %e, "could not prune the inbox; trying again later");
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
        }
    }
}

/// Ctrl-C and SIGTERM, listened for from the moment this is made.
struct Shutdown {
    #[cfg(unix)]
    signals: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Shutdown {
    fn listen() -> Shutdown {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            match (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) {
                (Ok(term), Ok(int)) => Shutdown {
                    signals: Some((term, int)),
                },
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM; Ctrl-C only");
                    Shutdown { signals: None }
                }
            }
        }
        #[cfg(not(unix))]
        Shutdown {}
    }

    async fn wait(&mut self) {
        #[cfg(unix)]
        if let Some((term, int)) = &mut self.signals {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            return;
        }
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
        }
    }
}

/// `recourse migrate`.
pub async fn migrate(settings: Settings) -> anyhow::Result<()> {
    let store = open_store(&settings).await?;
    println!(
        "migrations applied ({}: {})",
        store.backend_name(),
        redact_url(&settings.database_url)
    );
    store.close().await;
    Ok(())
}
