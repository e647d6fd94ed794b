//! The production adapter: PostgreSQL, in the `gateway` schema of the configured database.

use async_trait::async_trait;
use deadpool_postgres::{GenericClient as _, Pool};
use tokio_postgres::error::SqlState;
use tunemesh_runtime::migrate::{self, Migrations};

use super::{
    AccountStore, Credentials, RefreshToken, Rotation, StoreError, Successor, User, split_roles,
    with_admin,
};

mod app_passwords;

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

/// The accounts steps (tables in the `gateway` schema), recorded in
/// `gateway_schema_history`; replicas starting together take turns under the shared
/// runner's advisory lock.
pub const MIGRATIONS: Migrations = Migrations {
    service: "gateway",
    history_table: "gateway_schema_history",
    steps: embedded::migrations::runner,
};

/// How many expired tokens one insert deletes: keeps the table bounded without a sweeper and
/// without making any one login slow.
const PRUNE_BATCH: i64 = 100;

/// Accounts in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PostgresAccounts {
    pool: Pool,
}

impl PostgresAccounts {
    /// Uses `pool` after applying the migrations.
    pub async fn open(pool: Pool) -> Result<Self, StoreError> {
        migrate::postgres(&pool, &MIGRATIONS)
            .await
            .map_err(StoreError::database)?;
        Ok(Self { pool })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(StoreError::database)
    }
}

fn user_from(row: &tokio_postgres::Row) -> User {
    User {
        id: row.get("id"),
        email: row.get("email"),
        username: row.get("username"),
        roles: split_roles(row.get("roles")),
        created_at_ms: row.get("created_at_ms"),
    }
}

