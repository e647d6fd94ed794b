//! search-svc
