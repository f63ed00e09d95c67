//! Whose entries wait in the derivation queue (`D` records), kept in memory. A hub asks before
//! every session whether that site's (or the authority's) entries are still queued; reading
//! and parsing every queue record to answer made each session's work grow with the crowd, since
//! a crowd's batches stay queued until it passes (`Core::wait_for_lull`).
//!
//! The count may be higher than the records, never lower: a node is counted before its record
//! is written and uncounted only after the record is derived and removed, so an answer of "not
//! queued" is always true, and a spurious "queued" only costs a read its wait.

use cairn_sync_protocol::{NodeId, Origin};
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub(super) struct QueuedAuthors {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    // Queue records holding entries of each node.
    records: HashMap<NodeId, usize>,
    // An unreadable record was found at open: its authors are unknown until a pass through the
    // queue has dropped it.
    unreadable: bool,
}

/// The distinct authoring nodes of one queue record's runs (their origins' nodes).
pub(super) fn authors(nodes: impl IntoIterator<Item = NodeId>) -> Vec<NodeId> {
    let mut nodes: Vec<NodeId> = nodes.into_iter().collect();
    nodes.sort_unstable_by_key(|n| n.0);
    nodes.dedup();
    nodes
}

/// The distinct authoring nodes of a queue record, from its parsed runs
/// (`keys::parse_queued_runs`).
pub(super) fn authors_of(runs: &[(Origin, u64, u64)]) -> Vec<NodeId> {
    authors(runs.iter().map(|(origin, _, _)| origin.node))
}

impl QueuedAuthors {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Count a record of `nodes` (before it is written).
    pub(super) fn add(&self, nodes: &[NodeId]) {
        let mut inner = self.inner();
        for node in nodes {
            *inner.records.entry(*node).or_default() += 1;
        }
    }

    /// Uncount a record of `nodes` (after it is derived and removed, or was never written).
    pub(super) fn remove(&self, nodes: &[NodeId]) {
        let mut inner = self.inner();
        for node in nodes {
            if let Some(n) = inner.records.get_mut(node) {
                *n -= 1;
                if *n == 0 {
                    inner.records.remove(node);
                }
            }
        }
    }

    /// A record at open that cannot be read: count it as everyone's.
    pub(super) fn add_unreadable(&self) {
        self.inner().unreadable = true;
    }

    /// A pass through the queue has dropped every unreadable record it held.
    pub(super) fn unreadable_dropped(&self) {
        self.inner().unreadable = false;
    }

    /// Nothing is queued any more (a rebuild dropped the queue with the rest of derived state).
    pub(super) fn clear(&self) {
        *self.inner() = Inner::default();
    }

    /// Whether a node `of` picks may have entries queued.
    pub(super) fn any(&self, of: impl Fn(&NodeId) -> bool) -> bool {
        let inner = self.inner();
        inner.unreadable || inner.records.keys().any(of)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(n: u8) -> NodeId {
        NodeId([n; 32])
    }

    fn run(n: u8) -> (Origin, u64, u64) {
        (
            Origin {
                node: node(n),
                epoch: 0,
            },
            1,
            2,
        )
    }

    #[test]
    fn a_node_is_queued_until_every_record_of_it_is_removed() {
        let q = QueuedAuthors::default();
        let first = authors_of(&[run(1), run(2), run(1)]);
        assert_eq!(first, vec![node(1), node(2)], "each author once per record");
        q.add(&first);
        q.add(&authors_of(&[run(1)]));
        assert!(q.any(|n| *n == node(1)) && q.any(|n| *n == node(2)));
        assert!(!q.any(|n| *n == node(3)));
        q.remove(&first);
        assert!(
            q.any(|n| *n == node(1)),
            "a second record of node 1 is still queued"
        );
        assert!(!q.any(|n| *n == node(2)));
        q.remove(&authors_of(&[run(1)]));
        assert!(!q.any(|_| true));
        // Removing what was never counted (a failed write's record) leaves nothing behind.
        q.remove(&[node(9)]);
        assert!(!q.any(|_| true));
    }

    #[test]
    fn an_unreadable_record_counts_for_everyone_until_dropped() {
        let q = QueuedAuthors::default();
        q.add_unreadable();
        assert!(q.any(|n| *n == node(7)));
        q.unreadable_dropped();
        assert!(!q.any(|n| *n == node(7)));
        q.add(&[node(7)]);
        q.clear();
        assert!(!q.any(|_| true));
    }
}
