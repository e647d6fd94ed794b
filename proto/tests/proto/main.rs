//! The stubs crate's integration tests, one binary: the generated stubs round-trip and
//! describe every service (`contracts`), and a server trait can be implemented one RPC at a
//! time (`default_stubs`).

mod contracts;
mod default_stubs;
