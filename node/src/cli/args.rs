//! The command line's shape: every command, argument and help text.

use crate::config::NodeRole;
use crate::records::learner::{Decision, EnrollmentStatus, Gender, OutcomeKind, RaceEthnicity};
use crate::records::staff::Role;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// The data folder when neither --data nor CAIRN_DATA names one: the Debian package's
/// `/var/lib/cairn` in the binary it installs (built with the `packaged` feature), so commands
/// run with sudo or from cron need no --data; else `./cairn-data`.
pub const DEFAULT_DATA: &str = if cfg!(feature = "packaged") {
    "/var/lib/cairn"
} else {
    "./cairn-data"
};

/// Cairn: offline-first records of learners' micro-credentials, synced between sites and a hub.
#[derive(Parser, Debug)]
#[command(
    name = "cairn",
    version,
    about,
    long_about = "Cairn keeps a signed log of learners, enrollments, evidence, assessments and awards at each \
site, works fully offline, and merges with the program's hub over mutually authenticated TLS or by \
USB stick.\n\nExit status: 0 success, 2 usage error, 3 input refused (invalid, forged, unauthorized), \
4 storage or I/O failure, 5 peer unreachable.",
    after_help = "Start with `cairn demo` to see the whole story, or `cairn init --role site --name NAME`."
)]
pub struct Cli {
    /// The node's data folder. Run by root on a folder that belongs to another user (the
    /// service's user, `cairn`), a command that finds no running node to carry it out does its
    /// work as that user, so the service can read everything it writes.
    #[arg(
        long,
        global = true,
        env = "CAIRN_DATA",
        default_value = DEFAULT_DATA,
        value_name = "DIR"
    )]
    pub data: PathBuf,

    /// Print one JSON object instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// Act as this staff user (needs --secret).
    #[arg(long = "as", global = true, env = "CAIRN_AS", value_name = "NAME")]
    pub as_user: Option<String>,

    /// Act as this learner, by learner number (needs --secret: the learner's PIN).
    #[arg(long, global = true, env = "CAIRN_AS_LEARNER", value_name = "NUMBER")]
    pub as_learner: Option<String>,

    /// PIN or password of the person acting. Prefer the CAIRN_SECRET variable (or leave both out
    /// in a terminal, to be asked) to keep it out of shell history and the process list.
    #[arg(
        long,
        global = true,
        env = "CAIRN_SECRET",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub secret: Option<String>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Every command.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a node: its key, store and configuration. Prints the node id.
    Init {
        /// Hub (the program's central node) or site.
        #[arg(long, value_enum)]
        role: NodeRole,
        /// Display name, e.g. "Ellsworth Adult Education".
        #[arg(long)]
        name: String,
        /// The institution named on credentials this node issues.
        #[arg(long)]
        institution: Option<String>,
    },
    /// Print this node's id (share it with the hub operator to be admitted).
    Id,
    /// Staff users and their roles.
    #[command(subcommand)]
    User(UserCommand),
    /// Achievements, pathways and recognitions.
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Learners and their records.
    #[command(subcommand)]
    Learner(LearnerCommand),
    /// Sites of the program (hub).
    #[command(subcommand)]
    Site(SiteCommand),
    /// Trust the hub named in a provisioning file (site).
    Join {
        /// The provisioning file from `cairn site enroll`.
        file: PathBuf,
    },
    /// Accept sites over mutually authenticated TLS and serve the hub operators' web app (hub).
    /// Runs until interrupted.
    Serve {
        /// Address to listen on (default from config.toml, 0.0.0.0:7443).
        #[arg(long)]
        listen: Option<String>,
        /// Where the hub operators' web app listens: plain HTTP, so loopback by default (use a
        /// reverse proxy with TLS, or an SSH tunnel, to reach it from elsewhere).
        #[arg(long, default_value = "127.0.0.1:7080", value_name = "HOST:PORT")]
        web: String,
        /// Do not serve the web app (sync only).
        #[arg(long)]
        no_web: bool,
        /// Seconds without activity after which a web session signs itself out.
        #[arg(long, default_value_t = 900)]
        idle: u64,
        /// Folder where the web app writes USB bundles for sites (default: DATA/bundles).
        #[arg(long, value_name = "DIR")]
        bundle_dir: Option<PathBuf>,
    },
    /// Sync with the hub now (site). Without --once, keeps syncing until interrupted.
    Sync {
        /// One session, then exit.
        #[arg(long)]
        once: bool,
        /// The hub's address, if not the one in the provisioning file.
        #[arg(long, value_name = "HOST:PORT")]
        hub: Option<String>,
    },
    /// Run the site: sync in the background whenever the hub is reachable. Runs until interrupted.
    Run {
        /// The hub's address, if not the one in the provisioning file.
        #[arg(long, value_name = "HOST:PORT")]
        hub: Option<String>,
        /// Seconds between syncs while the hub answers.
        #[arg(long, default_value_t = 30)]
        interval: u64,
        /// Longest wait, in seconds, between attempts while the hub is unreachable.
        #[arg(long, default_value_t = 60)]
        max_backoff: u64,
        /// Where the web app (the learners' kiosk and staff pages) listens; use 0.0.0.0:8080 to
        /// serve the lab's LAN. On an empty data folder it first serves the page that sets the
        /// site up.
        #[arg(long, default_value = "127.0.0.1:8080", value_name = "HOST:PORT")]
        web: String,
        /// Do not serve the web interface (sync only).
        #[arg(long)]
        no_web: bool,
        /// Seconds without activity after which a web session signs itself out (a shared kiosk
        /// screen returns to the sign-in page).
        #[arg(long, default_value_t = 120)]
        idle: u64,
        /// Folder where the web app writes USB bundles (default: DATA/bundles).
        #[arg(long, value_name = "DIR")]
        bundle_dir: Option<PathBuf>,
    },
    /// USB bundles: sync by carrying a file where there is no link.
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// The whole story on this machine: a hub, a facility with no link, a rural site; offline
    /// work, TLS sync, a USB bundle, a micro-credential verified, an outcomes report.
    Demo {
        /// Build the demo in this (new or empty) folder and keep it, to explore with the other
        /// commands. Without it, a temporary folder is used.
        #[arg(long, value_name = "DIR")]
        keep: Option<PathBuf>,
    },
    /// Open Badges 3.0 credentials: export, print, verify (verify needs no store).
    #[command(subcommand)]
    Credential(CredentialCommand),
    /// Hub: list what needs a decision across sites (duplicates, concurrent values, concurrent
    /// assessments, forked feeds, revoked sites), or settle one with a signed action.
    Reconcile {
        /// Settle an item; without one, list everything open.
        #[command(subcommand)]
        action: Option<ReconcileCommand>,
    },
    /// Hub reports: the codebook CSV, completion rates, sites' sync standing.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Enroll a learner in an achievement (admin).
    Enroll {
        /// The learner: L- id or learner number.
        #[arg(long)]
        learner: String,
        /// The achievement id from the catalog.
        #[arg(long)]
        achievement: String,
        /// The learner attempted this achievement before.
        #[arg(long)]
        previously_attempted: bool,
    },
    /// Evidence of learning.
    #[command(subcommand)]
    Evidence(EvidenceCommand),
    /// Assess a piece of evidence against the achievement's criteria (assessor).
    Assess {
        /// The evidence (V- id).
        #[arg(long)]
        evidence: String,
        /// proficient or not-yet.
        #[arg(long, value_enum)]
        decision: Decision,
        /// Feedback for the learner.
        #[arg(long)]
        feedback: Option<String>,
    },
    /// Award the achievement of an enrollment (issuer). Awards the pathway micro-credential too
    /// when this completes it.
    Award {
        /// The enrollment (E- id).
        #[arg(long)]
        enrollment: String,
    },
    /// Outcomes after a credential (employment, wages, further study).
    #[command(subcommand)]
    Outcome(OutcomeCommand),
    /// This node: id, role, what it holds, forks, peers.
    Status,
    /// Sign-ins (failed, held, succeeded) and refusals on this node, newest last (admin).
    Audit {
        /// How many of the newest events to show.
        #[arg(long, default_value_t = 200)]
        limit: usize,
    },
    /// Places where concurrent edits left more than one value (nothing is dropped silently).
    Conflicts,
    /// Verify the whole log (signatures, hash chains) and the derived documents.
    Check,
    /// Copy this node (key, configuration, store) into a new folder, consistently.
    Backup {
        /// The folder to create.
        #[arg(long)]
        out: PathBuf,
    },
    /// Put a backup in place as this node's data folder (--data, which must not hold a node).
    /// The restored node writes under a new epoch, so it can never fork its own feed; its next
    /// sync brings back what it wrote after the backup.
    Restore {
        /// The folder `cairn backup` made.
        #[arg(long)]
        from: PathBuf,
    },
    /// Recompute all derived state (documents, indexes) from the log.
    Rebuild,
    /// Maintenance and test helpers.
    #[command(subcommand, hide = true)]
    Debug(DebugCommand),
}

