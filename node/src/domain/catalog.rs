//! The catalog: achievements (badges), pathways (stacks that earn a micro-credential) and
//! recognitions (what a credential is worth elsewhere). One document, authored at the hub (or at a
//! site that allows its developers to author).

use super::ids;
use super::people::Actor;
use crate::error::{Error, Result};
use crate::node::Node;
pub use crate::records::catalog::{Achievement, Catalog, Pathway, Recognition, Skill, badge};

fn check_id(id: &str) -> Result<()> {
    if id.is_empty()
        || id.len() > 64
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(Error::invalid(format!(
            "`{id}` is not a catalog id: use 1 to 64 lower-case letters, digits and dashes"
        ))
        .coded("catalog-id", &[]));
    }
    Ok(())
}

use super::text::{check_line, check_optional_line, check_paragraphs};

fn check_skills(skills: &[Skill]) -> Result<()> {
    for s in skills {
        check_line(crate::domain::text::Field::SkillName, &s.name, 200)?;
        check_optional_line(
            crate::domain::text::Field::SkillFramework,
            s.framework.as_deref(),
            200,
        )?;
        check_optional_line(crate::domain::text::Field::SkillCode, s.code.as_deref(), 64)?;
        check_optional_line(
            crate::domain::text::Field::SkillAddress,
            s.url.as_deref(),
            500,
        )?;
    }
    Ok(())
}

/// Read the catalog.
pub fn read(node: &Node) -> Result<Catalog> {
    Ok(node
        .store
        .doc(&ids::catalog_doc())?
        .map(|doc| crate::records::catalog::read(&doc))
        .unwrap_or_default())
}

/// The hub publishes the catalog; a site authors only when its configuration allows.
fn require_authoring(node: &Node) -> Result<()> {
    if !node.is_hub() && !node.config().allow_site_authoring {
        return Err(Error::rule(
            "this site does not allow catalog authoring (the hub publishes the catalog; set allow_site_authoring in config.toml to change that)",
        ));
    }
    Ok(())
}

fn put<T: serde::Serialize>(
    node: &Node,
    actor: &Actor,
    section: &str,
    id: &str,
    item: &T,
) -> Result<()> {
    node.store.change_doc(
        &node.author(actor.user_id())?,
        ids::catalog_doc(),
        "catalog",
        |tx| crate::records::catalog::put(tx, section, id, item),
    )?;
    Ok(())
}

/// Add an achievement.
pub fn add_achievement(node: &Node, actor: &Actor, mut a: Achievement) -> Result<Achievement> {
    require_authoring(node)?;
    if a.achievement_type.trim().is_empty() {
        a.achievement_type = badge();
    }
    check_id(&a.id)?;
    check_line(crate::domain::text::Field::Name, &a.name, 200)?;
    check_paragraphs(
        crate::domain::text::Field::Description,
        &a.description,
        4000,
    )?;
    check_paragraphs(crate::domain::text::Field::Criteria, &a.criteria, 8000)?;
    if !a.evidence_requirements.is_empty() {
        check_paragraphs(
            crate::domain::text::Field::EvidenceRequirements,
            &a.evidence_requirements,
            4000,
        )?;
    }
    check_line(
        crate::domain::text::Field::AchievementType,
        &a.achievement_type,
        64,
    )?;
    check_optional_line(
        crate::domain::text::Field::Program,
        a.program.as_deref(),
        200,
    )?;
    check_skills(&a.skills)?;
    if let Some(l) = a.level
        && !(1..=3).contains(&l)
    {
        return Err(Error::invalid(
            "the level is 1 (foundations), 2 (competency assessment) or 3 (work-based application)",
        )
        .coded("level", &[]));
    }
    let catalog = read(node)?;
    if catalog.achievements.contains_key(&a.id) || catalog.pathways.contains_key(&a.id) {
        return Err(
            Error::duplicate(format!("the catalog already has {}", a.id))
                .coded("catalog-taken", &[("id", a.id.clone())]),
        );
    }
    put(node, actor, "achievements", &a.id, &a)?;
    Ok(a)
}

/// Add a pathway; its parts must already be in the catalog.
pub fn add_pathway(node: &Node, actor: &Actor, p: Pathway) -> Result<Pathway> {
    require_authoring(node)?;
    check_id(&p.id)?;
    check_line(crate::domain::text::Field::Name, &p.name, 200)?;
    check_paragraphs(
        crate::domain::text::Field::Description,
        &p.description,
        4000,
    )?;
    check_optional_line(
        crate::domain::text::Field::Program,
        p.program.as_deref(),
        200,
    )?;
    let catalog = read(node)?;
    if catalog.achievements.contains_key(&p.id) || catalog.pathways.contains_key(&p.id) {
        return Err(
            Error::duplicate(format!("the catalog already has {}", p.id))
                .coded("catalog-taken", &[("id", p.id.clone())]),
        );
    }
    if p.parts.is_empty() {
        return Err(
            Error::invalid("a pathway needs its parts (--part ACHIEVEMENT, in order)")
                .coded("pathway-parts", &[]),
        );
    }
    for part in &p.parts {
        if !catalog.achievements.contains_key(part) {
            return Err(Error::not_found(format!(
                "pathway part {part} is not an achievement in the catalog"
            )));
        }
    }
    put(node, actor, "pathways", &p.id, &p)?;
    Ok(p)
}

/// Add a recognition of an achievement or pathway.
pub fn add_recognition(node: &Node, actor: &Actor, r: Recognition) -> Result<Recognition> {
    require_authoring(node)?;
    check_id(&r.id)?;
    check_line(crate::domain::text::Field::Recognizer, &r.recognizer, 200)?;
    check_paragraphs(
        crate::domain::text::Field::Description,
        &r.description,
        2000,
    )?;
    let catalog = read(node)?;
    if catalog.recognitions.contains_key(&r.id) {
        return Err(
            Error::duplicate(format!("the catalog already has recognition {}", r.id))
                .coded("catalog-taken", &[("id", r.id.clone())]),
        );
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
        return Err(Error::invalid("credits are a number from 0 to 1000").coded("credits", &[]));
    }
    put(node, actor, "recognitions", &r.id, &r)?;
    Ok(r)
}
