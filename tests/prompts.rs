//! Every template renders in both languages, for a full case and a minimal one, through every
//! branch, with no template syntax or empty values left in the text.

mod common;

use chrono::Duration;
use common::samples::{full_case, full_events, minimal_case, t0};
use minijinja::{Value, context};
use recourse::config::Community;
use recourse::core::authorities::Directory;
use recourse::core::identity::Locale;
use recourse::core::ladder::Ladder;
use recourse::core::steps::AuthorityView;
use recourse::core::views::{CaseView, CommunityView, EventView};
use recourse::prompts::{PromptKey, Prompts};

fn variants(key: PromptKey) -> Vec<Value> {
    let each = |name: &str, values: &[&str]| -> Vec<Value> {
        values
            .iter()
            .map(|v| Value::from_serialize(std::collections::BTreeMap::from([(name, *v)])))
            .collect()
    };
    match key {
        PromptKey::IntakeQuestion => {
            let mut v = Vec::new();
            for q in [
                "language",
                "wallet",
                "how",
                "chain",
                "amount",
                "evidence",
                "noticed",
                "contacted",
                "country",
            ] {
                v.push(context! { question => q, first => q == "language" });
            }
            v
        }
        PromptKey::BadValue => each(
            "field",
            &[
                "pair", "key", "language", "how", "chain", "date", "country", "empty", "too_long",
                "other",
            ],
        ),
        PromptKey::EvidenceError => each(
            "error",
            &[
                "looks_like_address",
                "looks_like_tx_hash",
                "bad_checksum",
                "too_long",
                "empty",
                "wrong_shape",
            ],
        ),
        PromptKey::ModNotice => each(
            "what",
            &[
                "new_case",
                "reminder",
                "public_post",
                "complaint",
                "authorities",
                "freeze_request",
                "scam_flagged",
                "secret_deleted",
                "delete_failed",
                "unreachable",
                "checklist",
            ],
        ),
        PromptKey::ModDone => {
            let mut v: Vec<Value> = ["already_held", "not_held", "no_post", "ladder_done"]
                .iter()
                .map(|n| context! { noop => n, action => "held" })
                .collect();
            for a in [
                "claimed",
                "noted",
                "held",
                "resumed",
                "advanced",
                "post_approved",
                "post_rejected",
                "closed",
            ] {
                v.push(context! { noop => false, action => a });
            }
            v
        }
        PromptKey::VictimUpdate => each(
            "what",
            &[
                "post_published",
                "post_rejected",
                "closed",
                "held",
                "resumed",
            ],
        ),
        PromptKey::SecretRefused => vec![context! { public => true }, context! { public => false }],
        PromptKey::Usage => each(
            "command",
            &[
                "note", "case", "claim", "hold", "resume", "advance", "approve", "reject", "close",
                "evidence", "lang", "as", "wait", "press", "other",
            ],
        ),
        PromptKey::ReportCreated => vec![
            context! { new => true, checklist => true },
            context! { new => true, checklist => false },
            context! { new => false },
        ],
        PromptKey::Unresolved => vec![
            context! { no_reply => true },
            context! { no_reply => false },
        ],
        PromptKey::IntakeCancelled => vec![context! {}, context! { nothing => true }],
        PromptKey::Contacted => vec![
            context! { follow_up => true },
            context! { follow_up => false },
        ],
        PromptKey::Help => vec![
            context! { moderator => true, in_intake => true },
            context! { moderator => false, in_intake => false },
        ],
        PromptKey::LocaleSet => vec![
            context! { case => Value::from(()) },
            context! { case => "RC-7K3MQ-9XT2H" },
        ],
        PromptKey::EvidenceDone => each("action", &["added", "removed", "duplicate", "missing"]),
        PromptKey::WhichChain => vec![context! {}, context! { case_id => "RC-7K3MQ-9XT2H" }],
        PromptKey::ScamWarning => {
            let mut v = Vec::new();
            for c in [
                "recovery_offer",
                "hacker_service",
                "dm_solicitation",
                "fake_support",
                "upfront_fee",
            ] {
                v.push(context! { category => c, deleted => true });
                v.push(context! { category => c, deleted => false });
            }
            v
        }
        PromptKey::AuthorityList => vec![
            context! { country => Value::from(()) },
            context! { country => "US" },
        ],
        PromptKey::EventLine => full_events()
            .iter()
            .map(|e| context! { e => EventView::from(e) })
            .collect(),
        PromptKey::DossierMarkdown | PromptKey::DossierHtml | PromptKey::Export => vec![
            context! { tz => Value::from(()), generated_local => Value::from(()), related => () },
            context! { tz => "Asia/Shanghai", related => context! { others => 2, consent => (), shared => vec![context! { text => "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", url => "https://etherscan.io/address/0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed" }] } },
            context! { tz => "Asia/Shanghai", related => context! { others => 1, consent => true, shared => Vec::<Value>::new() } },
        ],
        PromptKey::CommandMenu => {
            use recourse::core::message::Place;
            let mut names: Vec<&str> = Vec::new();
            for p in [Place::Private, Place::Community, Place::Moderators] {
                names.extend(recourse::core::command::menu(p));
            }
            each("c", &names)
        }
        PromptKey::Button => {
            let mut v = each(
                "b",
                &[
                    "skip",
                    "done",
                    "report",
                    "help",
                    "report_privately",
                    "open_private",
                    "claim",
                    "approve",
                    "reject",
                    "hold",
                    "resume",
                    "advance",
                    "close",
                    "case",
                    "consent_yes",
                    "consent_no",
                ],
            );
            for k in recourse::core::case::TheftKind::ALL {
                v.push(context! { b => "how", k => k.key() });
            }
            v
        }
        PromptKey::ModCard => {
            let mut v = Vec::new();
            for post in [false, true] {
                for a in [
                    "claimed",
                    "held",
                    "resumed",
                    "advanced",
                    "post_approved",
                    "post_rejected",
                    "closed",
                ] {
                    v.push(context! { post => post, last => context! { action => a, by => "mo", platform => "discord", at => "2026-12-03 14:02 UTC" } });
                }
            }
            v
        }
        PromptKey::GoPrivate => each("what", &["report", "moderator", "case"]),
        PromptKey::Offer => vec![context! { theft => true }, context! { theft => false }],
        PromptKey::ButtonStale => each("what", &["case", "intake", "expired"]),
        PromptKey::ClusterNotice => {
            let cluster = |totals: Vec<Value>| {
                context! { cluster => cluster_view(totals), address => "0x5aAe…eAed" }
            };
            vec![
                cluster(vec![context! { asset => "ETH", amount => "2" }]),
                cluster(vec![]),
            ]
        }
        PromptKey::ClusterVictim => vec![
            context! { case => "RC-7K3MQ-9XT2H", others => 1, consent => () },
            context! { case => "RC-7K3MQ-9XT2H", others => 4, consent => true },
            context! { case => "RC-7K3MQ-9XT2H", others => 2, consent => false },
        ],
        PromptKey::Consent => vec![
            context! { yes => true, again => false },
            context! { yes => false, again => true },
        ],
        PromptKey::Clusters => vec![
            context! { clusters => vec![cluster_view(vec![context! { asset => "USDT", amount => "5000" }])], one => true },
            context! { clusters => vec![cluster_view(vec![])], one => true, joints => vec![
                context! { id => "JC-7K3MQ9XT", status => "pending", at => "2026-11-20 09:30 UTC", by => "mo (discord)", decided_at => (), decided_by => (), reason => (), cases => 2 },
                context! { id => "JC-7K3MQ9XU", status => "rejected", at => "2026-11-20 09:30 UTC", by => "mo (discord)", decided_at => "2026-11-21 09:30 UTC", decided_by => "ann (telegram)", reason => "wrong address", cases => 2 },
            ] },
            context! { clusters => vec![cluster_view(vec![])], one => false },
            context! { clusters => Vec::<Value>::new(), one => false },
            context! { unknown => "0x5aAe…eAed", one => true },
        ],
        PromptKey::Unlinked => vec![
            context! { address => "0x5aAe…eAed" },
            context! { missing => "0x5aAe…eAed" },
        ],
        PromptKey::Joint => {
            let joint = |status: &str, reason: Option<&str>| {
                context! {
                    id => "JC-7K3MQ9XT", status => status, at => "2026-11-20 09:30 UTC",
                    by => "mo (discord)", cases => 2,
                    decided_at => (status != "pending").then_some("2026-11-21 10:00 UTC"),
                    decided_by => (status != "pending").then_some("ann (telegram)"),
                    reason => reason,
                }
            };
            vec![
                context! { what => "unknown", target => "CL-XXXXXX" },
                context! { what => "pending", joint => joint("pending", None), cluster => "CL-9KWDQJ" },
                context! { what => "none_consenting", cluster => "CL-9KWDQJ", cases => 3 },
                context! { what => "drafted", joint => joint("pending", None), cluster => "CL-9KWDQJ", cases => 3 },
                context! { what => "notice", joint => joint("pending", None), cluster => "CL-9KWDQJ", cases => 3, listed => vec!["RC-7K3MQ-9XT2H", "RC-00000-11111"] },
                context! { what => "notice", joint => joint("approved", None), cluster => "CL-9KWDQJ" },
                context! { what => "notice", joint => joint("rejected", Some("wrong address")), cluster => "CL-9KWDQJ" },
                context! { what => "decided", joint => joint("approved", None) },
                context! { what => "consent_changed", joint => joint("pending", None), cluster => "CL-9KWDQJ", withdrawn => vec!["RC-7K3MQ-9XT2H"] },
                context! { what => "done", joint => joint("approved", None), cluster => "CL-9KWDQJ" },
                context! { what => "done", joint => joint("rejected", None), cluster => "CL-9KWDQJ" },
            ]
        }
        PromptKey::JointLetter | PromptKey::JointReport => {
            let listed = |first_contact: Option<&str>, silence: Option<&str>| {
                context! {
                    id => "RC-7K3MQ-9XT2H", amount => "5000 USDT", asset => "USDT", chain => "Ethereum",
                    txs => vec![context! { text => "0x5c50…2060", url => "https://etherscan.io/tx/0x5c50" }],
                    first_contact => first_contact, silence => silence, platform => "telegram",
                }
            };
            let shared = vec![
                context! { text => "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", short => "0x5aAe…eAed", url => "https://etherscan.io/address/0x5aAe" },
            ];
            vec![
                context! { company => "TokenPocket", cluster => "CL-9KWDQJ", cases => vec![listed(Some("2026-11-20 09:30 UTC"), Some("9d 2h")), listed(None, None)], shared => shared.clone(), totals => vec![context! { asset => "USDT", amount => "5000" }], countries => vec!["GB", "CN"], today => "2026-12-01 09:00 UTC" },
                context! { company => "your wallet provider", cluster => "CL-9KWDQJ", cases => vec![listed(None, None)], shared => shared, totals => Vec::<Value>::new(), countries => Vec::<String>::new(), today => "2026-12-01 09:00 UTC" },
            ]
        }
        PromptKey::JointVictim => vec![
            context! { joint => "JC-7K3MQ9XT", others => 1, letter => "To the management…", report => "Joint report…" },
            context! { joint => "JC-7K3MQ9XT", others => 3, letter => "致管理层…", report => "联名报案…" },
        ],
        PromptKey::Stats | PromptKey::StatsPost => {
            let fig = |reported: i64, silent: bool| {
                context! {
                    company => "TokenPocket", reported => reported, contacted => reported, answered => 2,
                    answered_pct => (reported > 0).then_some(40), still_silent => 3,
                    longest_silence_days => Some(40), median => (reported > 0).then_some("9d"),
                    median_silent => silent, p90 => (reported > 0).then_some("40d"), p90_silent => true,
                    public_pct => 20, complaint_pct => 40, authorities_pct => 0, resolved_pct => 20,
                }
            };
            let row = |enough: bool, recent: i64| {
                context! { name => "TokenPocket", enough => enough, all => fig(5, true), recent => fig(recent, false) }
            };
            let mut tables = vec![
                context! { rows => vec![row(true, 5), row(false, 0)], hidden => 1, min => 5, moderator => true, one => false, days => 30, month => "2026-12" },
                context! { rows => vec![row(true, 2)], hidden => 2, min => 5, moderator => false, one => false, days => 30, month => "2026-12" },
                context! { rows => vec![row(true, 5)], hidden => 0, min => 5, moderator => false, one => true, days => 30, month => "2026-12" },
                context! { rows => Vec::<Value>::new(), hidden => 3, min => 5, moderator => false, one => false, days => 30, month => "2026-12" },
                context! { rows => Vec::<Value>::new(), hidden => 0, min => 5, moderator => false, one => false, days => 30, month => "2026-12" },
            ];
            if key == PromptKey::StatsPost {
                return tables;
            }
            tables.extend([
                context! { not_enough => "imToken", min => 5 },
                context! { unknown => "ST-2026-13" },
                context! { decided => "ST-2026-12", status => "approved", by => "mo (discord)", at => "2026-12-01 10:00 UTC" },
                context! { done => "ST-2026-12", approved => true, month => "2026-12" },
                context! { done => "ST-2026-12", approved => false, month => "2026-12" },
                context! { exported => 3 },
                context! { exported => 1 },
            ]);
            tables
        }
        PromptKey::StatsNotice => vec![
            context! { id => "ST-2026-12", month => "2026-12", status => "pending", by => (), at => (), reason => () },
            context! { id => "ST-2026-12", month => "2026-12", status => "approved", by => "mo (discord)", at => "2026-12-01 10:00 UTC", reason => () },
            context! { id => "ST-2026-12", month => "2026-12", status => "rejected", by => "mo (discord)", at => "2026-12-01 10:00 UTC", reason => "too early" },
        ],
        PromptKey::ConsoleAs => vec![
            context! { moderator => true },
            context! { moderator => false },
        ],
        _ => vec![context! {}],
    }
}