/// `cairn user ...`
#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a staff user (admin; the very first user needs no sign-in and must be an admin).
    Add {
        /// Sign-in name.
        #[arg(long)]
        name: String,
        /// Roles, comma-separated: assessor, issuer, developer, admin.
        #[arg(long, value_enum, value_delimiter = ',', required = true)]
        role: Vec<Role>,
        /// A PIN of digits: 6-12 for admins, issuers and assessors, 4-12 otherwise. Without
        /// --pin or --password, the secret is read from CAIRN_NEW_SECRET, asked for (in a
        /// terminal) or read from standard input — so it never shows in the process list.
        #[arg(long, conflicts_with = "password")]
        pin: Option<String>,
        /// A password of 8-128 characters (see --pin for keeping it out of the process list).
        #[arg(long)]
        password: Option<String>,
    },
    /// List staff users.
    List,
    /// Change a staff user's roles, deactivate or reactivate them, or give them a new secret
    /// (admin). The node always keeps one active admin.
    Edit {
        /// Who.
        name: String,
        /// The new roles, comma-separated (replacing the old).
        #[arg(long, value_enum, value_delimiter = ',')]
        role: Vec<Role>,
        /// The user may no longer sign in.
        #[arg(long, conflicts_with = "activate")]
        deactivate: bool,
        /// The user may sign in again.
        #[arg(long)]
        activate: bool,
        /// Set a new PIN or password, typed at a prompt (or from standard input or
        /// CAIRN_NEW_SECRET). Lifts any hold after wrong tries.
        #[arg(long)]
        new_secret: bool,
    },
}

