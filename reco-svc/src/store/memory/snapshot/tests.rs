use super::*;
use crate::store::{Applied, Op, RecoStore as _, WriteBatch};

const TTL: Duration = Duration::from_secs(3600);

fn batch(id: &str, guard: Option<Versioned>, ops: Vec<Op>) -> WriteBatch {
    WriteBatch {
        event_id: id.to_owned(),
        guard: guard.map(|of| (of, 0)),
        ops,
    }
}

fn info(track: &str, artist: &str) -> TrackInfo {
    TrackInfo {
        track_id: track.into(),
        artist_id: artist.into(),
        artist_name: format!("Artist {artist}"),
        title: format!("Title of {track}, «quoted»"),
        album_id: "al1".into(),
        updated_ms: 5,
    }
}

/// A model with something in every part a snapshot keeps: sets of several kinds (one with
/// a landmark, one with a negative count, ties in score), tracks, versions of both kinds,
/// and applied ids.
async fn a_model() -> anyhow::Result<MemoryStore> {
    let store = MemoryStore::with_dedup_ttl(TTL);
    let listener = Versioned::Listener("u1".into());
    let playlist = Versioned::Playlist("pl".into());
    let ops = vec![
        Op::Track(info("t1", "a1")),
        Op::Track(info("t2", "a1")),
        Op::Track(info("t3", "a2")),
        Op::Decay {
            key: SetKey::Popularity,
            member: "t1".into(),
            weight: 2.0,
            at_ms: 1_000,
            half_life_ms: 60_000,
        },
        Op::Max {
            key: SetKey::Recent("u1".into()),
            member: "t1".into(),
            score: 1_000.0,
        },
        Op::Max {
            key: SetKey::Recent("u1".into()),
            member: "t2".into(),
            score: 1_000.0,
        },
    ];
    assert_eq!(
        store.apply(&batch("e1", Some(listener), ops)).await?,
        Applied::Done
    );
    let ops = vec![
        Op::Count {
            key: SetKey::Likes("u2".into()),
            member: "t3".into(),
            delta: -1,
        },
        Op::Add {
            key: SetKey::PlaylistPairs("pl".into(), "t1".into()),
            member: "t2".into(),
            weight: 0.5,
        },
    ];
    assert_eq!(
        store.apply(&batch("e2", Some(playlist), ops)).await?,
        Applied::Done
    );
    assert_eq!(
        store.apply(&batch("e3", None, Vec::new())).await?,
        Applied::Done
    );
    Ok(store)
}

/// Checks `store` takes each of `ids` for an event applied already.
async fn assert_applied(store: &MemoryStore, ids: &[&str]) -> anyhow::Result<()> {
    for id in ids {
        let again = store.apply(&batch(id, None, Vec::new())).await?;
        assert_eq!(again, Applied::Duplicate, "{id}");
    }
    Ok(())
}

type Sets = Vec<(SetKey, Vec<(String, f64)>)>;

/// Everything a model holds, in a fixed order, checking each set's two indexes agree.
fn contents(store: &MemoryStore) -> (Sets, Vec<String>, Vec<String>, Vec<String>) {
    let state = store.state();
    let mut sets: Sets = Vec::new();
    for (key, set) in &state.sets {
        let members: Vec<(String, f64)> = set
            .order
            .iter()
            .map(|(score, member)| (member.clone(), score.0))
            .collect();
        assert_eq!(members.len(), set.scores.len(), "{key:?}");
        for (member, score) in &members {
            assert_eq!(set.scores.get(member), Some(score), "{key:?} {member}");
        }
        sets.push((key.clone(), members));
    }
    sets.sort_by(|a, b| a.0.cmp(&b.0));
    let sorted = |mut all: Vec<String>| {
        all.sort();
        all
    };
    let landmarks = sorted(state.landmarks.iter().map(|e| format!("{e:?}")).collect());
    let tracks = sorted(state.tracks.iter().map(|e| format!("{e:?}")).collect());
    let mut facts: Vec<String> = state.versions.iter().map(|e| format!("{e:?}")).collect();
    for (end, ids) in state.seen.buckets() {
        facts.push(format!(
            "{end} {:?}",
            sorted(ids.into_iter().map(str::to_owned).collect())
        ));
    }
    (sets, landmarks, tracks, sorted(facts))
}

