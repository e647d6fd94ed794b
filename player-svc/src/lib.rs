//! player-svc: the catalogue, media ingest and transcoding, chunked audio streaming and play reports.
//!
//! # Layout
//! - [`settings`]: the `[player]` settings; [`error`]: the service's error codes.
//! - [`app`]: builds the service: stores, blobs, gRPC server, background tasks.
//! - [`grpc`]: thin adapters from the generated server traits.
//! - [`catalog`]: catalogue reads (paging, batches); [`store`]: the store port and adapters.
//! - [`ingest`], [`library`]: files to tracks; [`media`]: the transcoder; [`workers`]: the
//!   niced thread pool it runs on.
//! - [`stream`], [`seek`]: audio delivery from [`blobs`]; [`covers`]: cover images in them.
//! - [`playback`]: play sessions and their events; [`play_budget`]: counted play time per
//!   user, bounded by real time.
//! - [`convert`], [`ids`]: contract messages and stable ids.
//! - [`upload`]: the client of `tunemesh ingest DIR`.

pub mod app;
pub mod blobs;
pub mod catalog;
pub mod convert;
pub mod covers;
pub mod error;
pub mod grpc;
pub mod ids;
pub mod ingest;
pub mod library;
pub mod media;
pub mod play_budget;
pub mod playable;
pub mod playback;
pub mod seek;
pub mod settings;
pub mod store;
pub mod stream;
pub mod upload;
pub mod workers;

pub use app::build;
pub use settings::PlayerSettings;

/// The service's name in discovery.
pub const SERVICE_NAME: &str = "player";
