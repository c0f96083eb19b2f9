//! The secret scanner and the evidence parsers at scale: they never panic on any text, and a
//! secret of every kind, inside random surrounding text, is always flagged and redacted.
//!
//! `cargo test --test secrets_props` (about 2,000 cases per panic property and 1,000 per
//! secret kind; a few seconds in a debug build).

use bip39::{Language, Mnemonic};
use proptest::prelude::*;
use recourse::core::evidence::{Address, Chain, TxHash, chains_for_address, chains_for_tx};
use recourse::core::secrets::{Assessment, Field, SecretKind, assess, redact};
use unicode_normalization::UnicodeNormalization;

/// The BIP39 English vector for entropy 7f x 16.
const ENGLISH: &str = "legal winner thank year wave sausage worth useful legal winner thank yellow";
/// BIP32 test vector 1, master key.
const XPRV: &str = "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi";
/// The Bitcoin wiki's WIF example.
const WIF: &str = "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ";

const PANIC_CASES: u32 = 2_000;
const SECRET_CASES: u32 = 1_000;
const MAX_CHARS: usize = 5_000;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// Everything a message can go through; none of it may panic.
fn exercise(s: &str) {
    let _ = redact(s);
    let _ = assess(s, Field::FreeText);
    let _ = assess(s, Field::TxHash);
    for chain in Chain::ALL {
        let _ = TxHash::parse(chain, s);
        let _ = Address::parse(chain, s);
    }
    let _ = chains_for_tx(s);
    let _ = chains_for_address(s);
}

// ---- generators ----

/// Any unicode text, up to `MAX_CHARS` characters.
fn any_text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..=MAX_CHARS).prop_map(String::from_iter)
}

/// Text over the characters the scanners look at: hex, base58, brackets and digits, list
/// characters and keywords, ideographic space, combining marks, plus any printable character.
fn scanner_text() -> impl Strategy<Value = String> {
    "[0-9a-fA-FxXkprvKL\\[\\],: \n\t的是不了助记词私钥种子为如下\u{3000}\u{0301}\u{3099}/\\PC]{0,5000}"
}

/// Pieces that drive the scanners into their deeper paths, joined at random.
fn piece() -> impl Strategy<Value = String> {
    let zh_word = (0usize..2048, prop::bool::ANY).prop_map(|(i, simplified)| {
        let lang = if simplified {
            Language::SimplifiedChinese
        } else {
            Language::TraditionalChinese
        };
        lang.word_list()[i].to_string()
    });
    let any_word = (prop::sample::select(Language::ALL.to_vec()), 0usize..2048)
        .prop_map(|(lang, i)| lang.word_list()[i].to_string());
    prop_oneof![
        4 => zh_word,
        4 => any_word,
        2 => prop::sample::select(vec![
            " ", " ", "\n", "，", "、", "：", ":", ". ", ", ", "\u{3000}", "1.", "12)", "是",
            "如", "下", "为", "助记词", "種子詞", "私钥", "private key", "seed", "/tx/",
            "https://etherscan.io/tx/0x", "[", "]", "255,", "0,", "0x", "\"ciphertext\"",
            "\"crypto\"", "xprv", "\u{0301}", "\u{3099}",
        ])
        .prop_map(str::to_string),
        1 => "[0-9a-fA-F]{60,68}",
        1 => "[1-9A-HJ-NP-Za-km-z]{49,112}",
    ]
}

fn pieces_text() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..600).prop_map(|v| v.concat())
}

/// Short inputs in the alphabets of hashes and addresses, where the parsers do real work.
fn evidence_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ \t]{0,2}(0x|0X|bc1|bc1q|bc1p|ltc1|EQ|UQ|T|1|3|D|L|-1:|0:)?[0-9a-zA-Z_+/=\\-]{0,100}[ \n]{0,2}",
        "[0-9a-fA-F:]{0,80}",
        "[1-9A-HJ-NP-Za-km-z]{0,100}",
        "\\PC{0,210}",
    ]
}

