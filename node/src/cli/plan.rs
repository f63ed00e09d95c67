//! From the command line's arguments to a typed request, the files it carries and where its
//! output goes. Nothing here decides anything: that is the application layer's job.

use super::args::*;
use super::secrets;
use crate::app::Request;
use crate::app::request::{CatalogItem, FileSpec, Settle};
use crate::domain::catalog::{Achievement, Pathway, Recognition, Skill};
use crate::domain::learners::{Profile, ProfileChanges};
use crate::domain::lifecycle::OutcomeReport;
use crate::domain::people::UserChanges;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Where a request's output stream goes.
#[derive(Clone, Debug)]
pub enum Download {
    /// A file, written whole or not at all.
    File(PathBuf),
    /// A new folder the stream (a tar archive) is unpacked into.
    Folder(PathBuf),
}

/// A request and its files, ready to perform here or at the running node.
#[derive(Debug)]
pub struct Plan {
    /// What to do.
    pub request: Request,
    /// The files whose bytes travel with it, in order.
    pub uploads: Vec<PathBuf>,
    /// Where the output stream goes.
    pub download: Option<Download>,
    /// Where a small output the reply carries is written (a credential, a certificate, a
    /// provisioning file).
    pub out: Option<PathBuf>,
}

impl Plan {
    pub(super) fn new(request: Request) -> Plan {
        Plan {
            request,
            uploads: Vec::new(),
            download: None,
            out: None,
        }
    }
}

