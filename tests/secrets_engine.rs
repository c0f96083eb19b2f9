//! Property: whatever surrounds a secret, it never reaches a reply, the database or a log line,
//! through the real engine and store.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use proptest::prelude::*;

/// Every log line of this test binary, at every level (including sqlx's statement logs).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const SECRETS: &[&str] = &[
    "legal winner thank year wave sausage worth useful legal winner thank yellow",
    "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi",
    "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ",
    "private key 0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
];

fn surrounding() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("help".to_string()),
            Just("my wallet was drained".to_string()),
            Just("钱包被盗了".to_string()),
            Just("/report".to_string()),
            Just("/note".to_string()),
            Just("\n".to_string()),
            "[a-z]{1,8}",
            "[0-9]{1,4}",
        ],
        0..6,
    )
    .prop_map(|w| w.join(" "))
}

#[test]
fn a_secret_never_reaches_a_reply_the_database_or_the_logs() {
    let logs = Logs::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = TestDb::sqlite();
    let app = rt.block_on(App::new(db.url()));
    // Start a dialogue, so some messages land as answers to intake questions.
    rt.block_on(app.say(&person("pat"), "/report"));
    let config = ProptestConfig {
        cases: 200,
        ..ProptestConfig::default()
    };
    proptest!(config, |(prefix in surrounding(), suffix in surrounding(), which in 0..SECRETS.len(), private in any::<bool>())| {
        let secret = SECRETS[which];
        let text = format!("{prefix} {secret} {suffix}");
        let handled = rt.block_on(app.handle(&person("pat"), &text, private));
        let core = secret.trim_start_matches("private key ");
        for out in &handled.out {
            prop_assert!(!out.text.contains(core), "reply repeats the secret: {}", out.text);
        }
        prop_assert!(!handled.out.is_empty(), "a secret always gets an answer");
        prop_assert_eq!(handled.delete_original, !private);
    });
    let stored = rt.block_on(everything_stored(db.url()));
    let logged = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(!logged.is_empty(), "the log capture works");
    for secret in SECRETS {
        let core = secret.trim_start_matches("private key ");
        assert!(!stored.contains(core), "stored: {core}");
        assert!(!logged.contains(core), "logged: {core}");
    }
}
