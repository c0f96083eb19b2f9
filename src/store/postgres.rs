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
            // A connection left inside a transaction (its rollback failed) is not reused.
            .before_acquire(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
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

include!("common.rs");
