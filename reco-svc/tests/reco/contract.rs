//! One contract, two stores: every case runs on Redis (its own key prefix) and in memory,
//! so the production and embedded models cannot drift apart.

use std::sync::Arc;
use std::time::Duration;

use tunemesh_reco::store::memory::MemoryStore;
use tunemesh_reco::store::redis::RedisStore;
use tunemesh_reco::store::{Applied, Op, RecoStore, SetKey, TrackInfo, Versioned, WriteBatch};
use tunemesh_runtime::redis::{KeyPrefix, RedisSettings};
use tunemesh_testkit::{delete_redis_keys, redis_client, servers};

const HOUR: i64 = 3_600_000;

/// A model's sets as `(key, members with scores)`, in the order asked.
pub(crate) type Sets = Vec<(SetKey, Vec<(String, f64)>)>;

/// The members of every set in `keys`, read with one `top` call.
pub(crate) async fn read_sets(store: &dyn RecoStore, keys: Vec<SetKey>) -> anyhow::Result<Sets> {
    let tops = store.top(&keys, usize::MAX).await?;
    Ok(keys
        .into_iter()
        .zip(tops)
        .map(|(key, top)| (key, top.entries))
        .collect())
}

/// Asserts two stores hold the same sets: the same keys, members in the same order and scores
/// equal up to float rounding (the stores sum increments in different orders).
pub(crate) fn assert_same_sets(got: &Sets, want: &Sets) {
    assert_eq!(got.len(), want.len(), "sets: {got:?} vs {want:?}");
    for ((key, got), (_, want)) in got.iter().zip(want) {
        assert_eq!(got.len(), want.len(), "{key:?}: {got:?} vs {want:?}");
        for ((m, a), (n, b)) in got.iter().zip(want) {
            assert_eq!(m, n, "{key:?}");
            assert!(
                (a - b).abs() <= 1e-12 * a.abs().max(1.0),
                "{key:?}: {a} vs {b}"
            );
        }
    }
}

/// Runs `case` on a fresh Redis store and a fresh memory store.
pub(crate) async fn on_both<F, Fut>(label: &str, case: F) -> anyhow::Result<()>
where
    F: Fn(Arc<dyn RecoStore>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    case(Arc::new(MemoryStore::new()))
        .await
        .map_err(|e| e.context("memory store"))?;
    let prefix = format!("{}:", tunemesh_testkit::unique_prefix(label));
    let settings = RedisSettings {
        url: servers().redis_url.clone().into(),
        key_prefix: prefix.clone(),
        ..RedisSettings::default()
    };
    let pool = tunemesh_runtime::redis::connect(&settings).await?;
    let store = RedisStore::new(
        pool,
        KeyPrefix::new(prefix.clone()),
        Duration::from_secs(60),
    );
    let result = case(Arc::new(store))
        .await
        .map_err(|e| e.context("redis store"));
    delete_redis_keys(&redis_client().await?, &prefix).await?;
    result
}

fn decay(key: SetKey, member: &str, weight: f64, at_ms: i64) -> Op {
    Op::Decay {
        key,
        member: member.to_owned(),
        weight,
        at_ms,
        half_life_ms: HOUR,
    }
}

