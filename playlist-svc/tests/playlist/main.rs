//! playlist-svc's integration tests, one binary (each test binary is another full link): the
//! service through its gRPC API in both storage modes (`service`), the first tracks a cover
//! is derived from (`first_tracks`), generated "Made for you" playlists (`generated`), liked
//! albums and artists and play queues (`library`, `library_concurrency`), the events it
//! publishes (`events`), playlist durations and their backfill (`durations`), Redis and PostgreSQL outages (`outage`), the details backfill of
//! existing public playlists (`backfill`), and databases of the old migration runner under
//! the shared one (`migrate`), and what a compromised service cannot do with the callers'
//! assertions (`compromised`). `support` is the shared harness.

mod backfill;
mod compromised;
mod durations;
mod events;
mod first_tracks;
mod generated;
mod idempotency;
mod library;
mod library_concurrency;
mod migrate;
mod outage;
mod service;
mod support;
