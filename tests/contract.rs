//! The adapter contract on real databases: typed commands and button presses reach the same
//! rules as typed text; answers come back to be sent in place and fall back to the outbox;
//! moderator posts carry buttons that act once and are edited everywhere; one outbox row per
//! destination; the language of plain words; nothing about a case in a community channel.

mod common;

use std::sync::Arc;

use chrono::Duration;
use common::*;
use recourse::core::case::CaseId;
use recourse::core::clock::Clock;
use recourse::core::command::{Command, ReportField};
use recourse::core::engine::Handled;
use recourse::core::identity::{Actor, ChatRef, Locale, MessageRef, Platform, UserRef};
use recourse::core::message::{
    Button, Does, Incoming, Input, Notice, Op, Outgoing, Place, Recipient, Target,
};
use recourse::core::ports::{OutboxItem, Store};
use recourse::delivery::Delivery;
use recourse::webhook::Router;
use tokio::sync::Notify;

const TX: &str = "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060";

fn incoming(who: &Actor, place: Place, input: Input) -> Incoming {
    Incoming {
        actor: who.clone(),
        chat: match place {
            Place::Private => ChatRef::Console,
            Place::Community => ChatRef::Telegram { chat: -100 },
            Place::Moderators => ChatRef::Telegram { chat: -200 },
        },
        place,
        input,
        message: Some(MessageRef::Telegram {
            chat: -1,
            message: 7,
        }),
        id: None,
        link: None,
        locale_hint: None,
    }
}

/// The answers the engine handed back, without sending them anywhere.
async fn raw(app: &App, msg: &Incoming) -> Handled {
    app.engine.handle(msg).await.expect("engine")
}

fn answer_text(h: &Handled) -> String {
    h.answers()
        .map(|a| a.text.clone())
        .collect::<Vec<_>>()
        .join("\n")
}

fn press_tokens(b: &[Button]) -> Vec<(String, String)> {
    b.iter()
        .filter_map(|b| match &b.does {
            Does::Press { token } => Some((b.label.clone(), token.clone())),
            _ => None,
        })
        .collect()
}

fn token(buttons: &[Button], label: &str) -> String {
    press_tokens(buttons)
        .into_iter()
        .find(|(l, _)| l == label)
        .map(|(_, t)| t)
        .unwrap_or_else(|| panic!("no button {label} in {buttons:?}"))
}

async fn press(app: &App, who: &Actor, place: Place, token: &str) -> Handled {
    app.input(&incoming(who, place, Input::Press(token.to_string())))
        .await
}

async fn typed_commands_reach_the_same_rules_as_text(url: &str) {
    let app = App::new(url).await;
    let alice = person("alice");
    let cmd = Command::Report(vec![
        (ReportField::Chain, "eth".into()),
        (ReportField::Amount, "2.5 ETH".into()),
        (ReportField::Tx, TX.into()),
        (ReportField::Contacted, "email #4411".into()),
        (ReportField::Country, "US".into()),
    ]);
    let h = app
        .input(&incoming(&alice, Place::Private, Input::Command(cmd)))
        .await;
    let id = case_id_in(&answer_text(&h)).expect("case filed");
    let c = load(&app, &id).await;
    assert_eq!(c.report.txs.len(), 1);
    assert_eq!(c.report.country.unwrap().code(), "US");
    assert_eq!(c.contacts.len(), 1);
    // A bad value in a typed field gets the same plain answer as typed text.
    let bad = Command::Report(vec![(ReportField::Chain, "narnia".into())]);
    let h = app
        .input(&incoming(&alice, Place::Private, Input::Command(bad)))
        .await;
    assert!(answer_text(&h).contains("don't know that chain"));
    // A secret in a typed free-text field is refused and never stored.
    let seed = "legal winner thank year wave sausage worth useful legal winner thank yellow";
    let leak = Command::Contacted {
        case: CaseId::parse(&id),
        rest: format!("they asked for my seed {seed}"),
    };
    let h = app
        .input(&incoming(&alice, Place::Private, Input::Command(leak)))
        .await;
    assert!(
        answer_text(&h).contains("seed phrase"),
        "{}",
        answer_text(&h)
    );
    assert_eq!(load(&app, &id).await.contacts.len(), 1, "nothing recorded");
    assert!(!everything_stored(url).await.contains("sausage"));
}

