// The store's SQL, written once and compiled for each backend: `sqlite.rs` and `postgres.rs`
// each define `Db`, `SKIP_LOCKED` and `Backend::write_lock` and then `include!` this file.
// Placeholders are `$N`, which both SQLite and PostgreSQL accept.

use chrono::{DateTime, TimeZone, Utc};
use sqlx::Row;

use crate::core::case::{CaseId, Event};
use crate::core::identity::{ChatRef, MessageRef, UserRef};
use crate::core::message::{Outgoing, Recipient};
use crate::core::ports::{
    CaseMessage, Change, Conversation, OutboxItem, RowState, Saved, StoreError, StoredCase, Talk,
    Taken,
};

type Conn = <Db as sqlx::Database>::Connection;
type R<T> = Result<T, StoreError>;

/// How long the outbox leases rows unless `SqlStore::with_outbox_lease` says otherwise.
const DEFAULT_LEASE_MS: i64 = 60_000;

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(v: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(v).single().unwrap_or_default()
}

fn json<T: serde::Serialize>(v: &T) -> R<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Failed(e.into()))
}

fn parse<T: serde::de::DeserializeOwned>(s: &str) -> R<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Failed(e.into()))
}

fn stored(row: &<Db as sqlx::Database>::Row) -> R<StoredCase> {
    let state: String = row.try_get("state")?;
    Ok(StoredCase {
        case: parse(&state)?,
        version: row.try_get("version")?,
    })
}

const CASE_ROWS: &str = json_rows!(id text, reporter_platform text, reporter_id text,
    status text, needs_decision boolean, silence_since bigint, next_due_at bigint,
    created_at bigint, updated_at bigint, version bigint, state text);
const ID_ROWS: &str = json_rows!(id bigint);
const LINK_ROWS: &str = json_rows!(link text, case_id text, address text, at bigint);
const UNLINK_ROWS: &str =
    json_rows!(link text, case_id text, reason text, by_name text, at bigint);
const KEY_ROWS: &str = json_rows!(k text);
const COUNTER_ROWS: &str =
    json_rows!(ord bigint, scope bigint, company text, metric text, bucket bigint, n bigint);
const FACT_ROWS: &str = json_rows!(case_id text, facts text);
const DIST_KEYS: &str = json_rows!(ord bigint, scope bigint, company text);
const DIST_ROWS: &str = json_rows!(scope bigint, company text, data text);
const NAME_ROWS: &str = json_rows!(company text, name text);
const STEP_ROWS: &str = json_rows!(case_id text, step text, taken_at bigint);
const EVENT_ROWS: &str =
    json_rows!(ord bigint, case_id text, at bigint, actor text, kind text, data text);
const OUTBOX_ROWS: &str = json_rows!(ord bigint, dedupe_key text, case_id text, recipient text,
    body text, created_at bigint, lease_until bigint, attachment text, meta text);

/// One JSON array bound as a single parameter and read back as rows (`x.<column>`): a batch of
/// any size costs one statement, on both backends.
fn rows<T: serde::Serialize>(items: &[T]) -> R<String> {
    json(&items)
}

#[derive(serde::Serialize)]
struct CaseRow<'a> {
    id: &'a str,
    reporter_platform: &'a str,
    reporter_id: String,
    status: &'a str,
    needs_decision: bool,
    silence_since: Option<i64>,
    next_due_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    version: i64,
    state: String,
}

#[derive(serde::Serialize)]
struct StepRow<'a> {
    case_id: &'a str,
    step: &'a str,
    taken_at: i64,
}

/// A case's linking address; a case with none has one row with an empty `link`, so that its
/// old rows are still cleared.
#[derive(serde::Serialize)]
struct LinkWrite<'a> {
    link: String,
    case_id: &'a str,
    address: String,
    at: i64,
}

#[derive(serde::Serialize)]
struct UnlinkWrite<'a> {
    link: String,
    case_id: &'a str,
    reason: Option<&'a str>,
    by_name: &'a str,
    at: i64,
}

#[derive(serde::Serialize)]
struct KeyRow<'a> {
    k: &'a str,
}

#[derive(serde::Serialize)]
struct EventRow<'a> {
    ord: usize,
    case_id: &'a str,
    at: i64,
    actor: String,
    kind: &'a str,
    data: String,
}

#[derive(serde::Serialize)]
struct OutboxRow<'a> {
    ord: usize,
    dedupe_key: &'a str,
    case_id: Option<&'a str>,
    recipient: String,
    body: &'a str,
    created_at: i64,
    /// Answers are written leased: the adapter sends them in place; the outbox only if the
    /// lease runs out first.
    lease_until: Option<i64>,
    attachment: Option<String>,
    meta: Option<String>,
}

fn case_row(ch: &Change) -> R<CaseRow<'_>> {
    let case = &ch.case;
    Ok(CaseRow {
        id: case.id.as_str(),
        reporter_platform: case.reporter.platform().key(),
        reporter_id: case.reporter.local_id(),
        status: case.status.key(),
        needs_decision: case.pending_post.is_some(),
        silence_since: case.clock.since.map(ms),
        next_due_at: ch.next_due_at.map(ms),
        created_at: ms(case.created_at),
        updated_at: ms(ch.at),
        version: ch.expected_version.unwrap_or(0),
        state: json(case)?,
    })
}

