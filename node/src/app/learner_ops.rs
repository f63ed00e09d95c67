//! The catalog, learners and the credential lifecycle, with the learner's own-record check for
//! what learners may do.

use super::policy::owned;
use super::reply::Reply;
use super::request::{CatalogItem, FileSpec};
use super::{App, Transfer, read_upload};
use crate::domain::learners::{self, Profile, ProfileChanges};
use crate::domain::lifecycle::{self, Decision, OutcomeReport, Upload};
use crate::domain::people::Actor;
use crate::domain::{catalog, credentials, files, roster, text};
use crate::error::{Error, Result};

impl App {
    pub(super) fn catalog_list(&self) -> Result<Reply> {
        Ok(Reply::Catalog(catalog::read(&self.node)?))
    }

    pub(super) fn catalog_add(&self, actor: &Actor, item: CatalogItem) -> Result<Reply> {
        let node = &self.node;
        Ok(Reply::CatalogItem(match item {
            CatalogItem::Achievement(a) => {
                CatalogItem::Achievement(catalog::add_achievement(node, actor, a)?)
            }
            CatalogItem::Pathway(p) => CatalogItem::Pathway(catalog::add_pathway(node, actor, p)?),
            CatalogItem::Recognition(r) => {
                CatalogItem::Recognition(catalog::add_recognition(node, actor, r)?)
            }
        }))
    }

    pub(super) fn learner_add(
        &self,
        actor: &Actor,
        profile: Profile,
        pin: Option<&str>,
    ) -> Result<Reply> {
        learners::add(&self.node, actor, profile, pin).map(Reply::LearnerAdded)
    }

    pub(super) fn learner_import(
        &self,
        actor: &Actor,
        file: &FileSpec,
        io: &mut dyn Transfer,
    ) -> Result<Reply> {
        // The limit is checked on the declared size before a byte is read.
        if file.size > roster::MAX_BYTES {
            return Err(roster::too_large());
        }
        let bytes = read_upload(io.upload(0)?, file.size, &text::printable(&file.name))?;
        let rows = roster::parse(&bytes)?;
        learners::import(&self.node, actor, rows).map(Reply::LearnersImported)
    }

    pub(super) fn learner_show(&self, actor: &Actor, learner: &str) -> Result<Reply> {
        let doc = owned(actor, learners::find(&self.node, learner))?;
        Ok(Reply::Learner(Box::new(learners::record(
            &self.node, &doc,
        )?)))
    }

    pub(super) fn learner_list(&self, search: Option<&str>) -> Result<Reply> {
        let mut all = learners::list(&self.node)?;
        if let Some(words) = search.map(str::trim).filter(|s| !s.is_empty()) {
            let fold = cairn_credentials::verify::normalize_identity;
            let words: Vec<String> = words.split_whitespace().map(fold).collect();
            all.retain(|l| {
                let hay = fold(&format!("{} {} {}", l.number, l.id, l.name));
                words.iter().all(|w| hay.contains(w.as_str()))
            });
        }
        Ok(Reply::Learners { learners: all })
    }

    pub(super) fn learner_edit(
        &self,
        actor: &Actor,
        learner: &str,
        changes: &ProfileChanges,
        pin: Option<&str>,
    ) -> Result<Reply> {
        let edited = learners::edit(&self.node, actor, learner, changes, pin)?;
        if pin.is_some()
            && let Ok(doc) = learners::find(&self.node, &edited.id)
        {
            // A new PIN lifts any hold on the account: staff checked who is asking.
            self.gate.release_learner(doc);
        }
        Ok(Reply::LearnerEdited(Box::new(edited)))
    }

    pub(super) fn learner_transfer(&self, actor: &Actor, learner: &str, to: &str) -> Result<Reply> {
        let to = self.resolve_site(to)?;
        learners::transfer(&self.node, actor, learner, to).map(Reply::Transferred)
    }

    pub(super) fn enroll(
        &self,
        actor: &Actor,
        learner: &str,
        achievement: &str,
        previously_attempted: bool,
    ) -> Result<Reply> {
        lifecycle::enroll(
            &self.node,
            actor,
            learner,
            achievement,
            previously_attempted,
        )
        .map(Reply::Enrolled)
    }

    pub(super) fn evidence_submit(
        &self,
        actor: &Actor,
        enrollment: &str,
        narrative: Option<&str>,
        files: &[FileSpec],
        io: &mut dyn Transfer,
    ) -> Result<Reply> {
        owned(actor, learners::doc_of(&self.node, enrollment))?;
        // Every limit is checked on what was declared before a byte is read.
        let declared: Vec<(String, u64)> = files.iter().map(|f| (f.name.clone(), f.size)).collect();
        lifecycle::check_submission(narrative, &declared)?;
        let mut uploads = Vec::with_capacity(files.len());
        for (i, f) in files.iter().enumerate() {
            let data = read_upload(io.upload(i)?, f.size, &text::printable(&f.name))?;
            uploads.push(Upload {
                name: f.name.clone(),
                data,
            });
        }
        lifecycle::submit_evidence(&self.node, actor, enrollment, narrative, &uploads)
            .map(Reply::EvidenceSubmitted)
    }

