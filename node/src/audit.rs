//! The audit trail: sign-ins (failed, held, succeeded) and refused actions, kept on this node for
//! its operator (`cairn audit`). It is local state, never synced: addresses and mistyped names are
//! nobody else's business, and a site's trail says nothing about the program's records.
//!
//! Writing an event never fails the action it describes; a trail that cannot be written is
//! logged as a warning instead.

use crate::error::{Error, Result};
use crate::node::now_ms;
use crate::store::Store;
use serde::{Deserialize, Serialize};

/// Most events kept; older ones are dropped.
pub const KEEP: usize = 100_000;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// A secret was checked and was right.
    SignedIn,
    /// A secret was checked and was wrong, or the account does not exist.
    SignInFailed,
    /// A sign-in was refused unchecked: the account or the address had to wait.
    SignInHeld,
    /// A signed-in person was refused an action (role, record, or a forged form).
    Refused,
}

/// Where a request came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Channel {
    /// The command line, opening the store itself.
    CommandLine,
    /// The web interface.
    Web,
    /// The control socket of a running node (the command line, while `cairn run` or `cairn
    /// serve` holds the store).
    Socket,
}

/// One event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// When, ms since the Unix epoch (this node's clock).
    pub at_ms: u64,
    /// What.
    pub event: EventKind,
    /// Through which door.
    pub channel: Channel,
    /// The account as typed or resolved (a staff name, a learner number), if any.
    pub account: Option<String>,
    /// The client's network address, for the web.
    pub address: Option<String>,
    /// More, in words.
    pub detail: Option<String>,
}

/// Longest text kept in one field: whatever a person (or an attacker) typed is cut to this.
const FIELD: usize = 64;

fn clip(s: &str) -> String {
    crate::domain::text::printable(s)
        .chars()
        .take(FIELD)
        .collect()
}

impl Event {
    /// An event now.
    pub fn new(event: EventKind, channel: Channel) -> Event {
        Event {
            at_ms: now_ms(),
            event,
            channel,
            account: None,
            address: None,
            detail: None,
        }
    }

    /// With the account (clipped and made printable).
    pub fn account(mut self, account: &str) -> Event {
        self.account = Some(clip(account));
        self
    }

    /// With the client's address.
    pub fn address(mut self, address: Option<std::net::IpAddr>) -> Event {
        self.address = address.map(|a| a.to_string());
        self
    }

    /// With details.
    pub fn detail(mut self, detail: &str) -> Event {
        self.detail = Some(
            crate::domain::text::printable(detail)
                .chars()
                .take(200)
                .collect(),
        );
        self
    }
}

/// Add an event to the trail (never fails the caller).
pub fn record(store: &Store, event: &Event) {
    let written = serde_json::to_vec(event)
        .map_err(|e| Error::storage("encoding an audit event", e))
        .and_then(|bytes| store.audit_append(event.at_ms, &bytes));
    if let Err(e) = written {
        tracing::warn!("could not write the audit trail: {e}");
    }
    // Pruning scans the trail: do it now and then, not on every event.
    if rand::random::<u16>().is_multiple_of(512)
        && let Err(e) = store.audit_prune(KEEP)
    {
        tracing::warn!("could not prune the audit trail: {e}");
    }
}

/// The newest `limit` events, newest first.
pub fn recent(store: &Store, limit: usize) -> Result<Vec<Event>> {
    store
        .audit_recent(limit)?
        .into_iter()
        .map(|b| {
            serde_json::from_slice(&b)
                .map_err(|e| Error::storage("an audit event is unreadable", e))
        })
        .collect()
}
