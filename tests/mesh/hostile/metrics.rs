//! Hostile: metrics (filled in by its fix).