/// Surrounding text: words, punctuation, newlines, CJK characters and phrases.
fn filler() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        6 => prop::sample::select(vec![
            "my ", "wallet ", "was ", "drained ", "please ", "help ", "the ", "scammer ", "took ",
            "all ", "USDT ", "yesterday ", "support ", "never ", "answered ", "legal ", "winner ",
            "seed ", "phrase ", "key ", "here ", "is ", "and ", "I ", "lost ", "Binance ",
            "MetaMask", "ok", "tx", "0x", "12", "2024", "#1",
        ])
        .prop_map(str::to_string),
        3 => prop::sample::select(vec![
            ".", ",", "!", "?", ":", ";", "(", ")", "\"", "'", "-", "…", "，", "。", "：", "！",
        ])
        .prop_map(str::to_string),
        2 => prop::sample::select(vec!["\n", "\n\n", "\r\n", " "]).prop_map(str::to_string),
        3 => "[\u{4e00}-\u{9fff}]{1,6}",
        2 => prop::sample::select(vec![
            "我的钱包被盗了", "请帮帮我", "助记词", "私钥", "怎么办", "客服不回复", "的", "是",
        ])
        .prop_map(str::to_string),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

/// Whitespace between the surrounding text and the secret.
fn gap() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![" ", "\n", "\t", "  ", "\r\n", " \n"])
}

/// `pre`, whitespace, the secret, whitespace, `post`.
fn embedded(secret: impl Strategy<Value = String>) -> impl Strategy<Value = (String, String)> {
    (filler(), gap(), secret, gap(), filler())
        .prop_map(|(pre, a, s, b, post)| (format!("{pre}{a}{s}{b}{post}"), s))
}

fn mnemonic_words(lang: Language, entropy: &[u8]) -> Vec<String> {
    Mnemonic::from_entropy_in(lang, entropy)
        .expect("valid entropy length")
        .words()
        .map(str::to_string)
        .collect()
}

/// Every run of 12 consecutive words, joined as in the text.
fn windows(words: &[String], sep: &str) -> Vec<String> {
    words.windows(12).map(|w| w.join(sep)).collect()
}

fn is_flagged(text: &str) -> bool {
    assess(text, Field::FreeText) != Assessment::Clean
}

fn flags_mnemonic(text: &str) -> bool {
    matches!(assess(text, Field::FreeText), Assessment::Secret(k) if k.contains(&SecretKind::Mnemonic))
}

/// A generated mnemonic: (language, joined text, words, separator).
fn generated_mnemonic(
    langs: Vec<Language>,
) -> impl Strategy<Value = (Language, String, Vec<String>, &'static str)> {
    (
        prop::sample::select(langs),
        any::<[u8; 32]>(),
        prop::sample::select(vec![16usize, 32]),
        prop::sample::select(vec![" ", "\u{3000}"]),
        any::<bool>(),
    )
        .prop_map(|(lang, entropy, n, sep, compose)| {
            let sep = if lang == Language::Japanese { sep } else { " " };
            let words: Vec<String> = mnemonic_words(lang, &entropy[..n])
                .into_iter()
                // Wallets show composed text; the lists are NFKD.
                .map(|w| if compose { w.nfc().collect() } else { w })
                .collect();
            (lang, words.join(sep), words, sep)
        })
}

fn wif() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![0x80u8, 0xef, 0xb0, 0x9e]),
        any::<[u8; 32]>(),
        any::<bool>(),
    )
        .prop_map(|(version, key, compressed)| {
            let mut v = vec![version];
            v.extend_from_slice(&key);
            if compressed {
                v.push(0x01);
            }
            bs58::encode(v).with_check().into_string()
        })
}

fn solana_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 64)
}

