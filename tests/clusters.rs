//! Clusters end to end through the real engine and store, on SQLite and PostgreSQL: cases that
//! name the same attacker address join, directly and through other cases; a victim's own
//! address never links; moderators list, inspect and unlink; victims hear a count only and
//! answer the joint-complaint question with a button or `/consent`.

mod common;

use common::*;
use recourse::core::identity::{Actor, ChatRef};
use recourse::core::message::{Does, Incoming, Input, Place};
use recourse::core::ports::OutboxItem;

/// Checksummed EVM addresses (EIP-55 test vectors).
const THIEF: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
const MIXER: &str = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359";
const OTHER: &str = "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB";
const VICTIM: &str = "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb";

fn cluster_notices(out: &[OutboxItem]) -> Vec<String> {
    to_mods(out)
        .into_iter()
        .filter(|m| m.contains("cluster CL-"))
        .collect()
}

/// Presses the button labelled `label` on the first message to `name` that has one.
async fn press(app: &App, who: &Actor, out: &[OutboxItem], label: &str) -> String {
    let token = out
        .iter()
        .filter(|i| to_user(std::slice::from_ref(i), &who.name).len() == 1)
        .flat_map(|i| i.meta.buttons.iter())
        .find(|b| b.label.contains(label))
        .map(|b| match &b.does {
            Does::Press { token } => token.clone(),
            other => panic!("not a press: {other:?}"),
        })
        .unwrap_or_else(|| panic!("no button {label} for {}", who.name));
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
    let h = app.input(&msg).await;
    h.answers()
        .map(|o| o.text.clone())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn cases_naming_one_thief_join_directly_and_through_others(url: &str) {
    let app = App::new(url).await;
    let (alice, bob, carol, mo) = (
        person("alice"),
        person("bob"),
        person("carol"),
        moderator("mo"),
    );
    let a = app
        .report(
            &alice,
            &format!(r#"chain=eth amount="1.2 ETH" attacker={THIEF}"#),
        )
        .await;
    let out = app.deliver().await;
    assert!(cluster_notices(&out).is_empty(), "one case is no cluster");
    // The same address on another EVM chain, in lower case: the same thief.
    let b = app
        .report(
            &bob,
            &format!(
                r#"chain=bsc amount="0.8 ETH" attacker={} address={MIXER}"#,
                THIEF.to_lowercase()
            ),
        )
        .await;
    let out = app.deliver().await;
    let notices = cluster_notices(&out);
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].contains(&b) && notices[0].contains("now has 2 cases"),
        "{}",
        notices[0]
    );
    assert!(notices[0].contains("2 ETH taken"), "totals: {}", notices[0]);
    assert!(
        notices[0].contains("0x5aAe…eAed"),
        "short address: {}",
        notices[0]
    );
    // Both victims hear of it once, as a count, with nothing of the other's case.
    for (who, own, other) in [(&bob, &b, &a), (&alice, &a, &b)] {
        let told = to_user(&out, &who.name).join("\n");
        assert!(
            told.contains("1 other report names"),
            "{}: {told}",
            who.name
        );
        assert!(told.contains(own.as_str()), "{told}");
        for leak in [other.as_str(), "alice", "bob", "0.8", "1.2"] {
            assert!(!told.contains(leak), "{} was told {leak}: {told}", who.name);
        }
    }
    assert_eq!(load(&app, &a).await.cluster_size, 2);
    // Carol names another address; Bob later adds it as where his funds moved: Carol joins
    // the cluster through Bob.
    let c = app
        .report(
            &carol,
            &format!(r#"chain=eth amount="500 USDT" attacker={OTHER}"#),
        )
        .await;
    assert!(cluster_notices(&app.deliver().await).is_empty());
    let r = app
        .say(&bob, &format!("/evidence add {b} {OTHER} movement"))
        .await;
    assert!(r.contains("Added #"), "{r}");
    let out = app.deliver().await;
    let notices = cluster_notices(&out);
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0].contains("now has 3 cases"), "{}", notices[0]);
    assert!(notices[0].contains("2 ETH + 500 USDT"), "{}", notices[0]);
    let carol_told = to_user(&out, "carol").join("\n");
    assert!(carol_told.contains("2 other reports name"), "{carol_told}");
    assert!(
        !carol_told.contains(&b) && !carol_told.contains(&a),
        "{carol_told}"
    );
    assert!(
        to_user(&out, "alice").is_empty(),
        "alice was told of her cluster already"
    );
    // Adding a second shared address between cases already together is no new join.
    app.say(&carol, &format!("/evidence add {c} {MIXER} attacker"))
        .await;
    assert!(cluster_notices(&app.deliver().await).is_empty());

    let list = app.say(&mo, "/clusters").await;
    assert!(
        list.contains("3 cases") && list.contains("0 consenting"),
        "{list}"
    );
    let cl_id = list
        .split_whitespace()
        .find(|w| w.starts_with("CL-"))
        .expect("cluster id")
        .to_string();
    for target in [cl_id.as_str(), a.as_str(), &THIEF.to_lowercase(), OTHER] {
        let one = app.say(&mo, &format!("/cluster {target}")).await;
        for id in [&a, &b, &c] {
            assert!(one.contains(id.as_str()), "/cluster {target}: {one}");
        }
        assert!(
            one.contains("Joins:") && one.contains("/address/0x"),
            "{one}"
        );
    }
    assert!(
        app.say(&alice, "/clusters")
            .await
            .contains("Only moderators can use")
    );
    let t = app.say(&mo, &format!("/case {c}")).await;
    assert!(t.contains("joined a cluster of 3 reports"), "{t}");
}

