//! The embedded model on disk between runs of `tunemesh up`, so a restart resumes instead of
//! replaying the whole event stream (a million catalogue events took minutes).
//!
//! Written once, at a clean stop, after the feed's consumers stopped: it holds every event
//! they acknowledged, and the event ids applied, so what the bus delivers again after it is
//! deduplicated. Loading it deletes it: a process that crashes later leaves no snapshot,
//! and the next start replays from the beginning (`app.rs` then resets the consumers).
//! Written to a temporary file, synced and renamed into place (the directory synced too), so
//! a crash mid-write leaves none either; a CRC-32 of the model ahead of it catches a file
//! damaged since.
//!
//! The format is postcard (serde's compact binary encoding), streamed out of the model
//! under its lock and read back through a buffered reader: at a million tracks the JSON it
//! replaced was 372 MB and took most of a 15 s warm start (`BENCHMARKS.md`, session 18).
//! Each set's members are written in the set's own order, so loading builds its tree in bulk
//! from sorted members instead of inserting them one by one. postcard stores fields by
//! position and enum variants ([`SetKey`], [`Versioned`]) by index: a change to either, or
//! to [`TrackInfo`], needs [`VERSION`] bumped (a snapshot of another version is replayed).
//! A JSON snapshot of format 1 (`model.json`, written before) is still loaded once.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek as _, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::ser::{SerializeStruct as _, Serializer};
use serde::{Deserialize, Serialize};

use super::{MemoryStore, Seen, SortedSet, State};
use crate::store::{SetKey, TrackInfo, Versioned};

/// The binary format's version; a snapshot of another version is ignored (replayed instead).
const VERSION: u32 = 2;
/// The JSON format's version (`model.json`, before the binary format), loaded once.
const JSON_VERSION: u32 = 1;
/// The longest string a snapshot can hold (postcard decodes each through a scratch buffer
/// of this size); a longer one makes the snapshot unreadable, so it is replayed.
const MAX_STRING: usize = 1 << 20;
/// Read and write buffer size.
const BUFFER: usize = 1 << 20;

/// A snapshot as read back, in either format (the binary one writes the same fields, in
/// this order, from the live model: [`Saving`]).
#[derive(Deserialize)]
struct Snapshot {
    version: u32,
    /// Each set's members, in the set's order in the binary format (not in JSON).
    sets: Vec<(SetKey, Vec<(String, f64)>)>,
    landmarks: Vec<(SetKey, i64)>,
    tracks: Vec<TrackInfo>,
    /// Applied event ids without the time they were applied (JSON snapshots before buckets;
    /// always empty in the binary format).
    #[serde(default)]
    seen: Vec<String>,
    /// Applied event ids by the latest time they can have been applied (ms).
    #[serde(default)]
    seen_buckets: Vec<(u64, Vec<String>)>,
    versions: Vec<(Versioned, u64)>,
}

/// How long loading a snapshot took, by phase.
#[derive(Debug, Clone, Copy)]
pub struct LoadTimes {
    /// Opening, reading and decoding the file (and deleting it).
    pub read: Duration,
    /// Building the model's maps and sets from what was read.
    pub build: Duration,
}

impl MemoryStore {
    /// Writes the model to `path` (through `path` with the extension `.tmp`, renamed).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let tmp = path.with_extension("tmp");
        let mut file = File::create(&tmp).with_context(|| format!("create {tmp:?}"))?;
        // The checksum's place, written once the model is.
        file.write_all(&[0; 4])?;
        let mut out = BufWriter::with_capacity(BUFFER, Crc::new(file));
        // Streamed from the model itself, under its lock: no copy of a million strings.
        postcard::to_io(&Saving(&self.state(), VERSION), &mut out)?;
        let Crc {
            inner: mut file,
            crc,
        } = out.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&crc.finalize().to_le_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename is durable once the directory is.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }

    /// Writes the model at `path` as format 1 did (JSON, `model.json`), for the tests of
    /// loading it and the snapshot benchmark's figures of that format. Not crash-safe.
    #[doc(hidden)]
    pub fn save_json(&self, path: &Path) -> anyhow::Result<()> {
        let mut out = BufWriter::with_capacity(BUFFER, File::create(path)?);
        serde_json::to_writer(&mut out, &Saving(&self.state(), JSON_VERSION))?;
        out.flush()?;
        Ok(())
    }

    /// The model saved at `path`, which is deleted; `None` when there is none, or when it
    /// cannot be read or deleted (the caller then replays). Without one, a JSON snapshot of
    /// format 1 beside it (`path` with the extension `.json`) is taken instead; with one, such
    /// a file is stale and only deleted.
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
        let json = path.with_extension("json");
        let snapshot = match take_file(path, VERSION, read_binary) {
            Some(snapshot) => {
                // Older than this one (written before it): never to be loaded after a crash.
                if json != path
                    && json.exists()
                    && let Err(error) = std::fs::remove_file(&json)
                {
                    tracing::warn!(%error, ?json, "cannot delete a stale model snapshot");
                }
                snapshot
            }
            None if json != path => take_file(&json, JSON_VERSION, read_json)?,
            None => return None,
        };
        let read = started.elapsed();
        let store = Self {
            state: std::sync::Mutex::new(build(snapshot, dedup_ttl)),
        };
        let build = started.elapsed() - read;
        Some((store, LoadTimes { read, build }))
    }
}

