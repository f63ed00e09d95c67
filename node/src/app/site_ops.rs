//! Sites and their hub: admission, trust, USB bundles, syncing now, and the hub's view of each
//! site's standing.

use super::reply::{Reply, SiteRow, SiteStanding};
use super::request::FileSpec;
use super::{App, Progress, Transfer, read_upload};
use crate::domain::people::Actor;
use crate::domain::text::printable;
use crate::error::{Error, Result};
use crate::sync::{peer, provision, site};
use cairn_sync_protocol::{NodeId, fold_typed_id as fold_id};
use std::io::{Read, Write};

impl App {
    /// A node id from what a person typed: the whole id, any unambiguous beginning of it (as
    /// `status` prints), or, at the hub, an admitted site's name.
    pub fn resolve_site(&self, typed: &str) -> Result<NodeId> {
        let typed = typed.trim();
        if let Ok(id) = typed.parse::<NodeId>() {
            return Ok(id);
        }
        let want = fold_id(typed);
        let sites = self.node.store.site_records()?;
        let mut candidates: Vec<(String, String)> = Vec::new();
        if want.len() >= 4 {
            for s in &sites {
                if fold_id(&s.node).starts_with(&want) {
                    candidates.push((s.node.clone(), s.name.clone()));
                }
            }
            if let Some(hub) = self.node.config().hub.as_ref()
                && fold_id(&hub.id).starts_with(&want)
            {
                candidates.push((hub.id.clone(), hub.name.clone()));
            }
        }
        if candidates.is_empty() {
            candidates = sites
                .iter()
                .filter(|s| s.name.trim().eq_ignore_ascii_case(typed))
                .map(|s| (s.node.clone(), s.name.clone()))
                .collect();
        }
        match candidates.as_slice() {
            [(id, _)] => id
                .parse()
                .map_err(|e| Error::storage_msg(format!("a recorded node id is corrupt: {e}"))),
            [] => Err(Error::not_found(format!(
                "no site here is named or has an id starting with `{}` (give the whole node id, at least the first 4 characters of it, or the site's name)",
                printable(typed)
            ))),
            many => Err(Error::invalid(format!(
                "`{}` could be {} sites: {}; give more of the id",
                printable(typed),
                many.len(),
                many.iter()
                    .map(|(id, name)| format!("{name} ({id})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    pub(super) fn site_enroll(
        &self,
        actor: &Actor,
        site: &str,
        name: &str,
        address: Option<&str>,
    ) -> Result<Reply> {
        // The hub does not know this node yet, so a beginning of its id cannot be looked up:
        // admitting takes the whole id, whose checksum catches a typo.
        let site: NodeId = site.trim().parse().map_err(|e| {
            Error::invalid(format!(
                "`{}` is not a whole node id: {e}. Admitting a site takes all 56 characters of its id, as `cairn id` prints them at the site",
                printable(site)
            ))
            .coded("site-id", &[])
        })?;
        if site == self.node.id() {
            return Err(Error::invalid(
                "that is the hub's own id; run `cairn id` at the site to get its id",
            ));
        }
        if let Some(a) = address {
            crate::domain::text::check_line(crate::domain::text::Field::HubAddress, a, 253)?;
        }
        let (provisioning, file) = provision::enroll_site(&self.node, actor, site, name, address)?;
        // Endorse the new site's key now, so the endorsement reaches it with its first sync
        // and its first session has nothing of its own to wait for. The site's work alone,
        // ahead of the background: the whole program's run signs up to 200 documents of other
        // sites' copies first, each a flushed write, which on a hub of millions of entries is
        // many seconds for a person to wait (docs/benchmarks.md, round 46).
        if let Err(e) = self.site_upkeep(&site) {
            tracing::warn!("the site was admitted; endorsing its key failed: {e}");
        }
        Ok(Reply::SiteEnrolled {
            provisioning,
            file: String::from_utf8_lossy(&file).into_owned(),
        })
    }

    pub(super) fn site_revoke(&self, actor: &Actor, site: &str, reason: &str) -> Result<Reply> {
        let id = self.resolve_site(site)?;
        provision::revoke_site(&self.node, actor, id, reason)?;
        Ok(Reply::SiteRevoked {
            revoked: id.to_string(),
            reason: reason.trim().to_string(),
        })
    }

    pub(super) fn site_list(&self) -> Result<Reply> {
        let peers = peer::all(&self.node.store)?;
        let sites = self
            .node
            .store
            .site_records()?
            .into_iter()
            .map(|s| SiteRow {
                last_success_ms: peers
                    .iter()
                    .find(|p| p.id == s.node)
                    .and_then(|p| p.last_success_ms),
                site: s,
            })
            .collect();
        Ok(Reply::Sites { sites })
    }

    pub(super) fn join(&self, file: &FileSpec, io: &mut dyn Transfer) -> Result<Reply> {
        if file.size > provision::MAX_FILE {
            return Err(Error::invalid(
                "that file is too large to be a provisioning file",
            ));
        }
        let bytes = read_upload(io.upload(0)?, file.size, "the provisioning file")?;
        let p = provision::join(&self.node, &bytes)?;
        self.config_changed.notify_waiters();
        Ok(Reply::Joined { hub: p.hub })
    }

    pub(super) fn bundle_export(
        &self,
        for_site: Option<&str>,
        full: bool,
        io: &mut dyn Transfer,
    ) -> Result<Reply> {
        let peer = match for_site {
            Some(s) => Some(self.resolve_site(s)?.to_string()),
            None => None,
        };
        // What the program signs travels in the bundle.
        if let Err(e) = self.program_upkeep() {
            tracing::warn!("signing the program's credentials failed: {e}");
        }
        let scratch = tempfile::tempdir_in(&self.node.dir)
            .map_err(|e| Error::storage("making room for the bundle", e))?;
        let path = scratch.path().join("bundle.cairn");
        let report = {
            let mut reporter = io.reporter();
            let mut step = |n: u64| {
                reporter(Progress {
                    doing: "writing the bundle".into(),
                    done: n,
                    total: None,
                    unit: "entries".into(),
                })
            };
            crate::bundle::export(&self.node, peer.as_deref(), &path, full, &mut step)?
        };
        let mut from =
            std::fs::File::open(&path).map_err(|e| Error::storage("reading the bundle", e))?;
        let mut out = io.download()?;
        std::io::copy(&mut from, &mut out)
            .and_then(|_| out.flush())
            .map_err(|e| Error::storage("writing the bundle", e))?;
        Ok(Reply::BundleExported(report))
    }

    pub(super) fn bundle_import(&self, file: &FileSpec, io: &mut dyn Transfer) -> Result<Reply> {
        let limit = crate::bundle::MAX_BUNDLE_BYTES;
        if file.size > limit {
            return Err(Error::invalid(format!(
                "{} is {} bytes, more than the {} GiB a bundle may hold: nothing of it was read",
                printable(&file.name),
                file.size,
                limit >> 30
            )));
        }
        let mut reporter = io.reporter();
        let mut source = io.upload(0)?;
        // The bundle module copies the bytes once into a private file and checks, then applies,
        // that copy; the declared size bounds what is read.
        let mut bounded = (&mut source).take(file.size);
        let report =
            crate::bundle::import(&self.node, &mut bounded, &file.name, &mut |done, total| {
                reporter(Progress {
                    doing: "applying the bundle".into(),
                    done,
                    total: Some(total),
                    unit: "parts".into(),
                })
            })?;
        // The program's copies of awards that arrived are made when something next leaves the
        // hub (a session, a bundle, an export), which is when they can travel.
        Ok(Reply::BundleImported(report))
    }

    pub(super) fn sync_now(&self, hub: Option<&str>, io: &mut dyn Transfer) -> Result<Reply> {
        let given = hub.map(str::to_string).or_else(|| self.hub_address());
        let (_, address) = site::hub_of(&self.node, given.as_deref())?;
        let node = self.node.clone();
        let sessions = &self.sessions;
        let mut reporter = io.reporter();
        let mut report = move |p: crate::sync::driver::Progress| {
            reporter(Progress {
                doing: "syncing with the hub".into(),
                done: p.received + p.sent,
                total: None,
                unit: "entries".into(),
            })
        };
        let once = async {
            let _one_at_a_time = sessions.lock().await;
            site::sync_once(
                &node,
                &address,
                crate::sync::driver::Timing::default(),
                &mut report,
            )
            .await
        };
        let result = match &self.runtime {
            Some(handle) => handle.block_on(once),
            None => tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| Error::storage("starting the async runtime", e))?
                .block_on(once),
        };
        result.map(Reply::Synced)
    }

    pub(super) fn report_sites(&self) -> Result<Reply> {
        let node = &self.node;
        let vector = node.store.vector()?;
        let learners = crate::domain::learners::all(node)?;
        let now = crate::clock::now_ms();
        let mut out = Vec::new();
        for site in node.store.site_records()? {
            let Ok(id) = site.node.parse::<NodeId>() else {
                continue;
            };
            let state = peer::load(&node.store, &id)?;
            let known = state.known_vector();
            let scope = crate::sync::scope::SiteScope::new(&node.store, node.id(), id, &known)?;
            use cairn_sync_protocol::Scope;
            let behind: u64 = vector
                .iter()
                .filter(|(o, _)| scope.send_origin(o))
                .map(|(o, s)| s.saturating_sub(known.get(o)))
                .sum();
            let mut pending_files = 0;
            for (_, r) in learners.iter().filter(|(_, r)| r.home_site == site.node) {
                for f in r.evidence.values().flat_map(|e| e.files.iter()) {
                    let (have, total) = crate::domain::files::completeness(node, &f.sha256)?;
                    if have < total {
                        pending_files += 1;
                    }
                }
            }
            let days = state
                .last_contact_ms
                .map(|t| (now.saturating_sub(t)) as f64 / 86_400_000.0);
            out.push(SiteStanding {
                site: site.node.clone(),
                name: site.name.clone(),
                revoked: site.revoked.clone(),
                last_contact_ms: state.last_contact_ms,
                days_since_contact: days.map(|d| (d * 10.0).round() / 10.0),
                entries_behind: behind,
                entries_from_site: vector
                    .iter()
                    .filter(|(o, _)| o.node == id)
                    .map(|(_, s)| *s)
                    .sum(),
                pending_evidence_files: pending_files,
                history: state.history.iter().rev().take(10).cloned().collect(),
            });
        }
        Ok(Reply::SiteStanding { sites: out })
    }
}
