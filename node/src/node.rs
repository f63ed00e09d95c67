//! A node: its folder, configuration, key and store, opened together.

use crate::config::{Config, NodeRole, write_atomically};
use crate::error::{Error, Result};
use crate::records::DocumentIndex;
use crate::store::{Author, Store};
use crate::transport::tls;
use cairn_sync_protocol::{NodeId, NodeKey, UserId};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// An open node.
pub struct Node {
    /// The data folder.
    pub dir: PathBuf,
    // Its configuration: read by every request, changed by `join` while the node runs.
    config: std::sync::RwLock<Config>,
    /// Its signing key.
    pub key: NodeKey,
    /// Its store.
    pub store: Store,
    /// Its TLS client configuration for its hub, made at the first session (see
    /// [`tls::ClientConfigCache`]).
    pub(crate) tls_client: tls::ClientConfigCache,
    // One bundle export or import at a time: each reads a peer's bundle counters when it starts
    // and writes them when it ends, and a running node takes commands from its control socket
    // and its web interface at once (see [`Node::bundle_turn`]).
    bundles: std::sync::Mutex<()>,
}

/// The file `cairn backup` leaves in a backup, so a backup put back by hand is recognized.
pub const RESTORE_MARKER: &str = "RESTORED-FROM-BACKUP";

/// Copy a node's folder (or a backup of one) file by file into `to`, made if missing: what
/// `cairn restore` does, and what tests and benchmarks use to copy a stopped node. Returns the
/// bytes copied.
pub fn copy_dir(from: &Path, to: &Path) -> Result<u64> {
    std::fs::create_dir_all(to)?;
    let mut bytes = 0;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            bytes += copy_dir(&entry.path(), &target)?;
        } else {
            bytes += std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(bytes)
}

fn key_path(dir: &Path) -> PathBuf {
    dir.join("node.key")
}

pub(crate) fn store_path(dir: &Path) -> PathBuf {
    dir.join("store")
}

pub use crate::clock::now_ms;

/// Make the data folder readable by its owner only: it holds the node's key and the argon2
/// hashes of every PIN, which another local user could otherwise guess offline.
fn make_private(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(dir)?;
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| {
                Error::storage(
                    &format!("could not make {} private to its owner", dir.display()),
                    e,
                )
            })?;
        }
    }
    Ok(())
}

impl Node {
    /// Create a node in `dir` (which must not already hold one).
    pub fn init(
        dir: &Path,
        role: NodeRole,
        name: &str,
        institution: Option<String>,
    ) -> Result<Node> {
        crate::domain::text::check_line(crate::domain::text::Field::SiteName, name.trim(), 200)?;
        crate::domain::text::check_optional_line(
            crate::domain::text::Field::Institution,
            institution.as_deref(),
            200,
        )?;
        if dir.join("config.toml").exists() || key_path(dir).exists() {
            return Err(Error::Usage(format!(
                "{} already holds a Cairn node; choose another folder or remove it first",
                dir.display()
            )));
        }
        std::fs::create_dir_all(dir)?;
        make_private(dir)?;
        let key = NodeKey::generate(&mut rand::rngs::OsRng);
        let secret = data_encoding::HEXLOWER.encode(&key.to_bytes());
        write_atomically(&key_path(dir), format!("{secret}\n").as_bytes(), true)?;
        let config = Config {
            role,
            name: name.trim().to_string(),
            institution,
            allow_site_authoring: false,
            hub: None,
            listen: (role == NodeRole::Hub).then(|| "0.0.0.0:7443".to_string()),
            program_url: None,
            program_description: None,
            verifier_url: None,
            credential_identifiers: Vec::new(),
        };
        let store = Store::open(&store_path(dir), Arc::new(DocumentIndex))?;
        store.set_local("epoch", &0u32)?;
        if role == NodeRole::Hub {
            // The hub is the authority for control records (admissions, revocations, transfers).
            store.set_local("authority", &key.id().to_string())?;
        }
        config.save(dir)?;
        Ok(Node {
            dir: dir.to_path_buf(),
            config: std::sync::RwLock::new(config),
            key,
            store,
            tls_client: Default::default(),
            bundles: Default::default(),
        })
    }

    /// Open the node in `dir`.
    pub fn open(dir: &Path) -> Result<Node> {
        Self::open_with(dir, Store::open)
    }

    /// Open the node in `dir` without its store's periodic flush
    /// ([`Store::open_without_periodic_flush`]): for benchmarks that run hundreds of simulated
    /// sites in one process.
    pub fn open_without_periodic_flush(dir: &Path) -> Result<Node> {
        Self::open_with(dir, Store::open_without_periodic_flush)
    }

