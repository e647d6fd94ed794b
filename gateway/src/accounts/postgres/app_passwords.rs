//! Subsonic app passwords in PostgreSQL (`gateway.subsonic_passwords`).

use async_trait::async_trait;
use deadpool_postgres::GenericClient as _;
use tokio_postgres::error::SqlState;

use super::{PostgresAccounts, user_from};
use crate::accounts::{AppPassword, AppPasswordStore, SealedSecret, StoreError, User};

const COLUMNS: &str = "p.id AS key_id, p.user_id, p.name, p.lookup, p.hint, \
     p.created_at_ms AS key_created_at_ms, p.last_used_at_ms, p.last_client, p.sealed, \
     p.seal_version";

/// A stored (blob, version) pair; a version out of range opens under no key.
fn sealed_from(blob: Option<Vec<u8>>, version: Option<i32>) -> Option<SealedSecret> {
    Some(SealedSecret {
        blob: blob?,
        version: u16::try_from(version?).unwrap_or(0),
    })
}

fn password_from(row: &tokio_postgres::Row) -> AppPassword {
    AppPassword {
        id: row.get("key_id"),
        user_id: row.get("user_id"),
        name: row.get("name"),
        lookup: row.get("lookup"),
        hint: row.get("hint"),
        created_at_ms: row.get("key_created_at_ms"),
        last_used_at_ms: row.get("last_used_at_ms"),
        last_client: row.get("last_client"),
        sealed: sealed_from(row.get("sealed"), row.get("seal_version")),
    }
}

#[async_trait]
impl AppPasswordStore for PostgresAccounts {
    async fn create_app_password(&self, password: &AppPassword) -> Result<(), StoreError> {
        let inserted = self
            .client()
            .await?
            .execute(
                "INSERT INTO gateway.subsonic_passwords
                     (id, user_id, name, lookup, hint, created_at_ms, sealed, seal_version)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &password.id,
                    &password.user_id,
                    &password.name,
                    &password.lookup,
                    &password.hint,
                    &password.created_at_ms,
                    &password.sealed.as_ref().map(|s| s.blob.as_slice()),
                    &password.sealed.as_ref().map(|s| i32::from(s.version)),
                ],
            )
            .await;
        match inserted {
            Ok(_) => Ok(()),
            Err(error) if error.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                Err(StoreError::Conflict)
            }
            Err(error) => Err(StoreError::database(error)),
        }
    }

    async fn app_passwords(&self, user_id: &str) -> Result<Vec<AppPassword>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM gateway.subsonic_passwords p
                     WHERE p.user_id = $1 AND p.revoked_at_ms IS NULL
                     ORDER BY p.created_at_ms DESC, p.id DESC"
                ),
                &[&user_id],
            )
            .await
            .map_err(StoreError::database)?;
        Ok(rows.iter().map(password_from).collect())
    }

    async fn revoke_app_password(
        &self,
        user_id: &str,
        id: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let changed = self
            .client()
            .await?
            .execute(
                "UPDATE gateway.subsonic_passwords SET revoked_at_ms = $3
                 WHERE id = $1 AND user_id = $2 AND revoked_at_ms IS NULL",
                &[&id, &user_id, &now_ms],
            )
            .await
            .map_err(StoreError::database)?;
        Ok(changed == 1)
    }

    async fn find_app_password(
        &self,
        lookup: &str,
    ) -> Result<Option<(AppPassword, User)>, StoreError> {
        let row = self
            .client()
            .await?
            .query_opt(
                &format!(
                    "SELECT {COLUMNS}, u.id, u.email, u.username, u.roles, u.created_at_ms
                     FROM gateway.subsonic_passwords p JOIN gateway.users u ON u.id = p.user_id
                     WHERE p.lookup = $1 AND p.revoked_at_ms IS NULL"
                ),
                &[&lookup],
            )
            .await
            .map_err(StoreError::database)?;
        Ok(row.map(|row| (password_from(&row), user_from(&row))))
    }

    async fn legacy_app_passwords(
        &self,
        username: &str,
        limit: usize,
    ) -> Result<Vec<(AppPassword, User)>, StoreError> {
        let rows = self
            .client()
            .await?
            .query(
                &format!(
                    "SELECT {COLUMNS}, u.id, u.email, u.username, u.roles, u.created_at_ms
                     FROM gateway.users u JOIN gateway.subsonic_passwords p ON p.user_id = u.id
                     WHERE u.username = $1 AND p.revoked_at_ms IS NULL AND p.sealed IS NOT NULL
                     ORDER BY p.created_at_ms DESC, p.id DESC LIMIT $2"
                ),
                &[&username, &i64::try_from(limit).unwrap_or(i64::MAX)],
            )
            .await
            .map_err(StoreError::database)?;
        Ok(rows
            .iter()
            .map(|row| (password_from(row), user_from(row)))
            .collect())
    }

    async fn reseal_app_password(&self, id: &str, sealed: &SealedSecret) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "UPDATE gateway.subsonic_passwords SET sealed = $2, seal_version = $3
                 WHERE id = $1 AND sealed IS NOT NULL",
                &[&id, &sealed.blob, &i32::from(sealed.version)],
            )
            .await
            .map_err(StoreError::database)?;
        Ok(())
    }

    async fn record_app_password_use(
        &self,
        id: &str,
        now_ms: i64,
        client: Option<&str>,
    ) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "UPDATE gateway.subsonic_passwords
                 SET last_used_at_ms = $2, last_client = COALESCE($3, last_client)
                 WHERE id = $1",
                &[&id, &now_ms, &client],
            )
            .await
            .map_err(StoreError::database)?;
        Ok(())
    }
}
