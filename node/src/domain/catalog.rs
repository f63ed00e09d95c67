//! The catalog: achievements (badges), pathways (stacks that earn a micro-credential) and
//! recognitions (what a credential is worth elsewhere). One document, authored at the hub (or at a
//! site that allows its developers to author).

use super::am;
use super::ids;
use super::people::{Actor, Role};
use crate::error::{Error, Result};
use crate::node::Node;
use automerge::{Prop, ROOT};
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
}

fn badge() -> String {
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
}

/// The whole catalog.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Catalog {
    /// Achievements by id.
    pub achievements: BTreeMap<String, Achievement>,
    /// Pathways by id.
    pub pathways: BTreeMap<String, Pathway>,
    /// Recognitions by id.
    pub recognitions: BTreeMap<String, Recognition>,
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

fn check_id(id: &str) -> Result<()> {
    if id.is_empty()
        || id.len() > 64
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(Error::invalid(format!(
            "`{id}` is not a catalog id: use 1 to 64 lower-case letters, digits and dashes"
        )));
    }
    Ok(())
}

use super::text::{check_line, check_optional_line, check_paragraphs};

fn check_skills(skills: &[Skill]) -> Result<()> {
    for s in skills {
        check_line("skill name", &s.name, 200)?;
        check_optional_line("skill framework", s.framework.as_deref(), 200)?;
        check_optional_line("skill code", s.code.as_deref(), 64)?;
        check_optional_line("skill address", s.url.as_deref(), 500)?;
    }
    Ok(())
}

/// Read the catalog.
pub fn read(node: &Node) -> Result<Catalog> {
    let Some(doc) = node.store.doc(&ids::catalog_doc())? else {
        return Ok(Catalog::default());
    };
    fn section<T: serde::de::DeserializeOwned>(
        doc: &automerge::Automerge,
        name: &str,
    ) -> BTreeMap<String, T> {
        am::read_path(doc, &[name])
            .and_then(|v| v.as_object().cloned())
            .map(|m| {
                m.into_iter()
                    .filter_map(|(k, v)| serde_json::from_value(v).ok().map(|x| (k, x)))
                    .collect()
            })
            .unwrap_or_default()
    }
    Ok(Catalog {
        achievements: section(&doc, "achievements"),
        pathways: section(&doc, "pathways"),
        recognitions: section(&doc, "recognitions"),
    })
}

fn may_author(node: &Node, actor: &Actor) -> Result<()> {
    actor.require(&[Role::Developer], "changing the catalog")?;
    if !node.is_hub() && !node.config.allow_site_authoring {
        return Err(Error::unauthorized(
            "this site does not allow catalog authoring (the hub publishes the catalog; set allow_site_authoring in config.toml to change that)",
        ));
    }
    Ok(())
}

fn put(
    node: &Node,
    actor: &Actor,
    section: &str,
    id: &str,
    value: serde_json::Value,
) -> Result<()> {
    node.store.change_doc(
        &node.author(actor.user_id())?,
        ids::catalog_doc(),
        "catalog",
        |tx| {
            am::write(tx, &ROOT, Prop::Map("type".into()), &json!("catalog"))?;
            let map = am::ensure_map(tx, &ROOT, section)?;
            am::write(tx, &map, Prop::Map(id.to_string()), &value)
        },
    )?;
    Ok(())
}

/// Add an achievement.
pub fn add_achievement(node: &Node, actor: &Actor, mut a: Achievement) -> Result<Achievement> {
    may_author(node, actor)?;
    if a.achievement_type.trim().is_empty() {
        a.achievement_type = badge();
    }
    check_id(&a.id)?;
    check_line("name", &a.name, 200)?;
    check_paragraphs("description", &a.description, 4000)?;
    check_paragraphs("criteria", &a.criteria, 8000)?;
    if !a.evidence_requirements.is_empty() {
        check_paragraphs("evidence requirements", &a.evidence_requirements, 4000)?;
    }
    check_line("achievement type", &a.achievement_type, 64)?;
    check_optional_line("program", a.program.as_deref(), 200)?;
    check_skills(&a.skills)?;
    if let Some(l) = a.level
        && !(1..=3).contains(&l)
    {
        return Err(Error::invalid(
            "the level is 1 (foundations), 2 (competency assessment) or 3 (work-based application)",
        ));
    }
    let catalog = read(node)?;
    if catalog.achievements.contains_key(&a.id) || catalog.pathways.contains_key(&a.id) {
        return Err(Error::duplicate(format!(
            "the catalog already has {}",
            a.id
        )));
    }
    put(
        node,
        actor,
        "achievements",
        &a.id,
        serde_json::to_value(&a).map_err(|e| Error::storage("encoding", e))?,
    )?;
    Ok(a)
}

/// Add a pathway; its parts must already be in the catalog.
pub fn add_pathway(node: &Node, actor: &Actor, p: Pathway) -> Result<Pathway> {
    may_author(node, actor)?;
    check_id(&p.id)?;
    check_line("name", &p.name, 200)?;
    check_paragraphs("description", &p.description, 4000)?;
    check_optional_line("program", p.program.as_deref(), 200)?;
    let catalog = read(node)?;
    if catalog.achievements.contains_key(&p.id) || catalog.pathways.contains_key(&p.id) {
        return Err(Error::duplicate(format!(
            "the catalog already has {}",
            p.id
        )));
    }
    if p.parts.is_empty() {
        return Err(Error::invalid(
            "a pathway needs its parts (--part ACHIEVEMENT, in order)",
        ));
    }
    for part in &p.parts {
        if !catalog.achievements.contains_key(part) {
            return Err(Error::not_found(format!(
                "pathway part {part} is not an achievement in the catalog"
            )));
        }
    }
    put(
        node,
        actor,
        "pathways",
        &p.id,
        serde_json::to_value(&p).map_err(|e| Error::storage("encoding", e))?,
    )?;
    Ok(p)
}

/// Add a recognition of an achievement or pathway.
pub fn add_recognition(node: &Node, actor: &Actor, r: Recognition) -> Result<Recognition> {
    may_author(node, actor)?;
    check_id(&r.id)?;
    check_line("recognizer", &r.recognizer, 200)?;
    check_paragraphs("description", &r.description, 2000)?;
    let catalog = read(node)?;
    if catalog.recognitions.contains_key(&r.id) {
        return Err(Error::duplicate(format!(
            "the catalog already has recognition {}",
            r.id
        )));
    }
    if !catalog.achievements.contains_key(&r.target) && !catalog.pathways.contains_key(&r.target) {
        return Err(Error::not_found(format!(
            "{} is not an achievement or pathway in the catalog",
            r.target
        )));
    }
    if let Some(c) = r.credits
        && !(c.is_finite() && (0.0..=1000.0).contains(&c))
    {
        return Err(Error::invalid("credits are a number from 0 to 1000"));
    }
    put(
        node,
        actor,
        "recognitions",
        &r.id,
        serde_json::to_value(&r).map_err(|e| Error::storage("encoding", e))?,
    )?;
    Ok(r)
}
