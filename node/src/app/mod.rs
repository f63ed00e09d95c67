//! The application layer: every operation a person can perform, each a typed [`Request`] with a
//! typed [`Reply`], performed for someone ([`Actor`]) after one check of who may
//! ([`policy`]). The command line, the web interface and the control socket only parse, call
//! [`App::perform`] and render.
//!
//! Files travel through a [`Transfer`]: the bytes of files a request carries (evidence, a
//! bundle, a provisioning file) and the stream a request writes back (a bundle, a backup, an
//! evidence file, the codebook). On the command line the transfer is the local file system; over
//! the control socket it is the client's; in the browser it is the upload and the download.

pub mod policy;
pub mod reply;
pub mod request;

mod hub_ops;
mod learner_ops;
mod node_ops;
mod site_ops;
mod upkeep_turns;

pub use crate::domain::people::Actor;
pub use reply::Reply;
pub use request::Request;

use crate::audit::{self, Channel, Event, EventKind};
use crate::error::{Error, Result};
use crate::node::Node;
use crate::signin::Gate;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::sync::Arc;

/// How far a long operation has come.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// What is being done ("writing the bundle").
    pub doing: String,
    /// Units done.
    pub done: u64,
    /// Units in all, when known.
    pub total: Option<u64>,
    /// What a unit is ("entries", "bytes").
    pub unit: String,
}

/// Something that tells the person waiting how far a long operation has come.
pub type Reporter = Box<dyn FnMut(Progress) + Send>;

/// Where a request's files come from and its output goes.
pub trait Transfer: Send {
    /// The bytes of the `index`-th file the request declared, read in order.
    fn upload(&mut self, index: usize) -> Result<Box<dyn Read + Send + '_>>;
    /// Where the request's output stream goes.
    fn download(&mut self) -> Result<Box<dyn Write + Send + '_>>;
    /// A reporter of progress (its own handle, usable while a file is being read or written).
    fn reporter(&self) -> Reporter;
}

/// Most program-signed copies one upkeep run makes (about 10 ms each): a session's or an
/// import's caller does not wait long; the rest is done by the next run.
pub const UPKEEP_AWARDS: usize = 200;

/// A transfer with no files at all (requests that carry and write none).
pub struct NoFiles;

impl Transfer for NoFiles {
    fn upload(&mut self, _: usize) -> Result<Box<dyn Read + Send + '_>> {
        Err(Error::Usage("this request carries no file".into()))
    }
    fn download(&mut self) -> Result<Box<dyn Write + Send + '_>> {
        Err(Error::Usage("this request writes no file".into()))
    }
    fn reporter(&self) -> Reporter {
        Box::new(|_| {})
    }
}

/// Where the upkeep before a session with a site runs ([`App::upkeep_before_session`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpkeepWhen {
    /// Before the session: it has work for this site (the site's own batches are still queued,
    /// or awards homed there wait for the program's copy, or its key for the endorsement), and
    /// no other node's batches are queued.
    Here,
    /// Not before the session: nothing of it is for this site, which does not wait, or running
    /// it would wait for other nodes' queued batches (the rest runs in the background, if there
    /// is any, and what it signs for this site reaches it in a later session).
    Background,
}

/// [`UpkeepWhen`] for a session with `site`. Reads derived state as it stands (waiting only
/// for the authority's queued entries, for the site record): work for other sites, and other
/// sites' batches still being derived, never make this site wait.
pub fn upkeep_when(store: &crate::store::Store, site: &cairn_sync_protocol::NodeId) -> UpkeepWhen {
    let here = || -> crate::error::Result<bool> {
        // The upkeep reads and writes derived state, and both wait until every queued batch is
        // derived (`Core::settle`). Run before this session with another node's batches queued,
        // it would have this site wait for all of them, work that is not its own
        // (docs/benchmarks.md, round 44: a site's first session silent past its 60 s limit).
        if store.queued_from(|n| n != site)? {
            return Ok(false);
        }
        if store.queued_from(|n| n == site)? {
            return Ok(true);
        }
        if store
            .site_record(site)?
            .is_some_and(|r| r.revoked.is_none() && r.endorsement.is_none())
        {
            return Ok(true);
        }
        Ok(!crate::records::index::homed_awaiting_copy(store, &site.to_string())?.is_empty())
    };
    // When in doubt (a read failed), run it before the session, as before.
    if here().unwrap_or(true) {
        UpkeepWhen::Here
    } else {
        UpkeepWhen::Background
    }
}

