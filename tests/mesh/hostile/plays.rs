//! Hostile: plays (filled in by its fix).
