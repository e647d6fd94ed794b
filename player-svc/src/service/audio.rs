//! Audio as contract messages: each request's fields checked and turned into a read on
//! [`Delivery`](crate::delivery::Delivery), its result into the response (one header, then
//! the chunks as the consumer takes them).

use futures::StreamExt as _;
use tokio_stream::wrappers::ReceiverStream;
use tunemesh_proto::player::v1 as pb;
use tunemesh_proto::prost_types;

use super::{AudioStream, PlaybackDomain};
use crate::convert::{duration_us, to_us};
use crate::delivery::{Container, OGG_MIME, WEBM_MIME, progressive_blob};
use crate::error::PlayerError;
use crate::media::Quality;
use crate::starts::FIRST_BYTES;

/// Sample rate of every stored rendition (Opus decodes to 48 kHz).
const SAMPLE_RATE_HZ: u32 = 48_000;

fn quality(raw: i32) -> Result<Quality, PlayerError> {
    Quality::from_request(raw)
        .ok_or_else(|| PlayerError::invalid("quality", format!("unknown quality {raw}")))
}

fn position_us(d: Option<&prost_types::Duration>, field: &'static str) -> Result<u64, PlayerError> {
    match d {
        None => Ok(0),
        Some(d) => {
            to_us(d).ok_or_else(|| PlayerError::invalid(field, "must be a non-negative duration"))
        }
    }
}

/// A media time as a contract duration.
fn media_time(us: u64) -> Option<prost_types::Duration> {
    Some(duration_us(i64::try_from(us).unwrap_or(0)))
}

impl PlaybackDomain {
    pub(super) async fn audio_stream(
        &self,
        r: pb::StreamAudioRequest,
    ) -> Result<AudioStream<pb::StreamAudioResponse>, PlayerError> {
        let q = quality(r.quality)?;
        let container = match pb::AudioContainer::try_from(r.container) {
            Ok(pb::AudioContainer::Unspecified | pb::AudioContainer::Ogg) => Container::Ogg,
            Ok(pb::AudioContainer::Webm) => Container::Webm,
            Err(_) => return Err(PlayerError::invalid("container", "unknown container")),
        };
        let start = position_us(r.start_position.as_ref(), "start_position")?;
        // Counted from before the lookup, so others' read-ahead gives way to all of it.
        let mut starting = self.delivery.starting();
        let (h, chunks) = self
            .delivery
            .stream(&r.track_id, q, container, start)
            .await?;
        let (container, mime) = match h.container {
            Container::Ogg => (pb::AudioContainer::Ogg, OGG_MIME),
            Container::Webm => (pb::AudioContainer::Webm, WEBM_MIME),
        };
        let header = pb::AudioStreamHeader {
            track_id: h.track.id.clone(),
            quality: h.quality.to_proto() as i32,
            codec: pb::AudioCodec::Opus as i32,
            container: container as i32,
            mime_type: mime.to_owned(),
            sample_rate_hz: SAMPLE_RATE_HZ,
            channels: h.track.manifest.channels,
            bitrate_bps: h.bitrate_bps,
            duration: Some(duration_us(h.track.duration_us)),
            start_position: media_time(h.start_us),
            total_bytes: h.total_bytes,
        };
        let first = futures::stream::once(async move {
            Ok(pb::StreamAudioResponse {
                message: Some(pb::stream_audio_response::Message::Header(header)),
            })
        });
        let mut handed_out = 0u64;
        let rest = ReceiverStream::new(chunks).map(move |chunk| {
            // Handed to the transport now: once the first audio is, this stream is started.
            handed_out += chunk.as_ref().map_or(0, |c| c.data.len() as u64);
            if handed_out >= FIRST_BYTES {
                starting.done();
            }
            chunk.map(|c| pb::StreamAudioResponse {
                message: Some(pb::stream_audio_response::Message::Chunk(pb::AudioChunk {
                    byte_offset: c.offset,
                    data: c.data,
                    media_time: media_time(c.media_us),
                })),
            })
        });
        Ok(first.chain(rest).boxed())
    }

    pub(super) async fn audio_manifest(
        &self,
        r: pb::GetAudioManifestRequest,
    ) -> Result<pb::GetAudioManifestResponse, PlayerError> {
        let (track, renditions) = self.delivery.manifest(&r.track_id).await?;
        let renditions = renditions
            .into_iter()
            .filter_map(|(r, init)| {
                let q = Quality::parse(&r.quality)?;
                Some(pb::AudioRendition {
                    quality: q.to_proto() as i32,
                    codec: pb::AudioCodec::Opus as i32,
                    bitrate_bps: r.bitrate_bps,
                    sample_rate_hz: SAMPLE_RATE_HZ,
                    channels: track.manifest.channels,
                    segmented_mime_type: WEBM_MIME.to_owned(),
                    init_segment: Vec::from(init),
                    segments: r
                        .webm_segments
                        .iter()
                        .enumerate()
                        .map(|(i, s)| pb::AudioSegment {
                            index: u32::try_from(i).unwrap_or(u32::MAX),
                            start_time: media_time(s.start_us),
                            duration: media_time(s.duration_us),
                            size_bytes: s.size,
                        })
                        .collect(),
                    progressive_mime_type: OGG_MIME.to_owned(),
                    progressive_size_bytes: r.ogg_size,
                    progressive_blob: progressive_blob(&track.manifest.blob_prefix, &r.quality),
                })
            })
            .collect();
        Ok(pb::GetAudioManifestResponse {
            manifest: Some(pb::AudioManifest {
                track_id: track.id.clone(),
                duration: Some(duration_us(track.duration_us)),
                renditions,
                version: track.manifest.version().to_owned(),
            }),
        })
    }

    pub(super) async fn audio_range(
        &self,
        r: pb::ReadAudioRangeRequest,
    ) -> Result<AudioStream<pb::ReadAudioRangeResponse>, PlayerError> {
        let q = quality(r.quality)?;
        let range = self
            .delivery
            .read_range(&r.track_id, q, r.offset, r.length)
            .await?;
        let (size, version) = (range.size, range.version);
        let out = ReceiverStream::new(range.chunks).map(move |chunk| {
            chunk.map(|c| pb::ReadAudioRangeResponse {
                offset: c.offset,
                data: c.data,
                file_size_bytes: size,
                mime_type: OGG_MIME.to_owned(),
                version: version.clone(),
            })
        });
        Ok(out.boxed())
    }

    pub(super) async fn audio_segment(
        &self,
        r: pb::GetAudioSegmentRequest,
    ) -> Result<pb::GetAudioSegmentResponse, PlayerError> {
        let q = quality(r.quality)?;
        let index = match r.segment {
            Some(pb::get_audio_segment_request::Segment::InitSegment(true)) => None,
            Some(pb::get_audio_segment_request::Segment::MediaSegmentIndex(i)) => Some(i),
            _ => {
                return Err(PlayerError::invalid(
                    "segment",
                    "set init_segment to true or give media_segment_index",
                ));
            }
        };
        let (data, times) = self.delivery.segment(&r.track_id, q, index).await?;
        Ok(pb::GetAudioSegmentResponse {
            data,
            mime_type: WEBM_MIME.to_owned(),
            start_time: times.and_then(|(s, _)| media_time(s)),
            duration: times.and_then(|(_, d)| media_time(d)),
        })
    }
}
