//! The listeners' state benchmark (`src/bin/listeners.rs`, issue 17 item 3): what reco-svc
//! keeps in Redis and playlist-svc keeps in PostgreSQL as the audience grows.
//!
//! - [`synth`]: listeners whose histories follow MovieLens-100K's distributions.
//! - [`redis_memory`]: Redis memory by key kind under one prefix.
//! - [`reco`]: grows reco-svc's state in steps and measures each size.
//! - [`playlists`]: grows playlist-svc's state in steps and measures each size.
//! - [`playlist_svc`]: playlist-svc's store and cache over a fresh database and prefix.
//! - [`latency`]: timed calls and their percentiles.
//! - [`explain`]: a cold read's buffers and time inside PostgreSQL.

pub mod explain;
pub mod latency;
pub mod playlist_svc;
pub mod playlists;
pub mod reco;
pub mod redis_memory;
pub mod synth;