#[tokio::test]
async fn a_saved_model_comes_back_whole_once() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("model.bin");
    let store = a_model().await?;
    store.save(&path)?;
    assert!(!path.with_extension("tmp").exists());

    let back = MemoryStore::take(&path, TTL).expect("a saved model");
    assert!(
        !path.exists(),
        "a taken snapshot is deleted, so a crash replays"
    );
    assert!(MemoryStore::take(&path, TTL).is_none());
    assert_eq!(contents(&back), contents(&store));
    let (sets, landmarks, tracks, facts) = contents(&back);
    assert_eq!((sets.len(), landmarks.len(), tracks.len()), (6, 1, 3));
    // Two versions, and the ids in one bucket (two if a bucket's end fell between them).
    assert!(facts.len() >= 3, "{facts:?}");
    for key in [SetKey::Popularity, SetKey::Recent("u1".into())] {
        let keys = std::slice::from_ref(&key);
        assert_eq!(back.top(keys, 10).await?, store.top(keys, 10).await?);
    }
    // The applied ids came back too: a redelivery changes nothing.
    assert_applied(&back, &["e1", "e2", "e3"]).await
}

#[tokio::test]
async fn a_json_snapshot_of_the_first_format_is_loaded_once() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("model.bin");
    let json = dir.path().join("model.json");
    // As format 1 wrote it: members in no order, ids with and without a time.
    let now = super::super::seen::now_ms();
    let old = serde_json::json!({
        "version": 1,
        "sets": [["Popularity", [["t2", 3.0], ["t1", 5.0], ["t3", 3.0]]]],
        "landmarks": [["Popularity", 1000]],
        "tracks": [info("t1", "a1")],
        "seen": ["old"],
        "seen_buckets": [[now, ["e1"]]],
        "versions": [[{"Listener": "u1"}, 4]],
    });
    std::fs::write(&json, serde_json::to_vec(&old)?)?;

    let back = MemoryStore::take(&path, TTL).expect("the JSON model");
    assert!(!json.exists(), "loaded once");
    let top = back.top(&[SetKey::Popularity], 10).await?;
    let names: Vec<&str> = top[0].entries.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(names, ["t1", "t3", "t2"]);
    assert_eq!(top[0].landmark_ms, Some(1000));
    assert_eq!(back.tracks(&["t1".into()]).await?, [Some(info("t1", "a1"))]);
    assert_eq!(back.version(&Versioned::Listener("u1".into())).await?, 4);
    assert_applied(&back, &["old", "e1"]).await
}

#[tokio::test]
async fn a_stale_json_snapshot_beside_a_binary_one_is_deleted() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("model.bin");
    let json = dir.path().join("model.json");
    let store = a_model().await?;
    store.save(&path)?;
    std::fs::write(&json, br#"{"version": 1}"#)?;
    let back = MemoryStore::take(&path, TTL).expect("the binary model");
    assert_eq!(contents(&back), contents(&store));
    assert!(!json.exists() && !path.exists());
    Ok(())
}

/// Every damaged or foreign snapshot is dropped, and deleted, for a replay.
#[tokio::test]
async fn an_unreadable_snapshot_is_dropped_for_a_replay() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("model.bin");
    a_model().await?.save(&path)?;
    let good = std::fs::read(&path)?;
    // After the checksum (4 bytes), the version.
    assert_eq!(good[4], 2);
    let mut other_version = good.clone();
    other_version[4] = 3;
    let mut longer = good.clone();
    longer.push(0);
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("JSON", b"{not json".to_vec()),
        ("another version", other_version),
        ("bytes after the model", longer),
    ];
    for cut in [1, 4, 5, good.len() / 3, good.len() - 1] {
        cases.push(("cut short", good[..cut].to_vec()));
    }
    // Any one byte changed, the checksum's or the model's (a string's, a score's, a length).
    for at in 0..good.len() {
        let mut changed = good.clone();
        changed[at] ^= 0x5a;
        cases.push(("a byte changed", changed));
    }
    for (what, bytes) in cases {
        std::fs::write(&path, &bytes)?;
        assert!(MemoryStore::take(&path, TTL).is_none(), "{what}: loaded");
        assert!(!path.exists(), "{what}: not deleted");
    }
    // What the cases changed was the file: it loads as it was written.
    std::fs::write(&path, &good)?;
    assert!(MemoryStore::take(&path, TTL).is_some());
    // A JSON snapshot of another version is replayed too.
    let json = dir.path().join("model.json");
    std::fs::write(&json, br#"{"version": 7, "sets": []}"#)?;
    assert!(MemoryStore::take(&path, TTL).is_none());
    assert!(!json.exists());
    Ok(())
}