async fn a_victims_own_address_never_links(url: &str) {
    let app = App::new(url).await;
    let (erin, frank, mo) = (person("erin"), person("frank"), moderator("mo"));
    // Both list the address unlabelled, then as their own: no cluster.
    let e = app
        .report(&erin, &format!("chain=eth address={VICTIM}"))
        .await;
    let f = app
        .report(&frank, &format!("chain=eth address={VICTIM}"))
        .await;
    app.say(&erin, &format!("/evidence add {e} {VICTIM} victim"))
        .await;
    let r = app
        .say(&frank, &format!("/evidence add {f} {VICTIM} victim"))
        .await;
    assert!(r.contains("now labelled"), "{r}");
    assert!(cluster_notices(&app.deliver().await).is_empty());
    assert!(app.say(&mo, "/clusters").await.contains("No clusters yet"));
    // One of them relabels it as the thief's: still nothing, the other's is a victim address.
    app.say(&erin, &format!("/evidence add {e} {VICTIM} attacker"))
        .await;
    assert!(cluster_notices(&app.deliver().await).is_empty());
    // When both say it was the thief's, the relabelling joins them.
    app.say(&frank, &format!("/evidence add {f} {VICTIM} attacker"))
        .await;
    let notices = cluster_notices(&app.deliver().await);
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0].contains(&f), "{}", notices[0]);
}

