//! `/stats [company]`, `/stats export`, and the monthly support-responsiveness post (drafted
//! by the scheduler on the 1st, decided with `/stats approve|reject <ST-…>` or its buttons).

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Utc};
use minijinja::context;
use serde::Serialize;

use crate::core::action::Action;
use crate::core::draft::{Draft, DraftBody, DraftStatus};
use crate::core::engine::{Ctx, Engine, EngineError, Outcome};
use crate::core::identity::Locale;
use crate::core::message::{Attachment, Button, Does, Op, Outgoing, Recipient, Target, fan_out};
use crate::core::ports::Store;
use crate::core::services::Services;
use crate::core::stats::{self, Figures, RECENT_DAYS};
use crate::core::views::fmt_time;
use crate::prompts::PromptKey;

/// A monthly post missed on the 1st (the bot was down) is still drafted this many days in.
const MONTHLY_CATCH_UP_DAYS: u32 = 7;

/// One company's line: all time and the last 30 days.
#[derive(Debug, Serialize)]
pub(crate) struct CompanyRow {
    name: String,
    /// It has `stats.min_cases` cases: everyone may see it.
    enough: bool,
    all: Figures,
    recent: Figures,
}

/// Every company's figures, the most reported first; of one company (a name as a user types
/// it) when `company` is given.
pub(crate) async fn table<S: Store>(
    svc: &Services,
    store: &S,
    company: Option<&str>,
    now: DateTime<Utc>,
    locale: Locale,
) -> Result<Vec<CompanyRow>, EngineError> {
    let today = stats::day_of(now);
    let from = today - RECENT_DAYS + 1;
    let key = match company {
        Some(c) => match svc.companies.normalise(c) {
            Some(c) => Some(c.key),
            None => return Ok(Vec::new()),
        },
        None => None,
    };
    let summary = store.stat_summary(from, today, key.as_deref()).await?;
    let names: HashMap<String, String> = store.stat_companies().await?.into_iter().collect();
    let mut rows: Vec<CompanyRow> = summary
        .into_iter()
        .map(|(k, (all, recent))| {
            let name = names.get(&k).cloned().unwrap_or(k);
            CompanyRow {
                enough: all.count("reported") >= i64::from(svc.stats_min_cases),
                all: stats::figures(&name, &all, today, locale),
                recent: stats::figures(&name, &recent, today, locale),
                name,
            }
        })
        .filter(|r| r.all.reported > 0)
        .collect();
    rows.sort_by(|a, b| {
        b.all
            .reported
            .cmp(&a.all.reported)
            .then_with(|| a.name.cmp(&b.name))
    });
    Ok(rows)
}

fn month_of(now: DateTime<Utc>) -> String {
    format!("{:04}-{:02}", now.year(), now.month())
}

fn notice_key(id: &str) -> String {
    format!("stats:{id}:mods")
}

/// The moderators' notice of a monthly post (Approve / Reject while it waits).
fn notice(svc: &Services, d: &Draft) -> Result<Outgoing, EngineError> {
    let mods = svc.default_locale;
    let text = svc.render(
        mods,
        PromptKey::StatsNotice,
        &context! {
            id => &d.id,
            month => &d.subject,
            status => d.status.key(),
            by => &d.decided_by,
            at => d.decided_at.map(fmt_time),
            reason => &d.reason,
        },
    )?;
    let mut o = Outgoing::keyed(notice_key(&d.id), None, Recipient::MODERATORS, text);
    if d.status == DraftStatus::Pending {
        o.meta.buttons = [("approve", "approve"), ("reject", "reject")]
            .into_iter()
            .filter_map(|(label, verb)| {
                let token = Action::Run(format!("/stats {verb} {}", d.id)).token()?;
                Some(Button {
                    label: crate::core::buttons::label(svc, mods, label, &context! {}),
                    does: Does::Press { token },
                })
            })
            .collect();
    }
    Ok(o)
}

/// Drafts this month's support-responsiveness post for the moderators, once (its ID is the
/// month's, so several instances draft it once): from `stats.monthly_at` on the 1st, or later
/// in the first week if the bot was down. Returns whether it drafted one.
pub async fn monthly_post<S: Store>(
    svc: &Services,
    store: &S,
    now: DateTime<Utc>,
) -> Result<bool, EngineError> {
    let Some(at) = svc.stats_monthly else {
        return Ok(false);
    };
    if now.day() > MONTHLY_CATCH_UP_DAYS || (now.day() == 1 && now.time() < at) {
        return Ok(false);
    }
    let month = month_of(now);
    let id = crate::core::draft::stats_id(&month);
    if store.load_draft(&id).await?.is_some() {
        return Ok(false);
    }
    let locale = svc.public_locale;
    let rows = table(svc, store, None, now, locale).await?;
    let hidden = rows.iter().filter(|r| !r.enough).count();
    let shown: Vec<&CompanyRow> = rows.iter().filter(|r| r.enough).collect();
    let text = svc.render(
        locale,
        PromptKey::StatsPost,
        &context! {
            rows => shown,
            hidden => hidden,
            min => svc.stats_min_cases,
            month => &month,
            days => RECENT_DAYS,
            community => svc.community_view(locale),
        },
    )?;
    let d = Draft {
        id: id.clone(),
        subject: month.clone(),
        status: DraftStatus::Pending,
        body: DraftBody::Stats {
            month,
            text: text.clone(),
        },
        created_at: now,
        created_by: "Recourse".into(),
        decided_at: None,
        decided_by: None,
        reason: None,
    };
    let draft_text = Outgoing::keyed(
        format!("stats:{id}:text"),
        None,
        Recipient::MODERATORS,
        text,
    );
    let out = fan_out(vec![notice(svc, &d)?, draft_text], &svc.destinations);
    let drafted = store.insert_draft(&d, &out, now).await?;
    if drafted {
        tracing::info!(draft = %id, "monthly support-responsiveness post drafted");
    }
    Ok(drafted)
}

