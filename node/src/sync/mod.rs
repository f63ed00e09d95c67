//! Network sync between a hub and its sites (design.md: Sync, Transport and trust).
//!
//! - [`provision`]: admitting sites and joining a hub.
//! - [`scope`]: what the hub lets each site hold.
//! - [`peer`]: checkpoints and history per peer.
//! - [`driver`]: one session over a byte stream.

pub mod driver;
pub mod hub;
pub mod peer;
pub mod provision;
pub mod scope;
pub mod site;
