//! Clusters in the engine: finding a case's cluster when its evidence gains a linking address,
//! telling the moderators and the victims, `/consent`, `/clusters`, `/cluster` and `/unlink`.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use minijinja::context;
use serde::Serialize;

use crate::core::action::Action;
use crate::core::case::{Case, CaseId, Event, EventKind};
use crate::core::cluster::{self, Cluster, LinkRow};
use crate::core::engine::{Ctx, Engine, EngineError, Outcome};
use crate::core::evidence::Address;
use crate::core::identity::{ActorRecord, Locale};
use crate::core::message::{Button, Does, Outgoing, Recipient};
use crate::core::ports::{Change, Saved, Store, StoredCase};
use crate::core::views::{fmt_duration, fmt_time};
use crate::prompts::PromptKey;

/// A cluster is followed outwards at most this many rounds, and this many rows, when a case
/// joins it: enough for any real drainer, and a bound on one command's work.
const MAX_ROUNDS: usize = 50;
const MAX_ROWS: usize = 5_000;

/// Cases of a join whose victims had not been told yet (each once), to tell after the save.
#[derive(Debug, Default)]
pub(crate) struct Joined {
    pub others: Vec<(CaseId, Address)>,
    pub cases: u32,
}

#[derive(Debug, Serialize)]
struct MemberView {
    id: String,
    status: String,
    silence: Option<String>,
    platform: String,
    consent: Option<bool>,
    joined: String,
}

#[derive(Debug, Serialize)]
struct JoinView {
    at: String,
    case: String,
    address: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct AddressView {
    text: String,
    short: String,
    url: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct TotalView {
    asset: String,
    amount: String,
}

/// A cluster for moderators.
#[derive(Debug, Serialize)]
struct ClusterView {
    id: String,
    cases: usize,
    consenting: usize,
    shared: Vec<AddressView>,
    totals: Vec<TotalView>,
    platforms: Vec<String>,
    oldest: Option<String>,
    longest_silence: Option<String>,
    members: Vec<MemberView>,
    joins: Vec<JoinView>,
}

pub(crate) fn address_view(a: &Address) -> AddressView {
    AddressView {
        text: a.as_str().to_string(),
        short: a.short(),
        url: a.explorer_url(),
    }
}

pub(crate) fn totals_view(cases: &[&Case]) -> Vec<TotalView> {
    cluster::totals(
        cases
            .iter()
            .map(|c| (c.report.amount.as_deref(), c.report.asset.as_deref())),
    )
    .into_iter()
    .map(|(asset, amount)| TotalView { asset, amount })
    .collect()
}

fn platforms(cases: &[&Case]) -> Vec<String> {
    let set: BTreeSet<&str> = cases.iter().map(|c| c.reporter.platform().key()).collect();
    set.into_iter().map(str::to_string).collect()
}

fn cluster_view(cl: &Cluster, cases: &[&Case], locale: Locale, now: DateTime<Utc>) -> ClusterView {
    let silence = |c: &Case| c.clock.silence(now).filter(|_| c.is_open());
    let longest = cases.iter().filter_map(|c| silence(c)).max();
    let joined = |id: &CaseId| {
        cl.rows
            .iter()
            .find(|r| &r.case == id)
            .map(|r| fmt_time(r.at))
            .unwrap_or_default()
    };
    let shared_keys: BTreeSet<&str> = cl.shared.iter().map(|(k, _)| k.as_str()).collect();
    ClusterView {
        id: cl.id.clone(),
        cases: cl.cases.len(),
        consenting: cases
            .iter()
            .filter(|c| c.joint_consent == Some(true))
            .count(),
        shared: cl.shared.iter().map(|(_, a)| address_view(a)).collect(),
        totals: totals_view(cases),
        platforms: platforms(cases),
        oldest: cases.iter().map(|c| c.created_at).min().map(fmt_time),
        longest_silence: longest.map(|d| fmt_duration(locale, d)),
        members: cases
            .iter()
            .map(|c| MemberView {
                id: c.id.to_string(),
                status: c.status.key().to_string(),
                silence: silence(c).map(|d| fmt_duration(locale, d)),
                platform: c.reporter.platform().key().to_string(),
                consent: c.joint_consent,
                joined: joined(&c.id),
            })
            .collect(),
        joins: cl
            .rows
            .iter()
            .filter(|r| shared_keys.contains(r.link.as_str()))
            .map(|r| JoinView {
                at: fmt_time(r.at),
                case: r.case.to_string(),
                address: r.address.short(),
            })
            .collect(),
    }
}

/// What a case's own dossier says of its cluster: how many other reports, which of the case's
/// own addresses they share, and the victim's answer on a joint complaint. Nothing of the
/// other cases.
#[derive(Debug, Serialize)]
pub struct Related {
    others: usize,
    shared: Vec<AddressView>,
    consent: Option<bool>,
}

impl<S: Store> Engine<S> {
    /// See [`Related`]; `None` when the case is in no cluster.
    pub(crate) async fn related(&self, case: &Case) -> Result<Option<Related>, EngineError> {
        let Some(cl) = self.cluster_of_case(&case.id).await? else {
            return Ok(None);
        };
        let shared = cluster::linking(case)
            .into_iter()
            .filter(|(k, _)| cl.shared.iter().any(|(s, _)| s == k))
            .map(|(_, a)| address_view(&a))
            .collect();
        Ok(Some(Related {
            others: cl.cases.len().saturating_sub(1),
            shared,
            consent: case.joint_consent,
        }))
    }

    /// Every index row reachable from these keys and cases, following shared addresses.
    async fn reach(
        &self,
        mut keys: Vec<String>,
        mut cases: Vec<CaseId>,
    ) -> Result<Vec<LinkRow>, EngineError> {
        let mut seen_keys: BTreeSet<String> = keys.iter().cloned().collect();
        let mut seen_cases: BTreeSet<CaseId> = cases.iter().cloned().collect();
        let mut rows: Vec<LinkRow> = Vec::new();
        let mut have: BTreeSet<(String, CaseId)> = BTreeSet::new();
        for _ in 0..MAX_ROUNDS {
            if keys.is_empty() && cases.is_empty() {
                break;
            }
            let mut found = Vec::new();
            if !keys.is_empty() {
                found.extend(self.store.links_by_key(&std::mem::take(&mut keys)).await?);
            }
            if !cases.is_empty() {
                found.extend(
                    self.store
                        .links_by_case(&std::mem::take(&mut cases))
                        .await?,
                );
            }
            for r in found {
                if seen_keys.insert(r.link.clone()) {
                    keys.push(r.link.clone());
                }
                if seen_cases.insert(r.case.clone()) {
                    cases.push(r.case.clone());
                }
                if have.insert((r.link.clone(), r.case.clone())) {
                    rows.push(r);
                }
            }
            if rows.len() > MAX_ROWS {
                tracing::warn!(rows = rows.len(), "cluster too large to follow further");
                break;
            }
        }
        Ok(rows)
    }

    /// The cluster a stored case belongs to, if any.
    async fn cluster_of_case(&self, id: &CaseId) -> Result<Option<Cluster>, EngineError> {
        let rows = self.reach(Vec::new(), vec![id.clone()]).await?;
        Ok(cluster::components(&rows)
            .into_iter()
            .find(|c| c.contains(id)))
    }

    pub(crate) async fn load_all(&self, ids: &[CaseId]) -> Result<Vec<StoredCase>, EngineError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(sc) = self.store.load_case(id).await? {
                out.push(sc);
            }
        }
        Ok(out)
    }

