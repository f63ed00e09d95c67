//! Partial replication: what the hub lets each site hold.
//!
//! A site receives whole the catalog, the trust records, its own staff directory, the learners
//! homed at it, and the transfer records that concern it. Every other entry of a feed it receives
//! arrives elided (a count and a header, no body). Feeds of other sites that never touched one
//! of its learners are not sent at all, so a site's initial sync costs nothing for the rest of
//! the program.
//!
//! ## Deciding on derived state that may lag the log
//!
//! The hub acknowledges a site's batch once its entries are durable and derives documents and
//! indexes after ([`crate::store`]). Which learners are homed where is derived state, and a
//! session that waited for every queued batch of every other site before deciding would make
//! 200 sites arriving together queue behind one another. A scope reads the homes as derived so
//! far, and waits only for what could make that reading wrong:
//!
//! - **Nothing is shared that should not be.** The scope says "homed here" only when derived
//!   state says so; it could be wrong only if a queued entry moved the learner away. Homes move
//!   by the hub's transfer (the hub's entry) and by nothing a site writes; the scope waits at
//!   its start for queued entries of the hub (a restored hub receiving its own feed back) and of
//!   the site itself. Entries of other sites cannot move a learner on any legitimate path (a
//!   crafted change that sets `home_site` is honoured once derived, waiting or not).
//! - **Nothing is elided that should arrive whole.** An elided entry is held for good (a later
//!   session does not resend it whole), so "not homed here" must not come from stale state
//!   either. A learner homed here in queued state but not yet in derived state was registered
//!   here, in a batch queued from this site, which the scope settles at its start. Batches this
//!   site sends during the session register learners whose entries are its own (never sent
//!   back); the hub writes to such a learner only after deriving it (a local write settles
//!   first), so by the time an entry of the hub's names it, derived state has it. Entries of
//!   other sites name learners they were sent, whose homes are derived.
//! - Feeds are chosen at the start from derived state (`relevant`): a feed missing from a stale
//!   reading is not sent in this session and is sent, from where the site stands, in the next.
//!
//! ## The hub's own feed, answered from memory
//!
//! A hub's feed holds the program's copies of every site's awards, and a session with one site
//! elides nearly all of them: asking the derived homes (a read of the store) for every entry
//! made a session's work grow with the number of sites. So the scope keeps, from its start, the
//! learners homed at the site, and answers for the hub's entries that were in the log by then
//! from that set alone:
//!
//! - At the start, after the wait above, it notes the tip of each of the hub's feeds, and only
//!   if none of the hub's entries may still be queued (`may_be_queued_from`: a batch is counted
//!   there before its entries are in the log). Every hub entry up to those tips is then derived:
//!   the hub's own writes are stored with their derived state in one atomic batch, and any
//!   received ones were not queued. The homes read next account for all of them.
//! - A learner whose home changes during the session is answered for as of the start for those
//!   entries, exactly as a session that had read them a moment earlier would have: a learner
//!   moved here does not receive the hub's older entries about them (the transfer record carries
//!   their document, as it does when they were elided in an earlier session), and a learner
//!   moved away is still sent the hub's entries from before the start, which the site was
//!   entitled to then.
//! - The hub's entries written after the start (a transfer, an outcome recorded a moment ago),
//!   and every entry of other feeds, are decided on the homes as derived when they are read,
//!   with nothing remembered, so an entry written after a move is sent to the new home only.
//!   (A session's targets are the tips it read as it began, so few of those are read in it.)
//! - A rebuild (`cairn rebuild` reaches a running node) throws the homes away and derives them
//!   again. If one started before the homes were read and had not ended, or one started or
//!   ended while they were read, or one has run since, nothing is answered from memory: every
//!   entry is decided on the homes as derived when it is read, as before this was kept.
//!
//! ## Passing over the other sites' copies unread
//!
//! Answering from memory still reads each of those entries to ask about it: a session with
//! one of 200 sites passed over the other 199 sites' copies one by one, a hub's work per session
//! that grew with the number of sites. For the same entries (the hub's, up to its tips at the
//! start, when answered from memory) the scope also notes, at the start, every one the site may
//! see whole, and [`Scope::hidden_until`] tells the session how far the next one is: it elides
//! the entries between reading only the last (stretches of 16 or more; shorter ones are read
//! on). `visible` shows one of those entries whole only
//! if it is
//!
//! - about a learner homed here at the start: found in the learner's list of entries (`X`),
//!   read at the start anyway to choose the feeds;
//! - in the catalog, the trust records or the site's staff directory: their lists too;
//! - a transfer record naming this site, to or from: the store lists each under both sites as
//!   it derives it (`M`, by site and then by the feed that holds it), whoever signed it, since
//!   `visible` does not ask; the scope reads the hub's feeds' part of its site's list.
//!
//! Only entries past where the site was known to stand (`held`, its checkpoint) are noted, and
//! the shared documents' lists and the transfer list are read from there on: the trust records
//! grow by two entries a site, and noting all of them made each session's start grow with the
//! program. A session sends from where the site says it stands, which is below `held` only for a
//! site that holds less than `held` (restored from a backup, or sent a bundle it never
//! imported, whose promise raised `held`); there `hidden_until` knows nothing and every entry
//! is read and asked about, so nothing is passed over on a guess.
//!
//! Every entry up to the tips read at the start is derived (above), and the lists are written
//! in the same batch as the rest of its derived state, so the notes hold every such entry; a
//! few more (a transfer between two other sites of a learner now homed here) are only read and
//! asked about. A store derived in part before the transfer list existed does not know it holds
//! every transfer ([`crate::store::Core::lists_transfers`], until `cairn rebuild`), and a
//! rebuild throws the lists away with the homes: in both cases nothing is passed over unread.
//! The hub holds its own feed whole, as [`Scope::hidden_until`] requires.

