// The store's SQL, written once and compiled for each backend: `sqlite.rs` and `postgres.rs`
// each define `Db`, `SKIP_LOCKED` and `Backend::write_lock` and then `include!` this file.
// Placeholders are `$N`, which both SQLite and PostgreSQL accept.

use chrono::{DateTime, TimeZone, Utc};
use sqlx::{Connection, Row};

use crate::core::case::{CaseId, Event};
use crate::core::identity::{ChatRef, UserRef};
use crate::core::message::{Outgoing, Recipient};
use crate::core::ports::{CaseMessage, Change, OutboxItem, Saved, StoreError, StoredCase, Taken};

type Conn = <Db as sqlx::Database>::Connection;
type R<T> = Result<T, StoreError>;

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

/// Writes one change inside the caller's transaction. Returns without writing anything when the
/// step was already taken or the case changed meanwhile; the caller rolls back.
async fn write_change(conn: &mut Conn, ch: &Change) -> R<Saved> {
    let case = &ch.case;
    let id = case.id.as_str();
    if ch.expected_version.is_some()
        && let Some(step) = &ch.step_key
        && !claim_step(conn, id, step, ch.at).await?
    {
        return Ok(Saved::StepAlreadyTaken);
    }
    let state = json(case)?;
    let needs_decision = case.pending_post.is_some();
    let silence_since = case.clock.since.map(ms);
    let next_due = ch.next_due_at.map(ms);
    match ch.expected_version {
        None => {
            sqlx::query(
                "INSERT INTO cases (id, reporter_platform, reporter_id, status, needs_decision, \
                 silence_since, next_due_at, created_at, updated_at, version, state) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10)",
            )
            .bind(id)
            .bind(case.reporter.platform().key())
            .bind(case.reporter.local_id())
            .bind(case.status.key())
            .bind(needs_decision)
            .bind(silence_since)
            .bind(next_due)
            .bind(ms(case.created_at))
            .bind(ms(ch.at))
            .bind(&state)
            .execute(&mut *conn)
            .await?;
            // The case row must exist before an escalation can reference it.
            if let Some(step) = &ch.step_key {
                claim_step(conn, id, step, ch.at).await?;
            }
        }
        Some(version) => {
            let r = sqlx::query(
                "UPDATE cases SET status = $2, needs_decision = $3, silence_since = $4, \
                 next_due_at = $5, updated_at = $6, version = version + 1, state = $7 \
                 WHERE id = $1 AND version = $8",
            )
            .bind(id)
            .bind(case.status.key())
            .bind(needs_decision)
            .bind(silence_since)
            .bind(next_due)
            .bind(ms(ch.at))
            .bind(&state)
            .bind(version)
            .execute(&mut *conn)
            .await?;
            if r.rows_affected() == 0 {
                return Ok(Saved::Conflict);
            }
        }
    }
    for ev in &ch.events {
        sqlx::query(
            "INSERT INTO events (case_id, at, actor, kind, data) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(ms(ev.at))
        .bind(json(&ev.actor)?)
        .bind(ev.kind.name())
        .bind(json(&ev.kind)?)
        .execute(&mut *conn)
        .await?;
    }
    insert_outgoing(conn, &ch.outgoing, ch.at).await?;
    Ok(Saved::Done)
}

/// Records that a step was taken; false if it already was.
async fn claim_step(conn: &mut Conn, case_id: &str, step: &str, at: DateTime<Utc>) -> R<bool> {
    let r = sqlx::query(
        "INSERT INTO escalations (case_id, step, taken_at) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(case_id)
    .bind(step)
    .bind(ms(at))
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

async fn insert_outgoing(conn: &mut Conn, out: &[Outgoing], at: DateTime<Utc>) -> R<()> {
    for o in out {
        sqlx::query(
            "INSERT INTO outbox (dedupe_key, case_id, recipient, body, created_at, next_attempt_at, \
             attachment) VALUES ($1, $2, $3, $4, $5, $5, $6) ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .bind(&o.key)
        .bind(o.case_id.as_ref().map(|c| c.as_str().to_string()))
        .bind(json(&o.to)?)
        .bind(&o.text)
        .bind(ms(at))
        .bind(o.attachment.as_ref().map(json).transpose()?)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

impl Backend {
    pub async fn save(&self, ch: &Change) -> R<Saved> {
        let _w = self.write_lock().await;
        let mut tx = self.pool.begin_with(BEGIN).await?;
        let saved = write_change(&mut tx, ch).await?;
        if saved == Saved::Done {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(saved)
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

    pub async fn enqueue(&self, out: &[Outgoing]) -> R<()> {
        let _w = self.write_lock().await;
        let mut tx = self.pool.begin_with(BEGIN).await?;
        insert_outgoing(&mut tx, out, Utc::now()).await?;
        tx.commit().await?;
        Ok(())
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

    pub async fn dialogue(&self, user: &UserRef, chat: &ChatRef) -> R<Option<String>> {
        let row = sqlx::query("SELECT state FROM dialogues WHERE user_key = $1 AND chat_key = $2")
            .bind(json(user)?)
            .bind(json(chat)?)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("state")).transpose()?)
    }

    pub async fn set_dialogue(
        &self,
        user: &UserRef,
        chat: &ChatRef,
        state: Option<&str>,
        now: DateTime<Utc>,
    ) -> R<()> {
        let _w = self.write_lock().await;
        let q = match state {
            Some(state) => sqlx::query(
                "INSERT INTO dialogues (user_key, chat_key, state, updated_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (user_key, chat_key) \
                 DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            )
            .bind(json(user)?)
            .bind(json(chat)?)
            .bind(state)
            .bind(ms(now)),
            None => sqlx::query("DELETE FROM dialogues WHERE user_key = $1 AND chat_key = $2")
                .bind(json(user)?)
                .bind(json(chat)?),
        };
        q.execute(&self.pool).await?;
        Ok(())
    }

    pub async fn next_due_at(&self) -> R<Option<DateTime<Utc>>> {
        let row = sqlx::query(
            "SELECT MIN(next_due_at) AS due FROM cases \
             WHERE status = 'open' AND next_due_at IS NOT NULL",
        )
        .fetch_one(&self.pool)
        .await?;
        let due: Option<i64> = row.try_get("due")?;
        Ok(due.map(from_ms))
    }

    pub async fn take_due<F>(&self, now: DateTime<Utc>, limit: u32, mut decide: F) -> R<Taken>
    where
        F: FnMut(StoredCase) -> Change + Send,
    {
        let _w = self.write_lock().await;
        let mut tx = self.pool.begin_with(BEGIN).await?;
        let sql = format!(
            "SELECT state, version FROM cases \
             WHERE status = 'open' AND next_due_at IS NOT NULL AND next_due_at <= $1 \
             ORDER BY next_due_at LIMIT $2{SKIP_LOCKED}"
        );
        let rows = sqlx::query(&sql)
            .bind(ms(now))
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
        let mut taken = Taken {
            claimed: rows.len(),
            steps: 0,
        };
        for row in &rows {
            let change = decide(stored(row)?);
            // A savepoint per case: a step already taken elsewhere leaves the others intact.
            let mut sp = tx.begin().await?;
            match write_change(&mut sp, &change).await? {
                Saved::Done => {
                    sp.commit().await?;
                    taken.steps += usize::from(change.step_key.is_some());
                }
                Saved::Conflict | Saved::StepAlreadyTaken => sp.rollback().await?,
            }
        }
        tx.commit().await?;
        Ok(taken)
    }

    pub async fn outbox_pending(&self, now: DateTime<Utc>, limit: u32) -> R<Vec<OutboxItem>> {
        let _w = self.write_lock().await;
        // Lease the rows so that another instance does not send them at the same time; a lease
        // left by a crashed instance expires and the message is picked up again.
        let lease = ms(now) + 60_000;
        let sql = format!(
            "UPDATE outbox SET lease_until = $2 WHERE id IN (SELECT id FROM outbox \
             WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 \
             AND (lease_until IS NULL OR lease_until <= $1) ORDER BY id LIMIT $3{SKIP_LOCKED}) \
             RETURNING id, dedupe_key, case_id, recipient, body, attachment, attempts"
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
                Ok(OutboxItem {
                    id: row.try_get("id")?,
                    key: row.try_get("dedupe_key")?,
                    case_id: case_id.as_deref().and_then(CaseId::parse),
                    to: parse::<Recipient>(&to)?,
                    text: row.try_get("body")?,
                    attachment: attachment.as_deref().map(parse).transpose()?,
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
        message_ref: Option<&str>,
        now: DateTime<Utc>,
    ) -> R<()> {
        let _w = self.write_lock().await;
        sqlx::query(
            "UPDATE outbox SET sent_at = $2, message_ref = $3, lease_until = NULL, \
             attempts = attempts + 1 WHERE id = $1",
        )
        .bind(id)
        .bind(ms(now))
        .bind(message_ref)
        .execute(&self.pool)
        .await?;
        Ok(())
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

    pub async fn get_setting(&self, key: &str) -> R<Option<String>> {
        let row = sqlx::query("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("value")).transpose()?)
    }

    pub async fn put_setting(&self, key: &str, value: &str) -> R<()> {
        let _w = self.write_lock().await;
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
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
}