/// Writes a batch of changes inside the caller's transaction, in a fixed number of statements
/// whatever the batch size. Returns, per change, whether it was written: a change whose step
/// was already taken is left out (nothing of it is written); a change whose case moved on
/// (version mismatch) is reported as a conflict, and the caller must roll back, because its
/// step may already be in the escalation log.
async fn write_batch(conn: &mut Conn, changes: &[Change], lease_ms: i64) -> R<Vec<Saved>> {
    let mut saved = vec![Saved::Done; changes.len()];
    // Changes caused by a platform input are written once per input (a redelivered update).
    for (i, c) in changes.iter().enumerate() {
        if !write_talk(conn, &c.talk, c.at).await? {
            saved[i] = Saved::Duplicate;
        }
    }
    if saved.contains(&Saved::Duplicate) {
        return Ok(saved);
    }
    let new: Vec<CaseRow> = changes
        .iter()
        .filter(|c| c.expected_version.is_none())
        .map(case_row)
        .collect::<R<_>>()?;
    if !new.is_empty() {
        sqlx::query(&format!(
            "INSERT INTO cases (id, reporter_platform, reporter_id, status, needs_decision, \
             silence_since, next_due_at, created_at, updated_at, version, state) \
             SELECT x.id, x.reporter_platform, x.reporter_id, x.status, x.needs_decision, \
             x.silence_since, x.next_due_at, x.created_at, x.updated_at, 1, x.state FROM {CASE_ROWS}"
        ))
        .bind(rows(&new)?)
        .execute(&mut *conn)
        .await?;
    }
    // The escalation log decides which steps are still to take: its primary key admits each
    // (case, step#occurrence) once.
    let steps: Vec<StepRow> = changes
        .iter()
        .filter_map(|c| {
            c.step_key.as_deref().map(|step| StepRow {
                case_id: c.case.id.as_str(),
                step,
                taken_at: ms(c.at),
            })
        })
        .collect();
    if !steps.is_empty() {
        let taken: Vec<String> = sqlx::query_scalar(&format!(
            "INSERT INTO escalations (case_id, step, taken_at) \
             SELECT x.case_id, x.step, x.taken_at FROM {STEP_ROWS} WHERE true \
             ON CONFLICT DO NOTHING RETURNING case_id"
        ))
        .bind(rows(&steps)?)
        .fetch_all(&mut *conn)
        .await?;
        let taken: std::collections::HashSet<&str> = taken.iter().map(String::as_str).collect();
        for (i, c) in changes.iter().enumerate() {
            if c.step_key.is_some() && !taken.contains(c.case.id.as_str()) {
                saved[i] = Saved::StepAlreadyTaken;
            }
        }
    }
    let updates: Vec<CaseRow> = changes
        .iter()
        .zip(&saved)
        .filter(|(c, s)| c.expected_version.is_some() && **s == Saved::Done)
        .map(|(c, _)| case_row(c))
        .collect::<R<_>>()?;
    if !updates.is_empty() {
        let done: Vec<String> = sqlx::query_scalar(&format!(
            "UPDATE cases SET status = x.status, needs_decision = x.needs_decision, \
             silence_since = x.silence_since, next_due_at = x.next_due_at, \
             updated_at = x.updated_at, version = cases.version + 1, state = x.state \
             FROM {CASE_ROWS} WHERE cases.id = x.id AND cases.version = x.version \
             RETURNING cases.id"
        ))
        .bind(rows(&updates)?)
        .fetch_all(&mut *conn)
        .await?;
        let done: std::collections::HashSet<&str> = done.iter().map(String::as_str).collect();
        for (i, c) in changes.iter().enumerate() {
            if c.expected_version.is_some()
                && saved[i] == Saved::Done
                && !done.contains(c.case.id.as_str())
            {
                saved[i] = Saved::Conflict;
            }
        }
    }
    let written = || {
        changes
            .iter()
            .zip(&saved)
            .filter(|(_, s)| **s == Saved::Done)
            .map(|(c, _)| c)
    };
    let mut events = Vec::new();
    for ch in written() {
        for ev in &ch.events {
            events.push(EventRow {
                ord: events.len(),
                case_id: ch.case.id.as_str(),
                at: ms(ev.at),
                actor: json(&ev.actor)?,
                kind: ev.kind.name(),
                data: json(&ev.kind)?,
            });
        }
    }
    if !events.is_empty() {
        sqlx::query(&format!(
            "INSERT INTO events (case_id, at, actor, kind, data) \
             SELECT x.case_id, x.at, x.actor, x.kind, x.data FROM {EVENT_ROWS} ORDER BY x.ord"
        ))
        .bind(rows(&events)?)
        .execute(&mut *conn)
        .await?;
    }
    write_links(conn, written()).await?;
    write_stats(conn, written()).await?;
    let out: Vec<(&Outgoing, DateTime<Utc>)> = written()
        .flat_map(|c| c.outgoing.iter().map(move |o| (o, c.at)))
        .collect();
    insert_outgoing(conn, &out, lease_ms).await?;
    Ok(saved)
}

/// Keeps the cluster index (`case_links`) in step with the evidence of the cases written, and
/// records the addresses a moderator unlinked (which then link nothing).
async fn write_links<'a>(conn: &mut Conn, written: impl Iterator<Item = &'a Change>) -> R<()> {
    use crate::core::cluster;
    use crate::core::case::EventKind;
    let mut links = Vec::new();
    let mut unlinks = Vec::new();
    for ch in written {
        for ev in &ch.events {
            if let EventKind::Unlinked { address, reason } = &ev.kind {
                unlinks.push(UnlinkWrite {
                    link: cluster::link_key(address),
                    case_id: ch.case.id.as_str(),
                    reason: reason.as_deref(),
                    by_name: &ev.actor.name,
                    at: ms(ev.at),
                });
            }
        }
        if !ch.events.iter().any(|e| cluster::touches_links(&ch.case, &e.kind)) {
            continue;
        }
        let id = ch.case.id.as_str();
        links.push(LinkWrite {
            link: String::new(),
            case_id: id,
            address: String::new(),
            at: 0,
        });
        for (link, address) in cluster::linking(&ch.case) {
            links.push(LinkWrite {
                link,
                case_id: id,
                address: json(&address)?,
                at: ms(ch.at),
            });
        }
    }
    if !links.is_empty() {
        let data = rows(&links)?;
        sqlx::query(&format!(
            "DELETE FROM case_links WHERE case_id IN (SELECT x.case_id FROM {LINK_ROWS}) \
             AND NOT EXISTS (SELECT 1 FROM {LINK_ROWS} \
             WHERE x.case_id = case_links.case_id AND x.link = case_links.link)"
        ))
        .bind(&data)
        .execute(&mut *conn)
        .await?;
        sqlx::query(&format!(
            "INSERT INTO case_links (link, case_id, address, linked_at) \
             SELECT x.link, x.case_id, x.address, x.at FROM {LINK_ROWS} \
             WHERE x.link <> '' AND NOT EXISTS (SELECT 1 FROM unlinked WHERE unlinked.link = x.link) \
             ON CONFLICT DO NOTHING"
        ))
        .bind(&data)
        .execute(&mut *conn)
        .await?;
    }
    if !unlinks.is_empty() {
        let data = rows(&unlinks)?;
        sqlx::query(&format!(
            "INSERT INTO unlinked (link, case_id, reason, by_name, at) \
             SELECT x.link, x.case_id, x.reason, x.by_name, x.at FROM {UNLINK_ROWS} WHERE true \
             ON CONFLICT DO NOTHING"
        ))
        .bind(&data)
        .execute(&mut *conn)
        .await?;
        sqlx::query(&format!(
            "DELETE FROM case_links WHERE link IN (SELECT x.link FROM {UNLINK_ROWS})"
        ))
        .bind(&data)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[derive(serde::Serialize)]
struct CounterRow<'a> {
    ord: usize,
    scope: i64,
    company: &'a str,
    metric: &'a str,
    bucket: i64,
    n: i64,
}

#[derive(serde::Serialize)]
struct FactRow<'a> {
    case_id: &'a str,
    facts: String,
}

#[derive(serde::Serialize)]
struct NameRow<'a> {
    company: &'a str,
    name: &'a str,
}

/// Keeps the figures per company ([`crate::core::stats`]) in step with the cases written: each
/// case whose facts changed adds the difference to the counters. Nothing is read or written
/// for a change whose events cannot change the facts.
async fn write_stats<'a>(conn: &mut Conn, written: impl Iterator<Item = &'a Change>) -> R<()> {
    use crate::core::stats::{self, Facts};
    let todo: Vec<(&Change, Option<Facts>)> = written
        .filter(|ch| {
            ch.expected_version.is_none() || ch.events.iter().any(|e| stats::touches(&e.kind))
        })
        .map(|ch| (ch, stats::facts(&ch.case)))
        .collect();
    if todo.is_empty() {
        return Ok(());
    }
    let updated: Vec<KeyRow> = todo
        .iter()
        .filter(|(ch, _)| ch.expected_version.is_some())
        .map(|(ch, _)| KeyRow {
            k: ch.case.id.as_str(),
        })
        .collect();
    let mut before: std::collections::HashMap<String, Option<Facts>> = Default::default();
    if !updated.is_empty() {
        let found = sqlx::query(&format!(
            "SELECT case_id, facts FROM case_stats WHERE case_id IN (SELECT x.k FROM {KEY_ROWS})"
        ))
        .bind(rows(&updated)?)
        .fetch_all(&mut *conn)
        .await?;
        for row in found {
            let facts: String = row.try_get("facts")?;
            before.insert(row.try_get("case_id")?, parse(&facts)?);
        }
    }
    apply_facts(conn, todo.iter().map(|(ch, f)| {
        let old = before.remove(ch.case.id.as_str()).flatten();
        (ch.case.id.as_str(), old, f.clone())
    }))
    .await
}

