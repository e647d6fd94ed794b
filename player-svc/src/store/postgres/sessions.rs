//! Play sessions in PostgreSQL: each report's read, decision and write in one transaction
//! under a per-session advisory lock, with its event's outbox row.

use async_trait::async_trait;
use tunemesh_events::outbox::postgres as outbox;

use super::{PostgresStore, rows};
use crate::store::{
    PlaySession, PlaySessionStore, SessionDecision, SessionUpdate, StoreError, sql,
};

#[async_trait]
impl PlaySessionStore for PostgresStore {
    async fn update_session(
        &self,
        session_id: &str,
        update: SessionUpdate,
    ) -> Result<SessionDecision, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(StoreError::backend)?;
        // Serialises concurrent reports of one session, including its first one (no row yet
        // to lock), so two retries cannot both end it.
        tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&session_id])
            .await
            .map_err(StoreError::backend)?;
        let query = format!(
            "SELECT {} FROM play_sessions WHERE session_id = $1",
            sql::SESSION_COLUMNS
        );
        let current = rows(&tx, &query, &[&session_id], sql::session)
            .await?
            .into_iter()
            .next();
        let decision = update(current).map_err(StoreError::Domain)?;
        if decision.changed {
            let s = &decision.session;
            let (counted, ended) = (i64::from(s.counted), i64::from(s.ended));
            let (reason, context, quality) = (
                i64::from(s.end_reason),
                i64::from(s.context_type),
                i64::from(s.quality),
            );
            tx.execute(
                sql::UPSERT_SESSION,
                &[
                    &s.session_id,
                    &s.user_id,
                    &s.track_id,
                    &s.track_duration_us,
                    &s.last_sequence,
                    &s.played_us,
                    &counted,
                    &ended,
                    &reason,
                    &context,
                    &s.context_id,
                    &quality,
                    &s.started_ms,
                    &s.updated_ms,
                ],
            )
            .await
            .map_err(StoreError::backend)?;
            if let Some(event) = &decision.event {
                outbox::append(&tx, event)
                    .await
                    .map_err(StoreError::backend)?;
            }
        }
        tx.commit().await.map_err(StoreError::backend)?;
        Ok(decision)
    }

    async fn stale_sessions(
        &self,
        before_ms: i64,
        n: usize,
    ) -> Result<Vec<PlaySession>, StoreError> {
        let client = self.client().await?;
        let query = format!(
            "SELECT {} FROM play_sessions WHERE ended = 0 AND updated_ms < $1
             ORDER BY updated_ms LIMIT $2",
            sql::SESSION_COLUMNS
        );
        let lim = i64::try_from(n).unwrap_or(i64::MAX);
        rows(&client, &query, &[&before_ms, &lim], sql::session).await
    }
}
