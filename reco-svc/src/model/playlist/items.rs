//! A playlist edit's writes: items joining (paired with the latest members, weighted by
//! [`pair_weight`]) and leaving (taking back exactly their recorded pairs), and a deletion
//! (every member leaves; the playlist is remembered).

use std::collections::{BTreeMap, HashMap};

use super::{DELETED_KEPT, PlaylistChange, PlaylistEdit, PlaylistState, clock, max, pair_weight};
use crate::model::{ModelParams, ms};
use crate::store::{Op, SetKey, Versioned, WriteBatch};

/// The writes of a playlist edit, planned from `state`; `None` once the playlist is deleted.
pub fn plan_playlist(
    edit: &PlaylistEdit,
    state: &PlaylistState,
    params: &ModelParams,
) -> Option<WriteBatch> {
    if state.deleted {
        return None;
    }
    let mut plan = Planner::new(edit, state, params);
    match &edit.change {
        PlaylistChange::Added(tracks) => tracks.iter().for_each(|t| plan.join(t)),
        PlaylistChange::Removed(tracks) => tracks.iter().for_each(|t| plan.leave(t)),
        PlaylistChange::Deleted => plan.delete(),
    }
    let mut ops = plan.ops;
    if !edit.owner_id.is_empty() {
        ops.push(Op::Trim {
            key: SetKey::Taste(edit.owner_id.clone()),
            keep: params.taste_size,
        });
        if !matches!(edit.change, PlaylistChange::Deleted) {
            ops.push(crate::model::taste_changed(&edit.owner_id));
        }
    }
    ops.push(clock(edit.at_ms));
    Some(WriteBatch {
        event_id: edit.event_id.clone(),
        guard: Some((Versioned::Playlist(edit.playlist_id.clone()), state.version)),
        ops,
    })
}

/// One edit's plan in the making, with the playlist's state as the plan leaves it.
struct Planner<'a> {
    edit: &'a PlaylistEdit,
    params: &'a ModelParams,
    ops: Vec<Op>,
    counts: HashMap<String, i64>,
    joined: HashMap<String, i64>,
    latest: Vec<(String, i64)>,
    pairs: HashMap<String, Vec<(String, f64)>>,
    size: usize,
    /// The next join time: after every member's, so the latest members stay the top.
    next_join: i64,
}

impl<'a> Planner<'a> {
    fn new(edit: &'a PlaylistEdit, state: &PlaylistState, params: &'a ModelParams) -> Self {
        let newest = state.latest.first().map_or(i64::MIN, |(_, at)| *at);
        Self {
            edit,
            params,
            ops: Vec::new(),
            counts: state.counts.clone(),
            joined: state.joined.clone(),
            latest: state.latest.clone(),
            pairs: state.pairs.clone(),
            size: state.size,
            next_join: edit.at_ms.max(newest.saturating_add(1)),
        }
    }

    fn id(&self) -> String {
        self.edit.playlist_id.clone()
    }

    fn count(&mut self, track: &str, delta: i64) -> i64 {
        let count = self.counts.entry(track.to_owned()).or_default();
        let before = *count;
        *count += delta;
        self.ops.push(Op::Count {
            key: SetKey::PlaylistItems(self.edit.playlist_id.clone()),
            member: track.to_owned(),
            delta,
        });
        before
    }