/// Whether this month's post is past being drafted: it was due and a pass looked, or it is
/// disabled; either way nothing changes before the next month.
pub fn monthly_settled(svc: &Services, now: DateTime<Utc>) -> bool {
    match svc.stats_monthly {
        None => true,
        Some(at) => now.day() > 1 || now.time() >= at,
    }
}

impl<S: Store> Engine<S> {
    /// `/stats [company]`: for anyone, only companies with enough cases; moderators see all.
    pub(crate) async fn stats(
        &self,
        cx: &Ctx<'_>,
        company: Option<String>,
    ) -> Result<Outcome, EngineError> {
        let moderator = cx.msg.actor.moderator;
        let min = self.svc.stats_min_cases;
        let rows = table(
            &self.svc,
            &self.store,
            company.as_deref(),
            cx.now,
            cx.locale,
        )
        .await?;
        if let Some(asked) = &company {
            let found = rows.into_iter().next();
            return match found {
                Some(r) if r.enough || moderator => self.reply(
                    cx,
                    PromptKey::Stats,
                    context! { rows => vec![r], hidden => 0, min => min, moderator => moderator, one => true, days => RECENT_DAYS },
                ),
                _ => self.reply(
                    cx,
                    PromptKey::Stats,
                    context! { not_enough => asked.trim(), min => min },
                ),
            };
        }
        let hidden = rows.iter().filter(|r| !r.enough).count();
        let rows: Vec<CompanyRow> = rows.into_iter().filter(|r| r.enough || moderator).collect();
        self.reply(
            cx,
            PromptKey::Stats,
            context! { rows => rows, hidden => hidden, min => min, moderator => moderator, one => false, days => RECENT_DAYS },
        )
    }

    /// `/stats export` (moderators): every company's figures as CSV and JSON files.
    pub(crate) async fn stats_export(&self, cx: &Ctx<'_>) -> Result<Outcome, EngineError> {
        let rows = table(&self.svc, &self.store, None, cx.now, cx.locale).await?;
        let mut flat: Vec<(String, &'static str, Figures)> = Vec::new();
        for r in rows {
            flat.push((r.name.clone(), "all_time", r.all));
            flat.push((r.name, "last_30_days", r.recent));
        }
        let companies = flat.len() / 2;
        let mut outcome = self.reply(cx, PromptKey::Stats, context! { exported => companies })?;
        let stamp = cx.now.format("%Y%m%d").to_string();
        for (ext, content_type, content) in [
            ("csv", "text/csv; charset=utf-8", stats::csv(&flat)),
            ("json", "application/json", stats::json(&flat)),
        ] {
            let filename = format!("recourse-stats-{stamp}.{ext}");
            let mut file = self.to_chat(cx, filename.clone());
            file.meta.reply_to = None;
            file.attachment = Some(Attachment {
                filename,
                content_type: content_type.to_string(),
                content,
            });
            outcome.out.push(file);
        }
        Ok(outcome)
    }

    /// `/stats approve|reject <ST-…> [reason]`: the monthly post goes to every public
    /// destination once approved.
    pub(crate) async fn stats_decide(
        &self,
        cx: &Ctx<'_>,
        id: &str,
        approve: bool,
        reason: String,
    ) -> Result<Outcome, EngineError> {
        let d = match self.store.load_draft(id).await? {
            Some(d) if matches!(d.body, DraftBody::Stats { .. }) => d,
            _ => return self.reply(cx, PromptKey::Stats, context! { unknown => id }),
        };
        if d.status != DraftStatus::Pending {
            return self.reply(
                cx,
                PromptKey::Stats,
                context! { decided => &d.id, status => d.status.key(), by => &d.decided_by, at => d.decided_at.map(fmt_time) },
            );
        }
        let DraftBody::Stats { text, month } = &d.body else {
            return self.reply(cx, PromptKey::Stats, context! { unknown => id });
        };
        let status = if approve {
            DraftStatus::Approved
        } else {
            DraftStatus::Rejected
        };
        let by = format!(
            "{} ({})",
            cx.msg.actor.name,
            cx.msg.actor.user.platform().key()
        );
        let reason = (!reason.trim().is_empty()).then(|| reason.trim().to_string());
        let decided = Draft {
            status,
            decided_at: Some(cx.now),
            decided_by: Some(by.clone()),
            reason: reason.clone(),
            ..d.clone()
        };
        let mut edit = notice(&self.svc, &decided)?;
        edit.key = crate::core::message::fresh_key();
        edit.meta.op = Op::Edit {
            target: Target::Row {
                key: notice_key(&d.id),
            },
        };
        let mut out = vec![edit];
        if approve {
            out.push(Outgoing::keyed(
                format!("stats:{}:pub", d.id),
                None,
                Recipient::PUBLIC,
                text.clone(),
            ));
        }
        let out = fan_out(out, &self.svc.destinations);
        if !self
            .store
            .decide_draft(id, status, &by, reason.as_deref(), cx.now, &out)
            .await?
        {
            let now = self.store.load_draft(id).await?.unwrap_or(d.clone());
            return self.reply(
                cx,
                PromptKey::Stats,
                context! { decided => &now.id, status => now.status.key(), by => &now.decided_by, at => now.decided_at.map(fmt_time) },
            );
        }
        self.wake_all();
        self.reply(
            cx,
            PromptKey::Stats,
            context! { done => &d.id, approved => approve, month => month },
        )
    }
}
