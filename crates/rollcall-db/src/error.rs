//! What can go wrong talking to the database, and what kind of failure each is: whether the same
//! call may succeed if retried, or the database refused what it was given.
//!
//! PostgreSQL says why it failed with a SQLSTATE; its class (the first two characters) decides
//! the kind. Connection, resource, operator and transaction-abort failures are transient: the
//! server or the network is in trouble, and the same call will work later. Data exceptions,
//! constraint violations and their kin are refusals of the values sent: retrying the same values
//! fails the same way. Messages never carry personal data, and [`Refusal`] keeps only what
//! PostgreSQL names of the schema (SQLSTATE, table, column, constraint), never its message,
//! which may quote the value refused.

pub use rollcall_domain::failure::ErrorKind;
use uuid::Uuid;

use crate::register;

/// A database failure. Its message never quotes a value: PostgreSQL's own message is shown only
/// for transient failures (the server's state, such as a shutdown), since for refused values it
/// may quote the value (`invalid input syntax for type date: "..."`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not a `#[source]`: printing the chain would print PostgreSQL's message.
    #[error("{}", describe_sqlx(.0))]
    Sqlx(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database url names no database")]
    NoDatabaseName,
    #[error("school {urn} is not in the registry")]
    UnknownSchool { urn: i32 },
    #[error("{marks} marks of feed {feed_id} name a pupil not on the school's roll")]
    UnknownPupil { feed_id: Uuid, marks: usize },
    #[error("feed {feed_id} is not registered")]
    FeedNotFound { feed_id: Uuid },
    #[error("attendance code {code:?} has no stored id or is not a national code")]
    UnknownCode { code: String },
    #[error("a register row names feed number {seq}, which has no recorded version")]
    UnknownFeedSeq { seq: i32 },
    #[error(transparent)]
    MalformedRegister(#[from] register::MalformedRow),
    #[error("feed {feed_id} belongs to school {stored}, not {given}")]
    FeedSchoolMismatch {
        feed_id: Uuid,
        stored: i32,
        given: i32,
    },
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Error {
        Error::Sqlx(err)
    }
}

/// An sqlx error in words that quote no value.
fn describe_sqlx(err: &sqlx::Error) -> String {
    let sqlx::Error::Database(db) = err else {
        return err.to_string();
    };
    let Some(code) = db.code() else {
        return "database error without a sqlstate".into();
    };
    let mut out = format!("database error {code}: {}", describe_sqlstate(&code));
    let pg = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>();
    for (what, name) in [
        ("table", pg.and_then(|e| e.table())),
        ("column", pg.and_then(|e| e.column())),
        ("constraint", db.constraint()),
    ] {
        if let Some(name) = name {
            out.push_str(&format!(", {what} {name}"));
        }
    }
    if sqlstate_kind(&code) == ErrorKind::Transient {
        out.push_str(&format!(" ({})", db.message()));
    }
    out
}

impl Error {
    /// What kind of failure this is (the kind every Rollcall error reports).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Sqlx(err) => sqlx_kind(err),
            Error::Migrate(_) | Error::NoDatabaseName => ErrorKind::Internal,
            Error::FeedNotFound { .. } => ErrorKind::NotFound,
            // What a validated feed asks for that the tables cannot take: validation makes
            // these impossible, so when one happens the feed itself is at fault.
            Error::UnknownSchool { .. }
            | Error::UnknownPupil { .. }
            | Error::UnknownCode { .. }
            | Error::FeedSchoolMismatch { .. } => ErrorKind::Refused,
            Error::UnknownFeedSeq { .. } | Error::MalformedRegister(_) => ErrorKind::Internal,
        }
    }

    /// True when the same call may succeed if retried.
    pub fn is_transient(&self) -> bool {
        self.kind() == ErrorKind::Transient
    }

    /// What may be recorded and shown of this failure: the SQLSTATE and the schema objects
    /// PostgreSQL names, or Rollcall's own message; never a value.
    pub fn refusal(&self) -> Refusal {
        match self {
            Error::Sqlx(sqlx::Error::Database(db)) => {
                let sqlstate = db.code().map(|c| c.into_owned());
                let pg = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>();
                Refusal {
                    reason: sqlstate
                        .as_deref()
                        .map_or("database error without a sqlstate", describe_sqlstate)
                        .to_owned(),
                    sqlstate,
                    table: pg.and_then(|e| e.table()).map(str::to_owned),
                    column: pg.and_then(|e| e.column()).map(str::to_owned),
                    constraint: db.constraint().map(str::to_owned),
                }
            }
            Error::Sqlx(err) => Refusal::plain(sqlx_reason(err)),
            // Rollcall's own messages name schools, feeds and codes, never a pupil.
            other => Refusal::plain(other.to_string()),
        }
    }
}

