//! whole-mesh tests