async fn answers_come_back_and_fall_back_to_the_outbox(url: &str) {
    let app = App::new(url).await;
    let bob = person("bob");
    let msg = incoming(&bob, Place::Private, Input::Text("/help".into()));
    let h = raw(&app, &msg).await;
    let answer = h.answers().next().expect("an answer").clone();
    assert_eq!(
        answer.meta.reply_to, msg.message,
        "replies to the message in hand"
    );
    assert!(answer.meta.private);
    // Leased for the adapter: the outbox does not send it meanwhile.
    assert!(app.deliver().await.is_empty());
    // Sent in place: recorded with its reference, never sent again.
    let reference = MessageRef::Telegram {
        chat: 5,
        message: 99,
    };
    app.engine
        .answered(&answer.key, Ok(Some(reference.clone())))
        .await
        .unwrap();
    app.clock.advance(Duration::minutes(5));
    assert!(app.deliver().await.is_empty());
    assert_eq!(
        app.store.outbox_row_state(&answer.key).await.unwrap(),
        recourse::core::ports::RowState::Sent(Some(reference))
    );
    // Not sent in place (a platform error): the outbox sends it at once.
    let h = raw(&app, &msg).await;
    let second = h.answers().next().unwrap().key.clone();
    app.engine
        .answered(&second, Err("HTTP 502".into()))
        .await
        .unwrap();
    let sent = app.deliver().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].key, second);
    // The adapter crashed between the commit and the answer: once the lease runs out the
    // outbox sends it, once.
    let h = raw(&app, &msg).await;
    let third = h.answers().next().unwrap().key.clone();
    assert!(app.deliver().await.is_empty(), "still leased");
    app.clock.advance(Duration::seconds(61));
    let sent = app.deliver().await;
    assert_eq!(sent.iter().filter(|i| i.key == third).count(), 1);
    app.clock.advance(Duration::minutes(5));
    assert!(app.deliver().await.is_empty());
}

async fn the_whole_intake_works_with_buttons(url: &str) {
    let app = App::new(url).await;
    let cy = person("cy");
    let h = app
        .input(&incoming(
            &cy,
            Place::Private,
            Input::Text("/start report".into()),
        ))
        .await;
    let q = h.answers().next().unwrap().clone();
    let zh = token(&q.meta.buttons, "中文");
    let h = press(&app, &cy, Place::Private, &zh).await;
    let q = h.answers().next().unwrap().clone();
    assert!(
        q.text.contains("钱包"),
        "the next question in Chinese: {}",
        q.text
    );
    let skip = token(&q.meta.buttons, "跳过");
    // Pressing the language button again, after it was answered, re-asks the current one.
    let again = press(&app, &cy, Place::Private, &zh).await;
    assert_eq!(answer_text(&again), q.text);
    let h = press(&app, &cy, Place::Private, &skip).await;
    let q = h.answers().next().unwrap().clone();
    let labels: Vec<String> = press_tokens(&q.meta.buttons)
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    assert!(
        labels.iter().any(|l| l.contains("助记词")),
        "how it happened, as choices: {labels:?}"
    );
    let seed = press_tokens(&q.meta.buttons)[0].1.clone();
    let h = press(&app, &cy, Place::Private, &seed).await;
    let q = h.answers().next().unwrap().clone();
    let tron = token(&q.meta.buttons, "TRON");
    let mut h = press(&app, &cy, Place::Private, &tron).await;
    // Amount, evidence (done), noticed, contacted, country: skip or done each.
    for _ in 0..5 {
        let q = h.answers().next().unwrap().clone();
        let next = press_tokens(&q.meta.buttons)
            .into_iter()
            .find(|(l, _)| l == "跳过" || l == "完成")
            .map(|(_, t)| t)
            .unwrap_or_else(|| panic!("skip or done offered: {}", q.text));
        h = press(&app, &cy, Place::Private, &next).await;
    }
    let id = case_id_in(&answer_text(&h)).expect("filed");
    let c = load(&app, &id).await;
    assert_eq!(c.locale, Locale::Zh);
    assert_eq!(c.report.how.key(), "seed_leaked");
    assert_eq!(c.report.chain.unwrap().key(), "tron");
    // The intake is over: its buttons are stale now.
    let stale = press(&app, &cy, Place::Private, &tron).await;
    let a = stale.answers().next().unwrap();
    assert_eq!(a.meta.notice, Some(Notice::Alert));
    assert!(a.text.contains("/report"));
}

