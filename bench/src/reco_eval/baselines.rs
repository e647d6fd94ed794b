//! The yardsticks: hit ratio and NDCG, and the two baselines every model row is compared
//! with (popularity and batch item-kNN), computed from the same training ratings.

use std::collections::{HashMap, HashSet};

use super::movielens::Rating;

/// Each user's training items.
pub type Seen<'a> = HashMap<&'a str, HashSet<&'a str>>;

/// Hits and NDCG summed over users.
#[derive(Debug, Default, Clone)]
pub struct Score {
    hits: f64,
    ndcg: f64,
    users: usize,
}

impl Score {
    /// Counts one user's answer: a hit when `held_out` is in `ranked`, with NDCG's gain for
    /// its rank (one relevant item).
    pub fn add(&mut self, ranked: &[String], held_out: &str) {
        self.users += 1;
        if let Some(rank) = ranked.iter().position(|i| i == held_out) {
            self.hits += 1.0;
            // ranks are small
            self.ndcg += 1.0 / ((rank + 2) as f64).log2();
        }
    }

    /// Hit ratio: the share of users whose held-out item was recommended.
    pub fn hr(&self) -> f64 {
        // user counts are small
        self.hits / self.users.max(1) as f64
    }

    /// Mean NDCG.
    pub fn ndcg(&self) -> f64 {
        // user counts are small
        self.ndcg / self.users.max(1) as f64
    }

    /// Hits, as a whole number.
    pub fn hits(&self) -> usize {
        // a count of users
        self.hits as usize
    }
}

/// Each user's training items.
pub fn seen(train: &[Rating]) -> Seen<'_> {
    let mut seen: Seen<'_> = HashMap::new();
    for r in train {
        seen.entry(&r.user).or_default().insert(&r.item);
    }
    seen
}

/// Items by number of training ratings, most first (ties by id).
pub fn popular_items(train: &[Rating]) -> Vec<(String, f64)> {
    let mut counts: HashMap<&str, f64> = HashMap::new();
    for r in train {
        *counts.entry(&r.item).or_default() += 1.0;
    }
    let mut items: Vec<(String, f64)> =
        counts.into_iter().map(|(i, c)| (i.to_owned(), c)).collect();
    items.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    items
}

/// The `k` best-scored items `user` has not rated in training.
pub fn top_unseen<'a>(
    scored: impl Iterator<Item = (&'a str, f64)>,
    seen: &Seen<'_>,
    user: &str,
    k: usize,
) -> Vec<String> {
    let mine = seen.get(user);
    let mut list: Vec<(&str, f64)> = scored
        .filter(|(i, _)| !mine.is_some_and(|m| m.contains(i)))
        .collect();
    list.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    list.into_iter()
        .take(k)
        .map(|(i, _)| i.to_owned())
        .collect()
}

/// Batch item-kNN: cosine similarity of items over binary user vectors, each item keeping
/// its `neighbours` most similar; a user's score for an item sums its similarity to the
/// items the user rated. Scores for the users of `test`.
pub fn item_knn(
    train: &[Rating],
    seen: &Seen<'_>,
    test: &[(String, String)],
    neighbours: usize,
) -> HashMap<String, Vec<(String, f64)>> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut names: Vec<&str> = Vec::new();
    for r in train {
        index.entry(&r.item).or_insert_with(|| {
            names.push(&r.item);
            names.len() - 1
        });
    }
    let n = names.len();
    let mut co = vec![0f32; n * n];
    let mut count = vec![0f32; n];
    for items in seen.values() {
        let ids: Vec<usize> = items.iter().map(|i| index[i]).collect();
        for &a in &ids {
            count[a] += 1.0;
            for &b in &ids {
                if a != b {
                    co[a * n + b] += 1.0;
                }
            }
        }
    }
    let mut similar: Vec<Vec<(usize, f32)>> = Vec::with_capacity(n);
    for a in 0..n {
        let mut row: Vec<(usize, f32)> = (0..n)
            .filter(|&b| co[a * n + b] > 0.0)
            .map(|b| (b, co[a * n + b] / (count[a] * count[b]).sqrt()))
            .collect();
        row.sort_by(|x, y| y.1.total_cmp(&x.1));
        row.truncate(neighbours);
        similar.push(row);
    }
    let mut out = HashMap::new();
    for (user, _) in test {
        let mut scores = vec![0f64; n];
        for item in seen.get(user.as_str()).into_iter().flatten() {
            for &(b, s) in &similar[index[item]] {
                scores[b] += f64::from(s);
            }
        }
        let list = scores
            .into_iter()
            .enumerate()
            .filter(|(_, s)| *s > 0.0)
            .map(|(b, s)| (names[b].to_owned(), s))
            .collect();
        out.insert(user.clone(), list);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hit_at_the_top_scores_one_and_a_miss_nothing() {
        let mut score = Score::default();
        score.add(&["a".into(), "b".into()], "a");
        score.add(&["a".into(), "b".into()], "c");
        assert_eq!(score.hr(), 0.5);
        assert_eq!(score.ndcg(), 0.5);
        assert_eq!(score.hits(), 1);
    }
}
