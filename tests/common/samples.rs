//! Sample cases built through the real event fold, shared by the tests.

use chrono::{DateTime, Duration, TimeZone, Utc};
use recourse::core::authorities::Country;
use recourse::core::case::{
    Case, CaseId, Contact, ContactChannel, Event, EventKind, Report, TheftKind,
};
use recourse::core::evidence::{Address, Chain, TxHash};
use recourse::core::identity::{ActorRecord, ChatRef, Locale, UserRef};

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 9, 30, 0).unwrap()
}

pub fn victim() -> ActorRecord {
    ActorRecord {
        user: Some(UserRef::Console("victim".into())),
        name: "victim".into(),
        moderator: false,
    }
}

pub fn moderator() -> ActorRecord {
    ActorRecord {
        user: Some(UserRef::Console("mod".into())),
        name: "mod".into(),
        moderator: true,
    }
}

/// A case with every field filled and a long history: contacts, a reply, steps, a hold.
pub fn full_events() -> Vec<Event> {
    let report = Report {
        wallet: Some("MetaMask".into()),
        how: TheftKind::MaliciousApproval,
        chain: Some(Chain::Ethereum),
        asset: Some("USDT".into()),
        amount: Some("5000 USDT".into()),
        txs: vec![
            TxHash::parse(
                Chain::Ethereum,
                "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060",
            )
            .unwrap(),
        ],
        attackers: Vec::new(),
        company: None,
        addresses: vec![
            Address::parse(
                Chain::Ethereum,
                "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            )
            .unwrap(),
        ],
        noticed_at: Some(t0() - Duration::hours(2)),
        country: Country::parse("US"),
    };
    let at = |h: i64| t0() + Duration::hours(h);
    vec![
        Event::new(
            at(0),
            victim(),
            EventKind::Reported {
                id: CaseId::parse("RC-7K3MQ-9XT2H").unwrap(),
                reporter: UserRef::Console("victim".into()),
                chat: ChatRef::Console,
                locale: Locale::En,
                report: Box::new(report),
                contact: Some(Contact {
                    at: at(-1),
                    channel: Some(ContactChannel::Email),
                    reference: Some("#4411".into()),
                }),
            },
        ),
        Event::new(
            at(0),
            ActorRecord::system(),
            EventKind::StepTaken {
                step: "checklist".into(),
                occurrence: 0,
                kind: None,
            },
        ),
        Event::new(
            at(23),
            victim(),
            EventKind::SupportContacted(Contact {
                at: at(23),
                channel: Some(ContactChannel::Ticket),
                reference: Some("T-99".into()),
            }),
        ),
        Event::new(
            at(24),
            ActorRecord::system(),
            EventKind::StepTaken {
                step: "reminder".into(),
                occurrence: 0,
                kind: None,
            },
        ),
        Event::new(
            at(30),
            victim(),
            EventKind::SupportReplied {
                summary: Some("asked for a screenshot".into()),
            },
        ),
        Event::new(at(31), victim(), EventKind::ReplyUnresolved),
        Event::new(at(32), moderator(), EventKind::Claimed),
        Event::new(
            at(33),
            moderator(),
            EventKind::Noted {
                text: "victim is responsive".into(),
            },
        ),
        Event::new(
            at(34),
            moderator(),
            EventKind::Held {
                reason: Some("checking facts".into()),
            },
        ),
        Event::new(at(36), moderator(), EventKind::Resumed),
        Event::new(
            at(103),
            ActorRecord::system(),
            EventKind::StepTaken {
                step: "public_post".into(),
                occurrence: 0,
                kind: None,
            },
        ),
        Event::new(
            at(103),
            ActorRecord::system(),
            EventKind::PostDrafted {
                text: "Unanswered theft report".into(),
                step: Some("public_post#0".into()),
            },
        ),
    ]
}

pub fn full_case() -> Case {
    Case::from_events(&full_events()).unwrap()
}

/// A case reported with nothing but the required answers.
pub fn minimal_case() -> Case {
    let ev = Event::new(
        t0(),
        victim(),
        EventKind::Reported {
            id: CaseId::parse("RC-00000-11111").unwrap(),
            reporter: UserRef::Console("victim".into()),
            chat: ChatRef::Console,
            locale: Locale::En,
            report: Box::default(),
            contact: None,
        },
    );
    Case::opened(&ev).unwrap()
}
