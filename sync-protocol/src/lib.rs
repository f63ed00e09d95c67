//! Cairn's sync protocol, without I/O.
//!
//! Everything here is bytes in, bytes out: no sockets, no disk, no clock. The node crate wraps
//! it with tokio and sled; tests drive it directly and deterministically.
//!
//! - [`identity`]: Ed25519 node keys and the checksummed text form of node ids.
//! - [`entry`]: signed log entries, one feed per [`Origin`] (node key, epoch), hash-chained.
//! - [`chain`]: verifying runs of entries and whole stored feeds, including elided ranges.
//! - [`vector`]: version vectors (origin → highest contiguous sequence held).
//! - [`message`], [`frame`], [`codec`]: what crosses the wire and how it is framed and encoded,
//!   with the [`limits`] checked before any allocation.
//! - [`store`]: the storage a session needs ([`LogStore`]) and an in-memory implementation.
//! - [`session`]: the session state machine.
//!
//! # Example: two nodes sync in memory
//!
//! ```
//! use cairn_sync_protocol::*;
//! use rand::SeedableRng;
//!
//! let mut rng = rand::rngs::StdRng::seed_from_u64(7);
//! let (hub_key, site_key) = (NodeKey::generate(&mut rng), NodeKey::generate(&mut rng));
//! let (mut hub, mut site) = (MemoryStore::new(), MemoryStore::new());
//! let body = Body { doc: DocId([1; 16]), user: UserId::default(), kind: BodyKind::Change, data: b"hello".to_vec() };
//! site.author(&site_key, 0, Hlc { wall_ms: 1, counter: 0 }, body);
//!
//! let mut a = Session::new(SessionConfig::default(), site_key.id());
//! let mut b = Session::new(SessionConfig::default(), hub_key.id());
//! a.start(&site, 0).unwrap();
//! b.start(&hub, 0).unwrap();
//! for _ in 0..20 {
//!     while let Some(bytes) = a.poll_transmit(&site, &Everything).unwrap() { b.receive(&bytes, &mut hub).unwrap(); }
//!     while let Some(bytes) = b.poll_transmit(&hub, &Everything).unwrap() { a.receive(&bytes, &mut site).unwrap(); }
//!     if a.is_finished() && b.is_finished() { break; }
//! }
//! assert!(a.is_finished() && b.is_finished());
//! assert_eq!(hub.vector().unwrap(), site.vector().unwrap());
//! ```
#![warn(missing_docs)]

pub mod chain;
pub mod codec;
pub mod entry;
pub mod frame;
pub mod hash;
pub mod hlc;
pub mod identity;
pub mod limits;
pub mod message;
pub mod session;
pub mod store;
pub mod vector;

pub use chain::{ChainError, ElidedRange, FeedChecker, FeedItem, VerifiedRun, verify_run};
pub use entry::{Auth, Body, BodyKind, BodyRef, DocId, Entry, Origin, StoredEntry, UserId};
pub use frame::{FrameDecoder, FrameError, encode_frame, encode_frame_with};
pub use hash::Hash32;
pub use hlc::{Hlc, HybridClock};
pub use identity::{IdentityError, NodeId, NodeKey, Signature, fold_typed_id};
pub use limits::Limits;
pub use message::{Message, PROTOCOL_VERSION, Refusal};
pub use session::{
    Event, Everything, Scope, Session, SessionConfig, SessionError, SignaturePolicy, Stats,
};
pub use store::{Classified, Fork, HiddenEntry, LogStore, MemoryStore, PeerItem, Tip, classify};
pub use vector::VersionVector;
