//! What operations answer, as types. The command line prints them as text or as JSON (each
//! variant's value is the `result` of `--json`), the web renders them, the control socket carries
//! them to the command line that asked.

use crate::audit;
use crate::bundle::{ExportReport, ImportReport};
use crate::config::{HubLink, NodeRole};
use crate::domain::catalog::Catalog;
use crate::domain::learners::{Edited, LearnerRecord, LearnerSummary, Transfer};
use crate::domain::lifecycle::{Assessment, Award, Enrollment, Evidence, Outcome};
use crate::domain::people::StaffUser;
use crate::domain::reconcile::{ConcurrentAssessments, Duplicate, FieldConflict};
use crate::domain::reports::OutcomesReport;
use crate::records::am::Conflict;
use crate::records::learner::{FileRef, Resolution};
use crate::store::{CheckReport, RebuildReport, SiteRecord};
use crate::sync::driver::SyncReport;
use crate::sync::peer::SyncRecord;
use crate::sync::provision::Provisioning;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// Who this node is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Node id.
    pub id: String,
    /// Hub or site.
    pub role: NodeRole,
    /// Display name.
    pub name: String,
}

/// One feed this node holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedHeld {
    /// The node that writes it.
    pub origin: String,
    /// Its epoch.
    pub epoch: u32,
    /// How far it is held.
    pub held: u64,
    /// This node's own current feed.
    pub own: bool,
}

/// A frozen feed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForkHeld {
    /// The node whose feed forked.
    pub origin: String,
    /// Its epoch.
    pub epoch: u32,
    /// Where.
    pub seq: u64,
}

/// What this node knows of a peer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerStanding {
    /// Node id.
    pub id: String,
    /// The peer's name, when this node knows it (its hub, or an admitted site).
    pub name: Option<String>,
    /// Last time it was reached.
    pub last_contact_ms: Option<u64>,
    /// Last session that completed.
    pub last_success_ms: Option<u64>,
    /// Entries it is known to hold.
    pub known_entries: u64,
    /// This node's own entries it is not known to hold.
    pub pending_own_entries: u64,
    /// How the last attempt ended.
    pub last_outcome: Option<String>,
}

/// `cairn status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    /// Node id.
    pub id: String,
    /// Hub or site.
    pub role: NodeRole,
    /// Display name.
    pub name: String,
    /// The epoch it writes under.
    pub epoch: u32,
    /// Its hub (a site).
    pub hub: Option<HubLink>,
    /// Entries held in all.
    pub entries: u64,
    /// Per feed.
    pub feeds: Vec<FeedHeld>,
    /// Learners held.
    pub learners: usize,
    /// Frozen feeds.
    pub forks: Vec<ForkHeld>,
    /// Bytes on disk.
    pub store_bytes: u64,
    /// Peers.
    pub peers: Vec<PeerStanding>,
    /// Epochs of this node's own feed that forked.
    pub own_forked_epochs: Vec<u32>,
    /// Whether a service (`cairn run` or `cairn serve`) holds the node and answered.
    pub running: bool,
    /// A hub whose derived state was built in part by an earlier release, which lacks what this
    /// one's versions add (`Core::derived_by_earlier_release`): `cairn rebuild` brings it up to
    /// date, and its sessions then read less. Always false at a site, where nothing relies on
    /// those keys.
    #[serde(default)]
    pub rebuild_advised: bool,
}

/// A learner document's concurrent values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DocumentConflicts {
    /// The learner.
    pub document: String,
    /// Its conflicts.
    pub conflicts: Vec<Conflict>,
}

/// A site as the hub's list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteRow {
    /// What the hub recorded.
    pub site: SiteRecord,
    /// Last completed session or bundle.
    pub last_success_ms: Option<u64>,
}

/// A revoked site that may still hold records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedSite {
    /// Node id.
    pub site: String,
    /// Name.
    pub name: String,
    /// Why it was revoked.
    pub reason: String,
    /// Learners still homed there.
    pub learners_homed: usize,
    /// Last contact.
    pub last_contact_ms: Option<u64>,
    /// What to do.
    pub note: String,
}

/// Everything that needs the hub operator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReconcileList {
    /// Likely the same person.
    pub duplicates: Vec<Duplicate>,
    /// Concurrent values.
    pub conflicts: Vec<FieldConflict>,
    /// Evidence assessed more than once.
    pub concurrent_assessments: Vec<ConcurrentAssessments>,
    /// Frozen feeds.
    pub forks: Vec<ForkHeld>,
    /// Revoked sites with learners.
    pub revoked_sites: Vec<RevokedSite>,
}

