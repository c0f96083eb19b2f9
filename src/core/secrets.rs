//! Finds secrets (seed phrases, private keys, key files) in text a victim sends, so they are never stored or echoed.

use std::collections::HashMap;
use std::sync::OnceLock;

use bip39::{Language, Mnemonic};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    Mnemonic,
    PrivateKeyHex,
    Wif,
    ExtendedPrivateKey,
    SolanaSecretKey,
    KeystoreJson,
}

/// Where the text was entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    TxHash,
    FreeText,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assessment {
    Clean,
    /// Definitely a secret: never store, never echo; kinds found (deduplicated, in order)
    Secret(Vec<SecretKind>),
    /// A bare 64-hex string in free text: could be a tx hash or a private key; do not store
    AmbiguousHex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HexVerdict {
    Hash,
    Secret,
    Ambiguous,
}

const REDACTED: &str = "[redacted]";
const MNEMONIC_LENGTHS: [usize; 5] = [12, 15, 18, 21, 24];
/// Words that name a secret, lowercase. A 64-hex value next to one of these is a key.
#[rustfmt::skip]
const SECRET_WORDS: &[&str] = &[
    "private key", "private-key", "private_key", "privatekey", "privkey", "priv key",
    "secret key", "secret-key", "secret_key", "secretkey", "my key is", "seed",
    "mnemonic", "ciphertext", "私钥", "私鑰", "密钥", "密鑰",
    "秘钥", "秘鑰", "助记词", "助記詞",
];
/// Chinese words that introduce a seed phrase; with a valid checksum they allow unseparated characters.
#[rustfmt::skip]
const ZH_KEYWORDS: &[&str] = &[
    "助记词", "助記詞", "种子词", "種子詞", "私钥", "私鑰", "恢复短语", "恢復短語",
];
/// Explorer path segments right before a value that make it plainly a transaction hash.
const TX_URL_PARTS: &[&str] = &[
    "/tx/",
    "/txn/",
    "/transaction/",
    "/transactions/",
    "/extrinsic/",
];
const XPRV_PREFIXES: &[&str] = &["xprv", "yprv", "zprv", "tprv", "uprv", "vprv"];
const WIF_VERSIONS: [u8; 4] = [0x80, 0xef, 0xb0, 0x9e];
/// Bytes of context looked at on either side of a value.
const CONTEXT_BEFORE: usize = 80;
const CONTEXT_AFTER: usize = 40;

/// The one decision for a 64-hex value (with or without 0x): secret words nearby win, then the field.
pub fn classify_hex64(surrounding: &str, field: Field) -> HexVerdict {
    if has_secret_words(surrounding) {
        HexVerdict::Secret
    } else if field == Field::TxHash {
        HexVerdict::Hash
    } else {
        HexVerdict::Ambiguous
    }
}

pub fn assess(text: &str, field: Field) -> Assessment {
    let found = scan(text, field);
    let mut kinds: Vec<SecretKind> = Vec::new();
    let mut ambiguous = false;
    for f in &found {
        match f.what {
            Some(k) if !kinds.contains(&k) => kinds.push(k),
            Some(_) => {}
            None => ambiguous = true,
        }
    }
    if !kinds.is_empty() {
        Assessment::Secret(kinds)
    } else if ambiguous {
        Assessment::AmbiguousHex
    } else {
        Assessment::Clean
    }
}

/// Replace every secret AND every 64-hex run that is not obviously a tx hash in a tx context with "[redacted]"; used before logging or storing any free text. Must never panic.
///
/// Text is judged as free text; a hash inside an explorer transaction URL counts as a tx context.
/// A keystore JSON redacts the whole text, since its password is often sent alongside.
pub fn redact(text: &str) -> String {
    let mut found = scan(text, Field::FreeText);
    if found.is_empty() {
        return text.to_string();
    }
    found.sort_by_key(|f| (f.start, f.end));
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for f in found {
        if f.end <= pos {
            continue;
        }
        if f.start >= pos {
            out.push_str(text.get(pos..f.start).unwrap_or(""));
            out.push_str(REDACTED);
        }
        pos = f.end;
    }
    out.push_str(text.get(pos..).unwrap_or(""));
    out
}

/// A span of the text; `what` is None for an ambiguous 64-hex value.
struct Found {
    start: usize,
    end: usize,
    what: Option<SecretKind>,
}

fn scan(text: &str, field: Field) -> Vec<Found> {
    let mut out = Vec::new();
    if text.contains("\"ciphertext\"")
        && (text.contains("\"crypto\"") || text.contains("\"Crypto\""))
    {
        out.push(Found {
            start: 0,
            end: text.len(),
            what: Some(SecretKind::KeystoreJson),
        });
    }
    scan_json_arrays(text, &mut out);
    scan_compact(text, field, &mut out);
    scan_mnemonics(text, &mut out);
    out.sort_by_key(|f| f.start);
    out
}

fn has_secret_words(s: &str) -> bool {
    let lower = s.to_lowercase();
    SECRET_WORDS.iter().any(|w| lower.contains(w))
}

/// Largest char boundary <= i.
fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn context(text: &str, start: usize, end: usize) -> &str {
    let lo = floor_boundary(text, start.saturating_sub(CONTEXT_BEFORE));
    let mut hi = end.saturating_add(CONTEXT_AFTER).min(text.len());
    while !text.is_char_boundary(hi) {
        hi += 1;
    }
    text.get(lo..hi).unwrap_or("")
}

/// JSON arrays of exactly 64 integers 0-255 (a Solana keypair file).
fn scan_json_arrays(text: &str, out: &mut Vec<Found>) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'[' {
            i += 1;
            continue;
        }
        let start = i;
        let (mut count, mut cur, mut in_num, mut ok) = (0usize, 0u32, false, true);
        i += 1;
        while i < b.len() {
            match b[i] {
                c @ b'0'..=b'9' => {
                    cur = if in_num {
                        cur * 10 + u32::from(c - b'0')
                    } else {
                        u32::from(c - b'0')
                    };
                    in_num = true;
                    ok &= cur <= 255;
                    if cur > 255 {
                        cur = 256;
                    }
                }
                b',' | b' ' | b'\n' | b'\r' | b'\t' => {
                    count += usize::from(in_num);
                    in_num = false;
                }
                _ => break,
            }
            i += 1;
        }
        if i < b.len() && b[i] == b']' {
            count += usize::from(in_num);
            if ok && count == 64 {
                out.push(Found {
                    start,
                    end: i + 1,
                    what: Some(SecretKind::SolanaSecretKey),
                });
            }
            i += 1;
        }
    }
}

