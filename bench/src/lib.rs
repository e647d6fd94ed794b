//! load generator and benchmark scenarios: one binary per benchmark in `src/bin/`, and the
//! helpers they share as modules of this library.

#![warn(missing_docs, unreachable_pub)]

pub mod catalogue;
pub mod copies;
pub mod cpu;
pub mod index;
pub mod listeners;
pub mod names;
pub mod nginx;
pub mod paced;
pub mod playback;
pub mod popularity;
pub mod reco_eval;
pub mod up;