/// `cairn bundle ...`
#[derive(Subcommand, Debug)]
pub enum BundleCommand {
    /// Write everything the other side is not known to hold, signed by this node and encrypted
    /// to the recipient (a site's hub; on the hub, the site named with --for).
    Export {
        /// Where to write the bundle (a USB stick).
        #[arg(long)]
        out: PathBuf,
        /// On the hub: the site the bundle is for (its node id, any unambiguous beginning of it,
        /// or its name).
        #[arg(long = "for", value_name = "SITE")]
        for_site: Option<String>,
        /// Include everything, not only what the recipient is not known to hold (after the
        /// recipient was restored from an old backup).
        #[arg(long)]
        full: bool,
    },
    /// Verify and apply a bundle written for this node. Importing twice changes nothing.
    Import {
        /// The bundle file.
        file: PathBuf,
    },
}

/// `cairn credential ...`
#[derive(Subcommand, Debug)]
pub enum CredentialCommand {
    /// Write an award's signed Open Badges 3.0 credential (issuer or admin, or the learner), or
    /// with --learner all of a learner's credentials in one bundle signed by this node.
    #[command(
        after_help = "Examples:\n  cairn credential export A-1B2C3D4E5F --out badge.json\n  cairn credential export --learner SMW-0042 --out all-credentials.json"
    )]
    Export {
        /// The award (A- id), as `cairn learner show` lists it.
        #[arg(required_unless_present = "learner", conflicts_with = "learner")]
        award: Option<String>,
        /// All credentials of this learner (L- id or learner number), as one ClrCredential.
        #[arg(long)]
        learner: Option<String>,
        /// Where to write the JSON file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Write a printable certificate (HTML) for an award: one Letter or A4 page with the signed
    /// credential embedded, and a QR code that carries the credential itself in a link to the
    /// program's offline verifier page.
    Certificate {
        /// The award (A- id).
        award: String,
        /// Where to write the HTML file (print it from any browser).
        #[arg(long)]
        out: PathBuf,
        /// The certificate's language; the learner's own interface language when not given,
        /// else English.
        #[arg(long, value_parser = ["en", "es"])]
        lang: Option<String>,
    },
    /// Check a credential file, or a certificate's QR code content (the link, or its digits):
    /// every proof, who signed it and the program's endorsement of that key, its dates and
    /// required fields. Needs no store and no network; when --data holds a node, also checks that
    /// the signing key belongs to an admitted, unrevoked site of this program. Exit status 0
    /// valid, 3 not valid (or not made out to --name).
    #[command(
        after_help = "Examples:\n  cairn credential verify badge.json --name \"María López\"\n  cairn credential verify 'https://verify.example.org/cairn#1048…' --program did:key:z6Mk…"
    )]
    Verify {
        /// The credential (or learner bundle) file, or a QR code's content.
        file: PathBuf,
        /// Also check that the credential was made out to this name, exactly as printed on the
        /// certificate (accents and capitals count).
        #[arg(long)]
        name: Option<String>,
        /// Also check that it comes from this program (its did:key): signed by it, or by a key
        /// it endorsed.
        #[arg(long)]
        program: Option<String>,
    },
    /// Write the offline verifier page: one HTML file the program hosts (at its verifier_url) or
    /// hands out, that checks a certificate's QR code on a phone with no network. It trusts this
    /// node's program, and any named with --program.
    VerifierPage {
        /// Where to write the HTML file.
        #[arg(long)]
        out: PathBuf,
        /// Another program to trust (its did:key); may be repeated.
        #[arg(long)]
        program: Vec<String>,
    },
}

