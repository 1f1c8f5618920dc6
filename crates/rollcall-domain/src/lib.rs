//! Attendance rules shared by every Rollcall service: pure, no I/O.
