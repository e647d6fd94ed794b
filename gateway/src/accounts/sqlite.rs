//! The embedded adapter for `tunemesh up`: one SQLite file, reached only through
//! tokio-rusqlite so no statement runs on an async thread.

use std::path::Path;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior, params};
use tunemesh_runtime::migrate::{self, Migrations};

use super::{
    AccountStore, Credentials, RefreshToken, Rotation, StoreError, Successor, User, split_roles,
    with_admin,
};

mod app_passwords;

mod embedded {
    refinery::embed_migrations!("migrations/sqlite");
}

/// The accounts steps, recorded in `gateway_schema_history`.
pub const MIGRATIONS: Migrations = Migrations {
    service: "gateway",
    history_table: "gateway_schema_history",
    steps: embedded::migrations::runner,
};

/// Files made before sessions had an absolute lifetime lack its column; SQLite has no
/// `ADD COLUMN IF NOT EXISTS`, so it is added when `pragma_table_info` misses it.
const HAS_SESSION_EXPIRY: &str =
    "SELECT COUNT(*) FROM pragma_table_info('refresh_tokens') WHERE name = 'session_expires_at_ms'";

/// See the PostgreSQL adapter: bounded pruning of expired tokens on every insert.
const PRUNE_BATCH: i64 = 100;

/// Accounts in one SQLite file.
#[derive(Clone)]
pub struct SqliteAccounts {
    // One connection on its own thread: it serialises every statement, which also makes each
    // rotation atomic with respect to the others.
    db: tokio_rusqlite::Connection,
}

impl std::fmt::Debug for SqliteAccounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteAccounts").finish_non_exhaustive()
    }
}

impl SqliteAccounts {
    /// Opens (or creates) the file at `path` and applies the migrations.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let db = tokio_rusqlite::Connection::open(path)
            .await
            .map_err(StoreError::database)?;
        let store = Self { db };
        store
            .call(|conn| {
                let has: i64 = conn
                    .query_row(HAS_SESSION_EXPIRY, [], |row| row.get(0))
                    .map_err(StoreError::database)?;
                let table: i64 = conn
                    .query_row(
                        "SELECT COUNT(*) FROM sqlite_master WHERE name = 'refresh_tokens'",
                        [],
                        |row| row.get(0),
                    )
                    .map_err(StoreError::database)?;
                if table == 1 && has == 0 {
                    conn.execute_batch(
                        "ALTER TABLE refresh_tokens ADD COLUMN session_expires_at_ms INTEGER",
                    )
                    .map_err(StoreError::database)?;
                }
                conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;")
                    .map_err(StoreError::database)
            })
            .await?;
        migrate::sqlite(&store.db, &MIGRATIONS)
            .await
            .map_err(StoreError::database)?;
        Ok(store)
    }

    async fn call<R, F>(&self, function: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut Connection) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        self.db.call(function).await.map_err(|error| match error {
            tokio_rusqlite::Error::Error(error) => error,
            _ => StoreError::database(std::io::Error::other("sqlite connection closed")),
        })
    }
}

fn user_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get("id")?,
        email: row.get("email")?,
        username: row.get("username")?,
        roles: split_roles(&row.get::<_, String>("roles")?),
        created_at_ms: row.get("created_at_ms")?,
    })
}

fn db(error: rusqlite::Error) -> StoreError {
    StoreError::database(error)
}

fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(e, _)
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

