//! Every operation as one typed request. The command line, the web interface and the control
//! socket all build these; the control socket carries them as JSON.

use super::policy::Operation;
use crate::domain::catalog::{Achievement, Pathway, Recognition};
use crate::domain::learners::{Profile, ProfileChanges};
use crate::domain::lifecycle::{Decision, OutcomeReport};
use crate::domain::people::{Role, UserChanges};
use serde::{Deserialize, Serialize};

/// A file that travels with a request (its bytes follow, in order) or that a request reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSpec {
    /// Its name (the last component of what the person gave).
    pub name: String,
    /// Its size in bytes, as declared: checked against limits before any byte is read, and
    /// the bytes sent may not exceed it.
    pub size: u64,
}

/// Something added to the catalog.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "item", rename_all = "kebab-case")]
pub enum CatalogItem {
    /// A badge.
    Achievement(Achievement),
    /// A stack earning a micro-credential.
    Pathway(Pathway),
    /// What something counts for elsewhere.
    Recognition(Recognition),
}

/// A hub operator's settlement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Settle {
    /// Merge a duplicate into the record kept.
    Merge {
        /// Kept.
        keep: String,
        /// Merged into it.
        duplicate: String,
    },
    /// Pick a field's value.
    Pick {
        /// The learner.
        learner: String,
        /// The dotted field path.
        field: String,
        /// The value (JSON or plain text).
        value: String,
    },
    /// Accept one of concurrent assessments.
    Accept {
        /// The assessment.
        assessment: String,
    },
}

/// One operation with its input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Request {
    /// This node's id.
    Id,
    /// Health and sync state.
    Status,
    /// Verify the log.
    Check,
    /// Recompute derived state.
    Rebuild,
    /// A consistent copy of the data folder, as a tar stream (the download).
    Backup,
    /// Newest audit events.
    Audit {
        /// How many.
        limit: usize,
    },
    /// Concurrent values.
    Conflicts,
    /// Add a staff user.
    UserAdd {
        /// Name.
        name: String,
        /// Roles.
        roles: Vec<Role>,
        /// PIN or password.
        secret: String,
    },
    /// Staff users.
    UserList,
    /// Change a staff user.
    UserEdit {
        /// Who.
        name: String,
        /// What changes.
        changes: UserChanges,
    },
    /// The catalog.
    CatalogList,
    /// Add to the catalog.
    CatalogAdd {
        /// What.
        item: CatalogItem,
    },
    /// Register a learner.
    LearnerAdd {
        /// Codebook fields.
        profile: Profile,
        /// Kiosk PIN.
        pin: Option<String>,
    },
    /// Register every learner of a roster (a CSV file), all or none.
    LearnerImport {
        /// The roster.
        file: FileSpec,
    },
    /// A learner's record.
    LearnerShow {
        /// `L-` id or number.
        learner: String,
    },
    /// Learners held here, optionally matching a search (number, id or name).
    LearnerList {
        /// Words to look for.
        search: Option<String>,
    },
    /// Correct a profile or reset a PIN.
    LearnerEdit {
        /// `L-` id or number.
        learner: String,
        /// Fields to change.
        changes: ProfileChanges,
        /// New PIN.
        pin: Option<String>,
    },
    /// Move a learner (hub).
    LearnerTransfer {
        /// `L-` id or number.
        learner: String,
        /// The receiving site (node id or unambiguous prefix).
        to: String,
    },
    /// Enroll.
    Enroll {
        /// `L-` id or number.
        learner: String,
        /// Achievement id.
        achievement: String,
        /// Attempted before.
        previously_attempted: bool,
    },
    /// Submit evidence; the files' bytes follow the request.
    EvidenceSubmit {
        /// `E-` id.
        enrollment: String,
        /// In the learner's words.
        narrative: Option<String>,
        /// The files, in order.
        files: Vec<FileSpec>,
    },
    /// An evidence file (the download).
    EvidenceFile {
        /// SHA-256, hex.
        sha256: String,
    },
    /// Assess.
    Assess {
        /// `V-` id.
        evidence: String,
        /// Proficient or not yet.
        decision: Decision,
        /// For the learner.
        feedback: Option<String>,
    },
    /// Award.
    Award {
        /// `E-` id.
        enrollment: String,
    },
    /// Record an outcome.
    OutcomeAdd {
        /// `L-` id or number.
        learner: String,
        /// What happened.
        outcome: OutcomeReport,
    },
    /// One award's credential.
    CredentialExport {
        /// `A-` id.
        award: String,
    },
    /// All of a learner's credentials as one signed bundle.
    CredentialBundle {
        /// `L-` id or number.
        learner: String,
    },
    /// A printable certificate.
    CredentialCertificate {
        /// `A-` id.
        award: String,
        /// Its language (`en`, `es`); the learner's own interface language when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lang: Option<String>,
    },
    /// Check a credential file against its proof and this node's trust records; its bytes
    /// follow.
    CredentialVerify {
        /// The file (no bytes travel when `payload` is given).
        file: FileSpec,
        /// The learner's name as printed, to check the credential was made out to it.
        name: Option<String>,
        /// A QR code's content given as it is (the verifier link, or its digits), instead of
        /// a file.
        #[serde(default)]
        payload: Option<String>,
        /// A program's did:key the credential must come from (signed by it, or by a key it
        /// endorsed in the credential).
        #[serde(default)]
        program: Option<String>,
    },
    /// The offline verifier page, trusting this node's program and any others named.
    CredentialVerifierPage {
        /// More programs to trust (did:key).
        #[serde(default)]
        programs: Vec<String>,
    },
    /// Admit a site (hub).
    SiteEnroll {
        /// Its node id.
        site: String,
        /// Its name.
        name: String,
        /// How the site reaches the hub.
        address: Option<String>,
    },
    /// Revoke a site (hub).
    SiteRevoke {
        /// Node id, prefix or name.
        site: String,
        /// Why.
        reason: String,
    },
    /// Admitted sites.
    SiteList,
    /// Trust the hub a provisioning file names; the file's bytes follow.
    Join {
        /// The file.
        file: FileSpec,
    },
    /// A USB bundle (the download).
    BundleExport {
        /// On the hub: the site.
        for_site: Option<String>,
        /// Everything, not only what is missing.
        full: bool,
    },
    /// Apply a USB bundle; its bytes follow.
    BundleImport {
        /// The file.
        file: FileSpec,
    },
    /// One sync session with the hub now.
    SyncNow {
        /// The hub's address, if not the configured one.
        hub: Option<String>,
    },
    /// What needs reconciling.
    ReconcileList,
    /// Settle one item.
    Reconcile {
        /// How.
        settle: Settle,
    },
    /// The codebook CSV (the download).
    ReportCodebook,
    /// Completion rates.
    ReportOutcomes,
    /// Sites' sync standing.
    ReportSites,
}