    pub(super) fn evidence_file(
        &self,
        actor: &Actor,
        sha256: &str,
        io: &mut dyn Transfer,
    ) -> Result<Reply> {
        let sha256 = sha256.trim().to_ascii_lowercase();
        let listed = |record: &learners::LearnerRecord| {
            record
                .evidence
                .values()
                .flat_map(|e| e.files.iter())
                .find(|f| f.sha256 == sha256)
                .cloned()
        };
        // A learner reads only files they sent; staff read any listed in a record held here.
        let file = match actor {
            Actor::Learner { doc, .. } => {
                listed(&learners::record(&self.node, doc)?).ok_or_else(|| {
                    Error::unauthorized("a learner can read only the files they sent")
                })?
            }
            _ => learners::all(&self.node)?
                .iter()
                .find_map(|(_, r)| listed(r))
                .ok_or_else(|| {
                    Error::not_found(format!("no evidence here lists the file {sha256}"))
                })?,
        };
        let data = files::read(&self.node, &sha256)?;
        let mut out = io.download()?;
        out.write_all(&data)
            .and_then(|()| out.flush())
            .map_err(|e| Error::storage("writing the evidence file", e))?;
        Ok(Reply::EvidenceFile(file))
    }

    pub(super) fn assess(
        &self,
        actor: &Actor,
        evidence: &str,
        decision: Decision,
        feedback: Option<&str>,
    ) -> Result<Reply> {
        lifecycle::assess(&self.node, actor, evidence, decision, feedback).map(Reply::Assessed)
    }

    pub(super) fn award(&self, actor: &Actor, enrollment: &str) -> Result<Reply> {
        Ok(Reply::Awarded {
            awards: lifecycle::award(&self.node, actor, enrollment)?,
        })
    }

    pub(super) fn outcome_add(
        &self,
        actor: &Actor,
        learner: &str,
        outcome: &OutcomeReport,
    ) -> Result<Reply> {
        lifecycle::add_outcome(&self.node, actor, learner, outcome).map(Reply::OutcomeRecorded)
    }

    /// At the hub, sign the program's copies first, so what is handed out is the program's.
    fn program_copies_first(&self) {
        if let Err(e) = self.program_upkeep() {
            tracing::warn!("signing the program's credentials failed: {e}");
        }
    }

    pub(super) fn credential_export(&self, actor: &Actor, award: &str) -> Result<Reply> {
        owned(actor, learners::doc_of(&self.node, award))?;
        self.program_copies_first();
        let (credential, _) = credentials::export_award(&self.node, award)?;
        Ok(Reply::Credential {
            what: "an Open Badges 3.0 credential".into(),
            credential,
        })
    }

    pub(super) fn credential_bundle(&self, actor: &Actor, learner: &str) -> Result<Reply> {
        let doc = owned(actor, learners::find(&self.node, learner))?;
        self.program_copies_first();
        let record = learners::record(&self.node, &doc)?;
        Ok(Reply::Credential {
            what: "all of the learner's credentials (a ClrCredential)".into(),
            credential: credentials::export_learner(&self.node, &record)?,
        })
    }

    pub(super) fn credential_verify(
        &self,
        file: &FileSpec,
        name: Option<&str>,
        payload: Option<&str>,
        program: Option<&str>,
        io: &mut dyn Transfer,
    ) -> Result<Reply> {
        let limit = cairn_credentials::verify::MAX_FILE as u64;
        let bytes = match payload {
            Some(p) if p.len() as u64 > limit => {
                return Err(Error::invalid("that QR payload is longer than any QR code"));
            }
            Some(p) => p.as_bytes().to_vec(),
            None => {
                if file.size > limit {
                    return Err(Error::invalid(format!(
                        "{} is {} bytes; a credential file is at most {limit} bytes",
                        text::printable(&file.name),
                        file.size
                    )));
                }
                read_upload(io.upload(0)?, file.size, "the credential")?
            }
        };
        let trust = credentials::ProgramTrust::of(&self.node)?;
        let checked = credentials::program_check(program, &trust)?;
        let trust: &dyn cairn_credentials::verify::IssuerTrust = match &checked {
            Some(p) => p,
            None => &trust,
        };
        credentials::verify(&bytes, trust, name).map(|v| Reply::Verification(Box::new(v)))
    }

    pub(super) fn credential_verifier_page(&self, programs: &[String]) -> Result<Reply> {
        let mut trusted = credentials::trusted_programs(&self.node)?;
        for p in credentials::named_programs(programs)? {
            if !trusted.iter().any(|t| t.id == p.id) {
                trusted.push(p);
            }
        }
        Ok(Reply::VerifierPage {
            html: cairn_credentials::verifier_page::page(&trusted),
            programs: trusted,
        })
    }

    pub(super) fn credential_certificate(
        &self,
        actor: &Actor,
        award: &str,
        lang: Option<&str>,
    ) -> Result<Reply> {
        owned(actor, learners::doc_of(&self.node, award))?;
        self.program_copies_first();
        Ok(Reply::Certificate {
            html: credentials::certificate(&self.node, award, lang)?,
        })
    }
}

use std::io::Write as _;