fn solana_json() -> impl Strategy<Value = String> {
    (
        solana_bytes(),
        prop::sample::select(vec![",", ", ", ",\n  "]),
    )
        .prop_map(|(b, sep)| {
            let n: Vec<String> = b.iter().map(u8::to_string).collect();
            if sep.contains('\n') {
                format!("[\n  {}\n]", n.join(sep))
            } else {
                format!("[{}]", n.join(sep))
            }
        })
}

// ---- (a) nothing panics ----

proptest! {
    #![proptest_config(config(PANIC_CASES))]

    #[test]
    fn never_panics_on_any_unicode(s in any_text()) {
        exercise(&s);
    }

    #[test]
    fn never_panics_on_scanner_alphabet(s in scanner_text()) {
        exercise(&s);
    }

    #[test]
    fn never_panics_on_secret_pieces(s in pieces_text()) {
        exercise(&s);
    }

    #[test]
    fn evidence_parsers_never_panic(s in evidence_text()) {
        exercise(&s);
    }
}

// ---- (b) every secret kind, in random surrounding text ----

proptest! {
    #![proptest_config(config(SECRET_CASES))]

    #[test]
    fn english_vector_is_redacted((text, secret) in embedded(Just(ENGLISH.to_string()))) {
        let r = redact(&text);
        prop_assert!(!r.contains(&secret), "leaked in {r:?}");
        prop_assert!(flags_mnemonic(&text), "{text:?}");
    }

    #[test]
    fn generated_mnemonic_is_redacted(
        (lang, secret, words, sep) in generated_mnemonic(Language::ALL.to_vec()),
        pre in filler(),
        a in gap(),
        b in gap(),
        post in filler(),
    ) {
        let text = format!("{pre}{a}{secret}{b}{post}");
        let r = redact(&text);
        prop_assert!(!r.contains(&secret), "{lang:?}: leaked in {r:?}");
        for w in windows(&words, sep) {
            prop_assert!(!r.contains(&w), "{lang:?}: 12 words leaked in {r:?}");
        }
        prop_assert!(flags_mnemonic(&text), "{lang:?}: {text:?}");
    }

    #[test]
    fn generated_chinese_mnemonic_is_redacted(
        (lang, secret, words, sep) in generated_mnemonic(vec![
            Language::SimplifiedChinese,
            Language::TraditionalChinese,
        ]),
        pre in filler(),
        a in gap(),
        b in gap(),
        post in filler(),
    ) {
        let text = format!("{pre}{a}{secret}{b}{post}");
        let r = redact(&text);
        prop_assert!(!r.contains(&secret), "{lang:?}: leaked in {r:?}");
        for w in windows(&words, sep) {
            prop_assert!(!r.contains(&w), "{lang:?}: 12 words leaked in {r:?}");
        }
        prop_assert!(flags_mnemonic(&text), "{lang:?}: {text:?}");
    }

    #[test]
    fn hex_private_key_is_redacted(
        key in any::<[u8; 32]>(),
        upper in any::<bool>(),
        prefix in prop::sample::select(vec!["", "0x"]),
        label in prop::sample::select(vec![
            "private key ", "private key: ", "Private Key = ", "my private key is ",
            "PRIVATE KEY\n",
        ]),
        pre in filler(),
        a in gap(),
        b in gap(),
        post in filler(),
    ) {
        let hex = if upper { hex::encode_upper(key) } else { hex::encode(key) };
        let text = format!("{pre}{a}{label}{prefix}{hex}{b}{post}");
        let r = redact(&text);
        prop_assert!(!r.contains(&hex), "leaked in {r:?}");
        prop_assert!(
            matches!(
                assess(&text, Field::FreeText),
                Assessment::Secret(k) if k.contains(&SecretKind::PrivateKeyHex)
            ),
            "{text:?}"
        );
    }

    #[test]
    fn xprv_is_redacted(
        (text, secret) in embedded(prop_oneof![
            Just(XPRV.to_string()),
            (any::<[u8; 32]>(), any::<[u8; 32]>()).prop_map(|(chain_code, key)| {
                let mut v = vec![0x04, 0x88, 0xad, 0xe4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
                v.extend_from_slice(&chain_code);
                v.push(0);
                v.extend_from_slice(&key);
                bs58::encode(v).with_check().into_string()
            }),
        ]),
    ) {
        let r = redact(&text);
        prop_assert!(!r.contains(&secret), "leaked in {r:?}");
        prop_assert!(is_flagged(&text), "{text:?}");
    }

    #[test]
    fn wif_is_redacted((text, secret) in embedded(prop_oneof![Just(WIF.to_string()), wif()])) {
        let r = redact(&text);
        prop_assert!(!r.contains(&secret), "leaked in {r:?}");
        prop_assert!(is_flagged(&text), "{text:?}");
    }

    #[test]
    fn solana_base58_key_is_redacted(
        (text, secret) in embedded(solana_bytes().prop_map(|b| bs58::encode(b).into_string())),
    ) {
        let r = redact(&text);
        prop_assert!(!r.contains(&secret), "leaked in {r:?}");
        prop_assert!(is_flagged(&text), "{text:?}");
    }

    #[test]
    fn solana_json_key_is_redacted((text, secret) in embedded(solana_json())) {
        let r = redact(&text);
        prop_assert!(!r.contains(&secret), "leaked in {r:?}");
        prop_assert!(is_flagged(&text), "{text:?}");
    }
}

// ---- (c) the forms wallets and victims write phrases in ----

/// The phrase written as a numbered list, a comma list or one word per line; returns the
/// text and every pair of consecutive items as written (none may survive redaction).
fn formatted(words: &[String], form: u8, lang: Language) -> (String, Vec<String>) {
    let items: Vec<String> = match form {
        0 => words
            .iter()
            .enumerate()
            .map(|(i, w)| format!("{}. {w}", i + 1))
            .collect(),
        1 => words
            .iter()
            .enumerate()
            .map(|(i, w)| format!("{}.{w}", i + 1))
            .collect(),
        2 => words
            .iter()
            .enumerate()
            .map(|(i, w)| format!("{}) {w}", i + 1))
            .collect(),
        _ => words.to_vec(),
    };
    let zh = matches!(
        lang,
        Language::SimplifiedChinese | Language::TraditionalChinese
    );
    let sep = match form {
        0..=2 => " ",
        3 => ", ",
        4 if zh => "，",
        4 => ",",
        5 => "\n",
        _ => "\r\n",
    };
    let pairs = items.windows(2).map(|p| p.join(sep)).collect();
    (items.join(sep), pairs)
}

proptest! {
    #![proptest_config(config(SECRET_CASES))]

    #[test]
    fn listed_mnemonic_forms_are_caught(
        lang in prop::sample::select(Language::ALL.to_vec()),
        entropy in any::<[u8; 32]>(),
        n in prop::sample::select(vec![16usize, 20, 24, 28, 32]),
        form in 0u8..7,
        pre in filler(),
        a in gap(),
        b in gap(),
        post in filler(),
    ) {
        let words = mnemonic_words(lang, &entropy[..n]);
        let (list, pairs) = formatted(&words, form, lang);
        let text = format!("{pre}{a}{list}{b}{post}");
        prop_assert!(flags_mnemonic(&text), "{lang:?} form {form}: {text:?}");
        let r = redact(&text);
        for p in &pairs {
            prop_assert!(!r.contains(p), "{lang:?} form {form}: {p:?} leaked in {r:?}");
        }
    }

    #[test]
    fn listed_english_vector_is_caught(form in 0u8..7, pre in filler(), post in filler()) {
        let words: Vec<String> = ENGLISH.split(' ').map(str::to_string).collect();
        let (list, pairs) = formatted(&words, form, Language::English);
        let text = format!("{pre}\n{list}\n{post}");
        prop_assert!(flags_mnemonic(&text), "form {form}: {text:?}");
        let r = redact(&text);
        for p in &pairs {
            prop_assert!(!r.contains(p), "form {form}: {p:?} leaked in {r:?}");
        }
    }
}
