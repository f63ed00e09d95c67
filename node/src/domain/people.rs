//! People: staff users with roles, learners signing in, and who is acting.
//!
//! Staff are listed in their node's staff document (synced, so the hub can name who did what);
//! their PIN or password is hashed with argon2 and kept only on their node, never synced.

use super::am;
use super::ids;
use crate::error::{Error, Result};
use crate::node::Node;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use automerge::{Prop, ROOT};
use cairn_sync_protocol::{DocId, UserId};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// What a person may do.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A learner earning badges.
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

/// Who is acting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in staff member.
    Staff(StaffUser),
    /// A signed-in learner (an earner), who may act only on their own record.
    Learner {
        /// Their document.
        doc: DocId,
        /// Their learner number.
        number: String,
    },
    /// Nobody has signed in (bootstrap, or read-only node maintenance).
    Nobody,
}

impl Actor {
    /// The id entries record for this actor.
    pub fn user_id(&self) -> UserId {
        match self {
            Actor::Staff(u) => UserId(ids::user_bytes(&u.id).unwrap_or_default()),
            Actor::Learner { doc, .. } => UserId(doc.0),
            Actor::Nobody => UserId::default(),
        }
    }

    /// A short description for messages.
    pub fn describe(&self) -> String {
        match self {
            Actor::Staff(u) => format!("{} ({})", u.name, join_roles(&u.roles)),
            Actor::Learner { number, .. } => format!("learner {number}"),
            Actor::Nobody => "nobody (not signed in)".into(),
        }
    }

    /// True if a staff member holding `role` is acting.
    pub fn has(&self, role: Role) -> bool {
        matches!(self, Actor::Staff(u) if u.active && u.roles.contains(&role))
    }

    /// Refuse unless a staff member holding one of `roles` is acting.
    pub fn require(&self, roles: &[Role], doing: &str) -> Result<()> {
        if roles.iter().any(|r| self.has(*r)) {
            return Ok(());
        }
        let wanted = roles
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join(" or ");
        Err(match self {
            Actor::Nobody => Error::Usage(format!(
                "{doing} needs a staff member with the {wanted} role: sign in with --as NAME and --secret (or CAIRN_AS and CAIRN_SECRET)"
            )),
            other => Error::unauthorized(format!(
                "{doing} needs the {wanted} role; {} does not have it",
                other.describe()
            )),
        })
    }
}

fn join_roles(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Hash a PIN or password with argon2id.
pub fn hash_secret(secret: &str) -> Result<String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2::Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Storage(format!("could not hash the secret: {e}")))
}

/// Check a PIN or password against its hash.
pub fn verify_secret(hash: &str, secret: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            argon2::Argon2::default()
                .verify_password(secret.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Roles whose holders can change what a learner has earned: their PINs need more digits.
const PRIVILEGED: &[Role] = &[Role::Admin, Role::Issuer, Role::Assessor];

/// Shortest staff PIN for the roles in [`PRIVILEGED`]: a million combinations, so the sign-in
/// gate's forty guesses a day would take decades.
pub const PRIVILEGED_PIN_DIGITS: usize = 6;

/// Check a new staff secret for someone holding `roles`: a PIN of digits (6 to 12 for admins,
/// issuers and assessors, else 4 to 12), or a password of 8 to 128 characters.
pub fn check_secret(secret: &str, roles: &[Role]) -> Result<()> {
    let is_pin = !secret.is_empty() && secret.chars().all(|c| c.is_ascii_digit());
    let privileged = roles.iter().any(|r| PRIVILEGED.contains(r));
    let min = if privileged { PRIVILEGED_PIN_DIGITS } else { 4 };
    if is_pin && !(min..=12).contains(&secret.len()) {
        return Err(Error::invalid(if privileged {
            format!(
                "a PIN for an admin, issuer or assessor has {min} to 12 digits (or use a password of 8 to 128 characters)"
            )
        } else {
            format!("a PIN has {min} to 12 digits")
        }));
    }
    if !is_pin && !(8..=128).contains(&secret.chars().count()) {
        return Err(Error::invalid(format!(
            "a password has 8 to 128 characters (or use a PIN of {min} to 12 digits)"
        )));
    }
    if secret.chars().any(char::is_control) {
        return Err(Error::invalid(
            "a password cannot contain control characters",
        ));
    }
    Ok(())
}

/// Check a learner's kiosk PIN: 4 to 12 digits.
pub fn check_learner_pin(pin: &str) -> Result<()> {
    if !(4..=12).contains(&pin.len()) || !pin.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::invalid("a learner PIN has 4 to 12 digits"));
    }
    Ok(())
}

/// Every staff user of this node.
pub fn staff(node: &Node) -> Result<Vec<StaffUser>> {
    let Some(doc) = node.store.doc(&ids::staff_doc(&node.id()))? else {
        return Ok(Vec::new());
    };
    let Some(users) = am::read_path(&doc, &["users"]) else {
        return Ok(Vec::new());
    };
    let mut out: Vec<StaffUser> = users
        .as_object()
        .map(|m| {
            m.values()
                .filter_map(|v| serde_json::from_value(v.clone()).ok())
                .collect()
        })
        .unwrap_or_default();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Add a staff user. The first user of a node may be added by nobody and must be an admin;
/// after that only an admin may add users.
pub fn add_user(
    node: &Node,
    actor: &Actor,
    name: &str,
    roles: &[Role],
    secret: &str,
) -> Result<StaffUser> {
    let existing = staff(node)?;
    if existing.is_empty() {
        if !roles.contains(&Role::Admin) {
            return Err(Error::invalid(
                "the first user of a node must be an admin (--role admin), so someone can manage the others",
            ));
        }
    } else {
        actor.require(&[Role::Admin], "adding a user")?;
    }
    let name = name.trim();
    super::text::check_line("user name", name, 64)?;
    if roles.is_empty() {
        return Err(Error::invalid("give the user at least one role (--role)"));
    }
    if existing.iter().any(|u| u.name.eq_ignore_ascii_case(name)) {
        return Err(Error::duplicate(format!(
            "there is already a user named {name}"
        )));
    }
    check_secret(secret, roles)?;
    let (id, bytes) = ids::new_user();
    let mut roles = roles.to_vec();
    roles.sort();
    roles.dedup();
    let user = StaffUser {
        id: id.clone(),
        name: name.to_string(),
        roles,
        active: true,
    };
    let hash = hash_secret(secret)?;
    let value = serde_json::to_value(&user).map_err(|e| Error::storage("encoding a user", e))?;
    let node_text = node.id().to_string();
    node.store.change_doc(
        &node.author(actor.user_id())?,
        ids::staff_doc(&node.id()),
        "add user",
        |tx| {
            am::write(tx, &ROOT, Prop::Map("type".into()), &json!("staff"))?;
            am::write(tx, &ROOT, Prop::Map("node".into()), &json!(node_text))?;
            let users = am::ensure_map(tx, &ROOT, "users")?;
            am::write(tx, &users, Prop::Map(id.clone()), &value)
        },
    )?;
    node.store.set_secret(&bytes, &hash)?;
    Ok(user)
}