fn is_base58(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() && !matches!(b, b'0' | b'O' | b'I' | b'l'))
}

/// Runs of ASCII letters and digits: raw hex keys, WIF, extended keys, Solana keys.
fn scan_compact(text: &str, field: Field, out: &mut Vec<Found>) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_alphanumeric() {
            i += 1;
        }
        let run = &text[start..i];
        // An explorer transaction URL is a transaction context whatever the field.
        let before = &text[..start];
        let field = if TX_URL_PARTS.iter().any(|p| before.ends_with(p)) {
            Field::TxHash
        } else {
            field
        };
        if let Some(what) = classify_compact(run, field, || context(text, start, i)) {
            out.push(Found {
                start,
                end: i,
                what,
            });
        }
    }
}

/// None: nothing to flag. Some(None): ambiguous hex. Some(Some(kind)): a secret.
fn classify_compact<'a>(
    run: &str,
    field: Field,
    ctx: impl Fn() -> &'a str,
) -> Option<Option<SecretKind>> {
    let hex = run
        .strip_prefix("0x")
        .or_else(|| run.strip_prefix("0X"))
        .unwrap_or(run);
    let len = run.len();
    if hex.len() == 64 && hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        return match classify_hex64(ctx(), field) {
            HexVerdict::Hash => None,
            HexVerdict::Secret => Some(Some(SecretKind::PrivateKeyHex)),
            HexVerdict::Ambiguous => Some(None),
        };
    }
    if !is_base58(run) {
        return None;
    }
    // A typo'd extended key still leaks nearly all of it: prefix and length are enough.
    if len == 111 && XPRV_PREFIXES.iter().any(|p| run.starts_with(p)) {
        return Some(Some(SecretKind::ExtendedPrivateKey));
    }
    if len == 51 || len == 52 {
        let wif = bs58::decode(run)
            .with_check(None)
            .into_vec()
            .is_ok_and(|v| {
                v.first().is_some_and(|b| WIF_VERSIONS.contains(b))
                    && (v.len() == 33 || (v.len() == 34 && v[33] == 0x01))
            });
        return wif.then_some(Some(SecretKind::Wif));
    }
    if (80..=90).contains(&len) && bs58::decode(run).into_vec().is_ok_and(|v| v.len() == 64) {
        // A Solana transaction signature has the same shape as a secret key (64 bytes).
        // Where a transaction hash was asked for it is a signature unless secret words are
        // next to it; anywhere else it is treated as a secret key, since a false "secret"
        // costs a re-entry and a false "hash" can cost the rest of the wallet.
        let secret = field == Field::FreeText || has_secret_words(ctx());
        return secret.then_some(Some(SecretKind::SolanaSecretKey));
    }
    None
}

