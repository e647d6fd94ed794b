//! Hostile: paths (filled in by its fix).
