//! Subsonic app passwords in the SQLite file (`subsonic_passwords`).

use async_trait::async_trait;
use rusqlite::{OptionalExtension as _, params};

use super::{SqliteAccounts, db, is_unique_violation, user_from};
use crate::accounts::{AppPassword, AppPasswordStore, SealedSecret, StoreError, User};

const COLUMNS: &str = "p.id AS key_id, p.user_id, p.name, p.lookup, p.hint, \
     p.created_at_ms AS key_created_at_ms, p.last_used_at_ms, p.last_client, p.sealed, \
     p.seal_version";

/// A stored (blob, version) pair; a version out of range opens under no key.
fn sealed_from(blob: Option<Vec<u8>>, version: Option<i64>) -> Option<SealedSecret> {
    Some(SealedSecret {
        blob: blob?,
        version: u16::try_from(version?).unwrap_or(0),
    })
}

fn password_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<AppPassword> {
    Ok(AppPassword {
        id: row.get("key_id")?,
        user_id: row.get("user_id")?,
        name: row.get("name")?,
        lookup: row.get("lookup")?,
        hint: row.get("hint")?,
        created_at_ms: row.get("key_created_at_ms")?,
        last_used_at_ms: row.get("last_used_at_ms")?,
        last_client: row.get("last_client")?,
        sealed: sealed_from(row.get("sealed")?, row.get("seal_version")?),
    })
}

#[async_trait]
impl AppPasswordStore for SqliteAccounts {
    async fn create_app_password(&self, password: &AppPassword) -> Result<(), StoreError> {
        let p = password.clone();
        self.call(move |conn| {
            match conn.execute(
                "INSERT INTO subsonic_passwords
                     (id, user_id, name, lookup, hint, created_at_ms, sealed, seal_version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    p.id,
                    p.user_id,
                    p.name,
                    p.lookup,
                    p.hint,
                    p.created_at_ms,
                    p.sealed.as_ref().map(|s| s.blob.as_slice()),
                    p.sealed.as_ref().map(|s| s.version)
                ],
            ) {
                Ok(_) => Ok(()),
                Err(error) if is_unique_violation(&error) => Err(StoreError::Conflict),
                Err(error) => Err(db(error)),
            }
        })
        .await
    }

    async fn app_passwords(&self, user_id: &str) -> Result<Vec<AppPassword>, StoreError> {
        let user_id = user_id.to_owned();
        self.call(move |conn| {
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM subsonic_passwords p
                     WHERE p.user_id = ?1 AND p.revoked_at_ms IS NULL
                     ORDER BY p.created_at_ms DESC, p.id DESC"
                ))
                .map_err(db)?;
            let rows = statement.query_map([user_id], password_from).map_err(db)?;
            rows.collect::<Result<_, _>>().map_err(db)
        })
        .await
    }

    async fn revoke_app_password(
        &self,
        user_id: &str,
        id: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let (user_id, id) = (user_id.to_owned(), id.to_owned());
        self.call(move |conn| {
            let changed = conn
                .execute(
                    "UPDATE subsonic_passwords SET revoked_at_ms = ?3
                     WHERE id = ?1 AND user_id = ?2 AND revoked_at_ms IS NULL",
                    params![id, user_id, now_ms],
                )
                .map_err(db)?;
            Ok(changed == 1)
        })
        .await
    }

    async fn find_app_password(
        &self,
        lookup: &str,
    ) -> Result<Option<(AppPassword, User)>, StoreError> {
        let lookup = lookup.to_owned();
        self.call(move |conn| {
            conn.query_row(
                &format!(
                    "SELECT {COLUMNS}, u.id, u.email, u.username, u.roles, u.created_at_ms
                     FROM subsonic_passwords p JOIN users u ON u.id = p.user_id
                     WHERE p.lookup = ?1 AND p.revoked_at_ms IS NULL"
                ),
                [lookup],
                |row| Ok((password_from(row)?, user_from(row)?)),
            )
            .optional()
            .map_err(db)
        })
        .await
    }

    async fn legacy_app_passwords(
        &self,
        username: &str,
        limit: usize,
    ) -> Result<Vec<(AppPassword, User)>, StoreError> {
        let username = username.to_owned();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.call(move |conn| {
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS}, u.id, u.email, u.username, u.roles, u.created_at_ms
                     FROM users u JOIN subsonic_passwords p ON p.user_id = u.id
                     WHERE u.username = ?1 AND p.revoked_at_ms IS NULL AND p.sealed IS NOT NULL
                     ORDER BY p.created_at_ms DESC, p.id DESC LIMIT ?2"
                ))
                .map_err(db)?;
            let rows = statement
                .query_map(params![username, limit], |row| {
                    Ok((password_from(row)?, user_from(row)?))
                })
                .map_err(db)?;
            rows.collect::<Result<_, _>>().map_err(db)
        })
        .await
    }

    async fn reseal_app_password(&self, id: &str, sealed: &SealedSecret) -> Result<(), StoreError> {
        let (id, sealed) = (id.to_owned(), sealed.clone());
        self.call(move |conn| {
            conn.execute(
                "UPDATE subsonic_passwords SET sealed = ?2, seal_version = ?3
                 WHERE id = ?1 AND sealed IS NOT NULL",
                params![id, sealed.blob, sealed.version],
            )
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn record_app_password_use(
        &self,
        id: &str,
        now_ms: i64,
        client: Option<&str>,
    ) -> Result<(), StoreError> {
        let (id, client) = (id.to_owned(), client.map(str::to_owned));
        self.call(move |conn| {
            conn.execute(
                "UPDATE subsonic_passwords
                 SET last_used_at_ms = ?2, last_client = COALESCE(?3, last_client)
                 WHERE id = ?1",
                params![id, now_ms, client],
            )
            .map_err(db)?;
            Ok(())
        })
        .await
    }
}