// ---- mnemonics ----

/// Separation between a token and the one before it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Gap {
    None,
    Space,
    Other,
}

struct Token {
    start: usize,
    end: usize,
    ideograph: bool,
    gap: Gap,
    /// Bit i set: the token is a word of `Language::ALL[i]`.
    langs: u16,
}

fn is_ideograph(c: char) -> bool {
    matches!(u32::from(c), 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF)
}

fn is_word_char(c: char) -> bool {
    (c.is_alphabetic() && !c.is_numeric())
        || matches!(u32::from(c), 0x0300..=0x036F | 0x3099..=0x309A)
}

/// NFKD word -> languages it belongs to, built once.
fn word_map() -> &'static HashMap<String, u16> {
    static MAP: OnceLock<HashMap<String, u16>> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut m: HashMap<String, u16> = HashMap::with_capacity(Language::ALL.len() * 2048);
        for (i, lang) in Language::ALL.iter().enumerate() {
            for w in lang.word_list() {
                *m.entry(w.nfkd().collect()).or_insert(0) |= 1 << i;
            }
        }
        m
    })
}

fn lookup(word: &str) -> u16 {
    if word.len() > 48 {
        return 0;
    }
    let norm: String = word.nfkd().flat_map(char::to_lowercase).collect();
    word_map().get(&norm).copied().unwrap_or(0)
}

fn token(text: &str, start: usize, end: usize, ideograph: bool, gap: Gap) -> Token {
    let langs = text.get(start..end).map_or(0, lookup);
    Token {
        start,
        end,
        ideograph,
        gap,
        langs,
    }
}

fn tokenize(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut word: Option<(usize, Gap)> = None;
    let mut gap = Gap::Space;
    for (i, c) in text.char_indices() {
        let ideo = is_ideograph(c);
        if !ideo && is_word_char(c) {
            if word.is_none() {
                word = Some((i, gap));
            }
            continue;
        }
        if let Some((s, g)) = word.take() {
            out.push(token(text, s, i, false, g));
            gap = Gap::None;
        }
        if ideo {
            out.push(token(text, i, i + c.len_utf8(), true, gap));
            gap = Gap::None;
        } else if c.is_whitespace() {
            if gap == Gap::None {
                gap = Gap::Space;
            }
        } else {
            gap = Gap::Other;
        }
    }
    if let Some((s, g)) = word {
        out.push(token(text, s, text.len(), false, g));
    }
    out
}

fn is_chinese(lang: Language) -> bool {
    matches!(
        lang,
        Language::SimplifiedChinese | Language::TraditionalChinese
    )
}

