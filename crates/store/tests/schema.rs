//! The SQLite and PostgreSQL migrations are two folders written by hand; this test keeps them
//! one schema: after every migration, both databases have the same tables, the same columns in
//! each table and the same named indexes. A migration added to one folder only fails here.

use std::collections::BTreeSet;

use dingdian_store::testing::{Backend, TestDb};
use sqlx::Connection;

type Names = BTreeSet<(String, String)>;

async fn sqlite_schema(url: &str) -> (Names, BTreeSet<String>) {
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{url}")).await.expect("sqlite");
    let columns: Vec<(String, String)> = sqlx::query_as(
        "select m.name, p.name from sqlite_master m join pragma_table_info(m.name) p
         where m.type = 'table' and m.name not like 'sqlite_%' and m.name not like '_sqlx%'",
    )
    .fetch_all(&mut conn)
    .await
    .expect("columns");
    let indexes: Vec<(String,)> =
        sqlx::query_as("select name from sqlite_master where type = 'index' and name not like 'sqlite_autoindex%'")
            .fetch_all(&mut conn)
            .await
            .expect("indexes");
    (columns.into_iter().collect(), indexes.into_iter().map(|(n,)| n).collect())
}

async fn postgres_schema(url: &str) -> (Names, BTreeSet<String>) {
    let mut conn = sqlx::PgConnection::connect(url).await.expect("postgres");
    let columns: Vec<(String, String)> = sqlx::query_as(
        "select table_name::text, column_name::text from information_schema.columns
         where table_schema = 'public' and table_name not like '\\_sqlx%'",
    )
    .fetch_all(&mut conn)
    .await
    .expect("columns");
    // Primary keys and unique constraints get their indexes implicitly in both databases; the
    // named indexes are the ones a migration creates.
    let indexes: Vec<(String,)> = sqlx::query_as(
        "select i.indexname::text from pg_indexes i where i.schemaname = 'public'
         and not exists (select 1 from pg_constraint c where c.conname = i.indexname)",
    )
    .fetch_all(&mut conn)
    .await
    .expect("indexes");
    (columns.into_iter().collect(), indexes.into_iter().map(|(n,)| n).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_migrations_give_one_schema() {
    let lite = TestDb::new(Backend::Sqlite).await.expect("sqlite db");
    lite.open().await.expect("migrate sqlite");
    let pg = TestDb::new(Backend::Postgres).await.expect("postgres db (is PostgreSQL running?)");
    pg.open().await.expect("migrate postgres");
    let (lite_columns, lite_indexes) = sqlite_schema(&lite.url).await;
    let (pg_columns, pg_indexes) = postgres_schema(&pg.url).await;
    assert!(lite_columns.len() > 50, "the schema was read: {lite_columns:?}");
    let only_lite: Vec<_> = lite_columns.difference(&pg_columns).collect();
    let only_pg: Vec<_> = pg_columns.difference(&lite_columns).collect();
    assert!(only_lite.is_empty() && only_pg.is_empty(), "columns only in SQLite: {only_lite:?}; only in PostgreSQL: {only_pg:?}");
    let only_lite: Vec<_> = lite_indexes.difference(&pg_indexes).collect();
    let only_pg: Vec<_> = pg_indexes.difference(&lite_indexes).collect();
    assert!(only_lite.is_empty() && only_pg.is_empty(), "indexes only in SQLite: {only_lite:?}; only in PostgreSQL: {only_pg:?}");
}