    /// An item of `track` was added; it joins when it was not a member.
    fn join(&mut self, track: &str) {
        if self.count(track, 1) != 0 {
            return;
        }
        self.size += 1;
        let at = self.next_join;
        self.next_join = at.saturating_add(1);
        let weight = pair_weight(self.size);
        let (id, keep) = (self.id(), self.params.related_size);
        // at is a time in ms, below 2^53
        self.ops
            .push(max(SetKey::PlaylistJoined(id.clone()), track, at as f64));
        let partners: Vec<String> = self
            .latest
            .iter()
            .take(self.params.playlist_window)
            .map(|(t, _)| t.clone())
            .collect();
        for partner in &partners {
            for (a, b) in [(track, partner.as_str()), (partner.as_str(), track)] {
                self.ops.push(Op::Add {
                    key: SetKey::Related(a.to_owned()),
                    member: b.to_owned(),
                    weight,
                });
                self.ops.push(max(
                    SetKey::PlaylistPairs(id.clone(), a.to_owned()),
                    b,
                    weight,
                ));
            }
            self.ops.push(Op::Trim {
                key: SetKey::Related(partner.clone()),
                keep,
            });
            if let Some(list) = self.pairs.get_mut(partner) {
                list.push((track.to_owned(), weight));
            }
        }
        self.ops.push(Op::Trim {
            key: SetKey::Related(track.to_owned()),
            keep,
        });
        self.pairs.insert(
            track.to_owned(),
            partners.into_iter().map(|p| (p, weight)).collect(),
        );
        if !self.edit.owner_id.is_empty() {
            self.ops.push(Op::Decay {
                key: SetKey::Taste(self.edit.owner_id.clone()),
                member: track.to_owned(),
                weight: self.params.playlist_weight,
                at_ms: at,
                half_life_ms: ms(self.params.taste_half_life),
            });
        }
        self.joined.insert(track.to_owned(), at);
        self.latest.insert(0, (track.to_owned(), at));
    }

    /// An item of `track` was removed; it leaves when that was its last item.
    fn leave(&mut self, track: &str) {
        if self.count(track, -1) != 1 {
            return;
        }
        self.size = self.size.saturating_sub(1);
        let id = self.id();
        self.ops.push(Op::Remove {
            key: SetKey::PlaylistJoined(id.clone()),
            member: track.to_owned(),
        });
        for (partner, weight) in self.pairs.remove(track).unwrap_or_default() {
            for (a, b) in [(track, partner.as_str()), (partner.as_str(), track)] {
                self.ops.push(Op::Add {
                    key: SetKey::Related(a.to_owned()),
                    member: b.to_owned(),
                    weight: -weight,
                });
            }
            self.ops.push(Op::Remove {
                key: SetKey::PlaylistPairs(id.clone(), partner.clone()),
                member: track.to_owned(),
            });
            if let Some(list) = self.pairs.get_mut(&partner) {
                list.retain(|(t, _)| t != track);
            }
        }
        self.ops.push(Op::Delete {
            key: SetKey::PlaylistPairs(id, track.to_owned()),
        });
        self.take_back_taste(track);
        self.latest.retain(|(t, _)| t != track);
    }

    /// The playlist was deleted: every member leaves, and the playlist is remembered.
    fn delete(&mut self) {
        let id = self.id();
        // Sorted, so a plan is the same on every replica and every retry.
        let members: BTreeMap<String, i64> = self.joined.clone().into_iter().collect();
        for track in members.keys() {
            // Each pair is on both members' records: subtracting one direction per record
            // takes both back.
            for (partner, weight) in self.pairs.remove(track).unwrap_or_default() {
                self.ops.push(Op::Add {
                    key: SetKey::Related(track.clone()),
                    member: partner,
                    weight: -weight,
                });
            }
            self.ops.push(Op::Delete {
                key: SetKey::PlaylistPairs(id.clone(), track.clone()),
            });
            self.take_back_taste(track);
        }
        self.ops.push(Op::Delete {
            key: SetKey::PlaylistItems(id.clone()),
        });
        self.ops.push(Op::Delete {
            key: SetKey::PlaylistJoined(id.clone()),
        });
        // event times in ms stay below 2^53
        self.ops
            .push(max(SetKey::DeletedPlaylists, &id, self.edit.at_ms as f64));
        self.ops.push(Op::Trim {
            key: SetKey::DeletedPlaylists,
            keep: DELETED_KEPT,
        });
    }

    fn take_back_taste(&mut self, track: &str) {
        let Some(at_ms) = self.joined.remove(track) else {
            return;
        };
        if self.edit.owner_id.is_empty() {
            return;
        }
        self.ops.push(Op::TakeBack {
            key: SetKey::Taste(self.edit.owner_id.clone()),
            member: track.to_owned(),
            weight: self.params.playlist_weight,
            at_ms,
            half_life_ms: ms(self.params.taste_half_life),
        });
    }
}
