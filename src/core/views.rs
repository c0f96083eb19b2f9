//! What templates see: cases, queue rows and timelines flattened into plain values, with
//! times and durations formatted for the reader's language.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::core::case::{Case, Event, EvidenceLabel, EvidenceValue};
use crate::core::identity::Locale;
use crate::core::ladder::Ladder;
use crate::core::policy::Community;

pub fn fmt_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A time in a named zone: "2026-11-20 17:30 Asia/Shanghai".
pub fn fmt_local(t: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    format!(
        "{} {}",
        t.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
        tz.name()
    )
}

/// "3d 4h", "5h 12m", "12m" / "3天4小时"; the two largest units only.
pub fn fmt_duration(locale: Locale, d: chrono::Duration) -> String {
    let mins = d.num_minutes().max(0);
    let (days, hours, minutes) = (mins / 1440, (mins / 60) % 24, mins % 60);
    let (d_, h_, m_, under) = match locale {
        Locale::En => ("d", "h", "m", "under a minute"),
        Locale::Zh => ("天", "小时", "分钟", "不到1分钟"),
    };
    let sep = if locale == Locale::En { " " } else { "" };
    let parts: Vec<String> = if days > 0 {
        vec![format!("{days}{d_}"), format!("{hours}{h_}")]
    } else if hours > 0 {
        vec![format!("{hours}{h_}"), format!("{minutes}{m_}")]
    } else if minutes > 0 {
        vec![format!("{minutes}{m_}")]
    } else {
        return under.to_string();
    };
    parts
        .into_iter()
        .filter(|p| !p.starts_with('0'))
        .collect::<Vec<_>>()
        .join(sep)
}

#[derive(Debug, Clone, Serialize)]
pub struct LinkView {
    pub text: String,
    pub short: String,
    pub url: String,
    pub chain: String,
    /// `/evidence` number and label, for evidence on a case (0 and "unlabeled" in the intake).
    pub number: u32,
    pub label: String,
    pub added: String,
}

impl LinkView {
    fn of(value: &EvidenceValue, number: u32, label: EvidenceLabel, added: String) -> LinkView {
        let (text, short, url, chain) = match value {
            EvidenceValue::Tx(t) => (
                t.as_str().to_string(),
                shorten(t.as_str()),
                t.explorer_url(),
                t.chain(),
            ),
            EvidenceValue::Address(a) => (
                a.as_str().to_string(),
                a.short(),
                a.explorer_url(),
                a.chain(),
            ),
        };
        LinkView {
            text,
            short,
            url,
            chain: chain.display_name().to_string(),
            number,
            label: label.key().to_string(),
            added,
        }
    }
}

/// A report's transactions and addresses, each with its explorer link.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceView {
    pub txs: Vec<LinkView>,
    pub addresses: Vec<LinkView>,
}

impl EvidenceView {
    /// The evidence collected so far in an intake.
    pub fn new(r: &crate::core::case::Report) -> EvidenceView {
        let link = |v: EvidenceValue| LinkView::of(&v, 0, EvidenceLabel::Unlabeled, String::new());
        EvidenceView {
            txs: r
                .txs
                .iter()
                .cloned()
                .map(EvidenceValue::Tx)
                .map(link)
                .collect(),
            addresses: r
                .addresses
                .iter()
                .cloned()
                .map(EvidenceValue::Address)
                .map(link)
                .collect(),
        }
    }

