//! Drafts that belong to no single case and wait for a moderator's decision, the way a case's
//! public post does: a joint complaint for a cluster's consenting cases, and the monthly
//! support-responsiveness post. The store decides each one once (see migration 0006).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::core::case::CaseId;
use crate::core::identity::Locale;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftStatus {
    Pending,
    Approved,
    Rejected,
}

impl DraftStatus {
    pub fn key(self) -> &'static str {
        match self {
            DraftStatus::Pending => "pending",
            DraftStatus::Approved => "approved",
            DraftStatus::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<DraftStatus> {
        Some(match s {
            "pending" => DraftStatus::Pending,
            "approved" => DraftStatus::Approved,
            "rejected" => DraftStatus::Rejected,
            _ => return None,
        })
    }
}

/// What a draft holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DraftBody {
    /// A joint complaint to the company's management and a joint report for the authorities,
    /// in the community's language, naming only the cases whose victims agreed.
    Joint {
        cluster: String,
        locale: Locale,
        letter: String,
        report: String,
        cases: Vec<CaseId>,
    },
    /// The monthly support-responsiveness post, for the public destinations.
    Stats { month: String, text: String },
}

impl DraftBody {
    pub fn kind(&self) -> &'static str {
        match self {
            DraftBody::Joint { .. } => "joint",
            DraftBody::Stats { .. } => "stats",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub id: String,
    /// What it is about: the cluster's ID, or the month.
    pub subject: String,
    pub status: DraftStatus,
    pub body: DraftBody,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub decided_at: Option<DateTime<Utc>>,
    /// "mo (discord)": who decided, and on which platform.
    pub decided_by: Option<String>,
    pub reason: Option<String>,
}

/// A joint complaint's ID: `JC-` and eight characters of the case IDs' alphabet (random, so
/// one cannot be guessed from another).
pub fn joint_id() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut s = String::from("JC-");
    for _ in 0..8 {
        s.push(ALPHABET[rand::random_range(0..ALPHABET.len())] as char);
    }
    s
}

/// A joint complaint's ID as typed (any case, spaces around), if it has the shape.
pub fn parse_joint_id(s: &str) -> Option<String> {
    let s = s.trim().to_uppercase();
    let rest = s.strip_prefix("JC-")?;
    (rest.len() == 8 && rest.chars().all(|c| c.is_ascii_alphanumeric())).then_some(s)
}

/// The monthly post's ID: one per month, so two instances draft it once.
pub fn stats_id(month: &str) -> String {
    format!("ST-{month}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joint_ids_are_random_and_parse_back() {
        let a = joint_id();
        assert_ne!(a, joint_id());
        assert_eq!(parse_joint_id(&a.to_lowercase()), Some(a.clone()));
        assert_eq!(parse_joint_id("JC-123"), None);
        assert_eq!(parse_joint_id("RC-12345-ABCDE"), None);
        assert_eq!(DraftStatus::parse("approved"), Some(DraftStatus::Approved));
        assert_eq!(
            DraftStatus::parse(DraftStatus::Pending.key()),
            Some(DraftStatus::Pending)
        );
    }
}
