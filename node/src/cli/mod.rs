//! The `cairn` command line: parse, build the typed request, have it performed — by the running
//! node through its control socket when `cairn run` or `cairn serve` holds the data folder, else
//! by opening the store here — and print text or JSON with the exit status product.md lists.

pub mod args;
mod credential;
mod demo;
mod files;
mod network;
mod owner;
mod plan;
mod reference;
mod render;
mod secrets;

use crate::app::{Actor, App};
use crate::audit::Channel;
use crate::control::client::Client;
use crate::control::protocol::SignIn;
use crate::domain::text;
use crate::error::{Error, Result};
use crate::node::Node;
use args::*;
use clap::Parser;
use serde_json::{Value as Json, json};
use std::io::Write as _;
use std::sync::Arc;

/// What a command produced: a JSON object and the same in words.
pub struct Output {
    /// For `--json`.
    pub json: Json,
    /// For people.
    pub text: String,
    /// Exit status: 0, or 3 for a check whose answer is "no" (an invalid credential).
    pub code: i32,
}

impl Output {
    fn new(json: Json, text: impl Into<String>) -> Output {
        Output {
            json,
            text: text.into(),
            code: 0,
        }
    }
}

/// Print to standard output; a reader that went away (`cairn … | head -1`) ends the output
/// quietly instead of with a panic.
fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}

/// Run the command line and return the exit status.
pub fn run() -> i32 {
    // Everything this process creates — the store's files, keys, bundles, reports — is for the
    // service's user alone: the data folder holds PIN hashes and the node's key.
    // SAFETY: umask only sets this process's file-creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let json = cli.json;
    match execute(cli) {
        Ok(out) => {
            if json {
                print(
                    &serde_json::to_string_pretty(
                        &json!({"ok": out.code == 0, "result": out.json}),
                    )
                    .unwrap_or_default(),
                );
            } else if !out.text.is_empty() {
                print(&text::terminal_safe(out.text.trim_end()));
            }
            out.code
        }
        Err(e) => {
            let message = e.chain();
            if json {
                print(
                    &serde_json::to_string_pretty(
                        &json!({"ok": false, "error": {"kind": e.kind(), "message": message}}),
                    )
                    .unwrap_or_default(),
                );
            }
            let _ = writeln!(
                std::io::stderr(),
                "error: {}",
                text::terminal_safe(&message)
            );
            e.exit_code()
        }
    }
}