/// `cairn reconcile ...`
#[derive(Subcommand, Debug)]
pub enum ReconcileCommand {
    /// Merge a duplicate learner record into the one kept (both records say so; reports count
    /// the person once).
    Merge {
        /// The record to keep (L- id or learner number).
        #[arg(long)]
        keep: String,
        /// The duplicate.
        #[arg(long)]
        duplicate: String,
    },
    /// Settle a field with concurrent values by writing the value to keep.
    Pick {
        /// The learner.
        #[arg(long)]
        learner: String,
        /// The field, as a dotted path (`profile.primary_language`).
        #[arg(long)]
        field: String,
        /// The value (JSON, or plain text).
        #[arg(long)]
        value: String,
    },
    /// Accept one of several concurrent assessments of a piece of evidence.
    Accept {
        /// The assessment to accept (S- id).
        assessment: String,
    },
}

/// `cairn report ...`
#[derive(Subcommand, Debug)]
pub enum ReportCommand {
    /// One row per learner with the Digital Promise student-level codebook columns (CSV, UTF-8,
    /// every field quoted, formula-like cells neutralized).
    Codebook {
        /// Where to write the CSV.
        #[arg(long)]
        out: PathBuf,
    },
    /// Stack completion rates for all learners, learners impacted by poverty and BIPOC learners,
    /// per program and per site, with counts and small groups flagged.
    Outcomes,
    /// Each site's last contact, how far behind it is, pending evidence files and sync history.
    Sites,
}

