//! The commands end to end through the real engine and store, on SQLite and PostgreSQL:
//! intake, the clock, the ladder's timing, the moderator queue, refusals and bad input.

mod common;

use chrono::Duration;
use common::*;
use recourse::core::case::CaseId;
use recourse::core::message::Recipient;
use recourse::core::ports::Store;

const TX: &str = "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060";
const ADDR: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
const MNEMONIC: &str =
    "legal winner thank year wave sausage worth useful legal winner thank yellow";

async fn report_dialogue_files_a_case_with_the_checklist(url: &str) {
    let app = App::new(url).await;
    let alice = person("alice");
    let first = app.say(&alice, "/report").await;
    assert!(
        first.contains("(1/9)") && first.contains("seed phrase"),
        "{first}"
    );
    for answer in ["en", "MetaMask", "1", "ethereum", "2 ETH"] {
        let r = app.say(&alice, answer).await;
        assert!(r.contains("/9)"), "after {answer}: {r}");
    }
    let added = app.say(&alice, &format!("{TX} {ADDR}")).await;
    assert!(
        added.contains("Added 1 transaction(s) and 1 address(es)"),
        "{added}"
    );
    assert!(
        added.contains(&format!("https://etherscan.io/tx/{TX}")),
        "explorer link: {added}"
    );
    assert!(
        added.contains(&format!("https://etherscan.io/address/{ADDR}")),
        "{added}"
    );
    let bad = app.say(&alice, &ADDR.replace("BeAed", "BeAeD")).await;
    assert!(bad.contains("checksum"), "{bad}");
    app.say(&alice, "/done").await;
    app.say(&alice, "yesterday").await;
    app.say(&alice, "no").await;
    let done = app.say(&alice, "United Kingdom").await;
    let id = case_id_in(&done).expect("case id");
    assert!(
        done.contains("NEW seed phrase"),
        "seed-leak checklist: {done}"
    );
    assert!(
        done.contains("Subject: Urgent"),
        "first-contact message: {done}"
    );
    assert!(done.contains("recovery"), "recovery-scam warning: {done}");
    assert!(
        done.contains("reminder and follow-up message in 1d"),
        "what comes next: {done}"
    );
    let case = load(&app, &id).await;
    assert_eq!(case.report.txs.len(), 1);
    assert_eq!(case.report.addresses.len(), 1);
    assert_eq!(case.report.country.unwrap().code(), "GB");
    assert!(
        case.clock.assumed,
        "no contact yet: silence counts from the report"
    );
    let out = app.deliver().await;
    assert!(
        to_mods(&out)
            .iter()
            .any(|m| m.contains(&id) && m.contains("New case"))
    );
    // The dialogue is over: plain text is no longer an answer.
    assert!(app.say(&alice, "hello").await.contains("/report"));
}