/// Who the global options sign in (names and secret), without checking anything yet.
fn claim(cli: &Cli) -> Result<Option<SignIn>> {
    // An empty value (say, `CAIRN_AS=` in a script) means "not given".
    let given = |o: &Option<String>| {
        o.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let secret = |who: &str| {
        match given(&cli.secret) {
        Some(s) => Ok(s),
        None => secrets::prompt(&format!("PIN or password for {who}: ")).ok_or_else(|| {
            Error::Usage(
                "signing in needs the PIN or password: set CAIRN_SECRET (or run in a terminal to be asked)"
                    .into(),
            )
        }),
    }
    };
    match (given(&cli.as_user), given(&cli.as_learner)) {
        (Some(_), Some(_)) => Err(Error::Usage(
            "act either as a staff user (--as) or as a learner (--as-learner), not both".into(),
        )),
        (Some(name), None) => Ok(Some(SignIn::Staff {
            secret: secret(&name)?,
            name,
        })),
        (None, Some(number)) => Ok(Some(SignIn::Learner {
            secret: secret(&number)?,
            number,
        })),
        (None, None) => Ok(None),
    }
}

/// Sign in here, through the node's gate (the command line's own, for this one process).
fn sign_in(app: &App, claim: Option<SignIn>) -> Result<Actor> {
    use crate::signin::{Claim, Source};
    let from = Source {
        channel: Channel::CommandLine,
        address: None,
    };
    match claim {
        None => Ok(Actor::Operator),
        Some(SignIn::Staff { name, secret }) => {
            app.gate()
                .sign_in(app.node(), Claim::Staff(&name), &secret, from)
        }
        Some(SignIn::Learner { number, secret }) => {
            app.gate()
                .sign_in(app.node(), Claim::Learner(&number), &secret, from)
        }
    }
}

fn execute(cli: Cli) -> Result<Output> {
    let data = cli.data.clone();
    let json = cli.json;
    match &cli.command {
        Command::Init {
            role,
            name,
            institution,
        } => {
            owner::become_owner_of(&data)?;
            let node = Node::init(&data, *role, name, institution.clone())?;
            let id = node.id().to_string();
            return Ok(Output::new(
                json!({"id": id, "role": role, "name": node.config().name, "data": data}),
                format!(
                    "Created {role} \"{}\" in {}.\nNode id: {id}\n\nNext: add the first admin with\n  cairn --data {} user add --name NAME --role admin\n(you will be asked for a PIN of six digits or more)",
                    node.config().name,
                    data.display(),
                    data.display()
                ),
            ));
        }
        Command::Restore { from } => return restore(from, &data),
        Command::Demo { keep } => return demo::run(keep.clone(), json),
        Command::Credential(CredentialCommand::Verify {
            file,
            name,
            program,
        }) if !data.join("config.toml").exists() => {
            return credential::verify_alone(file, name.as_deref(), program.as_deref());
        }
        Command::Credential(CredentialCommand::VerifierPage { out, program })
            if !data.join("config.toml").exists() =>
        {
            return credential::verifier_page_alone(out, program);
        }
        Command::Serve { .. } | Command::Run { .. } | Command::Sync { once: false, .. } => {
            owner::become_owner_of(&data)?;
            let claim = claim(&cli)?;
            return network::service(cli, claim);
        }
        Command::Debug(_) => return debug(cli),
        _ => {}
    }
    let claim = claim(&cli)?;
    let Some(plan) = plan::build(cli.command)? else {
        return Err(Error::Usage("this command cannot be run that way".into()));
    };
    let mut files = files::LocalFiles::new(plan.uploads.clone(), plan.download.clone(), json);
    // The running node does it, when there is one.
    if let Some(client) = Client::connect(&data)? {
        let reply = client.perform(claim, plan.request.clone(), &mut files)?;
        files::LocalFiles::finish(&mut files)?;
        return finish(&plan, &reply);
    }
    // No running node: this process opens the store, as the folder's owner.
    owner::become_owner_of(&data)?;
    let node = match Node::open(&data) {
        Ok(n) => n,
        // The service may be starting: its socket appears just after it takes the store.
        Err(e) if e.to_string().contains("in use by another cairn process") => {
            std::thread::sleep(std::time::Duration::from_millis(500));
            match Client::connect(&data)? {
                Some(client) => {
                    let reply = client.perform(claim, plan.request.clone(), &mut files)?;
                    files::LocalFiles::finish(&mut files)?;
                    return finish(&plan, &reply);
                }
                None => return Err(e),
            }
        }
        Err(e) => return Err(e),
    };
    let app = App::new(Arc::new(node), None);
    let actor = sign_in(&app, claim)?;
    let reply = app.perform(
        &actor,
        plan.request.clone(),
        Channel::CommandLine,
        &mut files,
    )?;
    files.finish()?;
    finish(&plan, &reply)
}

/// Write the small outputs a reply carries, then render it.
pub(super) fn finish(plan: &plan::Plan, reply: &crate::app::Reply) -> Result<Output> {
    use crate::app::Reply;
    if let Some(out) = &plan.out {
        let bytes = match reply {
            Reply::Credential { credential, .. } => serde_json::to_string_pretty(credential)
                .map_err(|e| Error::storage("encoding the credential", e))?
                .into_bytes(),
            Reply::Certificate { html } | Reply::VerifierPage { html, .. } => {
                html.clone().into_bytes()
            }
            Reply::SiteEnrolled { file, .. } => file.clone().into_bytes(),
            _ => Vec::new(),
        };
        crate::config::write_atomically(out, &bytes, false)?;
    }
    render::render(plan, reply)
}

fn restore(from: &std::path::Path, data: &std::path::Path) -> Result<Output> {
    if !from.join(crate::node::RESTORE_MARKER).exists() {
        return Err(Error::invalid(format!(
            "{} is not a backup made by `cairn backup`",
            from.display()
        )));
    }
    if data.join("config.toml").exists() {
        return Err(Error::Usage(format!(
            "{} already holds a node; restore into an empty folder (move the old one aside first)",
            data.display()
        )));
    }
    // Root restoring into the service's folder: copy as root (the backup may be root's), then
    // give the copy to the folder's owner and open it as that user.
    let owner = owner::foreign_owner(data);
    crate::node::copy_dir(from, data)?;
    if let Some((uid, gid)) = owner {
        owner::give_tree(data, uid, gid)?;
        owner::become_owner_of(data)?;
    }
    // Opening sees the backup marker and moves the node to a new epoch before anything else.
    let node = Node::open(data)?;
    let epoch = node.epoch()?;
    Ok(Output::new(
        json!({"id": node.id().to_string(), "epoch": epoch}),
        format!(
            "Restored {} into {} under a new epoch ({epoch}). Sync with the hub (or import a bundle) to bring back what was written after the backup.",
            node.config().name,
            data.display()
        ),
    ))
}

const DEBUG_DOC: cairn_sync_protocol::DocId = cairn_sync_protocol::DocId([0xEE; 16]);

/// `cairn debug …`: test helpers that work on a stopped node only.
fn debug(cli: Cli) -> Result<Output> {
    let Command::Debug(cmd) = cli.command else {
        return Err(Error::Usage("not a debug command".into()));
    };
    // The reference pages need no node.
    let cmd = match cmd {
        DebugCommand::Man { out } => return reference::man_pages(&out),
        DebugCommand::Completions { out } => return reference::completions(&out),
        DebugCommand::ReceiveStream {
            from,
            batch_entries,
            hold_secs,
        } => {
            owner::become_owner_of(&cli.data)?;
            return receive_stream(&cli.data, &from, batch_entries, hold_secs);
        }
        other => other,
    };
    owner::become_owner_of(&cli.data)?;
    let node = Node::open(&cli.data)?;
    match cmd {
        DebugCommand::Man { .. }
        | DebugCommand::Completions { .. }
        | DebugCommand::ReceiveStream { .. } => Err(Error::Usage("not a command on a node".into())),
        DebugCommand::DerivedDigest => {
            let (digest, documents, learners) = node.store.derived_digest()?;
            Ok(Output::new(
                json!({"digest": digest, "documents": documents, "learners": learners, "entries": node.store.vector()?.total(), "record_buckets": node.store.record_buckets()?}),
                digest,
            ))
        }
        DebugCommand::WriteStream { count, tag } => write_stream(&node, count, &tag),
        DebugCommand::DoublingStream {
            first,
            learners,
            tag,
            pause_ms,
        } => doubling_stream(&node, first, learners, &tag, pause_ms),
        DebugCommand::ReadStream => {
            let doc = node.store.doc(&DEBUG_DOC)?;
            let keys: Vec<String> = doc
                .map(|d| automerge::ReadDoc::keys(&d, automerge::ROOT).collect())
                .unwrap_or_default();
            Ok(Output::new(json!({"keys": keys}), keys.join("\n")))
        }
        DebugCommand::TlsIdentity { out_dir } => {
            let (cert, _) = crate::transport::tls::identity(&node.key)
                .map_err(|e| Error::storage("making the TLS identity", e))?;
            let pem = |label: &str, der: &[u8]| {
                use base64::Engine;
                let b64 = base64::engine::general_purpose::STANDARD.encode(der);
                let lines: Vec<&str> = b64
                    .as_bytes()
                    .chunks(64)
                    .map(|c| std::str::from_utf8(c).unwrap_or(""))
                    .collect();
                format!(
                    "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
                    lines.join("\n")
                )
            };
            std::fs::create_dir_all(&out_dir)?;
            crate::config::write_atomically(
                &out_dir.join("cert.pem"),
                pem("CERTIFICATE", cert.as_ref()).as_bytes(),
                false,
            )?;
            // RFC 8410 PKCS#8 v1 for Ed25519: a fixed prefix, then the 32-byte seed. OpenSSL
            // reads this form; it rejects the v2 form that embeds the public key.
            let mut v1 = vec![
                0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
                0x04, 0x20,
            ];
            v1.extend_from_slice(&node.key.to_bytes());
            crate::config::write_atomically(
                &out_dir.join("key.pem"),
                pem("PRIVATE KEY", &v1).as_bytes(),
                true,
            )?;
            Ok(Output::new(json!({"out_dir": out_dir}), ""))
        }
    }
}

/// Receive `from`'s feeds into the node at `data` with derivation held back (see
/// `DebugCommand::ReceiveStream`).
fn receive_stream(
    data: &std::path::Path,
    from: &std::path::Path,
    batch_entries: usize,
    hold_secs: u64,
) -> Result<Output> {
    use cairn_sync_protocol::{
        Everything, Fork, Hash32, LogStore, Origin, Session, SessionConfig, Tip, VerifiedRun,
        VersionVector,
    };
    /// The receiving store, saying how much it holds after each durable batch.
    struct Telling<'a>(crate::store::SyncStore<'a>, &'a crate::store::Store);
    impl LogStore for Telling<'_> {
        type Error = Error;
        fn vector(&self) -> Result<VersionVector> {
            self.0.vector()
        }
        fn frozen(&self) -> Result<Vec<Origin>> {
            self.0.frozen()
        }
        fn tip(&self, origin: &Origin) -> Result<Option<Tip>> {
            self.0.tip(origin)
        }
        fn hash_at(&self, origin: &Origin, seq: u64) -> Result<Option<Hash32>> {
            self.0.hash_at(origin, seq)
        }
        fn read(
            &self,
            origin: &Origin,
            from_seq: u64,
            max: usize,
        ) -> Result<Vec<cairn_sync_protocol::FeedItem>> {
            self.0.read(origin, from_seq, max)
        }
        fn append(&mut self, runs: &[VerifiedRun]) -> Result<()> {
            self.0.append(runs)?;
            // Printed only once the batch is durable: the kill test relies on it.
            tell(format_args!("acked {}", self.1.vector()?.total()));
            Ok(())
        }
        fn freeze(&mut self, fork: &Fork) -> Result<()> {
            self.0.freeze(fork)
        }
    }
    let indexer = std::sync::Arc::new(crate::records::DocumentIndex);
    let source = crate::store::Store::open(&crate::node::store_path(from), indexer.clone())?;
    let target = crate::store::Store::open_without_worker(&crate::node::store_path(data), indexer)?;
    let config = SessionConfig {
        batch_entries: batch_entries.max(1),
        ..SessionConfig::default()
    };
    let (ka, kb) = (
        cairn_sync_protocol::NodeId([1; 32]),
        cairn_sync_protocol::NodeId([2; 32]),
    );
    let mut sa = Session::new(config.clone(), ka);
    let mut sb = Session::new(config, kb);
    let mut xa = crate::store::SyncStore::new(&source);
    let mut xb = Telling(crate::store::SyncStore::new(&target), &target);
    let session_err =
        |e: cairn_sync_protocol::SessionError| Error::storage_msg(format!("receive-stream: {e}"));
    sa.start(&xa, 1).map_err(session_err)?;
    sb.start(&xb, 1).map_err(session_err)?;
    let mut rounds = 0;
    while !(sa.is_finished() && sb.is_finished()) {
        rounds += 1;
        if rounds > 1_000_000 {
            return Err(Error::storage_msg("receive-stream did not finish"));
        }
        while let Some(f) = sa.poll_transmit(&xa, &Everything).map_err(session_err)? {
            sb.receive(&f, &mut xb).map_err(session_err)?;
        }
        while let Some(f) = sb.poll_transmit(&xb, &Everything).map_err(session_err)? {
            sa.receive(&f, &mut xa).map_err(session_err)?;
        }
    }
    println!("held");
    let _ = std::io::stdout().flush();
    std::thread::sleep(std::time::Duration::from_secs(hold_secs.min(600)));
    Ok(Output::new(json!({"held": target.vector()?.total()}), ""))
}

