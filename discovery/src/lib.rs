//! service registration and discovery, and the balanced resilient mesh channel
