//! Support responsiveness per company, from the cases' timelines, kept incrementally.
//!
//! Each case contributes a handful of counters (its [`Facts`]): reported, contacted support,
//! answered at all, reached a public post, a complaint, the authorities, resolved; the time
//! from first contact to first support reply in a geometric bucket; and, while support is
//! silent, the day of first contact (so "still silent at N days" is read at any later time).
//! The store keeps them summed per company: all time, per day of report and per block of 4
//! and of 16 days of report (for the last 30 days). The counts are one row each; the reply
//! times and the silences of one company and scope are one [`Dist`], a single row, so `/stats`
//! reads a few rows per company however many cases and days there are. Every save adds the
//! difference between the case's facts before and after, in the same transaction.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::core::case::{Case, CaseStatus};
use crate::core::company::{Companies, Company, fold};
use crate::core::identity::Locale;
use crate::core::ladder::StepKind;

/// The scope of all-time counters; other scopes are days since the epoch (of the report).
pub const ALL_TIME: i64 = -1;
/// The "recent" column covers cases reported in this many days.
pub const RECENT_DAYS: i64 = 30;
/// Reply-time buckets grow by this factor: any figure is within 5% of the true one.
const BUCKET_GROWTH: f64 = 1.1;

/// What one case adds to its company's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    pub company: String,
    pub name: String,
    /// Day of the report (days since 1970-01-01, UTC).
    pub day: i64,
    /// Support was contacted: when first.
    pub contacted: Option<DateTime<Utc>>,
    /// Support answered (victim-recorded or a support-role reply): when first.
    pub answered: Option<DateTime<Utc>>,
    pub public: bool,
    pub complaint: bool,
    pub authorities: bool,
    pub resolved: bool,
}

fn builtin() -> &'static Companies {
    static TABLE: OnceLock<Companies> = OnceLock::new();
    TABLE.get_or_init(Companies::builtin)
}

pub fn day_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(86_400)
}

/// The company a case counts under: the one recorded at intake (with the settings' aliases
/// and the community's company), else, for cases filed before that, its wallet as the shipped
/// table knows it.
pub fn company_of(case: &Case) -> Option<Company> {
    match &case.report.company {
        Some(name) if !fold(name).is_empty() => Some(Company {
            key: fold(name),
            name: name.clone(),
        }),
        _ => builtin().normalise(case.report.wallet.as_deref()?),
    }
}

/// A case's facts; `None` for a case that names no company.
pub fn facts(case: &Case) -> Option<Facts> {
    let company = company_of(case)?;
    let contacted = case.contacts.iter().map(|c| c.at).min();
    let answered = case.replies.iter().map(|r| r.at).min();
    let reached = |k: StepKind| case.progress.kinds.contains(&k);
    Some(Facts {
        company: company.key,
        name: company.name,
        day: day_of(case.created_at),
        contacted,
        answered,
        public: case.published_posts > 0,
        complaint: reached(StepKind::Complaint),
        authorities: reached(StepKind::Authorities),
        resolved: case.status == CaseStatus::Resolved,
    })
}

/// Whether an event can change a case's facts (other saves leave the counters alone).
pub fn touches(kind: &crate::core::case::EventKind) -> bool {
    use crate::core::case::EventKind as K;
    matches!(
        kind,
        K::Reported { .. }
            | K::SupportContacted(_)
            | K::SupportReplied { .. }
            | K::StepTaken { .. }
            | K::PostApproved
            | K::Resolved
    )
}

/// One counter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Cell {
    pub scope: i64,
    pub company: String,
    pub metric: &'static str,
    pub bucket: i64,
}

/// The reply-time bucket of a duration (in seconds, a minute at least).
pub fn reply_bucket(d: Duration) -> i64 {
    let secs = d.num_seconds().max(60) as f64;
    ((secs / 60.0).ln() / BUCKET_GROWTH.ln()).floor() as i64
}

/// The middle of a bucket.
pub fn bucket_value(b: i64) -> Duration {
    let secs = 60.0 * BUCKET_GROWTH.powf(b as f64 + 0.5);
    Duration::seconds(secs.round() as i64)
}