async fn one_line_report_validates_every_field(url: &str) {
    let app = App::new(url).await;
    let bob = person("bob");
    let r = app.say(&bob, &format!("/report chain=eth tx={ADDR}")).await;
    assert!(
        r.contains("looks like an address, not a transaction hash"),
        "{r}"
    );
    let r = app.say(&bob, "/report chain=narnia").await;
    assert!(r.contains("don't know that chain"), "{r}");
    let r = app.say(&bob, "/report colour=blue").await;
    assert!(r.contains("don't know the field"), "{r}");
    let r = app.say(&bob, "/report noticed=2099-01-01").await;
    assert!(r.contains("couldn't read that date"), "{r}");
    assert!(app.say(&bob, "/status").await.contains("no open cases"));
    let filed = app
        .say(&bob, &format!(r#"/report chain=eth amount="1.2 ETH" tx={TX} address={ADDR} contacted="2026-11-19 email #4411" country=US how=approval"#))
        .await;
    let id = case_id_in(&filed).expect("case id");
    assert!(
        filed.contains(&format!("https://etherscan.io/tx/{TX}")),
        "evidence links: {filed}"
    );
    assert!(
        filed.contains(&format!("https://etherscan.io/address/{ADDR}")),
        "{filed}"
    );
    let case = load(&app, &id).await;
    assert_eq!(case.report.amount.as_deref(), Some("1.2 ETH"));
    assert_eq!(case.report.asset.as_deref(), Some("ETH"));
    assert_eq!(case.contacts[0].reference.as_deref(), Some("#4411"));
    assert!(!case.clock.assumed);
    let status = app.say(&bob, &format!("/status {id}")).await;
    assert!(
        status.contains(&id) && status.contains("Support silent for"),
        "{status}"
    );
}

async fn secrets_are_refused_and_never_stored(url: &str) {
    let app = App::new(url).await;
    let carol = person("carol");
    app.say(&carol, "/report").await;
    app.say(&carol, "en").await;
    let r = app.say(&carol, &format!("my seed is {MNEMONIC}")).await;
    assert!(r.contains("seed phrase") && r.contains("NEW wallet"), "{r}");
    assert!(
        !r.contains("legal winner"),
        "the secret is never echoed: {r}"
    );
    // A bare 64-hex value in free text: could be a key; not stored, explained.
    let key = &TX[2..];
    let r = app.say(&carol, key).await;
    assert!(r.contains("private key"), "{r}");
    // At the evidence question the same shape is a transaction hash.
    for a in ["Trust Wallet", "/skip", "eth", "/skip"] {
        app.say(&carol, a).await;
    }
    let r = app.say(&carol, TX).await;
    assert!(r.contains("Added 1 transaction"), "{r}");
    // Next to words naming a secret it is a key even there.
    let r = app.say(&carol, &format!("private key {TX}")).await;
    assert!(r.contains("private key"), "{r}");
    let stored = everything_stored(url).await;
    assert!(!stored.contains("legal winner thank"), "mnemonic stored");
    assert_eq!(
        stored.matches(&TX[2..]).count(),
        stored.matches(TX).count(),
        "bare key stored"
    );

    // In a shared channel: delete, warn there without the secret, tell the sender privately,
    // alert moderators. A bare hash in channel chatter is left alone.
    let h = app
        .handle(&carol, &format!("help! {MNEMONIC}"), false)
        .await;
    assert!(h.delete_original);
    assert!(
        h.out
            .iter()
            .any(|o| matches!(o.to, Recipient::Chat { .. }) && o.text.contains("deleted"))
    );
    assert!(
        h.out
            .iter()
            .any(|o| matches!(o.to, Recipient::User { .. }) && o.text.contains("NEW wallet"))
    );
    assert!(h.out.iter().any(|o| o.to.is_moderators()));
    assert!(h.out.iter().all(|o| !o.text.contains("legal winner")));
    let h = app
        .handle(&person("dave"), &format!("look at {}", &TX[2..]), false)
        .await;
    assert!(!h.delete_original && h.out.is_empty());
    assert!(!everything_stored(url).await.contains("legal winner thank"));
}

async fn ladder_runs_each_step_once_at_its_time(url: &str) {
    let app = App::new(url).await;
    let erin = person("erin");
    let id = app
        .report(&erin, "chain=eth amount=3ETH contacted=now")
        .await;
    app.deliver().await;
    assert_eq!(app.wait(Duration::hours(23)).await, 0);
    assert_eq!(app.wait(Duration::hours(1)).await, 1, "reminder at 24h");
    let out = app.sink.take();
    let msgs = to_user(&out, "erin");
    assert!(
        msgs[0].contains("follow up") && msgs[0].contains("Subject: Follow-up"),
        "{msgs:?}"
    );
    assert!(to_mods(&out)[0].contains("reminder"));
    assert_eq!(
        app.wait(Duration::hours(24)).await,
        1,
        "second reminder at 48h"
    );
    assert_eq!(
        app.wait(Duration::hours(24)).await,
        1,
        "public post at 72h, not a third reminder"
    );
    let out = app.sink.take();
    assert!(to_mods(&out).iter().any(|m| m.contains("/approve")));
    assert!(to_user(&out, "erin")[1].contains("Going public"), "{out:?}");
    assert!(load(&app, &id).await.pending_post.is_some());
    assert_eq!(app.wait(Duration::days(4)).await, 1, "complaint at 7d");
    assert!(
        to_user(&app.sink.take(), "erin")
            .iter()
            .any(|m| m.contains("formal complaint") || m.contains("complaint to"))
    );
    assert_eq!(app.wait(Duration::days(7)).await, 1, "authorities at 14d");
    let out = app.sink.take();
    let auth = to_user(&out, "erin").join("\n");
    assert!(
        auth.contains("Report of theft") && auth.contains("lawyer"),
        "{auth}"
    );
    assert_eq!(app.wait(Duration::days(30)).await, 0, "ladder finished");
    // A restart (a new instance on the same database) repeats nothing.
    let again = App::on(app.store.clone(), app.clock.clone(), Default::default());
    assert_eq!(again.wait(Duration::days(30)).await, 0);
    assert!(again.deliver().await.is_empty());
    let steps: Vec<_> = app
        .store
        .events(&CaseId::parse(&id).unwrap())
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind.name() == "step_taken")
        .collect();
    assert_eq!(
        steps.len(),
        6,
        "checklist, 2 reminders, post, complaint, authorities"
    );
    assert_consistent(&app, &id).await;
}

async fn a_service_that_was_down_sends_one_reminder_not_a_pile(url: &str) {
    let app = App::new(url).await;
    app.report(&person("fay"), "contacted=now").await;
    app.deliver().await;
    // Jump 60h at once (no stepping): only the latest due reminder goes out.
    app.clock.advance(Duration::hours(60));
    assert_eq!(app.scheduler.run_once(app.now()).await.unwrap(), 1);
    let msgs = to_user(&app.deliver().await, "fay");
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    // Down for two weeks: every rung runs once, in order, no reminders in between.
    app.clock.advance(Duration::days(14));
    assert_eq!(app.scheduler.run_once(app.now()).await.unwrap(), 3);
}

async fn a_reply_pauses_and_unresolved_restarts_from_the_reply(url: &str) {
    let app = App::new(url).await;
    let gus = person("gus");
    let id = app.report(&gus, "contacted=now").await;
    app.wait(Duration::hours(30)).await;
    let r = app.say(&gus, "/replied they asked for screenshots").await;
    assert!(r.contains("clock has stopped"), "{r}");
    assert_eq!(
        app.wait(Duration::days(20)).await,
        0,
        "no escalation while support's answer stands"
    );
    let s = app.say(&gus, &format!("/status {id}")).await;
    assert!(s.contains("Support answered"), "{s}");
    let r = app.say(&gus, &format!("/unresolved {id}")).await;
    assert!(r.contains("restarts from their reply"), "{r}");
    let case = load(&app, &id).await;
    assert_eq!(
        case.clock.since,
        Some(case.replies[0].at),
        "next-reply time counts from the reply"
    );
    // The reply was 20 days ago: every remaining rung is overdue and runs now, once each, with
    // no stale reminder before them.
    assert_eq!(
        app.wait(Duration::minutes(1)).await,
        3,
        "public post, complaint, authorities"
    );
    let r = app.say(&gus, &format!("/unresolved {id}")).await;
    assert!(r.contains("already running"), "{r}");
    assert_consistent(&app, &id).await;
}

async fn follow_up_contacts_do_not_reset_the_clock(url: &str) {
    let app = App::new(url).await;
    let hal = person("hal");
    let id = app.report(&hal, "wallet=Trust").await;
    app.wait(Duration::hours(2)).await;
    // The first real contact replaces the assumed start (the report).
    let r = app.say(&hal, "/contacted email #1").await;
    assert!(r.contains("clock runs from"), "{r}");
    let since = load(&app, &id).await.clock.since;
    app.wait(Duration::hours(5)).await;
    let r = app.say(&hal, "/contacted ticket T-2").await;
    assert!(r.contains("does not restart"), "{r}");
    assert_eq!(load(&app, &id).await.clock.since, since);
    assert_eq!(load(&app, &id).await.contacts.len(), 2);
}

async fn hold_pauses_resume_continues_and_advance_takes_the_next_step(url: &str) {
    let app = App::new(url).await;
    let ivy = person("ivy");
    let mo = moderator("mo");
    let id = app.report(&ivy, "contacted=now").await;
    app.wait(Duration::hours(10)).await;
    assert!(
        app.say(&ivy, &format!("/hold {id}"))
            .await
            .contains("Only moderators")
    );
    let r = app.say(&mo, &format!("/hold {id} checking facts")).await;
    assert!(r.contains("on hold"), "{r}");
    assert!(
        app.say(&mo, &format!("/hold {id}"))
            .await
            .contains("already on hold")
    );
    assert_eq!(
        app.wait(Duration::days(5)).await,
        0,
        "nothing while on hold"
    );
    app.say(&mo, &format!("/resume {id}")).await;
    // 10h of silence had passed; 14h remain until the reminder.
    assert_eq!(app.wait(Duration::hours(13)).await, 0);
    assert_eq!(app.wait(Duration::hours(1)).await, 1);
    let r = app.say(&mo, &format!("/advance {id}")).await;
    assert!(r.contains("took the next step"), "{r}");
    let out = app.deliver().await;
    assert!(
        to_mods(&out).iter().any(|m| m.contains("/approve")),
        "advance took the public post"
    );
    let case = load(&app, &id).await;
    assert!(case.pending_post.is_some());
    let names: Vec<String> = app
        .store
        .events(&case.id)
        .await
        .unwrap()
        .iter()
        .map(|e| format!("{}:{}", e.kind.name(), e.actor.name))
        .collect();
    for want in ["held:mo", "resumed:mo", "advanced:mo"] {
        assert!(names.contains(&want.to_string()), "{want} in {names:?}");
    }
    // The victim heard about the hold.
    let all = app.store.events(&case.id).await.unwrap();
    assert_eq!(
        recourse::core::moderation::replay(&all).as_ref(),
        Some(&case),
        "state is the fold of the events"
    );
}

async fn moderators_work_the_queue_in_order(url: &str) {
    let app = App::new(url).await;
    let mo = moderator("mo");
    let old = app.report(&person("jan"), "wallet=A contacted=now").await;
    app.wait(Duration::hours(5)).await;
    let newer = app.report(&person("kim"), "wallet=B contacted=now").await;
    app.wait(Duration::hours(1)).await;
    let with_post = app.report(&person("lee"), "wallet=C contacted=now").await;
    app.say(&mo, &format!("/advance {with_post}")).await;
    app.say(&mo, &format!("/advance {with_post}")).await;
    let answered = app.report(&person("max"), "wallet=D contacted=now").await;
    app.say(&person("max"), &format!("/replied {answered}"))
        .await;
    let q = app.say(&mo, "/queue").await;
    let pos = |id: &str| {
        q.find(id)
            .unwrap_or_else(|| panic!("{id} missing from {q}"))
    };
    assert!(pos(&with_post) < pos(&old), "decisions first: {q}");
    assert!(pos(&old) < pos(&newer), "then the longest silence: {q}");
    assert!(pos(&newer) < pos(&answered), "answered cases last: {q}");
    assert!(q.contains("⚑"), "{q}");
    assert!(
        app.say(&person("jan"), "/queue")
            .await
            .contains("Only moderators")
    );
    // Claim, note and the timeline.
    assert!(
        app.say(&mo, &format!("/claim {old}"))
            .await
            .contains("claimed")
    );
    assert!(
        app.say(&mo, &format!("/note {old} called the victim"))
            .await
            .contains("Note added")
    );
    let t = app.say(&mo, &format!("/case {old}")).await;
    for want in [
        "reported the theft",
        "claimed the case",
        "note: called the victim",
        "step: immediate-action checklist",
        "(mod)",
    ] {
        assert!(t.contains(want), "{want} in {t}");
    }
    // Approve publishes to the public channel and tells the victim; a second approve has nothing.
    app.deliver().await;
    let r = app.say(&mo, &format!("/approve {with_post}")).await;
    assert!(r.contains("published"), "{r}");
    let out = app.deliver().await;
    assert_eq!(to_public(&out).len(), 1);
    assert!(
        !to_public(&out)[0].contains("lee"),
        "no reporter handle in public: {out:?}"
    );
    assert!(to_user(&out, "lee").iter().any(|m| m.contains("published")));
    assert!(
        app.say(&mo, &format!("/approve {with_post}"))
            .await
            .contains("no public post")
    );
    // Reject on a fresh draft.
    app.say(&mo, &format!("/advance {newer}")).await;
    app.say(&mo, &format!("/advance {newer}")).await;
    app.deliver().await;
    app.say(&mo, &format!("/reject {newer} not enough detail"))
        .await;
    let out = app.deliver().await;
    assert!(to_public(&out).is_empty());
    assert!(
        to_user(&out, "kim")
            .iter()
            .any(|m| m.contains("not enough detail"))
    );
    for id in [&old, &newer, &with_post, &answered] {
        assert_consistent(&app, id).await;
    }
}

async fn reporters_see_only_their_own_cases(url: &str) {
    let app = App::new(url).await;
    let nia = person("nia");
    let oli = person("oli");
    let id = app.report(&nia, "wallet=X").await;
    for cmd in [
        "/status",
        "/contacted",
        "/replied",
        "/resolve",
        "/withdraw",
        "/unresolved",
    ] {
        let r = app.say(&oli, &format!("{cmd} {id}")).await;
        assert!(r.contains("can't find a case"), "{cmd}: {r}");
    }
    assert!(app.say(&oli, "/status").await.contains("no open cases"));
    assert!(app.say(&nia, "/status").await.contains(&id));
    assert!(
        app.say(&moderator("mo"), &format!("/status {id}"))
            .await
            .contains(&id)
    );
    assert!(
        app.say(&nia, "/status RC-ZZZZZ-ZZZZZ")
            .await
            .contains("can't find")
    );
    assert!(
        app.say(&nia, "/status not-an-id")
            .await
            .contains("can't find")
    );
    // Two open cases: commands without an ID ask which.
    let second = app.report(&nia, "wallet=Y").await;
    let r = app.say(&nia, "/contacted email").await;
    assert!(r.contains(&id) && r.contains(&second), "{r}");
}

async fn ending_a_case_stops_the_ladder(url: &str) {
    let app = App::new(url).await;
    let pat = person("pat");
    let mo = moderator("mo");
    let a = app.report(&pat, "contacted=now").await;
    let b = app.report(&pat, "contacted=now").await;
    let c = app.report(&pat, "contacted=now").await;
    assert!(
        app.say(&pat, &format!("/resolve {a}"))
            .await
            .contains("resolved")
    );
    assert!(
        app.say(&pat, &format!("/withdraw {b}"))
            .await
            .contains("withdrawn")
    );
    app.deliver().await;
    assert!(
        app.say(&mo, &format!("/close {c} duplicate"))
            .await
            .contains("closed")
    );
    assert!(
        to_user(&app.deliver().await, "pat")
            .iter()
            .any(|m| m.contains("duplicate"))
    );
    assert_eq!(app.wait(Duration::days(30)).await, 0);
    assert!(
        app.say(&pat, &format!("/contacted {a}"))
            .await
            .contains("already resolved")
    );
    assert!(
        app.say(&mo, &format!("/advance {c}"))
            .await
            .contains("already closed")
    );
    assert!(app.say(&mo, "/queue").await.contains("queue is empty"));
    for id in [&a, &b, &c] {
        assert_consistent(&app, id).await;
    }
}

async fn bad_input_gets_a_plain_answer_and_loses_nothing(url: &str) {
    let app = App::new(url).await;
    let quinn = person("quinn");
    app.say(&quinn, "/report").await;
    app.say(&quinn, "en").await;
    app.say(&quinn, "Ledger").await;
    assert!(
        app.say(&quinn, "/frobnicate")
            .await
            .contains("don't know the command /frobnicate")
    );
    let long = "x".repeat(10_000);
    let r = app.say(&quinn, &long).await;
    assert!(r.contains("too long") && r.contains("4000"), "{r}");
    assert!(!everything_stored(url).await.contains(&long[..500]));
    assert!(app.say(&quinn, "/note").await.contains("Only moderators"));
    assert!(
        app.say(&moderator("mo"), "/note")
            .await
            .contains("Usage: /note")
    );
    assert!(app.say(&quinn, "9").await.contains("number from 1 to 7"));
    // The dialogue kept every answer through all of that.
    let r = app.say(&quinn, "3").await;
    assert!(r.contains("(4/9)"), "{r}");
    assert!(
        app.say(&quinn, "/help")
            .await
            .contains("middle of a report")
    );
    assert!(app.say(&quinn, "/cancel").await.contains("cancelled"));
    assert!(
        app.say(&quinn, "/cancel")
            .await
            .contains("nothing to cancel")
    );
}

async fn language_choice_carries_through(url: &str) {
    let app = App::new(url).await;
    let ren = person("ren");
    let id = app.report(&ren, "lang=zh contacted=now").await;
    let has_cjk = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    let s = app.say(&ren, &format!("/status {id}")).await;
    assert!(has_cjk(&s), "{s}");
    app.deliver().await;
    app.wait(Duration::hours(24)).await;
    let out = app.sink.take();
    assert!(to_user(&out, "ren").iter().all(|m| has_cjk(m)));
    assert!(
        to_mods(&out).iter().all(|m| !has_cjk(m)),
        "moderators read the community language"
    );
    let r = app.say(&ren, "/lang en").await;
    assert!(r.contains("English"), "{r}");
}

async fn evidence_is_added_labelled_listed_and_removed(url: &str) {
    let app = App::new(url).await;
    let sam = person("sam");
    let id = app.report(&sam, "wallet=Trust").await;
    // No chain known and an EVM hash fits many chains: ask which, likely first.
    let r = app.say(&sam, &format!("/evidence add {TX}")).await;
    assert!(r.contains("Ethereum, BNB Smart Chain"), "{r}");
    assert!(r.contains(&format!("/evidence add {id} {TX} eth")), "{r}");
    let r = app.say(&sam, &format!("/evidence add {TX} bsc")).await;
    assert!(
        r.contains("Added #1") && r.contains(&format!("https://bscscan.com/tx/{TX}")),
        "{r}"
    );
    let r = app
        .say(&sam, &format!("/evidence add {id} {ADDR} attacker eth"))
        .await;
    assert!(
        r.contains("Added #2") && r.contains("attacker's address"),
        "{r}"
    );
    let r = app.say(&sam, &format!("/evidence add {ADDR} eth")).await;
    assert!(r.contains("already has that, as #2"), "{r}");
    let r = app
        .say(
            &sam,
            &format!("/evidence add {} eth", ADDR.replace("BeAed", "BeAeD")),
        )
        .await;
    assert!(r.contains("checksum"), "{r}");
    let list = app.say(&sam, "/evidence").await;
    assert!(
        list.contains("#1 · theft transaction · BNB Smart Chain"),
        "{list}"
    );
    assert!(
        list.contains("#2 · attacker's address · Ethereum"),
        "{list}"
    );
    assert!(list.contains("https://etherscan.io/address/"), "{list}");
    let r = app.say(&sam, "/evidence remove 1").await;
    assert!(r.contains("Removed #1"), "{r}");
    assert!(
        app.say(&sam, "/evidence remove 7")
            .await
            .contains("no item #7")
    );
    assert!(
        app.say(&sam, "/evidence add")
            .await
            .contains("Usage: /evidence")
    );
    assert!(
        app.say(&person("tom"), &format!("/evidence {id}"))
            .await
            .contains("can't find")
    );
    let t = app.say(&moderator("mo"), &format!("/case {id}")).await;
    assert!(
        t.contains("added evidence") && t.contains("removed evidence #1"),
        "{t}"
    );
    assert_consistent(&app, &id).await;
}

async fn freezable_thefts_get_a_freeze_request_at_once(url: &str) {
    let app = App::new(url).await;
    let uma = person("uma");
    app.report(&uma, r#"amount="5000 USDT" chain=tron contacted=now"#)
        .await;
    app.wait(Duration::minutes(1)).await;
    let msgs = to_user(&app.sink.take(), "uma").join("\n");
    assert!(
        msgs.contains("Urgent freeze request") && msgs.contains("police"),
        "{msgs}"
    );
    // An ETH theft gets none until the funds are seen reaching an exchange.
    let vi = person("vi");
    let id = app.report(&vi, "amount=2ETH chain=eth contacted=now").await;
    app.wait(Duration::minutes(1)).await;
    assert!(
        !to_user(&app.sink.take(), "vi")
            .join("")
            .contains("freeze request")
    );
    app.say(&vi, &format!("/evidence add {id} {ADDR} exchange"))
        .await;
    app.wait(Duration::minutes(1)).await;
    let out = app.sink.take();
    assert!(
        to_user(&out, "vi")
            .join("")
            .contains("Urgent freeze request"),
        "{out:?}"
    );
    assert!(to_mods(&out).join("").contains("freeze request"));
}

async fn recovery_scams_in_channels_are_flagged_for_moderators(url: &str) {
    let app = App::new(url).await;
    let spam =
        "I recovered my stolen USDT with the help of a recovery expert, contact him on telegram";
    let h = app.handle(&person("spammer"), spam, false).await;
    assert!(!h.delete_original, "deleting is off by default");
    let alert = h
        .out
        .iter()
        .find(|o| o.to.is_moderators())
        .expect("moderators alerted");
    assert!(
        alert.text.contains("recovery scam") && alert.text.contains("spammer"),
        "{}",
        alert.text
    );
    let warn = h
        .out
        .iter()
        .find(|o| matches!(o.to, Recipient::Chat { .. }))
        .expect("channel warning");
    assert!(warn.text.contains("recovery fee"), "{}", warn.text);
    for ok in [
        "beware of anyone who DMs you offering recovery, it is a scam",
        "my wallet was drained, I need to recover what's left",
        "有人说能帮我追回，是骗子吗？",
    ] {
        assert!(
            app.handle(&person("vic"), ok, false).await.out.is_empty(),
            "{ok}"
        );
    }
    // In a private chat with the bot a victim may quote such a message: not flagged.
    let r = app.say(&person("vic"), spam).await;
    assert!(!r.contains("recovery scam"), "{r}");
    // Chinese spam, with deletion switched on and extra patterns from a file.
    let dir = tempfile::tempdir().unwrap();
    let extra = dir.path().join("extra.toml");
    std::fs::write(
        &extra,
        "[[pattern]]\nid = \"local_gift\"\ncategory = \"upfront_fee\"\nlang = \"en\"\nall = [\"gift card\", \"unlock\"]\n",
    )
    .unwrap();
    let mut settings = recourse::config::Settings::default();
    settings.scam.delete = true;
    settings.scam.extra_patterns = Some(extra);
    let strict = App::on(app.store.clone(), app.clock.clone(), settings);
    let h = strict
        .handle(&person("spammer"), "专业追回被盗币，私信我帮你追回", false)
        .await;
    assert!(h.delete_original);
    assert!(h.out.iter().any(|o| o.to.is_moderators()));
    let h = strict
        .handle(
            &person("spammer"),
            "buy a gift card to unlock your wallet",
            false,
        )
        .await;
    assert!(h.delete_original, "extra pattern from the settings file");
}

async fn authorities_by_country_with_extra_entries_from_settings(url: &str) {
    let app = App::new(url).await;
    let r = app.say(&person("ada"), "/authorities united states").await;
    let ic3 = r.find("IC3").expect("IC3 listed");
    let ftc = r.find("Federal Trade Commission").expect("FTC listed");
    assert!(ic3 < ftc, "police before consumer bodies: {r}");
    assert!(
        app.say(&person("ada"), "/authorities narnia")
            .await
            .contains("don't know that country")
    );
    // Without a country: the country of the sender's case.
    app.report(&person("ada"), "country=SG").await;
    assert!(
        app.say(&person("ada"), "/authorities")
            .await
            .contains("Singapore Police")
    );
    let dir = tempfile::tempdir().unwrap();
    let extra = dir.path().join("mine.toml");
    std::fs::write(
        &extra,
        r#"
[[authority]]
country = "SG"
name = "Example Community Legal Clinic"
name_zh = "示例社区法律诊所"
kind = "consumer"
handles = "Free advice for theft victims"
handles_zh = "为被盗者提供免费咨询"
url = "https://clinic.example.org"
languages = ["en"]

[[authority]]
country = "SG"
name = "Broken entry"
kind = "sheriff"
"#,
    )
    .unwrap();
    let mut settings = recourse::config::Settings::default();
    settings.authorities.extra = Some(extra);
    let local = App::on(app.store.clone(), app.clock.clone(), settings);
    let r = local.say(&person("ada"), "/authorities SG").await;
    assert!(r.contains("Example Community Legal Clinic"), "{r}");
    assert!(!r.contains("Broken entry"), "{r}");
}

async fn the_dossier_holds_every_event_and_detects_edits(url: &str) {
    use recourse::core::dossier::{Verdict, verify};
    let app = App::new(url).await;
    let wu = person("wu");
    let id = app
        .report(
            &wu,
            &format!(
                r#"wallet="<script>alert(1)</script>" chain=eth tx={TX} contacted=now country=CN"#
            ),
        )
        .await;
    app.say(&wu, &format!("/evidence add {ADDR} attacker"))
        .await;
    app.wait(Duration::days(8)).await;
    app.say(
        &moderator("mo"),
        &format!("/note {id} asked for screenshots"),
    )
    .await;
    let h = app.handle(&wu, "/export", true).await;
    let files: Vec<_> = h.out.iter().filter_map(|o| o.attachment.clone()).collect();
    assert_eq!(files.len(), 2, "markdown and html");
    let md = &files[0].content;
    let html = &files[1].content;
    assert!(files[0].filename.ends_with(".md") && files[1].filename.ends_with(".html"));
    let events = app
        .store
        .events(&CaseId::parse(&id).unwrap())
        .await
        .unwrap();
    let lines = md
        .lines()
        .filter(|l| l.starts_with("- 20") && l.contains(" · "))
        .count();
    assert_eq!(lines, events.len(), "one timeline line per event:\n{md}");
    for want in [
        "asked for screenshots",
        "attacker's address",
        "https://etherscan.io/tx/",
        "Asia/Shanghai",
        "Formal complaint",
        "Subject: Follow-up",
    ] {
        assert!(md.contains(want), "{want} missing from the dossier:\n{md}");
    }
    assert_eq!(verify(md), Verdict::Intact);
    assert_eq!(verify(html), Verdict::Intact);
    assert_eq!(
        verify(&md.replacen("asked for screenshots", "asked for nothing", 1)),
        Verdict::Modified
    );
    assert!(
        !html.contains("<script>alert(1)</script>"),
        "user text is escaped in HTML"
    );
    assert!(html.contains("&lt;script&gt;"), "{html}");
    // The files are not themselves part of the next dossier.
    let again = app.handle(&wu, "/export Europe/London", true).await;
    let md2 = &again
        .out
        .iter()
        .find_map(|o| o.attachment.clone())
        .unwrap()
        .content;
    assert!(
        !md2.contains(".md\n```") && md2.contains("Europe/London"),
        "{md2}"
    );
    assert!(
        app.say(&wu, "/export Mars/Base")
            .await
            .contains("time zone")
    );
    assert!(
        app.say(&person("eve"), &format!("/export {id}"))
            .await
            .contains("can't find")
    );
}

both_backends!(
    the_dossier_holds_every_event_and_detects_edits,
    authorities_by_country_with_extra_entries_from_settings,
    recovery_scams_in_channels_are_flagged_for_moderators,
    evidence_is_added_labelled_listed_and_removed,
    freezable_thefts_get_a_freeze_request_at_once,
    report_dialogue_files_a_case_with_the_checklist,
    one_line_report_validates_every_field,
    secrets_are_refused_and_never_stored,
    ladder_runs_each_step_once_at_its_time,
    a_service_that_was_down_sends_one_reminder_not_a_pile,
    a_reply_pauses_and_unresolved_restarts_from_the_reply,
    follow_up_contacts_do_not_reset_the_clock,
    hold_pauses_resume_continues_and_advance_takes_the_next_step,
    moderators_work_the_queue_in_order,
    reporters_see_only_their_own_cases,
    ending_a_case_stops_the_ladder,
    bad_input_gets_a_plain_answer_and_loses_nothing,
    language_choice_carries_through,
);
