//! player-svc
