//! Hostile: listener (filled in by its fix).