    /// Before a change is saved: if its events give the case a linking address that other
    /// cases name, and that brings it together with cases it was not with before, the case
    /// joins their cluster. The join is recorded on the case, the moderators are told (which
    /// case, the shared address, the cluster's size, totals per asset, platforms), and so is
    /// the victim (a count only) with the question of a joint complaint. One indexed lookup
    /// when nothing is shared, as for almost every report.
    pub(crate) async fn join_cluster(&self, change: &mut Change) -> Result<Joined, EngineError> {
        let added = cluster::added_links(&change.case, &change.events);
        if added.is_empty() {
            return Ok(Joined::default());
        }
        let id = change.case.id.clone();
        let keys: Vec<String> = added.iter().map(|(k, _)| k.clone()).collect();
        let direct = self.store.links_by_key(&keys).await?;
        let Some(shared) = direct.iter().find(|r| r.case != id).cloned() else {
            return Ok(Joined::default());
        };
        let before = match change.expected_version {
            Some(_) => self.reach(Vec::new(), vec![id.clone()]).await?,
            None => Vec::new(),
        };
        let before_cases: BTreeSet<CaseId> = cluster::components(&before)
            .into_iter()
            .find(|c| c.contains(&id))
            .map(|c| c.cases.into_iter().collect())
            .unwrap_or_default();
        if direct
            .iter()
            .filter(|r| r.case != id)
            .all(|r| before_cases.contains(&r.case))
        {
            return Ok(Joined::default());
        }
        let mut rows = self.reach(keys, Vec::new()).await?;
        rows.extend(before);
        rows.extend(
            cluster::linking(&change.case)
                .into_iter()
                .map(|(link, address)| LinkRow {
                    link,
                    address,
                    case: id.clone(),
                    at: change.at,
                }),
        );
        let Some(cl) = cluster::components(&rows)
            .into_iter()
            .find(|c| c.contains(&id))
        else {
            return Ok(Joined::default());
        };
        let others: Vec<CaseId> = cl.cases.iter().filter(|c| **c != id).cloned().collect();
        let loaded = self.load_all(&others).await?;
        let size = cl.cases.len() as u32;
        let event = Event::new(
            change.at,
            ActorRecord::system(),
            EventKind::ClusterJoined {
                address: shared.address.clone(),
                cases: size,
            },
        );
        change.case.apply(&event);
        change.events.push(event);

        let mut all: Vec<&Case> = loaded.iter().map(|s| &s.case).collect();
        all.push(&change.case);
        let mods = self.svc.default_locale;
        let view = cluster_view(&cl, &all, mods, change.at);
        let text = self.svc.render(
            mods,
            PromptKey::ClusterNotice,
            &context! {
                case => self.svc.view(&change.case, mods, change.at),
                address => shared.address.short(),
                cluster => view,
            },
        )?;
        let key = format!("cluster:{}:{}", id.as_str(), shared.link);
        change.outgoing.push(Outgoing::keyed(
            format!("{key}:mods"),
            Some(id.clone()),
            Recipient::MODERATORS,
            text,
        ));
        change.outgoing.push(self.cluster_victim_notice(
            &change.case,
            size,
            &format!("{key}:victim"),
        )?);
        // The cases never told of a cluster before are told now, each in its own change.
        let untold = loaded
            .iter()
            .filter(|s| s.case.cluster_size == 0 && s.case.is_open())
            .filter_map(|s| {
                let address = cl
                    .rows
                    .iter()
                    .find(|r| r.case == s.case.id && cl.shared.iter().any(|(k, _)| *k == r.link))
                    .map(|r| r.address.clone())?;
                Some((s.case.id.clone(), address))
            })
            .collect();
        Ok(Joined {
            others: untold,
            cases: size,
        })
    }

