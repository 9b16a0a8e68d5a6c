//! Who is calling the registry. Applications sign in with HTTP basic and their Kafka user and
//! password; the portal keeps no password, so a new credential costs a SASL/SCRAM handshake
//! with the application's cluster. Anyone on the network can send a password, so:
//! - a principal the portal does not know, or one without a current credential, is refused
//!   without any handshake;
//! - failed attempts are counted per principal and per client address: from the third one in a
//!   window each further try waits twice as long, and after `max_failures` the principal or
//!   address is locked out for `lockout_seconds` (429 with `Retry-After`). A lockout stops new
//!   handshakes only: a credential verified before keeps working, so an attacker who knows a
//!   principal's name cannot lock its application out;
//! - at most `max_concurrent_handshakes` handshakes run at once, for all clients together, and
//!   one per credential however many clients present it together;
//! - what the clusters said is remembered in bounded maps (`cache_entries`), each verdict tied
//!   to the credential's version (`kafka_principal.credential_set_at`), which is read on every
//!   request: a rotated or deleted credential stops working at once.

use app::domain::net::IpNet;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Configuration section `[registry]`.
#[derive(Debug, Clone, Deserialize)]
pub struct RegistrySettings {
    pub max_failures: u32,
    pub lockout_window_seconds: u64,
    pub lockout_seconds: u64,
    pub max_concurrent_handshakes: usize,
    pub cache_entries: usize,
}

impl RegistrySettings {
    pub fn check(&self) -> anyhow::Result<()> {
        if self.max_failures == 0
            || self.max_concurrent_handshakes == 0
            || self.cache_entries == 0
            || self.lockout_window_seconds == 0
        {
            anyhow::bail!(
                "registry.max_failures, lockout_window_seconds, max_concurrent_handshakes and \
                 cache_entries must be positive"
            );
        }
        Ok(())
    }
}

/// How long a password the cluster accepted is trusted without asking again (for the same
/// credential version).
pub const VERIFIED_FOR: Duration = Duration::from_secs(300);
/// A credential set less than this long ago may not have reached every broker: an acceptance
/// then is remembered only until the credential is this old (the password it replaced might
/// have been the one accepted).
const SETTLING: chrono::TimeDelta = chrono::TimeDelta::seconds(10);
/// How long a password the cluster refused is refused without asking again.
pub const REFUSED_FOR: Duration = Duration::from_secs(60);
/// How long a sign-in waits for a free handshake before it is asked to come back.
const HANDSHAKE_WAIT: Duration = Duration::from_secs(2);
/// Failures in a window before each further try waits (1 s, 2 s, 4 s, ...).
const FREE_FAILURES: u32 = 2;

/// (principal, SHA-256 of the password).
pub type CredentialKey = (String, [u8; 32]);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Subject {
    Principal(String),
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    first_at: Instant,
    last_at: Instant,
    count: u32,
}

#[derive(Default)]
struct State {
    /// Credentials the cluster accepted: until when, and the credential version they were
    /// checked against.
    accepted: HashMap<CredentialKey, (Instant, DateTime<Utc>)>,
    refused: HashMap<CredentialKey, Instant>,
    checking: HashMap<CredentialKey, Arc<tokio::sync::Mutex<()>>>,
    failures: HashMap<Subject, Failures>,
}

/// Why a sign-in got no verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No handshake could start in time, or the cluster did not answer: try again shortly.
    Busy,
    /// Failures counted while this one waited for its turn: try again after this long.
    Blocked(Duration),
}

/// What the handshake with the cluster said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    Refused,
    /// The cluster could not be asked.
    Unknown,
}

/// The sign-in limits and what is remembered of earlier sign-ins.
pub struct SignIn {
    settings: RegistrySettings,
    trusted_proxies: Vec<IpNet>,
    state: Mutex<State>,
    handshakes: Arc<Semaphore>,
}