    /// A case's evidence, numbered and labelled.
    pub fn of_case(case: &Case) -> EvidenceView {
        let mut view = EvidenceView {
            txs: Vec::new(),
            addresses: Vec::new(),
        };
        for e in &case.evidence {
            let link = LinkView::of(&e.value, e.number, e.label, fmt_time(e.added_at));
            match e.value {
                EvidenceValue::Tx(_) => view.txs.push(link),
                EvidenceValue::Address(_) => view.addresses.push(link),
            }
        }
        view
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ContactView {
    pub at: String,
    pub channel: Option<String>,
    pub reference: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReplyView {
    pub at: String,
    pub summary: Option<String>,
    pub unresolved: bool,
}

/// A case as templates see it.
#[derive(Debug, Clone, Serialize)]
pub struct CaseView {
    pub id: String,
    pub reporter: String,
    pub platform: String,
    pub wallet: Option<String>,
    pub how: String,
    pub chain: Option<String>,
    pub asset: Option<String>,
    pub amount: Option<String>,
    pub txs: Vec<LinkView>,
    pub addresses: Vec<LinkView>,
    pub noticed: Option<String>,
    pub country: Option<String>,
    pub created: String,
    pub status: String,
    pub ended: Option<String>,
    pub contacts: Vec<ContactView>,
    pub first_contact: Option<String>,
    pub replies: Vec<ReplyView>,
    pub clock_running: bool,
    pub clock_assumed: bool,
    pub silence: Option<String>,
    pub silence_since: Option<String>,
    pub silence_days: i64,
    pub step: Option<String>,
    pub next_step: Option<String>,
    pub next_due: Option<String>,
    pub next_due_in: Option<String>,
    pub held: bool,
    pub hold_by: Option<String>,
    pub claimed_by: Option<String>,
    pub pending_post: Option<String>,
    /// The company to address: the wallet the victim named, the community's company, or a
    /// neutral phrase in the reader's language.
    pub company: String,
    pub company_known: bool,
}

impl CaseView {
    pub fn new(
        case: &Case,
        ladder: &Ladder,
        community: &Community,
        locale: Locale,
        now: DateTime<Utc>,
    ) -> CaseView {
        let r = &case.report;
        let evidence = EvidenceView::of_case(case);
        let silence = case.clock.silence(now);
        let due = ladder.next_due(case);
        let last_kind = case
            .progress
            .last()
            .and_then(|k| ladder.index_of(k))
            .map(|i| ladder.step(i).kind.key().to_string());
        CaseView {
            id: case.id.to_string(),
            reporter: case.reporter_name.clone(),
            platform: case.reporter.platform().key().to_string(),
            wallet: r.wallet.clone(),
            how: r.how.key().to_string(),
            chain: r.chain.map(|c| c.display_name().to_string()),
            asset: r.asset.clone(),
            amount: r.amount.clone(),
            txs: evidence.txs,
            addresses: evidence.addresses,
            noticed: r.noticed_at.map(fmt_time),
            country: r.country.as_ref().map(|c| c.code().to_string()),
            created: fmt_time(case.created_at),
            status: case.status.key().to_string(),
            ended: case.ended_at.map(fmt_time),
            contacts: case
                .contacts
                .iter()
                .map(|c| ContactView {
                    at: fmt_time(c.at),
                    channel: c.channel.map(|ch| ch.key().to_string()),
                    reference: c.reference.clone(),
                })
                .collect(),
            first_contact: case.contacts.first().map(|c| fmt_time(c.at)),
            replies: case
                .replies
                .iter()
                .map(|r| ReplyView {
                    at: fmt_time(r.at),
                    summary: r.summary.clone(),
                    unresolved: r.unresolved,
                })
                .collect(),
            clock_running: case.clock.since.is_some(),
            clock_assumed: case.clock.assumed,
            silence: silence.map(|d| fmt_duration(locale, d)),
            silence_since: case.clock.since.map(fmt_time),
            silence_days: silence.map(|d| d.num_days()).unwrap_or(0),
            step: last_kind,
            next_step: due.map(|d| ladder.step(d.index).kind.key().to_string()),
            next_due: due.map(|d| fmt_time(d.at)),
            next_due_in: due.map(|d| fmt_duration(locale, d.at - now)),
            held: case.hold.is_some(),
            hold_by: case.hold.as_ref().map(|h| h.by.clone()),
            claimed_by: case.claimed_by.clone(),
            pending_post: case.pending_post.as_ref().map(|p| p.text.clone()),
            company: company(case, community, locale),
            company_known: r.wallet.is_some() || community.company.is_some(),
        }
    }
}

fn company(case: &Case, community: &Community, locale: Locale) -> String {
    case.report
        .wallet
        .clone()
        .or_else(|| community.company.clone())
        .unwrap_or_else(|| match locale {
            Locale::En => "your wallet provider".to_string(),
            Locale::Zh => "钱包服务商".to_string(),
        })
}

/// "0x5aAe…eAed": enough to recognise, too little to copy by mistake.
pub fn shorten(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= 14 {
        return s.to_string();
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

#[derive(Debug, Clone, Serialize)]
pub struct CommunityView {
    pub name: String,
    pub company: String,
    pub support_email: Option<String>,
    pub support_url: Option<String>,
    pub support_social: Option<String>,
}

impl CommunityView {
    pub fn new(c: &Community, locale: Locale) -> Self {
        let (name, company) = match locale {
            Locale::En => ("this community", "your wallet provider"),
            Locale::Zh => ("本社区", "钱包服务商"),
        };
        CommunityView {
            name: c.name.clone().unwrap_or_else(|| name.to_string()),
            company: c.company.clone().unwrap_or_else(|| company.to_string()),
            support_email: c.support_email.clone(),
            support_url: c.support_url.clone(),
            support_social: c.support_social.clone(),
        }
    }
}

/// One line of a case's timeline.
#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    pub at: String,
    /// The same instant in the victim's time zone, when one is known (the dossier).
    pub at_local: Option<String>,
    /// What happened, in words (rendered from the `event_line` template).
    pub description: String,
    pub actor: String,
    pub moderator: bool,
    pub system: bool,
    pub kind: String,
    pub data: serde_json::Value,
}

impl From<&Event> for EventView {
    fn from(ev: &Event) -> Self {
        EventView {
            at: fmt_time(ev.at),
            at_local: None,
            description: String::new(),
            actor: ev.actor.name.clone(),
            moderator: ev.actor.moderator,
            system: ev.actor.is_system(),
            kind: ev.kind.name().to_string(),
            data: serde_json::to_value(&ev.kind).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        let d = |m: i64| chrono::Duration::minutes(m);
        assert_eq!(fmt_duration(Locale::En, d(0)), "under a minute");
        assert_eq!(fmt_duration(Locale::En, d(12)), "12m");
        assert_eq!(fmt_duration(Locale::En, d(60)), "1h");
        assert_eq!(fmt_duration(Locale::En, d(3 * 1440 + 4 * 60 + 5)), "3d 4h");
        assert_eq!(fmt_duration(Locale::Zh, d(3 * 1440 + 4 * 60)), "3天4小时");
        assert_eq!(fmt_duration(Locale::Zh, d(1440)), "1天");
    }

    #[test]
    fn shortens_long_values_only() {
        assert_eq!(
            shorten("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
            "0x5aAe…eAed"
        );
        assert_eq!(shorten("short"), "short");
    }
}
