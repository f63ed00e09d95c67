//! Kiosk sessions. A session lives in memory only, behind a random HttpOnly, SameSite=Strict
//! cookie, carries the token its forms must send back, and ends after a period without activity —
//! a shared kiosk must not leave one learner's record on screen for the next. Sign-in throttling
//! is the sign-in gate's job (`crate::signin`).

use super::i18n::Lang;
use crate::domain::people::Actor;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most sessions held at once: beyond it, the least recently used is dropped.
const MAX_SESSIONS: usize = 10_000;

/// One signed-in person.
#[derive(Clone, Debug)]
pub struct Session {
    /// Who.
    pub actor: Actor,
    /// In which language.
    pub lang: Lang,
    /// The token every form of this session sends back.
    pub csrf: String,
    /// The cookie's token (to change the session).
    pub token: String,
    last_seen: Instant,
}

/// All sessions.
pub struct Sessions {
    idle: Duration,
    live: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Sessions that end after `idle` without a request.
    pub fn new(idle: Duration) -> Sessions {
        Sessions {
            idle,
            live: Mutex::new(HashMap::new()),
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
        if live.len() >= MAX_SESSIONS
            && let Some(oldest) = live
                .iter()
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(t, _)| t.clone())
        {
            live.remove(&oldest);
        }
        live.insert(
            token.clone(),
            Session {
                actor,
                lang,
                csrf: super::guard::new_token(),
                token: token.clone(),
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

    /// Change a session's language.
    pub fn set_lang(&self, token: &str, lang: Lang) {
        if let Some(s) = self
            .live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(token)
        {
            s.lang = lang;
        }
    }

    /// End a session.
    pub fn end(&self, token: &str) {
        self.live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(token);
    }
}

/// The signed-in person of a request: every page that needs someone takes this, and a request
/// without a live session goes back to sign-in (saying so when the session timed out).
pub struct Signed(pub Session);

impl axum::extract::FromRequestParts<super::Shared> for Signed {
    type Rejection = axum::response::Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        web: &super::Shared,
    ) -> Result<Self, Self::Rejection> {
        use axum::response::{IntoResponse, Redirect};
        match super::guard::cookie(&parts.headers, super::COOKIE).map(|t| web.sessions.get(&t)) {
            Some(Ok(s)) => Ok(Signed(s)),
            Some(Err(true)) => Err(Redirect::to("/signin?expired=1").into_response()),
            _ => Err(Redirect::to("/signin").into_response()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_end_when_idle_and_carry_their_own_form_token() {
        let s = Sessions::new(Duration::from_millis(50));
        let t = s.start(Actor::Operator, Lang::Es);
        let other = s.start(Actor::Operator, Lang::En);
        let first = s.get(&t).unwrap();
        assert_eq!(first.lang, Lang::Es);
        assert_ne!(first.csrf, s.get(&other).unwrap().csrf);
        std::thread::sleep(Duration::from_millis(80));
        assert!(s.get(&t).unwrap_err());
        assert!(!s.get("nope").unwrap_err());
    }
}
