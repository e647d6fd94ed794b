//! The play-session cases every store adapter must pass: the decision runs on the stored
//! session inside the store's transaction, and only what it decides is stored.

use std::sync::{Arc, Mutex};

use tunemesh_player::error::PlayerError;
use tunemesh_player::store::{PlaySession, PlaySessionStore, SessionDecision, StoreError};

fn session(id: &str, updated_ms: i64) -> PlaySession {
    PlaySession {
        session_id: id.to_owned(),
        user_id: "u".into(),
        track_id: "t".into(),
        track_duration_us: 1,
        last_sequence: 0,
        played_us: 5,
        counted: false,
        ended: false,
        end_reason: 0,
        context_type: 2,
        context_id: "al".into(),
        quality: 1,
        started_ms: 1,
        updated_ms,
    }
}

/// Stores `s` as its session's new state.
async fn store_session(
    store: &Arc<dyn PlaySessionStore>,
    s: &PlaySession,
) -> anyhow::Result<SessionDecision> {
    let s = s.clone();
    let id = s.session_id.clone();
    Ok(store
        .update_session(
            &id,
            Box::new(move |_| {
                Ok(SessionDecision {
                    session: s,
                    changed: true,
                    event: None,
                })
            }),
        )
        .await?)
}

/// What the store holds for `id`, as the next update sees it (read by an update that
/// refuses, so it writes nothing).
async fn stored(
    store: &Arc<dyn PlaySessionStore>,
    id: &str,
) -> anyhow::Result<Option<PlaySession>> {
    let seen = Arc::new(Mutex::new(None));
    let slot = Arc::clone(&seen);
    let refused = store
        .update_session(
            id,
            Box::new(move |current| {
                if let Ok(mut slot) = slot.lock() {
                    *slot = current;
                }
                Err(PlayerError::FailedPrecondition("only looking".into()))
            }),
        )
        .await;
    anyhow::ensure!(
        matches!(refused, Err(StoreError::Domain(_))),
        "expected the domain error back, got {refused:?}"
    );
    let found = seen.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.take();
    Ok(found)
}

pub async fn sessions_are_updated_under_the_domain_rule_and_found_when_stale(
    store: Arc<dyn PlaySessionStore>,
) -> anyhow::Result<()> {
    let first = session("s1", 1_000);
    let s = first.clone();
    let decision = store
        .update_session(
            "s1",
            Box::new(move |current| {
                assert!(current.is_none());
                Ok(SessionDecision {
                    session: s,
                    changed: true,
                    event: None,
                })
            }),
        )
        .await?;
    assert_eq!(decision.session, first);
    let seen = store
        .update_session(
            "s1",
            Box::new(|current| {
                Err(PlayerError::FailedPrecondition(format!(
                    "saw {:?}",
                    current.map(|c| c.played_us)
                )))
            }),
        )
        .await;
    match seen {
        Err(StoreError::Domain(PlayerError::FailedPrecondition(m))) => assert_eq!(m, "saw Some(5)"),
        other => anyhow::bail!("expected the domain error, got {other:?}"),
    }
    assert_eq!(store.stale_sessions(2_000, 10).await?, vec![first]);
    assert!(store.stale_sessions(500, 10).await?.is_empty());
    Ok(())
}

pub async fn an_unchanged_decision_stores_nothing(
    store: Arc<dyn PlaySessionStore>,
) -> anyhow::Result<()> {
    let first = session("s1", 1_000);
    store_session(&store, &first).await?;
    let retried = store
        .update_session(
            "s1",
            Box::new(|current| {
                let mut s = current.unwrap_or_else(|| session("s1", 0));
                s.played_us = 99;
                s.last_sequence = 7;
                Ok(SessionDecision {
                    session: s,
                    changed: false,
                    event: None,
                })
            }),
        )
        .await?;
    assert_eq!(retried.session.played_us, 99, "the decision is returned");
    let kept = stored(&store, "s1")
        .await?
        .map(|s| (s.played_us, s.last_sequence));
    assert_eq!(kept, Some((5, 0)), "but not stored");
    assert!(stored(&store, "never-reported").await?.is_none());
    Ok(())
}

pub async fn stale_sessions_are_open_ones_oldest_first_up_to_the_limit(
    store: Arc<dyn PlaySessionStore>,
) -> anyhow::Result<()> {
    for (id, at) in [("c", 3_000), ("a", 1_000), ("b", 2_000), ("late", 9_000)] {
        store_session(&store, &session(id, at)).await?;
    }
    let ended = PlaySession {
        ended: true,
        end_reason: 3,
        ..session("ended", 500)
    };
    store_session(&store, &ended).await?;
    let ids = |found: Vec<PlaySession>| -> Vec<String> {
        found.into_iter().map(|s| s.session_id).collect()
    };
    assert_eq!(ids(store.stale_sessions(5_000, 10).await?), ["a", "b", "c"]);
    assert_eq!(ids(store.stale_sessions(5_000, 2).await?), ["a", "b"]);
    assert_eq!(
        stored(&store, "ended").await?.map(|s| s.ended),
        Some(true),
        "an ended session is kept, just never stale"
    );
    Ok(())
}
