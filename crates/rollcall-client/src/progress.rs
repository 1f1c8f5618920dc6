//! What a long operation (an export, waiting for many receipts) reports while it runs. The
//! library draws nothing: the `rollcall` command shows a bar on a terminal, other callers pass
//! [`Silent`].

/// Told how far a long operation has got.
pub trait Progress {
    /// The operation has `total` steps (an export's schools, the feeds waited for).
    fn start(&self, _total: u64) {}
    /// `done` steps are finished, and `items` (an export's rows) went by so far.
    fn advance(&self, _done: u64, _items: u64) {}
    /// The operation is over, finished or failed.
    fn finish(&self) {}
}

/// Reports nothing.
pub struct Silent;

impl Progress for Silent {}
