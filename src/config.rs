//! Typed, layered settings: a TOML file, then a secrets file, then `RECOURSE__…` variables.

use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::SecretString;
use serde::Deserialize;

use crate::core::identity::Locale;
use crate::core::ladder::{Ladder, LadderError, StepDef};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `recourse.db` (an SQLite file), `sqlite:path`, or `postgres://…`.
    #[serde(default = "default_database_url")]
    pub database_url: String,
    /// The language for people who have not chosen one, and for public posts.
    #[serde(default)]
    pub default_locale: Locale,
    #[serde(default)]
    pub community: Community,
    #[serde(default)]
    pub ladder: LadderSettings,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub scam: ScamSettings,
    #[serde(default)]
    pub authorities: AuthoritiesSettings,
    /// The platforms' rate limits, which the outbox keeps to.
    #[serde(default)]
    pub delivery: crate::ratelimit::DeliverySettings,
    #[serde(default)]
    pub discord: PlatformSettings,
    #[serde(default)]
    pub telegram: PlatformSettings,
    #[serde(default)]
    pub webhook: WebhookSettings,
}

pub use crate::core::policy::Community;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LadderSettings {
    pub steps: Vec<StepDef>,
}

impl Default for LadderSettings {
    fn default() -> Self {
        LadderSettings {
            steps: Ladder::default().steps().to_vec(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Longer messages are refused (nothing is stored) with a plain explanation.
    pub max_message_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_chars: 4000,
        }
    }
}

/// Recovery-scam defence in the community channels the bot reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScamSettings {
    /// Delete a flagged message (where the bot may). Moderators are alerted either way.
    pub delete: bool,
    /// Answer a flagged message in the channel with a short warning.
    pub warn_in_channel: bool,
    /// More patterns, in the format of data/scam_patterns.toml; they add to the shipped ones
    /// (an entry with a shipped id replaces it).
    pub extra_patterns: Option<PathBuf>,
}

impl ScamSettings {
    /// What the core needs of these settings.
    pub fn policy(&self) -> crate::core::policy::ScamPolicy {
        crate::core::policy::ScamPolicy {
            delete: self.delete,
            warn_in_channel: self.warn_in_channel,
        }
    }
}

impl Default for ScamSettings {
    fn default() -> Self {
        ScamSettings {
            delete: false,
            warn_in_channel: true,
            extra_patterns: None,
        }
    }
}

/// The police, regulators and reporting sites the bot suggests.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthoritiesSettings {
    /// More entries, in the format of data/authorities.toml; they come first within their kind.
    pub extra: Option<PathBuf>,
}

/// Settings of one platform adapter (used from the Discord and Telegram issues on).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlatformSettings {
    /// The bot token. Put it in the secrets file or the environment, never in the main file.
    pub token: Option<SecretString>,
}

/// The outgoing webhook: every escalation and moderator notice also goes out as a signed JSON
/// POST to `url` (a helpdesk, a chat bridge, an alerting system).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSettings {
    /// Where to POST; http or https. Unset: no webhook (nothing is queued for it).
    pub url: Option<url::Url>,
    /// The HMAC-SHA256 signing key; required with `url`. Keep it in the secrets file or
    /// `RECOURSE__WEBHOOK__SECRET`; never logged.
    pub secret: Option<SecretString>,
    /// How long one attempt may take before it counts as failed and is retried.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            url: None,
            secret: None,
            timeout: Duration::from_secs(10),
        }
    }
}

impl WebhookSettings {
    /// True when a URL is set (and, once validated, a secret).
    pub fn enabled(&self) -> bool {
        self.url.is_some()
    }

