//! Who may do what: the one table every adapter obeys (docs/permissions.md is this table in
//! words, and `tests/tests/permissions.rs` checks every operation, role and adapter against it).
//!
//! A row names who may perform an operation: the node's local operator (someone running `cairn`
//! as the service's user without signing in), a signed-in learner — on their own record only,
//! which the operation itself checks — and staff by role. Rules about *where* (only the hub
//! admits sites; a site changes only the learners homed there) are the domain's, not this
//! table's.

use crate::domain::people::{Actor, Role};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Someone who may perform an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    /// The node's local operator.
    Operator,
    /// A signed-in learner, on their own record.
    Learner,
    /// Any signed-in staff member, whatever their roles.
    AnyStaff,
    /// Staff holding this role.
    Role(Role),
}

macro_rules! operations {
    ($( $(#[$doc:meta])* $op:ident = $name:literal : [$($who:expr),* $(,)?] ),* $(,)?) => {
        /// Every operation a person can perform, by its command-line name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Operation {
            $( $(#[$doc])* $op, )*
        }

        impl Operation {
            /// Every operation, in the table's order.
            pub const ALL: &'static [Operation] = &[$(Operation::$op),*];

            /// The command-line name (`learner add`).
            pub fn name(self) -> &'static str {
                match self { $(Operation::$op => $name,)* }
            }

            /// Who may perform it.
            pub fn who_may(self) -> &'static [Who] {
                match self { $(Operation::$op => { const W: &[Who] = &[$($who),*]; W })* }
            }
        }
    };
}

use Role::{Admin, Assessor, Developer, Issuer};
use Who::{AnyStaff, Learner, Operator};
const fn r(role: Role) -> Who {
    Who::Role(role)
}

operations! {
    /// This node's id.
    Id = "id": [Operator, Learner, AnyStaff],
    /// Node id, role, peers, what is held.
    Status = "status": [Operator, r(Admin)],
    /// Verify the whole log.
    Check = "check": [Operator, r(Admin)],
    /// Recompute derived state.
    Rebuild = "rebuild": [Operator, r(Admin)],
    /// Copy the node into a backup.
    Backup = "backup": [Operator, r(Admin)],
    /// Sign-ins and refusals.
    Audit = "audit": [Operator, r(Admin)],
    /// Concurrent values in learners' records.
    Conflicts = "conflicts": [r(Admin)],
    /// Add a staff user.
    UserAdd = "user add": [Operator, r(Admin)],
    /// List staff users.
    UserList = "user list": [Operator, r(Admin)],
    /// Change a staff user's roles, standing or secret.
    UserEdit = "user edit": [Operator, r(Admin)],
    /// The catalog.
    CatalogList = "catalog list": [Operator, Learner, AnyStaff],
    /// Add to the catalog.
    CatalogAdd = "catalog add": [r(Developer)],
    /// Register a learner.
    LearnerAdd = "learner add": [r(Admin)],
    /// Register the learners of a roster.
    LearnerImport = "learner import": [r(Admin)],
    /// A learner's whole record.
    LearnerShow = "learner show": [Learner, r(Assessor), r(Issuer), r(Admin)],
    /// Learners held here.
    LearnerList = "learner list": [r(Assessor), r(Issuer), r(Admin)],
    /// Correct a learner's profile or reset their PIN.
    LearnerEdit = "learner edit": [r(Admin)],
    /// Move a learner to another site (hub).
    LearnerTransfer = "learner transfer": [r(Admin)],
    /// Enroll a learner in an achievement.
    Enroll = "enroll": [r(Admin)],
    /// Submit evidence.
    EvidenceSubmit = "evidence submit": [Learner, r(Admin)],
    /// Read an evidence file.
    EvidenceFile = "evidence file": [Learner, r(Assessor), r(Admin)],
    /// Assess evidence.
    Assess = "assess": [r(Assessor)],
    /// Award an achievement.
    Award = "award": [r(Issuer)],
    /// Record an outcome.
    OutcomeAdd = "outcome add": [r(Admin)],
    /// An award's credential, or a learner's bundle of them.
    CredentialExport = "credential export": [Learner, r(Issuer), r(Admin)],
    /// A printable certificate.
    CredentialCertificate = "credential certificate": [Learner, r(Issuer), r(Admin)],
    /// Check a credential file (also with no node at all).
    CredentialVerify = "credential verify": [Operator, Learner, AnyStaff],
    /// Admit a site (hub).
    SiteEnroll = "site enroll": [r(Admin)],
    /// Revoke a site (hub).
    SiteRevoke = "site revoke": [r(Admin)],
    /// The sites admitted (hub).
    SiteList = "site list": [Operator, r(Admin)],
    /// Trust a hub (site).
    Join = "join": [Operator, r(Admin)],
    /// Write a USB bundle.
    BundleExport = "bundle export": [Operator, r(Admin)],
    /// Apply a USB bundle.
    BundleImport = "bundle import": [Operator, r(Admin)],
    /// Sync with the hub now (site).
    SyncNow = "sync": [Operator, r(Admin)],
    /// What needs reconciling (hub).
    ReconcileList = "reconcile": [r(Admin)],
    /// Settle something (hub).
    Reconcile = "reconcile merge/pick/accept": [r(Admin)],
    /// The codebook CSV (hub).
    ReportCodebook = "report codebook": [r(Admin)],
    /// Completion rates (hub).
    ReportOutcomes = "report outcomes": [r(Admin)],
    /// Sites' sync standing (hub).
    ReportSites = "report sites": [Operator, r(Admin)],
}

/// Whether `actor` is one of `who`.
fn is(actor: &Actor, who: Who) -> bool {
    match (who, actor) {
        (Who::Operator, Actor::Operator) => true,
        (Who::Learner, Actor::Learner { .. }) => true,
        (Who::AnyStaff, Actor::Staff(u)) => u.active,
        (Who::Role(role), a) => a.has(role),
        _ => false,
    }
}

/// Whether `actor` may perform `op` at all (a learner, then, only on their own record).
pub fn allows(op: Operation, actor: &Actor) -> bool {
    op.who_may().iter().any(|w| is(actor, *w))
}

/// Refuse unless `actor` may perform `op`, with a message that says who may.
pub fn check(op: Operation, actor: &Actor) -> Result<()> {
    if allows(op, actor) {
        return Ok(());
    }
    let who: Vec<String> = op
        .who_may()
        .iter()
        .map(|w| match w {
            Who::Operator => "the node's operator".to_string(),
            Who::Learner => "the learner themself".to_string(),
            Who::AnyStaff => "staff".to_string(),
            Who::Role(r) => format!("the {r} role"),
        })
        .collect();
    let hint = match actor {
        Actor::Operator => {
            " (sign in with --as NAME; the secret comes from CAIRN_SECRET or a prompt)"
        }
        _ => "",
    };
    Err(Error::unauthorized(format!(
        "{} needs {}; {} may not{hint}",
        op.name(),
        who.join(" or "),
        actor.describe()
    )))
}

/// For an operation a learner may perform on their own record: refuse a learner acting on
/// someone else's.
fn check_own(actor: &Actor, learner: &cairn_sync_protocol::DocId) -> Result<()> {
    match actor {
        Actor::Learner { doc, .. } if doc != learner => Err(Error::unauthorized(
            "a learner can act only on their own record",
        )),
        _ => Ok(()),
    }
}

/// A learner record that was looked up (by learner, enrollment or award id), checked as the
/// actor's own. A learner asking for an id that does not exist is refused exactly as for one
/// that belongs to someone else, so the kiosk is no oracle for which ids exist.
pub fn owned(
    actor: &Actor,
    found: Result<cairn_sync_protocol::DocId>,
) -> Result<cairn_sync_protocol::DocId> {
    match found {
        Ok(doc) => check_own(actor, &doc).map(|()| doc),
        Err(Error::Refused(r))
            if r.kind == crate::error::RefusalKind::NotFound
                && matches!(actor, Actor::Learner { .. }) =>
        {
            Err(Error::unauthorized(
                "a learner can act only on their own record",
            ))
        }
        Err(e) => Err(e),
    }
}

/// The table as Markdown, as docs/permissions.md shows it (a test keeps them equal).
pub fn table_markdown() -> String {
    let columns: [(&str, Who); 7] = [
        ("operator", Who::Operator),
        ("learner (own record)", Who::Learner),
        ("earner", Who::Role(Role::Earner)),
        ("assessor", Who::Role(Assessor)),
        ("issuer", Who::Role(Issuer)),
        ("developer", Who::Role(Developer)),
        ("admin", Who::Role(Admin)),
    ];
    let mut out = String::from("| operation |");
    for (name, _) in &columns {
        out.push_str(&format!(" {name} |"));
    }
    out.push_str("\n| --- |");
    for _ in &columns {
        out.push_str(" :-: |");
    }
    out.push('\n');
    for op in Operation::ALL {
        out.push_str(&format!("| `{}` |", op.name()));
        for (_, col) in &columns {
            let yes = op
                .who_may()
                .iter()
                .any(|w| *w == *col || (*w == Who::AnyStaff && matches!(col, Who::Role(_))));
            out.push_str(if yes { " ✓ |" } else { " |" });
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_show_the_table_the_code_enforces() {
        let doc = include_str!("../../../docs/permissions.md");
        let table = table_markdown();
        assert!(
            doc.contains(&table),
            "docs/permissions.md does not hold the table the code enforces; it should contain:\n{table}"
        );
    }
}