#[async_trait]
impl AccountStore for SqliteAccounts {
    async fn create_user(&self, credentials: &Credentials) -> Result<User, StoreError> {
        let credentials = credentials.clone();
        self.call(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
            let user = &credentials.user;
            let inserted = tx.execute(
                "INSERT INTO users (id, email, username, password_hash, roles, created_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    user.id,
                    user.email,
                    user.username,
                    credentials.password_hash,
                    user.roles.join(","),
                    user.created_at_ms
                ],
            );
            match inserted {
                Ok(_) => {}
                Err(error) if is_unique_violation(&error) => return Err(StoreError::Conflict),
                Err(error) => return Err(db(error)),
            }
            let claimed = tx
                .execute(
                    "INSERT INTO first_admin (only_row, user_id) VALUES (1, ?1) ON CONFLICT DO NOTHING",
                    params![user.id],
                )
                .map_err(db)?;
            let stored = if claimed == 1 {
                let admin = with_admin(user);
                tx.execute(
                    "UPDATE users SET roles = ?2 WHERE id = ?1",
                    params![admin.id, admin.roles.join(",")],
                )
                .map_err(db)?;
                admin
            } else {
                user.clone()
            };
            tx.commit().map_err(db)?;
            Ok(stored)
        })
        .await
    }

    async fn find_credentials(&self, login: &str) -> Result<Option<Credentials>, StoreError> {
        let login = login.to_owned();
        self.call(move |conn| {
            conn.query_row(
                "SELECT id, email, username, password_hash, roles, created_at_ms
                 FROM users WHERE email = ?1 OR username = ?1",
                [login],
                |row| {
                    Ok(Credentials {
                        user: user_from(row)?,
                        password_hash: row.get("password_hash")?,
                    })
                },
            )
            .optional()
            .map_err(db)
        })
        .await
    }

    async fn insert_refresh(&self, token: &RefreshToken) -> Result<(), StoreError> {
        let token = token.clone();
        let now = tunemesh_runtime::clock::now_ms();
        self.call(move |conn| {
            conn.execute(
                "DELETE FROM refresh_tokens WHERE token_hash IN (
                     SELECT token_hash FROM refresh_tokens WHERE expires_at_ms < ?1 LIMIT ?2)",
                params![now, PRUNE_BATCH],
            )
            .map_err(db)?;
            conn.execute(
                "INSERT INTO refresh_tokens
                     (token_hash, user_id, family_id, expires_at_ms, session_expires_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    token.token_hash,
                    token.user_id,
                    token.family_id,
                    token.expires_at_ms,
                    token.session_expires_at_ms
                ],
            )
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn rotate_refresh(
        &self,
        presented: &str,
        successor: &Successor,
        now_ms: i64,
    ) -> Result<Rotation, StoreError> {
        let (presented, successor) = (presented.to_owned(), successor.clone());
        self.call(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
            let found = tx
                .query_row(
                    "SELECT t.family_id, t.expires_at_ms, t.used_at_ms, t.revoked_at_ms,
                            COALESCE(t.session_expires_at_ms, t.expires_at_ms) AS session_end,
                            u.id, u.email, u.username, u.roles, u.created_at_ms
                     FROM refresh_tokens t JOIN users u ON u.id = t.user_id
                     WHERE t.token_hash = ?1",
                    [&presented],
                    |row| {
                        Ok((
                            row.get::<_, String>("family_id")?,
                            row.get::<_, i64>("expires_at_ms")?,
                            row.get::<_, Option<i64>>("used_at_ms")?.is_some(),
                            row.get::<_, Option<i64>>("revoked_at_ms")?.is_some(),
                            row.get::<_, i64>("session_end")?,
                            user_from(row)?,
                        ))
                    },
                )
                .optional()
                .map_err(db)?;
            let Some((family, expires_at_ms, used, revoked, session_end, user)) = found else {
                return Ok(Rotation::Rejected);
            };
            let outcome = if revoked || expires_at_ms.min(session_end) <= now_ms {
                Rotation::Rejected
            } else if used {
                tx.execute(
                    "UPDATE refresh_tokens SET revoked_at_ms = ?2
                     WHERE family_id = ?1 AND revoked_at_ms IS NULL",
                    params![family, now_ms],
                )
                .map_err(db)?;
                Rotation::Reused
            } else {
                tx.execute(
                    "UPDATE refresh_tokens SET used_at_ms = ?2 WHERE token_hash = ?1",
                    params![presented, now_ms],
                )
                .map_err(db)?;
                tx.execute(
                    "INSERT INTO refresh_tokens
                         (token_hash, user_id, family_id, expires_at_ms, session_expires_at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        successor.token_hash,
                        user.id,
                        family,
                        successor.expires_at_ms.min(session_end),
                        session_end
                    ],
                )
                .map_err(db)?;
                Rotation::Rotated { user, family }
            };
            tx.commit().map_err(db)?;
            Ok(outcome)
        })
        .await
    }

    async fn revoke_family(
        &self,
        token_hash: &str,
        user_id: &str,
        now_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        let (token_hash, user_id) = (token_hash.to_owned(), user_id.to_owned());
        self.call(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
            let family = tx
                .query_row(
                    "SELECT family_id FROM refresh_tokens WHERE token_hash = ?1 AND user_id = ?2",
                    params![token_hash, user_id],
                    |row| row.get::<_, String>(0),
                )
                .optional()
                .map_err(db)?;
            let Some(family) = family else {
                return Ok(None);
            };
            tx.execute(
                "UPDATE refresh_tokens SET revoked_at_ms = ?2
                 WHERE family_id = ?1 AND revoked_at_ms IS NULL",
                params![family, now_ms],
            )
            .map_err(db)?;
            tx.commit().map_err(db)?;
            Ok(Some(family))
        })
        .await
    }

    async fn revoked_since(&self, since_ms: i64) -> Result<Vec<(String, i64)>, StoreError> {
        self.call(move |conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT family_id, MAX(revoked_at_ms) FROM refresh_tokens
                     WHERE revoked_at_ms > ?1 GROUP BY family_id",
                )
                .map_err(db)?;
            let rows = statement
                .query_map([since_ms], |row| Ok((row.get(0)?, row.get(1)?)))
                .map_err(db)?;
            rows.collect::<Result<_, _>>().map_err(db)
        })
        .await
    }

    async fn user_names(&self, ids: &[String]) -> Result<Vec<(String, String)>, StoreError> {
        let ids: Vec<String> = ids[..ids.len().min(super::MAX_NAME_LOOKUPS)].to_vec();
        self.call(move |conn| {
            // One statement per call: the ids go in as a JSON array, read by `json_each`.
            let list = serde_json::to_string(&ids).map_err(StoreError::database)?;
            let mut statement = conn
                .prepare_cached(
                    "SELECT id, username FROM users WHERE id IN (SELECT value FROM json_each(?1))",
                )
                .map_err(db)?;
            let rows = statement
                .query_map([list], |row| Ok((row.get(0)?, row.get(1)?)))
                .map_err(db)?;
            rows.collect::<Result<_, _>>().map_err(db)
        })
        .await
    }
}
