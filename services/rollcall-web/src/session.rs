//! Sessions, kept in this process's memory: a random id in an `HttpOnly`, `SameSite=Strict`
//! cookie (`Secure` unless the dashboard is served over plain http on loopback), the signed-in
//! user's credential (never sent back to the browser), a CSRF token for every form, the purpose
//! given for pupil-level pages, and idle expiry. One instance only: a second instance behind a
//! load balancer would not know this one's sessions (a known limit, in ARCHITECTURE.md).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use rand::TryRngCore as _;

use crate::pupil_refs::PupilRefs;

/// The session cookie's name.
pub const COOKIE: &str = "rollcall_session";
/// The short-lived cookie tying an identity provider's redirect back to the sign-in it answers.
/// `SameSite=Lax`: the redirect back from the provider is a cross-site navigation, which a
/// `Strict` cookie would not be sent with. It carries no credential.
pub const SIGN_IN_COOKIE: &str = "rollcall_sign_in";
/// How long a sign-in at the identity provider may take.
const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(600);
/// How long an idle session is kept (refused) after it expired, so that the user's next request
/// can say why they must sign in again; then the sweep drops it.
const EXPIRED_KEPT: Duration = Duration::from_secs(900);

/// A credential a user signed in with: an API key or the identity provider's access token. Its
/// `Debug` leaves it out.
#[derive(Clone)]
pub struct Credential(String);

impl Credential {
    pub fn new(secret: impl Into<String>) -> Credential {
        Credential(secret.into())
    }

    /// The text to send to the query service, and nowhere else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credential(..)")
    }
}

/// What the signed-in user acts for, as the query service answered when they signed in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// An LA attendance team: every school in the LA.
    La { code: String, name: String },
    /// A school's attendance lead: its own school.
    School { urn: String, name: String },
    /// Operations (and admins): pipeline state, never a pupil.
    Operations,
}

#[derive(Clone, Debug)]
pub struct User {
    pub credential: Credential,
    pub role: Role,
    /// How the pages name the user: the API key's public id, or the provider's subject.
    pub label: String,
    /// When the credential itself stops being accepted (a provider's token), if known.
    pub expires: Option<Instant>,
}

/// The purpose a user gave before seeing pupils' details: sent with every pupil-level call, and
/// so recorded in the audit trail with it.
#[derive(Clone, Debug)]
pub struct Purpose {
    pub text: String,
    pub given: chrono::DateTime<chrono::Utc>,
}

#[derive(Clone, Debug)]
pub struct Session {
    pub id: String,
    pub csrf: String,
    pub user: Option<User>,
    pub purpose: Option<Purpose>,
    /// The references this session's pages gave pupils (`pupil_refs.rs`): shared by the
    /// session's copies, so a list page's references are there for the pupil page.
    pub pupils: Arc<Mutex<PupilRefs>>,
    last_seen: Instant,
}

impl Session {
    /// The reference that names the pupil with `upn` in this session's URLs.
    pub fn pupil_reference(&self, upn: &str) -> String {
        self.pupils
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .reference(upn)
    }

    /// The UPN of the pupil `reference` names, if this session gave it.
    pub fn pupil_upn(&self, reference: &str) -> Option<String> {
        self.pupils
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .upn(reference)
    }

    /// Whether `token` is this session's CSRF token (compared in constant time).
    pub fn csrf_matches(&self, token: &str) -> bool {
        use subtle::ConstantTimeEq as _;
        !token.is_empty() && bool::from(self.csrf.as_bytes().ct_eq(token.as_bytes()))
    }
}

/// A sign-in waiting for the identity provider to send the user back.
#[derive(Clone, Debug)]
pub struct PendingSignIn {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    started: Instant,
}

/// What a cookie's session id turned out to be.
pub enum Lookup {
    Active(Box<Session>),
    /// It was ended for being idle (or its credential expired) on this request.
    Expired,
    Missing,
}

pub struct SessionStore {
    sessions: Mutex<HashMap<String, Session>>,
    pending: Mutex<HashMap<String, PendingSignIn>>,
    idle: Duration,
}

impl SessionStore {
    pub fn new(idle: Duration) -> SessionStore {
        SessionStore {
            sessions: Mutex::default(),
            pending: Mutex::default(),
            idle,
        }
    }

    /// A new session with no user yet: the sign-in forms need its CSRF token.
    pub fn start(&self) -> Session {
        let session = Session {
            id: random_token(),
            csrf: random_token(),
            user: None,
            purpose: None,
            pupils: Arc::default(),
            last_seen: Instant::now(),
        };
        self.lock().insert(session.id.clone(), session.clone());
        session
    }

    /// The session with this id, touched; an idle one (or one whose credential expired) is ended.
    pub fn get(&self, id: &str) -> Lookup {
        let now = Instant::now();
        let mut sessions = self.lock();
        let Some(session) = sessions.get_mut(id) else {
            return Lookup::Missing;
        };
        let credential_expired = session
            .user
            .as_ref()
            .and_then(|u| u.expires)
            .is_some_and(|at| at <= now);
        if now.duration_since(session.last_seen) > self.idle || credential_expired {
            let had_user = session.user.is_some();
            sessions.remove(id);
            return if had_user {
                Lookup::Expired
            } else {
                Lookup::Missing
            };
        }
        session.last_seen = now;
        Lookup::Active(Box::new(session.clone()))
    }