impl ReconcileList {
    /// How many items are open.
    pub fn open(&self) -> usize {
        self.duplicates.len()
            + self.conflicts.len()
            + self.concurrent_assessments.len()
            + self.forks.len()
            + self.revoked_sites.len()
    }
}

/// A site's standing, as the hub sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SiteStanding {
    /// Node id.
    pub site: String,
    /// Name.
    pub name: String,
    /// Why revoked, if it is.
    pub revoked: Option<String>,
    /// Last contact.
    pub last_contact_ms: Option<u64>,
    /// Days since, to a tenth.
    pub days_since_contact: Option<f64>,
    /// Entries the site is owed.
    pub entries_behind: u64,
    /// Entries received from it.
    pub entries_from_site: u64,
    /// Evidence files of its learners not yet whole here.
    pub pending_evidence_files: u64,
    /// Recent sessions and bundles, newest first.
    pub history: Vec<SyncRecord>,
}

/// What an operation answered.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "reply", content = "value", rename_all = "kebab-case")]
pub enum Reply {
    /// `id`.
    Identity(Identity),
    /// `status`.
    Status(Box<StatusReport>),
    /// `check`.
    Checked(CheckReport),
    /// `rebuild`.
    Rebuilt(RebuildReport),
    /// `backup`: keys copied, bytes written.
    BackedUp {
        /// Keys of the store copied.
        keys: u64,
        /// Bytes written.
        bytes: u64,
    },
    /// `audit`.
    Audit {
        /// Newest first.
        events: Vec<audit::Event>,
    },
    /// `conflicts`.
    Conflicts {
        /// Per learner.
        documents: Vec<DocumentConflicts>,
    },
    /// A staff user added or changed.
    User(StaffUser),
    /// `user list`.
    Users {
        /// By name.
        users: Vec<StaffUser>,
    },
    /// `catalog list`.
    Catalog(Catalog),
    /// An item added to the catalog.
    CatalogItem(super::request::CatalogItem),
    /// `learner add`.
    LearnerAdded(LearnerSummary),
    /// `learner import`.
    LearnersImported(crate::domain::learners::Imported),
    /// `learner show`.
    Learner(Box<LearnerRecord>),
    /// `learner list`.
    Learners {
        /// By number.
        learners: Vec<LearnerSummary>,
    },
    /// `learner edit`.
    LearnerEdited(Box<Edited>),
    /// `learner transfer`.
    Transferred(Transfer),
    /// `enroll`.
    Enrolled(Enrollment),
    /// `evidence submit`.
    EvidenceSubmitted(Evidence),
    /// `evidence file`: the file (its bytes went to the download).
    EvidenceFile(FileRef),
    /// `assess`.
    Assessed(Assessment),
    /// `award`.
    Awarded {
        /// The award and any pathway and recognition awards it completed.
        awards: Vec<Award>,
    },
    /// `outcome add`.
    OutcomeRecorded(Outcome),
    /// `credential export`: the signed credential (or learner bundle).
    Credential {
        /// What it is, in words.
        what: String,
        /// The credential.
        credential: Json,
    },
    /// `credential verify`.
    Verification(Box<cairn_credentials::verify::Verification>),
    /// `credential certificate`.
    Certificate {
        /// The printable page.
        html: String,
    },
    /// `credential verifier-page`.
    VerifierPage {
        /// The page.
        html: String,
        /// The programs it trusts.
        programs: Vec<cairn_credentials::verifier_page::TrustedProgram>,
    },
    /// `site enroll`.
    SiteEnrolled {
        /// What the provisioning file says.
        provisioning: Provisioning,
        /// The signed provisioning file.
        file: String,
    },
    /// `site revoke`.
    SiteRevoked {
        /// The site.
        revoked: String,
        /// Why.
        reason: String,
    },
    /// `site list`.
    Sites {
        /// Admitted and revoked sites.
        sites: Vec<SiteRow>,
    },
    /// `join`.
    Joined {
        /// The hub now trusted.
        hub: crate::sync::provision::HubInfo,
    },
    /// `bundle export`.
    BundleExported(ExportReport),
    /// `bundle import`.
    BundleImported(ImportReport),
    /// `sync`.
    Synced(SyncReport),
    /// `reconcile`.
    Reconcile(ReconcileList),
    /// A settlement.
    Resolution(Resolution),
    /// `report codebook` (the CSV went to the download).
    Codebook {
        /// Learner rows.
        rows: usize,
    },
    /// `report outcomes`.
    Outcomes(OutcomesReport),
    /// `report sites`.
    SiteStanding {
        /// Per site.
        sites: Vec<SiteStanding>,
    },
}