/// A failure as it may be stored, logged and shown to a sender or operator.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Refusal {
    /// PostgreSQL's five-character SQLSTATE, when the database refused.
    pub sqlstate: Option<String>,
    /// What the SQLSTATE means, or Rollcall's own message.
    pub reason: String,
    pub table: Option<String>,
    pub column: Option<String>,
    pub constraint: Option<String>,
}

impl Refusal {
    fn plain(reason: String) -> Refusal {
        Refusal {
            reason,
            ..Refusal::default()
        }
    }
}

fn sqlx_kind(err: &sqlx::Error) -> ErrorKind {
    match err {
        sqlx::Error::Database(db) => db
            .code()
            .map_or(ErrorKind::Internal, |code| sqlstate_kind(&code)),
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => ErrorKind::Transient,
        sqlx::Error::RowNotFound => ErrorKind::NotFound,
        // A value Rust could not bind (too many parameters, an encoding error) is refused
        // before it reaches the server.
        sqlx::Error::Encode(_) => ErrorKind::Refused,
        _ => ErrorKind::Internal,
    }
}

fn sqlx_reason(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => {
            "the connection to the database failed".into()
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
            "no database connection was available".into()
        }
        sqlx::Error::Encode(_) => "a value could not be sent to the database".into(),
        sqlx::Error::Decode(_) | sqlx::Error::ColumnDecode { .. } => {
            "a stored value could not be read".into()
        }
        _ => "database error".into(),
    }
}

/// The kind of a PostgreSQL SQLSTATE, by its class, with the few codes whose class says
/// otherwise; a class not named here is a fault.
pub fn sqlstate_kind(code: &str) -> ErrorKind {
    match code {
        // Object in use, lock not available, read-only transaction (a standby after a failover,
        // or a primary not yet promoted): later, the same statement runs.
        "55006" | "55P03" | "25006" => return ErrorKind::Transient,
        _ => {}
    }
    match code.get(..2).unwrap_or("") {
        // Connection exception, transaction rollback (serialization failure, deadlock),
        // insufficient resources (disk full, out of memory, too many connections), operator
        // intervention (shutdown, cancelled by a statement timeout), system error (I/O).
        "08" | "40" | "53" | "57" | "58" => ErrorKind::Transient,
        // Cardinality violation, data exception (invalid text such as NUL, value too long, out
        // of range, bad datetime), integrity constraint violation, program limit exceeded
        // (a value too large for an index), feature not supported for these values.
        "21" | "22" | "23" | "54" | "0A" => ErrorKind::Refused,
        // Everything else (syntax error or access rule violation, invalid transaction state,
        // undefined objects, object not in prerequisite state, PL/pgSQL, internal error): the
        // schema or the code is wrong, whatever was sent.
        _ => ErrorKind::Internal,
    }
}

