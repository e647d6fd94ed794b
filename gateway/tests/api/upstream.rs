//! A small stand-in for player-svc: `CatalogService` and `PlayerService` on a real gRPC server
//! on port 0, registered in an `EmbeddedRegistry` so the gateway reaches it through the mesh.
//! It verifies the caller identity the gateway attaches, as the real services do, and records
//! who called.

use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;
use tonic::service::Routes;
use tonic::{Request, Response, Status};
use tunemesh_discovery::EmbeddedRegistry;
use tunemesh_discovery::connect::EmbeddedCa;
use tunemesh_proto::catalog::v1 as catalog;
use tunemesh_proto::catalog::v1::catalog_service_server::{CatalogService, CatalogServiceServer};
use tunemesh_proto::player::v1 as player;
use tunemesh_proto::player::v1::player_service_server::{PlayerService, PlayerServiceServer};
use tunemesh_runtime::identity::{Caller, MeshIdentity, Verifier};

use crate::fake_library;

/// What the fake saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// Verified callers, one per call.
    pub callers: Vec<Caller>,
    /// The last `ListTracks` request.
    pub list_tracks: Option<catalog::ListTracksRequest>,
    /// The last `ReportPlayback` request.
    pub report: Option<player::ReportPlaybackRequest>,
    /// `GetAudioManifest` calls answered.
    pub manifests: usize,
    /// `ReadAudioRange` calls answered.
    pub ranges: usize,
    /// The version of every track's audio: a test changes it to re-ingest the tracks
    /// (same size, other bytes). Empty means `v1`.
    pub audio_version: String,
    /// The images `GetImage` serves, by id; a test adds them.
    pub images: std::collections::HashMap<String, Vec<u8>>,
    /// `GetImage` calls answered.
    pub image_fetches: usize,
    /// Every `ReportPlayback` request, in order.
    pub reports: Vec<player::ReportPlaybackRequest>,
    /// Every `StreamAudio` request, in order.
    pub streams: Vec<player::StreamAudioRequest>,
    /// Whether the catalogue answers from `fake_library` (the Subsonic browsing tests):
    /// tracks, albums and artists by id and `ListTracks` then come from there.
    pub library: bool,
    /// The library requests answered, as `Debug` text, in order.
    pub library_calls: Vec<String>,
}

impl Seen {
    fn audio_version(&self) -> String {
        if self.audio_version.is_empty() {
            "v1".to_owned()
        } else {
            self.audio_version.clone()
        }
    }
}

#[derive(Clone)]
struct Fake {
    identity: Verifier,
    seen: Arc<Mutex<Seen>>,
}

impl Fake {
    /// Verifies the caller; whether the library answers; notes the request when it does.
    fn library<T: std::fmt::Debug>(&self, request: &Request<T>) -> Result<bool, Status> {
        self.verify(request)?;
        let mut seen = self.seen.lock().map_err(|_| Status::internal("poisoned"))?;
        if seen.library {
            seen.library_calls.push(format!("{:?}", request.get_ref()));
        }
        Ok(seen.library)
    }

    /// Like [`Fake::library`], for the RPCs only the library answers: UNIMPLEMENTED without
    /// it, as before it existed (the error-table tests rely on that).
    fn library_only<T: std::fmt::Debug>(&self, request: &Request<T>) -> Result<(), Status> {
        if self.library(request)? {
            Ok(())
        } else {
            Err(Status::unimplemented("not implemented"))
        }
    }

    fn verify<T>(&self, request: &Request<T>) -> Result<(), Status> {
        let caller = self.identity.caller(request)?;
        self.seen
            .lock()
            .map_err(|_| Status::internal("poisoned"))?
            .callers
            .push(caller);
        Ok(())
    }
}

/// Size of every track's progressive file.
pub const AUDIO_SIZE: u64 = 200_000;
/// Bytes per `ReadAudioRange` message, as player-svc sends them.
const CHUNK: usize = 64 * 1024;

/// The bytes `start..end` of every track's progressive file: a pattern that makes any
/// misplaced byte visible.
pub fn audio_bytes(start: u64, end: u64) -> Vec<u8> {
    (start..end).map(|i| (i % 251) as u8).collect()
}

/// The key the manifest gives the progressive file of `track` at `version` and `quality`.
pub fn blob_key(track: &str, version: &str, quality: &str) -> String {
    format!("tracks/{track}/{version}/{quality}/audio.ogg")
}