/// The counts, one counter row each (bucket 0): every metric [`cells`] writes but those of a
/// distribution ([`DISTRIBUTED`]).
pub const COUNTED: [&str; 7] = [
    "reported",
    "contacted",
    "answered",
    "public",
    "complaint",
    "authorities",
    "resolved",
];

/// The metrics kept as distributions ([`Dist`], one row per company and scope): `reply` by
/// reply-time bucket, `silent` by day of first contact.
pub const DISTRIBUTED: [&str; 2] = ["reply", "silent"];

/// One company's reply times and silences in one scope, as the store keeps them in one row:
/// `r<bucket>:<cases>` and `s<day>:<cases>` separated by spaces, in no particular order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dist {
    /// Reply-time bucket → cases.
    pub replies: BTreeMap<i64, i64>,
    /// Day of first contact → cases still waiting for an answer.
    pub silent: BTreeMap<i64, i64>,
}

impl Dist {
    /// Reads a stored distribution; an entry of the same key twice is summed.
    pub fn parse(text: &str) -> Result<Dist, String> {
        let mut d = Dist::default();
        d.add_text(text)?;
        Ok(d)
    }

    /// Adds a stored distribution's entries to this one.
    pub fn add_text(&mut self, text: &str) -> Result<(), String> {
        for token in text.split_ascii_whitespace() {
            let bad = || format!("bad distribution entry {token:?}");
            let (kind, rest) = token.split_at_checked(1).ok_or_else(bad)?;
            let (key, n) = rest.split_once(':').ok_or_else(bad)?;
            let key: i64 = key.parse().map_err(|_| bad())?;
            let n: i64 = n.parse().map_err(|_| bad())?;
            let map = match kind {
                "r" => &mut self.replies,
                "s" => &mut self.silent,
                _ => return Err(bad()),
            };
            *map.entry(key).or_default() += n;
        }
        Ok(())
    }

    /// Adds `n` cases under `metric` (one of [`DISTRIBUTED`]) and `bucket`.
    pub fn add(&mut self, metric: &str, bucket: i64, n: i64) {
        let map = if metric == "reply" {
            &mut self.replies
        } else {
            &mut self.silent
        };
        let e = map.entry(bucket).or_default();
        *e += n;
        if *e == 0 {
            map.remove(&bucket);
        }
    }

    /// The stored form (entries that sum to zero left out).
    pub fn text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        for (kind, map) in [("r", &self.replies), ("s", &self.silent)] {
            for (key, n) in map.iter().filter(|(_, n)| **n != 0) {
                if !out.is_empty() {
                    out.push(' ');
                }
                let _ = write!(out, "{kind}{key}:{n}");
            }
        }
        out
    }

    /// Every entry as (metric, bucket, cases).
    pub fn entries(&self) -> impl Iterator<Item = (&'static str, i64, i64)> + '_ {
        let r = self.replies.iter().map(|(b, n)| ("reply", *b, *n));
        r.chain(self.silent.iter().map(|(b, n)| ("silent", *b, *n)))
    }
}

/// The per-day counters are kept again per block of this many days of report, so that the
/// last 30 days are read from a few blocks and the days at either end (see [`recent_ranges`]).
pub const REPORT_BLOCKS: [i64; 2] = [4, 16];

/// The scope of block `k` (days `k*size .. k*size + size - 1` of report) of `size` days:
/// negative, below every day and the all-time scope, and consecutive blocks have consecutive
/// scopes (descending), so a run of blocks is one range of scopes.
pub fn block_scope(size: i64, k: i64) -> i64 {
    -size * 1_000_000_000 - k
}

