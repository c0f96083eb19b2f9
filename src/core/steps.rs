//! Taking a ladder step: the events it records and the messages it sends, rendered from
//! prompts/ in each reader's language.

use chrono::{DateTime, Utc};
use minijinja::context;
use serde::Serialize;

use crate::core::authorities::{Authority, AuthorityKind};
use crate::core::case::{Case, EventKind};
use crate::core::engine::Services;
use crate::core::identity::Locale;
use crate::core::ladder::{Due, StepKind};
use crate::core::message::{Outgoing, Recipient};
use crate::prompts::{PromptError, PromptKey};

/// What taking a step produces.
#[derive(Debug, Default)]
pub struct Taken {
    pub events: Vec<EventKind>,
    pub out: Vec<Outgoing>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuthorityView {
    pub name: String,
    pub kind: String,
    pub handles: String,
    pub url: Option<String>,
    pub phone: Option<String>,
    pub notes: Option<String>,
}

impl AuthorityView {
    pub fn new(a: &Authority, locale: Locale) -> AuthorityView {
        let zh = locale == Locale::Zh;
        let pick = |en: &str, zh_text: &str| {
            if zh && !zh_text.is_empty() {
                zh_text.to_string()
            } else {
                en.to_string()
            }
        };
        AuthorityView {
            name: pick(&a.name, &a.name_zh),
            kind: a.kind.as_str().to_string(),
            handles: pick(&a.handles, &a.handles_zh),
            url: a.url.clone(),
            phone: a.phone.clone(),
            notes: if zh {
                a.notes_zh.clone().or_else(|| a.notes.clone())
            } else {
                a.notes.clone()
            },
        }
    }
}

/// The authorities for a case's country: police first, then regulators, consumer bodies, and
/// the international reporting sites.
pub fn authorities_for(svc: &Services, case: &Case, locale: Locale) -> Vec<AuthorityView> {
    let mut list = svc.authorities.for_country(case.report.country.as_ref());
    list.sort_by_key(|a| match a.kind {
        AuthorityKind::Police => 0,
        AuthorityKind::Regulator => 1,
        AuthorityKind::Consumer => 2,
        AuthorityKind::Reporting => 3,
    });
    list.into_iter()
        .map(|a| AuthorityView::new(a, locale))
        .collect()
}

/// Renders what step `due` sends for `case` at `now`.
pub fn take(
    svc: &Services,
    case: &Case,
    due: Due,
    now: DateTime<Utc>,
) -> Result<Taken, PromptError> {
    let step = svc.ladder.step(due.index);
    let key = due.log_key(&svc.ladder);
    let victim = case.locale;
    let mods = svc.default_locale;
    // Messages describe the case as it is once this step is taken ("next: …" is the step after).
    let mut after = case.clone();
    after.apply(&crate::core::case::Event::new(
        now,
        crate::core::identity::ActorRecord::system(),
        EventKind::StepTaken {
            step: step.key.clone(),
            occurrence: due.occurrence,
            kind: Some(step.kind),
        },
    ));
    let ctx = |locale: Locale| {
        context! {
            case => svc.view(&after, locale, now),
            community => svc.community_view(locale),
            step => step.kind.key(),
            occurrence => due.occurrence,
            authorities => authorities_for(svc, case, locale),
        }
    };
    let msg = |suffix: &str, to: Recipient, text: String| {
        Outgoing::keyed(
            format!("esc:{}:{key}:{suffix}", case.id.as_str()),
            Some(case.id.clone()),
            to,
            text,
        )
    };
    let to_victim = Recipient::User {
        user: case.reporter.clone(),
    };
    let mut taken = Taken {
        events: vec![EventKind::StepTaken {
            step: step.key.clone(),
            occurrence: due.occurrence,
            kind: Some(step.kind),
        }],
        out: Vec::new(),
    };
    let victim_key = match step.kind {
        StepKind::Checklist => PromptKey::ReportCreated,
        StepKind::Reminder => PromptKey::StepReminder,
        StepKind::PublicPost => PromptKey::StepPublicPost,
        StepKind::Complaint => PromptKey::StepComplaint,
        StepKind::Authorities => PromptKey::StepAuthorities,
        StepKind::FreezeRequest => PromptKey::StepFreezeRequest,
    };
    if step.kind == StepKind::PublicPost {
        let draft = svc.prompts.render(
            svc.public_locale,
            PromptKey::PublicPost,
            &ctx(svc.public_locale),
        )?;
        taken.events.push(EventKind::PostDrafted {
            text: draft,
            step: Some(key.clone()),
        });
    }
    let mut victim_ctx = ctx(victim);
    if step.kind == StepKind::Checklist {
        victim_ctx = context! { new => false, ..victim_ctx };
    }
    taken.out.push(msg(
        "victim",
        to_victim,
        svc.prompts.render(victim, victim_key, &victim_ctx)?,
    ));
    // Moderators hear of every step but the checklist (they were told of the report itself).
    if step.kind != StepKind::Checklist {
        let mut mod_ctx = ctx(mods);
        if let Some(EventKind::PostDrafted { text, .. }) = taken.events.last() {
            mod_ctx = context! { draft => text, ..mod_ctx };
        }
        mod_ctx = context! { what => step.kind.key(), ..mod_ctx };
        let mut notice = msg(
            "mods",
            Recipient::MODERATORS,
            svc.prompts.render(mods, PromptKey::ModNotice, &mod_ctx)?,
        );
        // A drafted post waits for a decision: its notice carries approve and reject.
        if let Some(drafted) = taken
            .events
            .last()
            .filter(|_| step.kind == StepKind::PublicPost)
        {
            let mut decided = after.clone();
            decided.apply(&crate::core::case::Event::new(
                now,
                crate::core::identity::ActorRecord::system(),
                drafted.clone(),
            ));
            notice.meta.buttons = crate::core::buttons::mod_buttons(svc, &decided, true);
        }
        taken.out.push(notice);
    }
    Ok(taken)
}

/// The scheduler's decision for a claimed case: take the step due at `now`, if any, and work
/// out the next deadline. A case whose deadline was stale just gets a fresh one.
pub fn due_change(
    svc: &Services,
    stored: crate::core::ports::StoredCase,
    now: DateTime<Utc>,
) -> crate::core::ports::Change {
    use crate::core::case::Event;
    use crate::core::identity::ActorRecord;
    let mut case = stored.case;
    let mut events = Vec::new();
    let mut outgoing = Vec::new();
    let mut step_key = None;
    let mut retry_at = None;
    if let Some(due) = svc.ladder.due_now(&case, now) {
        match take(svc, &case, due, now) {
            Ok(taken) => {
                for k in taken.events {
                    let e = Event::new(now, ActorRecord::system(), k);
                    case.apply(&e);
                    events.push(e);
                }
                outgoing = taken.out;
                step_key = Some(due.log_key(&svc.ladder));
                if svc.webhook {
                    let copies = crate::core::webhook::mirror(
                        &outgoing,
                        Some(&case.id),
                        step_key.as_deref(),
                        now,
                    );
                    outgoing.extend(copies);
                }
                // One row per moderator and public destination, as for the engine's changes.
                outgoing = crate::core::message::fan_out(outgoing, &svc.destinations);
            }
            Err(e) => {
                // A broken template must not stall every other case: try this one later.
                tracing::error!(case = %case.id, error = %e, "could not render a ladder step");
                retry_at = Some(now + chrono::Duration::minutes(5));
            }
        }
    }
    let mut next_due_at = retry_at.or_else(|| svc.ladder.next_due(&case).map(|d| d.at));
    if step_key.is_none() && next_due_at.is_some_and(|at| at <= now) {
        // Claimed as due but not due by the rule: never hand the same deadline back.
        tracing::warn!(case = %case.id, "deadline disagreed with the ladder; moved past now");
        next_due_at = Some(now + chrono::Duration::milliseconds(1));
    }
    crate::core::ports::Change {
        at: now,
        next_due_at,
        expected_version: Some(stored.version),
        case,
        events,
        outgoing,
        step_key,
        talk: Default::default(),
    }
}
