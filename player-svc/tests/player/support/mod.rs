//! What the test modules share: a player on port 0 and uploads through its API (`player`,
//! `upload`), the media tests' music and independent decoders (`media_music`, `media_check`),
//! and a private S3-compatible server for the `s3` feature's tests (`moto`).

pub mod media_check;
pub mod media_music;
#[cfg(feature = "s3")]
pub mod moto;
pub mod player;
pub mod upload;
