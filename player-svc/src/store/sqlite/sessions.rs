//! Play sessions in the SQLite file: each report's read, decision and write in one immediate
//! transaction (SQLite's one writer serialises a session's reports), with its event's outbox
//! row.

use async_trait::async_trait;
use rusqlite::TransactionBehavior;
use tunemesh_events::outbox::sqlite as outbox;

use super::{SqliteStore, limit, lite, rows};
use crate::store::{
    PlaySession, PlaySessionStore, SessionDecision, SessionUpdate, StoreError, sql,
};

/// The parameters of `UPSERT_SESSION`, in its column order.
fn session_params(s: &PlaySession) -> [Box<dyn rusqlite::ToSql + '_>; 14] {
    [
        Box::new(&s.session_id),
        Box::new(&s.user_id),
        Box::new(&s.track_id),
        Box::new(s.track_duration_us),
        Box::new(s.last_sequence),
        Box::new(s.played_us),
        Box::new(i64::from(s.counted)),
        Box::new(i64::from(s.ended)),
        Box::new(s.end_reason),
        Box::new(s.context_type),
        Box::new(&s.context_id),
        Box::new(s.quality),
        Box::new(s.started_ms),
        Box::new(s.updated_ms),
    ]
}

#[async_trait]
impl PlaySessionStore for SqliteStore {
    async fn update_session(
        &self,
        session_id: &str,
        update: SessionUpdate,
    ) -> Result<SessionDecision, StoreError> {
        let id = session_id.to_owned();
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let query = format!(
                "SELECT {} FROM play_sessions WHERE session_id = $1",
                sql::SESSION_COLUMNS
            );
            let current = rows(&tx, &query, &[&id], sql::session)?.into_iter().next();
            let decision = update(current)?;
            if decision.changed {
                let p = session_params(&decision.session);
                let refs: Vec<&dyn rusqlite::ToSql> = p.iter().map(AsRef::as_ref).collect();
                tx.execute(&lite(sql::UPSERT_SESSION), refs.as_slice())?;
                if let Some(event) = &decision.event {
                    outbox::append(&tx, event)?;
                }
            }
            tx.commit()?;
            Ok(decision)
        })
        .await
    }

    async fn stale_sessions(
        &self,
        before_ms: i64,
        n: usize,
    ) -> Result<Vec<PlaySession>, StoreError> {
        self.run(move |conn| {
            let query = format!(
                "SELECT {} FROM play_sessions WHERE ended = 0 AND updated_ms < $1
                 ORDER BY updated_ms LIMIT $2",
                sql::SESSION_COLUMNS
            );
            rows(conn, &query, &[&before_ms, &limit(n)], sql::session)
        })
        .await
    }
}
