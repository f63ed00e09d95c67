//! Open Badges 3.0 credentials for Cairn, signed and verified offline.
//!
//! - [`did_key`]: a node's signing identity as `did:key:z6Mk…`.
//! - [`data_integrity`]: the `eddsa-jcs-2022` Data Integrity proof (sign, verify, and every
//!   intermediate value, checked against the W3C test vectors).
//! - [`open_badges`]: the `OpenBadgeCredential` and the learner's `ClrCredential` bundle.
//! - [`verify`]: what a recognizer checks, with plain-word problems.
//! - [`certificate`]: a printable HTML certificate with the credential embedded and a QR code.

pub mod certificate;
pub mod data_integrity;
pub mod did_key;
pub mod open_badges;
pub mod verify;
