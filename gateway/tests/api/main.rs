//! The gateway's tests, one binary: each test runs its own gateway on port 0 against its own
//! PostgreSQL database and a fake player-svc reached through a real mesh.

mod accounts_contract;
mod audio;
mod auth;
mod catalog;
mod edge;
mod support;
mod upstream;