/// Reads the snapshot at `path` with `decode` and deletes the file; `None` when there is
/// none, or it is unreadable, of another version than `version`, or cannot be deleted.
fn take_file(
    path: &Path,
    version: u32,
    decode: fn(File) -> anyhow::Result<Snapshot>,
) -> Option<Snapshot> {
    let file = File::open(path).ok()?;
    let read = decode(file);
    if let Err(error) = std::fs::remove_file(path) {
        // A snapshot that stays would be loaded again after a crash: replay instead.
        tracing::warn!(%error, ?path, "cannot delete the model snapshot; replaying");
        return None;
    }
    match read {
        Ok(snapshot) if snapshot.version == version => Some(snapshot),
        Ok(snapshot) => {
            let found = snapshot.version;
            tracing::warn!(
                found,
                version,
                ?path,
                "model snapshot of another version; replaying"
            );
            None
        }
        Err(error) => {
            tracing::warn!(
                error = format!("{error:#}"),
                ?path,
                "unreadable model snapshot; replaying"
            );
            None
        }
    }
}

fn read_binary(mut file: File) -> anyhow::Result<Snapshot> {
    let mut expected = [0; 4];
    file.read_exact(&mut expected)?;
    let mut reader = BufReader::with_capacity(BUFFER, Crc::new(file));
    let mut scratch = vec![0; MAX_STRING];
    let (snapshot, _) = postcard::from_io((&mut reader, &mut scratch[..]))?;
    // A file cut short fails above; one with bytes after the model was not written by save.
    anyhow::ensure!(
        reader.read(&mut [0])? == 0,
        "bytes after the end of the model"
    );
    // Read to its end, so every byte of the model went through the checksum.
    let crc = reader.into_inner().crc.finalize();
    anyhow::ensure!(
        crc.to_le_bytes() == expected,
        "the model's checksum does not match"
    );
    Ok(snapshot)
}

fn read_json(file: File) -> anyhow::Result<Snapshot> {
    Ok(serde_json::from_reader(BufReader::with_capacity(
        BUFFER, file,
    ))?)
}

/// A reader or writer that checksums the bytes going through it (CRC-32).
struct Crc<T> {
    inner: T,
    crc: crc32fast::Hasher,
}

impl<T> Crc<T> {
    fn new(inner: T) -> Self {
        Self {
            inner,
            crc: crc32fast::Hasher::new(),
        }
    }
}

impl<W: Write> Write for Crc<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.crc.update(&buf[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<R: Read> Read for Crc<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.crc.update(&buf[..read]);
        Ok(read)
    }
}

/// The model's state from a snapshot read back.
fn build(snapshot: Snapshot, dedup_ttl: Duration) -> State {
    let mut state = State {
        seen: Seen::new(dedup_ttl),
        ..State::default()
    };
    state.sets = snapshot
        .sets
        .into_iter()
        .map(|(key, members)| (key, SortedSet::from_members(members)))
        .collect();
    state.landmarks = snapshot.landmarks.into_iter().collect();
    state.tracks = snapshot
        .tracks
        .into_iter()
        .map(|t| (t.track_id.clone(), t))
        .collect();
    state.seen.restore(snapshot.seen_buckets, snapshot.seen);
    state.versions = snapshot.versions.into_iter().collect();
    state
}

/// The live model, serialized as a [`Snapshot`] of the version `.1` without being copied.
struct Saving<'a>(&'a State, u32);

impl Serialize for Saving<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let state = self.0;
        let sets = Seq(|| {
            state.sets.iter().map(|(key, set)| {
                let members =
                    Seq(move || set.order.iter().map(|(score, member)| (member, score.0)));
                (key, members)
            })
        });
        let mut out = serializer.serialize_struct("Snapshot", 7)?;
        out.serialize_field("version", &self.1)?;
        out.serialize_field("sets", &sets)?;
        out.serialize_field("landmarks", &Seq(|| state.landmarks.iter()))?;
        out.serialize_field("tracks", &Seq(|| state.tracks.values()))?;
        out.serialize_field("seen", &[] as &[String])?;
        out.serialize_field("seen_buckets", &state.seen.buckets())?;
        out.serialize_field("versions", &Seq(|| state.versions.iter()))?;
        out.end()
    }
}

/// A sequence serialized straight from the iterator `.0` makes (of a known length, as
/// postcard writes the length first).
struct Seq<F>(F);

impl<F, I> Serialize for Seq<F>
where
    F: Fn() -> I,
    I: ExactSizeIterator<Item: Serialize>,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq((self.0)())
    }
}

#[cfg(test)]
mod tests;
