//! Unique names, so tests sharing one server never see each other's keys, streams or services.

use uuid::Uuid;

/// Longest label kept in a prefix; names stay readable in server listings and logs.
const MAX_LABEL_LEN: usize = 32;

/// A name unique to this call, e.g. `t3f9a1c2b4d_play_events` for label `play events`.
///
/// Only `a-z`, `0-9`, `_` and `-` appear, so the result is valid as a Redis key prefix, a NATS
/// stream name, a NATS subject token and a Consul service name. It starts with a letter and
/// carries 40 random bits, so concurrent runs on shared servers do not collide.
pub fn unique_prefix(label: &str) -> String {
    let random = Uuid::new_v4().simple().to_string();
    let label = sanitise(label);
    if label.is_empty() {
        format!("t{}", &random[..10])
    } else {
        format!("t{}_{label}", &random[..10])
    }
}

/// Lowercases the label and replaces anything outside `a-z0-9_-` with `_`.
fn sanitise(label: &str) -> String {
    label
        .chars()
        .take(MAX_LABEL_LEN)
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '_' | '-') => c,
            _ => '_',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_is_sanitised_for_every_server() {
        let prefix = unique_prefix("Play.Events > *ü");
        let (head, label) = prefix.split_once('_').unwrap_or_default();
        assert_eq!(head.len(), 11);
        assert_eq!(label, "play_events_____");
    }

    #[test]
    fn empty_label_still_gives_a_valid_name() {
        let prefix = unique_prefix("");
        assert_eq!(prefix.len(), 11);
        assert!(prefix.starts_with('t'));
    }

    #[test]
    fn long_labels_are_truncated() {
        let prefix = unique_prefix(&"x".repeat(100));
        assert_eq!(prefix.len(), 11 + 1 + MAX_LABEL_LEN);
    }
}