/// `cairn site ...`
#[derive(Subcommand, Debug)]
pub enum SiteCommand {
    /// Admit a site and write its provisioning file (hub, admin).
    Enroll {
        /// The site's whole node id, as `cairn id` prints it at the site. Unlike the commands
        /// that name a site the hub already knows, this needs all 56 characters (dashes
        /// optional): the checksum in them catches a mistyped id.
        #[arg(long, value_name = "ID")]
        site_id: String,
        /// The site's name.
        #[arg(long)]
        name: String,
        /// Where to write the provisioning file.
        #[arg(long)]
        out: PathBuf,
        /// The hub's address as the site should reach it (HOST:PORT).
        #[arg(long)]
        address: Option<String>,
    },
    /// Revoke a site: its next connection or bundle is refused (hub, admin).
    Revoke {
        /// The site: its node id, any unambiguous beginning of it, or its name.
        site_id: String,
        /// Why, for the record.
        #[arg(long, default_value = "revoked by the hub operator")]
        reason: String,
    },
    /// List the sites the hub admitted.
    List,
}

/// `cairn catalog ...`
#[derive(Subcommand, Debug)]
pub enum CatalogCommand {
    /// Add to the catalog (developer).
    #[command(subcommand)]
    Add(Box<CatalogAdd>),
    /// List achievements, pathways and recognitions.
    List,
}

/// `cairn catalog add ...`
#[derive(Subcommand, Debug)]
pub enum CatalogAdd {
    /// An achievement: one badge.
    Achievement(AchievementArgs),
    /// A pathway: a stack of achievements that earns a micro-credential.
    Pathway {
        /// Short id, e.g. `css`.
        #[arg(long)]
        id: String,
        /// Name of the micro-credential.
        #[arg(long)]
        name: String,
        /// What it is.
        #[arg(long)]
        description: String,
        /// An achievement in the stack, in order (repeat).
        #[arg(long = "part", required = true)]
        parts: Vec<String>,
        /// The program offering it.
        #[arg(long)]
        program: Option<String>,
        /// Its name in another language, as LANG=NAME (repeat).
        #[arg(long = "name-in", value_parser = parse_translation)]
        names: Vec<(String, String)>,
    },
    /// A recognition: what an achievement or pathway is worth elsewhere.
    Recognition {
        /// Short id.
        #[arg(long)]
        id: String,
        /// The achievement or pathway recognized.
        #[arg(long = "for")]
        target: String,
        /// Who recognizes it.
        #[arg(long)]
        recognizer: String,
        /// What it counts for.
        #[arg(long)]
        description: String,
        /// Credits granted.
        #[arg(long)]
        credits: Option<f64>,
    },
}

/// Arguments of `cairn catalog add achievement`.
#[derive(Args, Debug)]
pub struct AchievementArgs {
    /// Short id, e.g. `css-level-1`.
    #[arg(long)]
    pub id: String,
    /// Name of the badge.
    #[arg(long)]
    pub name: String,
    /// What it is.
    #[arg(long)]
    pub description: String,
    /// Level: 1 foundations, 2 competency assessment with skills practice, 3 work-based application.
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..=3))]
    pub level: Option<i64>,
    /// What a learner must show.
    #[arg(long)]
    pub criteria: String,
    /// What evidence to submit.
    #[arg(long, default_value = "")]
    pub evidence_requirements: String,
    /// Open Badges achievement type.
    #[arg(long, default_value = "Badge")]
    pub achievement_type: String,
    /// A skill alignment as NAME[|FRAMEWORK[|CODE[|URL]]] (repeat).
    #[arg(long = "skill")]
    pub skills: Vec<String>,
    /// The program offering it.
    #[arg(long)]
    pub program: Option<String>,
    /// Its name in another language, as LANG=NAME (repeat), shown to learners who read it.
    #[arg(long = "name-in", value_parser = parse_translation)]
    pub names: Vec<(String, String)>,
    /// Its description in another language, as LANG=TEXT (repeat).
    #[arg(long = "description-in", value_parser = parse_translation)]
    pub descriptions: Vec<(String, String)>,
}

