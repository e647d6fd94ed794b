//! Cover images in the blob store: where ingest writes them, and `GetImage`'s read of one.
//! An image's id is the hex SHA-256 of its bytes, so the same picture is stored once however
//! many tracks carry it, and its bytes never change under an id.

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::blobs::Blobs;
use crate::error::PlayerError;
use crate::media::tags::sniff_media_type;

/// Length of an image id: a SHA-256 in lowercase hex.
pub(crate) const ID_LEN: usize = 64;

/// The id of the image `data`.
pub(crate) fn image_id(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Whether `id` is one this service issues. Checked before it becomes a blob path, so no
/// request can name another blob (`../`, `tracks/...`).
pub(crate) fn valid_id(id: &str) -> bool {
    id.len() == ID_LEN && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The blob path of the image `id`.
pub(crate) fn blob_path(id: &str) -> String {
    format!("covers/{id}")
}

/// Reads stored covers.
#[derive(Debug, Clone)]
pub(crate) struct Covers {
    blobs: Blobs,
    /// Largest image answered: a bigger one would not fit in one gRPC message.
    max_bytes: usize,
}

impl Covers {
    /// Covers in `blobs`, answering images of at most `max_bytes`.
    pub(crate) fn new(blobs: Blobs, max_bytes: usize) -> Self {
        Self { blobs, max_bytes }
    }

    /// The bytes and sniffed media type of the image `id`; INVALID_ARGUMENT for an id this
    /// service never issues, NOT_FOUND for an unknown one, RESOURCE_EXHAUSTED for an image
    /// too large for one message.
    pub(crate) async fn get(&self, id: &str) -> Result<(Bytes, &'static str), PlayerError> {
        if !valid_id(id) {
            return Err(PlayerError::invalid(
                "image_id",
                "must be 64 lowercase hexadecimal characters",
            ));
        }
        let data = self
            .blobs
            .get(&blob_path(id))
            .await
            .map_err(|e| PlayerError::Unavailable(e.into()))?
            .ok_or_else(|| PlayerError::not_found("image", id))?;
        if data.len() > self.max_bytes {
            return Err(PlayerError::ResourceExhausted(format!(
                "image {id} is {} bytes, over the message limit of {}",
                data.len(),
                self.max_bytes
            )));
        }
        let media_type = sniff_media_type(&data);
        Ok((data, media_type))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_hex_sha256_and_nothing_else_is_valid() {
        let id = image_id(b"cover");
        assert!(valid_id(&id), "{id}");
        for bad in [
            "",
            "../tracks",
            &id[..63],
            &id.to_uppercase(),
            &format!("{}/", &id[..63]),
        ] {
            assert!(!valid_id(bad), "{bad:?}");
        }
    }
}