/// The spec of a file a person named: its name and size, refusing what is not a regular file.
pub fn file_spec(path: &Path) -> Result<FileSpec> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Error::invalid(format!("{} is not a usable file name", path.display())))?
        .to_string();
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::invalid(format!("cannot read {}: {e}", path.display())))?;
    if !meta.is_file() {
        return Err(Error::invalid(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    Ok(FileSpec {
        name,
        size: meta.len(),
    })
}

fn parse_skill(s: &str) -> Result<Skill> {
    let mut parts = s
        .split('|')
        .map(|p| p.trim())
        .map(|p| (!p.is_empty()).then(|| p.to_string()));
    let skill = Skill {
        name: parts.next().flatten().unwrap_or_default(),
        framework: parts.next().flatten(),
        code: parts.next().flatten(),
        url: parts.next().flatten(),
    };
    if skill.name.is_empty() {
        return Err(Error::invalid(
            "a --skill needs a name: NAME[|FRAMEWORK[|CODE[|URL]]]",
        ));
    }
    Ok(skill)
}

/// A QR code's content given in place of a file (a link ending in `#` and digits, or digits),
/// when no such file exists.
pub fn qr_payload(arg: &Path) -> Option<String> {
    let text = arg.to_str()?;
    (!arg.exists() && cairn_credentials::qr::looks_like_payload(text)).then(|| text.to_string())
}

fn with_out(mut p: Plan, out: PathBuf) -> Plan {
    p.out = Some(out);
    p
}

fn downloading(mut p: Plan, d: Download) -> Plan {
    p.download = Some(d);
    p
}

/// The plan for a command that goes through the application layer (`None` for the commands the
/// command line handles itself: init, restore, demo, serve, run, a looping sync).
pub fn build(command: Command) -> Result<Option<Plan>> {
    Ok(Some(match command {
        Command::Init { .. }
        | Command::Restore { .. }
        | Command::Demo { .. }
        | Command::Serve { .. }
        | Command::Run { .. }
        | Command::Debug(_) => return Ok(None),
        Command::Sync { once: false, .. } => return Ok(None),
        Command::Sync { once: true, hub } => Plan::new(Request::SyncNow { hub }),
        Command::Id => Plan::new(Request::Id),
        Command::Status => Plan::new(Request::Status),
        Command::Check => Plan::new(Request::Check),
        Command::Rebuild => Plan::new(Request::Rebuild),
        Command::Backup { out } => {
            if out.exists() && std::fs::read_dir(&out).map_or(true, |mut d| d.next().is_some()) {
                return Err(Error::Usage(format!(
                    "{} already exists and is not empty",
                    out.display()
                )));
            }
            downloading(Plan::new(Request::Backup), Download::Folder(out))
        }
        Command::Audit { limit } => Plan::new(Request::Audit { limit }),
        Command::Conflicts => Plan::new(Request::Conflicts),
        Command::User(UserCommand::Add {
            name,
            role,
            pin,
            password,
        }) => {
            let secret = match pin.or(password) {
                Some(s) => s,
                None => secrets::new_secret(&format!("{name}'s PIN or password"))?,
            };
            Plan::new(Request::UserAdd {
                name,
                roles: role,
                secret,
            })
        }
        Command::User(UserCommand::List) => Plan::new(Request::UserList),
        Command::User(UserCommand::Edit {
            name,
            role,
            deactivate,
            activate,
            new_secret,
        }) => {
            let secret = if new_secret {
                Some(secrets::new_secret(&format!(
                    "{name}'s new PIN or password"
                ))?)
            } else {
                None
            };
            Plan::new(Request::UserEdit {
                name,
                changes: UserChanges {
                    roles: (!role.is_empty()).then_some(role),
                    active: if deactivate {
                        Some(false)
                    } else if activate {
                        Some(true)
                    } else {
                        None
                    },
                    secret,
                },
            })
        }
        Command::Catalog(CatalogCommand::List) => Plan::new(Request::CatalogList),
        Command::Catalog(CatalogCommand::Add(add)) => Plan::new(Request::CatalogAdd {
            item: match *add {
                CatalogAdd::Achievement(a) => CatalogItem::Achievement(Achievement {
                    skills: a
                        .skills
                        .iter()
                        .map(|s| parse_skill(s))
                        .collect::<Result<_>>()?,
                    id: a.id,
                    name: a.name,
                    description: a.description,
                    level: a.level,
                    criteria: a.criteria,
                    evidence_requirements: a.evidence_requirements,
                    achievement_type: a.achievement_type,
                    program: a.program,
                    names: a.names.into_iter().collect(),
                    descriptions: a.descriptions.into_iter().collect(),
                }),
                CatalogAdd::Pathway {
                    id,
                    name,
                    description,
                    parts,
                    program,
                    names,
                } => CatalogItem::Pathway(Pathway {
                    id,
                    name,
                    description,
                    parts,
                    program,
                    names: names.into_iter().collect(),
                    ..Default::default()
                }),
                CatalogAdd::Recognition {
                    id,
                    target,
                    recognizer,
                    description,
                    credits,
                } => CatalogItem::Recognition(Recognition {
                    id,
                    target,
                    recognizer,
                    description,
                    credits,
                    ..Default::default()
                }),
            },
        }),
        Command::Learner(LearnerCommand::Add(a)) => {
            let a = *a;
            let pin = secrets::pin_argument(a.pin, &format!("{}'s kiosk PIN", a.number))?;
            Plan::new(Request::LearnerAdd {
                profile: Profile {
                    number: a.number,
                    given_name: a.given_name,
                    family_name: a.family_name,
                    institution: a.institution,
                    institution_id: a.institution_id,
                    email: a.email,
                    year_of_birth: a.year_of_birth,
                    gender: a.gender,
                    race_ethnicity: a.race_ethnicity,
                    primary_language: a.primary_language,
                    pell_eligible: a.pell_eligible,
                    ses_determination: a.ses_determination,
                    enrollment_status: a.enrollment_status,
                    first_generation: a.first_generation,
                    first_enrollment: a.first_enrollment,
                    interface_language: a.interface_language,
                },
                pin,
            })
        }
        Command::Learner(LearnerCommand::Import { file }) => {
            let mut p = Plan::new(Request::LearnerImport {
                file: file_spec(&file)?,
            });
            p.uploads = vec![file];
            p
        }
        Command::Learner(LearnerCommand::Show { id }) => {
            Plan::new(Request::LearnerShow { learner: id })
        }
        Command::Learner(LearnerCommand::List { search }) => {
            Plan::new(Request::LearnerList { search })
        }
        Command::Learner(LearnerCommand::Edit(e)) => {
            let e = *e;
            let pin = secrets::pin_argument(e.pin, &format!("{}'s new kiosk PIN", e.id))?;
            Plan::new(Request::LearnerEdit {
                learner: e.id,
                changes: ProfileChanges {
                    given_name: e.given_name,
                    family_name: e.family_name,
                    institution: e.institution,
                    institution_id: e.institution_id,
                    email: e.email,
                    year_of_birth: e.year_of_birth,
                    gender: e.gender,
                    race_ethnicity: (!e.race_ethnicity.is_empty()).then_some(e.race_ethnicity),
                    primary_language: e.primary_language,
                    pell_eligible: e.pell_eligible,
                    ses_determination: e.ses_determination,
                    enrollment_status: e.enrollment_status,
                    first_generation: e.first_generation,
                    first_enrollment: e.first_enrollment,
                    interface_language: e.interface_language,
                },
                pin,
            })
        }
        Command::Learner(LearnerCommand::Transfer { learner, to }) => {
            Plan::new(Request::LearnerTransfer { learner, to })
        }
        Command::Enroll {
            learner,
            achievement,
            previously_attempted,
        } => Plan::new(Request::Enroll {
            learner,
            achievement,
            previously_attempted,
        }),
        Command::Evidence(EvidenceCommand::Submit {
            enrollment,
            files,
            narrative,
        }) => {
            let specs = files.iter().map(|f| file_spec(f)).collect::<Result<_>>()?;
            let mut p = Plan::new(Request::EvidenceSubmit {
                enrollment,
                narrative,
                files: specs,
            });
            p.uploads = files;
            p
        }
        Command::Evidence(EvidenceCommand::File { sha256, out }) => downloading(
            Plan::new(Request::EvidenceFile { sha256 }),
            Download::File(out),
        ),
        Command::Assess {
            evidence,
            decision,
            feedback,
        } => Plan::new(Request::Assess {
            evidence,
            decision,
            feedback,
        }),
        Command::Award { enrollment } => Plan::new(Request::Award { enrollment }),
        Command::Outcome(OutcomeCommand::Add {
            learner,
            kind,
            detail,
            date,
            credits_transferred,
            degree,
        }) => Plan::new(Request::OutcomeAdd {
            learner,
            outcome: OutcomeReport {
                kind,
                detail,
                date,
                credits_transferred,
                degree,
            },
        }),
        Command::Credential(CredentialCommand::Export {
            award,
            learner,
            out,
        }) => with_out(
            Plan::new(match (award, learner) {
                (_, Some(learner)) => Request::CredentialBundle { learner },
                (Some(award), None) => Request::CredentialExport { award },
                (None, None) => return Err(Error::Usage("name an award, or --learner".into())),
            }),
            out,
        ),
        Command::Credential(CredentialCommand::Certificate { award, out, lang }) => with_out(
            Plan::new(Request::CredentialCertificate { award, lang }),
            out,
        ),
        Command::Credential(CredentialCommand::Verify {
            file,
            name,
            program,
        }) => match qr_payload(&file) {
            Some(payload) => Plan::new(Request::CredentialVerify {
                file: FileSpec {
                    name: "QR code".into(),
                    size: 0,
                },
                name,
                payload: Some(payload),
                program,
            }),
            None => {
                let mut p = Plan::new(Request::CredentialVerify {
                    file: file_spec(&file)?,
                    name,
                    payload: None,
                    program,
                });
                p.uploads = vec![file];
                p
            }
        },
        Command::Credential(CredentialCommand::VerifierPage { out, program }) => with_out(
            Plan::new(Request::CredentialVerifierPage { programs: program }),
            out,
        ),
        Command::Site(SiteCommand::Enroll {
            site_id,
            name,
            out,
            address,
        }) => with_out(
            Plan::new(Request::SiteEnroll {
                site: site_id,
                name,
                address,
            }),
            out,
        ),
        Command::Site(SiteCommand::Revoke { site_id, reason }) => Plan::new(Request::SiteRevoke {
            site: site_id,
            reason,
        }),
        Command::Site(SiteCommand::List) => Plan::new(Request::SiteList),
        Command::Join { file } => {
            let mut p = Plan::new(Request::Join {
                file: file_spec(&file)?,
            });
            p.uploads = vec![file];
            p
        }
        Command::Bundle(BundleCommand::Export {
            out,
            for_site,
            full,
        }) => downloading(
            Plan::new(Request::BundleExport { for_site, full }),
            Download::File(out),
        ),
        Command::Bundle(BundleCommand::Import { file }) => {
            let mut p = Plan::new(Request::BundleImport {
                file: file_spec(&file)?,
            });
            p.uploads = vec![file];
            p
        }
        Command::Reconcile { action } => Plan::new(match action {
            None => Request::ReconcileList,
            Some(ReconcileCommand::Merge { keep, duplicate }) => Request::Reconcile {
                settle: Settle::Merge { keep, duplicate },
            },
            Some(ReconcileCommand::Pick {
                learner,
                field,
                value,
            }) => Request::Reconcile {
                settle: Settle::Pick {
                    learner,
                    field,
                    value,
                },
            },
            Some(ReconcileCommand::Accept { assessment }) => Request::Reconcile {
                settle: Settle::Accept { assessment },
            },
        }),
        Command::Report(ReportCommand::Codebook { out }) => {
            downloading(Plan::new(Request::ReportCodebook), Download::File(out))
        }
        Command::Report(ReportCommand::Outcomes) => Plan::new(Request::ReportOutcomes),
        Command::Report(ReportCommand::Sites) => Plan::new(Request::ReportSites),
    }))
}
