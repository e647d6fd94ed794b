//! player-svc's integration tests, one binary (each test binary is another full link):
//! the service through its gRPC API (`service`), the media pipeline on real music (`media`),
//! the store contract (`store`), the blob store contract (`blobs`; its S3 half needs the `s3`
//! feature: `cargo nextest run -p tunemesh-player --features s3 --test player blobs::`), and
//! streaming under stalled listeners (`backpressure`, `flow_control`). `support` holds what
//! they share.

mod backpressure;
mod blobs;
mod flow_control;
mod media;
mod service;
mod store;
mod support;
