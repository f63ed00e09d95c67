//! The Cairn node.
//!
//! Layers, each using only those above it in this list: the store (`store`: the signed log and
//! what is derived from it) → typed records (`records`) → the domain rules (`domain`), sync
//! (`sync`, `transport`) and bundles (`bundle`) → the application layer (`app`: every operation a
//! person can perform, and who may) → the adapters that parse, call it and render: the command
//! line (`cli`), the web interface (`kiosk`) and the control socket (`control`).

pub mod app;
pub mod audit;
pub mod bundle;
pub mod cli;
pub mod clock;
pub mod config;
pub mod control;
pub mod domain;
pub mod error;
pub mod i18n;
pub mod node;
pub mod payload;
pub mod records;
pub mod signin;
pub mod store;
pub mod sync;
pub mod transport;
pub mod web;