    /// Signs `user` in: the old session (if any) is ended and a new one, with a new id and CSRF
    /// token, takes its place, so an id known before sign-in is worth nothing after it.
    pub fn sign_in(&self, old: Option<&str>, user: User) -> Session {
        let mut sessions = self.lock();
        if let Some(old) = old {
            sessions.remove(old);
        }
        let session = Session {
            id: random_token(),
            csrf: random_token(),
            user: Some(user),
            purpose: None,
            pupils: Arc::default(),
            last_seen: Instant::now(),
        };
        sessions.insert(session.id.clone(), session.clone());
        session
    }

    pub fn set_purpose(&self, id: &str, purpose: Option<Purpose>) {
        if let Some(session) = self.lock().get_mut(id) {
            session.purpose = purpose;
        }
    }

    pub fn end(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Starts a sign-in at the identity provider; the id goes in [`SIGN_IN_COOKIE`].
    pub fn begin_sign_in(&self) -> (String, PendingSignIn) {
        let pending = PendingSignIn {
            state: random_token(),
            nonce: random_token(),
            pkce_verifier: random_token(),
            started: Instant::now(),
        };
        let id = random_token();
        self.pending_lock().insert(id.clone(), pending.clone());
        (id, pending)
    }

    /// The sign-in `id` started, taken (a provider's answer is used once), unless too old.
    pub fn take_sign_in(&self, id: &str) -> Option<PendingSignIn> {
        self.pending_lock()
            .remove(id)
            .filter(|p| p.started.elapsed() <= SIGN_IN_TIMEOUT)
    }

    /// Drops sessions expired for a while and abandoned sign-ins; returns how many sessions
    /// remain (live ones, and those expired less than [`EXPIRED_KEPT`] ago).
    pub fn sweep(&self) -> usize {
        let now = Instant::now();
        self.pending_lock()
            .retain(|_, p| now.duration_since(p.started) <= SIGN_IN_TIMEOUT);
        let mut sessions = self.lock();
        sessions.retain(|_, s| now.duration_since(s.last_seen) <= self.idle + EXPIRED_KEPT);
        sessions.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn pending_lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, PendingSignIn>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// 256 random bits from the operating system's generator, base64url without padding.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .expect("the operating system's random number generator works");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The value of cookie `name` in a request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value; `max_age` 0 removes the cookie.
pub fn set_cookie(
    name: &str,
    value: &str,
    secure: bool,
    same_site: &str,
    max_age: Option<u64>,
) -> String {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}");
    if secure {
        cookie.push_str("; Secure");
    }
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    cookie
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        User {
            credential: Credential::new("rc_abc_secret"),
            role: Role::Operations,
            label: "API key abc".into(),
            expires: None,
        }
    }

    #[test]
    fn signing_in_replaces_the_session_id_and_csrf_token() {
        let store = SessionStore::new(Duration::from_secs(60));
        let before = store.start();
        let after = store.sign_in(Some(&before.id), user());
        assert_ne!(before.id, after.id);
        assert_ne!(before.csrf, after.csrf);
        assert!(matches!(store.get(&before.id), Lookup::Missing));
        let Lookup::Active(found) = store.get(&after.id) else {
            panic!("the new session is active");
        };
        assert!(found.csrf_matches(&after.csrf));
        assert!(!found.csrf_matches(&before.csrf));
        assert!(!found.csrf_matches(""));
    }

    #[test]
    fn an_idle_session_expires_and_an_expired_credential_ends_it() {
        let store = SessionStore::new(Duration::from_millis(30));
        let session = store.sign_in(None, user());
        std::thread::sleep(Duration::from_millis(60));
        assert!(matches!(store.get(&session.id), Lookup::Expired));
        assert!(matches!(store.get(&session.id), Lookup::Missing));

        let store = SessionStore::new(Duration::from_secs(60));
        let mut expiring = user();
        expiring.expires = Some(Instant::now());
        let session = store.sign_in(None, expiring);
        assert!(matches!(store.get(&session.id), Lookup::Expired));
        let idle = store.start();
        assert_eq!(store.sweep(), 1);
        store.end(&idle.id);
        assert_eq!(store.sweep(), 0);
    }

    #[test]
    fn a_provider_sign_in_is_answered_once() {
        let store = SessionStore::new(Duration::from_secs(60));
        let (id, pending) = store.begin_sign_in();
        assert_ne!(pending.state, pending.nonce);
        assert_eq!(store.take_sign_in(&id).unwrap().state, pending.state);
        assert!(store.take_sign_in(&id).is_none());
    }

    #[test]
    fn credentials_stay_out_of_debug_output_and_cookies_are_strict() {
        let debug = format!("{:?}", user());
        assert!(!debug.contains("secret"), "{debug}");
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::COOKIE,
            "a=1; rollcall_session=xyz".parse().unwrap(),
        );
        assert_eq!(cookie(&headers, COOKIE), Some("xyz"));
        assert_eq!(cookie(&headers, "b"), None);
        let set = set_cookie(COOKIE, "xyz", true, "Strict", None);
        assert_eq!(
            set,
            "rollcall_session=xyz; Path=/; HttpOnly; SameSite=Strict; Secure"
        );
        assert!(set_cookie(COOKIE, "", false, "Strict", Some(0)).ends_with("Max-Age=0"));
    }
}