/// The scope ranges (inclusive, low to high) that together cover the days of report `from`
/// to `to` exactly once: whole blocks of 16 days in the middle, blocks of 4 around them, single
/// days at the ends.
pub fn recent_ranges(from: i64, to: i64) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    // Covers [lo, hi) with blocks of sizes[0] where they fit whole, the rest by smaller ones.
    fn cover(lo: i64, hi: i64, sizes: &[i64], out: &mut Vec<(i64, i64)>) {
        if lo >= hi {
            return;
        }
        let Some((&size, smaller)) = sizes.split_last() else {
            out.push((lo, hi - 1));
            return;
        };
        let (a, b) = (
            lo.div_euclid(size) * size + if lo.rem_euclid(size) == 0 { 0 } else { size },
            hi.div_euclid(size) * size,
        );
        if a >= b {
            return cover(lo, hi, smaller, out);
        }
        cover(lo, a, smaller, out);
        let (first, last) = (a / size, b / size - 1);
        out.push((block_scope(size, last), block_scope(size, first)));
        cover(b, hi, smaller, out);
    }
    cover(from, to + 1, &REPORT_BLOCKS, &mut out);
    out
}

/// The counters one case adds (each +1): all time, its day of report and that day's blocks.
pub fn cells(f: &Facts) -> Vec<Cell> {
    let mut metrics: Vec<(&'static str, i64)> = vec![("reported", 0)];
    if let Some(contacted) = f.contacted {
        metrics.push(("contacted", 0));
        match f.answered {
            Some(answered) => {
                metrics.push(("reply", reply_bucket(answered - contacted)));
            }
            None => metrics.push(("silent", day_of(contacted))),
        }
    }
    if f.answered.is_some() {
        metrics.push(("answered", 0));
    }
    for (on, m) in [
        (f.public, "public"),
        (f.complaint, "complaint"),
        (f.authorities, "authorities"),
        (f.resolved, "resolved"),
    ] {
        if on {
            metrics.push((m, 0));
        }
    }
    let mut out = Vec::with_capacity(metrics.len() * 4);
    let blocks = REPORT_BLOCKS.map(|size| block_scope(size, f.day.div_euclid(size)));
    for scope in [ALL_TIME, f.day].into_iter().chain(blocks) {
        for (metric, bucket) in &metrics {
            out.push(Cell {
                scope,
                company: f.company.clone(),
                metric,
                bucket: *bucket,
            });
        }
    }
    out
}

/// What a save changes in the counters: `after`'s cells added, `before`'s taken away, sorted
/// (so concurrent writers lock rows in one order) and without the ones that cancel out.
pub fn delta(before: Option<&Facts>, after: Option<&Facts>) -> Vec<(Cell, i64)> {
    if before == after {
        return Vec::new();
    }
    let mut sum: BTreeMap<Cell, i64> = BTreeMap::new();
    for c in after.map(cells).unwrap_or_default() {
        *sum.entry(c).or_default() += 1;
    }
    for c in before.map(cells).unwrap_or_default() {
        *sum.entry(c).or_default() -= 1;
    }
    sum.into_iter().filter(|(_, n)| *n != 0).collect()
}

/// A counter as the store returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    pub scope: i64,
    pub company: String,
    pub metric: String,
    pub bucket: i64,
    pub n: i64,
}

/// One company's counters in one scope, summed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub counts: BTreeMap<String, i64>,
    /// Reply-time bucket → cases.
    pub replies: BTreeMap<i64, i64>,
    /// Day of first contact → cases still waiting for an answer.
    pub silent: BTreeMap<i64, i64>,
}

impl Tally {
    /// Adds one counter (a count, or one entry of a distribution).
    pub fn add(&mut self, c: &Counter) {
        match c.metric.as_str() {
            "reply" => *self.replies.entry(c.bucket).or_default() += c.n,
            "silent" => *self.silent.entry(c.bucket).or_default() += c.n,
            m => *self.counts.entry(m.to_string()).or_default() += c.n,
        }
    }

    /// Adds a stored distribution.
    pub fn add_dist(&mut self, d: &Dist) {
        for (b, n) in &d.replies {
            *self.replies.entry(*b).or_default() += n;
        }
        for (b, n) in &d.silent {
            *self.silent.entry(*b).or_default() += n;
        }
    }

    pub fn count(&self, metric: &str) -> i64 {
        self.counts.get(metric).copied().unwrap_or(0).max(0)
    }
}

/// Per company key: its tally of all time, and of the cases reported lately.
pub type Summary = BTreeMap<String, (Tally, Tally)>;

