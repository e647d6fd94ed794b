//! Hostile: accounts (filled in by its fix).
