//! Rebuilding the catalogue model of a reopened index in one go (issue 17 item 2: at 1M tracks
//! a warm start spent 7.4 s restoring tracks one by one through [`Catalog::upsert_track`],
//! whose change tracking it then threw away).

use std::collections::HashMap;

use tunemesh_proto::catalog::v1::Track;

use super::{Catalog, Members};

impl Catalog {
    /// Puts back every stored track and its plays: the same catalogue as [`Catalog::restore`]
    /// called for each in order, built without change tracking, with the maps sized once and
    /// each album and artist id copied only when first seen.
    pub fn restore_all(&mut self, stored: Vec<(Box<Track>, u64)>) {
        self.tracks.reserve(stored.len());
        self.plays
            .reserve(stored.iter().filter(|(_, plays)| *plays > 0).count());
        let mut restored = false;
        for (track, plays) in stored {
            if track.id.is_empty() {
                continue;
            }
            restored = true;
            if self.tracks.contains_key(&track.id) {
                // A second state of a known track (not in an index this service wrote, where
                // keys are unique): the one-by-one path decides which state wins.
                self.restore_boxed(track, plays);
                continue;
            }
            if plays > 0 {
                self.plays.insert(track.id.clone(), plays);
            }
            self.link_quietly(&track);
            self.tracks.insert(track.id.clone(), track);
        }
        // `restore` leaves nothing to rewrite, whatever was marked before it.
        if restored {
            self.dirty.clear();
        }
    }

    /// [`Catalog::link`] for a track not linked yet, marking nothing to rewrite.
    fn link_quietly(&mut self, track: &Track) {
        if let Some(album) = track.album.as_ref().filter(|a| !a.id.is_empty()) {
            member_of(&mut self.albums, &album.id, &track.id);
        }
        for artist in track.artists.iter().filter(|a| !a.id.is_empty()) {
            member_of(&mut self.artists, &artist.id, &track.id);
        }
    }
}

/// Adds `track` to the members of `group`, copying `group`'s id only for a new group.
fn member_of(groups: &mut HashMap<String, Members>, group: &str, track: &str) {
    match groups.get_mut(group) {
        Some(members) => members.insert(track),
        None => {
            groups.insert(group.to_owned(), Members::one(track));
        }
    }
}

#[cfg(test)]
mod tests {
    use tunemesh_proto::catalog::v1::{AlbumRef, ArtistRef};
    use tunemesh_proto::common::v1::Image;
    use tunemesh_proto::prost_types::Timestamp;

    use super::super::Change;
    use super::*;

    /// A catalogue with shared albums and artists, duets, tracks without album or artist
    /// ids, an empty id, plays on some tracks, and ids stored twice (older and newer).
    fn stored() -> Vec<(Box<Track>, u64)> {
        let mut seed = 0x2545_f491_u64;
        let mut next = |n: u64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) % n
        };
        let mut stored = Vec::new();
        for i in 0..400_u64 {
            let id = if i % 97 == 96 {
                // Stored again: an older state (ignored) or a newer one (wins).
                format!("t{}", next(i))
            } else if i == 13 {
                String::new()
            } else {
                format!("t{i}")
            };
            let artist = |n: u64| ArtistRef {
                id: if n == 7 {
                    String::new()
                } else {
                    format!("r{n}")
                },
                name: format!("Artist {n}"),
            };
            let mut artists = vec![artist(next(40))];
            if next(4) == 0 {
                artists.push(artist(next(40)));
            }
            let album = next(60);
            let track = Track {
                id,
                title: format!("Title {i}"),
                artists,
                album: (album != 5).then(|| AlbumRef {
                    id: if album == 9 {
                        String::new()
                    } else {
                        format!("a{album}")
                    },
                    title: format!("Album {album}"),
                }),
                year: u32::try_from(1990 + next(30)).unwrap_or(0),
                genre: if next(3) == 0 {
                    String::new()
                } else {
                    "Rock".to_owned()
                },
                track_number: u32::try_from(next(12)).unwrap_or(0),
                cover: (next(2) == 0).then(|| Image {
                    id: format!("c{album}"),
                    ..Image::default()
                }),
                update_time: Some(Timestamp {
                    seconds: i64::try_from(next(1000)).unwrap_or(0),
                    nanos: 0,
                }),
                ..Track::default()
            };
            stored.push((Box::new(track), if next(3) == 0 { next(50) } else { 0 }));
        }
        stored
    }

    fn sorted(mut changes: Vec<Change>) -> Vec<String> {
        let mut out: Vec<String> = changes.drain(..).map(|c| format!("{c:?}")).collect();
        out.sort();
        out
    }

    #[test]
    fn a_bulk_restored_catalogue_equals_one_restored_track_by_track() {
        let mut one_by_one = Catalog::default();
        for (track, plays) in stored() {
            one_by_one.restore(*track, plays);
        }
        let mut bulk = Catalog::default();
        bulk.restore_all(stored());

        assert_eq!(bulk.track_count(), one_by_one.track_count());
        assert_eq!(bulk.tracks, one_by_one.tracks);
        assert_eq!(bulk.plays, one_by_one.plays);
        assert_eq!(bulk.albums, one_by_one.albums);
        assert_eq!(bulk.artists, one_by_one.artists);
        assert!(bulk.drain_changes().is_empty());
        assert!(one_by_one.drain_changes().is_empty());

        // Later changes produce the same documents: a moved track, a new one, plays.
        for catalog in [&mut one_by_one, &mut bulk] {
            let mut moved = Track::clone(&catalog.tracks["t3"]);
            moved.album = Some(AlbumRef {
                id: "a1".to_owned(),
                title: "Album 1".to_owned(),
            });
            moved.update_time = Some(Timestamp {
                seconds: 5_000,
                nanos: 0,
            });
            assert!(catalog.upsert_track(moved));
            let mut new = Track::clone(&catalog.tracks["t4"]);
            new.id = "t-new".to_owned();
            assert!(catalog.upsert_track(new));
            catalog.count_play("t5");
            catalog.count_play("unknown");
        }
        let changes = sorted(bulk.drain_changes());
        assert!(!changes.is_empty());
        assert_eq!(changes, sorted(one_by_one.drain_changes()));
    }

    #[test]
    fn restoring_nothing_keeps_what_was_marked_to_rewrite() {
        let mut catalog = Catalog::default();
        let (track, _) = stored().remove(0);
        catalog.upsert_track(*track);
        let marked = catalog.dirty.len();
        assert!(marked > 0);
        catalog.restore_all(Vec::new());
        assert_eq!(catalog.dirty.len(), marked);
    }
}
