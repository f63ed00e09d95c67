//! A node's staff directory: one document per node, synced (so the hub can name who did what),
//! listing each staff user with their roles. PINs and passwords are hashed with argon2 and kept
//! only on their node (the store's local `P` keys), never here.

use super::am;
use crate::error::{Error, Result};
use automerge::transaction::Transactable;
use automerge::{Automerge, Prop, ROOT, ReadDoc};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// What a person may do.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A learner earning badges (a staff account with no staff powers).
    Earner,
    /// Judges evidence against criteria.
    Assessor,
    /// Awards badges and exports credentials.
    Issuer,
    /// Defines achievements, pathways and recognitions.
    Developer,
    /// Registers learners, enrolls them, manages users and the node.
    Admin,
}

impl Role {
    /// Every role, in order.
    pub const ALL: [Role; 5] = [
        Role::Earner,
        Role::Assessor,
        Role::Issuer,
        Role::Developer,
        Role::Admin,
    ];
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Earner => "earner",
            Role::Assessor => "assessor",
            Role::Issuer => "issuer",
            Role::Developer => "developer",
            Role::Admin => "admin",
        })
    }
}

/// A staff member as the staff document records them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffUser {
    /// `U-...`
    pub id: String,
    /// Sign-in name.
    pub name: String,
    /// Roles held.
    pub roles: Vec<Role>,
    /// False once deactivated.
    pub active: bool,
}

impl StaffUser {
    /// Roles as "assessor, issuer".
    pub fn roles_text(&self) -> String {
        self.roles
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Every staff user in a staff document, by name.
pub fn read(doc: &Automerge) -> Vec<StaffUser> {
    let mut out: Vec<StaffUser> = am::read_path(doc, &["users"])
        .and_then(|u| u.as_object().cloned())
        .into_iter()
        .flatten()
        .filter_map(|(id, v)| match serde_json::from_value(v) {
            Ok(u) => Some(u),
            Err(e) => {
                tracing::warn!("staff user {id} is unreadable: {e}");
                None
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Add or update a staff user in the staff document of node `node_id`.
pub fn put<T: Transactable + ReadDoc>(tx: &mut T, node_id: &str, user: &StaffUser) -> Result<()> {
    let value = serde_json::to_value(user).map_err(|e| Error::storage("encoding a user", e))?;
    am::write(tx, &ROOT, Prop::Map("type".into()), &json!("staff"))?;
    am::write(tx, &ROOT, Prop::Map("node".into()), &json!(node_id))?;
    let users = am::ensure_map(tx, &ROOT, "users")?;
    am::write(tx, &users, Prop::Map(user.id.clone()), &value)
}
