//! Uploading a real file through `IngestService.UploadTrack`.

use sha2::{Digest, Sha256};
use tunemesh_proto::catalog::v1::{
    IngestResult, UploadTrackHeader, UploadTrackRequest, upload_track_request::Payload,
};

use super::player::Player;

/// Uploads `bytes` as `name` and returns the result.
pub async fn upload(player: &Player, name: &str, bytes: Vec<u8>) -> anyhow::Result<IngestResult> {
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let mut messages = vec![UploadTrackRequest {
        payload: Some(Payload::Header(UploadTrackHeader {
            file_name: name.to_owned(),
            size_bytes: bytes.len() as u64,
            sha256,
        })),
    }];
    messages.extend(bytes.chunks(256 * 1024).map(|c| UploadTrackRequest {
        payload: Some(Payload::Chunk(c.to_vec().into())),
    }));
    let request = player.admin(futures::stream::iter(messages));
    let response = player.ingest().upload_track(request).await?.into_inner();
    response.result.ok_or_else(|| anyhow::anyhow!("no result"))
}