use crate::domain::ids;
use crate::payload::{self, ControlRecord};
use crate::store::Store;
use cairn_sync_protocol::{BodyKind, BodyRef, DocId, NodeId, Origin, Scope, VersionVector};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// What the hub sends one site.
pub struct SiteScope<'a> {
    store: &'a Store,
    site: NodeId,
    site_text: String,
    hub: NodeId,
    // Feeds that carry something this site may see, computed once per session.
    relevant: BTreeSet<Origin>,
    // The learners homed here at the start, and the hub's entries they decide for: each of the
    // hub's feeds up to its tip at the start (empty if any of the hub's entries was queued).
    homed_at_start: HashSet<DocId>,
    hub_known: BTreeMap<Origin, u64>,
    // Of those entries past what the site was known to hold (`held_at_start`), every one this
    // site may see whole, and some it may not (see `hidden_until`); kept only if `hinted` (the
    // store lists every transfer).
    held_at_start: BTreeMap<Origin, u64>,
    maybe_visible: BTreeMap<Origin, BTreeSet<u64>>,
    hinted: bool,
    rebuilds: u64,
}

impl<'a> SiteScope<'a> {
    /// The scope for `site`, served by `hub`, for a session with a site known to hold `held`
    /// (its checkpoint; empty if unknown). What it holds only bounds the work done at the start:
    /// a site that turns out to hold less (restored from a backup, or never given a bundle the
    /// hub wrote for it) still receives everything.
    pub fn new(
        store: &'a Store,
        hub: NodeId,
        site: NodeId,
        held: &VersionVector,
    ) -> crate::error::Result<Self> {
        Self::new_pausing(store, hub, site, held, || {})
    }

