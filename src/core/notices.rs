//! Notices the moderators get about what happened on a platform rather than in a case's
//! decisions: a victim the bot can no longer reach, a secret it could not delete.

use chrono::{DateTime, Utc};
use minijinja::context;

use crate::core::case::CaseId;
use crate::core::engine::EngineError;
use crate::core::identity::Platform;
use crate::core::message::{Outgoing, Recipient, fan_out};
use crate::core::services::Services;
use crate::prompts::PromptKey;

/// A notice to every moderators' destination (and the webhook, when there is one).
pub fn for_moderators(
    svc: &Services,
    key: String,
    case_id: Option<&CaseId>,
    text: String,
    at: DateTime<Utc>,
) -> Vec<Outgoing> {
    let mut out = vec![Outgoing::keyed(
        key,
        case_id.cloned(),
        Recipient::MODERATORS,
        text,
    )];
    if svc.webhook {
        let copies = crate::core::webhook::mirror(&out, case_id, None, at);
        out.extend(copies);
    }
    fan_out(out, &svc.destinations)
}

/// A message to a case's victim failed for good because the platform refuses to deliver it
/// (the bot was blocked, or the person never started a private chat): the moderators are told,
/// once per message (`key` is the failed message's), so someone reaches the victim another
/// way.
pub fn unreachable(
    svc: &Services,
    key: &str,
    case_id: &CaseId,
    platform: Platform,
    error: &str,
    at: DateTime<Utc>,
) -> Result<Vec<Outgoing>, EngineError> {
    let text = svc.render(
        svc.default_locale,
        PromptKey::ModNotice,
        &context! {
            what => "unreachable",
            case => case_id.to_string(),
            platform => platform.key(),
            error => error,
            at => crate::core::views::fmt_time(at),
        },
    )?;
    Ok(for_moderators(
        svc,
        format!("unreachable:{key}"),
        Some(case_id),
        text,
        at,
    ))
}