/// What a SQLSTATE means, in PostgreSQL's own condition names where one is well known, or by
/// its class: safe to store and show, since it never quotes a value.
pub fn describe_sqlstate(code: &str) -> &'static str {
    match code {
        "22021" => {
            "character not in repertoire (text holding a byte the database cannot store, such as NUL)"
        }
        "22001" => "string data right truncation (a value too long for its column)",
        "22003" => "numeric value out of range",
        "22007" => "invalid datetime format",
        "22008" => "datetime field overflow (a date or time outside what the database holds)",
        "22P02" => "invalid text representation",
        "22P05" => "untranslatable character",
        "23502" => "not null violation",
        "23503" => "foreign key violation",
        "23505" => "unique violation",
        "23514" => "check violation",
        "21000" => "cardinality violation",
        "54000" => "program limit exceeded (a value too large for an index or a row)",
        "40001" => "serialization failure",
        "40P01" => "deadlock detected",
        "25006" => "read only sql transaction",
        "55P03" => "lock not available",
        "57014" => "query canceled",
        "57P01" => "admin shutdown",
        "53100" => "disk full",
        "53200" => "out of memory",
        "53300" => "too many connections",
        _ => match code.get(..2).unwrap_or("") {
            "08" => "connection exception",
            "21" => "cardinality violation",
            "22" => "data exception",
            "23" => "integrity constraint violation",
            "25" => "invalid transaction state",
            "40" => "transaction rollback",
            "42" => "syntax error or access rule violation",
            "53" => "insufficient resources",
            "54" => "program limit exceeded",
            "55" => "object not in prerequisite state",
            "57" => "operator intervention",
            "58" => "system error",
            "0A" => "feature not supported",
            "XX" => "internal error",
            _ => "database error",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every SQLSTATE the write path and the services can meet, with the kind it must be.
    #[test]
    fn sqlstates_are_classified_by_what_a_retry_would_do() {
        use ErrorKind::*;
        let cases = [
            // the connection and the server
            ("08000", Transient),
            ("08003", Transient),
            ("08006", Transient),
            ("08001", Transient),
            ("08P01", Transient),
            ("57P01", Transient),
            ("57P02", Transient),
            ("57P03", Transient),
            ("57014", Transient),
            ("53100", Transient),
            ("53200", Transient),
            ("53300", Transient),
            ("58030", Transient),
            ("25006", Transient),
            ("55P03", Transient),
            ("55006", Transient),
            // the transaction lost a race
            ("40001", Transient),
            ("40P01", Transient),
            ("40003", Transient),
            // the values sent
            ("22021", Refused),
            ("22001", Refused),
            ("22003", Refused),
            ("22007", Refused),
            ("22008", Refused),
            ("22P02", Refused),
            ("22P05", Refused),
            ("22012", Refused),
            ("2200N", Refused),
            ("23502", Refused),
            ("23503", Refused),
            ("23505", Refused),
            ("23514", Refused),
            ("23P01", Refused),
            ("21000", Refused),
            ("54000", Refused),
            ("54001", Refused),
            ("0A000", Refused),
            // the schema or the code
            ("42P01", Internal),
            ("42703", Internal),
            ("42883", Internal),
            ("42501", Internal),
            ("25P02", Internal),
            ("55000", Internal),
            ("XX000", Internal),
            ("XX001", Internal),
            ("P0001", Internal),
            ("F0000", Internal),
            ("ZZ999", Internal),
            ("", Internal),
        ];
        for (code, kind) in cases {
            assert_eq!(sqlstate_kind(code), kind, "sqlstate {code:?}");
            assert!(!describe_sqlstate(code).is_empty());
        }
    }

    #[test]
    fn rollcall_errors_have_a_kind() {
        let id = Uuid::nil();
        assert_eq!(
            Error::FeedNotFound { feed_id: id }.kind(),
            ErrorKind::NotFound
        );
        assert_eq!(Error::UnknownSchool { urn: 1 }.kind(), ErrorKind::Refused);
        assert_eq!(
            Error::UnknownPupil {
                feed_id: id,
                marks: 1
            }
            .kind(),
            ErrorKind::Refused
        );
        assert_eq!(
            Error::Sqlx(sqlx::Error::PoolTimedOut).kind(),
            ErrorKind::Transient
        );
        assert!(Error::Sqlx(sqlx::Error::PoolTimedOut).is_transient());
        assert_eq!(Error::NoDatabaseName.kind(), ErrorKind::Internal);
        assert_eq!(
            Error::UnknownSchool { urn: 100001 }.refusal().reason,
            "school 100001 is not in the registry"
        );
    }
}