/// Media segments per rendition; each lasts [`SEGMENT_SECONDS`] except the last.
pub const SEGMENTS: u32 = 3;
/// Length of a full media segment.
pub const SEGMENT_SECONDS: i64 = 5;
/// The segmented MIME type.
pub const WEBM: &str = "audio/webm; codecs=\"opus\"";

/// The bytes of a segment (`None`: the init segment) of a quality: different per quality
/// and index, so a mixed-up segment shows.
pub fn segment_bytes(quality: i32, index: Option<u32>) -> Vec<u8> {
    let tag = index.map_or(255, |i| i as u8);
    let mut bytes = vec![quality as u8, tag];
    bytes.extend(std::iter::repeat_n(tag ^ 0x5a, 1000));
    bytes
}

fn rendition_segments() -> Vec<player::AudioSegment> {
    (0..SEGMENTS)
        .map(|index| player::AudioSegment {
            index,
            start_time: Some(prost_types::Duration {
                seconds: i64::from(index) * SEGMENT_SECONDS,
                nanos: 0,
            }),
            duration: Some(if index + 1 < SEGMENTS {
                prost_types::Duration {
                    seconds: SEGMENT_SECONDS,
                    nanos: 0,
                }
            } else {
                prost_types::Duration {
                    seconds: 2,
                    nanos: 500_000_000,
                }
            }),
            size_bytes: 1002,
        })
        .collect()
}

/// The track every test reads.
pub fn sample_track(id: &str) -> catalog::Track {
    catalog::Track {
        id: id.to_owned(),
        title: "Ascension".to_owned(),
        artists: vec![catalog::ArtistRef {
            id: "ar1".into(),
            name: "$uicideboy$".into(),
        }],
        album: Some(catalog::AlbumRef {
            id: "al1".into(),
            title: "Singularity".into(),
        }),
        duration: Some(prost_types::Duration {
            seconds: 215,
            nanos: 250_000_000,
        }),
        track_number: 3,
        disc_number: 1,
        genre: "Electronic".into(),
        year: 2009,
        cover: None,
        available_qualities: vec![
            catalog::AudioQuality::Low.into(),
            catalog::AudioQuality::Normal.into(),
        ],
        create_time: Some(prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        }),
        update_time: None,
        content_hash: String::new(),
        renditions: Vec::new(),
    }
}

/// [`sample_track`], with a cover when its id is `cover-<hex digit>...`: the image whose id
/// is that digit 64 times.
pub fn covered_track(id: &str) -> catalog::Track {
    let digit = id
        .strip_prefix("cover-")
        .and_then(|rest| rest.chars().next())
        .filter(char::is_ascii_hexdigit);
    catalog::Track {
        cover: digit.map(|d| tunemesh_proto::common::v1::Image {
            id: d.to_string().repeat(64),
            media_type: "image/png".into(),
            ..Default::default()
        }),
        ..sample_track(id)
    }
}

/// `GetTrack` answers by id: `missing` → NOT_FOUND, `down` → UNAVAILABLE, `slow` → late.
/// `BatchGetTracks`, `BatchGetAlbums` and `BatchGetArtists` know every id except those
/// starting with `missing`, with covers as [`covered_track`] gives them; `GetArtist` every
/// artist but `missing`.
#[tonic::async_trait]
impl CatalogService for Fake {
    async fn get_track(
        &self,
        request: Request<catalog::GetTrackRequest>,
    ) -> Result<Response<catalog::GetTrackResponse>, Status> {
        self.verify(&request)?;
        let id = request.into_inner().track_id;
        match id.as_str() {
            "missing" => Err(Status::not_found("Track missing not found")),
            "down" => Err(Status::unavailable("catalog store at 10.0.0.7 unreachable")),
            "broken" => Err(Status::internal("secret detail")),
            _ => Ok(Response::new(catalog::GetTrackResponse {
                track: Some(covered_track(&id)),
            })),
        }
    }

    async fn list_tracks(
        &self,
        request: Request<catalog::ListTracksRequest>,
    ) -> Result<Response<catalog::ListTracksResponse>, Status> {
        if self.library(&request)? {
            return fake_library::list_tracks(request.into_inner()).map(Response::new);
        }
        let request = request.into_inner();
        let next = if request.page_token.is_empty() {
            "p2"
        } else {
            ""
        };
        self.seen
            .lock()
            .map_err(|_| Status::internal("poisoned"))?
            .list_tracks = Some(request);
        Ok(Response::new(catalog::ListTracksResponse {
            tracks: vec![sample_track("t1"), sample_track("t2")],
            next_page_token: next.to_owned(),
            total_size: 3,
        }))
    }

