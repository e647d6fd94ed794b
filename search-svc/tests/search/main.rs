//! search-svc against real servers: the relevance suite on the real Chinook and faker
//! catalogues fed through JetStream, hostile queries, freshness, replay, restarts, popularity,
//! paging, public playlists.
//!
//! The data sets come from `bash scripts/testdata.sh`; tests fail with that hint without it.

mod contract;
mod feed;
mod playlists;
mod relevance;
mod restart;
mod support;
