//! The stored ids of the national attendance codes: `register` rows hold a code as one byte.
//!
//! Ids are assigned once, when a code is first synced, and never reused or renumbered, so rows
//! written by any release decode the same. The domain crate stays the source of truth for what a
//! code means; the table only numbers them.
//!
//! Because ids are only ever added, a book read once stays right for every id it holds: each
//! [`Pool`] keeps the book it last read (its [`Cache`], shared by the pool's clones; see
//! [`cached`]) and reads the table again only when it meets an id or a code the book does not
//! hold ([`decode`], [`refresh`]), instead of once per feed applied and per query answered.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use rollcall_domain::Counters;
use rollcall_domain::codes::{self, AttendanceCode};
use sqlx::PgConnection;

use crate::{Error, Pool, Result};

/// The book a pool last read, if any; a pool and its clones share one.
#[derive(Clone, Debug, Default)]
pub(crate) struct Cache(Arc<Mutex<Option<Arc<CodeBook>>>>);

impl Cache {
    fn slot(&self) -> MutexGuard<'_, Option<Arc<CodeBook>>> {
        // The book is replaced whole, so a panicking holder leaves nothing half done.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The book cached for `pool`, if any.
fn lookup(pool: &Pool) -> Option<Arc<CodeBook>> {
    pool.books().slot().clone()
}

/// Caches `book` for `pool`, replacing what it held.
pub(crate) fn store(pool: &Pool, book: CodeBook) -> Arc<CodeBook> {
    let book = Arc::new(book);
    *pool.books().slot() = Some(book.clone());
    book
}

/// Forgets `pool`'s book: the next use reads the table again.
pub(crate) fn forget(pool: &Pool) {
    *pool.books().slot() = None;
}

/// The book of `pool`'s database: the cached one, or read from the table on first use.
pub(crate) async fn cached(pool: &Pool) -> Result<Arc<CodeBook>> {
    if let Some(book) = lookup(pool) {
        return Ok(book);
    }
    let mut conn = pool.acquire().await?;
    let book = CodeBook::load(&mut conn).await?;
    Ok(store(pool, book))
}

/// `read(book)` with `pool`'s cached book; when that meets an id the book does not hold (a code
/// numbered since it was read, by this process or another), the table is read again and `read`
/// runs once more with the fresh book.
pub(crate) async fn decode<T>(pool: &Pool, read: impl Fn(&CodeBook) -> Result<T>) -> Result<T> {
    let book = cached(pool).await?;
    match read(&book) {
        Err(Error::UnknownCode { .. }) => {
            tracing::debug!("code id not in the cached code book; reading the table again");
            let mut conn = pool.acquire().await?;
            let book = store(pool, CodeBook::load(&mut conn).await?);
            read(&book)
        }
        other => other,
    }
}

/// A book holding every code in `wanted`, for a write inside the caller's transaction: the
/// cached one when it holds them all, otherwise read again (numbering any domain code the table
/// lacks, as [`CodeBook::load_complete`] does) and cached. Reads through `conn`, never a second
/// connection of the pool, which may have none left.
pub(crate) async fn refresh<'a>(
    pool: &Pool,
    conn: &mut PgConnection,
    mut wanted: impl Iterator<Item = &'a str>,
) -> Result<Arc<CodeBook>> {
    if let Some(book) = lookup(pool)
        && wanted.all(|code| book.id(code).is_some())
    {
        return Ok(book);
    }
    Ok(store(pool, CodeBook::load_complete(conn).await?))
}

/// Code ids as loaded from `attendance_codes`.
#[derive(Clone, Debug, Default)]
pub struct CodeBook {
    /// `by_id[id]`: the code with that id; index 0 (no mark) is always `None`.
    by_id: Vec<Option<&'static AttendanceCode>>,
    ids: HashMap<&'static str, u8>,
}

impl CodeBook {
    pub async fn load(conn: &mut PgConnection) -> Result<CodeBook> {
        let rows: Vec<(i16, String)> = sqlx::query_as("select id, code from attendance_codes")
            .fetch_all(&mut *conn)
            .await?;
        let mut book = CodeBook::default();
        for (id, code) in rows {
            let id = u8::try_from(id).map_err(|_| Error::UnknownCode { code: code.clone() })?;
            let code = codes::get(&code).ok_or(Error::UnknownCode { code })?;
            if book.by_id.len() <= id as usize {
                book.by_id.resize(id as usize + 1, None);
            }
            book.by_id[id as usize] = Some(code);
            book.ids.insert(code.code(), id);
        }
        Ok(book)
    }

    /// Loads the book, first numbering every domain code not in the table yet.
    pub async fn load_complete(conn: &mut PgConnection) -> Result<CodeBook> {
        let book = CodeBook::load(conn).await?;
        if codes::all().iter().all(|c| book.ids.contains_key(c.code())) {
            return Ok(book);
        }
        crate::registry::sync_codes_on(conn, &crate::registry::domain_codes()).await?;
        CodeBook::load(conn).await
    }

    pub fn id(&self, code: &str) -> Option<u8> {
        self.ids.get(code).copied()
    }

    pub fn code(&self, id: u8) -> Result<&'static AttendanceCode> {
        self.by_id
            .get(id as usize)
            .copied()
            .flatten()
            .ok_or_else(|| Error::UnknownCode {
                code: format!("id {id}"),
            })
    }

    /// Counters from a count array (`sessions[id - 1]`, as in the totals tables).
    pub fn counters(&self, sessions: &[i64]) -> Result<Counters> {
        let mut counters = Counters::default();
        for (index, &n) in sessions.iter().enumerate() {
            if n > 0 {
                counters.add(self.code(index as u8 + 1)?, n as u64);
            }
        }
        Ok(counters)
    }
}
