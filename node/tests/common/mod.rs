//! Running the real `cairn` binary against a node folder, as a person would.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_cairn")
}

/// What one invocation did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub json: Value,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        Run {
            code: out.status.code().unwrap_or(-1),
            json: serde_json::from_str(&stdout).unwrap_or(Value::Null),
            stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The `result` of a successful `--json` run; panics with the error otherwise.
    pub fn ok(&self) -> &Value {
        assert_eq!(
            self.code, 0,
            "command failed: {}\n{}",
            self.stderr, self.stdout
        );
        &self.json["result"]
    }

    /// The error kind of a failed `--json` run.
    pub fn error_kind(&self) -> &str {
        self.json["error"]["kind"].as_str().unwrap_or("")
    }
}

/// A node folder and who acts in it.
pub struct Cairn {
    pub dir: PathBuf,
    pub acting: Vec<(String, String)>,
}

impl Cairn {
    pub fn new(dir: &Path) -> Cairn {
        Cairn {
            dir: dir.to_path_buf(),
            acting: Vec::new(),
        }
    }

    /// Act as a staff user from now on.
    pub fn acting_as(mut self, name: &str, secret: &str) -> Cairn {
        self.acting = vec![
            ("CAIRN_AS".into(), name.into()),
            ("CAIRN_SECRET".into(), secret.into()),
        ];
        self
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(bin());
        c.env_remove("CAIRN_AS")
            .env_remove("CAIRN_AS_LEARNER")
            .env_remove("CAIRN_SECRET")
            .env_remove("CAIRN_DATA");
        c.arg("--data").arg(&self.dir).arg("--json");
        for (k, v) in &self.acting {
            c.env(k, v);
        }
        c
    }

    /// Run with `--json` and the acting person.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command().args(args).output().expect("run cairn"))
    }

    /// Run as somebody else for one command.
    pub fn run_as(&self, env: &[(&str, &str)], args: &[&str]) -> Run {
        let mut c = self.command();
        c.env_remove("CAIRN_AS").env_remove("CAIRN_SECRET");
        for (k, v) in env {
            c.env(k, v);
        }
        Run::from(c.args(args).output().expect("run cairn"))
    }

    /// Everything that must not change when a command is refused: the status and the whole
    /// record of every learner.
    pub fn snapshot(&self) -> (Value, Vec<Value>) {
        let status = self.run(&["status"]).ok().clone();
        let learners = self.run(&["learner", "list"]).ok()["learners"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let records = learners
            .iter()
            .map(|l| {
                self.run(&["learner", "show", l["id"].as_str().unwrap()])
                    .ok()
                    .clone()
            })
            .collect();
        let mut status = status;
        status["store_bytes"] = Value::Null;
        (status, records)
    }
}