/// The moderators' notice of a new case, as sent.
async fn new_case_notice(app: &App, id: &str) -> OutboxItem {
    app.deliver()
        .await
        .into_iter()
        .find(|i| i.to.is_moderators() && i.text.contains(id) && i.meta.op == Op::Send)
        .expect("the new-case notice")
}

async fn moderator_buttons_act_once_and_edit_the_post(url: &str) {
    let app = App::new(url).await;
    let dee = person("dee");
    let mo = moderator("mo");
    let id = app.report(&dee, "contacted=now chain=eth").await;
    let notice = new_case_notice(&app, &id).await;
    let labels: Vec<String> = press_tokens(&notice.meta.buttons)
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    assert_eq!(labels, ["Claim", "Hold", "Advance", "Close"]);
    let claim = token(&notice.meta.buttons, "Claim");
    // Someone else pressing: an alert, and nothing changes.
    let h = press(&app, &dee, Place::Moderators, &claim).await;
    let a = h.answers().next().unwrap();
    assert_eq!(a.meta.notice, Some(Notice::Alert));
    assert!(a.text.contains("Only moderators"), "{}", a.text);
    assert!(load(&app, &id).await.claimed_by.is_none());
    // The moderator: claimed, a toast, and the post edited to say who and when.
    let h = press(&app, &mo, Place::Moderators, &claim).await;
    assert_eq!(h.answers().next().unwrap().meta.notice, Some(Notice::Toast));
    assert_eq!(load(&app, &id).await.claimed_by.as_deref(), Some("mo"));
    let sent = app.deliver().await;
    let edit = sent
        .iter()
        .find(|i| matches!(i.meta.op, Op::Edit { .. }))
        .expect("the notice is edited");
    assert_eq!(
        edit.target,
        sent_ref(&app, &notice).await,
        "aimed at the post"
    );
    assert!(
        edit.text.contains("claimed by mo (console)"),
        "{}",
        edit.text
    );
    let now_labels: Vec<String> = press_tokens(&edit.meta.buttons)
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    assert_eq!(now_labels, ["Hold", "Advance", "Close"], "claim is done");
    // The same button again (a stale post, or a double tap): the state, no second claim.
    let h = press(&app, &mo, Place::Moderators, &claim).await;
    let a = h.answers().next().unwrap();
    assert_eq!(a.meta.notice, Some(Notice::Alert));
    assert!(a.text.contains("out of date"), "{}", a.text);
    let claims = app
        .store
        .events(&CaseId::parse(&id).unwrap())
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind.name() == "claimed")
        .count();
    assert_eq!(claims, 1);
    // Advance twice from the same button: one step taken.
    let advance = token(&notice.meta.buttons, "Advance");
    press(&app, &mo, Place::Moderators, &advance).await;
    let before = load(&app, &id).await.progress.done.len();
    let h = press(&app, &mo, Place::Moderators, &advance).await;
    assert!(answer_text(&h).contains("out of date"));
    assert_eq!(load(&app, &id).await.progress.done.len(), before);
    // A forged token reads as an expired button.
    let h = press(&app, &mo, Place::Moderators, "m:ap:RC-00000-00000:1").await;
    assert_eq!(h.answers().next().unwrap().meta.notice, Some(Notice::Alert));
}