/// Writes cases' new facts and adds, per counter, the difference from their old ones.
async fn apply_facts<'a>(
    conn: &mut Conn,
    items: impl Iterator<
        Item = (
            &'a str,
            Option<crate::core::stats::Facts>,
            Option<crate::core::stats::Facts>,
        ),
    >,
) -> R<()> {
    use crate::core::stats;
    let mut sum: std::collections::BTreeMap<stats::Cell, i64> = Default::default();
    let mut facts = Vec::new();
    let mut names: Vec<(String, String)> = Vec::new();
    for (id, old, new) in items {
        if old == new && old.is_some() {
            continue;
        }
        for (cell, n) in stats::delta(old.as_ref(), new.as_ref()) {
            *sum.entry(cell).or_default() += n;
        }
        if let Some(f) = &new
            && !names.iter().any(|(k, _)| *k == f.company)
        {
            names.push((f.company.clone(), f.name.clone()));
        }
        facts.push(FactRow {
            case_id: id,
            facts: json(&new)?,
        });
    }
    add_counters(conn, &sum).await?;
    if !facts.is_empty() {
        sqlx::query(&format!(
            "INSERT INTO case_stats (case_id, facts) SELECT x.case_id, x.facts FROM {FACT_ROWS} \
             WHERE true ON CONFLICT (case_id) DO UPDATE SET facts = excluded.facts"
        ))
        .bind(rows(&facts)?)
        .execute(&mut *conn)
        .await?;
    }
    add_names(conn, &names).await
}

/// Adds to the counters (in the cells' order, so concurrent writers lock rows in one order):
/// the counts to their rows, the reply times and silences to their company's distribution
/// row of each scope ([`crate::core::stats::Dist`]), after the counts.
async fn add_counters(
    conn: &mut Conn,
    sum: &std::collections::BTreeMap<crate::core::stats::Cell, i64>,
) -> R<()> {
    use crate::core::stats::DISTRIBUTED;
    let counters: Vec<CounterRow> = sum
        .iter()
        .filter(|(c, n)| **n != 0 && !DISTRIBUTED.contains(&c.metric))
        .enumerate()
        .map(|(ord, (c, n))| CounterRow {
            ord,
            scope: c.scope,
            company: &c.company,
            metric: c.metric,
            bucket: c.bucket,
            n: *n,
        })
        .collect();
    if !counters.is_empty() {
        sqlx::query(&format!(
            "INSERT INTO stat_counters (scope, company, metric, bucket, n) \
             SELECT x.scope, x.company, x.metric, x.bucket, x.n FROM {COUNTER_ROWS} \
             WHERE true ORDER BY x.ord \
             ON CONFLICT (scope, company, metric, bucket) DO UPDATE SET n = stat_counters.n + excluded.n"
        ))
        .bind(rows(&counters)?)
        .execute(&mut *conn)
        .await?;
    }
    add_dists(conn, sum).await
}

#[derive(serde::Serialize)]
struct DistKey<'a> {
    ord: usize,
    scope: i64,
    company: &'a str,
}

#[derive(serde::Serialize)]
struct DistRow<'a> {
    scope: i64,
    company: &'a str,
    data: String,
}

