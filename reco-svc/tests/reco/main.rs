//! reco-svc against real servers: the store contract on Redis and in memory, and the
//! service on port 0 fed through its own JetStream stream with Redis state.
//!
//! Needs `bash scripts/servers.sh` (Redis, NATS JetStream) and `source .servers/env`.

mod contract;
mod contract_plays;
mod contract_signals;
mod dedup;
mod embedded;
mod history;
mod history_feed;
mod playlists;
mod service;
mod support;
