//! What the rules need besides the store and the clock: templates, the ladder, the community,
//! the authorities directory, the recovery-scam patterns and where posts go. Built once by
//! `app::services` from the settings; the core reads no settings and no files.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::core::authorities::Directory;
use crate::core::case::Case;
use crate::core::company::Companies;
use crate::core::engine::EngineError;
use crate::core::identity::Locale;
use crate::core::ladder::Ladder;
use crate::core::policy::{Community, Destinations, ScamPolicy};
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
    /// Company names and aliases, for the figures per company.
    pub companies: Companies,
    /// A company's figures are shown to everyone from this many cases on.
    pub stats_min_cases: u32,
    /// The monthly support-responsiveness post is drafted on the 1st at this time (UTC);
    /// `None`: no monthly post.
    pub stats_monthly: Option<chrono::NaiveTime>,
    pub scam: ScamPatterns,
    pub scam_policy: ScamPolicy,
    /// `webhook.url` is set: escalations and moderator notices are mirrored to it.
    pub webhook: bool,
    /// Where moderator and public posts go (one outbox row per platform listed).
    pub destinations: Destinations,
}

impl Services {
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
