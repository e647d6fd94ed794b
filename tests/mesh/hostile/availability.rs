//! Hostile: availability (filled in by its fix).
