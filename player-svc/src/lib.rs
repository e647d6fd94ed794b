//! player-svc: the catalogue, media ingest and transcoding, chunked audio streaming and play reports.
//!
//! # Layout
//! - [`settings`]: the `[player]` settings; [`error`]: the service's error codes.
//! - `app`: builds the service ([`build`]): stores, blobs, gRPC server, background tasks.
//! - `service`: the domain trait `Playback` (audio and play reports) and its
//!   implementation; `grpc`: thin adapters from the generated server traits.
//! - [`catalog`]: catalogue reads (paging, batches); [`listings`]: listings by position,
//!   samples, genres; [`store`]: the store ports and adapters.
//! - `ingest`, `library`: files to tracks; [`media`]: the transcoder (the `tunemesh-media` crate); `workers`: the niced
//!   thread pool it runs on.
//! - `delivery`, [`seek`]: audio delivery from `blobs`; `covers`: cover images in them; `track_cache`: the manifests of the
//!   tracks being played, kept in memory.
//! - `play_sessions`: play sessions and their events; `play_budget`: counted play time per
//!   user, bounded by real time; `past_plays`: plays reported after they happened, checked
//!   against `listening`, when each user was listening to a counted play.
//! - `convert`, [`ids`]: contract messages and stable ids.
//! - [`upload`]: the client of `tunemesh ingest DIR`; [`bulk`]: catalogue rows added in bulk
//!   over audio already stored (the catalogue-size benchmark).
//!
//! Modules without a link are private. The public ones are what other crates use: the
//! binary (`build`, settings, `upload`, the PostgreSQL migrations in `store`), the benches
//! (`bulk`, `store`)
//! and fuzz targets (`media`, `ids`, `seek`, `catalog`'s page tokens) and the store contract
//! tests. What only the tests use is in `testsuite`, behind the feature of that name.

#![warn(missing_docs, unreachable_pub)]

mod app;
mod blobs;
pub mod bulk;
pub mod catalog;
mod convert;
mod covers;
mod delivery;
pub mod error;
mod grpc;
pub mod ids;
mod ingest;
mod library;
mod library_status;
mod listening;
pub mod listings;
pub use tunemesh_media as media;
mod past_plays;
mod play_budget;
mod play_sessions;
pub mod seek;
mod service;
pub mod settings;
mod starts;
pub mod store;
#[cfg(feature = "testsuite")]
pub mod testsuite;
mod track_cache;
pub mod upload;
mod workers;

pub use app::build;
pub use settings::PlayerSettings;

/// The service's name in discovery.
pub const SERVICE_NAME: &str = "player";
