//! `player.v1.PlayerService`.

use std::pin::Pin;

use futures::{Stream, StreamExt as _};
use tokio_stream::wrappers::ReceiverStream;
use tunemesh_proto::player::v1::player_service_server::PlayerService;
use tunemesh_proto::player::v1::*;
use tunemesh_proto::tonic::{self, Request, Response, Status};
use tunemesh_runtime::ServiceError as _;
use tunemesh_runtime::identity::MeshIdentity;

use super::caller;
use crate::catalog::Catalog;
use crate::convert::{duration_us, to_us};
use crate::delivery::{Container, Delivery, OGG_MIME, WEBM_MIME};
use crate::error::PlayerError;
use crate::media::Quality;
use crate::play_sessions::{self, PlayRules, Report};
use crate::store::PlaySessionStore;

/// Longest `context.id` a report may carry (the REST contract's limit).
const MAX_CONTEXT_ID: usize = 256;

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// `PlayerService` over [`Delivery`] and the session store.
#[derive(Debug, Clone)]
pub struct PlayerApi {
    delivery: Delivery,
    catalog: Catalog,
    sessions: std::sync::Arc<dyn PlaySessionStore>,
    waker: tunemesh_events::outbox::OutboxWaker,
    identity: MeshIdentity,
    rules: PlayRules,
}

impl PlayerApi {
    /// The API; `waker` is poked after a report wrote an event; `rules` decide which claimed
    /// plays are believed.
    pub fn new(
        delivery: Delivery,
        catalog: Catalog,
        sessions: std::sync::Arc<dyn PlaySessionStore>,
        (waker, rules): (tunemesh_events::outbox::OutboxWaker, PlayRules),
        identity: MeshIdentity,
    ) -> Self {
        Self {
            delivery,
            catalog,
            sessions,
            waker,
            identity,
            rules,
        }
    }
}

fn quality(raw: i32) -> Result<Quality, Status> {
    Quality::from_request(raw).ok_or_else(|| {
        PlayerError::invalid("quality", format!("unknown quality {raw}")).to_status()
    })
}

fn position_us(
    d: Option<&tunemesh_proto::prost_types::Duration>,
    field: &'static str,
) -> Result<u64, Status> {
    match d {
        None => Ok(0),
        Some(d) => to_us(d).ok_or_else(|| {
            PlayerError::invalid(field, "must be a non-negative duration").to_status()
        }),
    }
}

#[tonic::async_trait]
impl PlayerService for PlayerApi {
    async fn stream_audio(
        &self,
        request: Request<StreamAudioRequest>,
    ) -> Result<Response<BoxStream<StreamAudioResponse>>, Status> {
        caller(&self.identity, &request)?;
        let r = request.into_inner();
        let q = quality(r.quality)?;
        let container = match AudioContainer::try_from(r.container) {
            Ok(AudioContainer::Unspecified | AudioContainer::Ogg) => Container::Ogg,
            Ok(AudioContainer::Webm) => Container::Webm,
            Err(_) => {
                return Err(PlayerError::invalid("container", "unknown container").to_status());
            }
        };
        let start = position_us(r.start_position.as_ref(), "start_position")?;
        let (h, chunks) = self
            .delivery
            .stream(&r.track_id, q, container, start)
            .await
            .map_err(|e| e.to_status())?;
        let (container, mime) = match h.container {
            Container::Ogg => (AudioContainer::Ogg, OGG_MIME),
            Container::Webm => (AudioContainer::Webm, WEBM_MIME),
        };
        let header = AudioStreamHeader {
            track_id: h.track.id.clone(),
            quality: h.quality.to_proto() as i32,
            codec: AudioCodec::Opus as i32,
            container: container as i32,
            mime_type: mime.to_owned(),
            sample_rate_hz: 48_000,
            channels: h.track.manifest.channels,
            bitrate_bps: h.bitrate_bps,
            duration: Some(duration_us(h.track.duration_us)),
            start_position: Some(duration_us(i64::try_from(h.start_us).unwrap_or(0))),
            total_bytes: h.total_bytes,
        };
        let first = futures::stream::once(async move {
            Ok(StreamAudioResponse {
                message: Some(stream_audio_response::Message::Header(header)),
            })
        });
        let rest = ReceiverStream::new(chunks).map(|chunk| match chunk {
            Ok(c) => Ok(StreamAudioResponse {
                message: Some(stream_audio_response::Message::Chunk(AudioChunk {
                    byte_offset: c.offset,
                    data: c.data,
                    media_time: Some(duration_us(i64::try_from(c.media_us).unwrap_or(0))),
                })),
            }),
            Err(e) => Err(e.to_status()),
        });
        Ok(Response::new(Box::pin(first.chain(rest))))
    }

