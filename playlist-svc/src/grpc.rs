//! Thin gRPC adapters: each method turns a request into a call on the domain and the result
//! into a response. Until a method is written, tonic's default answers UNIMPLEMENTED.

use tunemesh_proto::playlist::v1::playlist_service_server::PlaylistService;
use tunemesh_proto::tonic;

/// `playlist.v1.PlaylistService`; every RPC answers UNIMPLEMENTED until its behaviour lands.
#[derive(Debug, Clone, Default)]
pub struct PlaylistApi;

#[tonic::async_trait]
impl PlaylistService for PlaylistApi {}
