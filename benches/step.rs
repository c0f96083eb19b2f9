//! What one claimed ladder step costs the scheduler outside the database: reading the stored
//! case (JSON), deciding and rendering the step (templates in the victim's and the moderators'
//! language), and writing the new state back as JSON. `recourse bench` measures the whole claim
//! with the database; this splits the process's own share.
//!
//! `cargo bench --bench step`

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use recourse::config::Settings;
use recourse::core::case::Case;
use recourse::core::clock::SystemClock;
use recourse::core::engine::{Engine, Services};
use recourse::core::identity::{Actor, ChatRef, UserRef};
use recourse::core::message::Incoming;
use recourse::core::ports::{Store, StoredCase};
use recourse::core::steps::due_change;
use recourse::store::SqlStore;

fn report() -> Incoming {
    Incoming {
        actor: Actor {
            user: UserRef::Telegram(42),
            name: "victim".into(),
            moderator: false,
        },
        chat: ChatRef::Telegram { chat: 42 },
        place: recourse::core::message::Place::Private,
        input: recourse::core::message::Input::Text(
            "/report wallet=ExampleWallet how=seed chain=eth amount=\"1.2 ETH\" \
             tx=0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060 \
             country=GB"
                .into(),
        ),
        message: None,
        id: None,
        link: None,
        locale_hint: None,
    }
}

/// A case as the engine files it, read back from a real SQLite file.
fn filed_case(svc: &Arc<Services>) -> Case {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let url = dir.path().join("step.db");
    rt.block_on(async {
        let store = SqlStore::open(url.to_str().expect("utf-8 path"))
            .await
            .expect("store");
        let engine = Engine::new(store.clone(), Arc::new(SystemClock), svc.clone());
        let handled = engine.handle(&report()).await.expect("report");
        let id = handled
            .out
            .iter()
            .find_map(|o| o.case_id.clone())
            .expect("a case id");
        let case = store.load_case(&id).await.expect("load").expect("stored");
        store.close().await;
        case.case
    })
}

fn step(c: &mut Criterion) {
    let svc = Arc::new(recourse::app::services(&Settings::default()).expect("services"));
    let case = filed_case(&svc);
    let due = svc.ladder.next_due(&case).expect("a next step").at;
    let state = serde_json::to_string(&case).expect("json");
    let mut g = c.benchmark_group("claimed step");
    g.bench_function("parse stored state", |b| {
        b.iter(|| serde_json::from_str::<Case>(black_box(&state)).expect("parse"))
    });
    g.bench_function("decide and render (reminder)", |b| {
        b.iter(|| {
            due_change(
                &svc,
                StoredCase {
                    case: case.clone(),
                    version: 1,
                },
                black_box(due),
            )
        })
    });
    g.bench_function("serialize new state", |b| {
        b.iter(|| serde_json::to_string(black_box(&case)).expect("json"))
    });
    g.finish();
    eprintln!("stored state: {} bytes of JSON", state.len());
}

/// A `/report` handled by the engine on a real SQLite file: screening, parsing, the case and
/// its events stored, and the reply (checklist, first-contact letter) rendered.
fn intake(c: &mut Criterion) {
    let svc = Arc::new(recourse::app::services(&Settings::default()).expect("services"));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let url = dir.path().join("intake.db");
    let store = rt
        .block_on(SqlStore::open(url.to_str().expect("utf-8 path")))
        .expect("store");
    let engine = Engine::new(store, Arc::new(SystemClock), svc);
    let msg = report();
    let mut user = 1_000_i64;
    c.bench_function("intake: /report", |b| {
        b.iter(|| {
            user += 1;
            let mut m = msg.clone();
            m.actor.user = UserRef::Telegram(user);
            m.chat = ChatRef::Telegram { chat: user };
            rt.block_on(engine.handle(&m)).expect("handled")
        })
    });
}

criterion_group!(benches, step, intake);
criterion_main!(benches);
