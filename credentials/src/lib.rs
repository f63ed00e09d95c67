//! Open Badges 3.0 credentials for Cairn, signed and verified offline.
//!
//! - [`did_key`]: a node's signing identity as `did:key:z6Mk…`.
//! - [`data_integrity`]: Data Integrity proofs, `eddsa-rdfc-2022` and `eddsa-jcs-2022`, and the
//!   proof set of both that Cairn signs with (every intermediate value checked against the W3C
//!   test vectors).
//! - [`rdfc`]: JSON-LD to RDF with the contexts shipped here, then RDFC-1.0.
//! - [`open_badges`]: the `OpenBadgeCredential` and the learner's `ClrCredential` bundle.
//! - [`verify`]: what a recognizer checks, with plain-word problems.
//! - [`certificate`]: a printable HTML certificate with the credential embedded and a QR code.
//! - [`qr`]: the QR code's payload: the signed credential, compressed, in a verifier link.
//! - [`verifier_page`]: the offline verifier page (one static HTML file).

pub mod certificate;
pub mod data_integrity;
pub mod did_key;
pub mod open_badges;
pub mod qr;
pub mod rdfc;
pub mod verifier_page;
pub mod verify;
