//! playlist-svc