fn scan_mnemonics(text: &str, out: &mut Vec<Found>) {
    let toks = tokenize(text);
    if toks.len() < MNEMONIC_LENGTHS[0] {
        return;
    }
    let push = |out: &mut Vec<Found>, a: &Token, b: &Token| {
        out.push(Found {
            start: a.start,
            end: b.end,
            what: Some(SecretKind::Mnemonic),
        });
    };
    for (li, lang) in Language::ALL.iter().enumerate() {
        let bit = 1u16 << li;
        let zh = is_chinese(*lang);
        // Runs of consecutive list words; for Chinese each pair must also be separated,
        // since ordinary Chinese prose is made almost entirely of list characters.
        let flush = |out: &mut Vec<Found>, s: usize, len: usize| {
            if len >= MNEMONIC_LENGTHS[0] {
                push(out, &toks[s], &toks[s + len - 1]);
            }
        };
        let (mut s, mut len) = (0, 0);
        for (k, t) in toks.iter().enumerate() {
            let member = t.langs & bit != 0 && t.ideograph == zh;
            if member && len > 0 && (!zh || t.gap != Gap::None) {
                len += 1;
                continue;
            }
            flush(out, s, len);
            (s, len) = (k, usize::from(member));
        }
        flush(out, s, len);
        if zh {
            scan_zh_after_keyword(text, &toks, *lang, out);
        }
    }
}

