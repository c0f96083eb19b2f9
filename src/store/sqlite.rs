//! The embedded SQLite store: one file, WAL mode, writes serialised inside the process.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use tokio::sync::{Mutex, MutexGuard};

type Db = sqlx::Sqlite;
/// SQLite has no row locks; the write lock below serialises claims within the process.
const SKIP_LOCKED: &str = "";
/// Take the write lock at the start, so a second process waits (busy timeout) instead of
/// failing when both try to upgrade a read transaction.
const BEGIN: &str = "BEGIN IMMEDIATE";
/// The scheduler's and the outbox's queries name their partial indexes: without statistics
/// SQLite prefers the queue's (status) index and scans every open case, 28 ms a query at
/// 20,000 cases instead of 0.02 ms.
const BY_NEXT_DUE: &str = " INDEXED BY cases_next_due";
const BY_PENDING: &str = " INDEXED BY outbox_pending";

#[derive(Clone)]
pub struct Backend {
    pool: sqlx::SqlitePool,
    writer: Arc<Mutex<()>>,
    /// See `SqlStore::with_outbox_lease`.
    pub(super) lease_ms: i64,
}

impl Backend {
    /// Opens (creating if needed) the database file and applies the migrations.
    pub async fn open(url: &str) -> anyhow::Result<Backend> {
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("not a valid SQLite location: {url}"))?
            .create_if_missing(true)
            // WAL lets readers work while one writer commits. synchronous=NORMAL in WAL mode
            // never corrupts the database and loses nothing when the process crashes; only a
            // power cut can drop the last commits, which the outbox tolerates (at-least-once).
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .with_context(|| format!("failed to open the SQLite database {url}"))?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .context("failed to apply the SQLite migrations")?;
        Ok(Backend {
            pool,
            writer: Arc::new(Mutex::new(())),
            lease_ms: DEFAULT_LEASE_MS,
        })
    }

    async fn write_lock(&self) -> MutexGuard<'_, ()> {
        self.writer.lock().await
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Rows from the JSON array bound as `$1` (see `write_batch`), as table `x`.
macro_rules! json_rows {
    ($first:ident $fty:ident $(, $col:ident $ty:ident)* $(,)?) => {
        concat!(
            "(SELECT value ->> '", stringify!($first), "' AS ", stringify!($first),
            $(", value ->> '", stringify!($col), "' AS ", stringify!($col),)*
            " FROM json_each($1)) AS x"
        )
    };
}

const VERSION_QUERY: &str = "select sqlite_version()";

include!("common.rs");
