//! Joint complaints end to end through the real engine and store, on SQLite and PostgreSQL:
//! drafted from a cluster's consenting cases only, reviewed by moderators (buttons or
//! `/joint approve|reject`), sent to each consenting victim once approved, recorded on the
//! draft and on each member case; a victim changing their mind stops a draft being sent.

mod common;

use common::*;
use recourse::core::identity::{Actor, ChatRef};
use recourse::core::message::{Does, Incoming, Input, Op, Place};
use recourse::core::ports::{OutboxItem, Store};

const THIEF: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
const TX_A: &str = "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060";
const TX_B: &str = "0x8f0a1c6e4d1b2f3a4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3";
const TX_C: &str = "0x1111111111111111111111111111111111111111111111111111111111111111";

fn joint_id_in(text: &str) -> String {
    let i = text
        .find("JC-")
        .unwrap_or_else(|| panic!("no JC- in {text}"));
    text[i..i + 11].to_string()
}

/// Presses the button labelled `label` on any of `out` as `who`; returns the answer.
async fn press(app: &App, who: &Actor, out: &[OutboxItem], label: &str) -> String {
    let token = out
        .iter()
        .flat_map(|i| i.meta.buttons.iter())
        .find(|b| b.label == label)
        .map(|b| match &b.does {
            Does::Press { token } => token.clone(),
            other => panic!("not a press: {other:?}"),
        })
        .unwrap_or_else(|| panic!("no button {label}"));
    let msg = Incoming {
        actor: who.clone(),
        chat: ChatRef::Console,
        place: Place::Private,
        input: Input::Press(token),
        message: None,
        id: None,
        link: None,
        locale_hint: None,
    };
    app.input(&msg)
        .await
        .answers()
        .map(|o| o.text.clone())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn event_kinds(app: &App, id: &str) -> Vec<String> {
    let id = recourse::core::case::CaseId::parse(id).unwrap();
    app.store
        .events(&id)
        .await
        .unwrap()
        .iter()
        .map(|e| e.kind.name().to_string())
        .collect()
}

async fn a_joint_complaint_names_only_consenting_cases_and_reaches_only_them(url: &str) {
    let app = App::new(url).await;
    let (alice, bob, carol, dave, mo) = (
        person("alice"),
        person("bob"),
        person("carol"),
        person("dave"),
        moderator("mo"),
    );
    let a = app
        .report(
            &alice,
            &format!(
                r#"wallet=TokenPocket chain=eth amount="1.2 ETH" tx={TX_A} attacker={THIEF} contacted="2026-11-19 email""#
            ),
        )
        .await;
    let b = app
        .report(
            &bob,
            &format!(
                r#"wallet="TP Wallet" chain=eth amount="900 USDT" tx={TX_B} attacker={THIEF}"#
            ),
        )
        .await;
    let c = app
        .report(
            &carol,
            &format!(r#"chain=eth amount="7 ETH" tx={TX_C} attacker={THIEF}"#),
        )
        .await;
    let d = app
        .report(
            &dave,
            &format!(r#"chain=eth amount="3 ETH" attacker={THIEF}"#),
        )
        .await;
    app.deliver().await;
    // Nobody agreed yet: nothing to draft.
    let r = app.say(&mo, &format!("/joint {a}")).await;
    assert!(r.contains("has agreed to a joint complaint yet"), "{r}");
    assert!(
        app.say(&alice, &format!("/consent {a} yes"))
            .await
            .contains("may include")
    );
    assert!(
        app.say(&bob, &format!("/consent {b} yes"))
            .await
            .contains("may include")
    );
    assert!(
        app.say(&carol, &format!("/consent {c} no"))
            .await
            .contains("stays out")
    );
    // A victim cannot draft one.
    let r = app.say(&alice, &format!("/joint {a}")).await;
    assert!(r.contains("Only moderators"), "{r}");

    let r = app.say(&mo, &format!("/joint {d}")).await;
    assert!(r.contains("2 of 4 cases agreed"), "{r}");
    let jc = joint_id_in(&r);
    let out = app.deliver().await;
    let mods = to_mods(&out).join("\n");
    assert!(
        mods.contains(&jc) && mods.contains("To the management of TokenPocket"),
        "{mods}"
    );
    for named in [a.as_str(), b.as_str(), TX_A, TX_B, "1.2 ETH", "900 USDT"] {
        assert!(mods.contains(named), "the draft lacks {named}: {mods}");
    }
    assert!(
        mods.contains(&format!("https://etherscan.io/tx/{TX_A}")),
        "{mods}"
    );
    assert!(mods.contains("https://etherscan.io/address/"), "{mods}");
    // Carol said no and Dave never answered: neither appears, nor does any victim's name.
    for absent in [
        c.as_str(),
        d.as_str(),
        TX_C,
        "7 ETH",
        "3 ETH",
        "alice",
        "bob",
        "carol",
    ] {
        assert!(!mods.contains(absent), "the draft names {absent}: {mods}");
    }
    // Drafting told no victim anything; a second draft waits for the first.
    assert!(to_user(&out, "alice").is_empty() && to_user(&out, "carol").is_empty());
    let r = app.say(&mo, &format!("/joint {a}")).await;
    assert!(r.contains("already waits for a decision"), "{r}");
    assert!(
        event_kinds(&app, &a)
            .await
            .contains(&"joint_drafted".to_string())
    );
    assert!(
        !event_kinds(&app, &c)
            .await
            .contains(&"joint_drafted".to_string())
    );

    // Someone else pressing Approve is refused; the moderator's press sends it.
    let r = press(&app, &alice, &out, "Approve").await;
    assert!(r.contains("Only moderators"), "{r}");
    let r = press(&app, &mo, &out, "Approve").await;
    assert!(r.contains(&format!("Approved {jc}")), "{r}");
    let sent = app.deliver().await;
    for (who, own) in [(&alice, &a), (&bob, &b)] {
        let got = to_user(&sent, &who.name).join("\n");
        assert!(
            got.contains("approved a joint complaint"),
            "{}: {got}",
            who.name
        );
        assert!(got.contains(own.as_str()) && got.contains("To the management of TokenPocket"));
        assert!(
            got.contains("Joint report for the authorities")
                || got.contains("Joint report of theft")
        );
    }
    for who in [&carol, &dave] {
        assert!(
            to_user(&sent, &who.name).is_empty(),
            "{} was sent it",
            who.name
        );
    }
    // The moderators' notice is edited to show the decision.
    let edits: Vec<_> = sent
        .iter()
        .filter(|i| matches!(i.meta.op, Op::Edit { .. }))
        .filter(|i| i.text.contains(&jc))
        .collect();
    assert!(
        !edits.is_empty() && edits[0].text.contains("Approved by mo"),
        "{sent:?}"
    );
    assert!(edits[0].meta.buttons.is_empty());
    // A stale button acts no more.
    let r = press(&app, &mo, &out, "Approve").await;
    assert!(r.contains("was already approved by mo"), "{r}");
    assert!(app.deliver().await.iter().all(|i| {
        !to_user(std::slice::from_ref(i), "alice")
            .iter()
            .any(|t| t.contains("approved a joint"))
    }));
    let kinds = event_kinds(&app, &a).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "joint_decided").count(),
        1,
        "{kinds:?}"
    );
    assert_consistent(&app, &a).await;
    // The cluster's record shows the complaint.
    let r = app.say(&mo, &format!("/cluster {a}")).await;
    assert!(r.contains(&jc) && r.contains("approved by mo"), "{r}");

    // Bob changes his mind after a second draft: it is not sent, and can be rejected.
    let r = app.say(&mo, &format!("/joint {a}")).await;
    let jc2 = joint_id_in(&r);
    assert_ne!(jc2, jc);
    app.deliver().await;
    app.say(&bob, &format!("/consent {b} no")).await;
    let r = app.say(&mo, &format!("/joint approve {jc2}")).await;
    assert!(r.contains("Not sent") && r.contains(b.as_str()), "{r}");
    assert!(to_user(&app.deliver().await, "alice").is_empty());
    let r = app
        .say(&mo, &format!("/joint reject {jc2} bob withdrew"))
        .await;
    assert!(r.contains(&format!("Rejected {jc2}")), "{r}");
    assert!(
        event_kinds(&app, &b)
            .await
            .iter()
            .filter(|k| *k == "joint_decided")
            .count()
            == 2
    );
    let r = app.say(&mo, &format!("/joint {a}")).await;
    assert!(r.contains("1 of 4 cases agreed"), "{r}");
    // Nonsense is answered plainly.
    let r = app.say(&mo, "/joint approve JC-NOTAREAL").await;
    assert!(r.contains("No cluster or joint complaint"), "{r}");
    let r = app.say(&mo, "/joint").await;
    assert!(r.contains("Usage: /joint"), "{r}");
}

async fn a_joint_complaint_in_chinese(url: &str) {
    let mut settings = recourse::config::Settings::default();
    settings.community.public_locale = Some(recourse::core::identity::Locale::Zh);
    let app = App::with_settings(url, settings).await;
    let (wang, li, mo) = (person("wang"), person("li"), moderator("mo"));
    let a = app
        .report(
            &wang,
            &format!(r#"lang=zh wallet=tp钱包 chain=eth amount="2 ETH" attacker={THIEF}"#),
        )
        .await;
    let b = app
        .report(
            &li,
            &format!(r#"lang=zh wallet=TokenPocket chain=eth amount="1 ETH" attacker={THIEF}"#),
        )
        .await;
    app.deliver().await;
    app.say(&wang, &format!("/consent {a} 同意")).await;
    app.say(&li, &format!("/consent {b} 同意")).await;
    let r = app.say(&mo, &format!("/joint {a}")).await;
    let jc = joint_id_in(&r);
    let out = app.deliver().await;
    let mods = to_mods(&out).join("\n");
    assert!(
        mods.contains("致 TokenPocket 管理层") && mods.contains("联名"),
        "{mods}"
    );
    app.say(&mo, &format!("/joint approve {jc}")).await;
    let got = to_user(&app.deliver().await, "wang").join("\n");
    assert!(
        got.contains("管理员已批准一份联名投诉") && got.contains(&a),
        "{got}"
    );
}

both_backends!(
    a_joint_complaint_names_only_consenting_cases_and_reaches_only_them,
    a_joint_complaint_in_chinese,
);
