//! The gateway connection, under a lease: with several instances on one database exactly one
//! holds Discord's gateway for this token (the others send through the outbox only), and when
//! it dies another takes over once the lease runs out. While holding, a serenity client with
//! poise's framework runs the slash commands, and the adapter takes buttons straight from the
//! events. Ctrl-C (or a lost lease) closes the shard cleanly and hands the lease over.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use poise::serenity_prelude as serenity;
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

use crate::config::DiscordSettings;
use crate::core::ports::Store;
use crate::platforms::discord::adapter::Shared;
use crate::platforms::discord::commands::{self, Data, Error};

/// The lease that says which instance holds the gateway.
const LEASE: &str = "discord/gateway";

pub struct Gateway {
    shared: Arc<Shared>,
    settings: DiscordSettings,
    holder: String,
}

impl Gateway {
    pub fn new(settings: &DiscordSettings, shared: Arc<Shared>) -> Gateway {
        Gateway {
            shared,
            settings: settings.clone(),
            holder: format!("{}-{:08x}", std::process::id(), rand::random::<u32>()),
        }
    }

    /// Holds the gateway while this instance holds the lease, until cancelled.
    pub async fn run(self, cancel: CancellationToken) {
        let lease = self.settings.gateway_lease;
        let renew = (lease / 3).max(Duration::from_millis(200));
        while !cancel.is_cancelled() {
            if !self.hold().await {
                pause(&cancel, renew).await;
                continue;
            }
            tracing::info!("connecting to Discord (this instance holds the gateway lease)");
            let Some(client) = self.connect().await else {
                self.release().await;
                pause(&cancel, Duration::from_secs(5)).await;
                continue;
            };
            let shards = client.shard_manager.clone();
            let mut running = tokio::spawn(run_client(client));
            // Renew while connected; stop on Ctrl-C, a lost lease, or a client that ended.
            let ended = loop {
                tokio::select! {
                    _ = cancel.cancelled() => break false,
                    _ = &mut running => break true,
                    _ = tokio::time::sleep(renew) => {
                        if !self.hold().await {
                            tracing::info!("lost the gateway lease; disconnecting from Discord");
                            break false;
                        }
                    }
                }
            };
            if !ended {
                shards.shutdown_all().await;
                if tokio::time::timeout(Duration::from_secs(5), &mut running)
                    .await
                    .is_err()
                {
                    running.abort();
                }
            }
            self.release().await;
            if ended && !cancel.is_cancelled() {
                pause(&cancel, Duration::from_secs(5)).await;
            }
        }
        tracing::info!("Discord gateway stopped");
    }

    async fn hold(&self) -> bool {
        let now = Utc::now();
        let until =
            now + chrono::Duration::from_std(self.settings.gateway_lease).unwrap_or_default();
        match self
            .shared
            .store
            .hold_lease(LEASE, &self.holder, until, now)
            .await
        {
            Ok(held) => held,
            Err(e) => {
                tracing::warn!(error = %e, "cannot renew the gateway lease; not connecting until the database answers");
                false
            }
        }
    }

    async fn release(&self) {
        if let Err(e) = self.shared.store.drop_lease(LEASE, &self.holder).await {
            tracing::info!(error = %e, "could not hand over the gateway lease; it runs out by itself");
        }
    }