impl SignIn {
    pub fn new(settings: RegistrySettings, trusted_proxies: &[String]) -> Self {
        Self {
            handshakes: Arc::new(Semaphore::new(settings.max_concurrent_handshakes)),
            trusted_proxies: trusted_proxies
                .iter()
                .filter_map(|p| IpNet::parse(p))
                .collect(),
            settings,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves only caches behind: keep using them.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The client's address: the connection's peer, or, when the peer is a trusted proxy, the
    /// last address in `X-Forwarded-For` that is not one.
    pub fn client_address(
        &self,
        peer: Option<IpAddr>,
        forwarded_for: Option<&str>,
    ) -> Option<IpAddr> {
        let peer = peer?;
        let trusted = |ip: IpAddr| self.trusted_proxies.iter().any(|net| net.contains(ip));
        if !trusted(peer) {
            return Some(peer);
        }
        let Some(chain) = forwarded_for else {
            return Some(peer);
        };
        let mut client = peer;
        for hop in chain.rsplit(',') {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) if trusted(ip) => client = ip,
                Ok(ip) => return Some(ip),
                Err(_) => return Some(client),
            }
        }
        Some(client)
    }

    /// Whether this exact credential was accepted for the principal's current credential.
    pub fn accepted(&self, key: &CredentialKey, version: DateTime<Utc>) -> bool {
        let mut state = self.state();
        match state.accepted.get(key) {
            Some((until, seen)) if *seen == version && Instant::now() < *until => true,
            Some(_) => {
                state.accepted.remove(key);
                false
            }
            None => false,
        }
    }

    /// Whether the principal or the address must wait before another try, and how long.
    pub fn blocked(&self, principal: &str, address: Option<IpAddr>) -> Option<Duration> {
        let state = self.state();
        let mut subjects = vec![Subject::Principal(principal.to_owned())];
        subjects.extend(address.map(Subject::Address));
        subjects
            .iter()
            .filter_map(|s| state.failures.get(s))
            .filter_map(|f| self.wait_after(f))
            .max()
    }

    fn window(&self) -> Duration {
        Duration::from_secs(self.settings.lockout_window_seconds)
    }

    /// How long to wait after these failures, if at all.
    fn wait_after(&self, failures: &Failures) -> Option<Duration> {
        if failures.first_at.elapsed() >= self.window()
            && failures.count < self.settings.max_failures
        {
            return None;
        }
        let until = if failures.count >= self.settings.max_failures {
            failures.last_at + Duration::from_secs(self.settings.lockout_seconds)
        } else if failures.count > FREE_FAILURES {
            let exponent = (failures.count - FREE_FAILURES - 1).min(16);
            failures.last_at + Duration::from_secs(1 << exponent)
        } else {
            return None;
        };
        until.checked_duration_since(Instant::now())
    }

    /// Counts a failed attempt against the principal and the address.
    pub fn failed(&self, principal: &str, address: Option<IpAddr>) {
        let window = self.window();
        let lockout = Duration::from_secs(self.settings.lockout_seconds);
        let limit = self.settings.cache_entries;
        let mut state = self.state();
        if state.failures.len() >= limit {
            state
                .failures
                .retain(|_, f| f.first_at.elapsed() < window || f.last_at.elapsed() < lockout);
            if state.failures.len() >= limit {
                // Under a flood from everywhere, forget the oldest half rather than grow.
                let mut ages: Vec<Instant> = state.failures.values().map(|f| f.last_at).collect();
                ages.sort();
                let cut = ages[ages.len() / 2];
                state.failures.retain(|_, f| f.last_at > cut);
            }
        }
        let now = Instant::now();
        let mut subjects = vec![Subject::Principal(principal.to_owned())];
        subjects.extend(address.map(Subject::Address));
        for subject in subjects {
            let entry = state.failures.entry(subject).or_insert(Failures {
                first_at: now,
                last_at: now,
                count: 0,
            });
            let locked_out =
                entry.count >= self.settings.max_failures && entry.last_at.elapsed() < lockout;
            if entry.first_at.elapsed() >= window && !locked_out {
                *entry = Failures {
                    first_at: now,
                    last_at: now,
                    count: 0,
                };
            }
            entry.count = entry.count.saturating_add(1);
            entry.last_at = now;
        }
    }

    /// A recent refusal of this exact credential.
    pub fn refused_lately(&self, key: &CredentialKey) -> bool {
        self.state()
            .refused
            .get(key)
            .is_some_and(|at| at.elapsed() < REFUSED_FOR)
    }