async fn sent_ref(app: &App, item: &OutboxItem) -> Option<MessageRef> {
    match app.store.outbox_row_state(&item.key).await.unwrap() {
        recourse::core::ports::RowState::Sent(r) => r,
        other => panic!("not sent: {other:?}"),
    }
}

async fn a_public_post_goes_out_once_and_only_after_approval(url: &str) {
    let app = App::new(url).await;
    let eve = person("eve");
    let mo = moderator("mo");
    let id = app.report(&eve, "contacted=now").await;
    app.deliver().await;
    app.advance(Duration::hours(73)).await;
    let sent = app.deliver().await;
    assert!(
        to_public(&sent).is_empty(),
        "nothing public before approval"
    );
    let post_notice = sent
        .iter()
        .find(|i| i.to.is_moderators() && i.text.contains("waits for your decision"))
        .expect("the post notice")
        .clone();
    let approve = token(&post_notice.meta.buttons, "Approve");
    let reject = token(&post_notice.meta.buttons, "Reject");
    // Two moderators press at once-ish: one approval, one stale answer.
    press(&app, &mo, Place::Moderators, &approve).await;
    let h = press(&app, &moderator("ann"), Place::Moderators, &reject).await;
    assert!(answer_text(&h).contains("out of date"));
    let sent = app.deliver().await;
    assert_eq!(to_public(&sent).len(), 1, "published once");
    let post_edit = sent
        .iter()
        .find(|i| {
            matches!(&i.meta.op, Op::Edit { target: Target::Row { key } } if key == &post_notice.key)
        })
        .expect("the post notice is edited");
    assert!(post_edit.text.contains("approved and published by mo"));
    assert!(post_edit.meta.buttons.is_empty(), "decided: no buttons");
    assert!(post_edit.target.is_some());
    press(&app, &mo, Place::Moderators, &approve).await;
    assert!(to_public(&app.deliver().await).is_empty(), "never twice");
    assert_eq!(load(&app, &id).await.published_posts, 1);
}

/// Records what one platform's sink was asked to send; fails the first `fail` sends.
#[derive(Clone, Default)]
struct PlatformSink {
    sink: RecordingSink,
    fail: Arc<std::sync::atomic::AtomicU32>,
}

impl recourse::delivery::Sink for PlatformSink {
    async fn send(
        &self,
        item: &OutboxItem,
    ) -> Result<Option<MessageRef>, recourse::delivery::SendError> {
        use std::sync::atomic::Ordering;
        if self
            .fail
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(recourse::delivery::SendError::Retry("HTTP 502".into()));
        }
        self.sink.send(item).await
    }
}

