//! Records as Rust types, and the one place they are read from and written to automerge
//! documents.
//!
//! | document | type | where |
//! | --- | --- | --- |
//! | one per learner | [`learner::LearnerRecord`]: profile, enrollments, evidence, assessments, awards, outcomes, resolutions | [`learner`] |
//! | the program's catalog | [`catalog::Catalog`]: achievements, pathways, recognitions | [`catalog`] |
//! | one staff directory per node | [`staff::StaffUser`] with [`staff::Role`]s | [`staff`] |
//!
//! Records are written field by field into automerge maps ([`am`]), never replaced wholesale, so
//! concurrent edits to different fields merge and concurrent edits to one field are kept side by
//! side (and shown as conflicts). Reading is tolerant: a document written by an older release, or
//! a record some peer wrote in a shape this version does not understand, is read as far as it can
//! be; records that cannot be read are listed, never silently dropped (`cairn check` reports
//! them). The layout is the one Cairn has always written, so stores made by earlier releases open
//! unchanged (`tests/tests/compatibility.rs`).

pub mod am;
pub mod catalog;
pub mod index;
pub mod learner;
pub mod staff;

pub use index::DocumentIndex;

use serde::{Deserialize, Serialize};

/// Who did something, as a record names them: a staff member by id and name, a learner by
/// number, or nobody (the node's local operator).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorRef {
    /// A staff user's `U-` id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// A staff user's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A learner's number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learner: Option<String>,
}

impl ActorRef {
    /// A staff member.
    pub fn staff(id: &str, name: &str) -> ActorRef {
        ActorRef {
            id: Some(id.into()),
            name: Some(name.into()),
            learner: None,
        }
    }

    /// A learner, by number.
    pub fn learner(number: &str) -> ActorRef {
        ActorRef {
            learner: Some(number.into()),
            ..Default::default()
        }
    }

    /// A short description for people.
    pub fn describe(&self) -> String {
        match (&self.name, &self.learner) {
            (Some(n), _) => n.clone(),
            (None, Some(l)) => format!("learner {l}"),
            (None, None) => "the node's operator".into(),
        }
    }
}