/// The hub's background upkeep: runs of at most [`UPKEEP_AWARDS`] awards, each after a lull in
/// the sessions (`lull`), until a run leaves nothing it could sign. A crowd of 200 sites brings
/// thousands of awards; signing only one run's worth after it left the rest to the next crowd,
/// whose sessions then signed them before they could start (an award homed at the site makes
/// the upkeep run [`UpkeepWhen::Here`]): 2 s of waiting in the second crowd (round 23 of
/// docs/benchmarks.md). A run that signs nothing ends it (what is left cannot be copied now:
/// a revoked site's award, a part gone from the catalog), as does a failed one, unless it gave
/// way to a session (then the next run, after the next lull, goes on where it stopped). Returns
/// the runs made.
pub fn upkeep_until_done(
    mut lull: impl FnMut(),
    mut run: impl FnMut() -> Result<crate::domain::credentials::Upkeep>,
) -> usize {
    let mut runs = 0;
    loop {
        lull();
        runs += 1;
        match run() {
            Ok(done) if done.gave_way || (done.remaining > 0 && done.copies > 0) => continue,
            Ok(_) => return runs,
            Err(e) => {
                tracing::warn!("signing the program's credentials failed: {e}");
                return runs;
            }
        }
    }
}

/// A running (or opened) node and everything its operations share.
pub struct App {
    node: Arc<Node>,
    gate: Gate,
    // One sync session with the hub at a time: the background loop's and `sync` now.
    sessions: tokio::sync::Mutex<()>,
    // The running service's runtime, when there is one (sync now runs on it).
    runtime: Option<tokio::runtime::Handle>,
    // Told when the configuration changes (a site joins its hub while running).
    config_changed: Arc<tokio::sync::Notify>,
    // The hub address the running service was told to use (`cairn run --hub`), if any.
    hub_address: std::sync::Mutex<Option<String>>,
    // One run of the hub's upkeep at a time (after sessions, imports, admissions); a background
    // run gives way, between two documents, to a run someone waits for (a session's, an
    // admission's).
    upkeep: upkeep_turns::UpkeepTurns,
    // A background run of the upkeep has been asked for and has not started yet.
    upkeep_asked: std::sync::atomic::AtomicBool,
}