    /// Asks the cluster through `handshake`, one handshake per credential at a time and at most
    /// `max_concurrent_handshakes` in all; callers waiting for the same credential share the
    /// answer.
    pub async fn verify<F, Fut>(
        &self,
        key: &CredentialKey,
        version: DateTime<Utc>,
        address: Option<IpAddr>,
        handshake: F,
    ) -> Result<bool, Refusal>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Verdict>,
    {
        let gate = self
            .state()
            .checking
            .entry(key.clone())
            .or_default()
            .clone();
        let _turn = gate.lock().await;
        // Whoever holds the turn clears the entry when done, so the map holds only checks
        // under way; callers still waiting keep their handle and find the verdict cached.
        let _clear = ClearOnDrop { signin: self, key };
        if self.accepted(key, version) {
            return Ok(true);
        }
        if self.refused_lately(key) {
            return Ok(false);
        }
        let permit = tokio::time::timeout(HANDSHAKE_WAIT, self.handshakes.clone().acquire_owned())
            .await
            .map_err(|_| Refusal::Busy)?
            .map_err(|_| Refusal::Busy)?;
        // Many guesses for one principal arrive together: those counted while this one waited
        // hold it back too, so a burst costs no more handshakes than the limits allow.
        if let Some(wait) = self.blocked(&key.0, address) {
            return Err(Refusal::Blocked(wait));
        }
        let verdict = handshake().await;
        drop(permit);
        let mut state = self.state();
        let limit = self.settings.cache_entries;
        match verdict {
            Verdict::Accepted => {
                let settled_in = (version + SETTLING - Utc::now()).to_std().ok();
                let until =
                    Instant::now() + settled_in.map_or(VERIFIED_FOR, |d| d.min(VERIFIED_FOR));
                if state.accepted.len() >= limit {
                    let now = Instant::now();
                    state.accepted.retain(|_, (until, _)| now < *until);
                    if state.accepted.len() >= limit {
                        state.accepted.clear();
                    }
                }
                state.accepted.insert(key.clone(), (until, version));
                Ok(true)
            }
            Verdict::Refused => {
                if state.refused.len() >= limit {
                    state.refused.retain(|_, at| at.elapsed() < REFUSED_FOR);
                    if state.refused.len() >= limit {
                        state.refused.clear();
                    }
                }
                state.refused.insert(key.clone(), Instant::now());
                Ok(false)
            }
            Verdict::Unknown => Err(Refusal::Busy),
        }
    }

    /// Entries remembered: (accepted, refused, failure counters).
    #[cfg(test)]
    fn sizes(&self) -> (usize, usize, usize) {
        let state = self.state();
        (
            state.accepted.len(),
            state.refused.len(),
            state.failures.len(),
        )
    }
}

struct ClearOnDrop<'a> {
    signin: &'a SignIn,
    key: &'a CredentialKey,
}

