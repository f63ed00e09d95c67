//! Looking after the node: identity, status, integrity, backups, the audit trail, staff.

use super::reply::{
    DocumentConflicts, FeedHeld, ForkHeld, Identity, PeerStanding, Reply, StatusReport,
};
use super::{App, Progress, Transfer};
use crate::domain::people::{self, Actor, Role, UserChanges};
use crate::error::{Error, Result};
use crate::records::am::Conflict;
use std::io::Write as _;

impl App {
    pub(super) fn id(&self) -> Result<Reply> {
        let config = self.node.config();
        Ok(Reply::Identity(Identity {
            id: self.node.id().to_string(),
            role: config.role,
            name: config.name.clone(),
        }))
    }

    pub(super) fn status(&self) -> Result<Reply> {
        let node = &self.node;
        let vector = node.store.vector()?;
        let own = cairn_sync_protocol::Origin {
            node: node.id(),
            epoch: node.epoch()?,
        };
        let config = node.config().clone();
        let names: std::collections::BTreeMap<String, String> = node
            .store
            .site_records()?
            .into_iter()
            .map(|s| (s.node, s.name))
            .chain(config.hub.iter().map(|h| (h.id.clone(), h.name.clone())))
            .collect();
        let peers = crate::sync::peer::all(&node.store)?
            .into_iter()
            .map(|p| PeerStanding {
                name: names.get(&p.id).cloned(),
                last_contact_ms: p.last_contact_ms,
                last_success_ms: p.last_success_ms,
                known_entries: p.known_vector().total(),
                pending_own_entries: p.pending_own(&vector, &node.id()),
                last_outcome: p.history.back().map(|h| h.outcome.clone()),
                id: p.id,
            })
            .collect();
        Ok(Reply::Status(Box::new(StatusReport {
            id: node.id().to_string(),
            role: config.role,
            name: config.name.clone(),
            epoch: own.epoch,
            hub: config.hub.clone(),
            entries: vector.total(),
            feeds: vector
                .iter()
                .map(|(o, s)| FeedHeld {
                    origin: o.node.to_string(),
                    epoch: o.epoch,
                    held: *s,
                    own: *o == own,
                })
                .collect(),
            learners: node.store.index_count(b"learner/")? as usize,
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
            store_bytes: node.store.size_on_disk()?,
            peers,
            own_forked_epochs: node.store.local("own_forks")?.unwrap_or_default(),
            running: self.runtime.is_some(),
            // Only a hub's sessions rely on what the marks promise (a site's scope lists, the
            // transfers it passes over); a site's rebuild would change nothing it uses.
            rebuild_advised: config.role == crate::config::NodeRole::Hub
                && node.store.derived_by_earlier_release()?,
        })))
    }

    pub(super) fn check(&self) -> Result<Reply> {
        let mut report = self.node.store.check(self.node.hub_id())?;
        // Records this version cannot read are kept in their documents; say where they are.
        for (doc, record) in crate::domain::learners::all(&self.node)? {
            for u in &record.unreadable {
                report.problems.push(format!(
                    "a record of {} cannot be read by this version of Cairn ({u}); it is kept as written",
                    crate::domain::ids::learner_id(&doc)
                ));
            }
        }
        Ok(Reply::Checked(report))
    }

    pub(super) fn rebuild(&self) -> Result<Reply> {
        Ok(Reply::Rebuilt(self.node.store.rebuild()?))
    }

    /// A consistent copy of the data folder as a tar stream: the configuration, the key, the
    /// store (copied key by key while writes wait) and the marker that makes a restored copy
    /// write under a new epoch.
    pub(super) fn backup(&self, io: &mut dyn Transfer) -> Result<Reply> {
        let node = &self.node;
        let scratch = tempfile::tempdir_in(&node.dir)
            .map_err(|e| Error::storage("making a folder for the backup", e))?;
        (io.reporter())(Progress {
            doing: "copying the store".into(),
            unit: "keys".into(),
            ..Default::default()
        });
        let keys = node.store.copy_to(&scratch.path().join("store"))?;
        let marker = format!(
            "backup of {} made {}\n",
            node.id(),
            crate::clock::now_rfc3339()
        );
        let counted = {
            let mut out = Counting::new(io.download()?);
            let mut tar = tar::Builder::new(&mut out);
            // Modes as they are (0600 files, 0700 folders): the copy is as private as the node.
            tar.mode(tar::HeaderMode::Complete);
            let io_err = |e: std::io::Error| Error::storage("writing the backup", e);
            for file in ["config.toml", "node.key"] {
                tar.append_path_with_name(node.dir.join(file), file)
                    .map_err(io_err)?;
            }
            tar.append_dir_all("store", scratch.path().join("store"))
                .map_err(io_err)?;
            let mut header = tar::Header::new_gnu();
            header.set_size(marker.len() as u64);
            header.set_mode(0o600);
            header.set_cksum();
            tar.append_data(&mut header, crate::node::RESTORE_MARKER, marker.as_bytes())
                .map_err(io_err)?;
            tar.finish().map_err(io_err)?;
            drop(tar);
            out.flush().map_err(io_err)?;
            out.count
        };
        Ok(Reply::BackedUp {
            keys,
            bytes: counted,
        })
    }

    pub(super) fn audit(&self, limit: usize) -> Result<Reply> {
        Ok(Reply::Audit {
            events: crate::audit::recent(&self.node.store, limit.clamp(1, crate::audit::KEEP))?,
        })
    }

    pub(super) fn conflicts(&self) -> Result<Reply> {
        let mut documents = Vec::new();
        for (doc, v) in self.node.store.index_scan(b"conflict/")? {
            let Ok(bytes) = <[u8; 16]>::try_from(doc.as_slice()) else {
                continue;
            };
            let conflicts: Vec<Conflict> = serde_json::from_slice(&v).unwrap_or_default();
            documents.push(DocumentConflicts {
                document: crate::domain::ids::learner_id(&cairn_sync_protocol::DocId(bytes)),
                conflicts,
            });
        }
        Ok(Reply::Conflicts { documents })
    }

    pub(super) fn user_add(
        &self,
        actor: &Actor,
        name: &str,
        roles: &[Role],
        secret: &str,
    ) -> Result<Reply> {
        // The operator may add the first admin; after that staff are managed by admins (or by
        // the operator, who holds the node's key anyway and must be able to let a locked-out
        // lab back in).
        people::add_user(&self.node, actor, name, roles, secret).map(Reply::User)
    }

    pub(super) fn user_list(&self) -> Result<Reply> {
        Ok(Reply::Users {
            users: people::staff(&self.node)?,
        })
    }

    pub(super) fn user_edit(
        &self,
        actor: &Actor,
        name: &str,
        changes: &UserChanges,
    ) -> Result<Reply> {
        let user = people::edit_user(&self.node, actor, name, changes)?;
        if changes.secret.is_some()
            && let Some(bytes) = crate::domain::ids::user_bytes(&user.id)
        {
            self.gate.release_staff(bytes);
        }
        Ok(Reply::User(user))
    }
}

/// A writer that counts what passes through it.
pub(super) struct Counting<W> {
    inner: W,
    pub(super) count: u64,
}

impl<W> Counting<W> {
    pub(super) fn new(inner: W) -> Self {
        Counting { inner, count: 0 }
    }
}

impl<W: std::io::Write> std::io::Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