/// `cairn learner ...`
#[derive(Subcommand, Debug)]
pub enum LearnerCommand {
    /// Register a learner at this site (admin).
    Add(Box<LearnerArgs>),
    /// Register every learner of a roster, a CSV file with one row per learner (admin).
    ///
    /// The header row names the columns as `learner add` names its options: number,
    /// given_name, family_name (required), and any of pin, institution, institution_id,
    /// year_of_birth, gender, race_ethnicity (several separated by `;`), primary_language,
    /// pell_eligible (yes/no), ses_determination, enrollment_status, first_generation (yes/no),
    /// first_enrollment, interface_language. `given-name` or `Given name` work too. Every row
    /// is checked first: one bad row (or a number already used) imports nothing and names the
    /// lines to fix. All learners are written in one durable batch. A PIN column costs about a
    /// tenth of a second per learner (the PIN hash); without it, set PINs later with
    /// `learner edit --pin`.
    #[command(
        after_help = "Example:\n  cairn learner import roster.csv\n\nroster.csv:\n  number,given_name,family_name,year_of_birth,pell_eligible\n  A-1001,Ana,Ríos,1990,yes"
    )]
    Import {
        /// The roster (CSV, UTF-8, at most 16 MiB and 50,000 learners).
        file: PathBuf,
    },
    /// Show a learner's whole record (staff, or the learner themself).
    Show {
        /// L- id or learner number.
        id: String,
    },
    /// List learners held here (staff), optionally only those matching words.
    List {
        /// Words to look for in the number, id or name.
        #[arg(long)]
        search: Option<String>,
    },
    /// Correct a learner's profile (any codebook field but the number) or reset their PIN
    /// (admin).
    Edit(Box<LearnerEditArgs>),
    /// Move a learner's record to another site (hub, admin).
    Transfer {
        /// L- id or learner number.
        #[arg(long)]
        learner: String,
        /// The receiving site: its node id, any unambiguous beginning of it, or its name.
        #[arg(long)]
        to: String,
    },
}

/// Arguments of `cairn learner add`: the codebook's student-level fields.
#[derive(Args, Debug)]
pub struct LearnerArgs {
    /// The number the learner signs in with at the kiosk.
    #[arg(long)]
    pub number: String,
    /// Given name.
    #[arg(long)]
    pub given_name: String,
    /// Family name.
    #[arg(long)]
    pub family_name: String,
    /// The learner's kiosk PIN (4-12 digits); `-` to type it (or read it from standard input or
    /// CAIRN_NEW_SECRET) so it never shows in the process list.
    #[arg(long)]
    pub pin: Option<String>,
    /// Institution.
    #[arg(long)]
    pub institution: Option<String>,
    /// The institution's own id for the learner (helps spot duplicates at the hub).
    #[arg(long)]
    pub institution_id: Option<String>,
    /// An email address (credentials carry it hashed when the program chooses).
    #[arg(long)]
    pub email: Option<String>,
    /// Year of birth.
    #[arg(long)]
    pub year_of_birth: Option<i64>,
    /// female, male or other.
    #[arg(long, value_enum)]
    pub gender: Option<Gender>,
    /// Race/ethnicity (federal categories; repeat or comma-separate).
    #[arg(long = "race-ethnicity", value_enum, value_delimiter = ',')]
    pub race_ethnicity: Vec<RaceEthnicity>,
    /// Primary language.
    #[arg(long)]
    pub primary_language: Option<String>,
    /// Pell eligible: yes or no.
    #[arg(long, value_parser = parse_yes_no)]
    pub pell_eligible: Option<bool>,
    /// How socioeconomic status was determined, when not by Pell eligibility.
    #[arg(long)]
    pub ses_determination: Option<String>,
    /// Current enrollment status.
    #[arg(long, value_enum)]
    pub enrollment_status: Option<EnrollmentStatus>,
    /// First-generation college student: yes or no.
    #[arg(long, value_parser = parse_yes_no)]
    pub first_generation: Option<bool>,
    /// Date of first enrollment, YYYY-MM-DD.
    #[arg(long)]
    pub first_enrollment: Option<String>,
    /// Kiosk language: en or es.
    #[arg(long)]
    pub interface_language: Option<String>,
}

