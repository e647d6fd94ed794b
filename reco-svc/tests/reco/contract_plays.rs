//! Plays through the model's own planning on both stores: co-listening, what listeners
//! played next, taste and recent plays come out the same on Redis and in memory.

use std::sync::Arc;

use tunemesh_reco::model::update::plan_listen;
use tunemesh_reco::model::{Listen, ListenKind, ModelParams};
use tunemesh_reco::store::memory::MemoryStore;
use tunemesh_reco::store::{Applied, RecoStore, SetKey};

use crate::contract::{Sets, assert_same_sets, on_both, read_sets};

const MIN: i64 = 60_000;

/// Three listeners' sessions over six tracks, some plays far apart, one skip each.
fn plays() -> Vec<Listen> {
    let mut out = Vec::new();
    for (u, tracks) in [
        ["t0", "t1", "t2", "t3", "t4"],
        ["t1", "t2", "t5", "t0", "t3"],
        ["t5", "t4", "t3", "t2", "t1"],
    ]
    .iter()
    .enumerate()
    {
        for (i, track) in tracks.iter().enumerate() {
            // the fourth play starts a new session
            let at_ms = 1_000_000 * (u as i64 + 1) + i as i64 * MIN + (i as i64 / 3) * 90 * MIN;
            out.push(Listen {
                event_id: format!("p{u}-{i}"),
                user_id: format!("u{u}"),
                track_id: (*track).to_owned(),
                at_ms,
                kind: if i == 4 {
                    ListenKind::Skip
                } else {
                    ListenKind::Play { weight: 1.0 }
                },
            });
        }
    }
    out
}

async fn feed(store: &dyn RecoStore, params: &ModelParams) -> anyhow::Result<()> {
    for listen in plays() {
        let listener = store.listener(&listen.user_id, params.recent_size).await?;
        let applied = store
            .apply(&plan_listen(&listen, &listener, params))
            .await?;
        anyhow::ensure!(applied == Applied::Done, "{}: {applied:?}", listen.event_id);
    }
    Ok(())
}

async fn everything(store: &dyn RecoStore) -> anyhow::Result<Sets> {
    let mut keys = vec![SetKey::Popularity];
    for t in 0..6 {
        keys.push(SetKey::Neighbours(format!("t{t}")));
        keys.push(SetKey::Next(format!("t{t}")));
    }
    for u in 0..3 {
        keys.push(SetKey::Taste(format!("u{u}")));
        keys.push(SetKey::Recent(format!("u{u}")));
        keys.push(SetKey::Skips(format!("u{u}")));
    }
    read_sets(store, keys).await
}

#[tokio::test]
async fn both_stores_build_the_same_play_model_transitions_included() -> anyhow::Result<()> {
    let params = ModelParams {
        transition_window: 2,
        neighbours: 3,
        ..ModelParams::default()
    };
    let memory = Arc::new(MemoryStore::new());
    feed(memory.as_ref(), &params).await?;
    let expected = everything(memory.as_ref()).await?;
    let next = |key: &str| -> Vec<String> {
        expected
            .iter()
            .find(|(k, _)| *k == SetKey::Next(key.to_owned()))
            .map(|(_, entries)| entries.iter().map(|(t, _)| t.clone()).collect())
            .unwrap_or_default()
    };
    // Right after, or one play later (weighs half); never across sessions (u0's t3 came
    // 90 minutes after t2) nor after a skip.
    assert_eq!(next("t0"), ["t1", "t2"]);
    assert_eq!(next("t1"), ["t2", "t5"]);
    assert_eq!(next("t2"), ["t5"]);
    assert!(next("t3").is_empty());
    let params = &params;
    on_both("contract plays", |store| {
        let expected = expected.clone();
        async move {
            feed(store.as_ref(), params).await?;
            let got = everything(store.as_ref()).await?;
            assert_same_sets(&got, &expected);
            Ok(())
        }
    })
    .await
}