/// Adds the reply-time and silence cells of `sum` to their distribution rows: each row is
/// created if missing and locked (an upsert that returns what it holds: on PostgreSQL the
/// latest committed value, held until commit), then written back changed.
async fn add_dists(
    conn: &mut Conn,
    sum: &std::collections::BTreeMap<crate::core::stats::Cell, i64>,
) -> R<()> {
    use crate::core::stats::{DISTRIBUTED, Dist};
    // Per row, the change to make (a distribution of differences).
    let mut changes: std::collections::BTreeMap<(i64, &str), Dist> = Default::default();
    for (c, n) in sum {
        if *n != 0 && DISTRIBUTED.contains(&c.metric) {
            changes
                .entry((c.scope, c.company.as_str()))
                .or_default()
                .add(c.metric, c.bucket, *n);
        }
    }
    if changes.is_empty() {
        return Ok(());
    }
    let keys: Vec<DistKey> = changes
        .keys()
        .enumerate()
        .map(|(ord, (scope, company))| DistKey {
            ord,
            scope: *scope,
            company,
        })
        .collect();
    let held = sqlx::query(&format!(
        "INSERT INTO stat_dists (scope, company, data) \
         SELECT x.scope, x.company, '' FROM {DIST_KEYS} WHERE true ORDER BY x.ord \
         ON CONFLICT (scope, company) DO UPDATE SET data = stat_dists.data \
         RETURNING scope, company, data"
    ))
    .bind(rows(&keys)?)
    .fetch_all(&mut *conn)
    .await?;
    let mut written = Vec::with_capacity(held.len());
    for row in &held {
        let scope: i64 = row.try_get(0)?;
        let company: &str = row.try_get(1)?;
        let data: &str = row.try_get(2)?;
        let Some(((scope, company), add)) = changes.get_key_value(&(scope, company)) else {
            continue;
        };
        let mut d = Dist::parse(data).map_err(|e| StoreError::Failed(anyhow::anyhow!(e)))?;
        for (metric, bucket, n) in add.entries() {
            d.add(metric, bucket, n);
        }
        written.push(DistRow {
            scope: *scope,
            company,
            data: d.text(),
        });
    }
    if written.len() != changes.len() {
        return Err(StoreError::Failed(anyhow::anyhow!(
            "{} of {} distribution rows held",
            written.len(),
            changes.len()
        )));
    }
    sqlx::query(&format!(
        "UPDATE stat_dists SET data = x.data FROM {DIST_ROWS} \
         WHERE stat_dists.scope = x.scope AND stat_dists.company = x.company"
    ))
    .bind(rows(&written)?)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Notes how each company (its key) is shown, where it is not noted yet.
async fn add_names(conn: &mut Conn, names: &[(String, String)]) -> R<()> {
    if names.is_empty() {
        return Ok(());
    }
    let names: Vec<NameRow> = names
        .iter()
        .map(|(company, name)| NameRow { company, name })
        .collect();
    sqlx::query(&format!(
        "INSERT INTO stat_companies (company, name) SELECT x.company, x.name FROM {NAME_ROWS} \
         WHERE true ON CONFLICT (company) DO NOTHING"
    ))
    .bind(rows(&names)?)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn link_rows(found: &[<Db as sqlx::Database>::Row]) -> R<Vec<crate::core::cluster::LinkRow>> {
    found
        .iter()
        .map(|row| {
            let address: String = row.try_get("address")?;
            let case: String = row.try_get("case_id")?;
            Ok(crate::core::cluster::LinkRow {
                link: row.try_get("link")?,
                address: parse(&address)?,
                case: CaseId::parse(&case)
                    .ok_or_else(|| StoreError::Failed(anyhow::anyhow!("bad case id {case}")))?,
                at: from_ms(row.try_get("linked_at")?),
            })
        })
        .collect()
}

const DRAFT_COLUMNS: &str =
    "id, subject, status, body, created_at, created_by, decided_at, decided_by, reason";

fn draft_row(row: &<Db as sqlx::Database>::Row) -> R<crate::core::draft::Draft> {
    let status: String = row.try_get("status")?;
    let body: String = row.try_get("body")?;
    Ok(crate::core::draft::Draft {
        id: row.try_get("id")?,
        subject: row.try_get("subject")?,
        status: crate::core::draft::DraftStatus::parse(&status)
            .ok_or_else(|| StoreError::Failed(anyhow::anyhow!("bad draft status {status}")))?,
        body: parse(&body)?,
        created_at: from_ms(row.try_get("created_at")?),
        created_by: row.try_get("created_by")?,
        decided_at: row.try_get::<Option<i64>, _>("decided_at")?.map(from_ms),
        decided_by: row.try_get("decided_by")?,
        reason: row.try_get("reason")?,
    })
}

/// Writes the conversation's side of a change; false (and nothing written) if its input was
/// handled before.
async fn write_talk(conn: &mut Conn, talk: &Talk, at: DateTime<Utc>) -> R<bool> {
    if let Some(key) = &talk.inbox
        && !note_input(conn, key, at).await?
    {
        return Ok(false);
    }
    if let Some((user, chat, state)) = &talk.dialogue {
        write_dialogue(conn, user, chat, state.as_deref(), at).await?;
    }
    if let Some((key, value)) = &talk.locale {
        write_setting(conn, key, value).await?;
    }
    Ok(true)
}

/// Sets (or, with `None`, ends) a person's dialogue state in a chat.
async fn write_dialogue(
    conn: &mut Conn,
    user: &UserRef,
    chat: &ChatRef,
    state: Option<&str>,
    at: DateTime<Utc>,
) -> R<()> {
    let q = match state {
        Some(state) => sqlx::query(
            "INSERT INTO dialogues (user_key, chat_key, state, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (user_key, chat_key) \
             DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
        )
        .bind(json(user)?)
        .bind(json(chat)?)
        .bind(state)
        .bind(ms(at)),
        None => sqlx::query("DELETE FROM dialogues WHERE user_key = $1 AND chat_key = $2")
            .bind(json(user)?)
            .bind(json(chat)?),
    };
    q.execute(&mut *conn).await?;
    Ok(())
}

async fn write_setting(conn: &mut Conn, key: &str, value: &str) -> R<()> {
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES ($1, $2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Notes that the input `key` was handled; false if it had been already.
async fn note_input(conn: &mut Conn, key: &str, at: DateTime<Utc>) -> R<bool> {
    let done = sqlx::query(
        "INSERT INTO inbox (key, handled_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(ms(at))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

async fn insert_outgoing(
    conn: &mut Conn,
    out: &[(&Outgoing, DateTime<Utc>)],
    lease_ms: i64,
) -> R<()> {
    if out.is_empty() {
        return Ok(());
    }
    let items = out
        .iter()
        .enumerate()
        .map(|(ord, (o, at))| {
            Ok(OutboxRow {
                ord,
                dedupe_key: &o.key,
                case_id: o.case_id.as_ref().map(CaseId::as_str),
                recipient: json(&o.to)?,
                body: &o.text,
                created_at: ms(*at),
                lease_until: o.is_answer().then(|| ms(*at) + lease_ms),
                attachment: o.attachment.as_ref().map(json).transpose()?,
                meta: (!o.meta.is_default()).then(|| json(&o.meta)).transpose()?,
            })
        })
        .collect::<R<Vec<_>>>()?;
    sqlx::query(&format!(
        "INSERT INTO outbox (dedupe_key, case_id, recipient, body, created_at, next_attempt_at, \
         lease_until, attachment, meta) SELECT x.dedupe_key, x.case_id, x.recipient, x.body, \
         x.created_at, x.created_at, x.lease_until, x.attachment, x.meta FROM {OUTBOX_ROWS} \
         WHERE true ORDER BY x.ord ON CONFLICT (dedupe_key) DO NOTHING"
    ))
    .bind(rows(&items)?)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Below this many claimed cases a batch is decided on the calling thread alone.
const PARALLEL_MIN: usize = 64;

/// Reads and decides the claimed rows, spread over the machine's cores: rendering a step's
/// messages is most of a claim's work, and the database waits for it inside the transaction.
fn decide_all<F>(rows: &[<Db as sqlx::Database>::Row], decide: &F) -> R<Vec<Change>>
where
    F: Fn(StoredCase) -> Change + Sync,
{
    let one = |part: &[<Db as sqlx::Database>::Row]| {
        part.iter()
            .map(|row| stored(row).map(decide))
            .collect::<R<Vec<Change>>>()
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || rows.len() < PARALLEL_MIN {
        return one(rows);
    }
    let size = rows.len().div_ceil(threads);
    let mut parts = rows.chunks(size);
    let first = parts.next().unwrap_or(&[]);
    std::thread::scope(|s| {
        let others: Vec<_> = parts.map(|part| s.spawn(move || one(part))).collect();
        let mut changes = one(first)?;
        for h in others {
            let part = h
                .join()
                .map_err(|_| StoreError::Failed(anyhow::anyhow!("deciding a claimed batch panicked")))?;
            changes.extend(part?);
        }
        Ok(changes)
    })
}

impl Backend {
    pub async fn save(&self, ch: &Change) -> R<Saved> {
        Ok(self.save_batch(std::slice::from_ref(ch)).await?[0])
    }

    pub async fn save_batch(&self, changes: &[Change]) -> R<Vec<Saved>> {
        let _w = self.write_lock().await;
        let mut tx = self.pool.begin_with(BEGIN).await?;
        let saved = write_batch(&mut tx, changes, self.lease_ms).await?;
        if saved.iter().all(|s| *s == Saved::Done) {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(saved)
    }

    /// Brings the database to the steady state a bulk load leaves behind once the server's
    /// own housekeeping has run (see `SETTLE`).
    pub async fn settle(&self) -> R<()> {
        sqlx::raw_sql(SETTLE).execute(&self.pool).await?;
        if !SETTLE_MORE.is_empty()
            && let Err(e) = sqlx::raw_sql(SETTLE_MORE).execute(&self.pool).await
        {
            tracing::info!(error = %e, "cannot settle the database further");
        }
        Ok(())
    }

    /// One trivial query: the floor every other query's latency stands on.
    pub async fn round_trip(&self) -> R<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn version(&self) -> R<String> {
        Ok(sqlx::query_scalar(VERSION_QUERY)
            .fetch_one(&self.pool)
            .await?)
    }

    /// Index rows naming any of these link keys.
    pub async fn links_by_key(&self, keys: &[String]) -> R<Vec<crate::core::cluster::LinkRow>> {
        let keys: Vec<KeyRow> = keys.iter().map(|k| KeyRow { k }).collect();
        let found = sqlx::query(&format!(
            "SELECT link, case_id, address, linked_at FROM case_links \
             WHERE link IN (SELECT x.k FROM {KEY_ROWS})"
        ))
        .bind(rows(&keys)?)
        .fetch_all(&self.pool)
        .await?;
        link_rows(&found)
    }

    /// Index rows of these cases.
    pub async fn links_by_case(&self, cases: &[CaseId]) -> R<Vec<crate::core::cluster::LinkRow>> {
        let keys: Vec<KeyRow> = cases.iter().map(|c| KeyRow { k: c.as_str() }).collect();
        let found = sqlx::query(&format!(
            "SELECT link, case_id, address, linked_at FROM case_links \
             WHERE case_id IN (SELECT x.k FROM {KEY_ROWS})"
        ))
        .bind(rows(&keys)?)
        .fetch_all(&self.pool)
        .await?;
        link_rows(&found)
    }

    /// Index rows of every key two or more cases name: all clusters.
    pub async fn shared_links(&self) -> R<Vec<crate::core::cluster::LinkRow>> {
        let found = sqlx::query(
            "SELECT link, case_id, address, linked_at FROM case_links WHERE link IN \
             (SELECT link FROM case_links GROUP BY link HAVING COUNT(*) > 1)",
        )
        .fetch_all(&self.pool)
        .await?;
        link_rows(&found)
    }

    pub async fn load_case(&self, id: &CaseId) -> R<Option<StoredCase>> {
        let row = sqlx::query("SELECT state, version FROM cases WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(stored).transpose()
    }

    pub async fn events(&self, id: &CaseId) -> R<Vec<Event>> {
        let rows = sqlx::query("SELECT at, actor, data FROM events WHERE case_id = $1 ORDER BY id")
            .bind(id.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let actor: String = row.try_get("actor")?;
                let data: String = row.try_get("data")?;
                Ok(Event {
                    at: from_ms(row.try_get("at")?),
                    actor: parse(&actor)?,
                    kind: parse(&data)?,
                })
            })
            .collect()
    }

    pub async fn cases_of(&self, user: &UserRef) -> R<Vec<StoredCase>> {
        let rows = sqlx::query(
            "SELECT state, version FROM cases WHERE reporter_platform = $1 AND reporter_id = $2 \
             ORDER BY created_at DESC",
        )
        .bind(user.platform().key())
        .bind(user.local_id())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(stored).collect()
    }

    pub async fn queue(&self, limit: u32) -> R<Vec<StoredCase>> {
        let rows = sqlx::query(
            "SELECT state, version FROM cases WHERE status = 'open' \
             ORDER BY needs_decision DESC, silence_since IS NULL, silence_since, created_at \
             LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(stored).collect()
    }

    pub async fn enqueue(&self, out: &[Outgoing], now: DateTime<Utc>, talk: &Talk) -> R<bool> {
        let _w = self.write_lock().await;
        let mut tx = self.pool.begin_with(BEGIN).await?;
        if !write_talk(&mut tx, talk, now).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        let out: Vec<_> = out.iter().map(|o| (o, now)).collect();
        insert_outgoing(&mut tx, &out, self.lease_ms).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Forgets inputs handled before `before` (a platform redelivers within minutes).
    pub async fn prune_inbox(&self, before: DateTime<Utc>) -> R<u64> {
        let _w = self.write_lock().await;
        let done = sqlx::query("DELETE FROM inbox WHERE handled_at < $1")
            .bind(ms(before))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    pub async fn case_messages(&self, id: &CaseId) -> R<Vec<CaseMessage>> {
        let rows = sqlx::query(
            "SELECT created_at, recipient, body FROM outbox \
             WHERE case_id = $1 AND attachment IS NULL ORDER BY id",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let to: String = row.try_get("recipient")?;
                Ok(CaseMessage {
                    at: from_ms(row.try_get("created_at")?),
                    to: parse(&to)?,
                    text: row.try_get("body")?,
                })
            })
            .collect()
    }

    pub async fn conversation(
        &self,
        locale_key: &str,
        user: &UserRef,
        chat: &ChatRef,
    ) -> R<Conversation> {
        let row = sqlx::query(
            "SELECT (SELECT value FROM settings WHERE key = $1) AS locale, \
             (SELECT state FROM dialogues WHERE user_key = $2 AND chat_key = $3) AS dialogue",
        )
        .bind(locale_key)
        .bind(json(user)?)
        .bind(json(chat)?)
        .fetch_one(&self.pool)
        .await?;
        Ok(Conversation {
            locale: row.try_get("locale")?,
            dialogue: row.try_get("dialogue")?,
        })
    }

    pub async fn set_dialogue(
        &self,
        user: &UserRef,
        chat: &ChatRef,
        state: Option<&str>,
        now: DateTime<Utc>,
    ) -> R<()> {
        let _w = self.write_lock().await;
        let mut conn = self.pool.acquire().await?;
        write_dialogue(&mut conn, user, chat, state, now).await
    }

    pub async fn next_due_at(&self) -> R<Option<DateTime<Utc>>> {
        let row = sqlx::query(
            &format!(
                "SELECT MIN(next_due_at) AS due FROM cases{BY_NEXT_DUE} \
                 WHERE status = 'open' AND next_due_at IS NOT NULL"
            ),
        )
        .fetch_one(&self.pool)
        .await?;
        let due: Option<i64> = row.try_get("due")?;
        Ok(due.map(from_ms))
    }

    pub async fn take_due<F>(&self, now: DateTime<Utc>, limit: u32, decide: F) -> R<Taken>
    where
        F: Fn(StoredCase) -> Change + Send + Sync,
    {
        let _w = self.write_lock().await;
        let mut tx = self.pool.begin_with(BEGIN).await?;
        let sql = format!(
            "SELECT state, version FROM cases{BY_NEXT_DUE} \
             WHERE status = 'open' AND next_due_at IS NOT NULL AND next_due_at <= $1 \
             ORDER BY next_due_at LIMIT $2{SKIP_LOCKED}"
        );
        let rows = sqlx::query(&sql)
            .bind(ms(now))
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
        let changes = decide_all(&rows, &decide)?;
        let saved = write_batch(&mut tx, &changes, self.lease_ms).await?;
        if saved.contains(&Saved::Conflict) {
            // The rows are locked (PostgreSQL) or the database is (SQLite): this cannot happen
            // unless something bypasses the store. Write nothing rather than guess.
            tx.rollback().await?;
            return Err(StoreError::Failed(anyhow::anyhow!(
                "a claimed case changed while it was claimed"
            )));
        }
        tx.commit().await?;
        Ok(Taken {
            claimed: changes.len(),
            steps: changes
                .iter()
                .zip(&saved)
                .filter(|(c, s)| c.step_key.is_some() && **s == Saved::Done)
                .count(),
        })
    }

    pub async fn outbox_pending(&self, now: DateTime<Utc>, limit: u32) -> R<Vec<OutboxItem>> {
        let _w = self.write_lock().await;
        // Lease the rows so that another instance does not send them at the same time; a lease
        // left by a crashed instance expires and the message is picked up again.
        let lease = ms(now) + self.lease_ms;
        let sql = format!(
            "UPDATE outbox SET lease_until = $2 WHERE id IN (SELECT id FROM outbox{BY_PENDING} \
             WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 \
             AND (lease_until IS NULL OR lease_until <= $1) ORDER BY id LIMIT $3{SKIP_LOCKED}) \
             RETURNING id, dedupe_key, case_id, recipient, body, attachment, meta, attempts"
        );
        let rows = sqlx::query(&sql)
            .bind(ms(now))
            .bind(lease)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        let mut items = rows
            .iter()
            .map(|row| {
                let case_id: Option<String> = row.try_get("case_id")?;
                let to: String = row.try_get("recipient")?;
                let attempts: i64 = row.try_get("attempts")?;
                let attachment: Option<String> = row.try_get("attachment")?;
                let meta: Option<String> = row.try_get("meta")?;
                Ok(OutboxItem {
                    id: row.try_get("id")?,
                    key: row.try_get("dedupe_key")?,
                    case_id: case_id.as_deref().and_then(CaseId::parse),
                    to: parse::<Recipient>(&to)?,
                    text: row.try_get("body")?,
                    attachment: attachment.as_deref().map(parse).transpose()?,
                    meta: meta.as_deref().map(parse).transpose()?.unwrap_or_default(),
                    target: None,
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                })
            })
            .collect::<R<Vec<_>>>()?;
        items.sort_by_key(|i| i.id);
        Ok(items)
    }

    pub async fn outbox_sent(
        &self,
        id: i64,
        message_ref: Option<&MessageRef>,
        now: DateTime<Utc>,
    ) -> R<()> {
        let _w = self.write_lock().await;
        sqlx::query(
            "UPDATE outbox SET sent_at = $2, message_ref = $3, lease_until = NULL, \
             attempts = attempts + 1 WHERE id = $1",
        )
        .bind(id)
        .bind(ms(now))
        .bind(message_ref.map(json).transpose()?)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn outbox_sent_key(
        &self,
        key: &str,
        message_ref: Option<&MessageRef>,
        now: DateTime<Utc>,
    ) -> R<()> {
        let _w = self.write_lock().await;
        sqlx::query(
            "UPDATE outbox SET sent_at = $2, message_ref = $3, lease_until = NULL, \
             attempts = attempts + 1 WHERE dedupe_key = $1 AND sent_at IS NULL",
        )
        .bind(key)
        .bind(ms(now))
        .bind(message_ref.map(json).transpose()?)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn outbox_release_key(
        &self,
        key: &str,
        error: &str,
        not_before: Option<DateTime<Utc>>,
    ) -> R<()> {
        let _w = self.write_lock().await;
        sqlx::query(
            "UPDATE outbox SET lease_until = NULL, last_error = $2, \
             next_attempt_at = COALESCE($3, next_attempt_at) \
             WHERE dedupe_key = $1 AND sent_at IS NULL",
        )
        .bind(key)
        .bind(error)
        .bind(not_before.map(ms))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn outbox_row_state(&self, key: &str) -> R<RowState> {
        let row = sqlx::query(
            "SELECT sent_at, failed_at, message_ref FROM outbox WHERE dedupe_key = $1",
        )
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(RowState::Gone);
        };
        let sent: Option<i64> = row.try_get("sent_at")?;
        let failed: Option<i64> = row.try_get("failed_at")?;
        let reference: Option<String> = row.try_get("message_ref")?;
        Ok(match (sent, failed) {
            (Some(_), _) => RowState::Sent(reference.as_deref().and_then(|r| parse(r).ok())),
            (None, Some(_)) => RowState::Gone,
            (None, None) => RowState::Pending,
        })
    }

    pub async fn outbox_retry(&self, id: i64, next_at: DateTime<Utc>, error: &str) -> R<()> {
        let _w = self.write_lock().await;
        sqlx::query(
            "UPDATE outbox SET next_attempt_at = $2, last_error = $3, lease_until = NULL, \
             attempts = attempts + 1 WHERE id = $1",
        )
        .bind(id)
        .bind(ms(next_at))
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Like `outbox_retry`, without counting an attempt: the platform said when to come back
    /// (a 429's `retry_after`), which is no sign that the message will never go.
    pub async fn outbox_wait(&self, id: i64, next_at: DateTime<Utc>, error: &str) -> R<()> {
        let _w = self.write_lock().await;
        sqlx::query(
            "UPDATE outbox SET next_attempt_at = $2, last_error = $3, lease_until = NULL \
             WHERE id = $1",
        )
        .bind(id)
        .bind(ms(next_at))
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes or renews the lease `name` for `holder` until `until`; true if `holder` has it
    /// now. Someone else's lease is taken only once it has run out at `now`.
    pub async fn hold_lease(
        &self,
        name: &str,
        holder: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> R<bool> {
        let _w = self.write_lock().await;
        let row = sqlx::query(
            "INSERT INTO leases (name, holder, until_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms \
             WHERE leases.holder = excluded.holder OR leases.until_ms <= $4 \
             RETURNING holder",
        )
        .bind(name)
        .bind(holder)
        .bind(ms(until))
        .bind(ms(now))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    /// Gives the lease up at once (a clean stop), if `holder` has it.
    pub async fn drop_lease(&self, name: &str, holder: &str) -> R<()> {
        let _w = self.write_lock().await;
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn outbox_failed(&self, id: i64, error: &str, now: DateTime<Utc>) -> R<()> {
        let _w = self.write_lock().await;
        sqlx::query(
            "UPDATE outbox SET failed_at = $2, last_error = $3, lease_until = NULL, \
             attempts = attempts + 1 WHERE id = $1",
        )
        .bind(id)
        .bind(ms(now))
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn outbox_release(&self, ids: &[i64]) -> R<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let _w = self.write_lock().await;
        let ids: Vec<_> = ids.iter().map(|id| serde_json::json!({ "id": id })).collect();
        sqlx::query(&format!(
            "UPDATE outbox SET lease_until = NULL WHERE sent_at IS NULL \
             AND id IN (SELECT x.id FROM {ID_ROWS})"
        ))
        .bind(rows(&ids)?)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn get_setting(&self, key: &str) -> R<Option<String>> {
        let row = sqlx::query("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("value")).transpose()?)
    }

    /// Indexes the linking addresses of cases filed before the cluster index existed
    /// (migration 0005), once per database; idempotent, so two instances starting together
    /// do no harm.
    pub async fn backfill_links(&self) -> R<()> {
        const DONE: &str = "schema/case_links_backfilled";
        if self.get_setting(DONE).await?.is_some() {
            return Ok(());
        }
        let found = sqlx::query(
            "SELECT state, version FROM cases WHERE state LIKE '%attacker_address%' \
             OR state LIKE '%later_movement%' OR state LIKE '%exchange_deposit%'",
        )
        .fetch_all(&self.pool)
        .await?;
        let cases: Vec<StoredCase> = found.iter().map(stored).collect::<R<_>>()?;
        let mut links = Vec::new();
        for sc in &cases {
            for (link, address) in crate::core::cluster::linking(&sc.case) {
                links.push(LinkWrite {
                    link,
                    case_id: sc.case.id.as_str(),
                    address: json(&address)?,
                    at: ms(sc.case.created_at),
                });
            }
        }
        for chunk in links.chunks(1000) {
            let _w = self.write_lock().await;
            sqlx::query(&format!(
                "INSERT INTO case_links (link, case_id, address, linked_at) \
                 SELECT x.link, x.case_id, x.address, x.at FROM {LINK_ROWS} \
                 WHERE NOT EXISTS (SELECT 1 FROM unlinked WHERE unlinked.link = x.link) \
                 ON CONFLICT DO NOTHING"
            ))
            .bind(rows(chunk)?)
            .execute(&self.pool)
            .await?;
        }
        if !links.is_empty() {
            tracing::info!(links = links.len(), "indexed the addresses of earlier cases");
        }
        self.put_setting(DONE, "1").await
    }

    /// Writes a new draft and its messages (the moderators' notice) in one transaction;
    /// false, and nothing written, if a draft with its ID exists.
    pub async fn insert_draft(
        &self,
        d: &crate::core::draft::Draft,
        out: &[Outgoing],
        now: DateTime<Utc>,
    ) -> R<bool> {
        let _w = self.write_lock().await;
        let mut tx = self.pool.begin_with(BEGIN).await?;
        let done = sqlx::query(
            "INSERT INTO drafts (id, kind, subject, status, body, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&d.id)
        .bind(d.body.kind())
        .bind(&d.subject)
        .bind(d.status.key())
        .bind(json(&d.body)?)
        .bind(ms(d.created_at))
        .bind(&d.created_by)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        let out: Vec<_> = out.iter().map(|o| (o, now)).collect();
        insert_outgoing(&mut tx, &out, self.lease_ms).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn load_draft(&self, id: &str) -> R<Option<crate::core::draft::Draft>> {
        let row = sqlx::query(&format!("SELECT {DRAFT_COLUMNS} FROM drafts WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(draft_row).transpose()
    }

    /// Drafts about one subject (a cluster, a month), oldest first.
    pub async fn drafts_about(&self, subject: &str) -> R<Vec<crate::core::draft::Draft>> {
        let rows = sqlx::query(&format!(
            "SELECT {DRAFT_COLUMNS} FROM drafts WHERE subject = $1 ORDER BY created_at, id"
        ))
        .bind(subject)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(draft_row).collect()
    }

    /// Decides a pending draft and writes the decision's messages, in one transaction; false,
    /// and nothing written, if it was not pending (someone decided first).
    #[allow(clippy::too_many_arguments)]
    pub async fn decide_draft(
        &self,
        id: &str,
        status: crate::core::draft::DraftStatus,
        by: &str,
        reason: Option<&str>,
        at: DateTime<Utc>,
        out: &[Outgoing],
    ) -> R<bool> {
        let _w = self.write_lock().await;
        let mut tx = self.pool.begin_with(BEGIN).await?;
        let done = sqlx::query(
            "UPDATE drafts SET status = $2, decided_by = $3, reason = $4, decided_at = $5 \
             WHERE id = $1 AND status = 'pending'",
        )
        .bind(id)
        .bind(status.key())
        .bind(by)
        .bind(reason)
        .bind(ms(at))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        let out: Vec<_> = out.iter().map(|o| (o, at)).collect();
        insert_outgoing(&mut tx, &out, self.lease_ms).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The figures' counters as kept: all time, per day of report from `recent_from` on, and
    /// every block of days (negative scopes, see [`crate::core::stats::block_scope`]); of one
    /// company (its key) or of all. A distribution's entries come back one counter each.
    pub async fn stat_counters(
        &self,
        recent_from: i64,
        company: Option<&str>,
    ) -> R<Vec<crate::core::stats::Counter>> {
        use crate::core::stats::{Counter, Dist};
        let found = sqlx::query(
            "SELECT scope, company, metric, bucket, n FROM stat_counters \
             WHERE (scope < 0 OR scope >= $1) AND n <> 0 AND ($2 = '' OR company = $2)",
        )
        .bind(recent_from)
        .bind(company.unwrap_or(""))
        .fetch_all(&self.pool)
        .await?;
        let mut out = found
            .iter()
            .map(|row| {
                Ok(Counter {
                    scope: row.try_get("scope")?,
                    company: row.try_get("company")?,
                    metric: row.try_get("metric")?,
                    bucket: row.try_get("bucket")?,
                    n: row.try_get("n")?,
                })
            })
            .collect::<R<Vec<_>>>()?;
        let dists = sqlx::query(
            "SELECT scope, company, data FROM stat_dists \
             WHERE (scope < 0 OR scope >= $1) AND ($2 = '' OR company = $2)",
        )
        .bind(recent_from)
        .bind(company.unwrap_or(""))
        .fetch_all(&self.pool)
        .await?;
        for row in &dists {
            let (scope, company): (i64, String) = (row.try_get(0)?, row.try_get(1)?);
            let d = Dist::parse(row.try_get(2)?).map_err(|e| StoreError::Failed(anyhow::anyhow!(e)))?;
            out.extend(d.entries().filter(|e| e.2 != 0).map(|(metric, bucket, n)| Counter {
                scope,
                company: company.clone(),
                metric: metric.to_string(),
                bucket,
                n,
            }));
        }
        Ok(out)
    }

    /// The figures as `/stats` needs them, per company (its key), of one company or of all:
    /// all time, and summed over the cases reported from day `recent_from` to `today` (read
    /// from whole blocks of days and the single days around them, see
    /// [`crate::core::stats::recent_ranges`]). Two statements of a few range scans; a few
    /// rows per company come back, however many cases and days there are.
    pub async fn stat_summary(
        &self,
        recent_from: i64,
        today: i64,
        company: Option<&str>,
    ) -> R<crate::core::stats::Summary> {
        use crate::core::stats::{self, Dist, Summary};
        let company = company.unwrap_or("");
        let ranges = stats::recent_ranges(recent_from, today.max(recent_from));
        // Constants of the code, not input: safe to write into the statement.
        let counted = format!(
            "metric IN ({})",
            stats::COUNTED.map(|m| format!("'{m}'")).join(", ")
        );
        // $1 the company, then each range's bounds.
        let in_ranges = |what: &str, table: &str, cond: &str| {
            (0..ranges.len())
                .map(|i| {
                    format!(
                        "SELECT {what} FROM {table} WHERE scope BETWEEN ${} AND ${} \
                         AND {cond} AND ($1 = '' OR company = $1)",
                        2 * i + 2,
                        2 * i + 3
                    )
                })
                .collect::<Vec<_>>()
                .join(" UNION ALL ")
        };
        let counts = format!(
            "SELECT 0 AS recent, metric, company, n FROM stat_counters \
             WHERE scope = -1 AND {counted} AND n <> 0 AND ($1 = '' OR company = $1) \
             UNION ALL \
             SELECT 1, metric, company, CAST(SUM(n) AS BIGINT) FROM ({}) AS r \
             GROUP BY metric, company HAVING SUM(n) <> 0",
            in_ranges("metric, company, n", "stat_counters", &counted)
        );
        let dists = format!(
            "SELECT 0 AS recent, company, data FROM stat_dists \
             WHERE scope = -1 AND data <> '' AND ($1 = '' OR company = $1) \
             UNION ALL {}",
            in_ranges("1, company, data", "stat_dists", "data <> ''")
        );
        let mut count_q = sqlx::query(&counts).bind(company);
        let mut dist_q = sqlx::query(&dists).bind(company);
        for (lo, hi) in &ranges {
            count_q = count_q.bind(*lo).bind(*hi);
            dist_q = dist_q.bind(*lo).bind(*hi);
        }
        let count_rows = count_q.fetch_all(&self.pool).await?;
        let dist_rows = dist_q.fetch_all(&self.pool).await?;
        let mut out = Summary::new();
        fn period(e: &mut (stats::Tally, stats::Tally), recent: i32) -> &mut stats::Tally {
            if recent == 0 { &mut e.0 } else { &mut e.1 }
        }
        for row in &count_rows {
            let (recent, metric, key, n): (i32, String, String, i64) =
                (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?);
            *period(out.entry(key).or_default(), recent).counts.entry(metric).or_default() += n;
        }
        for row in &dist_rows {
            let (recent, key): (i32, &str) = (row.try_get(0)?, row.try_get(1)?);
            let d = Dist::parse(row.try_get(2)?).map_err(|e| StoreError::Failed(anyhow::anyhow!(e)))?;
            let e = match out.get_mut(key) {
                Some(e) => e,
                None => out.entry(key.to_string()).or_default(),
            };
            period(e, recent).add_dist(&d);
        }
        Ok(out)
    }

    /// Each counted company's key and how it is shown.
    pub async fn stat_companies(&self) -> R<Vec<(String, String)>> {
        let found = sqlx::query("SELECT company, name FROM stat_companies")
            .fetch_all(&self.pool)
            .await?;
        found
            .iter()
            .map(|row| Ok((row.try_get("company")?, row.try_get("name")?)))
            .collect()
    }

    /// Adds counters as many cases' facts would (`recourse bench` fills a large table so,
    /// without writing every case); chunked, one transaction per chunk.
    pub async fn add_stat_counters(
        &self,
        sum: &std::collections::BTreeMap<crate::core::stats::Cell, i64>,
        names: &[(String, String)],
    ) -> R<()> {
        let _w = self.write_lock().await;
        let cells: Vec<_> = sum.iter().collect();
        for chunk in cells.chunks(5_000) {
            let part = chunk.iter().map(|(c, n)| ((*c).clone(), **n)).collect();
            let mut tx = self.pool.begin_with(BEGIN).await?;
            add_counters(&mut tx, &part).await?;
            tx.commit().await?;
        }
        let mut conn = self.pool.acquire().await?;
        add_names(&mut conn, names).await
    }

    /// Counts the cases filed before the figures existed (migration 0007), once per
    /// database; a case already counted (by a newer instance) is left as it is.
    pub async fn backfill_stats(&self) -> R<()> {
        const DONE: &str = "schema/stats_backfilled";
        if self.get_setting(DONE).await?.is_some() {
            return Ok(());
        }
        let mut after = String::new();
        let mut counted = 0usize;
        loop {
            let found = sqlx::query(
                "SELECT id, state, version FROM cases WHERE id > $1 AND NOT EXISTS \
                 (SELECT 1 FROM case_stats WHERE case_stats.case_id = cases.id) \
                 ORDER BY id LIMIT 1000",
            )
            .bind(&after)
            .fetch_all(&self.pool)
            .await?;
            let Some(last) = found.last() else { break };
            after = last.try_get("id")?;
            let cases: Vec<StoredCase> = found.iter().map(stored).collect::<R<_>>()?;
            let _w = self.write_lock().await;
            let mut tx = self.pool.begin_with(BEGIN).await?;
            // Only cases nobody counted meanwhile.
            let keys: Vec<KeyRow> = cases.iter().map(|c| KeyRow { k: c.case.id.as_str() }).collect();
            let taken: Vec<String> = sqlx::query_scalar(&format!(
                "SELECT case_id FROM case_stats WHERE case_id IN (SELECT x.k FROM {KEY_ROWS})"
            ))
            .bind(rows(&keys)?)
            .fetch_all(&mut *tx)
            .await?;
            let items: Vec<_> = cases
                .iter()
                .filter(|c| !taken.iter().any(|t| t == c.case.id.as_str()))
                .map(|c| (c.case.id.as_str(), None, crate::core::stats::facts(&c.case)))
                .collect();
            counted += items.len();
            apply_facts(&mut tx, items.into_iter()).await?;
            tx.commit().await?;
        }
        if counted > 0 {
            tracing::info!(cases = counted, "counted earlier cases in the figures per company");
        }
        self.put_setting(DONE, "1").await
    }

    pub async fn put_setting(&self, key: &str, value: &str) -> R<()> {
        let _w = self.write_lock().await;
        let mut conn = self.pool.acquire().await?;
        write_setting(&mut conn, key, value).await
    }

    /// Appends a `delivery_failed` event to a case's timeline. The event leaves the case's
    /// state as it is, so neither the state nor the version changes; only `updated_at`.
    pub async fn record_delivery_failure(
        &self,
        case_id: &CaseId,
        to: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> R<()> {
        use crate::core::case::EventKind;
        use crate::core::identity::ActorRecord;
        let kind = EventKind::DeliveryFailed {
            to: to.to_string(),
            error: error.to_string(),
        };
        let _w = self.write_lock().await;
        let mut tx = self.pool.begin_with(BEGIN).await?;
        let r = sqlx::query("UPDATE cases SET updated_at = $2 WHERE id = $1")
            .bind(case_id.as_str())
            .bind(ms(now))
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() == 1 {
            sqlx::query(
                "INSERT INTO events (case_id, at, actor, kind, data) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(case_id.as_str())
            .bind(ms(now))
            .bind(json(&ActorRecord::system())?)
            .bind(kind.name())
            .bind(json(&kind)?)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn audit(&self) -> R<crate::store::Audit> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM escalations) AS escalations, \
             (SELECT COUNT(DISTINCT case_id) FROM escalations) AS escalated_cases, \
             (SELECT COUNT(*) FROM events WHERE kind = 'step_taken') AS step_events, \
             (SELECT CAST(COALESCE(SUM(n - 1), 0) AS BIGINT) FROM (SELECT COUNT(*) AS n \
              FROM events WHERE kind = 'step_taken' GROUP BY case_id, data) AS g) AS duplicates, \
             (SELECT COUNT(*) FROM outbox) AS outbox, \
             (SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL) AS pending, \
             (SELECT COUNT(*) FROM outbox WHERE failed_at IS NOT NULL) AS failed",
        )
        .fetch_one(&self.pool)
        .await?;
        let n = |col: &str| -> R<u64> {
            let v: i64 = row.try_get(col)?;
            Ok(u64::try_from(v).unwrap_or(0))
        };
        Ok(crate::store::Audit {
            escalations: n("escalations")?,
            escalated_cases: n("escalated_cases")?,
            step_events: n("step_events")?,
            duplicate_step_events: n("duplicates")?,
            outbox: n("outbox")?,
            outbox_pending: n("pending")?,
            outbox_failed: n("failed")?,
        })
    }

    pub async fn webhook_keys(&self) -> R<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT dedupe_key FROM outbox WHERE recipient = $1 ORDER BY id")
                .bind(json(&Recipient::Webhook)?)
                .fetch_all(&self.pool)
                .await?,
        )
    }
}
