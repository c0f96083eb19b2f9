//! The case dossier: one self-contained document (Markdown and HTML) for police, a lawyer or a
//! regulator, sealed with a SHA-256 checksum of its content so later edits can be detected.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use minijinja::context;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::core::authorities::Country;
use crate::core::case::{Case, Event};
use crate::core::engine::{EngineError, Services};
use crate::core::identity::Locale;
use crate::core::message::Recipient;
use crate::core::ports::CaseMessage;
use crate::core::views::{fmt_local, fmt_time};
use crate::prompts::PromptKey;

/// Where the checksum goes; the document is hashed with this in place, then it is replaced.
pub const SEAL_PLACEHOLDER: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";
const SEAL_LABEL: &str = "SHA-256: ";

pub struct Dossier {
    pub markdown: String,
    pub html: String,
}

#[derive(Debug, Clone, Serialize)]
struct MessageView {
    at: String,
    at_local: Option<String>,
    to: &'static str,
    text: String,
}

/// A time-zone name that is not in the IANA database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownZone;

/// The victim's time zone: named (`Asia/Shanghai`), else the zone of a single-zone country.
pub fn time_zone(
    named: Option<&str>,
    country: Option<&Country>,
) -> Result<Option<Tz>, UnknownZone> {
    if let Some(name) = named {
        return name.trim().parse::<Tz>().map(Some).map_err(|_| UnknownZone);
    }
    let zone = match country.map(Country::code) {
        Some("CN") => "Asia/Shanghai",
        Some("HK") => "Asia/Hong_Kong",
        Some("TW") => "Asia/Taipei",
        Some("SG") => "Asia/Singapore",
        Some("JP") => "Asia/Tokyo",
        Some("KR") => "Asia/Seoul",
        Some("IN") => "Asia/Kolkata",
        Some("GB") => "Europe/London",
        Some("DE") => "Europe/Berlin",
        Some("FR") => "Europe/Paris",
        Some("NL") => "Europe/Amsterdam",
        Some("IT") => "Europe/Rome",
        Some("ES") => "Europe/Madrid",
        _ => return Ok(None),
    };
    Ok(zone.parse::<Tz>().ok())
}

/// Renders the dossier of `case` in `locale`, with times in UTC and, if known, in `tz`.
#[allow(clippy::too_many_arguments)] // each is a part of the document
pub fn build(
    svc: &Services,
    case: &Case,
    events: &[Event],
    messages: &[CaseMessage],
    tz: Option<Tz>,
    locale: Locale,
    now: DateTime<Utc>,
    related: Option<&crate::core::cluster_cmd::Related>,
) -> Result<Dossier, EngineError> {
    let messages: Vec<MessageView> = messages
        .iter()
        .filter_map(|m| {
            let to = match m.to {
                Recipient::User { .. } | Recipient::Chat { .. } => "victim",
                Recipient::Public { .. } => "public",
                // Moderator notices are the community's internal notes; webhook copies repeat
                // them (and the steps) for other tools.
                Recipient::Moderators { .. } | Recipient::Webhook => return None,
            };
            Some(MessageView {
                at: fmt_time(m.at),
                at_local: tz.map(|tz| fmt_local(m.at, tz)),
                to,
                text: m.text.clone(),
            })
        })
        .collect();
    let ctx = context! {
        case => svc.view(case, locale, now),
        community => svc.community_view(locale),
        events => svc.event_views(events, locale, tz)?,
        messages => messages,
        tz => tz.map(|t| t.name().to_string()),
        generated => fmt_time(now),
        generated_local => tz.map(|tz| fmt_local(now, tz)),
        sha256 => SEAL_PLACEHOLDER,
        related => related,
    };
    Ok(Dossier {
        markdown: seal(&svc.render(locale, PromptKey::DossierMarkdown, &ctx)?),
        html: seal(&svc.render(locale, PromptKey::DossierHtml, &ctx)?),
    })
}

fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Replaces the placeholder after `SHA-256: ` with the checksum of the document as it is with
/// the placeholder in place.
pub fn seal(doc: &str) -> String {
    let sum = digest(doc);
    doc.replacen(
        &format!("{SEAL_LABEL}{SEAL_PLACEHOLDER}"),
        &format!("{SEAL_LABEL}{sum}"),
        1,
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Intact,
    Modified,
    NoChecksum,
}

/// Checks a sealed document: its checksum must match its content.
pub fn verify(doc: &str) -> Verdict {
    let Some(i) = doc.rfind(SEAL_LABEL) else {
        return Verdict::NoChecksum;
    };
    let start = i + SEAL_LABEL.len();
    let Some(sum) = doc.get(start..start + 64) else {
        return Verdict::NoChecksum;
    };
    if !sum.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Verdict::NoChecksum;
    }
    let blanked = format!(
        "{}{}{}",
        &doc[..start],
        SEAL_PLACEHOLDER,
        &doc[start + 64..]
    );
    if digest(&blanked) == sum.to_ascii_lowercase() {
        Verdict::Intact
    } else {
        Verdict::Modified
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_document_verifies_and_any_edit_is_detected() {
        let doc = format!("Case RC-1\nLoss: 5 ETH\n{SEAL_LABEL}{SEAL_PLACEHOLDER}\nend\n");
        let sealed = seal(&doc);
        assert_ne!(sealed, doc);
        assert_eq!(verify(&sealed), Verdict::Intact);
        assert_eq!(
            verify(&sealed.replace("5 ETH", "50 ETH")),
            Verdict::Modified
        );
        assert_eq!(verify(&sealed.replace("end", "end.")), Verdict::Modified);
        assert_eq!(verify("no checksum here"), Verdict::NoChecksum);
    }

    #[test]
    fn time_zones_by_name_or_country() {
        assert_eq!(
            time_zone(Some("Asia/Shanghai"), None),
            Ok(Some(chrono_tz::Asia::Shanghai))
        );
        assert_eq!(time_zone(Some("Mars/Olympus"), None), Err(UnknownZone));
        let cn = Country::parse("CN");
        assert_eq!(
            time_zone(None, cn.as_ref()),
            Ok(Some(chrono_tz::Asia::Shanghai))
        );
        let us = Country::parse("US");
        assert_eq!(
            time_zone(None, us.as_ref()),
            Ok(None),
            "several zones: UTC only"
        );
    }
}