async fn one_row_per_destination_each_sent_once(url: &str) {
    let settings = recourse::config::Settings::default();
    let store = recourse::store::SqlStore::open(url).await.unwrap();
    let clock = recourse::core::clock::ManualClock::fixed(start());
    let mut svc = recourse::app::services(&settings).unwrap();
    svc.destinations.moderators = vec![Platform::Telegram, Platform::Discord];
    svc.destinations.public = vec![Platform::Discord];
    let svc = Arc::new(svc);
    let shared: Arc<dyn recourse::core::clock::Clock> = Arc::new(clock.clone());
    let engine = recourse::core::engine::Engine::new(store.clone(), shared.clone(), svc);
    let (telegram, discord) = (PlatformSink::default(), PlatformSink::default());
    telegram.fail.store(1, std::sync::atomic::Ordering::SeqCst);
    let router = Router::new(RecordingSink::default(), None)
        .with_platform(Platform::Telegram, Arc::new(telegram.clone()))
        .with_platform(Platform::Discord, Arc::new(discord.clone()));
    let delivery = Delivery::new(store.clone(), router, shared, Arc::new(Notify::new()));
    let h = engine
        .handle(&incoming(
            &person("fay"),
            Place::Private,
            Input::Text("/report contacted=now".into()),
        ))
        .await
        .unwrap();
    let notices: Vec<&Outgoing> = h.out.iter().filter(|o| o.to.is_moderators()).collect();
    assert_eq!(notices.len(), 2, "one row per moderators' destination");
    assert!(notices[0].key.ends_with(":telegram") && notices[1].key.ends_with(":discord"));
    delivery.run_once(clock.now()).await.unwrap();
    assert_eq!(telegram.sink.take().len(), 0, "Telegram failed once");
    assert_eq!(discord.sink.take().len(), 1, "Discord got its copy");
    clock.advance(Duration::seconds(3));
    delivery.run_once(clock.now()).await.unwrap();
    assert_eq!(telegram.sink.take().len(), 1, "Telegram's retry");
    assert!(
        discord.sink.take().is_empty(),
        "the retry did not repeat Discord's post"
    );
}

async fn plain_words_are_answered_kindly_in_their_language(url: &str) {
    let app = App::new(url).await;
    let gus = person("gus");
    let h = app
        .input(&incoming(
            &gus,
            Place::Private,
            Input::Text("我的钱包被盗了，怎么办".into()),
        ))
        .await;
    let a = h.answers().next().unwrap().clone();
    assert!(a.text.contains("很遗憾"), "{}", a.text);
    let report = token(&a.meta.buttons, "报告被盗");
    let h = press(&app, &gus, Place::Private, &report).await;
    assert!(
        answer_text(&h).contains("语言"),
        "the intake starts: {}",
        answer_text(&h)
    );
    // English words from someone whose platform says Chinese: what they write wins.
    let mut msg = incoming(
        &person("hal"),
        Place::Private,
        Input::Text("my wallet got drained".into()),
    );
    msg.locale_hint = Some(Locale::Zh);
    let h = app.input(&msg).await;
    assert!(answer_text(&h).contains("I'm sorry"), "{}", answer_text(&h));
    // A chosen language wins over both.
    app.say(&person("ivy"), "/lang zh").await;
    let h = app
        .input(&incoming(
            &person("ivy"),
            Place::Private,
            Input::Text("hello there friend".into()),
        ))
        .await;
    assert!(answer_text(&h).contains("你好"), "{}", answer_text(&h));
    // And errors speak the language the person was last answered in.
    let err = recourse::core::engine::EngineError::Unavailable("test".into());
    let text = app.engine.error_text(
        &err,
        &incoming(
            &person("gus"),
            Place::Private,
            Input::Text("/status".into()),
        ),
    );
    assert!(
        text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "{text}"
    );
}

async fn nothing_about_a_case_in_a_community_channel(url: &str) {
    let app = App::new(url).await;
    let jo = person("jo");
    let h = app
        .input(&incoming(
            &jo,
            Place::Community,
            Input::Text("/report".into()),
        ))
        .await;
    let a = h.answers().next().unwrap();
    assert!(a.text.contains("private chat"), "{}", a.text);
    assert_eq!(a.meta.buttons[0].does, Does::OpenPrivateReport);
    assert!(
        !everything_stored(url).await.contains("\"question\""),
        "no dialogue was started in the group"
    );
    let one_line = format!("/report chain=eth tx={TX}");
    app.input(&incoming(&jo, Place::Community, Input::Text(one_line)))
        .await;
    assert!(app.store.cases_of(&jo.user).await.unwrap().is_empty());
    let id = app.report(&jo, "contacted=now").await;
    let h = app
        .input(&incoming(
            &jo,
            Place::Community,
            Input::Text(format!("/status {id}")),
        ))
        .await;
    assert!(!answer_text(&h).contains(&id), "{}", answer_text(&h));
    // Moderator commands work in the moderators' room.
    let h = app
        .input(&incoming(
            &moderator("mo"),
            Place::Moderators,
            Input::Text(format!("/case {id}")),
        ))
        .await;
    assert!(answer_text(&h).contains(&id));
}

