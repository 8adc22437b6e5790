//! Throw-away databases for tests: a fresh SQLite file in a temporary directory, or a fresh
//! PostgreSQL database on the server named by `DINGDIAN_TEST_PG` (default
//! `postgres://postgres@127.0.0.1:5432/test`), dropped when the guard goes away.

use std::path::PathBuf;

use rand::RngCore;

use crate::{Result, Store};

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Owns a test database and removes it on drop.
pub struct TestDb {
    pub url: String,
    dir: Option<PathBuf>,
    pg_admin: Option<(String, String)>,
}

fn random_name() -> String {
    let mut b = [0u8; 8];
    rand::rng().fill_bytes(&mut b);
    format!("dingdian_test_{}", hex::encode(b))
}

/// The PostgreSQL server tests use.
pub fn pg_admin_url() -> String {
    std::env::var("DINGDIAN_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

impl TestDb {
    /// Creates an empty database. A PostgreSQL server that cannot be reached is an error, not a
    /// reason to skip: the suite must pass on both databases.
    pub async fn new(backend: Backend) -> Result<TestDb> {
        let name = random_name();
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir).map_err(|e| crate::StoreError::Internal(e.to_string()))?;
                let url = dir.join("dingdian.db").to_string_lossy().into_owned();
                Ok(TestDb { url, dir: Some(dir), pg_admin: None })
            }
            Backend::Postgres => {
                use sqlx::Connection;
                let admin = pg_admin_url();
                let mut conn = sqlx::PgConnection::connect(&admin).await?;
                sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}"))).execute(&mut conn).await?;
                conn.close().await?;
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
                Ok(TestDb { url: format!("{base}/{name}"), dir: None, pg_admin: Some((admin, name)) })
            }
        }
    }

    pub async fn open(&self) -> Result<Store> {
        Store::open(&self.url).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some((admin, name)) = self.pg_admin.take() {
            // Drop runs outside async; use a private runtime on its own thread.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                rt.block_on(async {
                    use sqlx::Connection;
                    let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
                    sqlx::query(sqlx::AssertSqlSafe(format!("drop database if exists {name} with (force)")))
                        .execute(&mut conn)
                        .await
                        .ok()?;
                    conn.close().await.ok()
                })
            })
            .join();
        }
    }
}
