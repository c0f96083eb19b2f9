//! What the outgoing webhook receives: a versioned JSON copy of every escalation step and
//! moderator notice, queued beside the originals in the same outbox transaction.
//!
//! The payload (version 1), one JSON object per POST:
//!
//! ```json
//! {"version": 1, "type": "escalation", "id": "esc:7K3MQ9XT2H:reminder#0:webhook",
//!  "case_id": "RC-7K3MQ-9XT2H", "step": "reminder#0", "occurred_at": "2026-11-21T09:00:00Z",
//!  "text": "…"}
//! ```
//!
//! - `type`: `escalation` (a ladder step was taken; `text` is what the victim was sent) or
//!   `moderator_notice` (`text` is the notice the moderators' channel got).
//! - `id`: the same as the `Idempotency-Key` header, stable across retries of one message.
//! - `case_id`, `step`: `null` when the message concerns no case (a flagged scam message) or no
//!   step. `step` is the escalation-log key, `<step key>#<occurrence>`.
//! - `occurred_at`: when the step or notice happened (RFC 3339, UTC), not when it was sent.
//!
//! Texts are the ones the core already rendered, so secrets were refused or redacted before
//! they got here; attachments (dossiers) are never included.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::core::case::CaseId;
use crate::core::message::{Outgoing, Recipient};

/// The payload's `version`; a change that could break a receiver gets a new number.
pub const PAYLOAD_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
struct Payload<'a> {
    version: u32,
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    case_id: Option<String>,
    step: Option<&'a str>,
    occurred_at: String,
    text: &'a str,
}

/// The webhook copies of `outgoing`: one `moderator_notice` per message to the moderators and,
/// when the change takes a ladder step (`step_key`), one `escalation` carrying the texts of
/// that step sent to the victim. Each copy's key derives from its original's, so it is queued
/// once however often the change is decided, and a receiver sees the same id on every retry.
pub fn mirror(
    outgoing: &[Outgoing],
    case_id: Option<&CaseId>,
    step_key: Option<&str>,
    at: DateTime<Utc>,
) -> Vec<Outgoing> {
    let occurred_at = at.to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut copies = Vec::new();
    if let (Some(case_id), Some(step)) = (case_id, step_key) {
        let texts: Vec<&str> = outgoing
            .iter()
            .filter(|o| is_victim_step_message(o, case_id))
            .map(|o| o.text.as_str())
            .collect();
        let key = format!("esc:{}:{step}:webhook", case_id.as_str());
        let payload = Payload {
            version: PAYLOAD_VERSION,
            kind: "escalation",
            id: &key,
            case_id: Some(case_id.to_string()),
            step: Some(step),
            occurred_at: occurred_at.clone(),
            text: &texts.join("\n\n"),
        };
        copies.push(copy(key.clone(), Some(case_id.clone()), &payload));
    }
    // Edits of moderator posts (who claimed, who approved) are for the platforms' posts only.
    for o in outgoing
        .iter()
        .filter(|o| o.to.is_moderators() && o.meta.op == crate::core::message::Op::Send)
    {
        let key = format!("{}:webhook", o.key);
        let payload = Payload {
            version: PAYLOAD_VERSION,
            kind: "moderator_notice",
            id: &key,
            case_id: o.case_id.as_ref().map(|c| c.to_string()),
            step: step_key.filter(|_| o.case_id.is_some()),
            occurred_at: occurred_at.clone(),
            text: &o.text,
        };
        copies.push(copy(key.clone(), o.case_id.clone(), &payload));
    }
    copies
}

/// A step's messages to the victim are keyed `esc:<case>:…` (steps.rs, report.rs); a reply
/// to a moderator's command in the same change is not.
fn is_victim_step_message(o: &Outgoing, case_id: &CaseId) -> bool {
    let prefix = format!("esc:{}:", case_id.as_str());
    matches!(o.to, Recipient::User { .. } | Recipient::Chat { .. })
        && o.key.starts_with(&prefix)
        && o.attachment.is_none()
}

fn copy(key: String, case_id: Option<CaseId>, payload: &Payload<'_>) -> Outgoing {
    // Serializing a struct of strings and numbers cannot fail.
    let body = serde_json::to_string(payload).unwrap_or_default();
    Outgoing::keyed(key, case_id, Recipient::Webhook, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::identity::UserRef;

    fn msg(key: &str, case: Option<&CaseId>, to: Recipient, text: &str) -> Outgoing {
        Outgoing::keyed(key.into(), case.cloned(), to, text.into())
    }

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_step_gives_one_escalation_and_one_notice() {
        let id = CaseId::generate();
        let victim = Recipient::User {
            user: UserRef::Console("alice".into()),
        };
        let out = vec![
            msg(
                &format!("esc:{}:reminder#0:victim", id.as_str()),
                Some(&id),
                victim,
                "write again",
            ),
            msg(
                &format!("esc:{}:reminder#0:mods", id.as_str()),
                Some(&id),
                Recipient::MODERATORS,
                "reminder sent",
            ),
        ];
        let copies = mirror(&out, Some(&id), Some("reminder#0"), at());
        assert_eq!(copies.len(), 2);
        assert!(copies.iter().all(|c| c.to == Recipient::Webhook));
        let esc: serde_json::Value = serde_json::from_str(&copies[0].text).unwrap();
        assert_eq!(esc["version"], 1);
        assert_eq!(esc["type"], "escalation");
        assert_eq!(esc["id"], copies[0].key.as_str());
        assert_eq!(esc["case_id"], id.to_string());
        assert_eq!(esc["step"], "reminder#0");
        assert_eq!(esc["occurred_at"], "2026-11-21T09:00:00Z");
        assert_eq!(esc["text"], "write again");
        let notice: serde_json::Value = serde_json::from_str(&copies[1].text).unwrap();
        assert_eq!(notice["type"], "moderator_notice");
        assert_eq!(notice["text"], "reminder sent");
        assert_eq!(
            copies[1].key,
            format!("esc:{}:reminder#0:mods:webhook", id.as_str())
        );
        // Deciding the same change again gives the same keys and bodies.
        assert_eq!(mirror(&out, Some(&id), Some("reminder#0"), at()), copies);
    }

    #[test]
    fn a_notice_without_a_case_and_replies_are_left_alone() {
        let out = vec![
            msg(
                "m:1",
                None,
                Recipient::Chat {
                    chat: crate::core::identity::ChatRef::Console,
                },
                "hi",
            ),
            msg("m:2", None, Recipient::MODERATORS, "scam flagged"),
            msg("m:3", None, Recipient::PUBLIC, "post"),
        ];
        let copies = mirror(&out, None, None, at());
        assert_eq!(copies.len(), 1);
        let v: serde_json::Value = serde_json::from_str(&copies[0].text).unwrap();
        assert_eq!(v["type"], "moderator_notice");
        assert_eq!(v["id"], "m:2:webhook");
        assert!(v["case_id"].is_null() && v["step"].is_null());
    }
}