    /// What the victim of a case that joined a cluster reads: how many other reports name
    /// the same address, nothing about them, and the question of a joint complaint.
    fn cluster_victim_notice(
        &self,
        case: &Case,
        cases: u32,
        key: &str,
    ) -> Result<Outgoing, EngineError> {
        let locale = case.locale;
        let text = self.svc.render(
            locale,
            PromptKey::ClusterVictim,
            &context! {
                case => case.id.to_string(),
                others => cases.saturating_sub(1),
                consent => case.joint_consent,
            },
        )?;
        let mut o = Outgoing::keyed(
            key.to_string(),
            Some(case.id.clone()),
            Recipient::User {
                user: case.reporter.clone(),
            },
            text,
        );
        o.meta.buttons = [("consent_yes", "yes"), ("consent_no", "no")]
            .into_iter()
            .filter_map(|(label, answer)| {
                let token = Action::Run(format!("/consent {} {answer}", case.id)).token()?;
                Some(Button {
                    label: crate::core::buttons::label(&self.svc, locale, label, &context! {}),
                    does: Does::Press { token },
                })
            })
            .collect();
        Ok(o)
    }

    /// After a join was saved: records it on each case whose victim had not been told of a
    /// cluster yet, and tells them (as [`Engine::join_cluster`] told the joining case's). A
    /// failure here loses only these notices, and is logged.
    pub(crate) async fn tell_joined(&self, joined: Joined, now: DateTime<Utc>) {
        for (id, address) in joined.others {
            if let Err(e) = self.tell_one(&id, address, joined.cases, now).await {
                tracing::warn!(case = %id, error = %e, "cluster notice not recorded");
            }
        }
    }

