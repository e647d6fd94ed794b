//! The discovery crate's integration tests, one binary (each test binary is another full
//! link): the mesh channel against real tonic servers and Consul (`mesh`), its metrics
//! (`metrics`), and one registry contract run against both adapters (`registry_contract`).
//! `support` holds the in-process and child-process replicas and the harness they share.

mod mesh;
mod metrics;
mod registry_contract;
mod support;