    /// [`SiteScope::new`], running `pause` just after the wait for queued entries: a batch
    /// appended there is the race the start guards against (it is in the log, under the tips
    /// read next, but not yet derived). For tests; a session calls [`SiteScope::new`].
    #[doc(hidden)]
    pub fn new_pausing(
        store: &'a Store,
        hub: NodeId,
        site: NodeId,
        held: &VersionVector,
        pause: impl FnOnce(),
    ) -> crate::error::Result<Self> {
        store.settle_for(|n| *n == hub || *n == site)?;
        pause();
        // A rebuild throws the homes away and derives them again: what is read across one is
        // not kept (and answers go to the homes as derived once one has run).
        let rebuilds = store.rebuilds();
        // The tips first, then whether anything of the hub's may be queued: an entry under a
        // tip read here is then derived (see the module's doc).
        let mut hub_known: BTreeMap<Origin, u64> = store
            .tips_of(&hub)?
            .into_iter()
            .map(|(origin, tip)| (origin, tip.seq))
            .collect();
        if store.may_be_queued_from(|n| *n == hub) {
            hub_known.clear();
        }
        let derived = store.as_derived();
        let site_text = site.to_string();
        let mut relevant = BTreeSet::new();
        // Feeds that wrote to documents of learners homed at the site.
        let homed = crate::records::index::homed_learners(store, &site_text)?;
        let mut homed_at_start = HashSet::with_capacity(homed.len());
        let hinted = !hub_known.is_empty() && store.lists_transfers()?;
        // Only what the site lacks is noted: a session sends from where the site stands, and
        // below that `hidden_until` knows nothing (the entries are read and asked about).
        let held_at_start: BTreeMap<Origin, u64> = hub_known
            .iter()
            .map(|(origin, tip)| (*origin, held.get(origin).min(*tip)))
            .collect();
        let mut maybe_visible: BTreeMap<Origin, BTreeSet<u64>> = BTreeMap::new();
        let mut note = |origin: Origin, seq: u64| {
            if hinted && held_at_start.get(&origin).is_some_and(|held| seq > *held) {
                maybe_visible.entry(origin).or_default().insert(seq);
            }
        };
        for doc in homed {
            for (origin, seq, _) in derived.doc_entries(&doc)? {
                relevant.insert(origin);
                note(origin, seq);
            }
            homed_at_start.insert(doc);
        }
        // The rest of what `visible` shows whole: the documents every site receives, and the
        // transfers to or from this site (of learners no longer homed here, too).
        if hinted {
            // The trust records grow with the program's sites: only what the site lacks is read.
            for (origin, held) in &held_at_start {
                for doc in [ids::catalog_doc(), ids::trust_doc(), ids::staff_doc(&site)] {
                    for (seq, _) in derived.doc_entries_after(&doc, origin, *held)? {
                        note(*origin, seq);
                    }
                }
                for seq in derived.transfers_of(&site, origin, *held)? {
                    note(*origin, seq);
                }
            }
        }
        if rebuilds % 2 == 1 || store.rebuilds() != rebuilds {
            hub_known.clear();
        }
        Ok(SiteScope {
            store,
            site,
            site_text,
            hub,
            relevant,
            homed_at_start,
            hub_known,
            held_at_start,
            maybe_visible,
            hinted,
            rebuilds,
        })
    }

    /// Whether `doc`'s learner is homed here, for entry `seq` of `origin`: as at the start for
    /// the hub's entries that were in the log then, else as derived now.
    fn homed_here(&self, origin: &Origin, seq: u64, doc: &DocId) -> bool {
        if self.hub_known.get(origin).is_some_and(|tip| seq <= *tip)
            && self.store.rebuilds() == self.rebuilds
        {
            return self.homed_at_start.contains(doc);
        }
        self.store
            .as_derived()
            .index_get(&[b"home/".as_slice(), &doc.0].concat())
            .ok()
            .flatten()
            .is_some_and(|h| h == self.site_text.as_bytes())
    }
}

impl Scope for SiteScope<'_> {
    fn send_origin(&self, origin: &Origin) -> bool {
        origin.node == self.hub || origin.node == self.site || self.relevant.contains(origin)
    }

    /// Up to the next of the hub's earlier entries this site may see: every entry `visible`
    /// shows whole among them is in `maybe_visible` (its document's entries, the transfer list),
    /// so the ones between are the other sites' and are elided without being read.
    fn hidden_until(&self, origin: &Origin, seq: u64) -> u64 {
        let held = self.held_at_start.get(origin).copied().unwrap_or(u64::MAX);
        match self.hub_known.get(origin) {
            Some(&tip)
                if self.hinted
                    && seq > held
                    && seq <= tip
                    && self.store.rebuilds() == self.rebuilds =>
            {
                self.maybe_visible
                    .get(origin)
                    .and_then(|at| at.range(seq..).next().copied())
                    .map_or(tip.saturating_add(1), |next| {
                        next.min(tip.saturating_add(1))
                    })
            }
            _ => seq,
        }
    }

    fn visible(&self, origin: &Origin, seq: u64, body: &BodyRef<'_>) -> bool {
        let doc = body.doc;
        if doc == ids::catalog_doc() || doc == ids::trust_doc() || doc == ids::staff_doc(&self.site)
        {
            return true;
        }
        if body.kind == BodyKind::Control
            && let Ok(ControlRecord::LearnerTransferred { from, to, .. }) =
                payload::decode::<ControlRecord>(body.data, "a control record")
        {
            return to == self.site || from == Some(self.site);
        }
        self.homed_here(origin, seq, &doc)
    }
}