    async fn get_audio_manifest(
        &self,
        request: Request<GetAudioManifestRequest>,
    ) -> Result<Response<GetAudioManifestResponse>, Status> {
        caller(&self.identity, &request)?;
        let (track, renditions) = self
            .delivery
            .manifest(&request.get_ref().track_id)
            .await
            .map_err(|e| e.to_status())?;
        let renditions = renditions
            .into_iter()
            .filter_map(|(r, init)| {
                let q = Quality::parse(&r.quality)?;
                Some(AudioRendition {
                    quality: q.to_proto() as i32,
                    codec: AudioCodec::Opus as i32,
                    bitrate_bps: r.bitrate_bps,
                    sample_rate_hz: 48_000,
                    channels: track.manifest.channels,
                    segmented_mime_type: WEBM_MIME.to_owned(),
                    init_segment: Vec::from(init),
                    segments: r
                        .webm_segments
                        .iter()
                        .enumerate()
                        .map(|(i, s)| AudioSegment {
                            index: u32::try_from(i).unwrap_or(u32::MAX),
                            start_time: Some(duration_us(i64::try_from(s.start_us).unwrap_or(0))),
                            duration: Some(duration_us(i64::try_from(s.duration_us).unwrap_or(0))),
                            size_bytes: s.size,
                        })
                        .collect(),
                    progressive_mime_type: OGG_MIME.to_owned(),
                    progressive_size_bytes: r.ogg_size,
                })
            })
            .collect();
        Ok(Response::new(GetAudioManifestResponse {
            manifest: Some(AudioManifest {
                track_id: track.id.clone(),
                duration: Some(duration_us(track.duration_us)),
                renditions,
                version: track.manifest.version().to_owned(),
            }),
        }))
    }

    async fn read_audio_range(
        &self,
        request: Request<ReadAudioRangeRequest>,
    ) -> Result<Response<BoxStream<ReadAudioRangeResponse>>, Status> {
        caller(&self.identity, &request)?;
        let r = request.into_inner();
        let q = quality(r.quality)?;
        let range = self
            .delivery
            .read_range(&r.track_id, q, r.offset, r.length)
            .await
            .map_err(|e| e.to_status())?;
        let (size, version) = (range.size, range.version);
        let out = ReceiverStream::new(range.chunks).map(move |chunk| match chunk {
            Ok(c) => Ok(ReadAudioRangeResponse {
                offset: c.offset,
                data: c.data,
                file_size_bytes: size,
                mime_type: OGG_MIME.to_owned(),
                version: version.clone(),
            }),
            Err(e) => Err(e.to_status()),
        });
        Ok(Response::new(Box::pin(out)))
    }

    async fn get_audio_segment(
        &self,
        request: Request<GetAudioSegmentRequest>,
    ) -> Result<Response<GetAudioSegmentResponse>, Status> {
        caller(&self.identity, &request)?;
        let r = request.into_inner();
        let q = quality(r.quality)?;
        let index = match r.segment {
            Some(get_audio_segment_request::Segment::InitSegment(true)) => None,
            Some(get_audio_segment_request::Segment::MediaSegmentIndex(i)) => Some(i),
            _ => {
                return Err(PlayerError::invalid(
                    "segment",
                    "set init_segment to true or give media_segment_index",
                )
                .to_status());
            }
        };
        let (data, times) = self
            .delivery
            .segment(&r.track_id, q, index)
            .await
            .map_err(|e| e.to_status())?;
        let to_d = |us: u64| Some(duration_us(i64::try_from(us).unwrap_or(0)));
        Ok(Response::new(GetAudioSegmentResponse {
            data,
            mime_type: WEBM_MIME.to_owned(),
            start_time: times.and_then(|(s, _)| to_d(s)),
            duration: times.and_then(|(_, d)| to_d(d)),
        }))
    }