/// Every company's tallies: all time, and the cases reported since `recent_from` (a day).
pub fn tallies(rows: &[Counter], recent_from: i64) -> Summary {
    let mut out: Summary = BTreeMap::new();
    for r in rows {
        let e = out.entry(r.company.clone()).or_default();
        if r.scope == ALL_TIME {
            e.0.add(r);
        } else if r.scope >= recent_from {
            e.1.add(r);
        }
    }
    out
}

/// A quantile of the time to first reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Quantile {
    Answered(Duration),
    /// It falls on a case support has not answered: silent for at least this long.
    StillSilent(Duration),
}

/// The `p`th percentile (nearest rank) of first-reply times, counting each unanswered case at
/// its silence so far, `today` being the current day.
pub fn quantile(t: &Tally, p: f64, today: i64) -> Option<Quantile> {
    let mut all: Vec<(Duration, bool, i64)> = t
        .replies
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(b, n)| (bucket_value(*b), true, *n))
        .chain(
            t.silent
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(day, n)| (Duration::days((today - day).max(0)), false, *n)),
        )
        .collect();
    let total: i64 = all.iter().map(|(_, _, n)| n).sum();
    if total == 0 {
        return None;
    }
    // Ties: an answered case before a silent one of the same length.
    all.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let rank = ((p / 100.0) * total as f64).ceil().max(1.0) as i64;
    let mut seen = 0;
    for (d, answered, n) in all {
        seen += n;
        if seen >= rank {
            return Some(if answered {
                Quantile::Answered(d)
            } else {
                Quantile::StillSilent(d)
            });
        }
    }
    None
}

/// One company's figures as shown.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub company: String,
    pub reported: i64,
    pub contacted: i64,
    pub answered: i64,
    /// Of the cases whose victims contacted support.
    pub answered_pct: Option<u32>,
    pub still_silent: i64,
    pub longest_silence_days: Option<i64>,
    pub median: Option<String>,
    pub median_silent: bool,
    pub p90: Option<String>,
    pub p90_silent: bool,
    pub public_pct: Option<u32>,
    pub complaint_pct: Option<u32>,
    pub authorities_pct: Option<u32>,
    pub resolved_pct: Option<u32>,
    /// Median and 90th percentile in seconds, for the export (negative: still silent).
    #[serde(skip)]
    pub median_secs: Option<i64>,
    #[serde(skip)]
    pub p90_secs: Option<i64>,
}

fn pct(n: i64, of: i64) -> Option<u32> {
    (of > 0).then(|| ((n as f64 * 100.0 / of as f64).round()) as u32)
}

pub fn figures(name: &str, t: &Tally, today: i64, locale: Locale) -> Figures {
    let reported = t.count("reported");
    let contacted = t.count("contacted");
    let answered = t.count("answered");
    let shown = |q: &Option<Quantile>| match q {
        Some(Quantile::Answered(d)) | Some(Quantile::StillSilent(d)) => {
            Some(crate::core::views::fmt_duration(locale, *d))
        }
        None => None,
    };
    let secs = |q: &Option<Quantile>| match q {
        Some(Quantile::Answered(d)) => Some(d.num_seconds()),
        Some(Quantile::StillSilent(d)) => Some(-d.num_seconds()),
        None => None,
    };
    let median = quantile(t, 50.0, today);
    let p90 = quantile(t, 90.0, today);
    Figures {
        company: name.to_string(),
        reported,
        contacted,
        answered,
        answered_pct: pct(answered, contacted),
        still_silent: t.silent.values().filter(|n| **n > 0).sum(),
        longest_silence_days: t
            .silent
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(d, _)| today - d)
            .max(),
        median: shown(&median),
        median_silent: matches!(median, Some(Quantile::StillSilent(_))),
        p90: shown(&p90),
        p90_silent: matches!(p90, Some(Quantile::StillSilent(_))),
        public_pct: pct(t.count("public"), reported),
        complaint_pct: pct(t.count("complaint"), reported),
        authorities_pct: pct(t.count("authorities"), reported),
        resolved_pct: pct(t.count("resolved"), reported),
        median_secs: secs(&median),
        p90_secs: secs(&p90),
    }
}

