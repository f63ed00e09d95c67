//! Signing people in, throttled against online guessing.
//!
//! The people most motivated to break a facility's node sit at its kiosk: a learner who learns a
//! staff PIN can award themselves. So every sign-in, from the web or the command line, passes
//! through one [`Gate`]:
//!
//! - **Per account**, whatever the address and however the account is spelled (a staff name in
//!   any case, a learner's number or `L-` id): a budget of [`ACCOUNT_BURST`] tries that refills by
//!   one every [`ACCOUNT_REFILL`] — at most about forty guesses a day. A try is taken from the
//!   budget *before* the secret is checked, so parallel guesses cannot slip past the count; a
//!   right secret gives the budget back. A held account holds only that account: staff lift it by
//!   resetting the PIN.
//! - **Per address**: a burst of [`ADDRESS_BURST`] attempts, then one every [`ADDRESS_REFILL`]. A
//!   success does not refill it. This slows a machine spraying guesses across accounts; a shared
//!   kiosk (one address for a whole lab) is slowed for seconds, never locked for everyone.
//! - **Bounded state**: both tables are least-recently-used maps of fixed capacity keyed by the
//!   account itself (not by what was typed) and by address, so no flood of new names can wipe
//!   them or grow memory.
//! - **Bounded work**: argon2 (about 19 MiB and 50–100 ms per check) runs at most a few at a time;
//!   beyond a short queue, sign-in answers "busy" instead of exhausting memory.
//! - **Even timing**: an unknown account is checked against a decoy hash, so it answers as slowly
//!   as a known one.
//!
//! Every outcome goes to the audit trail (`cairn audit`).

use crate::audit::{self, Channel, Event, EventKind};
use crate::domain::people::{self, Actor};
use crate::domain::{ids, learners};
use crate::error::{Error, RefusalKind, Result};
use crate::node::Node;
use cairn_sync_protocol::DocId;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use lru::LruCache;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

/// Tries an account has before it must wait.
pub const ACCOUNT_BURST: u32 = 10;
/// How often an account gets one try back.
pub const ACCOUNT_REFILL: Duration = Duration::from_secs(48 * 60);
/// Attempts one address may make at once.
pub const ADDRESS_BURST: u32 = 20;
/// How often an address gets one attempt back.
pub const ADDRESS_REFILL: Duration = Duration::from_secs(3);
/// Longest name, learner number or secret looked at; anything longer is wrong unread.
pub const MAX_FIELD: usize = 128;
/// Accounts and addresses remembered.
const REMEMBERED: usize = 65_536;
/// Secret checks waiting for their turn before sign-in answers "busy".
const MAX_WAITING: usize = 32;