fn write_stream(node: &Node, count: u64, tag: &str) -> Result<Output> {
    let doc = DEBUG_DOC;
    for i in 0..count {
        node.store.change_doc(
            &node.author(cairn_sync_protocol::UserId::default())?,
            doc,
            "debug",
            |tx| {
                crate::records::am::write(
                    tx,
                    &automerge::ROOT,
                    automerge::Prop::Map(format!("{tag}-{i}")),
                    &json!(i),
                )
            },
        )?;
        // Printed only after the write is durable: the kill test relies on it.
        tell(format_args!("done {i}"));
    }
    Ok(Output::new(json!({"written": count}), ""))
}

/// A line for a kill test, on stdout at once. A closed pipe is not an error: the test has
/// stopped reading, and its kill is coming.
fn tell(line: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout();
    let _ = out.write_fmt(format_args!("{line}\n"));
    let _ = out.flush();
}

/// `DebugCommand::DoublingStream`: two rosters registered, each in one write, the record
/// index's doubling after the second told on stdout bucket by bucket.
fn doubling_stream(
    node: &Node,
    first: u32,
    learners: u32,
    tag: &str,
    pause_ms: u64,
) -> Result<Output> {
    // The log keeps every learner for good, and they would reach the hub at the next sync.
    if node.store.index_count(b"learner/")? > 0 {
        return Err(Error::Usage(
            "debug doubling-stream writes learners that cannot be removed; it runs only on a \
             node that holds none yet"
                .into(),
        ));
    }
    register_stream(node, first, &format!("{tag}-first"))?;
    let pause = std::time::Duration::from_millis(pause_ms);
    let watching = node.store.watch_doublings(move |to, i| {
        tell(format_args!("split {to} {i}"));
        std::thread::sleep(pause);
    });
    if !watching {
        return Err(Error::Usage("the store was already watched".into()));
    }
    register_stream(node, learners, tag)?;
    Ok(Output::new(
        json!({"first": first, "learners": learners}),
        "",
    ))
}

/// `count` learners numbered TAG-0, TAG-1, … registered by the roster import's own path (one
/// write, every row checked first), then `imported COUNT` printed.
fn register_stream(node: &Node, count: u32, tag: &str) -> Result<()> {
    if count == 0 {
        return Ok(());
    }
    let rows = (0..count as usize)
        .map(|i| crate::domain::roster::RosterRow {
            line: i + 2,
            profile: crate::records::learner::Profile {
                number: format!("{tag}-{i}"),
                given_name: "Doubling".into(),
                family_name: format!("Stream {i}"),
                ..Default::default()
            },
            pin: None,
        })
        .collect();
    crate::domain::learners::import(node, &crate::domain::people::Actor::Operator, rows)?;
    // Printed only after the write is durable: the kill test relies on it.
    tell(format_args!("imported {count}"));
    Ok(())
}