    fn open_with(
        dir: &Path,
        open_store: fn(&Path, Arc<dyn crate::store::Indexer>) -> Result<Store>,
    ) -> Result<Node> {
        let config = Config::load(dir)?;
        // A folder made by an older release was readable by every local user: close it.
        make_private(dir)?;
        let text = std::fs::read_to_string(key_path(dir)).map_err(|e| {
            Error::storage(
                &format!("could not read the node key in {}", dir.display()),
                e,
            )
        })?;
        let bytes = data_encoding::HEXLOWER
            .decode(text.trim().as_bytes())
            .map_err(|_| Error::storage_msg("node.key is corrupt"))?;
        let secret: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::storage_msg("node.key is corrupt"))?;
        let key = NodeKey::from_bytes(&secret);
        let store = open_store(&store_path(dir), Arc::new(DocumentIndex))?;
        let node = Node {
            dir: dir.to_path_buf(),
            config: std::sync::RwLock::new(config),
            key,
            store,
            tls_client: Default::default(),
            bundles: Default::default(),
        };
        // A backup made by `cairn backup` and copied into place by hand: treat it as restored.
        let marker = dir.join(RESTORE_MARKER);
        if marker.exists() {
            node.start_new_epoch(&[])?;
            std::fs::remove_file(&marker)?;
            tracing::warn!(
                "{} was restored from a backup; it writes under a new epoch",
                dir.display()
            );
        }
        Ok(node)
    }

    /// Its configuration as it stands.
    pub fn config(&self) -> std::sync::RwLockReadGuard<'_, Config> {
        self.config.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Change the configuration and save it (atomically) before anyone sees the change.
    pub fn update_config(&self, change: impl FnOnce(&mut Config) -> Result<()>) -> Result<()> {
        let mut config = self.config.write().unwrap_or_else(|e| e.into_inner());
        let mut next = config.clone();
        change(&mut next)?;
        next.save(&self.dir)?;
        *config = next;
        Ok(())
    }

    /// The turn of one bundle export or import, held for the whole of it. Each reads a peer's
    /// counters (`bundle_out/`, `bundle_in/`) when it starts and writes them when it ends: two
    /// exports that overlapped numbered their bundles alike, and the peer refused the second as
    /// a replay; two imports that overlapped could set `bundle_in/` back to the older bundle's
    /// number. Bundles are rare and a turn is short, so one turn for every peer is enough.
    pub(crate) fn bundle_turn(&self) -> std::sync::MutexGuard<'_, ()> {
        // The lock guards no data; a panic in another export leaves nothing to repair.
        self.bundles.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.key.id()
    }

    /// The epoch this node currently authors under.
    pub fn epoch(&self) -> Result<u32> {
        Ok(self.store.local("epoch")?.unwrap_or(0))
    }

    /// How far this node's own feed (its current epoch) reaches in the store.
    pub fn own_tip(&self) -> Result<u64> {
        let own = cairn_sync_protocol::Origin {
            node: self.id(),
            epoch: self.epoch()?,
        };
        Ok(self.store.tip(&own)?.map_or(0, |t| t.seq))
    }

    /// Move to a new epoch: a fresh origin (and automerge actor) that no copy of this node can
    /// have used. Chosen above every epoch of this node seen here or in `seen`, with a random
    /// gap, so two copies restored from one backup never pick the same one.
    pub fn start_new_epoch(&self, seen: &[u32]) -> Result<u32> {
        use rand::Rng;
        let me = self.id();
        let held = self.store.vector()?;
        let highest = held
            .iter()
            .filter(|(o, _)| o.node == me)
            .map(|(o, _)| o.epoch)
            .chain(seen.iter().copied())
            .chain(std::iter::once(self.epoch()?))
            .max()
            .unwrap_or(0);
        let next = highest
            .saturating_add(1)
            .saturating_add(rand::rngs::OsRng.gen_range(0..1 << 20));
        self.store.set_local("epoch", &next)?;
        tracing::warn!("this node now writes under epoch {next}");
        Ok(next)
    }

    /// The hub this node trusts for control records and vouches (itself, on a hub).
    pub fn hub_id(&self) -> Option<NodeId> {
        let config = self.config();
        match config.role {
            NodeRole::Hub => Some(self.id()),
            NodeRole::Site => config.hub.as_ref().and_then(|h| h.id.parse().ok()),
        }
    }

    /// An author for entries made now by `user`.
    pub fn author(&self, user: UserId) -> Result<Author<'_>> {
        Ok(Author {
            key: &self.key,
            epoch: self.epoch()?,
            now_ms: now_ms(),
            user,
        })
    }

    /// True on the hub.
    pub fn is_hub(&self) -> bool {
        self.config().role == NodeRole::Hub
    }
}
