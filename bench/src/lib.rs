//! load generator and benchmark scenarios
