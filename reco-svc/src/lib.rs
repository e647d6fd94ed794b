//! reco-svc: recommendations that learn from plays, likes and playlists in near real time,
//! and each listener's listening history.
//!
//! # Layout
//! - [`settings`]: the `[reco]` settings.
//! - [`model`]: the model in plain Rust: what an event writes, decay, ranking.
//! - [`store`]: the model's state behind a port: Redis (production) and memory (embedded).
//! - [`feed`]: the durable consumers of play, catalogue and playlist events (likes, playlist
//!   edits) that update the model.
//! - [`service`]: the domain: `Recommend`, `Radio`, `SimilarTracks` and the listening
//!   history (`RecentlyPlayed`, `MostPlayedAlbums`, `TopTracks`) without tonic types.
//! - [`mix`]: the mixer: a daily mix per listener whose taste moved, stored as a generated
//!   playlist in playlist-svc.
//! - [`radio`]: the radio's page token (the station's recent tracks).
//! - [`error`]: the service's errors and their codes.
//! - `grpc`: the thin adapter from the generated server trait.
//! - `app`: builds the service: store, feed, mixer, gRPC server.
//!
//! Modules without a link are private. The public ones are what other crates use: the binary
//! (`build`, settings), the benches (`model`, `store`, `service`, `feed`), the fuzz targets
//! (`radio`'s page token), the store contract tests and the mixer's tests (`mix`).

#![warn(missing_docs, unreachable_pub)]

mod app;
pub mod error;
pub mod feed;
mod grpc;
pub mod mix;
pub mod model;
pub mod radio;
pub mod service;
pub mod settings;
pub mod store;

pub use app::build;
pub use settings::RecoSettings;

/// The service's name in discovery.
pub const SERVICE_NAME: &str = "reco";
