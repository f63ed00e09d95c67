//! Documents in memory: a bounded cache of automerge documents loaded from their snapshots.

use automerge::Automerge;
use cairn_sync_protocol::DocId;
use std::collections::{HashMap, VecDeque};

/// A least-recently-used cache of loaded documents. Loading is the caller's job; the cache only
/// keeps what was put in it, up to a fixed number of documents.
pub struct DocCache {
    capacity: usize,
    docs: HashMap<DocId, Automerge>,
    order: VecDeque<DocId>,
}

impl DocCache {
    /// A cache holding at most `capacity` documents.
    pub fn new(capacity: usize) -> Self {
        DocCache {
            capacity: capacity.max(1),
            docs: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    fn touch(&mut self, doc: &DocId) {
        if let Some(pos) = self.order.iter().position(|d| d == doc) {
            self.order.remove(pos);
        }
        self.order.push_back(*doc);
    }

    /// Take a document out of the cache for modification; put it back with [`DocCache::put`].
    pub fn take(&mut self, doc: &DocId) -> Option<Automerge> {
        let d = self.docs.remove(doc)?;
        if let Some(pos) = self.order.iter().position(|x| x == doc) {
            self.order.remove(pos);
        }
        Some(d)
    }

    /// A copy of a cached document, for reading.
    pub fn get_clone(&mut self, doc: &DocId) -> Option<Automerge> {
        let d = self.docs.get(doc)?.clone();
        self.touch(doc);
        Some(d)
    }

    /// Put a document (back) into the cache, evicting the least recently used beyond capacity.
    pub fn put(&mut self, doc: DocId, value: Automerge) {
        self.docs.insert(doc, value);
        self.touch(&doc);
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.docs.remove(&old);
            }
        }
    }

    /// Forget a document (after a failed write left it ahead of the store).
    pub fn evict(&mut self, doc: &DocId) {
        self.take(doc);
    }

    /// Forget everything.
    pub fn clear(&mut self) {
        self.docs.clear();
        self.order.clear();
    }

    /// How many documents are loaded.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// True when nothing is loaded.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_at_most_capacity_and_evicts_the_least_recent() {
        let mut c = DocCache::new(2);
        let (a, b, d) = (DocId([1; 16]), DocId([2; 16]), DocId([3; 16]));
        c.put(a, Automerge::new());
        c.put(b, Automerge::new());
        assert!(c.get_clone(&a).is_some()); // a is now the most recent
        c.put(d, Automerge::new());
        assert_eq!(c.len(), 2);
        assert!(c.get_clone(&b).is_none());
        assert!(c.get_clone(&a).is_some() && c.get_clone(&d).is_some());
    }
}
