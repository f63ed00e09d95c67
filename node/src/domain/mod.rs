//! The domain: learners, the catalog, the credential lifecycle and the people who act on them.

pub mod catalog;
pub mod credentials;
pub mod files;
pub mod ids;
pub mod learners;
pub mod lifecycle;
pub mod people;
pub mod reconcile;
pub mod reports;
pub mod roster;
pub mod text;