/// Who is trying to sign in, as typed.
#[derive(Clone, Copy, Debug)]
pub enum Claim<'a> {
    /// A staff member, by name.
    Staff(&'a str),
    /// A learner, by learner number or `L-` id.
    Learner(&'a str),
}

/// Where the attempt comes from.
#[derive(Clone, Copy, Debug)]
pub struct Source {
    /// The door.
    pub channel: Channel,
    /// The client's address (the web).
    pub address: Option<IpAddr>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Account {
    Staff([u8; 16]),
    Learner(DocId),
}

/// Addresses are remembered by host for IPv4 and by /64 network for IPv6 (one machine has a
/// whole /64 to pick from).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct AddressKey([u8; 8]);

impl From<IpAddr> for AddressKey {
    fn from(ip: IpAddr) -> Self {
        let mut k = [0u8; 8];
        match ip.to_canonical() {
            IpAddr::V4(v4) => k[..4].copy_from_slice(&v4.octets()),
            IpAddr::V6(v6) => k.copy_from_slice(&v6.octets()[..8]),
        }
        AddressKey(k)
    }
}

type Limiter<C> = RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The threads that check secrets. argon2 takes about 19 MiB per check; run on whatever thread
/// asked, every thread's malloc arena keeps that much after the check (glibc raises its mmap
/// threshold after the first free), and a crowd of sign-ins left a gigabyte behind. A few fixed
/// threads bound both the work and the memory. Beyond a short queue, sign-in answers "busy".
struct Checks {
    jobs: std::sync::OnceLock<std::sync::mpsc::SyncSender<Job>>,
    threads: usize,
}

type Job = Box<dyn FnOnce() + Send>;

impl Checks {
    fn new() -> Checks {
        Checks {
            jobs: std::sync::OnceLock::new(),
            threads: std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .clamp(1, 4),
        }
    }

    fn sender(&self) -> &std::sync::mpsc::SyncSender<Job> {
        self.jobs.get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(MAX_WAITING);
            let rx = std::sync::Arc::new(Mutex::new(rx));
            for i in 0..self.threads {
                let rx = rx.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("cairn-secrets-{i}"))
                    .spawn(move || {
                        loop {
                            let job = match rx.lock() {
                                Ok(r) => r.recv(),
                                Err(_) => return,
                            };
                            match job {
                                Ok(job) => job(),
                                Err(_) => return,
                            }
                        }
                    });
                if let Err(e) = spawned {
                    tracing::error!("cannot start a secret-checking thread: {e}");
                }
            }
            tx
        })
    }

    fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let busy = || {
            Error::refused(
                RefusalKind::TooManyTries,
                "sign-in is busy; try again in a moment",
            )
        };
        let (done, result) = std::sync::mpsc::sync_channel(1);
        self.sender()
            .try_send(Box::new(move || {
                let _ = done.send(work());
            }))
            .map_err(|_| busy())?;
        result
            .recv_timeout(Duration::from_secs(30))
            .map_err(|_| busy())
    }
}

/// The sign-in gate of one running node (the web interface and the command line share it when
/// they run in one process).
pub struct Gate<C: Clock + Clone = DefaultClock> {
    clock: C,
    accounts: Mutex<LruCache<Account, Limiter<C>>>,
    addresses: Mutex<LruCache<AddressKey, Limiter<C>>>,
    checks: Checks,
    // Made on first need: hashing it costs as much as a sign-in.
    decoy: std::sync::OnceLock<String>,
}

impl Default for Gate {
    fn default() -> Self {
        Gate::with_clock(DefaultClock::default())
    }
}

fn quota(burst: u32, refill: Duration) -> Quota {
    // Both constants are non-zero; the fallbacks only satisfy the types.
    Quota::with_period(refill)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN))
}

impl<C: Clock + Clone> Gate<C> {
    /// A gate on `clock` (tests pass a fake one).
    pub fn with_clock(clock: C) -> Self {
        let cap = std::num::NonZeroUsize::new(REMEMBERED).unwrap_or(std::num::NonZeroUsize::MIN);
        Gate {
            clock,
            accounts: Mutex::new(LruCache::new(cap)),
            addresses: Mutex::new(LruCache::new(cap)),
            checks: Checks::new(),
            decoy: std::sync::OnceLock::new(),
        }
    }