/// The table as CSV (one row per company and period).
pub fn csv(rows: &[(String, &'static str, Figures)]) -> String {
    let mut out = String::from(
        "company,period,reported,contacted,answered,answered_pct,still_silent,\
         median_first_reply_secs,p90_first_reply_secs,public_post_pct,complaint_pct,\
         authorities_pct,resolved_pct,longest_silence_days\n",
    );
    let opt = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_default();
    let secs = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    for (_, period, f) in rows {
        let name = if f.company.contains([',', '"', '\n']) {
            format!("\"{}\"", f.company.replace('"', "\"\""))
        } else {
            f.company.clone()
        };
        out.push_str(&format!(
            "{name},{period},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            f.reported,
            f.contacted,
            f.answered,
            opt(f.answered_pct),
            f.still_silent,
            secs(f.median_secs),
            secs(f.p90_secs),
            opt(f.public_pct),
            opt(f.complaint_pct),
            opt(f.authorities_pct),
            opt(f.resolved_pct),
            secs(f.longest_silence_days),
        ));
    }
    out
}

/// The table as JSON.
pub fn json(rows: &[(String, &'static str, Figures)]) -> String {
    let list: Vec<serde_json::Value> = rows
        .iter()
        .map(|(_, period, f)| {
            serde_json::json!({
                "company": f.company,
                "period": period,
                "reported": f.reported,
                "contacted": f.contacted,
                "answered": f.answered,
                "answered_pct": f.answered_pct,
                "still_silent": f.still_silent,
                "median_first_reply_secs": f.median_secs.filter(|s| *s >= 0),
                "median_still_silent_secs": f.median_secs.filter(|s| *s < 0).map(|s| -s),
                "p90_first_reply_secs": f.p90_secs.filter(|s| *s >= 0),
                "p90_still_silent_secs": f.p90_secs.filter(|s| *s < 0).map(|s| -s),
                "public_post_pct": f.public_pct,
                "complaint_pct": f.complaint_pct,
                "authorities_pct": f.authorities_pct,
                "resolved_pct": f.resolved_pct,
                "longest_silence_days": f.longest_silence_days,
            })
        })
        .collect();
    serde_json::to_string_pretty(&list).unwrap_or_else(|_| "[]".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(contacted: Option<i64>, answered: Option<i64>) -> Facts {
        let t = |h: i64| DateTime::<Utc>::from_timestamp(h * 3600, 0).unwrap();
        Facts {
            company: "tokenpocket".into(),
            name: "TokenPocket".into(),
            day: 0,
            contacted: contacted.map(t),
            answered: answered.map(t),
            public: false,
            complaint: false,
            authorities: false,
            resolved: false,
        }
    }

    fn tally_of(facts: &[Facts]) -> Tally {
        let mut rows = Vec::new();
        for x in facts {
            for (c, n) in delta(None, Some(x)) {
                rows.push(Counter {
                    scope: c.scope,
                    company: c.company,
                    metric: c.metric.to_string(),
                    bucket: c.bucket,
                    n,
                });
            }
        }
        tallies(&rows, 0).remove("tokenpocket").unwrap().0
    }

    #[test]
    fn every_metric_written_is_one_stats_reads() {
        let mut all = f(Some(0), Some(5));
        (all.public, all.complaint, all.authorities, all.resolved) = (true, true, true, true);
        for facts in [all, f(Some(0), None), f(None, None)] {
            for c in cells(&facts) {
                let read = COUNTED.contains(&c.metric) || DISTRIBUTED.contains(&c.metric);
                assert!(read, "{} is written but /stats never reads it", c.metric);
                if COUNTED.contains(&c.metric) {
                    assert_eq!(c.bucket, 0, "{c:?}");
                }
            }
        }
    }

    #[test]
    fn a_distribution_reads_back_as_written() {
        let mut d = Dist::default();
        for (m, b, n) in [("reply", 40, 3), ("silent", -5, 2), ("silent", 20_000, 1)] {
            d.add(m, b, n);
        }
        d.add("reply", 7, 1);
        d.add("reply", 7, -1);
        let text = d.text();
        assert_eq!(text, "r40:3 s-5:2 s20000:1");
        assert_eq!(Dist::parse(&text), Ok(d.clone()));
        // In any order, the same key twice summed, as the migration may write it.
        assert_eq!(Dist::parse("s20000:1  r40:1 s-5:2 r40:2"), Ok(d));
        assert_eq!(Dist::parse(""), Ok(Dist::default()));
        for bad in ["x1:2", "r1", "r:2", "rA:1", "r1:B", "s1:2:3"] {
            assert!(Dist::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn recent_ranges_cover_each_day_once() {
        for from in 20_700..20_740i64 {
            for len in [1i64, 3, 4, 5, 16, 17, 30, 31, 64] {
                let to = from + len - 1;
                let ranges = recent_ranges(from, to);
                let mut seen = std::collections::BTreeMap::new();
                for day in from - 40..to + 40 {
                    let scopes = [day]
                        .into_iter()
                        .chain(REPORT_BLOCKS.map(|size| block_scope(size, day.div_euclid(size))));
                    let hits = scopes
                        .filter(|s| ranges.iter().any(|(lo, hi)| lo <= s && s <= hi))
                        .count();
                    seen.insert(day, hits);
                }
                for (day, hits) in seen {
                    let want = usize::from((from..=to).contains(&day));
                    assert_eq!(hits, want, "{from}..={to} day {day}: {ranges:?}");
                }
                if len == 30 {
                    assert!(ranges.len() <= 5, "{ranges:?}");
                }
            }
        }
    }

    #[test]
    fn buckets_are_within_five_percent() {
        for secs in [60i64, 3_600, 86_400, 9 * 86_400, 400 * 86_400] {
            let v = bucket_value(reply_bucket(Duration::seconds(secs))).num_seconds() as f64;
            assert!((v / secs as f64 - 1.0).abs() < 0.055, "{secs} → {v}");
        }
    }

    #[test]
    fn a_reply_moves_a_case_from_silent_to_answered() {
        let before = f(Some(1), None);
        let after = f(Some(1), Some(49));
        let d = delta(Some(&before), Some(&after));
        let silent: Vec<_> = d.iter().filter(|(c, _)| c.metric == "silent").collect();
        assert_eq!(silent.len(), 4, "all time, the day and its two blocks");
        assert!(silent.iter().all(|(_, n)| *n == -1));
        assert!(d.iter().any(|(c, n)| c.metric == "answered" && *n == 1));
        assert!(
            d.iter().all(|(c, _)| c.metric != "reported"),
            "unchanged: {d:?}"
        );
        assert!(delta(Some(&after), Some(&after)).is_empty());
    }

    #[test]
    fn unanswered_cases_count_as_still_silent() {
        // Two answered in 2 days, three never: the median is a silent case.
        let cases = [
            f(Some(0), Some(48)),
            f(Some(0), Some(48)),
            f(Some(0), None),
            f(Some(0), None),
            f(Some(0), None),
        ];
        let t = tally_of(&cases);
        assert_eq!(
            quantile(&t, 50.0, 10),
            Some(Quantile::StillSilent(Duration::days(10)))
        );
        let fig = figures("TokenPocket", &t, 10, Locale::En);
        assert_eq!((fig.reported, fig.contacted, fig.answered), (5, 5, 2));
        assert_eq!(fig.answered_pct, Some(40));
        assert_eq!(fig.still_silent, 3);
        assert!(fig.median_silent && fig.p90_silent);
        // Four answered, one silent: the median is an answer, about two days.
        let cases = [
            f(Some(0), Some(48)),
            f(Some(0), Some(48)),
            f(Some(0), Some(48)),
            f(Some(0), Some(2)),
            f(Some(0), None),
        ];
        let t = tally_of(&cases);
        match quantile(&t, 50.0, 10) {
            Some(Quantile::Answered(d)) => assert!((d.num_hours() - 48).abs() <= 3, "{d}"),
            q => panic!("{q:?}"),
        }
        assert!(matches!(
            quantile(&t, 90.0, 10),
            Some(Quantile::StillSilent(_))
        ));
    }
}
