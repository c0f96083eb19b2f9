//! Throughput of the secret scanner on the messages the bot sees: a short chat line, the
//! longest message accepted (4,000 characters) in English and in Chinese, and a long message
//! with a seed phrase and a private key in it. Reported as messages per second.
//!
//! `cargo bench --bench redactor`

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use recourse::core::secrets::{Assessment, Field, assess, redact};

/// The bot's longest message, in characters.
const MAX_CHARS: usize = 4_000;

const SHORT: &str =
    "Someone drained my wallet last night, all my USDT is gone. What should I do now?";

const ENGLISH_PROSE: &str = "Someone drained my MetaMask wallet last night, all my USDT and ETH are gone. \
I never shared my seed phrase with anyone. The support agent asked me to verify my wallet \
and now everything is empty. The police said they cannot do anything, my bank will not help \
either, and the exchange support team keeps sending automatic replies. What should I do?\n";

const CHINESE_PROSE: &str = "我的钱包昨天晚上被盗了，所有的USDT都被转走了，客服一直不回复我，请问我应该怎么办？\
我在一个假的网站上输入了助记词，然后钱包里的钱全部没了。今天早上我发现钱包里的以太坊全部不见了，\
交易记录显示转到了一个陌生的地址上面去了。我点了一个空投链接，授权了一个合约，然后代币就被转走了。\n";

/// BIP39 test vector (entropy 7f x 16).
const MNEMONIC: &str =
    "legal winner thank year wave sausage worth useful legal winner thank yellow";
const KEY_HEX: &str = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16";

/// `unit` repeated and cut to exactly `chars` characters.
fn filled(unit: &str, chars: usize) -> String {
    unit.chars().cycle().take(chars).collect()
}

/// English prose of exactly `MAX_CHARS` characters with a seed phrase and a private key in it.
fn with_secrets() -> String {
    let secrets =
        format!("\nMy seed phrase was {MNEMONIC} and my private key is {KEY_HEX} if that helps.\n");
    let rest = MAX_CHARS - secrets.chars().count();
    let head = filled(ENGLISH_PROSE, rest / 2);
    let tail = filled(ENGLISH_PROSE, rest - rest / 2);
    format!("{head}{secrets}{tail}")
}

fn cases() -> Vec<(&'static str, String)> {
    let cases = vec![
        ("short_80", SHORT.to_string()),
        ("english_4000", filled(ENGLISH_PROSE, MAX_CHARS)),
        ("chinese_4000", filled(CHINESE_PROSE, MAX_CHARS)),
        ("secrets_4000", with_secrets()),
    ];
    // The inputs are what their names say, so the figures mean what they claim.
    for (name, text) in &cases {
        let clean = *name != "secrets_4000";
        let n = text.chars().count();
        assert!(
            if *name == "short_80" {
                (70..=90).contains(&n)
            } else {
                n == MAX_CHARS
            },
            "{name}: {n} chars"
        );
        assert_eq!(
            assess(text, Field::FreeText) == Assessment::Clean,
            clean,
            "{name}"
        );
        let r = redact(text);
        assert_eq!(r == *text, clean, "{name}");
        assert!(!r.contains(KEY_HEX) && !r.contains("sausage"), "{name}");
    }
    cases
}

fn bench(c: &mut Criterion) {
    let cases = cases();
    let mut g = c.benchmark_group("secrets");
    g.throughput(Throughput::Elements(1));
    for (name, text) in &cases {
        g.bench_with_input(BenchmarkId::new("redact", name), text, |b, t| {
            b.iter(|| redact(black_box(t)))
        });
        g.bench_with_input(BenchmarkId::new("assess_free_text", name), text, |b, t| {
            b.iter(|| assess(black_box(t), Field::FreeText))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
