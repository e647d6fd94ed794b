//! Checks that the generated server traits can be implemented one RPC at a time: a service
//! that implements nothing compiles and answers UNIMPLEMENTED, streaming RPCs included.

use tunemesh_proto::catalog::v1::GetTrackRequest;
use tunemesh_proto::catalog::v1::catalog_service_server::CatalogService;
use tunemesh_proto::player::v1::StreamAudioRequest;
use tunemesh_proto::player::v1::player_service_server::PlayerService;
use tunemesh_proto::tonic::{Code, Request};

/// A service with no RPC implemented yet.
#[derive(Debug)]
struct NothingYet;

impl CatalogService for NothingYet {}
impl PlayerService for NothingYet {}

#[tokio::test]
async fn an_unimplemented_unary_rpc_answers_unimplemented() {
    let status = NothingYet
        .get_track(Request::new(GetTrackRequest::default()))
        .await
        .err()
        .map(|status| status.code());
    assert_eq!(status, Some(Code::Unimplemented));
}

#[tokio::test]
async fn an_unimplemented_streaming_rpc_answers_unimplemented() {
    let status = NothingYet
        .stream_audio(Request::new(StreamAudioRequest::default()))
        .await
        .err()
        .map(|status| status.code());
    assert_eq!(status, Some(Code::Unimplemented));
}