impl App {
    /// The application layer over an open node. `runtime` is the service's runtime when the
    /// node runs as `cairn run` or `cairn serve`.
    pub fn new(node: Arc<Node>, runtime: Option<tokio::runtime::Handle>) -> Arc<App> {
        Arc::new(App {
            node,
            gate: Gate::default(),
            sessions: tokio::sync::Mutex::new(()),
            runtime,
            config_changed: Arc::new(tokio::sync::Notify::new()),
            hub_address: std::sync::Mutex::new(None),
            upkeep: upkeep_turns::UpkeepTurns::default(),
            upkeep_asked: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The hub's upkeep of what the program signs (program settings published, site keys
    /// endorsed, program-signed copies of awards that reached it), at most
    /// [`UPKEEP_AWARDS`] awards a run; nothing on a site. The hub runs it whenever something
    /// can leave it: before a bundle, before handing out a credential or certificate, and in
    /// the background after sync sessions; before a session and when it admits a site, it runs
    /// that site's work alone (`App::site_upkeep`).
    pub fn program_upkeep(&self) -> Result<crate::domain::credentials::Upkeep> {
        let _turn = self.upkeep.take();
        crate::domain::credentials::hub_upkeep(&self.node, UPKEEP_AWARDS, None, &|| false)
    }

    /// [`App::program_upkeep`] as the background runs it: it gives way, between two documents,
    /// to a run of one site's work someone waits for ([`App::site_upkeep`]).
    fn background_upkeep(&self) -> Result<crate::domain::credentials::Upkeep> {
        let turn = self.upkeep.take();
        crate::domain::credentials::hub_upkeep(&self.node, UPKEEP_AWARDS, None, &|| {
            turn.asked_to_give_way()
        })
    }

    /// [`App::program_upkeep`] of one site's work alone (its key's endorsement, its learners'
    /// awards), ahead of a background run (which gives way to it): someone waits for it, the
    /// site's session or the person admitting the site.
    fn site_upkeep(
        &self,
        site: &cairn_sync_protocol::NodeId,
    ) -> Result<crate::domain::credentials::Upkeep> {
        let _turn = self.upkeep.take_ahead();
        crate::domain::credentials::hub_upkeep(&self.node, UPKEEP_AWARDS, Some(site), &|| false)
    }

    /// The upkeep before a sync session with `site`: this site's work is done here, so what it
    /// signs travels in this session, when there is any ([`upkeep_when`]); everything else in
    /// the background once the sessions pause (one run however many sessions ask), so a crowd
    /// of sites arriving together never waits for each other's batches to be derived or for
    /// work that is not theirs. A background run already under way (one run at a time) gives
    /// way to the run here after the document it is signing.
    pub fn upkeep_before_session(self: &Arc<Self>, site: &cairn_sync_protocol::NodeId) {
        use std::sync::atomic::Ordering;
        if upkeep_when(&self.node.store, site) == UpkeepWhen::Here
            && let Err(e) = self.site_upkeep(site)
        {
            tracing::warn!("signing the program's credentials failed: {e}");
        }
        // A run already asked for (it waits for the crowd to pass) serves this session too.
        // Whether the run has anything to do is for the run to find out: that means reading
        // every site's record and the awards this crowd brings, once after the crowd rather
        // than once in every session (which made a hub's work per session grow with the
        // number of sites).
        if self.upkeep_asked.swap(true, Ordering::SeqCst) {
            return;
        }
        let app = self.clone();
        let started = std::thread::Builder::new()
            .name("cairn-upkeep".into())
            .spawn(move || {
                // Signing for other sites yields to answering sites, like derivation: it
                // waits for a lull in their batches, then runs at a lower priority.
                crate::store::background_priority();
                upkeep_until_done(
                    || app.node.store.wait_for_lull(),
                    || {
                        // Cleared before each run: a session that asks after this point is
                        // served by a later run, not by this one.
                        app.upkeep_asked.store(false, Ordering::SeqCst);
                        app.background_upkeep()
                    },
                );
            });
        if let Err(e) = started {
            self.upkeep_asked.store(false, Ordering::SeqCst);
            tracing::warn!("cannot start the program's upkeep: {e}");
        }
    }

    /// The node.
    pub fn node(&self) -> &Arc<Node> {
        &self.node
    }

    /// The sign-in gate.
    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    /// Notified when the configuration changes.
    pub fn config_changed(&self) -> Arc<tokio::sync::Notify> {
        self.config_changed.clone()
    }

    /// Remember the hub address the running service uses, for "sync now" requests.
    pub fn set_hub_address(&self, address: Option<String>) {
        *self.hub_address.lock().unwrap_or_else(|e| e.into_inner()) = address;
    }

    /// The hub address the running service uses, if it was given one.
    pub fn hub_address(&self) -> Option<String> {
        self.hub_address
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The lock that keeps sync sessions with the hub one at a time.
    pub fn sessions(&self) -> &tokio::sync::Mutex<()> {
        &self.sessions
    }

    /// Perform a request for `actor`: check who may, then do it. `channel` says which door it
    /// came through (for the audit trail of refusals).
    pub fn perform(
        &self,
        actor: &Actor,
        request: Request,
        channel: Channel,
        io: &mut dyn Transfer,
    ) -> Result<Reply> {
        let op = request.operation();
        if let Err(e) = policy::check(op, actor) {
            let who = match actor {
                Actor::Staff(u) => u.name.clone(),
                Actor::Learner { number, .. } => number.clone(),
                Actor::Operator => "operator".into(),
            };
            audit::record(
                &self.node.store,
                &Event::new(EventKind::Refused, channel)
                    .account(&who)
                    .detail(op.name()),
            );
            return Err(e);
        }
        let result = self.dispatch(actor, request, io);
        if let Err(e) = &result
            && e.kind() == "unauthorized"
        {
            audit::record(
                &self.node.store,
                &Event::new(EventKind::Refused, channel).detail(&e.to_string()),
            );
        }
        result
    }

    fn dispatch(&self, actor: &Actor, request: Request, io: &mut dyn Transfer) -> Result<Reply> {
        use Request as R;
        match request {
            R::Id => self.id(),
            R::Status => self.status(),
            R::Check => self.check(),
            R::Rebuild => self.rebuild(),
            R::Backup => self.backup(io),
            R::Audit { limit } => self.audit(limit),
            R::Conflicts => self.conflicts(),
            R::UserAdd {
                name,
                roles,
                secret,
            } => self.user_add(actor, &name, &roles, &secret),
            R::UserList => self.user_list(),
            R::UserEdit { name, changes } => self.user_edit(actor, &name, &changes),
            R::CatalogList => self.catalog_list(),
            R::CatalogAdd { item } => self.catalog_add(actor, item),
            R::LearnerAdd { profile, pin } => self.learner_add(actor, profile, pin.as_deref()),
            R::LearnerShow { learner } => self.learner_show(actor, &learner),
            R::LearnerList { search } => self.learner_list(search.as_deref()),
            R::LearnerEdit {
                learner,
                changes,
                pin,
            } => self.learner_edit(actor, &learner, &changes, pin.as_deref()),
            R::LearnerTransfer { learner, to } => self.learner_transfer(actor, &learner, &to),
            R::Enroll {
                learner,
                achievement,
                previously_attempted,
            } => self.enroll(actor, &learner, &achievement, previously_attempted),
            R::EvidenceSubmit {
                enrollment,
                narrative,
                files,
            } => self.evidence_submit(actor, &enrollment, narrative.as_deref(), &files, io),
            R::EvidenceFile { sha256 } => self.evidence_file(actor, &sha256, io),
            R::Assess {
                evidence,
                decision,
                feedback,
            } => self.assess(actor, &evidence, decision, feedback.as_deref()),
            R::Award { enrollment } => self.award(actor, &enrollment),
            R::OutcomeAdd { learner, outcome } => self.outcome_add(actor, &learner, &outcome),
            R::CredentialExport { award } => self.credential_export(actor, &award),
            R::CredentialBundle { learner } => self.credential_bundle(actor, &learner),
            R::CredentialCertificate { award, lang } => {
                self.credential_certificate(actor, &award, lang.as_deref())
            }
            R::CredentialVerify {
                file,
                name,
                payload,
                program,
            } => self.credential_verify(
                &file,
                name.as_deref(),
                payload.as_deref(),
                program.as_deref(),
                io,
            ),
            R::CredentialVerifierPage { programs } => self.credential_verifier_page(&programs),
            R::SiteEnroll {
                site,
                name,
                address,
            } => self.site_enroll(actor, &site, &name, address.as_deref()),
            R::SiteRevoke { site, reason } => self.site_revoke(actor, &site, &reason),
            R::SiteList => self.site_list(),
            R::Join { file } => self.join(&file, io),
            R::BundleExport { for_site, full } => self.bundle_export(for_site.as_deref(), full, io),
            R::BundleImport { file } => self.bundle_import(&file, io),
            R::LearnerImport { file } => self.learner_import(actor, &file, io),
            R::SyncNow { hub } => self.sync_now(hub.as_deref(), io),
            R::ReconcileList => self.reconcile_list(),
            R::Reconcile { settle } => self.reconcile(actor, settle),
            R::ReportCodebook => self.report_codebook(io),
            R::ReportOutcomes => self.report_outcomes(),
            R::ReportSites => self.report_sites(),
        }
    }
}

/// Read at most `limit` bytes of an upload, refusing more.
pub(crate) fn read_upload(mut r: impl Read, limit: u64, what: &str) -> Result<Vec<u8>> {
    let mut data = Vec::new();
    r.by_ref()
        .take(limit + 1)
        .read_to_end(&mut data)
        .map_err(|e| Error::storage(&format!("reading {what}"), e))?;
    if data.len() as u64 > limit {
        return Err(Error::invalid(format!(
            "{what} is larger than the {limit}-byte limit"
        )));
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::upkeep_until_done;
    use crate::domain::credentials::Upkeep;
    use crate::error::Error;
    use proptest::prelude::*;

    proptest! {
        /// The background upkeep keeps going while a run signed something and left work, or
        /// gave way to a session, waits for a lull before every run, and otherwise stops at the
        /// first run that signed nothing, left nothing or failed (so it cannot spin on awards
        /// it can never copy).
        #[test]
        fn runs_until_a_run_leaves_nothing_it_could_sign(
            outcomes in prop::collection::vec(
                // (copies made, documents left, gave way), or a failed run.
                prop::option::weighted(0.9, (0usize..3, 0usize..3, prop::bool::weighted(0.2))),
                0..12,
            )
        ) {
            // A run that signs nothing and leaves nothing ends every script.
            let mut script = outcomes;
            script.push(Some((0, 0, false)));
            let expected = 1 + script
                .iter()
                .position(|o| !matches!(o, Some((c, r, g)) if *g || (*c > 0 && *r > 0)))
                .unwrap();
            let lulls = std::cell::Cell::new(0);
            let (mut runs, mut without_lull) = (0, false);
            let made = upkeep_until_done(
                || lulls.set(lulls.get() + 1),
                || {
                    let outcome = script[runs];
                    runs += 1;
                    without_lull |= lulls.get() != runs;
                    match outcome {
                        Some((copies, remaining, gave_way)) => Ok(Upkeep {
                            copies,
                            remaining,
                            gave_way,
                            ..Upkeep::default()
                        }),
                        None => Err(Error::invalid("the store failed")),
                    }
                },
            );
            prop_assert!(!without_lull, "a run started without waiting for a lull");
            prop_assert_eq!(made, expected);
            prop_assert_eq!(runs, expected);
            prop_assert_eq!(lulls.get(), expected);
        }
    }
}
