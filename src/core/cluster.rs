//! Clusters: cases whose evidence shares an address the victims named as the thief's, where the
//! funds moved, or an exchange deposit they reached. Two such cases belong together, directly
//! or through a chain of other cases; a victim's own address never links cases.
//!
//! The store keeps an index from each linking address ([`link_key`]) to the cases naming it,
//! written with every change to a case's evidence; the engine reads it to find a case's
//! cluster, one indexed lookup per step outwards.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sha2::Digest;

use crate::core::case::{Case, CaseId, Event, EventKind, EvidenceLabel, EvidenceValue};
use crate::core::evidence::Address;

/// One row of the store's index: `case` names `address` (linking key `link`) since `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRow {
    pub link: String,
    pub address: Address,
    pub case: CaseId,
    pub at: DateTime<Utc>,
}

/// Whether evidence with this label links cases.
pub fn links(label: EvidenceLabel) -> bool {
    matches!(
        label,
        EvidenceLabel::AttackerAddress
            | EvidenceLabel::LaterMovement
            | EvidenceLabel::ExchangeDeposit
    )
}

/// The key an address is compared by: EVM addresses by family and case-insensitively (one
/// attacker uses the same address on every EVM chain, and checksums differ only in case);
/// every other address exactly as checked, on its own chain.
pub fn link_key(a: &Address) -> String {
    if a.chain().is_evm() {
        format!("evm:{}", a.as_str().to_lowercase())
    } else {
        format!("{}:{}", a.chain().key(), a.as_str())
    }
}

/// The linking addresses of a case, by key, without repeats, in evidence order.
pub fn linking(case: &Case) -> Vec<(String, Address)> {
    let mut seen = BTreeSet::new();
    case.evidence
        .iter()
        .filter(|e| links(e.label))
        .filter_map(|e| match &e.value {
            EvidenceValue::Address(a) => Some((link_key(a), a.clone())),
            EvidenceValue::Tx(_) => None,
        })
        .filter(|(k, _)| seen.insert(k.clone()))
        .collect()
}

/// The linking addresses a change's events add to `after` (the case as saved): all of them for
/// a new report, else those added or relabelled as linking.
pub fn added_links(after: &Case, events: &[Event]) -> Vec<(String, Address)> {
    let mut keys = BTreeSet::new();
    for ev in events {
        match &ev.kind {
            EventKind::Reported { .. } => return linking(after),
            EventKind::EvidenceAdded {
                value: EvidenceValue::Address(a),
                label,
            } if links(*label) => {
                keys.insert(link_key(a));
            }
            EventKind::EvidenceLabelled { number, label } if links(*label) => {
                if let Some(EvidenceValue::Address(a)) = after
                    .evidence
                    .iter()
                    .find(|e| e.number == *number)
                    .map(|e| &e.value)
                {
                    keys.insert(link_key(a));
                }
            }
            _ => {}
        }
    }
    linking(after)
        .into_iter()
        .filter(|(k, _)| keys.contains(k))
        .collect()
}

/// Whether a change's events can change which addresses `after` links by (the store rewrites
/// the case's index rows then). A report or an addition with nothing linking changes nothing,
/// so the common intake costs no extra statement.
pub fn touches_links(after: &Case, kind: &EventKind) -> bool {
    match kind {
        EventKind::Reported { .. } => !linking(after).is_empty(),
        EventKind::EvidenceAdded { label, .. } => links(*label),
        EventKind::EvidenceRemoved { .. } | EventKind::EvidenceLabelled { .. } => true,
        _ => false,
    }
}

/// A cluster: two or more cases joined by shared addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// `CL-XXXXXX`, from its oldest case: stable while the cluster grows.
    pub id: String,
    /// Oldest link first.
    pub cases: Vec<CaseId>,
    /// The addresses named by two or more of its cases, by key.
    pub shared: Vec<(String, Address)>,
    /// Every index row of its cases, oldest first: the timeline of joins.
    pub rows: Vec<LinkRow>,
}

