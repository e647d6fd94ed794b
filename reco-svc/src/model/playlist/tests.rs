use super::*;

fn edit(change: PlaylistChange) -> PlaylistEdit {
    PlaylistEdit {
        event_id: "e".into(),
        playlist_id: "p".into(),
        owner_id: "owner".into(),
        at_ms: 1_000,
        change,
    }
}

fn tracks(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|t| (*t).to_owned()).collect()
}

/// The `Related` writes of a batch: (track, other, weight).
fn related(batch: &WriteBatch) -> Vec<(String, String, f64)> {
    batch
        .ops
        .iter()
        .filter_map(|op| match op {
            Op::Add {
                key: SetKey::Related(of),
                member,
                weight,
            } => Some((of.clone(), member.clone(), *weight)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_pair_weighs_less_in_a_bigger_playlist() {
    assert_eq!(pair_weight(2), 1.0);
    assert_eq!(pair_weight(4), 0.5);
    assert!((pair_weight(1024) - 0.1).abs() < 1e-12);
    assert_eq!(pair_weight(0), 1.0);
}

#[test]
fn a_new_track_pairs_with_the_latest_members_only() {
    let params = ModelParams {
        playlist_window: 2,
        ..ModelParams::default()
    };
    let state = PlaylistState {
        size: 3,
        latest: vec![("c".into(), 30), ("b".into(), 20), ("a".into(), 10)],
        counts: HashMap::from([("c".into(), 1), ("b".into(), 1), ("a".into(), 1)]),
        ..PlaylistState::default()
    };
    let batch = plan_playlist(
        &edit(PlaylistChange::Added(tracks(&["x"]))),
        &state,
        &params,
    )
    .expect("a live playlist");
    let pairs = related(&batch);
    assert_eq!(pairs.len(), 4);
    assert!(pairs.iter().all(|(_, _, w)| *w == pair_weight(4)));
    let partners: HashSet<&str> = pairs
        .iter()
        .filter(|(of, _, _)| of == "x")
        .map(|(_, m, _)| m.as_str())
        .collect();
    assert_eq!(partners, HashSet::from(["c", "b"]));
    // The join time comes after every member's, even for an event stamped earlier.
    assert!(batch.ops.contains(&Op::Max {
        key: SetKey::PlaylistJoined("p".into()),
        member: "x".into(),
        score: 1_000.0,
    }));
    assert_eq!(
        batch.guard,
        Some((Versioned::Playlist("p".into()), state.version))
    );
}

#[test]
fn a_removal_takes_back_exactly_the_recorded_pairs_and_taste() {
    let params = ModelParams::default();
    let state = PlaylistState {
        size: 3,
        counts: HashMap::from([("x".into(), 1)]),
        joined: HashMap::from([("x".into(), 777)]),
        pairs: HashMap::from([("x".into(), vec![("a".into(), 0.7), ("b".into(), 0.4)])]),
        ..PlaylistState::default()
    };
    let batch = plan_playlist(
        &edit(PlaylistChange::Removed(tracks(&["x"]))),
        &state,
        &params,
    )
    .expect("a live playlist");
    let mut pairs = related(&batch);
    pairs.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let expected = [
        ("a", "x", -0.7),
        ("b", "x", -0.4),
        ("x", "a", -0.7),
        ("x", "b", -0.4),
    ];
    let expected: Vec<(String, String, f64)> = expected
        .iter()
        .map(|(a, b, w)| ((*a).to_owned(), (*b).to_owned(), *w))
        .collect();
    assert_eq!(pairs, expected);
    assert!(batch.ops.iter().any(|op| matches!(
        op,
        Op::TakeBack { key: SetKey::Taste(owner), member, at_ms: 777, .. }
            if owner == "owner" && member == "x"
    )));
}

#[test]
fn a_removal_before_its_add_moves_only_the_count() {
    let params = ModelParams::default();
    let removed = plan_playlist(
        &edit(PlaylistChange::Removed(tracks(&["x"]))),
        &PlaylistState::default(),
        &params,
    )
    .expect("a live playlist");
    assert!(related(&removed).is_empty());
    assert!(
        !removed
            .ops
            .iter()
            .any(|op| matches!(op, Op::TakeBack { .. }))
    );
    let late_add = PlaylistState {
        counts: HashMap::from([("x".into(), -1)]),
        ..PlaylistState::default()
    };
    let added = plan_playlist(
        &edit(PlaylistChange::Added(tracks(&["x"]))),
        &late_add,
        &params,
    )
    .expect("a live playlist");
    assert!(!added.ops.iter().any(|op| matches!(op, Op::Decay { .. })));
}

#[test]
fn a_second_item_of_a_track_forms_no_new_pairs() {
    let state = PlaylistState {
        size: 2,
        counts: HashMap::from([("x".into(), 1), ("a".into(), 1)]),
        latest: vec![("x".into(), 2), ("a".into(), 1)],
        ..PlaylistState::default()
    };
    let batch = plan_playlist(
        &edit(PlaylistChange::Added(tracks(&["x"]))),
        &state,
        &ModelParams::default(),
    )
    .expect("a live playlist");
    assert!(related(&batch).is_empty());
}

#[test]
fn a_deleted_playlist_ignores_late_events() {
    let state = PlaylistState {
        deleted: true,
        ..PlaylistState::default()
    };
    let late = edit(PlaylistChange::Added(tracks(&["x"])));
    assert_eq!(plan_playlist(&late, &state, &ModelParams::default()), None);
}

#[test]
fn an_unlike_takes_back_the_like_at_its_own_time() {
    let change = LikeChange {
        event_id: "e".into(),
        user_id: "u".into(),
        track_ids: tracks(&["t", "never-liked"]),
        liked: false,
        at_ms: 9_000,
    };
    let state = LikeState {
        version: 4,
        counts: HashMap::from([("t".into(), 1)]),
        liked_at: HashMap::from([("t".into(), 5_000)]),
    };
    let batch = plan_likes(&change, &state, &ModelParams::default());
    let taken: Vec<(&str, i64)> = batch
        .ops
        .iter()
        .filter_map(|op| match op {
            Op::TakeBack { member, at_ms, .. } => Some((member.as_str(), *at_ms)),
            _ => None,
        })
        .collect();
    assert_eq!(taken, [("t", 5_000)]);
    assert_eq!(batch.guard, Some((Versioned::Listener("u".into()), 4)));
}

#[test]
fn hostile_events_carry_no_signal() {
    let too_many = LikedTracksChanged {
        user_id: "u".into(),
        track_ids: vec!["t".into(); MAX_EVENT_TRACKS + 1],
        liked: true,
        ..LikedTracksChanged::default()
    };
    assert_eq!(LikeChange::from_event(&too_many, "e", 0), None);
    let bad_ids = LikedTracksChanged {
        user_id: "u".into(),
        track_ids: vec![
            "../etc".into(),
            "a/b".into(),
            String::new(),
            "ok".into(),
            "ok".into(),
        ],
        liked: true,
        ..LikedTracksChanged::default()
    };
    let change = LikeChange::from_event(&bad_ids, "e", 0).expect("one valid track");
    assert_eq!(change.track_ids, ["ok"]);
    let no_playlist = PlaylistChanged {
        kind: PlaylistChangeKind::ItemsAdded.into(),
        track_ids: tracks(&["t"]),
        ..PlaylistChanged::default()
    };
    assert_eq!(PlaylistEdit::from_event(&no_playlist, "e", 0), None);
    let moved = PlaylistChanged {
        playlist_id: "p".into(),
        kind: PlaylistChangeKind::ItemsMoved.into(),
        ..PlaylistChanged::default()
    };
    assert_eq!(PlaylistEdit::from_event(&moved, "e", 0), None);
}