#[async_trait]
impl AccountStore for PostgresAccounts {
    async fn create_user(&self, credentials: &Credentials) -> Result<User, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(StoreError::database)?;
        let user = &credentials.user;
        let inserted = tx
            .execute(
                "INSERT INTO gateway.users (id, email, username, password_hash, roles, created_at_ms)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &user.id,
                    &user.email,
                    &user.username,
                    &credentials.password_hash,
                    &user.roles.join(","),
                    &user.created_at_ms,
                ],
            )
            .await;
        match inserted {
            Ok(_) => {}
            Err(error) if error.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                return Err(StoreError::Conflict);
            }
            Err(error) => return Err(StoreError::database(error)),
        }
        // The one row of `first_admin` goes to the first insert that commits; a racing
        // sign-up waits on the primary key here and then finds it taken.
        let claimed = tx
            .execute(
                "INSERT INTO gateway.first_admin (only_row, user_id) VALUES (TRUE, $1) ON CONFLICT DO NOTHING",
                &[&user.id],
            )
            .await
            .map_err(StoreError::database)?;
        let stored = if claimed == 1 {
            let admin = with_admin(user);
            tx.execute(
                "UPDATE gateway.users SET roles = $2 WHERE id = $1",
                &[&admin.id, &admin.roles.join(",")],
            )
            .await
            .map_err(StoreError::database)?;
            admin
        } else {
            user.clone()
        };
        tx.commit().await.map_err(StoreError::database)?;
        Ok(stored)
    }

    async fn find_credentials(&self, login: &str) -> Result<Option<Credentials>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                "SELECT id, email, username, password_hash, roles, created_at_ms
                 FROM gateway.users WHERE email = $1 OR username = $1",
                &[&login],
            )
            .await
            .map_err(StoreError::database)?;
        Ok(row.map(|row| Credentials {
            user: user_from(&row),
            password_hash: row.get("password_hash"),
        }))
    }

    async fn insert_refresh(&self, token: &RefreshToken) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM gateway.refresh_tokens WHERE token_hash IN (
                     SELECT token_hash FROM gateway.refresh_tokens
                     WHERE expires_at_ms < $1 LIMIT $2)",
                &[&tunemesh_runtime::clock::now_ms(), &PRUNE_BATCH],
            )
            .await
            .map_err(StoreError::database)?;
        client
            .execute(
                "INSERT INTO gateway.refresh_tokens
                     (token_hash, user_id, family_id, expires_at_ms, session_expires_at_ms)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &token.token_hash,
                    &token.user_id,
                    &token.family_id,
                    &token.expires_at_ms,
                    &token.session_expires_at_ms,
                ],
            )
            .await
            .map_err(StoreError::database)?;
        Ok(())
    }

    async fn rotate_refresh(
        &self,
        presented: &str,
        successor: &Successor,
        now_ms: i64,
    ) -> Result<Rotation, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(StoreError::database)?;
        // FOR UPDATE: a second presentation of the same token waits here, then sees it used.
        let row = tx
            .query_opt(
                "SELECT t.family_id, t.expires_at_ms, t.used_at_ms, t.revoked_at_ms,
                        COALESCE(t.session_expires_at_ms, t.expires_at_ms) AS session_expires_at_ms,
                        u.id, u.email, u.username, u.roles, u.created_at_ms
                 FROM gateway.refresh_tokens t JOIN gateway.users u ON u.id = t.user_id
                 WHERE t.token_hash = $1 FOR UPDATE OF t",
                &[&presented],
            )
            .await
            .map_err(StoreError::database)?;
        let Some(row) = row else {
            return Ok(Rotation::Rejected);
        };
        let family: String = row.get("family_id");
        let expires_at_ms: i64 = row.get("expires_at_ms");
        let used = row.get::<_, Option<i64>>("used_at_ms").is_some();
        let revoked = row.get::<_, Option<i64>>("revoked_at_ms").is_some();
        let session_expires_at_ms: i64 = row.get("session_expires_at_ms");
        let outcome = if revoked || expires_at_ms.min(session_expires_at_ms) <= now_ms {
            Rotation::Rejected
        } else if used {
            tx.execute(
                "UPDATE gateway.refresh_tokens SET revoked_at_ms = $2
                 WHERE family_id = $1 AND revoked_at_ms IS NULL",
                &[&family, &now_ms],
            )
            .await
            .map_err(StoreError::database)?;
            Rotation::Reused
        } else {
            let user = user_from(&row);
            tx.execute(
                "UPDATE gateway.refresh_tokens SET used_at_ms = $2 WHERE token_hash = $1",
                &[&presented, &now_ms],
            )
            .await
            .map_err(StoreError::database)?;
            tx.execute(
                "INSERT INTO gateway.refresh_tokens
                     (token_hash, user_id, family_id, expires_at_ms, session_expires_at_ms)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &successor.token_hash,
                    &user.id,
                    &family,
                    &successor.expires_at_ms.min(session_expires_at_ms),
                    &session_expires_at_ms,
                ],
            )
            .await
            .map_err(StoreError::database)?;
            Rotation::Rotated { user, family }
        };
        tx.commit().await.map_err(StoreError::database)?;
        Ok(outcome)
    }

    async fn revoke_family(
        &self,
        token_hash: &str,
        user_id: &str,
        now_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        let row = self
            .client()
            .await?
            .query_one(
                "WITH owned AS (
                     SELECT family_id FROM gateway.refresh_tokens
                     WHERE token_hash = $1 AND user_id = $2),
                 revoked AS (
                     UPDATE gateway.refresh_tokens SET revoked_at_ms = $3
                     WHERE revoked_at_ms IS NULL AND family_id IN (SELECT family_id FROM owned)
                     RETURNING 1)
                 SELECT (SELECT family_id FROM owned) AS family",
                &[&token_hash, &user_id, &now_ms],
            )
            .await
            .map_err(StoreError::database)?;
        Ok(row.get("family"))
    }

    async fn revoked_since(&self, since_ms: i64) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT family_id, MAX(revoked_at_ms) AS revoked_at_ms
                 FROM gateway.refresh_tokens WHERE revoked_at_ms > $1 GROUP BY family_id",
                &[&since_ms],
            )
            .await
            .map_err(StoreError::database)?;
        Ok(rows
            .iter()
            .map(|row| (row.get("family_id"), row.get("revoked_at_ms")))
            .collect())
    }

    async fn user_names(&self, ids: &[String]) -> Result<Vec<(String, String)>, StoreError> {
        let ids = &ids[..ids.len().min(super::MAX_NAME_LOOKUPS)];
        let rows = self
            .client()
            .await?
            .query(
                "SELECT id, username FROM gateway.users WHERE id = ANY($1)",
                &[&ids],
            )
            .await
            .map_err(StoreError::database)?;
        Ok(rows
            .iter()
            .map(|row| (row.get("id"), row.get("username")))
            .collect())
    }
}
