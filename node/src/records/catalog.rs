//! The catalog document: achievements (badges), pathways (stacks that earn a micro-credential)
//! and recognitions (what a credential is worth elsewhere), each a map from catalog id to record.
//! Each item may carry its name and description in other languages (`names`,
//! `descriptions`: language code → text), shown to learners who read that language.
//!
//! `program` (one map, written by the hub from its configuration) says how the program presents
//! itself on credentials, so every site names the program the same way.

use super::am;
use crate::error::{Error, Result};
use automerge::transaction::Transactable;
use automerge::{Automerge, Prop, ROOT, ReadDoc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;

/// A skill or competency an achievement aligns to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Skill {
    /// Name of the skill.
    pub name: String,
    /// The framework it comes from.
    #[serde(default)]
    pub framework: Option<String>,
    /// Its code in the framework.
    #[serde(default)]
    pub code: Option<String>,
    /// Where it is described.
    #[serde(default)]
    pub url: Option<String>,
}

/// One badge: a competency with criteria and evidence requirements.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Achievement {
    /// Short id (`css-level-1`).
    pub id: String,
    /// Name.
    pub name: String,
    /// What it is.
    pub description: String,
    /// 1 foundations, 2 competency assessment with skills practice, 3 work-based application.
    #[serde(default)]
    pub level: Option<i64>,
    /// What a learner must show.
    pub criteria: String,
    /// What evidence to submit.
    #[serde(default)]
    pub evidence_requirements: String,
    /// Open Badges achievement type.
    #[serde(default = "badge")]
    pub achievement_type: String,
    /// Skill alignments.
    #[serde(default)]
    pub skills: Vec<Skill>,
    /// The program offering it.
    #[serde(default)]
    pub program: Option<String>,
    /// Its name in other languages (language code → name).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub names: BTreeMap<String, String>,
    /// Its description in other languages.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub descriptions: BTreeMap<String, String>,
}

/// The Open Badges achievement type of an achievement that names none.
pub fn badge() -> String {
    "Badge".into()
}

/// A stack of achievements whose completion earns a micro-credential.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Pathway {
    /// Short id.
    pub id: String,
    /// Name of the micro-credential.
    pub name: String,
    /// What it is.
    pub description: String,
    /// The achievements it is made of.
    pub parts: Vec<String>,
    /// The program offering it.
    #[serde(default)]
    pub program: Option<String>,
    /// Its name in other languages (language code → name).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub names: BTreeMap<String, String>,
    /// Its description in other languages.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub descriptions: BTreeMap<String, String>,
}

/// What an achievement or pathway is worth elsewhere.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Recognition {
    /// Short id.
    pub id: String,
    /// The achievement or pathway recognized.
    pub target: String,
    /// Who recognizes it (a college, an employer).
    pub recognizer: String,
    /// What it counts for, in words.
    pub description: String,
    /// Credits granted, if any.
    #[serde(default)]
    pub credits: Option<f64>,
    /// Its description in other languages (language code → text).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub descriptions: BTreeMap<String, String>,
}

/// The name or description to show in `lang`: the translation when there is one, else the
/// catalog's own text.
pub fn in_language<'a>(
    own: &'a str,
    translations: &'a BTreeMap<String, String>,
    lang: &str,
) -> &'a str {
    translations
        .get(lang)
        .map(String::as_str)
        .filter(|t| !t.trim().is_empty())
        .unwrap_or(own)
}

/// How the program presents itself on its credentials (the hub's configuration, published).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramSettings {
    /// The program's name.
    pub name: String,
    /// Its web address.
    #[serde(default)]
    pub url: Option<String>,
    /// What it is, in a sentence.
    #[serde(default)]
    pub description: Option<String>,
    /// Where its verifier page is.
    #[serde(default)]
    pub verifier_url: Option<String>,
    /// Identities credentials carry (hashed) besides the name: `email`, `student-id`.
    #[serde(default)]
    pub identifiers: Vec<String>,
}

/// The whole catalog.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    /// Achievements by id.
    pub achievements: BTreeMap<String, Achievement>,
    /// Pathways by id.
    pub pathways: BTreeMap<String, Pathway>,
    /// Recognitions by id.
    pub recognitions: BTreeMap<String, Recognition>,
    /// How the program presents itself, once the hub published it.
    #[serde(default)]
    pub program: Option<ProgramSettings>,
}

impl Catalog {
    /// Recognitions of an achievement or pathway.
    pub fn recognitions_of(&self, target: &str) -> Vec<&Recognition> {
        self.recognitions
            .values()
            .filter(|r| r.target == target)
            .collect()
    }

    /// Pathways that include an achievement.
    pub fn pathways_with(&self, achievement: &str) -> Vec<&Pathway> {
        self.pathways
            .values()
            .filter(|p| p.parts.iter().any(|x| x == achievement))
            .collect()
    }
}

/// Read the catalog from its document (records this version cannot read are skipped, with a
/// warning: the catalog is the hub's, and a newer hub may know more kinds of field).
pub fn read(doc: &Automerge) -> Catalog {
    fn section<T: serde::de::DeserializeOwned>(doc: &Automerge, name: &str) -> BTreeMap<String, T> {
        am::read_path(doc, &[name])
            .and_then(|v| v.as_object().cloned())
            .map(|m| {
                m.into_iter()
                    .filter_map(|(k, v)| match serde_json::from_value(v) {
                        Ok(x) => Some((k, x)),
                        Err(e) => {
                            tracing::warn!("catalog {name}/{k} is unreadable: {e}");
                            None
                        }
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
    Catalog {
        achievements: section(doc, "achievements"),
        pathways: section(doc, "pathways"),
        recognitions: section(doc, "recognitions"),
        program: am::read_path(doc, &["program"]).and_then(|v| match serde_json::from_value(v) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!("the catalog's program settings are unreadable: {e}");
                None
            }
        }),
    }
}

/// Publish the program's settings.
pub fn put_program<T: Transactable + ReadDoc>(tx: &mut T, p: &ProgramSettings) -> Result<()> {
    let value =
        serde_json::to_value(p).map_err(|e| Error::storage("encoding the program settings", e))?;
    am::write(tx, &ROOT, Prop::Map("type".into()), &json!("catalog"))?;
    am::write(tx, &ROOT, Prop::Map("program".into()), &value)
}

/// Add an item to a section of the catalog document.
pub fn put<T: Transactable + ReadDoc, R: Serialize>(
    tx: &mut T,
    section: &str,
    id: &str,
    item: &R,
) -> Result<()> {
    let value =
        serde_json::to_value(item).map_err(|e| Error::storage("encoding a catalog item", e))?;
    am::write(tx, &ROOT, Prop::Map("type".into()), &json!("catalog"))?;
    let map = am::ensure_map(tx, &ROOT, section)?;
    am::write(tx, &map, Prop::Map(id.to_string()), &value)
}
