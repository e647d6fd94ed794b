//! Account stores made before the shared migration runner (the same DDL run at every start,
//! with no history) migrate under it without losing an account, and the runner is a no-op
//! the second time.

use tunemesh_gateway::accounts::{
    AccountStore, Credentials, PostgresAccounts, SqliteAccounts, User,
};
use tunemesh_runtime::migrate;
use tunemesh_runtime::postgres::{PostgresSettings, connect};

/// The old PostgreSQL adapter's start-up DDL: a lock, then the statements that are now the
/// first step, verbatim (the step only adds a comment; released steps never change).
fn old_postgres() -> String {
    format!(
        "SELECT pg_advisory_xact_lock(hashtext('tunemesh-gateway-schema'));\n{}",
        include_str!("../../migrations/postgres/V1__accounts.sql")
    )
}

/// The old SQLite adapter's start-up DDL: two pragmas, then the first step's statements.
fn old_sqlite() -> String {
    format!(
        "PRAGMA journal_mode = WAL;\nPRAGMA foreign_keys = ON;\n{}",
        include_str!("../../migrations/sqlite/V1__accounts.sql")
    )
}

/// Two accounts from before the first-admin rule: the older one becomes the admin.
const USER: &str = "INSERT INTO %users (id, email, username, password_hash, roles, created_at_ms)
    VALUES ('id-old', 'old@example.com', 'old', '$argon2id$fake-old', 'beta', 1),
           ('id-new', 'new@example.com', 'new', '$argon2id$fake-new', '', 2)";

/// Both accounts kept, the oldest made the admin, and no later sign-up claims the role.
async fn assert_kept(store: &dyn AccountStore) -> anyhow::Result<()> {
    for (login, id, roles) in [
        ("old", "id-old", &["beta", "admin"][..]),
        ("new", "id-new", &[]),
    ] {
        let user = store.find_credentials(login).await?.map(|c| c.user);
        assert_eq!(
            user.map(|u| (u.id, u.roles)),
            Some((
                id.to_owned(),
                roles.iter().map(|r| (*r).to_owned()).collect()
            ))
        );
    }
    let later = store
        .create_user(&Credentials {
            user: User {
                id: "id-later".into(),
                email: "later@example.com".into(),
                username: "later".into(),
                roles: Vec::new(),
                created_at_ms: 3,
            },
            password_hash: "$argon2id$fake-later".into(),
        })
        .await?;
    assert!(later.roles.is_empty(), "{later:?}");
    Ok(())
}

#[tokio::test]
async fn a_postgres_store_made_before_the_runner_migrates_without_loss() -> anyhow::Result<()> {
    let db = tunemesh_testkit::test_database().await?;
    let pool = connect(&PostgresSettings {
        url: db.url().to_owned().into(),
        ..PostgresSettings::default()
    })
    .await?;
    let client = pool.get().await?;
    client.batch_execute(&old_postgres()).await?;
    client
        .batch_execute(&USER.replace("%users", "gateway.users"))
        .await?;
    drop(client);

    let store = PostgresAccounts::open(pool.clone()).await?;
    assert_kept(&store).await?;
    let again = migrate::postgres(&pool, &tunemesh_gateway::accounts::POSTGRES_MIGRATIONS).await?;
    assert!(again.steps.is_empty(), "{again:?}");
    Ok(())
}

#[tokio::test]
async fn a_sqlite_store_made_before_the_runner_migrates_without_loss() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("accounts.sqlite");
    let old = rusqlite::Connection::open(&path)?;
    old.execute_batch(&old_sqlite())?;
    old.execute_batch(&USER.replace("%users", "users"))?;
    drop(old);

    let store = SqliteAccounts::open(&path).await?;
    assert_kept(&store).await?;
    let db = tokio_rusqlite::Connection::open(&path).await?;
    let again = migrate::sqlite(&db, &tunemesh_gateway::accounts::SQLITE_MIGRATIONS).await?;
    assert!(again.steps.is_empty(), "{again:?}");
    Ok(())
}

/// A file from before sessions had an absolute lifetime lacks `session_expires_at_ms`; the
/// store adds it before the runner records its first step.
#[tokio::test]
async fn a_sqlite_store_without_the_session_column_gets_it() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("accounts.sqlite");
    let old = rusqlite::Connection::open(&path)?;
    let before_sessions = old_sqlite()
        .replace("    session_expires_at_ms INTEGER\n", "")
        .replace("revoked_at_ms INTEGER,\n);", "revoked_at_ms INTEGER\n);");
    old.execute_batch(&before_sessions)?;
    old.execute_batch(&USER.replace("%users", "users"))?;
    drop(old);

    let store = SqliteAccounts::open(&path).await?;
    assert_kept(&store).await?;
    let check = rusqlite::Connection::open(&path)?;
    let has: i64 = check.query_row(
        "SELECT COUNT(*) FROM pragma_table_info('refresh_tokens')
         WHERE name = 'session_expires_at_ms'",
        [],
        |row| row.get(0),
    )?;
    assert_eq!(has, 1);
    Ok(())
}
