//! Errors as people see them, and the exit status each maps to (product.md: 0 success, 2 usage
//! error, 3 input refused, 4 storage or I/O failure, 5 peer unreachable).

use std::fmt;

/// A failure, classified by what the person should do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command was used wrongly (missing or contradictory arguments).
    #[error("{0}")]
    Usage(String),
    /// Input was refused: invalid, forged, or not allowed for this person. Nothing was stored.
    #[error("{0}")]
    Refused(Refusal),
    /// Storage or the file system failed. Nothing reported as done was lost.
    #[error("{0}")]
    Storage(#[source] Failure),
    /// The peer could not be reached.
    #[error("{0}")]
    Unreachable(String),
}

/// A failure of this node or its machine: what was being done, and the error underneath.
#[derive(Debug)]
pub struct Failure {
    /// What failed, in plain words (with the path or peer concerned).
    pub message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl Failure {
    /// A failure with no underlying error.
    pub fn new(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            source: None,
        }
    }

    /// A failure caused by `source`.
    pub fn caused(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Failure {
        Failure {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }
}

/// Why input was refused.
#[derive(Debug)]
pub struct Refusal {
    /// A stable machine-readable kind, for `--json` output and tests.
    pub kind: RefusalKind,
    /// What happened, in plain words (English, for the command line and logs).
    pub message: String,
    /// What happened as a message key and its values, for interfaces that speak the person's
    /// language (the web maps `key` to `error-KEY` in its message catalogs).
    pub code: Option<Code>,
}

/// A refusal's message key and values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Code {
    /// The key, e.g. `evidence-empty`.
    pub key: &'static str,
    /// Named values for the message.
    pub args: Vec<(&'static str, String)>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Kinds of refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RefusalKind {
    /// Malformed or out-of-range input.
    Invalid,
    /// No such learner, achievement, enrollment...
    NotFound,
    /// The acting person lacks the role, or signed in wrongly.
    Unauthorized,
    /// A rule of the credential lifecycle (assess before submit, no award without proficiency...).
    Rule,
    /// Something already exists.
    Duplicate,
    /// A signature or a chain failed verification.
    Forged,
    /// Too many sign-in attempts: the account or the address must wait (nothing was checked).
    TooManyTries,
}

impl Error {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            Error::Refused(_) => 3,
            Error::Storage(_) => 4,
            Error::Unreachable(_) => 5,
        }
    }

    /// A short machine-readable name of the error kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Usage(_) => "usage",
            Error::Refused(r) => match r.kind {
                RefusalKind::Invalid => "invalid",
                RefusalKind::NotFound => "not-found",
                RefusalKind::Unauthorized => "unauthorized",
                RefusalKind::Rule => "rule",
                RefusalKind::Duplicate => "duplicate",
                RefusalKind::Forged => "forged",
                RefusalKind::TooManyTries => "too-many-tries",
            },
            Error::Storage(_) => "storage",
            Error::Unreachable(_) => "unreachable",
        }
    }

    /// Refused: invalid input.
    pub fn invalid(message: impl Into<String>) -> Error {
        Error::refused(RefusalKind::Invalid, message)
    }

    /// Refused: not found.
    pub fn not_found(message: impl Into<String>) -> Error {
        Error::refused(RefusalKind::NotFound, message)
    }

    /// Refused: not allowed.
    pub fn unauthorized(message: impl Into<String>) -> Error {
        Error::refused(RefusalKind::Unauthorized, message)
    }

    /// Refused: a lifecycle rule.
    pub fn rule(message: impl Into<String>) -> Error {
        Error::refused(RefusalKind::Rule, message)
    }

    /// Refused: already exists.
    pub fn duplicate(message: impl Into<String>) -> Error {
        Error::refused(RefusalKind::Duplicate, message)
    }

    /// Refused: failed verification.
    pub fn forged(message: impl Into<String>) -> Error {
        Error::refused(RefusalKind::Forged, message)
    }

    /// Refused with a kind.
    pub fn refused(kind: RefusalKind, message: impl Into<String>) -> Error {
        Error::Refused(Refusal {
            kind,
            message: message.into(),
            code: None,
        })
    }

    /// This refusal with a message key (and values) for interfaces in the person's language.
    pub fn coded(mut self, key: &'static str, args: &[(&'static str, String)]) -> Error {
        if let Error::Refused(r) = &mut self {
            r.code = Some(Code {
                key,
                args: args.to_vec(),
            });
        }
        self
    }

    /// The message key of a refusal, if it has one.
    pub fn code(&self) -> Option<&Code> {
        match self {
            Error::Refused(r) => r.code.as_ref(),
            _ => None,
        }
    }

    /// Storage failure with context, keeping the error underneath as its source.
    pub fn storage(context: &str, e: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::Storage(Failure::caused(context, e))
    }

    /// Storage failure with context, keeping a boxed error underneath as its source.
    pub fn storage_boxed(context: &str, e: Box<dyn std::error::Error + Send + Sync>) -> Error {
        Error::Storage(Failure {
            message: context.to_string(),
            source: Some(e),
        })
    }

    /// Storage failure described in words only.
    pub fn storage_msg(message: impl Into<String>) -> Error {
        Error::Storage(Failure::new(message))
    }

    /// This error and every cause under it, as one line for people: "what: why: deeper why".
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            let s = c.to_string();
            if !text.ends_with(&s) {
                text.push_str(": ");
                text.push_str(&s);
            }
            cause = c.source();
        }
        text
    }
}

impl From<sled::Error> for Error {
    fn from(e: sled::Error) -> Self {
        Error::storage("the store failed", e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::storage("file system error", e)
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
