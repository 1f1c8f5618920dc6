//! The stored ids of the national attendance codes: `register` rows hold a code as one byte.
//!
//! Ids are assigned once, when a code is first synced, and never reused or renumbered, so rows
//! written by any release decode the same. The domain crate stays the source of truth for what a
//! code means; the table only numbers them.

use std::collections::HashMap;

use rollcall_domain::Counters;
use rollcall_domain::codes::{self, AttendanceCode};
use sqlx::PgConnection;

use crate::{Error, Result};

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