    async fn batch_get_tracks(
        &self,
        request: Request<catalog::BatchGetTracksRequest>,
    ) -> Result<Response<catalog::BatchGetTracksResponse>, Status> {
        if self.library(&request)? {
            let ids = request.into_inner().track_ids;
            let tracks = ids.iter().filter_map(|id| fake_library::get_track(id));
            return Ok(Response::new(catalog::BatchGetTracksResponse {
                tracks: tracks.collect(),
                ..Default::default()
            }));
        }
        let (missing, found): (Vec<String>, Vec<String>) = request
            .into_inner()
            .track_ids
            .into_iter()
            .partition(|id| id.starts_with("missing"));
        Ok(Response::new(catalog::BatchGetTracksResponse {
            tracks: found.iter().map(|id| covered_track(id)).collect(),
            missing_track_ids: missing,
        }))
    }

    async fn batch_get_albums(
        &self,
        request: Request<catalog::BatchGetAlbumsRequest>,
    ) -> Result<Response<catalog::BatchGetAlbumsResponse>, Status> {
        if self.library(&request)? {
            let ids = request.into_inner().album_ids;
            let albums = ids.iter().filter_map(|id| fake_library::get_album(id).ok());
            return Ok(Response::new(catalog::BatchGetAlbumsResponse {
                albums: albums.collect(),
                ..Default::default()
            }));
        }
        let (missing, found): (Vec<String>, Vec<String>) = request
            .into_inner()
            .album_ids
            .into_iter()
            .partition(|id| id.starts_with("missing"));
        let album = |id: String| catalog::Album {
            cover: covered_track(&id).cover,
            title: format!("Album {id}"),
            id,
            ..Default::default()
        };
        Ok(Response::new(catalog::BatchGetAlbumsResponse {
            albums: found.into_iter().map(album).collect(),
            missing_album_ids: missing,
        }))
    }

    async fn get_artist(
        &self,
        request: Request<catalog::GetArtistRequest>,
    ) -> Result<Response<catalog::GetArtistResponse>, Status> {
        if self.library(&request)? {
            let artist = fake_library::get_artist(&request.into_inner().artist_id)?;
            return Ok(Response::new(catalog::GetArtistResponse {
                artist: Some(artist),
            }));
        }
        let id = request.into_inner().artist_id;
        if id == "missing" {
            return Err(Status::not_found("artist missing not found"));
        }
        Ok(Response::new(catalog::GetArtistResponse {
            artist: Some(catalog::Artist {
                id,
                name: "(G)I-DLE".into(),
                sort_name: "G I-DLE".into(),
                genres: vec!["K-pop".into()],
                album_count: 2,
                track_count: 20,
                ..Default::default()
            }),
        }))
    }

    /// Every artist but ids starting with `missing`, named after its id (the library's, in
    /// the library tests).
    async fn batch_get_artists(
        &self,
        request: Request<catalog::BatchGetArtistsRequest>,
    ) -> Result<Response<catalog::BatchGetArtistsResponse>, Status> {
        if self.library(&request)? {
            let ids = request.into_inner().artist_ids;
            let artists = ids
                .iter()
                .filter_map(|id| fake_library::get_artist(id).ok());
            return Ok(Response::new(catalog::BatchGetArtistsResponse {
                artists: artists.collect(),
                ..Default::default()
            }));
        }
        let (missing, found): (Vec<String>, Vec<String>) = request
            .into_inner()
            .artist_ids
            .into_iter()
            .partition(|id| id.starts_with("missing"));
        let artist = |id: String| catalog::Artist {
            name: format!("Artist {id}"),
            album_count: 1,
            id,
            ..Default::default()
        };
        Ok(Response::new(catalog::BatchGetArtistsResponse {
            artists: found.into_iter().map(artist).collect(),
            missing_artist_ids: missing,
        }))
    }

    async fn get_image(
        &self,
        request: Request<catalog::GetImageRequest>,
    ) -> Result<Response<catalog::GetImageResponse>, Status> {
        self.verify(&request)?;
        let id = request.into_inner().image_id;
        let mut seen = self.seen.lock().map_err(|_| Status::internal("poisoned"))?;
        seen.image_fetches += 1;
        let data = seen.images.get(&id).cloned();
        let data = data.ok_or_else(|| Status::not_found(format!("image not found: {id}")))?;
        Ok(Response::new(catalog::GetImageResponse {
            media_type: if data.starts_with(b"\x89PNG") {
                "image/png"
            } else {
                "image/jpeg"
            }
            .into(),
            data: data.into(),
        }))
    }

