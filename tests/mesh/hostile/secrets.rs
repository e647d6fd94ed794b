//! Hostile: secrets (filled in by its fix).
