//! Throwaway databases for `recourse bench`: a new SQLite file or a new PostgreSQL database,
//! removed afterwards, so a benchmark never touches data it did not create.

use std::path::PathBuf;

use anyhow::Context;
use sqlx::Connection;

pub enum Scratch {
    Sqlite { path: PathBuf },
    Postgres { admin: String, name: String },
}

impl Scratch {
    /// `target`: none (a file in the temp folder), an SQLite path that must not exist yet, or a
    /// `postgres://` URL of a server where a database `recourse_bench_…` is created.
    pub async fn create(target: Option<&str>) -> anyhow::Result<(Scratch, String)> {
        match target {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                let name = format!("recourse_bench_{:012x}", rand::random::<u64>() >> 16);
                let mut conn = sqlx::PgConnection::connect(url)
                    .await
                    .context("cannot connect to PostgreSQL to create the benchmark database")?;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .context("cannot create the benchmark database")?;
                let mut db = url::Url::parse(url).context("not a valid PostgreSQL URL")?;
                db.set_path(&name);
                let scratch = Scratch::Postgres {
                    admin: url.to_string(),
                    name,
                };
                Ok((scratch, db.to_string()))
            }
            Some(path) => {
                let path = PathBuf::from(path.strip_prefix("sqlite://").unwrap_or(path));
                anyhow::ensure!(
                    !path.exists(),
                    "{} already exists; the benchmark only writes to a new file",
                    path.display()
                );
                let url = path.display().to_string();
                Ok((Scratch::Sqlite { path }, url))
            }
            None => {
                let path = std::env::temp_dir().join(format!(
                    "recourse-bench-{:012x}.db",
                    rand::random::<u64>() >> 16
                ));
                let url = path.display().to_string();
                Ok((Scratch::Sqlite { path }, url))
            }
        }
    }

    /// Removes the database (and SQLite's side files).
    pub async fn remove(self) -> anyhow::Result<()> {
        match self {
            Scratch::Sqlite { path } => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    match std::fs::remove_file(&p) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(e).context("cannot remove the benchmark file"),
                    }
                }
                Ok(())
            }
            Scratch::Postgres { admin, name } => {
                let mut conn = sqlx::PgConnection::connect(&admin).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .context("cannot drop the benchmark database")?;
                Ok(())
            }
        }
    }
}
