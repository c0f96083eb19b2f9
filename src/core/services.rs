//! What the rules need besides the store and the clock: templates, the ladder, the community,
//! the authorities directory and the recovery-scam patterns, built once from the settings.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::{Community, Settings};
use crate::core::authorities::Directory;
use crate::core::case::Case;
use crate::core::engine::EngineError;
use crate::core::identity::Locale;
use crate::core::ladder::Ladder;
use crate::core::scam::ScamPatterns;
use crate::core::views::{CaseView, CommunityView};
use crate::prompts::{PromptKey, Prompts};

/// Everything the rules need besides the store and the clock.
pub struct Services {
    pub prompts: Prompts,
    pub ladder: Ladder,
    pub community: Community,
    pub default_locale: Locale,
    pub public_locale: Locale,
    pub max_chars: usize,
    pub authorities: Directory,
    pub scam: ScamPatterns,
    pub scam_settings: crate::config::ScamSettings,
    /// `webhook.url` is set: escalations and moderator notices are mirrored to it.
    pub webhook: bool,
}

impl Services {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Services> {
        settings.webhook.validate()?;
        Ok(Services {
            prompts: Prompts::new()?,
            ladder: settings.ladder()?,
            community: settings.community.clone(),
            default_locale: settings.default_locale,
            public_locale: settings.public_locale(),
            max_chars: settings.limits.max_message_chars,
            authorities: authorities(settings)?,
            scam: scam_patterns(settings)?,
            scam_settings: settings.scam.clone(),
            webhook: settings.webhook.enabled(),
        })
    }

    pub fn view(&self, case: &Case, locale: Locale, now: DateTime<Utc>) -> CaseView {
        CaseView::new(case, &self.ladder, &self.community, locale, now)
    }

    /// The timeline in words, optionally with each time also in `tz`.
    pub fn event_views(
        &self,
        events: &[crate::core::case::Event],
        locale: Locale,
        tz: Option<chrono_tz::Tz>,
    ) -> Result<Vec<crate::core::views::EventView>, EngineError> {
        events
            .iter()
            .map(|ev| {
                let mut view = crate::core::views::EventView::from(ev);
                view.description = self.render(
                    locale,
                    PromptKey::EventLine,
                    &minijinja::context! { e => &view },
                )?;
                view.at_local = tz.map(|tz| crate::core::views::fmt_local(ev.at, tz));
                Ok(view)
            })
            .collect()
    }

    pub fn community_view(&self, locale: Locale) -> CommunityView {
        CommunityView::new(&self.community, locale)
    }

    pub fn render<C: Serialize>(
        &self,
        locale: Locale,
        key: PromptKey,
        ctx: &C,
    ) -> Result<String, EngineError> {
        Ok(self.prompts.render(locale, key, ctx)?)
    }
}

/// A data file named in the settings; a missing or unreadable one stops the start, clearly.
fn read_setting_file(path: &Path, key: &str) -> anyhow::Result<String> {
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
