//! People: who is acting, staff users and their secrets.
//!
//! Staff are listed in their node's staff document (synced, so the hub can name who did what);
//! their PIN or password is hashed with argon2 and kept only on their node, never synced. Who may
//! do what is decided in one place, the application layer (`crate::app::policy`); this module
//! only keeps the records.

use super::ids;
use super::text;
use crate::error::{Error, Result};
use crate::node::Node;
use crate::records::ActorRef;
pub use crate::records::staff::{Role, StaffUser};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use cairn_sync_protocol::{DocId, UserId};

/// Who is acting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in staff member.
    Staff(StaffUser),
    /// A signed-in learner, who may act only on their own record.
    Learner {
        /// Their document.
        doc: DocId,
        /// Their learner number.
        number: String,
    },
    /// The node's local operator: whoever runs `cairn` as the service's user (or root) without
    /// signing in. Looks after the node; does not act on learners' records.
    Operator,
}

impl Actor {
    /// The id entries record for this actor.
    pub fn user_id(&self) -> UserId {
        match self {
            Actor::Staff(u) => UserId(ids::user_bytes(&u.id).unwrap_or_default()),
            Actor::Learner { doc, .. } => UserId(doc.0),
            Actor::Operator => UserId::default(),
        }
    }

    /// How records name this actor.
    pub fn record_ref(&self) -> Option<ActorRef> {
        match self {
            Actor::Staff(u) => Some(ActorRef::staff(&u.id, &u.name)),
            Actor::Learner { number, .. } => Some(ActorRef::learner(number)),
            Actor::Operator => None,
        }
    }

    /// A short description for messages.
    pub fn describe(&self) -> String {
        match self {
            Actor::Staff(u) => format!("{} ({})", u.name, u.roles_text()),
            Actor::Learner { number, .. } => format!("learner {number}"),
            Actor::Operator => "the node's operator (not signed in)".into(),
        }
    }

    /// True if an active staff member holding `role` is acting.
    pub fn has(&self, role: Role) -> bool {
        matches!(self, Actor::Staff(u) if u.active && u.roles.contains(&role))
    }

    /// True for a staff member (of any role).
    pub fn is_staff(&self) -> bool {
        matches!(self, Actor::Staff(u) if u.active)
    }
}

/// Hash a PIN or password with argon2id.
pub fn hash_secret(secret: &str) -> Result<String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2::Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::storage_msg(format!("could not hash the secret: {e}")))
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
        })
        .coded("staff-secret", &[("min", min.to_string())]));
    }
    if !is_pin && !(8..=128).contains(&secret.chars().count()) {
        return Err(Error::invalid(format!(
            "a password has 8 to 128 characters (or use a PIN of {min} to 12 digits)"
        ))
        .coded("staff-secret", &[("min", min.to_string())]));
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
        return Err(Error::invalid("a learner PIN has 4 to 12 digits").coded("learner-pin", &[]));
    }
    Ok(())
}

/// Every staff user of this node.
pub fn staff(node: &Node) -> Result<Vec<StaffUser>> {
    Ok(node
        .store
        .doc(&ids::staff_doc(&node.id()))?
        .map(|doc| crate::records::staff::read(&doc))
        .unwrap_or_default())
}

/// A staff user by name (case does not matter).
pub fn find_staff(node: &Node, name: &str) -> Result<Option<StaffUser>> {
    let name = name.trim();
    Ok(staff(node)?
        .into_iter()
        .find(|u| u.name.eq_ignore_ascii_case(name)))
}

fn write_user(node: &Node, actor: &Actor, user: &StaffUser, message: &str) -> Result<()> {
    let node_text = node.id().to_string();
    node.store.change_doc(
        &node.author(actor.user_id())?,
        ids::staff_doc(&node.id()),
        message,
        |tx| crate::records::staff::put(tx, &node_text, user),
    )?;
    Ok(())
}

/// Add a staff user. The first user of a node must be an admin, so someone can manage the
/// others.
pub fn add_user(
    node: &Node,
    actor: &Actor,
    name: &str,
    roles: &[Role],
    secret: &str,
) -> Result<StaffUser> {
    let existing = staff(node)?;
    if existing.is_empty() && !roles.contains(&Role::Admin) {
        return Err(Error::invalid(
            "the first user of a node must be an admin, so someone can manage the others",
        ));
    }
    let name = name.trim();
    text::check_line(crate::domain::text::Field::UserName, name, 64)?;
    if roles.is_empty() {
        return Err(Error::invalid("give the user at least one role").coded("no-role", &[]));
    }
    if existing.iter().any(|u| u.name.eq_ignore_ascii_case(name)) {
        return Err(
            Error::duplicate(format!("there is already a user named {name}"))
                .coded("user-exists", &[("name", name.to_string())]),
        );
    }
    check_secret(secret, roles)?;
    let (id, bytes) = ids::new_user();
    let mut roles = roles.to_vec();
    roles.sort();
    roles.dedup();
    let user = StaffUser {
        id,
        name: name.to_string(),
        roles,
        active: true,
    };
    let hash = hash_secret(secret)?;
    write_user(node, actor, &user, "add user")?;
    node.store.set_secret(&bytes, &hash)?;
    Ok(user)
}

/// Changes to a staff user.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UserChanges {
    /// New roles (replacing the old).
    pub roles: Option<Vec<Role>>,
    /// Activate or deactivate.
    pub active: Option<bool>,
    /// A new PIN or password.
    pub secret: Option<String>,
}

/// Change a staff user's roles, standing or secret. The node always keeps one active admin.
pub fn edit_user(
    node: &Node,
    actor: &Actor,
    name: &str,
    changes: &UserChanges,
) -> Result<StaffUser> {
    let all = staff(node)?;
    let mut user = all
        .iter()
        .find(|u| u.name.eq_ignore_ascii_case(name.trim()))
        .cloned()
        .ok_or_else(|| Error::not_found(format!("there is no user named {}", name.trim())))?;
    if let Some(roles) = &changes.roles {
        if roles.is_empty() {
            return Err(Error::invalid("give the user at least one role"));
        }
        let mut roles = roles.clone();
        roles.sort();
        roles.dedup();
        user.roles = roles;
    }
    if let Some(active) = changes.active {
        user.active = active;
    }
    let admins_left = all
        .iter()
        .filter(|u| u.id != user.id && u.active && u.roles.contains(&Role::Admin))
        .count()
        + usize::from(user.active && user.roles.contains(&Role::Admin));
    if admins_left == 0 {
        return Err(Error::rule(
            "this would leave the node without an active admin; make someone else admin first",
        )
        .coded("last-admin", &[]));
    }
    let bytes =
        ids::user_bytes(&user.id).ok_or_else(|| Error::storage_msg("a user id is corrupt"))?;
    let hash = match &changes.secret {
        Some(secret) => {
            check_secret(secret, &user.roles)?;
            Some(hash_secret(secret)?)
        }
        None => None,
    };
    if changes.roles.is_some() || changes.active.is_some() {
        write_user(node, actor, &user, "edit user")?;
    }
    if let Some(hash) = hash {
        node.store.set_secret(&bytes, &hash)?;
    }
    Ok(user)
}
