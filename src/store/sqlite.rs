//! The embedded SQLite store: one file, WAL mode, writes serialised inside the process.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use sqlx::Connection as _;
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
            .foreign_keys(true)
            // Commits never checkpoint: the task below does, so that a user's command never
            // pays for copying the log back and the fsync that comes with it.
            .pragma("wal_autocheckpoint", "0")
            // 16 MB of page cache per connection instead of 2 MB: at a million cases the
            // indexes the scheduler walks no longer come from the kernel page by page.
            .pragma("cache_size", "-16384");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            // A transaction whose rollback failed (the file went read-only, the disk failed)
            // leaves its connection inside it; such a connection is closed, not reused.
            //
            // SQLite also opens a file it may not write read-only, silently, and such a
            // connection stays read-only when the file is writable again: one opened while
            // the disk was read-only would fail every write after the disk came back. It is
            // closed too, so the pool opens a fresh one. So is every connection that was open
            // when some connection last answered "read-only": one whose write-ahead log was
            // opened while the log was read-only keeps failing although its database is not.
            // The check passes through the connection's worker thread, so sqlx's own ping
            // before each use (a second trip through it, for a connection that has no network
            // to lose) is left off.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    Ok(!conn.is_in_transaction()
                        && !opened_before_read_only(meta.age)
                        && !opened_read_only(conn).await)
                })
            })
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .with_context(|| format!("failed to open the SQLite database {url}"))?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .context("failed to apply the SQLite migrations")?;
        tokio::spawn(checkpoints(pool.clone()));
        Ok(Backend {
            pool,
            writer: Arc::new(Mutex::new(())),
            lease_ms: DEFAULT_LEASE_MS,
        })
    }

    /// Claims the database file for this process: with SQLite only one process schedules and
    /// sends. The lock (`<file>.lock`, an OS file lock) goes when the process ends, however it
    /// ends, so a crash never leaves it behind.
    pub fn lock_process(url: &str) -> anyhow::Result<std::fs::File> {
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("not a valid SQLite location: {url}"))?;
        let mut path = options.get_filename().as_os_str().to_owned();
        path.push(".lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot create the lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
                "another recourse process (serve or console) is already using {}. With SQLite \
                 only one process may run; stop the other one, or use PostgreSQL \
                 (database_url = \"postgres://…\") to run several instances",
                options.get_filename().display()
            ),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
    }

    async fn write_lock(&self) -> MutexGuard<'_, ()> {
        self.writer.lock().await
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Rows from the JSON array bound as `$1` (see `write_batch`), as table `x`. Each element is
/// turned into JSONB once and materialised: `json_each` hands objects back as text, and reading
/// eleven columns from that text re-parsed it eleven times (a claimed batch of 500 wrote in
/// 93 ms before, 75 ms after).
macro_rules! json_rows {
    ($first:ident $fty:ident $(, $col:ident $ty:ident)* $(,)?) => {
        concat!(
            "(WITH r AS MATERIALIZED (SELECT jsonb(value) AS v FROM json_each($1)) ",
            "SELECT v ->> '", stringify!($first), "' AS ", stringify!($first),
            $(", v ->> '", stringify!($col), "' AS ", stringify!($col),)*
            " FROM r) AS x"
        )
    };
}

/// The process's start, for [`READ_ONLY_SEEN`].
static EPOCH: std::sync::LazyLock<std::time::Instant> =
    std::sync::LazyLock::new(std::time::Instant::now);
/// When a connection last answered "read-only" (SQLITE_READONLY), in milliseconds since
/// [`EPOCH`] plus one; 0 for never.
static READ_ONLY_SEEN: AtomicU64 = AtomicU64::new(0);

fn since_epoch_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis())
        .unwrap_or(u64::MAX)
        .saturating_add(1)
}

/// Notes that a connection answered "read-only": every connection open now is suspect.
pub(crate) fn saw_read_only() {
    READ_ONLY_SEEN.store(since_epoch_ms(EPOCH.elapsed()), Ordering::Relaxed);
}

/// Whether an SQLite error is SQLITE_READONLY (primary code 8, or an extended one).
pub(crate) fn is_read_only(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = e else {
        return false;
    };
    (db.code().as_deref())
        .and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|n| n & 0xff == 8)
}

/// Whether a connection of this age was already open when "read-only" was last seen.
fn opened_before_read_only(age: Duration) -> bool {
    let seen = READ_ONLY_SEEN.load(Ordering::Relaxed);
    seen != 0 && since_epoch_ms(EPOCH.elapsed().saturating_sub(age)) <= seen
}

/// Whether SQLite opened this connection's database read-only (or the connection is broken).
async fn opened_read_only(conn: &mut sqlx::SqliteConnection) -> bool {
    let Ok(mut handle) = conn.lock_handle().await else {
        return true;
    };
    let db = handle.as_raw_handle();
    // SAFETY: `db` is the open connection's handle, held locked (no other thread uses it) for
    // the call; the schema name is a NUL-terminated static string.
    let read_only = unsafe { libsqlite3_sys::sqlite3_db_readonly(db.as_ptr(), c"main".as_ptr()) };
    read_only == 1
}

const VERSION_QUERY: &str = "select sqlite_version()";
/// After a bulk load the write-ahead log holds it all; copying it back once (as the checkpoint
/// task would, a second at a time) lets readers find pages in the database file itself.
const SETTLE: &str = "PRAGMA wal_checkpoint(TRUNCATE)";
const SETTLE_MORE: &str = "";

/// Copies the write-ahead log back into the database every second, beside the writers (a
/// passive checkpoint never blocks them), until the pool closes.
async fn checkpoints(pool: sqlx::SqlitePool) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !pool.is_closed() {
        tick.tick().await;
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            if is_read_only(&e) {
                saw_read_only();
            }
            if pool.is_closed() {
                break;
            }
            tracing::debug!(error = %e, "checkpoint failed; will try again");
        }
    }
}

include!("common.rs");