impl Drop for ClearOnDrop<'_> {
    fn drop(&mut self) {
        self.signin.state().checking.remove(self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn settings() -> RegistrySettings {
        RegistrySettings {
            max_failures: 5,
            lockout_window_seconds: 300,
            lockout_seconds: 300,
            max_concurrent_handshakes: 2,
            cache_entries: 100,
        }
    }

    fn key(principal: &str, password: u8) -> CredentialKey {
        (principal.to_owned(), [password; 32])
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().expect("address"))
    }

    #[test]
    fn failures_back_off_then_lock_out() {
        let signin = SignIn::new(settings(), &[]);
        for _ in 0..FREE_FAILURES {
            signin.failed("app.x.prod", ip("192.0.2.1"));
        }
        assert_eq!(signin.blocked("app.x.prod", ip("192.0.2.1")), None);
        signin.failed("app.x.prod", ip("192.0.2.1"));
        let wait = signin
            .blocked("app.x.prod", ip("192.0.2.9"))
            .expect("backs off");
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        for _ in 0..2 {
            signin.failed("app.x.prod", ip("192.0.2.1"));
        }
        let locked = signin
            .blocked("other.y.prod", ip("192.0.2.1"))
            .expect("address locked");
        assert!(locked > Duration::from_secs(290), "{locked:?}");
        assert!(
            signin.blocked("app.x.prod", ip("198.51.100.7")).is_some(),
            "principal locked"
        );
        assert_eq!(signin.blocked("other.y.prod", ip("198.51.100.7")), None);
    }

    #[test]
    fn a_trusted_proxy_names_the_client() {
        let signin = SignIn::new(settings(), &["10.0.0.0/8".into()]);
        assert_eq!(
            signin.client_address(ip("192.0.2.1"), Some("203.0.113.5")),
            ip("192.0.2.1")
        );
        assert_eq!(
            signin.client_address(ip("10.1.1.1"), Some("203.0.113.5, 10.2.2.2")),
            ip("203.0.113.5")
        );
        assert_eq!(
            signin.client_address(ip("10.1.1.1"), Some("198.51.100.1, 203.0.113.5")),
            ip("203.0.113.5"),
            "only the hop the proxy saw counts"
        );
        assert_eq!(signin.client_address(ip("10.1.1.1"), None), ip("10.1.1.1"));
    }

    #[tokio::test]
    async fn one_handshake_per_credential_and_verdicts_follow_the_version() {
        let signin = Arc::new(SignIn::new(settings(), &[]));
        let calls = Arc::new(AtomicUsize::new(0));
        let version = Utc::now() - chrono::TimeDelta::minutes(1);
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let signin = signin.clone();
            let calls = calls.clone();
            tasks.push(tokio::spawn(async move {
                signin
                    .verify(&key("a", 1), version, None, || async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Verdict::Accepted
                    })
                    .await
            }));
        }
        for task in tasks {
            assert_eq!(task.await.expect("task"), Ok(true));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(signin.accepted(&key("a", 1), version));
        let rotated = version + chrono::Duration::seconds(1);
        assert!(
            !signin.accepted(&key("a", 1), rotated),
            "a new version needs a new check"
        );
        let fresh = Utc::now();
        let verdict = signin
            .verify(&key("b", 2), fresh, None, || async { Verdict::Accepted })
            .await;
        assert_eq!(verdict, Ok(true));
        assert!(signin.accepted(&key("b", 2), fresh));
        let remembered = signin.state().accepted[&key("b", 2)].0 - Instant::now();
        assert!(
            remembered <= Duration::from_secs(10),
            "a credential set a moment ago is remembered only until every broker has it: {remembered:?}"
        );
    }

    #[tokio::test]
    async fn a_burst_of_guesses_for_one_principal_costs_a_few_handshakes() {
        let signin = Arc::new(SignIn::new(settings(), &[]));
        let handshakes = Arc::new(AtomicUsize::new(0));
        let version = Utc::now() - chrono::TimeDelta::minutes(1);
        let mut tasks = Vec::new();
        for guess in 0..50u8 {
            let (signin, handshakes) = (signin.clone(), handshakes.clone());
            tasks.push(tokio::spawn(async move {
                let verdict = signin
                    .verify(&key("app.x.prod", guess), version, None, || async {
                        handshakes.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        Verdict::Refused
                    })
                    .await;
                if verdict == Ok(false) {
                    signin.failed("app.x.prod", None);
                }
                verdict
            }));
        }
        let mut blocked = 0;
        for task in tasks {
            if matches!(task.await.expect("task"), Err(Refusal::Blocked(_))) {
                blocked += 1;
            }
        }
        let made = handshakes.load(Ordering::SeqCst);
        assert!(made <= 4, "{made} handshakes for one burst");
        assert_eq!(blocked, 50 - made);
    }

    #[tokio::test]
    async fn caches_stay_within_their_bound() {
        let signin = SignIn::new(settings(), &[]);
        let version = Utc::now();
        for n in 0..=250u16 {
            let key = (format!("p{n}"), [0u8; 32]);
            let _ = signin
                .verify(&key, version, None, || async { Verdict::Refused })
                .await;
            signin.failed(&key.0, None);
        }
        let (accepted, refused, failures) = signin.sizes();
        assert!(
            accepted <= 100 && refused <= 100 && failures <= 100,
            "{:?}",
            signin.sizes()
        );
    }
}