async fn consent_is_asked_recorded_and_unlink_takes_an_address_out(url: &str) {
    let app = App::new(url).await;
    let (gus, hal, ivy, mo) = (person("gus"), person("hal"), person("ivy"), moderator("mo"));
    let g = app
        .report(&gus, &format!("chain=eth attacker={THIEF}"))
        .await;
    let h = app
        .report(&hal, &format!("chain=eth attacker={THIEF}"))
        .await;
    let out = app.deliver().await;
    let r = press(&app, &hal, &out, "Yes").await;
    assert!(r.contains("may include") && r.contains(&h), "{r}");
    assert_eq!(load(&app, &h).await.joint_consent, Some(true));
    let r = app.say(&gus, "/consent no").await;
    assert!(r.contains("stays out"), "{r}");
    assert_eq!(load(&app, &g).await.joint_consent, Some(false));
    assert!(
        app.say(&gus, "/consent maybe")
            .await
            .contains("Usage: /consent")
    );
    // Someone else's case cannot be answered for.
    assert!(
        app.say(&ivy, &format!("/consent {h} no"))
            .await
            .contains("can't find")
    );
    let one = app.say(&mo, &format!("/cluster {g}")).await;
    assert!(one.contains("1 consenting"), "{one}");
    assert!(
        one.contains("joint complaint: yes") && one.contains("joint complaint: no"),
        "{one}"
    );
    let t = app.say(&mo, &format!("/case {h}")).await;
    assert!(t.contains("agreed to a joint complaint"), "{t}");
    // Gus's dossier says a report shares his thief's address, and nothing of it.
    let h_out = app.handle(&gus, "/export", true).await;
    let md = h_out
        .out
        .iter()
        .find_map(|o| {
            o.attachment
                .as_ref()
                .filter(|a| a.filename.ends_with(".md"))
        })
        .expect("markdown dossier");
    let section = md
        .content
        .split("## Other reports naming the same addresses")
        .nth(1)
        .expect("the section")
        .split("\n## ")
        .next()
        .unwrap();
    assert!(section.contains("1 other report names"), "{section}");
    assert!(
        section.contains(THIEF) && section.contains("did not agree"),
        "{section}"
    );
    assert!(
        !md.content.contains(&h) && !md.content.contains("hal"),
        "{}",
        md.content
    );

    assert!(
        app.say(&hal, &format!("/unlink {h} {THIEF}"))
            .await
            .contains("Only moderators can use")
    );
    let r = app.say(&mo, &format!("/unlink {h} {MIXER}")).await;
    assert!(r.contains("has no attacker"), "{r}");
    let r = app
        .say(
            &mo,
            &format!("/unlink {h} {} Binance hot wallet", THIEF.to_lowercase()),
        )
        .await;
    assert!(r.contains("no longer links cases"), "{r}");
    assert!(app.say(&mo, "/clusters").await.contains("No clusters yet"));
    let t = app.say(&mo, &format!("/case {h}")).await;
    assert!(
        t.contains("unlinked") && t.contains("Binance hot wallet"),
        "{t}"
    );
    // A later report naming it joins nothing.
    app.report(&ivy, &format!("chain=eth attacker={THIEF}"))
        .await;
    assert!(cluster_notices(&app.deliver().await).is_empty());
    assert!(
        app.say(&mo, &format!("/cluster {THIEF}"))
            .await
            .contains("No cluster found")
    );
}

async fn chinese_victims_hear_of_a_cluster_in_chinese(url: &str) {
    let app = App::new(url).await;
    let (jin, kai) = (person("jin"), person("kai"));
    app.report(
        &jin,
        "lang=zh chain=tron attacker=TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
    )
    .await;
    app.report(
        &kai,
        "chain=tron attacker=TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
    )
    .await;
    let out = app.deliver().await;
    let told = to_user(&out, "jin").join("\n");
    assert!(told.contains("另有 1 份报告"), "{told}");
    assert!(to_user(&out, "kai").join("\n").contains("1 other report"));
    let r = app.say(&jin, "/consent 同意").await;
    assert!(r.contains("谢谢"), "{r}");
}

/// Runs raw statements on the test database, as an older release would have left it.
async fn exec(url: &str, statements: &[&str]) {
    macro_rules! run {
        ($pool:expr) => {{
            let pool = $pool;
            for s in statements {
                sqlx::query(s).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }};
    }
    if url.starts_with("postgres") {
        run!(sqlx::PgPool::connect(url).await.unwrap())
    } else {
        run!(
            sqlx::SqlitePool::connect(&format!("sqlite://{url}"))
                .await
                .unwrap()
        )
    }
}

async fn cases_filed_before_the_index_are_indexed_once_at_start(url: &str) {
    let (lea, max, mo) = (person("lea"), person("max"), moderator("mo"));
    let (l, m) = {
        let app = App::new(url).await;
        let l = app
            .report(&lea, &format!("chain=eth attacker={THIEF}"))
            .await;
        let m = app
            .report(&max, &format!("chain=eth attacker={THIEF}"))
            .await;
        app.store.close().await;
        (l, m)
    };
    // As a database from before migration 0005 would be, once migrated: no index rows.
    exec(
        url,
        &[
            "DELETE FROM case_links",
            "DELETE FROM settings WHERE key = 'schema/case_links_backfilled'",
        ],
    )
    .await;
    let app = App::new(url).await;
    let one = app.say(&mo, &format!("/cluster {l}")).await;
    assert!(one.contains(&l) && one.contains(&m), "{one}");
}

both_backends!(
    cases_filed_before_the_index_are_indexed_once_at_start,
    cases_naming_one_thief_join_directly_and_through_others,
    a_victims_own_address_never_links,
    consent_is_asked_recorded_and_unlink_takes_an_address_out,
    chinese_victims_hear_of_a_cluster_in_chinese,
);