fn batch(id: &str, ops: Vec<Op>) -> WriteBatch {
    WriteBatch {
        event_id: id.to_owned(),
        guard: None,
        ops,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[tokio::test]
async fn a_batch_applied_twice_changes_the_state_once() -> anyhow::Result<()> {
    on_both("contract dup", |store| async move {
        let write = batch("e1", vec![decay(SetKey::Popularity, "t", 1.0, 0)]);
        assert_eq!(store.apply(&write).await?, Applied::Done);
        assert_eq!(store.apply(&write).await?, Applied::Duplicate);
        let scores = store.scores(&SetKey::Popularity, &["t".to_owned()]).await?;
        assert_eq!(scores, [Some(1.0)]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn weights_decay_by_half_life_in_any_order() -> anyhow::Result<()> {
    on_both("contract decay", |store| async move {
        store
            .apply(&batch(
                "late",
                vec![decay(SetKey::Popularity, "a", 1.0, 2 * HOUR)],
            ))
            .await?;
        store
            .apply(&batch(
                "early",
                vec![decay(SetKey::Popularity, "a", 1.0, 0)],
            ))
            .await?;
        store
            .apply(&batch("b", vec![decay(SetKey::Popularity, "b", 1.0, HOUR)]))
            .await?;
        let top = store.top(&[SetKey::Popularity], 10).await?.remove(0);
        // The landmark is the first event applied (2 h): a at 2 h is 1 + 1/4, b at 1 h is 1/2.
        assert_eq!(top.landmark_ms, Some(2 * HOUR));
        assert_eq!(top.entries[0].0, "a");
        assert!(close(top.entries[0].1, 1.25), "{top:?}");
        assert!(close(top.entries[1].1, 0.5), "{top:?}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_key_far_past_its_landmark_is_rebased_without_changing_values() -> anyhow::Result<()> {
    on_both("contract rebase", |store| async move {
        store
            .apply(&batch("old", vec![decay(SetKey::Popularity, "a", 1.0, 0)]))
            .await?;
        let far = 300 * HOUR;
        store
            .apply(&batch(
                "new",
                vec![decay(SetKey::Popularity, "b", 1.0, far)],
            ))
            .await?;
        let top = store.top(&[SetKey::Popularity], 10).await?.remove(0);
        assert_eq!(top.landmark_ms, Some(far));
        assert_eq!(top.entries[0], ("b".to_owned(), 1.0));
        assert!(
            top.entries[1].1 < 1e-80 && top.entries[1].1 >= 0.0,
            "{top:?}"
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn max_trim_and_order_follow_redis() -> anyhow::Result<()> {
    on_both("contract max", |store| async move {
        let key = SetKey::Recent("u".to_owned());
        let max = |member: &str, score: f64| Op::Max {
            key: key.clone(),
            member: member.to_owned(),
            score,
        };
        let ops = vec![
            max("a", 5.0),
            max("a", 3.0),
            max("b", 4.0),
            max("c", 4.0),
            max("d", 1.0),
            Op::Trim {
                key: key.clone(),
                keep: 3,
            },
        ];
        store.apply(&batch("e", ops)).await?;
        let top = store
            .top(std::slice::from_ref(&key), usize::MAX)
            .await?
            .remove(0);
        let entries: Vec<(&str, f64)> = top.entries.iter().map(|(m, s)| (m.as_str(), *s)).collect();
        assert_eq!(entries, [("a", 5.0), ("c", 4.0), ("b", 4.0)]);
        assert_eq!(top.landmark_ms, None);
        let two = store.top(&[key, SetKey::Popularity], 2).await?;
        assert_eq!(two[0].entries.len(), 2);
        assert!(two[1].entries.is_empty());
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_guarded_batch_conflicts_once_the_listener_moved_on() -> anyhow::Result<()> {
    on_both("contract guard", |store| async move {
        let guarded = |id: &str, version| WriteBatch {
            guard: Some((Versioned::Listener("u".to_owned()), version)),
            ..batch(
                id,
                vec![Op::Max {
                    key: SetKey::Recent("u".to_owned()),
                    member: id.to_owned(),
                    score: 1.0,
                }],
            )
        };
        assert_eq!(store.listener("u", 10).await?.version, 0);
        assert_eq!(store.apply(&guarded("a", 0)).await?, Applied::Done);
        assert_eq!(store.apply(&guarded("b", 0)).await?, Applied::Conflict);
        let listener = store.listener("u", 10).await?;
        assert_eq!(listener.version, 1);
        assert_eq!(listener.recent, [("a".to_owned(), 1)]);
        assert_eq!(store.apply(&guarded("b", 1)).await?, Applied::Done);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn batches_applied_together_answer_as_one_after_another_and_listeners_read_together()
-> anyhow::Result<()> {
    on_both("contract apply all", |store| async move {
        let played = |id: &str, user: &str, version| WriteBatch {
            guard: Some((Versioned::Listener(user.to_owned()), version)),
            ..batch(
                id,
                vec![
                    Op::Max {
                        key: SetKey::Recent(user.to_owned()),
                        member: id.to_owned(),
                        score: 7.0,
                    },
                    decay(SetKey::Popularity, id, 1.0, 0),
                ],
            )
        };
        assert_eq!(store.apply(&played("a0", "a", 0)).await?, Applied::Done);
        let batches = [
            played("a0", "a", 0), // seen before
            played("b0", "b", 0),
            played("c0", "c", 1), // planned from a version c never had
            played("b1", "b", 1), // planned after b0, applied after it in the same call
        ];
        let outcomes = store.apply_all(&batches).await?;
        assert_eq!(
            outcomes,
            [
                Applied::Duplicate,
                Applied::Done,
                Applied::Conflict,
                Applied::Done
            ]
        );
        assert!(store.apply_all(&[]).await?.is_empty());

        let listeners = store.listeners(&["a", "b", "c", "a"], 10).await?;
        let mut one_by_one = Vec::new();
        for user in ["a", "b", "c", "a"] {
            one_by_one.push(store.listener(user, 10).await?);
        }
        assert_eq!(listeners, one_by_one);
        let versions: Vec<u64> = listeners.iter().map(|l| l.version).collect();
        assert_eq!(versions, [1, 2, 0, 1]);
        assert_eq!(listeners[1].recent.len(), 2);
        assert!(store.listeners(&[], 10).await?.is_empty());
        let popular = store
            .scores(
                &SetKey::Popularity,
                &["a0".to_owned(), "b1".to_owned(), "c0".to_owned()],
            )
            .await?;
        assert_eq!(popular, [Some(1.0), Some(1.0), None]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn the_newest_track_facts_win_and_artists_follow() -> anyhow::Result<()> {
    on_both("contract track", |store| async move {
        let info = |artist: &str, updated_ms| TrackInfo {
            track_id: "t".to_owned(),
            artist_id: artist.to_owned(),
            artist_name: format!("Name\u{1f} of {artist}"),
            title: "Intro".to_owned(),
            album_id: format!("album of {artist}"),
            updated_ms,
        };
        store
            .apply(&batch("1", vec![Op::Track(info("x", 10))]))
            .await?;
        store
            .apply(&batch("2", vec![Op::Track(info("y", 20))]))
            .await?;
        store
            .apply(&batch("3", vec![Op::Track(info("x", 15))]))
            .await?;
        let stored = store.tracks(&["t".to_owned(), "none".to_owned()]).await?;
        let expected = TrackInfo {
            artist_name: "Name of y".to_owned(),
            ..info("y", 20)
        };
        assert_eq!(stored, [Some(expected), None]);
        let by_artist = store
            .top(
                &[
                    SetKey::ArtistTracks("x".to_owned()),
                    SetKey::ArtistTracks("y".to_owned()),
                ],
                10,
            )
            .await?;
        assert!(by_artist[0].entries.is_empty());
        assert_eq!(by_artist[1].entries, [("t".to_owned(), 20.0)]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn the_mixers_counts_and_marks_keep_on_both_stores() -> anyhow::Result<()> {
    on_both("contract mix", |store| async move {
        let ann = "ann".to_owned();
        let taste = |id: &str| batch(id, vec![tunemesh_reco::model::taste_changed("ann")]);
        for id in ["t1", "t2", "t3"] {
            store.apply(&taste(id)).await?;
        }
        store.apply(&taste("t3")).await?;
        let counted = store.top(&[SetKey::TasteChanges], 10).await?;
        assert_eq!(counted[0].entries, [(ann.clone(), 3.0)]);
        // A mark is set over, lower or higher, by a removal and a max in one batch.
        let mark = |id: &str, at: f64| {
            let key = SetKey::MixedAt;
            batch(
                id,
                vec![
                    Op::Remove {
                        key: key.clone(),
                        member: "ann".to_owned(),
                    },
                    Op::Max {
                        key,
                        member: "ann".to_owned(),
                        score: at,
                    },
                ],
            )
        };
        store.apply(&mark("m1", 2_000.0)).await?;
        store.apply(&mark("m2", 1_000.0)).await?;
        let marks = store
            .scores(&SetKey::MixedAt, std::slice::from_ref(&ann))
            .await?;
        assert_eq!(marks, [Some(1_000.0)]);
        let none = store.scores(&SetKey::MixedTaste, &[ann]).await?;
        assert_eq!(none, [None]);
        Ok(())
    })
    .await
}