    /// An http(s) URL with a non-empty secret, or no URL at all.
    pub fn validate(&self) -> Result<(), ConfigError> {
        use secrecy::ExposeSecret;
        let Some(url) = &self.url else {
            return Ok(());
        };
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(ConfigError::Invalid(format!(
                "webhook.url must be an http:// or https:// address, not {}",
                url.scheme()
            )));
        }
        if self
            .secret
            .as_ref()
            .is_none_or(|s| s.expose_secret().trim().is_empty())
        {
            return Err(ConfigError::Invalid(
                "webhook.secret is required when webhook.url is set (put it in secrets.toml or \
                 RECOURSE__WEBHOOK__SECRET)"
                    .to_string(),
            ));
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::Invalid(
                "webhook.timeout must be more than 0s".to_string(),
            ));
        }
        Ok(())
    }
}

fn default_database_url() -> String {
    "recourse.db".to_string()
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database_url: default_database_url(),
            default_locale: Locale::En,
            community: Community::default(),
            ladder: LadderSettings::default(),
            limits: Limits::default(),
            scam: ScamSettings::default(),
            authorities: AuthoritiesSettings::default(),
            delivery: crate::ratelimit::DeliverySettings::default(),
            discord: PlatformSettings::default(),
            telegram: PlatformSettings::default(),
            webhook: WebhookSettings::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("settings file {0} does not exist")]
    Missing(PathBuf),
    #[error("{0}")]
    Invalid(String),
    #[error("ladder: {0}")]
    Ladder(#[from] LadderError),
}

/// Where settings come from: an explicit file must exist; the default `recourse.toml` and
/// `secrets.toml` are read only when present.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub config: Option<PathBuf>,
    pub secrets: Option<PathBuf>,
}

impl Settings {
    pub fn load(sources: &Sources) -> Result<Settings, ConfigError> {
        let mut fig = Figment::new();
        fig = add_file(fig, sources.config.as_deref(), "recourse.toml")?;
        fig = add_file(fig, sources.secrets.as_deref(), "secrets.toml")?;
        fig = fig.merge(Env::prefixed("RECOURSE__").split("__"));
        let settings: Settings = fig.extract().map_err(|e| {
            let all: Vec<String> = e.into_iter().map(|e| e.to_string()).collect();
            ConfigError::Invalid(all.join("\n"))
        })?;
        settings.ladder()?;
        settings.webhook.validate()?;
        if settings.limits.max_message_chars < 200 {
            return Err(ConfigError::Invalid(
                "limits.max_message_chars must be at least 200".to_string(),
            ));
        }
        if settings.delivery.lease < Duration::from_secs(1) {
            return Err(ConfigError::Invalid(
                "delivery.lease must be at least 1s".to_string(),
            ));
        }
        Ok(settings)
    }

    pub fn ladder(&self) -> Result<Ladder, LadderError> {
        Ladder::new(self.ladder.steps.clone())
    }

    /// The platforms the bot is configured to speak on (a token is set).
    pub fn platforms(&self) -> Vec<crate::core::identity::Platform> {
        use crate::core::identity::Platform;
        [
            (Platform::Telegram, &self.telegram),
            (Platform::Discord, &self.discord),
        ]
        .into_iter()
        .filter(|(_, s)| s.token.is_some())
        .map(|(p, _)| p)
        .collect()
    }

    /// Where moderator and public posts go. The platform adapters add their destinations in
    /// the Telegram and Discord issues; until then there are none, and one row per post goes
    /// to no platform in particular (printed by the console, logged by `serve`).
    pub fn destinations(&self) -> crate::core::policy::Destinations {
        crate::core::policy::Destinations::default()
    }

    pub fn public_locale(&self) -> Locale {
        self.community.public_locale.unwrap_or(self.default_locale)
    }
}

fn add_file(fig: Figment, explicit: Option<&Path>, default: &str) -> Result<Figment, ConfigError> {
    match explicit {
        Some(path) if !path.exists() => Err(ConfigError::Missing(path.to_path_buf())),
        Some(path) => Ok(fig.merge(Toml::file_exact(path))),
        None if Path::new(default).exists() => Ok(fig.merge(Toml::file_exact(default))),
        None => Ok(fig),
    }
}
