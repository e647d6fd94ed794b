//! `StreamAudio` and the segment and range RPCs on a real track.

use std::time::Duration;

use futures::StreamExt as _;
use tunemesh_proto::catalog::v1::{AudioQuality, IngestOutcome};
use tunemesh_proto::player::v1::*;
use tunemesh_proto::tonic::Code;

use crate::support::player::{APEX, Player, music, quick_settings};
use crate::support::upload::upload;

fn code<T>(r: Result<T, tunemesh_proto::tonic::Status>) -> Option<Code> {
    r.err().map(|s| s.code())
}

fn secs(d: Option<tunemesh_proto::prost_types::Duration>) -> f64 {
    Duration::try_from(d.unwrap_or_default()).map_or(-1.0, |d| d.as_secs_f64())
}

/// Reads a whole stream: the header and the concatenated chunks (checking offsets).
async fn read_stream(
    player: &Player,
    request: StreamAudioRequest,
) -> anyhow::Result<(AudioStreamHeader, Vec<u8>, Vec<f64>)> {
    let mut stream = player
        .player()
        .stream_audio(player.req(request))
        .await?
        .into_inner();
    let header = match stream.next().await {
        Some(Ok(StreamAudioResponse {
            message: Some(stream_audio_response::Message::Header(h)),
        })) => h,
        other => anyhow::bail!("expected a header first, got {other:?}"),
    };
    let (mut bytes, mut times) = (Vec::new(), Vec::new());
    while let Some(message) = stream.next().await {
        match message?.message {
            Some(stream_audio_response::Message::Chunk(c)) => {
                assert_eq!(
                    c.byte_offset,
                    bytes.len() as u64,
                    "chunks arrive without gaps"
                );
                assert!(!c.data.is_empty() && c.data.len() <= 64 * 1024);
                times.push(secs(c.media_time));
                bytes.extend_from_slice(&c.data);
            }
            other => anyhow::bail!("expected a chunk, got {other:?}"),
        }
    }
    Ok((header, bytes, times))
}