/// Arguments of `cairn learner edit`: the fields to change.
#[derive(Args, Debug)]
pub struct LearnerEditArgs {
    /// L- id or learner number.
    pub id: String,
    /// Given name.
    #[arg(long)]
    pub given_name: Option<String>,
    /// Family name.
    #[arg(long)]
    pub family_name: Option<String>,
    /// Institution.
    #[arg(long)]
    pub institution: Option<String>,
    /// The institution's own id for the learner.
    #[arg(long)]
    pub institution_id: Option<String>,
    /// An email address (credentials carry it hashed when the program chooses).
    #[arg(long)]
    pub email: Option<String>,
    /// Year of birth.
    #[arg(long)]
    pub year_of_birth: Option<i64>,
    /// female, male or other.
    #[arg(long, value_enum)]
    pub gender: Option<Gender>,
    /// Race/ethnicity (replaces the list; repeat or comma-separate).
    #[arg(long = "race-ethnicity", value_enum, value_delimiter = ',')]
    pub race_ethnicity: Vec<RaceEthnicity>,
    /// Primary language.
    #[arg(long)]
    pub primary_language: Option<String>,
    /// Pell eligible: yes or no.
    #[arg(long, value_parser = parse_yes_no)]
    pub pell_eligible: Option<bool>,
    /// How socioeconomic status was determined.
    #[arg(long)]
    pub ses_determination: Option<String>,
    /// Current enrollment status.
    #[arg(long, value_enum)]
    pub enrollment_status: Option<EnrollmentStatus>,
    /// First-generation college student: yes or no.
    #[arg(long, value_parser = parse_yes_no)]
    pub first_generation: Option<bool>,
    /// Date of first enrollment, YYYY-MM-DD.
    #[arg(long)]
    pub first_enrollment: Option<String>,
    /// Kiosk language: en or es.
    #[arg(long)]
    pub interface_language: Option<String>,
    /// A new kiosk PIN (4-12 digits); `-` to type it (or read it from standard input or
    /// CAIRN_NEW_SECRET). Lifts any hold after wrong tries.
    #[arg(long)]
    pub pin: Option<String>,
}

/// Parse `LANG=TEXT` (a name or description in another language).
pub fn parse_translation(s: &str) -> Result<(String, String), String> {
    let (lang, text) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not LANG=TEXT (for example es=Seguridad)"))?;
    let lang = lang.trim().to_ascii_lowercase();
    if !(2..=8).contains(&lang.len()) || !lang.chars().all(|c| c.is_ascii_alphabetic() || c == '-')
    {
        return Err(format!("`{lang}` is not a language code (en, es, …)"));
    }
    Ok((lang, text.trim().to_string()))
}

/// Parse yes/no.
pub fn parse_yes_no(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" => Ok(true),
        "no" | "n" | "false" => Ok(false),
        _ => Err(format!("`{s}` is not yes or no")),
    }
}

