//! The track ids of an album or an artist, in order: a sorted vector while there are few, a
//! B-tree beyond.

use std::collections::BTreeSet;

/// Members kept in a sorted vector, at most: most albums and artists have a few tracks, and a
/// B-tree's node is ~290 bytes even for one (at 1M tracks, ~900,000 groups). Past it, inserts
/// into the middle of a vector would grow with the group, so a large one is a B-tree.
const FEW: usize = 32;

/// Track ids, sorted, each once.
#[derive(Debug, Clone)]
pub(super) enum Members {
    /// Up to [`FEW`].
    Few(Vec<String>),
    /// More (and stays one when it shrinks again).
    Many(BTreeSet<String>),
}

impl Default for Members {
    fn default() -> Self {
        Self::Few(Vec::new())
    }
}

impl PartialEq for Members {
    /// The same ids, whichever the form.
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Members {
    /// Just `id`.
    pub(super) fn one(id: &str) -> Self {
        Self::Few(vec![id.to_owned()])
    }

    /// Adds `id` (copied only when it is new).
    pub(super) fn insert(&mut self, id: &str) {
        match self {
            Self::Few(ids) => match ids.binary_search_by(|m| m.as_str().cmp(id)) {
                Ok(_) => {}
                Err(at) if ids.len() < FEW => ids.insert(at, id.to_owned()),
                Err(_) => {
                    let mut set: BTreeSet<String> = std::mem::take(ids).into_iter().collect();
                    set.insert(id.to_owned());
                    *self = Self::Many(set);
                }
            },
            Self::Many(set) => {
                if !set.contains(id) {
                    set.insert(id.to_owned());
                }
            }
        }
    }

    /// Removes `id` if it is there.
    pub(super) fn remove(&mut self, id: &str) {
        match self {
            Self::Few(ids) => {
                if let Ok(at) = ids.binary_search_by(|m| m.as_str().cmp(id)) {
                    ids.remove(at);
                }
            }
            Self::Many(set) => {
                set.remove(id);
            }
        }
    }

    /// True when there is none.
    pub(super) fn is_empty(&self) -> bool {
        match self {
            Self::Few(ids) => ids.is_empty(),
            Self::Many(set) => set.is_empty(),
        }
    }

    /// The ids in order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &String> {
        let (few, many) = match self {
            Self::Few(ids) => (Some(ids.iter()), None),
            Self::Many(set) => (None, Some(set.iter())),
        };
        few.into_iter().flatten().chain(many.into_iter().flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_stay_sorted_and_unique_across_both_forms() {
        let mut members = Members::default();
        let mut expected = BTreeSet::new();
        // Ids in a scrambled order, each twice, past the vector's size and back below it.
        for i in (0..3 * FEW).map(|i| (i * 37) % (3 * FEW)).chain(0..3 * FEW) {
            let id = format!("t{i:03}");
            members.insert(&id);
            expected.insert(id);
            assert!(members.iter().eq(expected.iter()));
        }
        assert!(matches!(members, Members::Many(_)));
        for i in (0..3 * FEW).filter(|i| i % 3 != 0) {
            let id = format!("t{i:03}");
            members.remove(&id);
            expected.remove(&id);
        }
        members.remove("absent");
        assert!(members.iter().eq(expected.iter()));
        assert_eq!(members, Members::Few(expected.iter().cloned().collect()));
        assert!(!members.is_empty());

        let mut few = Members::one("b");
        few.insert("a");
        few.insert("c");
        few.insert("b");
        few.remove("c");
        assert_eq!(few, Members::Few(vec!["a".to_owned(), "b".to_owned()]));
        few.remove("a");
        few.remove("b");
        assert!(few.is_empty());
    }
}