#[tokio::test]
async fn streaming_from_sixty_seconds_starts_there_in_both_containers_and_ranges_follow_http()
-> anyhow::Result<()> {
    let player = Player::start(quick_settings()).await?;
    let result = upload(&player, "apex.ogg", std::fs::read(music(APEX))?).await?;
    assert_eq!(result.outcome(), IngestOutcome::Ingested, "{result:?}");
    let track_id = result.track_id;
    let from = |container: AudioContainer| StreamAudioRequest {
        track_id: track_id.clone(),
        quality: AudioQuality::VeryHigh as i32,
        start_position: Some(Duration::from_secs(60).try_into().unwrap_or_default()),
        container: container as i32,
    };

    // Ogg: headers, then pages from the one holding 60 s (at most ~1 s earlier).
    let (header, bytes, times) = read_stream(&player, from(AudioContainer::Ogg)).await?;
    let start = secs(header.start_position);
    assert!((59.0..=60.0).contains(&start), "ogg starts at {start}");
    assert_eq!(header.total_bytes, bytes.len() as u64);
    assert_eq!(&bytes[..4], b"OggS");
    assert!(bytes.windows(8).any(|w| w == b"OpusHead"));
    assert!(times.iter().all(|&t| t >= start) && times.windows(2).all(|w| w[0] <= w[1]));
    assert!((104.0..105.0).contains(&secs(header.duration)));

    // WebM: the init segment, then the segments from the one holding 60 s.
    let (header, bytes, _) = read_stream(&player, from(AudioContainer::Webm)).await?;
    let start = secs(header.start_position);
    assert!((55.0..=60.0).contains(&start), "webm starts at {start}");
    assert_eq!(&bytes[..4], [0x1a, 0x45, 0xdf, 0xa3], "an EBML header");

    // The manifest's segments tile the track; a segment and a range read back.
    let manifest = player
        .player()
        .get_audio_manifest(player.req(GetAudioManifestRequest {
            track_id: track_id.clone(),
        }))
        .await?
        .into_inner()
        .manifest
        .unwrap_or_default();
    assert_eq!(manifest.renditions.len(), 2);
    let low = &manifest.renditions[0];
    let total: f64 = low.segments.iter().map(|s| secs(s.duration)).sum();
    assert!((total - secs(manifest.duration)).abs() < 0.05, "{total}");
    let segment = player
        .player()
        .get_audio_segment(player.req(GetAudioSegmentRequest {
            track_id: track_id.clone(),
            quality: 1,
            segment: Some(get_audio_segment_request::Segment::MediaSegmentIndex(3)),
        }))
        .await?
        .into_inner();
    assert_eq!(segment.data.len() as u64, low.segments[3].size_bytes);
    let mut range = player
        .player()
        .read_audio_range(player.req(ReadAudioRangeRequest {
            track_id: track_id.clone(),
            quality: 1,
            offset: low.progressive_size_bytes - 10,
            length: 100,
        }))
        .await?
        .into_inner();
    let piece = range.next().await.transpose()?.unwrap_or_default();
    assert_eq!(
        (piece.offset, piece.data.len(), piece.file_size_bytes),
        (
            low.progressive_size_bytes - 10,
            10,
            low.progressive_size_bytes
        )
    );

    // Hostile requests get their codes.
    let mut past_end = from(AudioContainer::Ogg);
    past_end.start_position = Some(Duration::from_secs(500).try_into().unwrap_or_default());
    assert_eq!(
        code(player.player().stream_audio(player.req(past_end)).await),
        Some(Code::OutOfRange)
    );
    let mut bad_quality = from(AudioContainer::Ogg);
    bad_quality.quality = 99;
    assert_eq!(
        code(player.player().stream_audio(player.req(bad_quality)).await),
        Some(Code::InvalidArgument)
    );
    let mut missing_quality = from(AudioContainer::Ogg);
    missing_quality.quality = AudioQuality::Normal as i32; // not in this test's ladder
    assert_eq!(
        code(
            player
                .player()
                .stream_audio(player.req(missing_quality))
                .await
        ),
        Some(Code::NotFound)
    );
    let mut negative = from(AudioContainer::Ogg);
    negative.start_position = Some(tunemesh_proto::prost_types::Duration {
        seconds: -1,
        nanos: 0,
    });
    assert_eq!(
        code(player.player().stream_audio(player.req(negative)).await),
        Some(Code::InvalidArgument)
    );
    let mut unknown = from(AudioContainer::Ogg);
    unknown.track_id = "tr_unknown".into();
    assert_eq!(
        code(player.player().stream_audio(player.req(unknown)).await),
        Some(Code::NotFound)
    );
    let past_file = ReadAudioRangeRequest {
        track_id,
        quality: 1,
        offset: low.progressive_size_bytes,
        length: 0,
    };
    assert_eq!(
        code(
            player
                .player()
                .read_audio_range(player.req(past_file))
                .await
        ),
        Some(Code::OutOfRange)
    );
    Ok(())
}

#[tokio::test]
async fn from_the_start_a_stream_is_the_stored_file_and_its_first_chunk_carries_audio()
-> anyhow::Result<()> {
    let player = Player::start(quick_settings()).await?;
    let result = upload(&player, "apex.ogg", std::fs::read(music(APEX))?).await?;
    assert_eq!(result.outcome(), IngestOutcome::Ingested, "{result:?}");
    let request = StreamAudioRequest {
        track_id: result.track_id.clone(),
        quality: AudioQuality::VeryHigh as i32,
        start_position: None,
        container: AudioContainer::Ogg as i32,
    };
    let mut stream = player
        .player()
        .stream_audio(player.req(request.clone()))
        .await?
        .into_inner();
    let _header = stream.next().await.transpose()?;
    let first = match stream.next().await.transpose()?.and_then(|m| m.message) {
        Some(stream_audio_response::Message::Chunk(c)) => c,
        other => anyhow::bail!("expected a chunk, got {other:?}"),
    };
    // One read from the file's start: the headers and audio after them, not headers alone.
    assert_eq!(first.data.len(), 64 * 1024, "a whole first chunk");
    drop(stream);

    let (header, streamed, _) = read_stream(&player, request).await?;
    let mut range = player
        .player()
        .read_audio_range(player.req(ReadAudioRangeRequest {
            track_id: result.track_id,
            quality: AudioQuality::VeryHigh as i32,
            offset: 0,
            length: 0,
        }))
        .await?
        .into_inner();
    let mut stored = Vec::new();
    while let Some(piece) = range.next().await {
        stored.extend_from_slice(&piece?.data);
    }
    assert_eq!(header.total_bytes, stored.len() as u64);
    assert!(
        streamed == stored,
        "the stream from 0 is the stored Ogg file"
    );
    Ok(())
}