/// A cluster as `/clusters` shows it.
fn cluster_view(totals: Vec<Value>) -> Value {
    context! {
        id => "CL-9KWDQJ",
        cases => 3,
        consenting => 1,
        shared => vec![context! { text => "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", short => "0x5aAe…eAed", url => "https://etherscan.io/address/0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed" }],
        totals => totals,
        platforms => vec!["telegram", "discord"],
        oldest => "2026-11-20 09:30 UTC",
        longest_silence => "3d 4h",
        members => vec![
            context! { id => "RC-7K3MQ-9XT2H", status => "open", silence => "3d 4h", platform => "telegram", consent => true, joined => "2026-11-20 09:30 UTC" },
            context! { id => "RC-8NQNV-CTYTV", status => "resolved", silence => (), platform => "discord", consent => (), joined => "2026-11-21 09:30 UTC" },
        ],
        joins => vec![context! { at => "2026-11-20 09:30 UTC", case => "RC-7K3MQ-9XT2H", address => "0x5aAe…eAed" }],
    }
}

fn base(case: &recourse::core::case::Case, locale: Locale) -> Value {
    let ladder = Ladder::default();
    // The full case also gets a fully configured community; the minimal one gets none.
    let community = if case.report.wallet.is_some() {
        Community {
            name: Some("Example Wallet Users".into()),
            company: Some("Example Wallet".into()),
            support_email: Some("support@example.com".into()),
            ..Community::default()
        }
    } else {
        Community::default()
    };
    let now = t0() + Duration::days(5);
    let view = CaseView::new(case, &ladder, &community, locale, now);
    let (dir, errors) = Directory::builtin();
    assert!(errors.is_empty(), "{errors:?}");
    let authorities: Vec<AuthorityView> = dir
        .for_country(case.report.country.as_ref())
        .into_iter()
        .map(|a| AuthorityView::new(a, locale))
        .collect();
    let events: Vec<EventView> = full_events().iter().map(EventView::from).collect();
    context! {
        case => view.clone(),
        cases => vec![view],
        community => CommunityView::new(&community, locale),
        authorities => authorities,
        events => events,
        evidence => recourse::core::views::EvidenceView::new(&case.report),
        command => "note",
        max => 4000,
        kinds => vec!["mnemonic", "private_key"],
        public => false,
        name => "alice",
        platform => "telegram",
        value => "0x5aAe…eAed",
        field => "chain",
        error => "wrong_shape",
        chain => "Ethereum",
        number => 3,
        total => 9,
        chains => vec!["Ethereum", "BNB Smart Chain", "TRON"],
        first => false,
        question => "chain",
        txs => 1,
        addresses => 2,
        total_txs => 3,
        total_addresses => 4,
        new => true,
        checklist => true,
        follow_up => false,
        no_reply => false,
        what => "reminder",
        draft => "Unanswered theft report",
        occurrence => 1,
        step => "reminder",
        action => "claimed",
        noop => false,
        reason => "duplicate",
        in_intake => false,
        moderator => false,
        now => "2026-11-25 12:00 UTC",
        by => "3d",
        limit => 50,
        full => "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060",
        keys => vec!["eth", "bsc"],
        country => "US",
        messages => vec![context! { at => "2026-11-21 09:30 UTC", at_local => "2026-11-21 17:30 Asia/Shanghai", to => "victim", text => "Case RC-7K3MQ-9XT2H: support has been silent for 1d." }],
        tz => "Asia/Shanghai",
        generated => "2026-11-25 12:00 UTC",
        generated_local => "2026-11-25 20:00 Asia/Shanghai",
        sha256 => "0000000000000000000000000000000000000000000000000000000000000000",
        countries => vec!["US", "GB"],
        category => "recovery_offer",
        pattern => "recovered_with_help",
        link => "https://t.me/c/123/456",
        deleted => false,
        excerpt => "I recovered my stolen crypto with the help of …",
    }
}

