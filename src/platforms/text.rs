//! Text cut to a platform's limits, shared by the adapters.

/// Length as Telegram and Discord count it for their limits (UTF-16 code units; never
/// fewer than the characters).
pub fn units(s: &str) -> usize {
    s.encode_utf16().count()
}

/// `text` in pieces of at most `max` units, cut between lines where it can be and inside an
/// over-long line only where it must (never inside a character).
pub fn split(text: &str, max: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    for line in text.split_inclusive('\n') {
        if units(&cur) + units(line) <= max {
            cur.push_str(line);
            continue;
        }
        if !cur.is_empty() {
            parts.push(std::mem::take(&mut cur));
        }
        let mut rest = line;
        while units(rest) > max {
            let mut cut = 0;
            let mut n = 0;
            for (i, c) in rest.char_indices() {
                if n + c.len_utf16() > max {
                    break;
                }
                n += c.len_utf16();
                cut = i + c.len_utf8();
            }
            parts.push(rest[..cut].to_string());
            rest = &rest[cut..];
        }
        cur.push_str(rest);
    }
    parts.push(cur);
    let parts: Vec<String> = parts
        .into_iter()
        .map(|p| p.trim_end_matches('\n').to_string())
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() {
        // The platforms refuse an empty message.
        return vec![".".to_string()];
    }
    parts
}

/// At most `max` units of `text`, with an ellipsis when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if units(text) <= max {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        if units(&out) + c.len_utf16() + 1 > max {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}
