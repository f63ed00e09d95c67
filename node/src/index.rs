//! Secondary indexes derived from documents (placeholder until the domain lands).

use automerge::Automerge;
use cairn_sync_protocol::DocId;

/// The index entries (keys without the `I` prefix, and values) a document produces.
pub fn index_document(_doc: &DocId, _am: &Automerge) -> Vec<(Vec<u8>, Vec<u8>)> {
    Vec::new()
}
