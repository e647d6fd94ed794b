//! The store operations that let a signal be taken back (counts, plain sums, decayed
//! take-backs, removals, playlist versions), on Redis and in memory; and the whole model of
//! likes and playlists driven through both stores: replayed, reordered and then undone, it
//! leaves nothing behind.

use std::collections::BTreeMap;
use std::sync::Arc;

use tunemesh_reco::feed::playlist::{Outcome, apply_likes, apply_playlist};
use tunemesh_reco::model::ModelParams;
use tunemesh_reco::model::playlist::{LikeChange, PlaylistChange, PlaylistEdit};
use tunemesh_reco::store::{Applied, Op, RecoStore, SetKey, Versioned, WriteBatch};

use crate::contract::{Sets, assert_same_sets, on_both, read_sets};

const HOUR: i64 = 3_600_000;

fn batch(id: &str, ops: Vec<Op>) -> WriteBatch {
    WriteBatch {
        event_id: id.to_owned(),
        guard: None,
        ops,
    }
}

fn key(name: &str) -> SetKey {
    SetKey::Related(name.to_owned())
}

async fn score(store: &dyn RecoStore, key: &SetKey, member: &str) -> anyhow::Result<Option<f64>> {
    Ok(store.scores(key, &[member.to_owned()]).await?[0])
}

