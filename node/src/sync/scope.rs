//! Partial replication: what the hub lets each site hold.
//!
//! A site receives whole the catalog, the trust records, its own staff directory, the learners
//! homed at it, and the transfer records that concern it. Every other entry of a feed it receives
//! arrives elided (a count and a header, no body). Feeds of other sites that never touched one
//! of its learners are not sent at all, so a site's initial sync costs nothing for the rest of
//! the program.

use crate::domain::ids;
use crate::payload::{self, ControlRecord};
use crate::store::Store;
use cairn_sync_protocol::{BodyKind, DocId, Entry, NodeId, Origin, Scope};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

/// What the hub sends one site.
pub struct SiteScope<'a> {
    store: &'a Store,
    site: NodeId,
    site_text: String,
    hub: NodeId,
    // Feeds that carry something this site may see, computed once per session.
    relevant: BTreeSet<Origin>,
    homes: RefCell<HashMap<DocId, bool>>,
}

impl<'a> SiteScope<'a> {
    /// The scope for `site`, served by `hub`.
    pub fn new(store: &'a Store, hub: NodeId, site: NodeId) -> crate::error::Result<Self> {
        let site_text = site.to_string();
        let mut relevant = BTreeSet::new();
        // Feeds that wrote to documents of learners homed at the site.
        for (doc, home) in store.index_scan(b"home/")? {
            if home == site_text.as_bytes()
                && let Ok(doc) = <[u8; 16]>::try_from(doc.as_slice())
            {
                for (origin, _, _) in store.doc_entries(&DocId(doc))? {
                    relevant.insert(origin);
                }
            }
        }
        Ok(SiteScope {
            store,
            site,
            site_text,
            hub,
            relevant,
            homes: RefCell::new(HashMap::new()),
        })
    }

    fn homed_here(&self, doc: &DocId) -> bool {
        if let Some(v) = self.homes.borrow().get(doc) {
            return *v;
        }
        let v = self
            .store
            .index_get(&[b"home/".as_slice(), &doc.0].concat())
            .ok()
            .flatten()
            .is_some_and(|h| h == self.site_text.as_bytes());
        self.homes.borrow_mut().insert(*doc, v);
        v
    }
}

impl Scope for SiteScope<'_> {
    fn send_origin(&self, origin: &Origin) -> bool {
        origin.node == self.hub || origin.node == self.site || self.relevant.contains(origin)
    }

    fn visible(&self, entry: &Entry) -> bool {
        let doc = entry.body.doc;
        if doc == ids::catalog_doc() || doc == ids::trust_doc() || doc == ids::staff_doc(&self.site)
        {
            return true;
        }
        if entry.body.kind == BodyKind::Control
            && let Ok(ControlRecord::LearnerTransferred { from, to, .. }) =
                payload::decode::<ControlRecord>(&entry.body.data, "a control record")
        {
            return to == self.site || from == Some(self.site);
        }
        self.homed_here(&doc)
    }
}
