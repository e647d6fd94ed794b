//! Attacks on `tunemesh up` with default settings, each asserting what the victims still get:
//! one file per attack surface (issue 13). Every test here fails on the code before its fix.

mod accounts;
mod availability;
mod listener;
mod metrics;
mod paths;
mod plays;
mod secrets;