impl Request {
    /// The operation, for the permission table.
    pub fn operation(&self) -> Operation {
        use Operation as O;
        match self {
            Request::Id => O::Id,
            Request::Status => O::Status,
            Request::Check => O::Check,
            Request::Rebuild => O::Rebuild,
            Request::Backup => O::Backup,
            Request::Audit { .. } => O::Audit,
            Request::Conflicts => O::Conflicts,
            Request::UserAdd { .. } => O::UserAdd,
            Request::UserList => O::UserList,
            Request::UserEdit { .. } => O::UserEdit,
            Request::CatalogList => O::CatalogList,
            Request::CatalogAdd { .. } => O::CatalogAdd,
            Request::LearnerAdd { .. } => O::LearnerAdd,
            Request::LearnerShow { .. } => O::LearnerShow,
            Request::LearnerList { .. } => O::LearnerList,
            Request::LearnerEdit { .. } => O::LearnerEdit,
            Request::LearnerTransfer { .. } => O::LearnerTransfer,
            Request::Enroll { .. } => O::Enroll,
            Request::EvidenceSubmit { .. } => O::EvidenceSubmit,
            Request::EvidenceFile { .. } => O::EvidenceFile,
            Request::Assess { .. } => O::Assess,
            Request::Award { .. } => O::Award,
            Request::OutcomeAdd { .. } => O::OutcomeAdd,
            Request::CredentialExport { .. } | Request::CredentialBundle { .. } => {
                O::CredentialExport
            }
            Request::CredentialCertificate { .. } => O::CredentialCertificate,
            Request::CredentialVerify { .. } => O::CredentialVerify,
            Request::CredentialVerifierPage { .. } => O::CredentialVerifierPage,
            Request::SiteEnroll { .. } => O::SiteEnroll,
            Request::SiteRevoke { .. } => O::SiteRevoke,
            Request::SiteList => O::SiteList,
            Request::Join { .. } => O::Join,
            Request::BundleExport { .. } => O::BundleExport,
            Request::BundleImport { .. } => O::BundleImport,
            Request::LearnerImport { .. } => O::LearnerImport,
            Request::SyncNow { .. } => O::SyncNow,
            Request::ReconcileList => O::ReconcileList,
            Request::Reconcile { .. } => O::Reconcile,
            Request::ReportCodebook => O::ReportCodebook,
            Request::ReportOutcomes => O::ReportOutcomes,
            Request::ReportSites => O::ReportSites,
        }
    }

    /// The files whose bytes travel with this request, in order.
    pub fn uploads(&self) -> Vec<&FileSpec> {
        match self {
            Request::EvidenceSubmit { files, .. } => files.iter().collect(),
            Request::Join { file }
            | Request::BundleImport { file }
            | Request::LearnerImport { file }
            | Request::CredentialVerify {
                file,
                payload: None,
                ..
            } => vec![file],
            _ => Vec::new(),
        }
    }

    /// Whether this request writes a stream back (the download).
    pub fn downloads(&self) -> bool {
        matches!(
            self,
            Request::Backup
                | Request::EvidenceFile { .. }
                | Request::BundleExport { .. }
                | Request::ReportCodebook
        )
    }

    /// Whether it changes what the node holds (for the audit trail of refusals and for tests).
    pub fn writes(&self) -> bool {
        !matches!(
            self,
            Request::Id
                | Request::Status
                | Request::Check
                | Request::Backup
                | Request::Audit { .. }
                | Request::Conflicts
                | Request::UserList
                | Request::CatalogList
                | Request::LearnerShow { .. }
                | Request::LearnerList { .. }
                | Request::EvidenceFile { .. }
                | Request::CredentialExport { .. }
                | Request::CredentialBundle { .. }
                | Request::CredentialCertificate { .. }
                | Request::CredentialVerify { .. }
                | Request::CredentialVerifierPage { .. }
                | Request::SiteList
                | Request::ReconcileList
                | Request::ReportCodebook
                | Request::ReportOutcomes
                | Request::ReportSites
        )
    }
}