async fn a_command_without_a_case_offers_a_picker(url: &str) {
    let app = App::new(url).await;
    let kim = person("kim");
    let first = app.report(&kim, "chain=eth").await;
    let second = app.report(&kim, "chain=tron").await;
    let h = app
        .input(&incoming(
            &kim,
            Place::Private,
            Input::Text("/contacted email #4411".into()),
        ))
        .await;
    let a = h.answers().next().unwrap().clone();
    let picks = press_tokens(&a.meta.buttons);
    assert_eq!(picks.len(), 2, "{:?}", a.meta.buttons);
    let pick = picks
        .iter()
        .find(|(l, _)| l.contains(&second))
        .expect("the second case")
        .1
        .clone();
    press(&app, &kim, Place::Private, &pick).await;
    let c = load(&app, &second).await;
    assert_eq!(c.contacts.len(), 1);
    assert_eq!(c.contacts[0].reference.as_deref(), Some("#4411"));
    assert!(load(&app, &first).await.contacts.is_empty());
    // Somebody else's picker token names a case they cannot see: "not found".
    let h = press(&app, &person("lou"), Place::Private, &pick).await;
    assert!(
        answer_text(&h).contains("can't find"),
        "{}",
        answer_text(&h)
    );
}

async fn a_redelivered_input_is_handled_once(url: &str) {
    let app = App::new(url).await;
    let mia = person("mia");
    let mut msg = incoming(
        &mia,
        Place::Private,
        Input::Text("/report chain=eth contacted=now".into()),
    );
    msg.id = Some("telegram:1001".into());
    let first = raw(&app, &msg).await;
    assert!(!first.duplicate && first.answers().count() == 1);
    // The platform sends the same update again (the answer was lost, or the offset was not
    // confirmed before a crash): nothing is filed twice, nothing answered twice.
    let again = raw(&app, &msg).await;
    assert!(again.duplicate && again.out.is_empty());
    assert_eq!(app.store.cases_of(&mia.user).await.unwrap().len(), 1);
    // The same for an input that changes no case.
    let mut help = incoming(&mia, Place::Private, Input::Text("/help".into()));
    help.id = Some("telegram:1002".into());
    assert!(!raw(&app, &help).await.duplicate);
    assert!(raw(&app, &help).await.duplicate);
    // The first handling's answer, never reported sent, still goes out (once) via the outbox.
    app.clock.advance(Duration::seconds(61));
    let sent = app.deliver().await;
    let answered = first.answers().next().unwrap().key.clone();
    assert_eq!(sent.iter().filter(|i| i.key == answered).count(), 1);
    assert!(
        app.store
            .prune_inbox(app.now() + Duration::days(8))
            .await
            .unwrap()
            >= 2
    );
}

both_backends!(
    a_redelivered_input_is_handled_once,
    typed_commands_reach_the_same_rules_as_text,
    answers_come_back_and_fall_back_to_the_outbox,
    the_whole_intake_works_with_buttons,
    moderator_buttons_act_once_and_edit_the_post,
    a_public_post_goes_out_once_and_only_after_approval,
    one_row_per_destination_each_sent_once,
    plain_words_are_answered_kindly_in_their_language,
    nothing_about_a_case_in_a_community_channel,
    a_command_without_a_case_offers_a_picker,
);

#[test]
fn recipients_name_their_platform() {
    assert_eq!(
        Recipient::User {
            user: UserRef::Telegram(1)
        }
        .platform(),
        Some(Platform::Telegram)
    );
    assert_eq!(Recipient::MODERATORS.platform(), None);
}
