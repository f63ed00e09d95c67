//! The control socket: while `cairn run` or `cairn serve` holds a data folder (sled allows one
//! process per store), every other `cairn --data FOLDER …` command is carried out by that
//! process, through a Unix socket in the folder (`cairn.sock`, mode 0600, peer checked), instead
//! of opening the store itself. Nothing ever needs a maintenance window.
//!
//! - [`protocol`]: frames and messages, versioned and bounded.
//! - [`server`]: the running node's side.
//! - [`client`]: the command line's side.

pub mod client;
pub mod protocol;
pub mod server;

/// The socket's file name in the data folder.
pub const SOCKET: &str = "cairn.sock";
