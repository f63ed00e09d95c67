//! Version vectors: for each origin, the highest sequence number held without a gap.

use crate::entry::Origin;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Origin → highest contiguous sequence number held (elided entries count as held).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionVector(BTreeMap<Origin, u64>);

impl VersionVector {
    /// An empty vector: holds nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Highest sequence held for `origin` (0 when nothing).
    pub fn get(&self, origin: &Origin) -> u64 {
        self.0.get(origin).copied().unwrap_or(0)
    }

    /// Set the value for `origin` exactly (0 removes it).
    pub fn set(&mut self, origin: Origin, seq: u64) {
        if seq == 0 {
            self.0.remove(&origin);
        } else {
            self.0.insert(origin, seq);
        }
    }

    /// Raise the value for `origin` to at least `seq`.
    pub fn raise(&mut self, origin: Origin, seq: u64) {
        let v = self.0.entry(origin).or_insert(0);
        if seq > *v {
            *v = seq;
        }
    }

    /// True when this vector holds at least as much as `other` for every origin.
    pub fn dominates(&self, other: &VersionVector) -> bool {
        other.0.iter().all(|(o, &s)| self.get(o) >= s)
    }

    /// Every (origin, seq) pair, in origin order.
    pub fn iter(&self) -> impl Iterator<Item = (&Origin, &u64)> {
        self.0.iter()
    }

    /// Number of origins.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when no origin is held.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sum of all sequence numbers: how many entries (held or elided) the vector stands for.
    pub fn total(&self) -> u64 {
        self.0.values().fold(0u64, |a, &b| a.saturating_add(b))
    }
}

impl FromIterator<(Origin, u64)> for VersionVector {
    fn from_iter<I: IntoIterator<Item = (Origin, u64)>>(iter: I) -> Self {
        let mut v = VersionVector::new();
        for (o, s) in iter {
            v.raise(o, s);
        }
        v
    }
}
