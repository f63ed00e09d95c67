//! Admitting sites: the hub records the admission as a control entry and writes a provisioning
//! file, signed with its key, that the site imports with `cairn join`.

use crate::config::{HubLink, NodeRole};
use crate::domain::ids;
use crate::domain::people::Actor;
use crate::error::{Error, Result};
use crate::node::Node;
use crate::payload::{self, ControlRecord};
use base64::Engine;
use cairn_sync_protocol::{BodyKind, NodeId, Signature};
use serde::{Deserialize, Serialize};

const FORMAT: u32 = 1;

/// What a provisioning file says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provisioning {
    /// Format version.
    pub cairn_provisioning: u32,
    /// The hub's id, name and address.
    pub hub: HubInfo,
    /// The site it admits.
    pub site: SiteInfo,
    /// When the hub wrote it.
    pub issued_at: String,
}

/// The hub, as a provisioning file names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubInfo {
    /// Node id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `host:port`, if the hub is reachable over a network.
    pub address: Option<String>,
}

/// The site, as a provisioning file names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteInfo {
    /// Node id.
    pub id: String,
    /// Display name.
    pub name: String,
}

#[derive(Serialize, Deserialize)]
struct SignedFile {
    provisioning: Provisioning,
    /// base64 of the hub's Ed25519 signature over the JSON of `provisioning`.
    signature: String,
}

fn signing_bytes(p: &Provisioning) -> Result<Vec<u8>> {
    let mut v = b"cairn.provisioning.v1\0".to_vec();
    v.extend(serde_json::to_vec(p).map_err(|e| Error::storage("encoding", e))?);
    Ok(v)
}

fn parse_node_id(text: &str) -> Result<NodeId> {
    text.parse().map_err(|e| {
        Error::invalid(format!(
            "`{}` is not a node id: {e}",
            crate::domain::text::printable(text)
        ))
    })
}

/// Admit a site (hub): record the admission; returns what the provisioning file says and the
/// signed file itself, for the site's `cairn join`.
pub fn enroll_site(
    node: &Node,
    actor: &Actor,
    site: NodeId,
    name: &str,
    address: Option<&str>,
) -> Result<(Provisioning, Vec<u8>)> {
    if node.config().role != NodeRole::Hub {
        return Err(Error::rule("only the hub admits sites"));
    }
    if site == node.id() {
        return Err(Error::invalid(
            "that is the hub's own id; run `cairn id` at the site to get its id",
        ));
    }
    let name = name.trim();
    crate::domain::text::check_line(crate::domain::text::Field::SiteName, name, 200)?;
    if let Some(r) = node.store.site_record(&site)?
        && r.revoked.is_some()
    {
        return Err(Error::refused(
            crate::error::RefusalKind::Rule,
            "that site was revoked; a revoked site stays revoked (give the facility a new node with `cairn init`)",
        )
        .coded("site-revoked", &[]));
    }
    let record = ControlRecord::SiteAdmitted {
        site,
        site_id: site.short(),
        name: name.to_string(),
    };
    node.store.author_entry(
        &node.author(actor.user_id())?,
        ids::trust_doc(),
        BodyKind::Control,
        payload::encode(&record)?,
    )?;
    let config = node.config().clone();
    let p = Provisioning {
        cairn_provisioning: FORMAT,
        hub: HubInfo {
            id: node.id().to_string(),
            name: config.name.clone(),
            address: address
                .map(str::to_string)
                .or_else(|| config.listen.clone().filter(|l| !l.starts_with("0.0.0.0"))),
        },
        site: SiteInfo {
            id: site.to_string(),
            name: name.to_string(),
        },
        issued_at: crate::clock::now_rfc3339(),
    };
    let signature = node.key.sign(&signing_bytes(&p)?);
    let file = SignedFile {
        provisioning: p.clone(),
        signature: base64::engine::general_purpose::STANDARD.encode(signature.0),
    };
    let text = serde_json::to_vec_pretty(&file).map_err(|e| Error::storage("encoding", e))?;
    Ok((p, text))
}

/// Revoke a site (hub): its sessions and bundles are refused from now on.
pub fn revoke_site(node: &Node, actor: &Actor, site: NodeId, reason: &str) -> Result<()> {
    if node.config().role != NodeRole::Hub {
        return Err(Error::rule("only the hub revokes sites"));
    }
    match node.store.site_record(&site)? {
        None => {
            return Err(Error::not_found(format!("{site} was never admitted here")));
        }
        Some(r) if r.revoked.is_some() => {
            return Err(Error::duplicate("that site is already revoked"));
        }
        Some(_) => {}
    }
    crate::domain::text::check_line(crate::domain::text::Field::Reason, reason, 500)?;
    let record = ControlRecord::SiteRevoked {
        site,
        reason: reason.trim().to_string(),
    };
    node.store.author_entry(
        &node.author(actor.user_id())?,
        ids::trust_doc(),
        BodyKind::Control,
        payload::encode(&record)?,
    )?;
    Ok(())
}

/// Largest provisioning file read.
pub const MAX_FILE: u64 = 64 * 1024;

/// Verify a provisioning file's content (signature by the hub it names).
pub fn parse(bytes: &[u8]) -> Result<Provisioning> {
    if bytes.len() as u64 > MAX_FILE {
        return Err(Error::invalid(
            "that file is too large to be a provisioning file",
        ));
    }
    let file: SignedFile = serde_json::from_slice(bytes).map_err(|e| {
        Error::invalid(format!("that is not a Cairn provisioning file: {e}"))
            .coded("not-provisioning", &[])
    })?;
    let p = file.provisioning;
    if p.cairn_provisioning != FORMAT {
        return Err(Error::invalid(format!(
            "provisioning format {} is not supported",
            p.cairn_provisioning
        )));
    }
    let hub = parse_node_id(&p.hub.id)?;
    let sig = base64::engine::general_purpose::STANDARD
        .decode(file.signature.as_bytes())
        .ok()
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
        .ok_or_else(|| Error::forged("the provisioning file's signature is malformed"))?;
    hub.verify(&signing_bytes(&p)?, &Signature(sig))
        .map_err(|_| {
            Error::forged(
                "the provisioning file's signature does not match its contents: it was altered",
            )
        })?;
    Ok(p)
}

/// Join the hub a provisioning file names (site).
pub fn join(node: &Node, file: &[u8]) -> Result<Provisioning> {
    if node.config().role != NodeRole::Site {
        return Err(Error::rule("only a site joins a hub"));
    }
    let p = parse(file)?;
    if p.site.id.parse::<NodeId>().ok() != Some(node.id()) {
        return Err(Error::invalid(format!(
            "this provisioning file admits site {} ({}), not this node ({})",
            p.site.name,
            p.site.id,
            node.id()
        ))
        .coded("provisioning-other-site", &[("site", p.site.name.clone())]));
    }
    node.update_config(|config| {
        if let Some(existing) = &config.hub
            && existing.id != p.hub.id
        {
            return Err(Error::invalid(format!(
                "this site already trusts hub {} ({}); a site trusts exactly one hub",
                existing.name, existing.id
            )));
        }
        config.hub = Some(HubLink {
            id: p.hub.id.clone(),
            name: p.hub.name.clone(),
            address: p.hub.address.clone(),
            site_id: p.site.id.clone(),
        });
        Ok(())
    })?;
    node.store.set_local("authority", &p.hub.id)?;
    Ok(p)
}