/// Unseparated Chinese characters right after a keyword (助记词：…) with a valid checksum.
fn scan_zh_after_keyword(text: &str, toks: &[Token], lang: Language, out: &mut Vec<Found>) {
    let bit = Language::ALL
        .iter()
        .position(|l| *l == lang)
        .map_or(0, |i| 1u16 << i);
    let is = |k: usize, s: &str| {
        toks.get(k)
            .is_some_and(|t| text.get(t.start..t.end) == Some(s))
    };
    for kw in ZH_KEYWORDS {
        for (p, _) in text.match_indices(kw) {
            let end = p + kw.len();
            let mut k = toks.partition_point(|t| t.start < end);
            // Skip a connector such as 是 / 为 / 如下 when a separator follows it.
            if (is(k, "是") || is(k, "为") || is(k, "為"))
                && toks.get(k + 1).is_some_and(|t| t.gap != Gap::None)
            {
                k += 1;
            } else if is(k, "如")
                && is(k + 1, "下")
                && toks.get(k + 2).is_some_and(|t| t.gap != Gap::None)
            {
                k += 2;
            }
            let mut n = 0;
            while n <= MNEMONIC_LENGTHS[4]
                && toks.get(k + n).is_some_and(|t| {
                    t.ideograph && t.langs & bit != 0 && (n == 0 || t.gap != Gap::Other)
                })
            {
                n += 1;
            }
            if !MNEMONIC_LENGTHS.contains(&n) {
                continue;
            }
            let words: Vec<&str> = toks[k..k + n]
                .iter()
                .filter_map(|t| text.get(t.start..t.end))
                .collect();
            if Mnemonic::parse_in_normalized(lang, &words.join(" ")).is_ok() {
                out.push(Found {
                    start: toks[k].start,
                    end: toks[k + n - 1].end,
                    what: Some(SecretKind::Mnemonic),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ENGLISH: &str =
        "legal winner thank year wave sausage worth useful legal winner thank yellow";
    const XPRV: &str = "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi";
    const HEX: &str = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16";
    /// The Bitcoin wiki's WIF example.
    const WIF: &str = "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ";
    const KEYSTORE: &str = r#"{"address":"008aeeda4d805471df9b2a5b0f38a0c3bcba786b","crypto":{"cipher":"aes-128-ctr","ciphertext":"d172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c","kdf":"scrypt"},"version":3}"#;

    fn secret(kinds: &[SecretKind]) -> Assessment {
        Assessment::Secret(kinds.to_vec())
    }

    fn words(lang: Language, entropy: &[u8]) -> Vec<&'static str> {
        Mnemonic::from_entropy_in(lang, entropy)
            .unwrap()
            .words()
            .collect()
    }

    fn caught(text: &str) {
        assert_eq!(
            assess(text, Field::FreeText),
            secret(&[SecretKind::Mnemonic]),
            "{text}"
        );
        let r = redact(text);
        assert!(r.contains(REDACTED), "{r}");
    }

    fn clean(text: &str) {
        assert_eq!(assess(text, Field::FreeText), Assessment::Clean, "{text}");
        assert_eq!(assess(text, Field::TxHash), Assessment::Clean, "{text}");
        assert_eq!(redact(text), text);
    }

    #[test]
    fn english_mnemonic_forms() {
        caught(ENGLISH);
        assert_eq!(
            redact(&format!("xyzzy: {ENGLISH}. qwerty")),
            "xyzzy: [redacted]. qwerty"
        );
        // A neighbouring list word is redacted with the phrase: the run cannot be cut safely.
        assert_eq!(redact(&format!("my seed: {ENGLISH}")), "my [redacted]");
        let w: Vec<&str> = ENGLISH.split(' ').collect();
        let numbered: Vec<String> = w
            .iter()
            .enumerate()
            .map(|(i, x)| format!("{}. {x}", i + 1))
            .collect();
        caught(&numbered.join(" "));
        let paren: Vec<String> = w
            .iter()
            .enumerate()
            .map(|(i, x)| format!("{}) {x}", i + 1))
            .collect();
        caught(&paren.join("\n"));
        caught(&w.join(", "));
        caught(&format!(
            "{}\n{}\n{}",
            w[..4].join(" "),
            w[4..8].join(" "),
            w[8..].join(" ")
        ));
        caught(&ENGLISH.to_uppercase());
        // A failing checksum is still redacted.
        caught(&ENGLISH.replace("yellow", "thank"));
        let long = words(Language::English, &[0x5a; 32]).join(" ");
        caught(&long);
        assert!(!redact(&long).contains(long.split(' ').next_back().unwrap()));
        // Eleven words are not a phrase.
        clean(&w[..11].join(" "));
    }

    #[test]
    fn other_languages() {
        for lang in [
            Language::Japanese,
            Language::Spanish,
            Language::French,
            Language::Korean,
            Language::Czech,
        ] {
            let ws = words(lang, &[0x3c; 16]);
            let sep = if lang == Language::Japanese {
                "\u{3000}"
            } else {
                " "
            };
            // Wallets show composed text; the word lists are NFKD.
            let composed: String = ws.join(sep).nfc().collect();
            caught(&composed);
        }
    }

    #[test]
    fn chinese_mnemonics_separated() {
        for lang in [Language::SimplifiedChinese, Language::TraditionalChinese] {
            let ws = words(lang, &[0x7f; 16]);
            caught(&ws.join(" "));
            caught(&ws.join("，"));
            caught(&ws.join("、"));
            let numbered: Vec<String> = ws
                .iter()
                .enumerate()
                .map(|(i, x)| format!("{}.{x}", i + 1))
                .collect();
            caught(&numbered.join(" "));
            caught(&format!("我的助记词是 {} 请帮我看看", ws.join(" ")));
            let grid = format!(
                "{}\n{}\n{}",
                ws[..4].join(" "),
                ws[4..8].join(" "),
                ws[8..].join(" ")
            );
            caught(&grid);
            let r = redact(&format!("助记词：{}", ws.join(" ")));
            // 词 is a simplified list character, separated from the phrase by the colon.
            assert!(r == "助记[redacted]" || r == "助记词：[redacted]", "{r}");
        }
    }

    #[test]
    fn chinese_mnemonic_unseparated_needs_keyword_and_checksum() {
        let ws = words(Language::SimplifiedChinese, &[0x21; 16]);
        let joined = ws.concat();
        clean(&joined);
        caught(&format!("我的助记词：{joined}"));
        caught(&format!("种子词是：{joined}"));
        caught(&format!("助记词 {joined}"));
        // Without a valid checksum, unseparated characters stay prose.
        let mut bad = ws.clone();
        bad.swap(0, 1);
        if Mnemonic::parse_in_normalized(Language::SimplifiedChinese, &bad.join(" ")).is_err() {
            clean(&format!("助记词：{}", bad.concat()));
        }
    }

    #[test]
    fn chinese_prose_is_clean() {
        for s in [
            "我的钱包昨天晚上被盗了，所有的USDT都被转走了，客服一直不回复我，请问我应该怎么办？",
            "我在一个假的网站上输入了助记词，然后钱包里的钱全部没了，现在该怎么办",
            "昨天有人冒充客服让我提供私钥，我没给，但是我的币还是被转走了。",
            "我的助记词被泄露了吗？我从来没有把它告诉过任何人，也没有截图保存在手机相册里",
            "我的TRC20地址被别人修改了权限，现在无法转账，怎么回事？",
            "請問我的錢包被盜了該怎麼辦，我已經報警了，但是警察說這種案件很難處理",
            "今天早上我发现钱包里的以太坊全部不见了，交易记录显示转到了一个陌生的地址上面去了",
            "我点了一个空投链接，授权了一个合约，然后代币就被转走了，我的助记词应该是安全的吧",
        ] {
            clean(s);
        }
    }

    #[test]
    fn english_prose_is_clean() {
        for s in [
            "I left my wallet open and the money is gone now",
            "Someone drained my MetaMask wallet last night, all my USDT and ETH are gone. I never shared my seed phrase with anyone. What should I do?",
            "I clicked a link in an airdrop message and approved something, then my tokens were transferred to an unknown address",
            "Please help, the support agent asked me to verify my wallet and now everything is empty",
            "I think someone stole my crypto after I connected my wallet to a fake exchange website yesterday morning",
            "The police said they cannot do anything, my bank will not help either, and the exchange support team keeps sending automatic replies",
            "Scammers pretending to be a recovery service asked me for a fee of two thousand dollars to get my coins back",
            "어제 밤에 제 지갑이 해킹당해서 모든 코인이 사라졌습니다. 경찰에 신고했지만 아무 답변이 없습니다. 어떻게 해야 하나요?",
            "Ayer me robaron todos los fondos de mi billetera, el soporte no responde y la policía dice que no puede hacer nada",
            "Mon portefeuille a été vidé hier soir, tous mes jetons ont disparu et le service client ne répond pas",
            "昨日の夜、ウォレットの資金がすべて盗まれました。どうすればいいですか？",
        ] {
            clean(s);
        }
    }

    #[test]
    fn addresses_and_hashes_in_tx_field_are_clean() {
        for s in [
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
            "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
            HEX,
            &format!("0x{HEX}"),
            "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            &format!("tx {HEX} sent to 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
        ] {
            assert_eq!(assess(s, Field::TxHash), Assessment::Clean, "{s}");
        }
        assert_eq!(
            assess("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", Field::FreeText),
            Assessment::Clean
        );
    }

    // ---- the 64-hex rule, one test per case ----

    #[test]
    fn hex_in_tx_field_is_hash() {
        assert_eq!(classify_hex64(HEX, Field::TxHash), HexVerdict::Hash);
        assert_eq!(
            assess(&format!("0x{HEX}"), Field::TxHash),
            Assessment::Clean
        );
    }

    #[test]
    fn hex_in_tx_field_next_to_secret_words_is_secret() {
        for s in [
            format!("private key {HEX}"),
            format!("my key is 0x{HEX}"),
            format!("私钥：{HEX}"),
        ] {
            assert_eq!(classify_hex64(&s, Field::TxHash), HexVerdict::Secret);
            assert_eq!(
                assess(&s, Field::TxHash),
                secret(&[SecretKind::PrivateKeyHex])
            );
        }
    }

    #[test]
    fn hex_in_free_text_next_to_secret_words_is_secret() {
        for s in [
            format!("here is my privkey: 0x{HEX} please check"),
            format!("Secret Key = {HEX}"),
            format!("这是我的密钥 {HEX}"),
            format!("秘钥{HEX}"),
            format!("my seed {HEX}"),
            format!("助记词 {HEX}"),
        ] {
            assert_eq!(
                classify_hex64(&s, Field::FreeText),
                HexVerdict::Secret,
                "{s}"
            );
            assert_eq!(
                assess(&s, Field::FreeText),
                secret(&[SecretKind::PrivateKeyHex]),
                "{s}"
            );
            assert!(!redact(&s).contains(HEX));
        }
    }

    #[test]
    fn bare_hex_in_free_text_is_ambiguous() {
        let s = format!("what happened with {HEX}?");
        assert_eq!(classify_hex64(&s, Field::FreeText), HexVerdict::Ambiguous);
        assert_eq!(assess(&s, Field::FreeText), Assessment::AmbiguousHex);
        assert_eq!(redact(&s), "what happened with [redacted]?");
        assert_eq!(redact(&format!("0x{HEX}")), REDACTED);
    }

    #[test]
    fn hex_in_explorer_tx_url_is_hash() {
        let s = format!("see https://etherscan.io/tx/0x{HEX} and https://mempool.space/tx/{HEX}");
        assert_eq!(assess(&s, Field::FreeText), Assessment::Clean);
        assert_eq!(redact(&s), s);
        let leak = format!("my private key https://etherscan.io/tx/0x{HEX}");
        assert_eq!(
            assess(&leak, Field::FreeText),
            secret(&[SecretKind::PrivateKeyHex])
        );
    }

    #[test]
    fn other_hex_lengths_ignored() {
        let s = format!("{HEX}ab 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
        assert_eq!(assess(&s, Field::FreeText), Assessment::Clean);
    }

    #[test]
    fn wif() {
        let raw = bs58::decode(WIF).with_check(Some(0x80)).into_vec().unwrap();
        assert_eq!(raw.len(), 33);
        let mut compressed = raw.clone();
        compressed.push(0x01);
        let k = bs58::encode(&compressed).with_check().into_string();
        assert!(k.starts_with('K') || k.starts_with('L'));
        let mut testnet = compressed.clone();
        testnet[0] = 0xef;
        let c = bs58::encode(&testnet).with_check().into_string();
        assert!(c.starts_with('c'));
        for w in [WIF, k.as_str(), c.as_str()] {
            let s = format!("key {w} thanks");
            assert_eq!(assess(&s, Field::FreeText), secret(&[SecretKind::Wif]));
            assert_eq!(assess(&s, Field::TxHash), secret(&[SecretKind::Wif]));
            assert_eq!(redact(&s), "key [redacted] thanks");
        }
        // One character changed: the checksum fails, so it is not a WIF.
        let typo = WIF.replace("rMjx", "rMjy");
        assert_eq!(assess(&typo, Field::FreeText), Assessment::Clean);
    }

    #[test]
    fn extended_private_key() {
        assert!(
            bs58::decode(XPRV)
                .with_check(None)
                .into_vec()
                .is_ok_and(|v| v.len() == 78)
        );
        let s = format!("backup: {XPRV}");
        assert_eq!(
            assess(&s, Field::FreeText),
            secret(&[SecretKind::ExtendedPrivateKey])
        );
        assert_eq!(redact(&s), "backup: [redacted]");
        // A typo'd extended key still leaks it: flagged on prefix and length.
        let typo = XPRV.replace("QTDL", "QTDM");
        assert_eq!(
            assess(&typo, Field::TxHash),
            secret(&[SecretKind::ExtendedPrivateKey])
        );
        let xpub = XPRV.replacen("xprv", "xpub", 1);
        assert_eq!(assess(&xpub, Field::FreeText), Assessment::Clean);
    }

    #[test]
    fn solana_secret_key() {
        let b58 = bs58::encode([9u8; 64]).into_string();
        assert_eq!(
            assess(&b58, Field::FreeText),
            secret(&[SecretKind::SolanaSecretKey])
        );
        assert_eq!(redact(&format!("sol {b58}")), "sol [redacted]");
        // The same shape is a transaction signature where a hash was asked for.
        assert_eq!(assess(&b58, Field::TxHash), Assessment::Clean);
        assert_eq!(
            assess(&format!("secret key {b58}"), Field::TxHash),
            secret(&[SecretKind::SolanaSecretKey])
        );
        assert_eq!(
            assess(&format!("https://solscan.io/tx/{b58}"), Field::FreeText),
            Assessment::Clean
        );
        let nums: Vec<String> = (0..64).map(|i| (i * 4).to_string()).collect();
        let json = format!("[{}]", nums.join(","));
        assert_eq!(
            assess(&json, Field::TxHash),
            secret(&[SecretKind::SolanaSecretKey])
        );
        assert_eq!(
            redact(&format!("id.json: {json} ok")),
            "id.json: [redacted] ok"
        );
        let spaced = format!("[ {} ]", nums.join(", "));
        assert_eq!(
            assess(&spaced, Field::FreeText),
            secret(&[SecretKind::SolanaSecretKey])
        );
        assert_eq!(
            assess(&format!("[{}]", nums[..63].join(",")), Field::FreeText),
            Assessment::Clean
        );
        assert_eq!(
            assess(&json.replace("[0,", "[256,"), Field::FreeText),
            Assessment::Clean
        );
    }

    #[test]
    fn keystore_json() {
        assert_eq!(
            assess(KEYSTORE, Field::FreeText),
            secret(&[SecretKind::KeystoreJson, SecretKind::PrivateKeyHex])
        );
        assert_eq!(redact(&format!("{KEYSTORE} password hunter2")), REDACTED);
        let upper = KEYSTORE.replace("\"crypto\"", "\"Crypto\"");
        assert!(
            matches!(assess(&upper, Field::TxHash), Assessment::Secret(k) if k[0] == SecretKind::KeystoreJson)
        );
    }

    #[test]
    fn kinds_in_order_deduplicated() {
        let s = format!("{XPRV} then {ENGLISH} then {XPRV}");
        assert_eq!(
            assess(&s, Field::FreeText),
            secret(&[SecretKind::ExtendedPrivateKey, SecretKind::Mnemonic])
        );
    }

    #[test]
    fn adversarial_input_is_fast() {
        let t = std::time::Instant::now();
        for s in [
            "私钥".repeat(20_000),
            "助记词的是不了".repeat(10_000),
            "legal ".repeat(20_000),
            "[1,".repeat(20_000),
            "a".repeat(100_000),
            format!("{HEX} ").repeat(1_000),
            "的 ".repeat(30_000),
        ] {
            let _ = assess(&s, Field::FreeText);
            let _ = redact(&s);
        }
        assert!(t.elapsed().as_secs() < 10, "{:?}", t.elapsed());
    }

    #[test]
    fn long_input_is_fast() {
        let prose = "我的钱包昨天晚上被盗了，所有的USDT都被转走了，客服一直不回复我，请问我应该怎么办？ I left my wallet open and the money is gone now. ";
        let big = prose.repeat(2000);
        let t = std::time::Instant::now();
        assert_eq!(assess(&big, Field::FreeText), Assessment::Clean);
        assert!(t.elapsed().as_secs() < 5);
    }

    fn embedded_secret() -> impl Strategy<Value = String> {
        (0u8..7, any::<[u8; 32]>(), any::<bool>()).prop_map(|(kind, bytes, flag)| match kind {
            0 => words(Language::English, &bytes[..if flag { 16 } else { 32 }]).join(" "),
            1 => words(Language::SimplifiedChinese, &bytes[..16]).join(if flag {
                " "
            } else {
                "，"
            }),
            2 => format!("{}{}", if flag { "0x" } else { "" }, hex::encode(bytes)),
            3 => {
                let mut v = vec![0x80];
                v.extend_from_slice(&bytes);
                if flag {
                    v.push(0x01);
                }
                bs58::encode(v).with_check().into_string()
            }
            4 => {
                let mut v = vec![0x04, 0x88, 0xad, 0xe4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
                v.extend_from_slice(&bytes);
                v.push(0);
                v.extend_from_slice(&bytes);
                bs58::encode(v).with_check().into_string()
            }
            5 => {
                let mut v = bytes.to_vec();
                v.extend_from_slice(&bytes);
                bs58::encode(v).into_string()
            }
            _ => {
                let n: Vec<String> = bytes
                    .iter()
                    .chain(bytes.iter())
                    .map(|b| b.to_string())
                    .collect();
                format!("[{}]", n.join(","))
            }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = redact(&s);
            let _ = assess(&s, Field::FreeText);
            let _ = assess(&s, Field::TxHash);
        }

        #[test]
        fn never_panics_on_mixed_text(s in "[a-z0-9\\[\\], 的是不了\u{3000}0xX\\PC]{0,300}") {
            let _ = redact(&s);
            let _ = assess(&s, Field::FreeText);
        }

        #[test]
        fn embedded_secret_is_redacted(
            secret in embedded_secret(),
            pre in "[a-zA-Z ,.!?]{0,40}",
            post in "[a-zA-Z ,.!?]{0,40}",
        ) {
            let text = format!("{pre} {secret} {post}");
            prop_assert!(!redact(&text).contains(&secret));
            prop_assert_ne!(assess(&text, Field::FreeText), Assessment::Clean);
        }
    }
}