impl Cluster {
    pub fn contains(&self, id: &CaseId) -> bool {
        self.cases.contains(id)
    }
}

/// The ID of the cluster whose oldest case is `oldest`: six characters of a hash, so that it
/// tells nothing about the case itself.
pub fn cluster_id(oldest: &CaseId) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let digest = sha2::Sha256::digest(oldest.as_str().as_bytes());
    let body: String = digest
        .iter()
        .take(6)
        .map(|b| ALPHABET[(*b as usize) % 32] as char)
        .collect();
    format!("CL-{body}")
}

/// Accepts `CL-XXXXXX` in any case, with or without the prefix' dash.
pub fn parse_cluster_id(s: &str) -> Option<String> {
    let s = s.trim().to_uppercase().replace('-', "");
    let body = s.strip_prefix("CL")?;
    (body.len() == 6 && body.chars().all(|c| c.is_ascii_alphanumeric()))
        .then(|| format!("CL-{body}"))
}

/// Groups index rows into clusters (connected components over shared keys); cases that share
/// nothing are left out. Rows may come from anywhere in the index.
pub fn components(rows: &[LinkRow]) -> Vec<Cluster> {
    let mut cases: Vec<&CaseId> = rows.iter().map(|r| &r.case).collect();
    cases.sort();
    cases.dedup();
    let index: HashMap<&CaseId, usize> = cases.iter().enumerate().map(|(i, c)| (*c, i)).collect();
    let mut parent: Vec<usize> = (0..cases.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut by_link: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for r in rows {
        by_link.entry(&r.link).or_default().push(index[&r.case]);
    }
    for members in by_link.values() {
        for w in members.windows(2) {
            let (a, b) = (root(&mut parent, w[0]), root(&mut parent, w[1]));
            if a != b {
                parent[a] = b;
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<LinkRow>> = BTreeMap::new();
    for r in rows {
        let g = root(&mut parent, index[&r.case]);
        groups.entry(g).or_default().push(r.clone());
    }
    let mut out: Vec<Cluster> = groups
        .into_values()
        .filter_map(|mut rows| {
            rows.sort_by(|a, b| (a.at, &a.case, &a.link).cmp(&(b.at, &b.case, &b.link)));
            let mut seen = BTreeSet::new();
            rows.retain(|r| seen.insert((r.case.clone(), r.link.clone())));
            let mut cases: Vec<CaseId> = Vec::new();
            for r in &rows {
                if !cases.contains(&r.case) {
                    cases.push(r.case.clone());
                }
            }
            if cases.len() < 2 {
                return None;
            }
            let mut count: BTreeMap<&str, (usize, &Address)> = BTreeMap::new();
            for r in &rows {
                count.entry(&r.link).or_insert((0, &r.address)).0 += 1;
            }
            let shared = count
                .into_iter()
                .filter(|(_, (n, _))| *n >= 2)
                .map(|(k, (_, a))| (k.to_string(), a.clone()))
                .collect();
            Some(Cluster {
                id: cluster_id(&cases[0]),
                cases,
                shared,
                rows,
            })
        })
        .collect();
    out.sort_by(|a, b| b.cases.len().cmp(&a.cases.len()).then(a.id.cmp(&b.id)));
    out
}

/// Totals per asset over amounts as victims wrote them ("1.2 ETH", "5,000"): each amount's
/// first number, summed exactly; amounts without a number or an asset are counted apart.
pub fn totals<'a>(
    amounts: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>,
) -> Vec<(String, String)> {
    // Fixed point with 18 decimals, as ERC-20 tokens use.
    const SCALE: u32 = 18;
    let mut sums: BTreeMap<String, i128> = BTreeMap::new();
    for (amount, asset) in amounts {
        let Some(amount) = amount else { continue };
        let Some(value) = first_number(amount, SCALE) else {
            continue;
        };
        let asset = asset
            .map(str::to_string)
            .or_else(|| {
                amount
                    .split_whitespace()
                    .find(|w| w.chars().all(|c| c.is_ascii_alphabetic()) && w.len() <= 10)
                    .map(str::to_uppercase)
            })
            .unwrap_or_else(|| "?".to_string());
        let slot = sums.entry(asset.to_uppercase()).or_default();
        *slot = slot.saturating_add(value);
    }
    sums.into_iter()
        .map(|(asset, v)| (asset, format_fixed(v, SCALE)))
        .collect()
}

fn first_number(s: &str, scale: u32) -> Option<i128> {
    let start = s.find(|c: char| c.is_ascii_digit())?;
    let digits: String = s[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ',')
        .filter(|c| *c != ',')
        .collect();
    let (int, frac) = digits.split_once('.').unwrap_or((&digits, ""));
    let frac: String = frac
        .chars()
        .filter(char::is_ascii_digit)
        .chain(std::iter::repeat('0'))
        .take(scale as usize)
        .collect();
    let int: i128 = int.parse().ok()?;
    let frac: i128 = frac.parse().ok()?;
    int.checked_mul(10i128.pow(scale))?.checked_add(frac)
}

fn format_fixed(v: i128, scale: u32) -> String {
    let unit = 10i128.pow(scale);
    let (int, frac) = (v / unit, v % unit);
    let frac = format!("{frac:0width$}", width = scale as usize);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        int.to_string()
    } else {
        format!("{int}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::evidence::Chain;

    fn row(link: &str, case: &CaseId, at: i64) -> LinkRow {
        LinkRow {
            link: link.to_string(),
            address: Address::parse(Chain::Tron, "TNPeeaaFB7K9cmo4uQpcU32zGK8G1NYqeL").unwrap(),
            case: case.clone(),
            at: DateTime::from_timestamp(at, 0).unwrap(),
        }
    }

    #[test]
    fn components_join_through_a_chain_of_cases_and_drop_singletons() {
        let (a, b, c, d) = (
            CaseId::generate(),
            CaseId::generate(),
            CaseId::generate(),
            CaseId::generate(),
        );
        let rows = vec![
            row("x", &a, 1),
            row("x", &b, 2),
            row("y", &b, 2),
            row("y", &c, 3),
            row("z", &d, 4),
        ];
        let clusters = components(&rows);
        assert_eq!(clusters.len(), 1);
        assert_eq!(clusters[0].cases, vec![a.clone(), b, c]);
        assert_eq!(clusters[0].id, cluster_id(&a));
        let shared: Vec<&str> = clusters[0].shared.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(shared, vec!["x", "y"]);
        assert_eq!(
            parse_cluster_id(&clusters[0].id.to_lowercase()),
            Some(clusters[0].id.clone())
        );
    }

    #[test]
    fn evm_addresses_link_across_case_and_chains_others_exactly() {
        let eth = Address::parse(
            Chain::Ethereum,
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        )
        .unwrap();
        let bsc = Address::parse(Chain::Bsc, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed").unwrap();
        assert_eq!(link_key(&eth), link_key(&bsc));
        let tron = Address::parse(Chain::Tron, "TNPeeaaFB7K9cmo4uQpcU32zGK8G1NYqeL").unwrap();
        assert_eq!(link_key(&tron), "tron:TNPeeaaFB7K9cmo4uQpcU32zGK8G1NYqeL");
    }

    #[test]
    fn totals_add_exactly_per_asset() {
        let t = totals([
            (Some("1.2 ETH"), Some("ETH")),
            (Some("0.1 eth"), None),
            (Some("5,000 USDT"), Some("USDT")),
            (Some("some"), Some("BTC")),
            (None, Some("BTC")),
        ]);
        assert_eq!(
            t,
            vec![("ETH".into(), "1.3".into()), ("USDT".into(), "5000".into())]
        );
    }
}
