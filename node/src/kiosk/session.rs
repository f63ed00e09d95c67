//! Kiosk sessions and sign-in throttling. A session lives in memory only, behind a random
//! HttpOnly, SameSite=Strict cookie, and ends after a period without activity — a shared kiosk
//! must not leave one learner's record on screen for the next. Wrong PINs are counted per
//! account and per client address; after a handful, sign-in waits.

use super::i18n::Lang;
use crate::domain::people::Actor;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Wrong tries allowed before sign-in for that account waits.
pub const MAX_FAILURES: u32 = 5;
/// Wrong tries allowed from one address (a shared kiosk is one address for every learner, so
/// this is higher: it stops a machine guessing across accounts, not a learner mistyping).
pub const MAX_ADDRESS_FAILURES: u32 = 30;
/// How long a locked account or address waits.
pub const LOCKOUT: Duration = Duration::from_secs(300);
/// Most sessions held at once (older idle ones are dropped first).
const MAX_SESSIONS: usize = 10_000;

/// One signed-in person.
#[derive(Clone, Debug)]
pub struct Session {
    /// Who.
    pub actor: Actor,
    /// In which language.
    pub lang: Lang,
    last_seen: Instant,
}

#[derive(Default)]
struct Failures {
    count: u32,
    since: Option<Instant>,
}

/// All sessions and failure counts.
pub struct Sessions {
    idle: Duration,
    live: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<String, Failures>>,
}

impl Sessions {
    /// Sessions that end after `idle` without a request.
    pub fn new(idle: Duration) -> Sessions {
        Sessions {
            idle,
            live: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// The idle limit.
    pub fn idle(&self) -> Duration {
        self.idle
    }

    /// Start a session; returns its token.
    pub fn start(&self, actor: Actor, lang: Lang) -> String {
        let token = hex::encode(rand::random::<[u8; 32]>());
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        live.retain(|_, s| now.duration_since(s.last_seen) < self.idle);
        if live.len() >= MAX_SESSIONS {
            live.clear();
        }
        live.insert(
            token.clone(),
            Session {
                actor,
                lang,
                last_seen: now,
            },
        );
        token
    }

    /// The live session for a token, touched; `Err(true)` when it existed but timed out.
    pub fn get(&self, token: &str) -> Result<Session, bool> {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match live.get_mut(token) {
            Some(s) if now.duration_since(s.last_seen) < self.idle => {
                s.last_seen = now;
                Ok(s.clone())
            }
            Some(_) => {
                live.remove(token);
                Err(true)
            }
            None => Err(false),
        }
    }

    /// End a session.
    pub fn end(&self, token: &str) {
        self.live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(token);
    }

    /// Whether sign-in for these keys (account, address) must wait.
    pub fn locked(&self, keys: &[&str]) -> bool {
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let limit = |k: &str| {
            if k.starts_with("ip:") {
                MAX_ADDRESS_FAILURES
            } else {
                MAX_FAILURES
            }
        };
        keys.iter().any(|k| match f.get(*k) {
            Some(x) if x.count >= limit(k) => {
                if x.since.is_some_and(|t| t.elapsed() < LOCKOUT) {
                    true
                } else {
                    f.remove(*k);
                    false
                }
            }
            _ => false,
        })
    }

    /// Count a wrong try against each key.
    pub fn failed(&self, keys: &[&str]) {
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if f.len() > MAX_SESSIONS {
            f.clear();
        }
        for k in keys {
            let e = f.entry((*k).to_string()).or_default();
            e.count += 1;
            e.since = Some(Instant::now());
        }
    }

    /// Clear the count after a good sign-in.
    pub fn succeeded(&self, keys: &[&str]) {
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for k in keys {
            f.remove(*k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_end_when_idle_and_wrong_pins_lock_the_account() {
        let s = Sessions::new(Duration::from_millis(50));
        let t = s.start(Actor::Nobody, Lang::Es);
        assert_eq!(s.get(&t).unwrap().lang, Lang::Es);
        std::thread::sleep(Duration::from_millis(80));
        assert!(s.get(&t).unwrap_err());
        assert!(!s.get("nope").unwrap_err());
        for _ in 0..MAX_FAILURES - 1 {
            s.failed(&["learner:A1", "ip:1"]);
        }
        assert!(!s.locked(&["learner:A1"]));
        s.failed(&["learner:A1", "ip:1"]);
        assert!(s.locked(&["learner:A1"]) && !s.locked(&["ip:1"]));
        for _ in 0..MAX_ADDRESS_FAILURES {
            s.failed(&["ip:1"]);
        }
        assert!(s.locked(&["ip:1"]));
        assert!(!s.locked(&["learner:A2"]));
        s.succeeded(&["learner:A1"]);
        assert!(!s.locked(&["learner:A1"]));
    }
}