    async fn get_album(
        &self,
        request: Request<catalog::GetAlbumRequest>,
    ) -> Result<Response<catalog::GetAlbumResponse>, Status> {
        self.library_only(&request)?;
        let album = fake_library::get_album(&request.into_inner().album_id)?;
        Ok(Response::new(catalog::GetAlbumResponse {
            album: Some(album),
        }))
    }

    async fn list_albums(
        &self,
        request: Request<catalog::ListAlbumsRequest>,
    ) -> Result<Response<catalog::ListAlbumsResponse>, Status> {
        self.library_only(&request)?;
        Ok(Response::new(fake_library::list_albums(
            request.into_inner(),
        )))
    }

    async fn list_artists(
        &self,
        request: Request<catalog::ListArtistsRequest>,
    ) -> Result<Response<catalog::ListArtistsResponse>, Status> {
        self.library_only(&request)?;
        Ok(Response::new(fake_library::list_artists(
            request.into_inner(),
        )))
    }

    async fn sample_tracks(
        &self,
        request: Request<catalog::SampleTracksRequest>,
    ) -> Result<Response<catalog::SampleTracksResponse>, Status> {
        self.library_only(&request)?;
        Ok(Response::new(fake_library::sample_tracks(
            request.into_inner(),
        )))
    }

    async fn sample_albums(
        &self,
        request: Request<catalog::SampleAlbumsRequest>,
    ) -> Result<Response<catalog::SampleAlbumsResponse>, Status> {
        self.library_only(&request)?;
        Ok(Response::new(fake_library::sample_albums(
            request.into_inner(),
        )))
    }

    async fn list_genres(
        &self,
        request: Request<catalog::ListGenresRequest>,
    ) -> Result<Response<catalog::ListGenresResponse>, Status> {
        self.library_only(&request)?;
        Ok(Response::new(fake_library::list_genres()))
    }
    // Everything else keeps the generated default: UNIMPLEMENTED.
}

#[tonic::async_trait]
impl PlayerService for Fake {
    async fn get_audio_manifest(
        &self,
        request: Request<player::GetAudioManifestRequest>,
    ) -> Result<Response<player::GetAudioManifestResponse>, Status> {
        self.verify(&request)?;
        let track_id = request.into_inner().track_id;
        if track_id == "missing" {
            return Err(Status::not_found("track missing not found"));
        }
        let version = {
            let mut seen = self.seen.lock().map_err(|_| Status::internal("poisoned"))?;
            seen.manifests += 1;
            seen.audio_version()
        };
        // Normal and high only: `low` is "not available".
        let renditions = [catalog::AudioQuality::Normal, catalog::AudioQuality::High]
            .map(|quality| player::AudioRendition {
                quality: quality.into(),
                codec: player::AudioCodec::Opus.into(),
                bitrate_bps: if quality == catalog::AudioQuality::High {
                    96_000
                } else {
                    64_000
                },
                sample_rate_hz: 48_000,
                channels: 2,
                segmented_mime_type: WEBM.into(),
                init_segment: segment_bytes(quality.into(), None),
                segments: rendition_segments(),
                progressive_mime_type: "audio/ogg; codecs=opus".into(),
                progressive_size_bytes: AUDIO_SIZE,
                // Where a gateway with `blobs` set reads it (the tests of `direct.rs` put it
                // there); one without reads through `ReadAudioRange`.
                progressive_blob: blob_key(&track_id, &version, quality.as_str_name()),
            })
            .to_vec();
        Ok(Response::new(player::GetAudioManifestResponse {
            manifest: Some(player::AudioManifest {
                track_id,
                duration: Some(prost_types::Duration {
                    seconds: 12,
                    nanos: 500_000_000,
                }),
                renditions,
                version,
            }),
        }))
    }

    async fn read_audio_range(
        &self,
        request: Request<player::ReadAudioRangeRequest>,
    ) -> Result<Response<tonic::codegen::BoxStream<player::ReadAudioRangeResponse>>, Status> {
        self.verify(&request)?;
        let version = {
            let mut seen = self.seen.lock().map_err(|_| Status::internal("poisoned"))?;
            seen.ranges += 1;
            seen.audio_version()
        };
        let request = request.into_inner();
        if request.offset >= AUDIO_SIZE {
            return Err(Status::out_of_range("offset past the end"));
        }
        let end = match request.length {
            0 => AUDIO_SIZE,
            n => (request.offset + n).min(AUDIO_SIZE),
        };
        let chunks: Vec<_> = (request.offset..end)
            .step_by(CHUNK)
            .map(|offset| {
                let stop = (offset + CHUNK as u64).min(end);
                Ok(player::ReadAudioRangeResponse {
                    offset,
                    data: audio_bytes(offset, stop).into(),
                    file_size_bytes: AUDIO_SIZE,
                    mime_type: "audio/ogg; codecs=opus".into(),
                    version: version.clone(),
                })
            })
            .collect();
        Ok(Response::new(Box::pin(futures::stream::iter(chunks))))
    }

