//! Byte ranges of progressive audio files read straight from player-svc's blob store
//! (`[gateway.blobs]`: the same directory, mounted read only, or the same bucket), instead of
//! through `PlayerService.ReadAudioRange`.
//!
//! Why: a range through player-svc is a gRPC call whose bytes are read, protobuf-encoded,
//! encrypted, sent over a socket, decrypted and decoded before the gateway copies them to the
//! listener; for a track not in the edge cache that was 8× nginx's CPU per listener and half
//! its capacity (BENCHMARKS.md). Read here, a range is one read of the store. player-svc still
//! decides what is read: the key comes from its manifest (`AudioRendition.progressive_blob`),
//! fetched with the listener's identity and kept with the track's facts (`super::facts`), and
//! a key names one version of the audio, so what is read is exactly what the `ETag` promises.
//! A re-ingested track's old files may be gone: a missing blob sends the route back for fresh
//! facts, as a version mismatch from player-svc does.
//!
//! Each block is read when the body is polled for it, so the listener's socket paces the
//! reads as it paces the gRPC stream on the other path: nothing is read ahead.

use bytes::Bytes;
use futures::Stream;
use tunemesh_runtime::ErrorCode;
use tunemesh_runtime::blobs::Blobs;

use super::edge_cache::BLOCK;
use crate::error::ApiError;

/// Bytes the gateway read from the blob store itself.
pub const READ_BYTES: &str = "tunemesh_gateway_blob_read_bytes_total";

/// What reading a range found.
pub(crate) enum Read<S> {
    /// The blocks of the range, in order: the first already read, the rest read on demand.
    Blocks(S),
    /// The blob is gone: the kept facts of the track are outdated.
    Gone,
}

/// Bytes `start..=end` of blob `key`, in reads of at most [`BLOCK`] bytes starting at
/// `start` (block-aligned when the edge cache keeps them). The first read happens now, so a
/// missing blob or a store that fails is known before a header is sent.
pub(crate) async fn read(
    blobs: &Blobs,
    key: &str,
    start: u64,
    end: u64,
) -> Result<Read<impl Stream<Item = std::io::Result<(u64, Bytes)>> + Send + use<>>, ApiError> {
    let first_end = (start + BLOCK).min(end + 1);
    let first = match blobs.find_range(key, start..first_end).await {
        Ok(None) => return Ok(Read::Gone),
        Ok(Some(first)) if first.len() as u64 == first_end - start => first,
        found => {
            let error = found.map_or_else(|e| e.to_string(), |_| "short read".to_owned());
            tracing::error!(%error, blob = key, "cannot read audio from the blob store");
            return Err(ApiError::new(
                ErrorCode::Unavailable,
                "the audio store is unavailable, retry",
            ));
        }
    };
    let (blobs, key) = (blobs.clone(), key.to_owned());
    let rest = futures::stream::try_unfold(first_end, move |at| {
        let (blobs, key) = (blobs.clone(), key.clone());
        async move {
            if at > end {
                return Ok(None);
            }
            let to = (at + BLOCK).min(end + 1);
            match blobs.get_range(&key, at..to).await {
                Ok(data) if data.len() as u64 == to - at => Ok(Some(((at, data), to))),
                // The body promised these bytes: it ends cut, never with others.
                read => {
                    let error = read.map_or_else(|e| e.to_string(), |_| "short read".to_owned());
                    tracing::warn!(%error, blob = key, "audio read failed mid-body");
                    Err(std::io::Error::other("audio read failed"))
                }
            }
        }
    });
    let first = futures::stream::iter([Ok((start, first))]);
    Ok(Read::Blocks(futures::StreamExt::chain(first, rest)))
}