    async fn tell_one(
        &self,
        id: &CaseId,
        address: Address,
        cases: u32,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        for _ in 0..5 {
            let Some(sc) = self.store.load_case(id).await? else {
                return Ok(());
            };
            if sc.case.cluster_size != 0 {
                return Ok(());
            }
            let mut case = sc.case;
            let event = Event::new(
                now,
                ActorRecord::system(),
                EventKind::ClusterJoined {
                    address: address.clone(),
                    cases,
                },
            );
            case.apply(&event);
            let key = format!(
                "cluster:{}:{}:victim",
                id.as_str(),
                cluster::link_key(&address)
            );
            let notice = self.cluster_victim_notice(&case, cases, &key)?;
            let change = Change {
                at: now,
                next_due_at: self.svc.ladder.next_due(&case).map(|d| d.at),
                case,
                expected_version: Some(sc.version),
                events: vec![event],
                outgoing: vec![notice],
                step_key: None,
                talk: Default::default(),
            };
            match self.store.save(&change).await? {
                Saved::Conflict => continue,
                _ => {
                    self.wake_all();
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// `/consent [case] yes|no`.
    pub(crate) async fn consent(
        &self,
        cx: &Ctx<'_>,
        case: Option<CaseId>,
        yes: bool,
    ) -> Result<Outcome, EngineError> {
        let answer = if yes { "yes" } else { "no" };
        let redo = move |id: &CaseId| format!("/consent {id} {answer}");
        let sc = match self.find_case(cx, case.as_ref(), &redo).await? {
            Ok(sc) => sc,
            Err(o) => return Ok(o),
        };
        if sc.case.joint_consent == Some(yes) {
            let ctx = self.case_ctx(cx, &sc.case, context! { yes => yes, again => true });
            return self.reply(cx, PromptKey::Consent, ctx);
        }
        self.case_change(
            cx,
            sc,
            vec![EventKind::JointConsent { yes }],
            PromptKey::Consent,
            context! { yes => yes, again => false },
        )
    }

    /// `/clusters`: every cluster of two or more cases.
    pub(crate) async fn clusters(&self, cx: &Ctx<'_>) -> Result<Outcome, EngineError> {
        let rows = self.store.shared_links().await?;
        let mut found = cluster::components(&rows);
        // The shared rows alone miss how far a cluster reaches through a case's other
        // addresses only when those are shared too; they are, by definition, so `found` is
        // complete. Each cluster's cases are loaded for its figures.
        let mut views = Vec::new();
        for cl in found.drain(..).take(50) {
            let loaded = self.load_all(&cl.cases).await?;
            let cases: Vec<&Case> = loaded.iter().map(|s| &s.case).collect();
            views.push(cluster_view(&cl, &cases, cx.locale, cx.now));
        }
        self.reply(
            cx,
            PromptKey::Clusters,
            context! { clusters => views, one => false },
        )
    }

    /// The cluster a moderator names by its ID, a shared address, or one of its cases.
    pub(crate) async fn find_cluster(&self, target: &str) -> Result<Option<Cluster>, EngineError> {
        Ok(if let Some(id) = CaseId::parse(target) {
            self.cluster_of_case(&id).await?
        } else if let Some(cid) = cluster::parse_cluster_id(target) {
            let rows = self.store.shared_links().await?;
            cluster::components(&rows).into_iter().find(|c| c.id == cid)
        } else {
            let keys = address_keys(target);
            let rows = self.reach(keys, Vec::new()).await?;
            cluster::components(&rows).into_iter().next()
        })
    }

    /// `/cluster <cluster id | address | case id>`.
    pub(crate) async fn cluster(&self, cx: &Ctx<'_>, target: &str) -> Result<Outcome, EngineError> {
        let found = self.find_cluster(target).await?;
        let Some(cl) = found else {
            return self.reply(
                cx,
                PromptKey::Clusters,
                context! { unknown => target, one => true },
            );
        };
        let loaded = self.load_all(&cl.cases).await?;
        let cases: Vec<&Case> = loaded.iter().map(|s| &s.case).collect();
        let view = cluster_view(&cl, &cases, cx.locale, cx.now);
        let joints = self.joint_lines(&cl.id).await?;
        self.reply(
            cx,
            PromptKey::Clusters,
            context! { clusters => vec![view], one => true, joints => joints },
        )
    }

    /// `/unlink <case> <address> [reason]`: the address stops linking cases in this
    /// community (the store drops it from the index and never indexes it again).
    pub(crate) async fn unlink(
        &self,
        cx: &Ctx<'_>,
        id: &CaseId,
        raw: &str,
        reason: String,
    ) -> Result<Outcome, EngineError> {
        let sc = match self.find_case(cx, Some(id), &|_| String::new()).await? {
            Ok(sc) => sc,
            Err(o) => return Ok(o),
        };
        let keys = address_keys(raw);
        let Some((_, address)) = cluster::linking(&sc.case)
            .into_iter()
            .find(|(k, _)| keys.contains(k))
        else {
            let ctx = self.case_ctx(cx, &sc.case, context! { missing => raw });
            return self.reply(cx, PromptKey::Unlinked, ctx);
        };
        let reason = (!reason.trim().is_empty()).then(|| reason.trim().to_string());
        let short = address.short();
        self.case_change(
            cx,
            sc,
            vec![EventKind::Unlinked { address, reason }],
            PromptKey::Unlinked,
            context! { address => short },
        )
    }
}

/// The link keys an address typed by a moderator may have, on every chain its shape fits.
fn address_keys(raw: &str) -> Vec<String> {
    let raw = raw.trim();
    let mut keys: Vec<String> = crate::core::evidence::chains_for_address(raw)
        .into_iter()
        .filter_map(|c| Address::parse(c, raw).ok())
        .map(|a| cluster::link_key(&a))
        .collect();
    // A lowercase or mixed-case EVM address whose checksum does not verify still names the
    // same key.
    if raw.len() == 42 && raw.starts_with("0x") && raw[2..].chars().all(|c| c.is_ascii_hexdigit()) {
        keys.push(format!("evm:{}", raw.to_lowercase()));
    }
    keys.sort();
    keys.dedup();
    keys
}