    async fn stream_audio(
        &self,
        request: Request<player::StreamAudioRequest>,
    ) -> Result<Response<tonic::codegen::BoxStream<player::StreamAudioResponse>>, Status> {
        use player::stream_audio_response::Message;
        self.verify(&request)?;
        let request = request.into_inner();
        self.seen
            .lock()
            .map_err(|_| Status::internal("poisoned"))?
            .streams
            .push(request.clone());
        let track_id = request.track_id;
        if track_id == "missing" {
            return Err(Status::not_found("track missing not found"));
        }
        // A start position skips 1,000 bytes a second: the stream is the rest of the file.
        let skip = request
            .start_position
            .map_or(0, |p| u64::try_from(p.seconds).unwrap_or(0) * 1000);
        if skip >= AUDIO_SIZE {
            return Err(Status::out_of_range("start position past the end"));
        }
        let total = AUDIO_SIZE - skip;
        let header = Message::Header(player::AudioStreamHeader {
            track_id,
            mime_type: "audio/ogg; codecs=opus".into(),
            total_bytes: total,
            ..Default::default()
        });
        let chunks = (skip..AUDIO_SIZE).step_by(CHUNK).map(|offset| {
            let stop = (offset + CHUNK as u64).min(AUDIO_SIZE);
            Message::Chunk(player::AudioChunk {
                byte_offset: offset - skip,
                data: audio_bytes(offset, stop).into(),
                media_time: None,
            })
        });
        let messages: Vec<_> = std::iter::once(header)
            .chain(chunks)
            .map(|message| {
                Ok(player::StreamAudioResponse {
                    message: Some(message),
                })
            })
            .collect();
        Ok(Response::new(Box::pin(futures::stream::iter(messages))))
    }

    async fn get_audio_segment(
        &self,
        request: Request<player::GetAudioSegmentRequest>,
    ) -> Result<Response<player::GetAudioSegmentResponse>, Status> {
        use player::get_audio_segment_request::Segment;
        self.verify(&request)?;
        let request = request.into_inner();
        let data = match request.segment {
            Some(Segment::InitSegment(true)) => segment_bytes(request.quality, None),
            Some(Segment::MediaSegmentIndex(i)) if i < SEGMENTS => {
                segment_bytes(request.quality, Some(i))
            }
            Some(Segment::MediaSegmentIndex(_)) => {
                return Err(Status::out_of_range("segment index past the last segment"));
            }
            _ => return Err(Status::invalid_argument("segment is required")),
        };
        Ok(Response::new(player::GetAudioSegmentResponse {
            data: data.into(),
            mime_type: WEBM.into(),
            start_time: None,
            duration: None,
        }))
    }

    async fn report_playback(
        &self,
        request: Request<player::ReportPlaybackRequest>,
    ) -> Result<Response<player::ReportPlaybackResponse>, Status> {
        self.verify(&request)?;
        let request = request.into_inner();
        let played = request.played;
        let counted = played.is_some_and(|p| p.seconds >= 30);
        let mut seen = self.seen.lock().map_err(|_| Status::internal("poisoned"))?;
        seen.reports.push(request.clone());
        seen.report = Some(request);
        Ok(Response::new(player::ReportPlaybackResponse {
            play_counted: counted,
            played,
        }))
    }
}

/// The running fake.
#[derive(Debug)]
pub struct Upstream {
    /// What it saw.
    pub seen: Arc<Mutex<Seen>>,
    shutdown: CancellationToken,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Starts the fake and registers it as `service` in `registry`.
pub async fn start(
    registry: &EmbeddedRegistry,
    service: &str,
    identity: MeshIdentity,
    ca: &EmbeddedCa,
) -> anyhow::Result<Upstream> {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let fake = Fake {
        identity: identity.verifier("player"),
        seen: seen.clone(),
    };
    let shutdown = CancellationToken::new();
    let routes = Routes::new(CatalogServiceServer::new(fake.clone()))
        .add_service(PlayerServiceServer::new(fake));
    tunemesh_testkit::mesh::serve_as(registry, service, ca, routes, shutdown.clone()).await?;
    Ok(Upstream { seen, shutdown })
}
