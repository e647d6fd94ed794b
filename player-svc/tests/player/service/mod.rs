//! player-svc through its gRPC API on port 0: real music files ingested, listed, streamed
//! and reported, on the embedded stores (and JetStream for play events).

mod images;
mod ingest;
mod library;
mod past_plays;
mod playback;
mod streaming;