/// `cairn evidence ...`
#[derive(Subcommand, Debug)]
pub enum EvidenceCommand {
    /// Submit evidence for an enrollment: a narrative and/or files (the learner, or an admin).
    Submit {
        /// The enrollment (E- id).
        #[arg(long)]
        enrollment: String,
        /// A file (repeat; each at most 64 MiB).
        #[arg(long = "file")]
        files: Vec<PathBuf>,
        /// What the learner did, in their words.
        #[arg(long)]
        narrative: Option<String>,
    },
    /// Write an evidence file held here to disk.
    File {
        /// The file's SHA-256 (from `cairn learner show`).
        sha256: String,
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
}

/// `cairn outcome ...`
#[derive(Subcommand, Debug)]
pub enum OutcomeCommand {
    /// Record an outcome for a learner (admin).
    Add {
        /// L- id or learner number.
        #[arg(long)]
        learner: String,
        /// What happened.
        #[arg(long, value_enum)]
        kind: OutcomeKind,
        /// Details in words.
        #[arg(long)]
        detail: Option<String>,
        /// When, YYYY-MM-DD.
        #[arg(long)]
        date: Option<String>,
        /// For further study: were credits transferred? yes or no.
        #[arg(long, value_parser = parse_yes_no)]
        credits_transferred: Option<bool>,
        /// For a degree program: AS, AA, AAS, BS, BA, MS, MA or other.
        #[arg(long)]
        degree: Option<String>,
    },
}

/// `cairn debug ...` (for tests).
#[derive(Subcommand, Debug)]
pub enum DebugCommand {
    /// Write `count` small changes tagged `tag`, printing `done N` after each is durable.
    WriteStream {
        /// How many.
        #[arg(long, default_value_t = 1000)]
        count: u64,
        /// Distinguishes one stream's keys from another's.
        #[arg(long, default_value = "s")]
        tag: String,
    },
    /// Print the keys written by write-stream (JSON).
    ReadStream,
    /// Register `first` learners in one write, through the roster import's own path (each row
    /// checked as a roster's is), printing `imported N` once it is durable, then
    /// `learners` more in another, printing `split BITS I` as each bucket place of a doubling
    /// of the record index that this second write causes is passed (split, or found with
    /// nothing to move; pausing `pause_ms` after each, which holds the store's writer), then
    /// `imported N` again: a kill test stops it inside a doubling. The lines come before the
    /// `--json` result. Learners cannot be removed from the log, so it refuses a node that
    /// holds any.
    DoublingStream {
        /// How many learners the first write registers (none: 0).
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100_000))]
        first: u32,
        /// How many learners the watched write registers (numbers TAG-0, TAG-1, …).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        learners: u32,
        /// Distinguishes the learner numbers (the first write's are TAG-first-0, …).
        #[arg(long, default_value = "d")]
        tag: String,
        /// Milliseconds to pause after each bucket place.
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=100))]
        pause_ms: u64,
    },
    /// Write the manual pages, one per command (cairn.1, cairn-site-enroll.1, …), into a
    /// folder. Needs no node. The Debian package is built with these (deploy/build-deb.sh).
    Man {
        /// The folder to write them into (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Write shell completions (cairn.bash, _cairn for zsh, cairn.fish) into a folder. Needs no
    /// node.
    Completions {
        /// The folder to write them into (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Receive every feed of the stopped node in `from` through a sync session, with no
    /// derivation worker, printing `acked N` (entries held) after each batch is durable, then
    /// `held`, and waiting (at most `hold_secs`) without deriving: a kill test stops it there.
    ReceiveStream {
        /// The data folder of the node to receive from (not running).
        #[arg(long)]
        from: PathBuf,
        /// Most entries per batch.
        #[arg(long, default_value_t = 50)]
        batch_entries: usize,
        /// How long to wait after the last batch before exiting.
        #[arg(long, default_value_t = 0)]
        hold_secs: u64,
    },
    /// A digest of the derived state (indexes, site records, chunks, counts, tips, each
    /// document's heads and entry list), after deriving whatever is queued, with the record
    /// index's buckets and records (JSON).
    DerivedDigest,
    /// Write this node's TLS certificate and key as PEM (for checks with openssl).
    TlsIdentity {
        /// Folder to write cert.pem and key.pem into.
        #[arg(long)]
        out_dir: PathBuf,
    },
}
