//! tunemesh: a music-streaming backend built as a mesh of small services. This crate is the one
//! binary that runs them: all in one process (`tunemesh up`) or one per process
//! (`tunemesh serve <service>`).
//!
//! # Layout
//! - [`cli`]: the command line.
//! - [`settings`]: the settings of every part, layered from defaults, file and environment.
//! - [`up`]: the whole mesh in one process on embedded adapters.
//! - [`serve`]: one service on production adapters.
//! - `services`: what the binary can run, in one table, added to a `runtime::process::Process`.
//! - [`cluster`]: every service as separate processes on one machine (`tunemesh cluster`).
//! - [`migrate`]: the services' PostgreSQL migrations, run by an operator (`tunemesh migrate`).
//!
//! `services` is private: `up` and `serve` are how the binary uses it.

#![warn(missing_docs, unreachable_pub)]

pub mod cli;
pub mod cluster;
pub mod migrate;
pub mod serve;
mod services;
pub mod settings;
pub mod up;

pub use settings::Settings;
pub use up::Up;
