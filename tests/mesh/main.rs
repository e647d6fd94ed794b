//! Whole-mesh tests: `tunemesh up` built in-process, and the real `tunemesh` binary.

mod cli;
mod cluster;
mod cluster_nats;
mod history;
mod hostile;
mod images;
mod made_for_you;
mod other_teams;
mod playlist_search;
mod subsonic;
mod subsonic_browse;
mod subsonic_media;
mod subsonic_offline;
mod support;
mod taste;
mod trace;
mod up;
mod uploads;
mod web_player;
