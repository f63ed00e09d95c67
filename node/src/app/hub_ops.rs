//! The hub operator's work: reconciling records across sites and reporting outcomes.

use super::reply::{ForkHeld, ReconcileList, Reply, RevokedSite};
use super::request::Settle;
use super::{App, Transfer};
use crate::domain::people::Actor;
use crate::domain::{learners, reconcile, reports};
use crate::error::{Error, Result};

impl App {
    pub(super) fn reconcile_list(&self) -> Result<Reply> {
        let node = &self.node;
        if !node.is_hub() {
            return Err(Error::rule("reconciling is the hub operator's job"));
        }
        let all = learners::all(node)?;
        let mut revoked_sites = Vec::new();
        for site in node.store.site_records()? {
            let Some(reason) = site.revoked.clone() else {
                continue;
            };
            let last_contact_ms = site
                .node
                .parse()
                .ok()
                .and_then(|id| crate::sync::peer::load(&node.store, &id).ok())
                .and_then(|p| p.last_contact_ms);
            revoked_sites.push(RevokedSite {
                learners_homed: all.iter().filter(|(_, r)| r.home_site == site.node).count(),
                site: site.node,
                name: site.name,
                reason,
                last_contact_ms,
                note: "anything it recorded after its last contact never reached the hub; transfer its learners to another site".into(),
            });
        }
        Ok(Reply::Reconcile(ReconcileList {
            duplicates: reconcile::duplicates(&all),
            conflicts: reconcile::conflicts(node)?,
            concurrent_assessments: reconcile::concurrent_assessments(&all),
            forks: node
                .store
                .forks()?
                .iter()
                .map(|f| ForkHeld {
                    origin: f.origin.node.to_string(),
                    epoch: f.origin.epoch,
                    seq: f.seq,
                })
                .collect(),
            revoked_sites,
        }))
    }

    pub(super) fn reconcile(&self, actor: &Actor, settle: Settle) -> Result<Reply> {
        let node = &self.node;
        match settle {
            Settle::Merge { keep, duplicate } => reconcile::merge(node, actor, &keep, &duplicate),
            Settle::Pick {
                learner,
                field,
                value,
            } => reconcile::pick(node, actor, &learner, &field, &value),
            Settle::Accept { assessment } => reconcile::accept(node, actor, &assessment),
        }
        .map(Reply::Resolution)
    }

    pub(super) fn report_codebook(&self, io: &mut dyn Transfer) -> Result<Reply> {
        let mut out = io.download()?;
        let rows = reports::codebook(&self.node, &mut out)?;
        out.flush()
            .map_err(|e| Error::storage("writing the report", e))?;
        Ok(Reply::Codebook { rows })
    }

    pub(super) fn report_outcomes(&self) -> Result<Reply> {
        reports::outcomes(&self.node).map(Reply::Outcomes)
    }
}

use std::io::Write as _;
