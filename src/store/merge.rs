//! Merging one counter into another: totals, visitors and per-day rows are
//! summed, the first counter is gone, nothing is lost. Each backend writes
//! the merge as one admin change (`admin.rs`, `postgres/admin.rs`); this
//! module plans which merges a key rule asks for, as the schema upgrade
//! that gives every host one spelling does (and `migrate --dry-run`
//! reports), and words them for the log.

use super::original::KeyRule;

/// One counter to fold into another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merge {
    pub from: String,
    pub into: String,
}

/// The merges that make every key what `rule` makes of it: one per key
/// that changes, in key order. A key the rule refuses stays as it is (its
/// counts are kept, under its old spelling).
pub fn plan(keys: impl IntoIterator<Item = String>, rule: KeyRule) -> Vec<Merge> {
    let mut merges: Vec<Merge> = keys
        .into_iter()
        .filter_map(|from| rule(&from).filter(|into| *into != from).map(|into| Merge { from, into }))
        .collect();
    merges.sort_by(|a, b| a.from.cmp(&b.from));
    merges
}

/// The log line of a merge done; `joined`: `into` had a counter already
/// (else the counter only changed its key).
pub fn note(m: &Merge, joined: bool) -> String {
    if joined {
        format!("merged counter {:?} into {:?} (one host, one counter)", m.from, m.into)
    } else {
        format!("renamed counter {:?} to {:?} (one host, one counter)", m.from, m.into)
    }
}

/// What re-keying `keys` with `rule` would log, without writing: the lines
/// of [`note`], as the merges would run one after another.
pub fn preview(keys: Vec<String>, rule: KeyRule) -> Vec<String> {
    let mut present: std::collections::HashSet<String> = keys.iter().cloned().collect();
    plan(keys, rule)
        .into_iter()
        .map(|m| {
            let joined = !present.insert(m.into.clone());
            note(&m, joined)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_keys_that_change_are_planned_in_key_order() {
        let rule: KeyRule = |k| if k.starts_with('x') { None } else { Some(k.to_lowercase()) };
        let keys = ["b.example/A", "a.example/", "A.example/", "xB/"].map(String::from);
        let merges = plan(keys, rule);
        let pairs: Vec<(&str, &str)> = merges.iter().map(|m| (m.from.as_str(), m.into.as_str())).collect();
        assert_eq!(pairs, [("A.example/", "a.example/"), ("b.example/A", "b.example/a")]);
    }

    #[test]
    fn a_preview_tells_merges_from_renames() {
        let rule: KeyRule = |k| Some(k.to_lowercase());
        let keys = ["B/", "b/", "C/", "Cc/", "CC/"].map(String::from).to_vec();
        assert_eq!(
            preview(keys, rule),
            [
                note(&Merge { from: "B/".into(), into: "b/".into() }, true),
                note(&Merge { from: "C/".into(), into: "c/".into() }, false),
                note(&Merge { from: "CC/".into(), into: "cc/".into() }, false),
                note(&Merge { from: "Cc/".into(), into: "cc/".into() }, true),
            ]
        );
    }
}