#[tokio::test]
async fn a_count_goes_below_zero_and_is_gone_at_zero() -> anyhow::Result<()> {
    on_both("contract count", |store| async move {
        let count = |id: &str, delta| {
            let op = Op::Count {
                key: key("c"),
                member: "t".to_owned(),
                delta,
            };
            batch(id, vec![op])
        };
        store.apply(&count("a", -1)).await?;
        assert_eq!(score(store.as_ref(), &key("c"), "t").await?, Some(-1.0));
        store.apply(&count("b", 1)).await?;
        assert_eq!(score(store.as_ref(), &key("c"), "t").await?, None);
        assert_eq!(store.sizes(&[key("c"), key("none")]).await?, [0, 0]);
        store.apply(&count("c", 1)).await?;
        assert_eq!(store.sizes(&[key("c")]).await?, [1]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_plain_sum_takes_back_exactly_and_never_goes_negative() -> anyhow::Result<()> {
    on_both("contract add", |store| async move {
        let add = |id: &str, member: &str, weight| {
            let op = Op::Add {
                key: key("r"),
                member: member.to_owned(),
                weight,
            };
            batch(id, vec![op])
        };
        // Taking back what was never added changes nothing.
        store.apply(&add("a", "t", -0.5)).await?;
        assert_eq!(score(store.as_ref(), &key("r"), "t").await?, None);
        let third = 1.0 / 3.0;
        store.apply(&add("b", "t", 0.1)).await?;
        store.apply(&add("c", "t", third)).await?;
        store.apply(&add("d", "t", -0.1)).await?;
        let left = score(store.as_ref(), &key("r"), "t").await?.expect("a sum");
        assert!((left - third).abs() < 1e-15, "{left}");
        // The last contribution taken back leaves no rounding residue.
        store.apply(&add("e", "t", -third)).await?;
        assert_eq!(score(store.as_ref(), &key("r"), "t").await?, None);
        // More taken back than there is: gone, not negative.
        store.apply(&add("f", "u", 0.2)).await?;
        store.apply(&add("g", "u", -0.7)).await?;
        assert_eq!(score(store.as_ref(), &key("r"), "u").await?, None);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_take_back_subtracts_what_its_decay_added() -> anyhow::Result<()> {
    on_both("contract take back", |store| async move {
        let taste = SetKey::Taste("u".to_owned());
        let decay = |weight, at_ms| Op::Decay {
            key: taste.clone(),
            member: "t".to_owned(),
            weight,
            at_ms,
            half_life_ms: HOUR,
        };
        let take_back = |weight, at_ms| Op::TakeBack {
            key: taste.clone(),
            member: "t".to_owned(),
            weight,
            at_ms,
            half_life_ms: HOUR,
        };
        // Nothing to take back yet.
        store.apply(&batch("a", vec![take_back(2.0, 0)])).await?;
        assert_eq!(score(store.as_ref(), &taste, "t").await?, None);
        store.apply(&batch("b", vec![decay(1.0, 0)])).await?;
        store.apply(&batch("c", vec![decay(2.0, 3 * HOUR)])).await?;
        store.apply(&batch("d", vec![take_back(1.0, 0)])).await?;
        let alone = tunemesh_reco::model::decay::growth(3 * HOUR, 0, HOUR) * 2.0;
        let left = score(store.as_ref(), &taste, "t").await?.expect("a weight");
        assert!((left - alone).abs() <= alone * 1e-12, "{left} vs {alone}");
        store
            .apply(&batch("e", vec![take_back(2.0, 3 * HOUR)]))
            .await?;
        assert_eq!(score(store.as_ref(), &taste, "t").await?, None);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn removals_forget_members_and_sets() -> anyhow::Result<()> {
    on_both("contract remove", |store| async move {
        let put = |member: &str| Op::Max {
            key: key("s"),
            member: member.to_owned(),
            score: 1.0,
        };
        store.apply(&batch("a", vec![put("x"), put("y")])).await?;
        let remove = Op::Remove {
            key: key("s"),
            member: "x".to_owned(),
        };
        store.apply(&batch("b", vec![remove])).await?;
        assert_eq!(store.sizes(&[key("s")]).await?, [1]);
        store
            .apply(&batch("c", vec![Op::Delete { key: key("s") }]))
            .await?;
        let left = store.top(&[key("s")], 10).await?;
        assert!(left[0].entries.is_empty(), "{left:?}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_playlist_version_is_apart_from_a_listener_version() -> anyhow::Result<()> {
    on_both("contract versions", |store| async move {
        let (playlist, listener) = (
            Versioned::Playlist("same".to_owned()),
            Versioned::Listener("same".to_owned()),
        );
        let guarded = |id: &str, of: &Versioned, version| WriteBatch {
            guard: Some((of.clone(), version)),
            ..batch(id, Vec::new())
        };
        assert_eq!(
            store.apply(&guarded("a", &playlist, 0)).await?,
            Applied::Done
        );
        assert_eq!(store.version(&playlist).await?, 1);
        assert_eq!(store.version(&listener).await?, 0);
        let stale = guarded("b", &playlist, 0);
        assert_eq!(store.apply(&stale).await?, Applied::Conflict);
        assert_eq!(
            store.apply(&guarded("c", &listener, 0)).await?,
            Applied::Done
        );
        assert_eq!(store.listener("same", 10).await?.version, 1);
        Ok(())
    })
    .await
}

/// A small deterministic generator (xorshift), so a failing order can be replayed.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        // n is small
        (self.0 % n as u64) as usize
    }
}

/// One event of the generated history.
#[derive(Clone)]
enum Event {
    Like(LikeChange),
    Edit(PlaylistEdit),
}

/// A valid history (what playlist-svc could publish): items added and removed in three
/// playlists, tracks liked and unliked; then the events that undo what is left.
fn history(dice: &mut Dice) -> Vec<Event> {
    let tracks: Vec<String> = (0..8).map(|i| format!("t{i}")).collect();
    let mut items: BTreeMap<(usize, String), usize> = BTreeMap::new();
    let mut liked: BTreeMap<String, bool> = BTreeMap::new();
    let mut events = Vec::new();
    let edit = |n: usize, playlist: usize, change| {
        Event::Edit(PlaylistEdit {
            event_id: format!("e{n}"),
            playlist_id: format!("pl{playlist}"),
            owner_id: format!("owner{}", playlist % 2),
            at_ms: 1_000_000 + n as i64 * 1000,
            change,
        })
    };
    let like = |n: usize, track: &str, on: bool| {
        Event::Like(LikeChange {
            event_id: format!("e{n}"),
            user_id: "fan".to_owned(),
            track_ids: vec![track.to_owned()],
            liked: on,
            at_ms: 1_000_000 + n as i64 * 1000,
        })
    };
    for n in 0..120 {
        let (playlist, track) = (dice.below(3), tracks[dice.below(tracks.len())].clone());
        let held = items.entry((playlist, track.clone())).or_default();
        match dice.below(3) {
            0 if *held > 0 => {
                *held -= 1;
                events.push(edit(n, playlist, PlaylistChange::Removed(vec![track])));
            }
            0 | 1 => {
                *held += 1;
                events.push(edit(n, playlist, PlaylistChange::Added(vec![track])));
            }
            _ => {
                let on = liked.entry(track.clone()).or_default();
                *on = !*on;
                events.push(like(n, &track, *on));
            }
        }
    }
    let mut n = 1_000;
    for ((playlist, track), held) in items {
        for _ in 0..held {
            n += 1;
            events.push(edit(
                n,
                playlist,
                PlaylistChange::Removed(vec![track.clone()]),
            ));
        }
    }
    for (track, on) in liked {
        if on {
            n += 1;
            events.push(like(n, &track, false));
        }
    }
    events
}

async fn apply(store: &dyn RecoStore, event: &Event) -> anyhow::Result<Outcome> {
    let params = ModelParams {
        playlist_window: 3,
        ..ModelParams::default()
    };
    Ok(match event {
        Event::Like(change) => apply_likes(store, change, &params).await?,
        Event::Edit(edit) => apply_playlist(store, edit, &params).await?,
    })
}

/// Every set the model's likes and playlists can have written, with its members.
async fn everything(store: &dyn RecoStore) -> anyhow::Result<Sets> {
    let mut keys = Vec::new();
    for i in 0..8 {
        let track = format!("t{i}");
        keys.push(SetKey::Related(track.clone()));
        for p in 0..3 {
            keys.push(SetKey::PlaylistPairs(format!("pl{p}"), track.clone()));
        }
    }
    for p in 0..3 {
        keys.push(SetKey::PlaylistItems(format!("pl{p}")));
        keys.push(SetKey::PlaylistJoined(format!("pl{p}")));
    }
    for user in ["fan", "owner0", "owner1"] {
        keys.push(SetKey::Taste(user.to_owned()));
        keys.push(SetKey::Likes(user.to_owned()));
        keys.push(SetKey::LikedAt(user.to_owned()));
    }
    let mut sets = read_sets(store, keys).await?;
    sets.retain(|(_, entries)| !entries.is_empty());
    Ok(sets)
}

#[tokio::test]
async fn likes_and_playlists_undone_in_any_order_with_replays_leave_nothing() -> anyhow::Result<()>
{
    on_both("contract undo", |store| async move {
        let mut dice = Dice(0x9e37_79b9_7f4a_7c15);
        let events = history(&mut dice);
        // Delivered out of order, some twice.
        let mut order: Vec<usize> = (0..events.len()).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, dice.below(i + 1));
        }
        let mut middle_checked = false;
        for (k, i) in order.iter().enumerate() {
            let outcome = apply(store.as_ref(), &events[*i]).await?;
            assert_eq!(outcome, Outcome::Applied);
            if dice.below(4) == 0 {
                let again = apply(store.as_ref(), &events[*i]).await?;
                assert_eq!(again, Outcome::Duplicate);
            }
            if k == order.len() / 2 {
                // Half-way there is something to undo, so the end state says something.
                middle_checked = !everything(store.as_ref()).await?.is_empty();
            }
        }
        assert!(middle_checked);
        let left = everything(store.as_ref()).await?;
        assert!(left.is_empty(), "{left:?}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn both_stores_build_the_same_model_from_the_same_events() -> anyhow::Result<()> {
    let events = history(&mut Dice(42));
    let half = &events[..events.len() / 2];
    let memory = Arc::new(tunemesh_reco::store::memory::MemoryStore::new());
    for event in half {
        apply(memory.as_ref(), event).await?;
    }
    let expected = everything(memory.as_ref()).await?;
    assert!(!expected.is_empty());
    on_both("contract same model", |store| {
        let expected = expected.clone();
        async move {
            for event in half {
                apply(store.as_ref(), event).await?;
            }
            let got = everything(store.as_ref()).await?;
            assert_same_sets(&got, &expected);
            Ok(())
        }
    })
    .await
}