    /// A serenity client with poise's framework: the REST calls serenity makes itself (the
    /// gateway URL, registering the commands) through `discord.api_url` when it is set.
    async fn connect(&self) -> Option<serenity::Client> {
        let token = self.settings.token.as_ref()?.expose_secret().to_string();
        let mut http = serenity::HttpBuilder::new(&token);
        if self.settings.api_url.is_some() {
            let base = self.settings.rest_base();
            let origin = base.trim_end_matches("/api/v10").to_string();
            // serenity's own ratelimiter ignores the proxy: off behind one.
            http = http.proxy(origin).ratelimiter_disabled(true);
        }
        let guild = self.settings.guild;
        let shared = self.shared.clone();
        let options = poise::FrameworkOptions {
            commands: commands::all(self.shared.engine.services()),
            event_handler: |framework, event| Box::pin(on_event(event, framework.user_data)),
            on_error: |error| Box::pin(on_error(error)),
            ..Default::default()
        };
        let framework = poise::Framework::builder()
            .options(options)
            .initialize_owners(false)
            .setup(move |ctx, ready, framework| {
                Box::pin(async move {
                    let _ = shared.application.set(ready.application.id.get());
                    register(ctx, framework, guild).await;
                    tracing::info!(bot = %ready.user.name, "connected to Discord");
                    Ok(shared)
                })
            })
            .build();
        let mut cache = serenity::cache::Settings::default();
        cache.max_messages = 0;
        cache.cache_users = false;
        let intents = serenity::GatewayIntents::GUILDS
            | serenity::GatewayIntents::GUILD_MESSAGES
            | serenity::GatewayIntents::DIRECT_MESSAGES
            | serenity::GatewayIntents::MESSAGE_CONTENT;
        match serenity::ClientBuilder::new_with_http(http.build(), intents)
            .framework(framework)
            .cache_settings(cache)
            .await
        {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(error = %redact(&e.to_string(), &token), "cannot start the Discord client");
                None
            }
        }
    }
}

async fn run_client(mut client: serenity::Client) {
    if let Err(e) = client.start().await {
        let token = client.http.token().to_string();
        tracing::warn!(error = %redact(&e.to_string(), &token), "the Discord connection ended");
    }
}

/// The commands, for the configured server (at once) or globally (Discord takes up to an hour).
async fn register(
    ctx: &serenity::Context,
    framework: &poise::Framework<Data, Error>,
    guild: Option<u64>,
) {
    let mut builders = Vec::new();
    for c in &framework.options().commands {
        builders.extend(c.create_as_slash_command());
        // poise 0.7 leaves a context menu's name untranslated; the localizations are added
        // here.
        if let Some(mut menu) = c.create_as_context_menu_command() {
            for (locale, name) in c.name_localizations.iter() {
                menu = menu.name_localized(locale.as_ref(), name.as_ref());
            }
            builders.push(menu);
        }
    }
    let done = match guild {
        Some(g) => serenity::GuildId::new(g)
            .set_commands(ctx, builders)
            .await
            .map(drop),
        None => serenity::Command::set_global_commands(ctx, builders)
            .await
            .map(drop),
    };
    if let Err(e) = done {
        tracing::warn!(error = %e, "could not register the slash commands");
    }
}

async fn on_event(event: &serenity::FullEvent, data: &Data) -> Result<(), Error> {
    match event {
        serenity::FullEvent::InteractionCreate {
            interaction: serenity::Interaction::Component(c),
        } => data.press(c).await,
        serenity::FullEvent::InteractionCreate {
            interaction: serenity::Interaction::Modal(m),
        } => data.form_submitted(m).await,
        serenity::FullEvent::Message { new_message } => data.message(new_message).await,
        _ => {}
    }
    Ok(())
}

/// poise's errors: logged, never shown raw to the user (the adapter answers them itself).
async fn on_error(error: poise::FrameworkError<'_, Data, Error>) {
    match error {
        poise::FrameworkError::Setup { error, .. } => {
            tracing::error!(error = %error, "the Discord adapter could not start");
        }
        other => tracing::warn!(error = %other, "a Discord interaction was not handled"),
    }
}

fn redact(text: &str, token: &str) -> String {
    if token.is_empty() {
        text.to_string()
    } else {
        text.replace(token, "<token>")
    }
}

async fn pause(cancel: &CancellationToken, d: Duration) {
    tokio::select! {
        _ = cancel.cancelled() => {}
        _ = tokio::time::sleep(d) => {}
    }
}
