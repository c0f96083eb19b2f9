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
/// A ping that takes longer than this (the acquire timeout is 3 s) counts as failed.
const PING_TIMEOUT: Duration = Duration::from_secs(1);

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
                    if meta.idle_for < PING_IDLE {
                        return Ok(true);
                    }
                    // Bounded, so a half-open connection (its peer gone without a word)
                    // is dropped and another taken within the acquire timeout.
                    let ping = tokio::time::timeout(PING_TIMEOUT, conn.ping()).await;
                    Ok(matches!(ping, Ok(Ok(()))))
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
const SETTLE: &str =
    "VACUUM (ANALYZE) cases, events, escalations, outbox, stat_counters, stat_dists";
const SETTLE_MORE: &str = "CHECKPOINT";

include!("common.rs");
