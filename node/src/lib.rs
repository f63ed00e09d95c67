//! The Cairn node: storage, the domain, transport, bundles and the command line.

pub mod error;
pub mod index;
pub mod payload;
pub mod store;