    /// Take one try from a limiter in `table` (created full when new); `Err(wait)` when empty.
    fn take<K: std::hash::Hash + Eq + Copy>(
        &self,
        table: &Mutex<LruCache<K, Limiter<C>>>,
        key: K,
        burst: u32,
        refill: Duration,
    ) -> std::result::Result<(), Duration> {
        let mut t = table.lock().unwrap_or_else(|e| e.into_inner());
        let limiter = t.get_or_insert(key, || {
            RateLimiter::direct_with_clock(quota(burst, refill), self.clock.clone())
        });
        limiter
            .check()
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Give an account its whole budget back (a right secret, or staff resetting its PIN).
    fn restore(&self, account: Account) {
        self.accounts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop(&account);
    }

    /// Lift any hold on a learner's account (after staff reset the learner's PIN).
    pub fn release_learner(&self, doc: DocId) {
        self.restore(Account::Learner(doc));
    }

    /// Lift any hold on a staff account.
    pub fn release_staff(&self, user: [u8; 16]) {
        self.restore(Account::Staff(user));
    }

    fn check_secret(&self, hash: Option<&str>, secret: &str) -> Result<bool> {
        let hash = match hash {
            Some(h) => h.to_string(),
            None => self
                .decoy
                .get_or_init(|| {
                    people::hash_secret(&hex::encode(rand::random::<[u8; 16]>()))
                        .unwrap_or_default()
                })
                .clone(),
        };
        let secret = secret.to_string();
        self.checks
            .run(move || people::verify_secret(&hash, &secret))
    }

    /// Sign a person in. Every outcome is written to the audit trail.
    pub fn sign_in(
        &self,
        node: &Node,
        claim: Claim<'_>,
        secret: &str,
        from: Source,
    ) -> Result<Actor> {
        let typed = match claim {
            Claim::Staff(n) | Claim::Learner(n) => n.trim(),
        };
        let event = |kind: EventKind| {
            Event::new(kind, from.channel)
                .account(typed)
                .address(from.address)
        };
        let wrong = || {
            Error::unauthorized(match claim {
                Claim::Staff(_) => "that name and PIN or password do not match",
                Claim::Learner(_) => "that learner number and PIN do not match",
            })
        };
        let held = |wait: Duration| {
            let minutes = wait.as_secs().div_ceil(60).max(1);
            Error::refused(
                RefusalKind::TooManyTries,
                match claim {
                    Claim::Learner(_) => format!(
                        "too many wrong tries: wait {minutes} minute(s), or ask a staff member to reset the PIN"
                    ),
                    Claim::Staff(_) => format!(
                        "too many wrong tries: wait {minutes} minute(s), or ask an admin to reset the secret"
                    ),
                },
            )
        };
        if let Some(ip) = from.address
            && let Err(wait) = self.take(
                &self.addresses,
                AddressKey::from(ip),
                ADDRESS_BURST,
                ADDRESS_REFILL,
            )
        {
            audit::record(
                &node.store,
                &event(EventKind::SignInHeld).detail("address must wait"),
            );
            return Err(Error::refused(
                RefusalKind::TooManyTries,
                format!(
                    "too many sign-ins from this machine: wait {} second(s)",
                    wait.as_secs().max(1)
                ),
            ));
        }
        if typed.is_empty() || typed.chars().count() > MAX_FIELD || secret.len() > MAX_FIELD {
            audit::record(
                &node.store,
                &event(EventKind::SignInFailed).detail("malformed"),
            );
            return Err(wrong());
        }
        let found = match claim {
            Claim::Staff(name) => people::find_staff(node, name)?.map(|u| {
                let bytes = ids::user_bytes(&u.id).unwrap_or_default();
                (Account::Staff(bytes), bytes, Some(u))
            }),
            Claim::Learner(number) => learners::find(node, number)
                .ok()
                .map(|doc| (Account::Learner(doc), doc.0, None)),
        };
        let Some((account, principal, staff)) = found else {
            // Unknown: as slow as a known account, and nothing remembered about the name.
            self.check_secret(None, secret)?;
            audit::record(
                &node.store,
                &event(EventKind::SignInFailed).detail("no such account"),
            );
            return Err(wrong());
        };
        if let Err(wait) = self.take(&self.accounts, account, ACCOUNT_BURST, ACCOUNT_REFILL) {
            audit::record(
                &node.store,
                &event(EventKind::SignInHeld).detail("account must wait"),
            );
            return Err(held(wait));
        }
        let hash = node.store.secret(&principal)?;
        if !self.check_secret(hash.as_deref(), secret)? {
            audit::record(&node.store, &event(EventKind::SignInFailed));
            return Err(wrong());
        }
        self.restore(account);
        let actor = match (staff, account) {
            (Some(user), _) if !user.active => {
                audit::record(
                    &node.store,
                    &event(EventKind::SignInFailed).detail("deactivated"),
                );
                return Err(Error::unauthorized(format!("{} is deactivated", user.name)));
            }
            (Some(user), _) => Actor::Staff(user),
            (None, Account::Learner(doc)) => {
                let number = learners::record(node, &doc)?.profile.number;
                Actor::Learner { doc, number }
            }
            (None, Account::Staff(_)) => return Err(wrong()),
        };
        // Every command-line command signs in: recording those successes would only bury the
        // failures (and write to the store on every read).
        if from.channel != Channel::CommandLine {
            audit::record(&node.store, &event(EventKind::SignedIn));
        }
        Ok(actor)
    }
}

/// Sign a staff member in once, through a gate of its own (a command-line process, a benchmark,
/// a test): the same checks and audit as the web, with nothing remembered afterwards.
pub fn staff_once(node: &Node, name: &str, secret: &str) -> Result<Actor> {
    Gate::default().sign_in(
        node,
        Claim::Staff(name),
        secret,
        Source {
            channel: Channel::CommandLine,
            address: None,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    fn gate() -> (Gate<FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        (Gate::with_clock(clock.clone()), clock)
    }

    #[test]
    fn an_account_gets_a_few_dozen_tries_a_day_whatever_the_addresses() {
        let (g, clock) = gate();
        let account = Account::Learner(DocId([7; 16]));
        let mut allowed = 0;
        // One try every minute for a day, each from a new address.
        for _ in 0..24 * 60 {
            if g.take(&g.accounts, account, ACCOUNT_BURST, ACCOUNT_REFILL)
                .is_ok()
            {
                allowed += 1;
            }
            clock.advance(Duration::from_secs(60));
        }
        assert!((30..=45).contains(&allowed), "{allowed} tries in a day");
    }

    #[test]
    fn an_address_is_slowed_not_locked() {
        let (g, clock) = gate();
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        let key = AddressKey::from(ip);
        let burst = (0..100)
            .filter(|_| {
                g.take(&g.addresses, key, ADDRESS_BURST, ADDRESS_REFILL)
                    .is_ok()
            })
            .count();
        assert_eq!(burst, ADDRESS_BURST as usize);
        let wait = g
            .take(&g.addresses, key, ADDRESS_BURST, ADDRESS_REFILL)
            .unwrap_err();
        assert!(wait <= ADDRESS_REFILL);
        clock.advance(ADDRESS_REFILL);
        assert!(
            g.take(&g.addresses, key, ADDRESS_BURST, ADDRESS_REFILL)
                .is_ok()
        );
        // IPv6 addresses of one /64 are one machine.
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::ffff:1".parse().unwrap();
        assert_eq!(AddressKey::from(a), AddressKey::from(b));
    }

    #[test]
    fn a_flood_of_new_addresses_cannot_wipe_an_account() {
        let (g, _) = gate();
        let account = Account::Staff([1; 16]);
        while g
            .take(&g.accounts, account, ACCOUNT_BURST, ACCOUNT_REFILL)
            .is_ok()
        {}
        for i in 0..(REMEMBERED as u32 + 10) {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(i));
            let _ = g.take(
                &g.addresses,
                AddressKey::from(ip),
                ADDRESS_BURST,
                ADDRESS_REFILL,
            );
        }
        assert!(
            g.take(&g.accounts, account, ACCOUNT_BURST, ACCOUNT_REFILL)
                .is_err()
        );
    }

    #[test]
    fn secret_checks_run_a_few_at_a_time() {
        let (g, _) = gate();
        let running = std::sync::atomic::AtomicUsize::new(0);
        let peak = std::sync::atomic::AtomicUsize::new(0);
        let running = std::sync::Arc::new(running);
        let peak = std::sync::Arc::new(peak);
        let answered = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..16 {
                let (running, peak, answered, checks) =
                    (running.clone(), peak.clone(), &answered, &g.checks);
                s.spawn(move || {
                    let done = checks.run(move || {
                        use std::sync::atomic::Ordering::SeqCst;
                        let now = running.fetch_add(1, SeqCst) + 1;
                        peak.fetch_max(now, SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                        running.fetch_sub(1, SeqCst);
                    });
                    if done.is_ok() {
                        answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                });
            }
        });
        assert!(peak.load(std::sync::atomic::Ordering::SeqCst) <= g.checks.threads);
        assert_eq!(answered.into_inner(), 16, "a queue of 16 fits");
    }
}
