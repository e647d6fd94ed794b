//! The embedded model on disk between runs of `tunemesh up`, so a restart resumes instead of
//! replaying the whole event stream (a million catalogue events took minutes).
//!
//! Written once, at a clean stop, after the feed's consumers stopped: it holds every event
//! they acknowledged, and the event ids applied, so what the bus delivers again after it is
//! deduplicated. Loading it deletes it: a process that crashes later leaves no snapshot,
//! and the next start replays from the beginning (`app.rs` then resets the consumers).
//! JSON, written to a temporary file and renamed into place, so a crash mid-write leaves
//! none either.

use std::io::{BufReader, BufWriter, Write as _};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use super::{MemoryStore, Score, Seen, SortedSet, State};
use crate::store::{SetKey, TrackInfo, Versioned};

/// The format's version; a snapshot of another version is ignored (replayed instead).
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Snapshot {
    version: u32,
    sets: Vec<(SetKey, Vec<(String, f64)>)>,
    landmarks: Vec<(SetKey, i64)>,
    tracks: Vec<TrackInfo>,
    /// Applied event ids without the time they were applied (snapshots before buckets).
    #[serde(default)]
    seen: Vec<String>,
    /// Applied event ids by the stretch of wall-clock time they were applied in.
    #[serde(default)]
    seen_buckets: Vec<(u64, Vec<String>)>,
    versions: Vec<(Versioned, u64)>,
}

impl MemoryStore {
    /// Writes the model to `path` (through `path` + `.tmp`, renamed).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let snapshot = {
            let state = self.state();
            Snapshot {
                version: VERSION,
                sets: state
                    .sets
                    .iter()
                    .map(|(key, set)| {
                        let members = set.scores.iter().map(|(m, s)| (m.clone(), *s)).collect();
                        (key.clone(), members)
                    })
                    .collect(),
                landmarks: state
                    .landmarks
                    .iter()
                    .map(|(k, v)| (k.clone(), *v))
                    .collect(),
                tracks: state.tracks.values().cloned().collect(),
                seen: Vec::new(),
                seen_buckets: state.seen.buckets(),
                versions: state
                    .versions
                    .iter()
                    .map(|(k, v)| (k.clone(), *v))
                    .collect(),
            }
        };
        let tmp = path.with_extension("tmp");
        let file = std::fs::File::create(&tmp).with_context(|| format!("create {tmp:?}"))?;
        let mut out = BufWriter::new(file);
        serde_json::to_writer(&mut out, &snapshot)?;
        out.flush()?;
        out.into_inner()?.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }

    /// The model saved at `path`, which is deleted; `None` when there is none, or when it
    /// cannot be read or deleted (the caller then replays).
    pub fn take(path: &Path, dedup_ttl: Duration) -> Option<Self> {
        let (store, times) = Self::take_timed(path, dedup_ttl)?;
        tracing::info!(
            read_ms = times.read.as_millis(),
            build_ms = times.build.as_millis(),
            "recommendation model loaded"
        );
        Some(store)
    }

    /// [`MemoryStore::take`], with how long each phase took (the log's figures, and the
    /// snapshot benchmark's: `bench/src/bin/snapshot.rs`).
    pub fn take_timed(path: &Path, dedup_ttl: Duration) -> Option<(Self, LoadTimes)> {
        let started = Instant::now();
        let file = std::fs::File::open(path).ok()?;
        let read: Result<Snapshot, _> = serde_json::from_reader(BufReader::new(file));
        if let Err(error) = std::fs::remove_file(path) {
            // A snapshot that stays would be loaded again after a crash: replay instead.
            tracing::warn!(%error, ?path, "cannot delete the model snapshot; replaying");
            return None;
        }
        let snapshot = match read {
            Ok(s) if s.version == VERSION => s,
            Ok(_) => return None,
            Err(error) => {
                tracing::warn!(%error, ?path, "unreadable model snapshot; replaying");
                return None;
            }
        };
        let read = started.elapsed();
        let mut state = State {
            seen: Seen::new(dedup_ttl),
            ..State::default()
        };
        for (key, members) in snapshot.sets {
            let mut set = SortedSet::default();
            for (member, score) in members {
                set.order.insert((Score(score), member.clone()));
                set.scores.insert(member, score);
            }
            state.sets.insert(key, set);
        }
        state.landmarks = snapshot.landmarks.into_iter().collect();
        state.tracks = snapshot
            .tracks
            .into_iter()
            .map(|t| (t.track_id.clone(), t))
            .collect();
        state.seen.restore(snapshot.seen_buckets, snapshot.seen);
        state.versions = snapshot.versions.into_iter().collect();
        let store = Self {
            state: std::sync::Mutex::new(state),
        };
        let build = started.elapsed() - read;
        Some((store, LoadTimes { read, build }))
    }
}

/// How long loading a snapshot took, by phase.
#[derive(Debug, Clone, Copy)]
pub struct LoadTimes {
    /// Opening, reading and decoding the file (and deleting it).
    pub read: Duration,
    /// Building the model's maps and sets from what was read.
    pub build: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Applied, Op, RecoStore as _, WriteBatch};

    const TTL: Duration = Duration::from_secs(3600);

    fn batch(id: &str, ops: Vec<Op>) -> WriteBatch {
        WriteBatch {
            event_id: id.to_owned(),
            guard: Some((Versioned::Listener("u1".into()), 0)),
            ops,
        }
    }

    #[tokio::test]
    async fn a_saved_model_comes_back_whole_once() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("model.json");
        let store = MemoryStore::new();
        let info = TrackInfo {
            track_id: "t1".into(),
            artist_id: "a1".into(),
            artist_name: "Artist".into(),
            title: "Title".into(),
            album_id: "al1".into(),
            updated_ms: 5,
        };
        let ops = vec![
            Op::Track(info.clone()),
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
        ];
        assert_eq!(store.apply(&batch("e1", ops)).await?, Applied::Done);
        store.save(&path)?;

        let back = MemoryStore::take(&path, TTL).expect("a saved model");
        assert!(
            !path.exists(),
            "a taken snapshot is deleted, so a crash replays"
        );
        assert!(MemoryStore::take(&path, TTL).is_none());
        for key in [SetKey::Popularity, SetKey::Recent("u1".into())] {
            let keys = std::slice::from_ref(&key);
            assert_eq!(back.top(keys, 10).await?, store.top(keys, 10).await?);
        }
        assert_eq!(back.tracks(&["t1".into()]).await?, [Some(info)]);
        assert_eq!(
            back.version(&Versioned::Listener("u1".into())).await?,
            store.version(&Versioned::Listener("u1".into())).await?
        );
        // The applied ids came back too: a redelivery changes nothing.
        assert_eq!(
            back.apply(&batch("e1", Vec::new())).await?,
            Applied::Duplicate
        );
        Ok(())
    }

    #[test]
    fn an_unreadable_snapshot_is_dropped_for_a_replay() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("model.json");
        std::fs::write(&path, b"{not json")?;
        assert!(MemoryStore::take(&path, TTL).is_none());
        assert!(!path.exists());
        Ok(())
    }
}
