//! The JSON shapes of the REST API, with their OpenAPI schemas and their conversions from the
//! protobuf messages of the services behind.

pub mod auth;
pub mod catalog;
pub mod discover;
pub mod history;
pub mod media;
pub mod play_queue;
pub mod playback;
pub mod playlist;
pub mod subsonic;
pub mod upload;