    async fn report_playback(
        &self,
        request: Request<ReportPlaybackRequest>,
    ) -> Result<Response<ReportPlaybackResponse>, Status> {
        let user = caller(&self.identity, &request)?;
        let r = request.into_inner();
        let report = self
            .validate(user.user_id, r)
            .await
            .map_err(|e| e.to_status())?;
        let session_id = report.session_id.clone();
        let rules = self.rules.clone();
        // The clock is read under the session's lock, so concurrent reports see time in order.
        let update = Box::new(move |current| {
            play_sessions::apply(current, &report, &rules, tunemesh_runtime::clock::now_ms())
        });
        let decision = self
            .sessions
            .update_session(&session_id, update)
            .await
            .map_err(|e| PlayerError::from(e).to_status())?;
        if decision.event.is_some() {
            self.waker.wake();
        }
        Ok(Response::new(ReportPlaybackResponse {
            play_counted: decision.session.counted,
            played: Some(duration_us(decision.session.played_us)),
        }))
    }
}

impl PlayerApi {
    /// Checks a report against the contract and the catalogue.
    async fn validate(
        &self,
        user_id: String,
        r: ReportPlaybackRequest,
    ) -> Result<Report, PlayerError> {
        if !crate::ids::valid(&r.play_session_id) {
            return Err(PlayerError::invalid(
                "play_session_id",
                tunemesh_runtime::ids::RULE,
            ));
        }
        let state = match PlaybackState::try_from(r.state) {
            Ok(PlaybackState::Unspecified) | Err(_) => {
                return Err(PlayerError::invalid("state", "required"));
            }
            Ok(state) => state,
        };
        let end_reason = PlaybackEndReason::try_from(r.end_reason)
            .map_err(|_| PlayerError::invalid("end_reason", "unknown value"))?;
        let ends = matches!(state, PlaybackState::Stopped | PlaybackState::Ended);
        if ends && end_reason == PlaybackEndReason::Unspecified {
            return Err(PlayerError::invalid(
                "end_reason",
                "required when the session ends",
            ));
        }
        if end_reason == PlaybackEndReason::TimedOut {
            return Err(PlayerError::invalid(
                "end_reason",
                "timed out is set by the server only",
            ));
        }
        let played = match r.played.as_ref() {
            None => 0,
            Some(d) => {
                to_us(d).ok_or_else(|| PlayerError::invalid("played", "must not be negative"))?
            }
        };
        let track = self.catalog.track(&r.track_id).await?;
        let duration = u64::try_from(track.duration_us).unwrap_or(0);
        if let Some(p) = r.position.as_ref() {
            let p =
                to_us(p).ok_or_else(|| PlayerError::invalid("position", "must not be negative"))?;
            if p > duration + 1_000_000 {
                return Err(PlayerError::invalid(
                    "position",
                    "past the end of the track",
                ));
            }
        }
        // The limits the REST route had alone, here so every path (REST, native gRPC and
        // gRPC-web through the gateway) gets them.
        if let Some(context) = &r.context {
            if PlayContextType::try_from(context.r#type).is_err() {
                return Err(PlayerError::invalid("context.type", "unknown value"));
            }
            if context.id.len() > MAX_CONTEXT_ID {
                return Err(PlayerError::invalid(
                    "context.id",
                    "must be at most 256 characters",
                ));
            }
        }
        if r.quality != 0 && Quality::from_request(r.quality).is_none() {
            return Err(PlayerError::invalid("quality", "unknown value"));
        }
        let client_ms = r.client_time.and_then(|t| {
            let t = std::time::SystemTime::try_from(t).ok()?;
            let ms = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis();
            i64::try_from(ms).ok()
        });
        Ok(Report {
            user_id,
            session_id: r.play_session_id,
            sequence: r.sequence,
            track_id: track.id,
            track_duration_us: track.duration_us,
            played_us: i64::try_from(played).unwrap_or(i64::MAX),
            state,
            end_reason,
            context: r.context,
            quality: r.quality,
            client_ms,
        })
    }
}