fn merge(base: &Value, over: &Value) -> Value {
    let mut map: std::collections::BTreeMap<String, Value> = std::collections::BTreeMap::new();
    for v in [base, over] {
        if let Ok(keys) = v.try_iter() {
            for k in keys {
                let key = k.to_string();
                map.insert(key.clone(), v.get_attr(&key).unwrap_or_default());
            }
        }
    }
    Value::from_serialize(&map)
}

fn has_cjk(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

#[test]
fn every_template_renders_in_both_locales_for_full_and_minimal_cases() {
    let prompts = Prompts::new().expect("templates parse");
    let mut rendered = 0;
    for locale in Locale::ALL {
        for case in [full_case(), minimal_case()] {
            let base = base(&case, locale);
            for &key in PromptKey::ALL {
                for variant in variants(key) {
                    let ctx = merge(&base, &variant);
                    let text = prompts.render(locale, key, &ctx).unwrap_or_else(|e| {
                        panic!("{key:?}/{locale:?}: {e:#}\nvariant: {variant}")
                    });
                    let where_ = format!("{key:?}/{locale:?} {variant}:\n{text}");
                    assert!(!text.trim().is_empty(), "empty: {where_}");
                    for bad in ["{{", "}}", "{%", "%}", "undefined", "()", "（）"] {
                        assert!(!text.contains(bad), "{bad:?} left in {where_}");
                    }
                    let lower = text.replace("have none", "");
                    assert!(
                        !lower.contains("none"),
                        "a missing value printed as none: {where_}"
                    );
                    if locale == Locale::Zh {
                        assert!(has_cjk(&text), "not translated: {where_}");
                    }
                    rendered += 1;
                }
            }
        }
    }
    assert!(rendered > 300, "only {rendered} renders");
}

#[test]
fn checklist_follows_the_theft_kind() {
    use recourse::core::case::TheftKind;
    let prompts = Prompts::new().unwrap();
    let mut seen = std::collections::HashSet::new();
    for kind in TheftKind::ALL {
        let mut case = minimal_case();
        case.report.how = kind;
        for locale in Locale::ALL {
            let ctx = merge(&base(&case, locale), &context! { new => false });
            let text = prompts
                .render(locale, PromptKey::ReportCreated, &ctx)
                .unwrap();
            if locale == Locale::En {
                assert!(
                    seen.insert(text.clone()),
                    "{kind:?} has the same checklist as another kind"
                );
            }
        }
    }
    let mut case = minimal_case();
    case.report.how = TheftKind::SeedLeaked;
    let ctx = merge(&base(&case, Locale::En), &context! { new => false });
    let text = prompts
        .render(Locale::En, PromptKey::ReportCreated, &ctx)
        .unwrap();
    assert!(text.contains("NEW seed phrase"), "{text}");
}

#[test]
fn every_event_kind_is_described_in_both_languages() {
    use recourse::core::case::{Event, EventKind, EvidenceLabel, EvidenceValue};
    use recourse::core::evidence::{Address, Chain};
    let prompts = Prompts::new().unwrap();
    let mut kinds: Vec<EventKind> = full_events().into_iter().map(|e| e.kind).collect();
    let addr = Address::parse(Chain::Tron, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t").unwrap();
    kinds.extend([
        EventKind::PostApproved,
        EventKind::PostRejected {
            reason: Some("vague".into()),
        },
        EventKind::Advanced,
        EventKind::LocaleChanged { locale: Locale::Zh },
        EventKind::EvidenceAdded {
            value: EvidenceValue::Address(addr),
            label: EvidenceLabel::ExchangeDeposit,
        },
        EventKind::EvidenceRemoved { number: 2 },
        EventKind::Resolved,
        EventKind::Withdrawn,
        EventKind::Closed {
            reason: Some("duplicate".into()),
        },
        EventKind::DeliveryFailed {
            to: "webhook".into(),
            error: "webhook answered HTTP 400 Bad Request".into(),
        },
    ]);
    for kind in kinds {
        let name = kind.name();
        let view = EventView::from(&Event::new(t0(), common::samples::victim(), kind));
        for locale in Locale::ALL {
            let text = prompts
                .render(
                    locale,
                    PromptKey::EventLine,
                    &context! { e => view.clone() },
                )
                .unwrap();
            assert!(
                !text.trim().is_empty() && text.trim() != name,
                "{name}/{locale:?} not described: {text}"
            );
        }
    }
}
