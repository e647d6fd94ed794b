//! The gateway's tests, one binary: each test runs its own gateway on port 0 against its own
//! PostgreSQL database, a fake player-svc, the real playlist-svc and stand-ins for search and
//! reco, all reached through a real mesh.

mod accounts_contract;
mod accounts_migrate;
mod audio;
mod auth;
mod catalog;
mod direct;
mod discover;
mod edge;
mod fake_library;
mod grpc;
mod grpc_web;
mod history;
mod images;
mod made_for_you;
mod media;
mod playlist_covers;
mod playlists;
mod proxies;
mod services;
mod sessions;
mod subsonic;
mod subsonic_auth;
mod subsonic_browse;
mod subsonic_lists;
mod subsonic_media;
mod subsonic_playlists;
mod subsonic_plays;
mod subsonic_similar;
mod subsonic_stars;
mod subsonic_support;
mod subsonic_token;
mod support;
mod upstream;
