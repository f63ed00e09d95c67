//! The Cairn node: storage, the domain, transport, bundles and the command line.

pub mod audit;
pub mod bundle;
pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod index;
pub mod kiosk;
pub mod node;
pub mod payload;
pub mod signin;
pub mod store;
pub mod sync;
pub mod transport;
