//! The PostgreSQL store, for several instances sharing one database: claims use row locks
//! (`FOR UPDATE SKIP LOCKED`) so two schedulers never pick the same case at once.

use std::time::Duration;

use anyhow::Context;
use sqlx::Connection as _;
use sqlx::postgres::PgPoolOptions;

type Db = sqlx::Postgres;
const SKIP_LOCKED: &str = " FOR UPDATE SKIP LOCKED";
const BEGIN: &str = "BEGIN";
/// PostgreSQL's planner keeps statistics and picks the partial indexes itself.
const BY_NEXT_DUE: &str = "";
const BY_PENDING: &str = "";
/// A pooled connection idle for longer than this is pinged before it is used again.
const PING_IDLE: Duration = Duration::from_millis(500);

#[derive(Clone)]
pub struct Backend {
    pool: sqlx::PgPool,
    /// See `SqlStore::with_outbox_lease`.
    pub(super) lease_ms: i64,
}

impl Backend {
    /// Connects and applies the migrations.
    pub async fn open(url: &str) -> anyhow::Result<Backend> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            // sqlx pings every connection it hands out: one more round trip before each query
            // or transaction, which doubled the next-deadline query (p99 1.4-1.8 ms at 100,000
            // cases on this 2-core machine). A connection used within the last half second is
            // surely alive (HikariCP's rule), so only one idle for longer is pinged; one that
            // fails the ping is dropped and another taken. A connection left inside a
            // transaction (its rollback failed) is not reused.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if conn.is_in_transaction() {
                        return Ok(false);
                    }
                    Ok(meta.idle_for < PING_IDLE || conn.ping().await.is_ok())
                })
            })
            // Fail fast when the server is away, so users hear "try again shortly" quickly.
            .acquire_timeout(Duration::from_secs(3))
            .connect(url)
            .await
            .context("failed to connect to PostgreSQL")?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .context("failed to apply the PostgreSQL migrations")?;
        Ok(Backend {
            pool,
            lease_ms: DEFAULT_LEASE_MS,
        })
    }

    /// PostgreSQL locks rows itself; nothing to serialise here.
    async fn write_lock(&self) {}

    /// Writes changes that only create cases (a `/report`, seeding) as one statement: every
    /// insert a data-modifying `WITH` of the next, in the statement's own transaction. Over a
    /// network every statement is a round trip and the general path takes six (`BEGIN`, cases,
    /// escalations, events, outbox, `COMMIT`); this takes one. A new case
    /// cannot have taken a step already, so nothing here can be `StepAlreadyTaken`, and a
    /// clash of ids fails the whole statement as it fails the general path.
    async fn insert_new(&self, changes: &[Change]) -> R<Option<Vec<Saved>>> {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "WITH c AS (INSERT INTO cases (id, reporter_platform, reporter_id, status, \
                 needs_decision, silence_since, next_due_at, created_at, updated_at, version, \
                 state) SELECT x.id, x.reporter_platform, x.reporter_id, x.status, \
                 x.needs_decision, x.silence_since, x.next_due_at, x.created_at, x.updated_at, \
                 1, x.state FROM {CASE_ROWS} RETURNING 1), \
                 s AS (INSERT INTO escalations (case_id, step, taken_at) \
                 SELECT x.case_id, x.step, x.taken_at FROM {} RETURNING 1), \
                 e AS (INSERT INTO events (case_id, at, actor, kind, data) \
                 SELECT x.case_id, x.at, x.actor, x.kind, x.data FROM {} ORDER BY x.ord \
                 RETURNING 1), \
                 o AS (INSERT INTO outbox (dedupe_key, case_id, recipient, body, created_at, \
                 next_attempt_at, attachment) SELECT x.dedupe_key, x.case_id, x.recipient, \
                 x.body, x.created_at, x.created_at, x.attachment FROM {} WHERE true \
                 ORDER BY x.ord ON CONFLICT (dedupe_key) DO NOTHING RETURNING 1) \
                 SELECT (SELECT count(*) FROM c) AS cases",
                STEP_ROWS.replace("$1", "$2"),
                EVENT_ROWS.replace("$1", "$3"),
                OUTBOX_ROWS.replace("$1", "$4"),
            )
        });
        let cases: Vec<CaseRow> = changes.iter().map(case_row).collect::<R<_>>()?;
        let steps = step_rows(changes);
        let events = event_rows(changes.iter())?;
        let out = outgoing_of(changes.iter());
        let written: i64 = sqlx::query_scalar(&SQL)
            .bind(rows(&cases)?)
            .bind(rows(&steps)?)
            .bind(rows(&events)?)
            .bind(rows(&outbox_rows(&out)?)?)
            .fetch_one(&self.pool)
            .await?;
        if written != cases.len() as i64 {
            return Err(StoreError::Failed(anyhow::anyhow!(
                "{written} of {} new cases were written",
                cases.len()
            )));
        }
        Ok(Some(vec![Saved::Done; changes.len()]))
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Rows from the JSON array bound as `$1` (see `write_batch`), as table `x`.
macro_rules! json_rows {
    ($first:ident $fty:ident $(, $col:ident $ty:ident)* $(,)?) => {
        concat!(
            "json_to_recordset($1::json) AS x(", stringify!($first), " ", stringify!($fty),
            $(", ", stringify!($col), " ", stringify!($ty),)*
            ")"
        )
    };
}

const VERSION_QUERY: &str = "SHOW server_version";
/// After a bulk load, autovacuum soon visits every table that grew: it sets the visibility
/// map (so index-only scans stop visiting the heap) and refreshes the planner's statistics.
/// The load also left gigabytes of dirty pages that the next checkpoint writes out, stalling
/// every commit's fsync behind it for seconds. Running both now, rather than in the middle of
/// a measurement, is what `settle` is for. (`CHECKPOINT` needs the `pg_checkpoint` role; a
/// server that refuses it is settled by the vacuum alone.)
const SETTLE: &str = "VACUUM (ANALYZE) cases, events, escalations, outbox";
const SETTLE_MORE: &str = "CHECKPOINT";

include!("common.rs");
