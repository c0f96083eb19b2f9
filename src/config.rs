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
    #[serde(default)]
    pub stats: StatsSettings,
    /// The platforms' rate limits, which the outbox keeps to.
    #[serde(default)]
    pub delivery: crate::ratelimit::DeliverySettings,
    #[serde(default)]
    pub discord: DiscordSettings,
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

/// Support-responsiveness figures per company.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatsSettings {
    /// A company's figures are shown to everyone once it has this many cases.
    pub min_cases: u32,
    /// More company names and aliases, in the format of data/companies.toml; they win over
    /// the shipped ones.
    pub companies: Option<PathBuf>,
    /// Draft a "support responsiveness" public post on the 1st of each month, for moderator
    /// approval.
    pub monthly_post: bool,
    /// When on the 1st (UTC, `HH:MM`).
    pub monthly_at: String,
}

impl Default for StatsSettings {
    fn default() -> Self {
        StatsSettings {
            min_cases: 5,
            companies: None,
            monthly_post: false,
            monthly_at: "09:00".into(),
        }
    }
}

impl StatsSettings {
    /// `monthly_at` as a time (checked by `Settings::validate`).
    pub fn monthly_time(&self) -> chrono::NaiveTime {
        chrono::NaiveTime::parse_from_str(self.monthly_at.trim(), "%H:%M")
            .unwrap_or_else(|_| chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default())
    }
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

/// The Discord adapter. IDs are accepted as numbers or strings (Discord's snowflakes).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscordSettings {
    /// The bot token from the developer portal. Secrets file or `RECOURSE__DISCORD__TOKEN`;
    /// never logged.
    pub token: Option<SecretString>,
    /// When set, every REST call goes here instead of `https://discord.com/api/v10` (a proxy,
    /// or a test fake), and the gateway's URL comes from its `GET /gateway`.
    pub api_url: Option<url::Url>,
    /// The server: with it, commands are registered for this server (at once); without,
    /// globally.
    #[serde(deserialize_with = "de::opt_snowflake")]
    pub guild: Option<u64>,
    /// The moderators' channel: new cases and decisions, with buttons.
    #[serde(deserialize_with = "de::opt_snowflake")]
    pub moderator_channel: Option<u64>,
    /// Where approved public posts go.
    #[serde(deserialize_with = "de::opt_snowflake")]
    pub public_channel: Option<u64>,
    /// Where each case's private thread is opened (default: where `/report` was used).
    #[serde(deserialize_with = "de::opt_snowflake")]
    pub case_channel: Option<u64>,
    /// Members with this role moderate (as do those with Manage Server).
    #[serde(deserialize_with = "de::opt_snowflake")]
    pub moderator_role: Option<u64>,
    /// Members with this role are the company's support: what they write in a case thread is
    /// a support reply.
    #[serde(deserialize_with = "de::opt_snowflake")]
    pub support_role: Option<u64>,
    /// How long one instance holds the gateway lease without renewing it.
    #[serde(with = "humantime_serde")]
    pub gateway_lease: Duration,
}

impl Default for DiscordSettings {
    fn default() -> Self {
        DiscordSettings {
            token: None,
            api_url: None,
            guild: None,
            moderator_channel: None,
            public_channel: None,
            case_channel: None,
            moderator_role: None,
            support_role: None,
            gateway_lease: Duration::from_secs(20),
        }
    }
}

impl DiscordSettings {
    /// Discord's REST API, with no trailing slash: `api_url` when set.
    pub fn rest_base(&self) -> String {
        match &self.api_url {
            Some(u) => {
                let base = u.as_str().trim_end_matches('/');
                if base.ends_with("/api/v10") {
                    base.to_string()
                } else {
                    format!("{base}/api/v10")
                }
            }
            None => "https://discord.com/api/v10".to_string(),
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(u) = &self.api_url
            && !matches!(u.scheme(), "http" | "https")
        {
            return Err(ConfigError::Invalid(format!(
                "discord.api_url must be an http:// or https:// address, not {}",
                u.scheme()
            )));
        }
        if self.gateway_lease < Duration::from_secs(2) {
            return Err(ConfigError::Invalid(
                "discord.gateway_lease must be at least 2s".to_string(),
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
    enum Snowflake {
        Num(u64),
        Text(String),
    }

    /// A Discord ID: a positive number, or the same as a string.
    pub fn opt_snowflake<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        match Option::<Snowflake>::deserialize(d)? {
            None => Ok(None),
            Some(Snowflake::Num(0)) => Err(serde::de::Error::custom("a Discord ID is not 0")),
            Some(Snowflake::Num(n)) => Ok(Some(n)),
            Some(Snowflake::Text(s)) if s.trim().is_empty() => Ok(None),
            Some(Snowflake::Text(s)) => match s.trim().parse::<u64>() {
                Ok(n) if n > 0 => Ok(Some(n)),
                _ => Err(serde::de::Error::custom(format!(
                    "'{s}' is not a Discord ID (copy it with Developer Mode on)"
                ))),
            },
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
            stats: StatsSettings::default(),
            delivery: crate::ratelimit::DeliverySettings::default(),
            discord: DiscordSettings::default(),
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
        settings.discord.validate()?;
        if chrono::NaiveTime::parse_from_str(settings.stats.monthly_at.trim(), "%H:%M").is_err() {
            return Err(ConfigError::Invalid(format!(
                "stats.monthly_at must be a time of day as HH:MM (UTC), not {:?}",
                settings.stats.monthly_at
            )));
        }
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
        if self.discord.token.is_some() {
            if self.discord.moderator_channel.is_some() {
                d.moderators.push(Platform::Discord);
            }
            if self.discord.public_channel.is_some() {
                d.public.push(Platform::Discord);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discord_ids_are_numbers_or_strings_and_zero_or_words_are_refused() {
        let s: DiscordSettings = toml::from_str(
            "guild = 123456789012345678\nmoderator_channel = \"223456789012345678\"\nsupport_role = \"\"",
        )
        .unwrap();
        assert_eq!(s.guild, Some(123456789012345678));
        assert_eq!(s.moderator_channel, Some(223456789012345678));
        assert_eq!(s.support_role, None);
        assert!(toml::from_str::<DiscordSettings>("guild = 0").is_err());
        let e = toml::from_str::<DiscordSettings>("guild = \"general\"").unwrap_err();
        assert!(e.to_string().contains("not a Discord ID"), "{e}");
        assert!(toml::from_str::<DiscordSettings>("gateway = 1").is_err());
    }
}
