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
    pub telegram: TelegramSettings,
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

/// The Telegram adapter (`recourse serve` starts it when `token` is set).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelegramSettings {
    /// The bot token from BotFather. Secrets file or `RECOURSE__TELEGRAM__TOKEN`; never logged.
    pub token: Option<SecretString>,
    /// The Bot API server: Telegram's, a self-hosted one, or a test fake.
    pub api_url: url::Url,
    /// The moderators' group: new cases and decisions are posted here with buttons.
    #[serde(deserialize_with = "de::opt_id")]
    pub moderator_chat: Option<i64>,
    /// Where approved public posts go (a group or a channel the bot may post in).
    #[serde(deserialize_with = "de::opt_id")]
    pub public_chat: Option<i64>,
    /// More moderators besides the moderator group's administrators: user IDs.
    #[serde(deserialize_with = "de::ids")]
    pub moderators: Vec<i64>,
    /// How long one instance holds the poller lease without renewing it; another instance on
    /// the same database takes over polling after about this long when the poller dies.
    #[serde(with = "humantime_serde")]
    pub poll_lease: Duration,
    /// How long the moderator group's administrator list is trusted before it is asked again.
    #[serde(with = "humantime_serde")]
    pub admins_cache: Duration,
}

impl Default for TelegramSettings {
    fn default() -> Self {
        TelegramSettings {
            token: None,
            api_url: url::Url::parse("https://api.telegram.org")
                .unwrap_or_else(|_| unreachable!("a constant URL parses")),
            moderator_chat: None,
            public_chat: None,
            moderators: Vec::new(),
            poll_lease: Duration::from_secs(20),
            admins_cache: Duration::from_secs(60),
        }
    }
}

impl TelegramSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !matches!(self.api_url.scheme(), "http" | "https") {
            return Err(ConfigError::Invalid(format!(
                "telegram.api_url must be an http:// or https:// address, not {}",
                self.api_url.scheme()
            )));
        }
        if self.poll_lease < Duration::from_secs(2) {
            return Err(ConfigError::Invalid(
                "telegram.poll_lease must be at least 2s".to_string(),
            ));
        }
        Ok(())
    }
}

/// Platform IDs as numbers or strings (`-1001234567890` or `"-1001234567890"`), and lists of
/// them as arrays or comma-separated strings (handy in environment variables).
mod de {
    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Num(i64),
        Text(String),
    }

    fn parse_one(s: &str) -> Result<i64, String> {
        s.trim()
            .parse()
            .map_err(|_| format!("'{s}' is not a numeric ID"))
    }

    pub fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<Id>::deserialize(d)? {
            None => Ok(None),
            Some(Id::Num(n)) => Ok(Some(n)),
            Some(Id::Text(s)) if s.trim().is_empty() => Ok(None),
            Some(Id::Text(s)) => parse_one(&s).map(Some).map_err(serde::de::Error::custom),
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Ids {
        List(Vec<Id>),
        One(Id),
    }

    pub fn ids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
        let items = match Ids::deserialize(d)? {
            Ids::List(l) => l,
            Ids::One(one) => vec![one],
        };
        let mut out = Vec::new();
        for item in items {
            match item {
                Id::Num(n) => out.push(n),
                Id::Text(s) => {
                    for part in s.split(',').filter(|p| !p.trim().is_empty()) {
                        out.push(parse_one(part).map_err(serde::de::Error::custom)?);
                    }
                }
            }
        }
        Ok(out)
    }
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
            telegram: TelegramSettings::default(),
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
        settings.telegram.validate()?;
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
            (Platform::Telegram, self.telegram.token.is_some()),
            (Platform::Discord, self.discord.token.is_some()),
        ]
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(p, _)| p)
        .collect()
    }

    /// Where moderator and public posts go: each platform with a token and the chat set. With
    /// none, one row per post goes to no platform in particular (the console prints it).
    pub fn destinations(&self) -> crate::core::policy::Destinations {
        use crate::core::identity::Platform;
        let mut d = crate::core::policy::Destinations::default();
        if self.telegram.token.is_some() {
            if self.telegram.moderator_chat.is_some() {
                d.moderators.push(Platform::Telegram);
            }
            if self.telegram.public_chat.is_some() {
                d.public.push(Platform::Telegram);
            }
        }
        d
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
