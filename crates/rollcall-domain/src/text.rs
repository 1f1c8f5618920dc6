//! What a text field of a feed may hold: the characters and lengths that storage, exports and
//! logs can take without harm, and the range of dates a register can hold.
//!
//! PostgreSQL cannot store U+0000 in text at all, and the other control characters break CSV
//! rows, log lines and what an officer sees on screen. Every field is checked here before its own
//! rule (a UPN's check letter, a date's shape), after surrounding whitespace is trimmed: what is
//! refused is refused inside the value, where trimming cannot remove it. The rules and the
//! limits are written down in `docs/validation.md`.

use chrono::NaiveDate;

/// Most characters a name (forename, surname) may have. Census names are at most 35; MIS data
/// with several forenames or double-barrelled surnames runs longer, never near this.
pub const MAX_NAME_CHARS: usize = 100;

/// Most characters any other field may have: the longest valid value of a code, flag, date or
/// identifier is 13 characters (a UPN), so a near miss still gets the field's own finding.
pub const MAX_SHORT_CHARS: usize = 32;

/// The earliest date any field of a feed may hold.
pub const EARLIEST_DATE: NaiveDate = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();

/// The latest date any field of a feed may hold.
pub const LATEST_DATE: NaiveDate = NaiveDate::from_ymd_opt(2099, 12, 31).unwrap();

/// Why a text value was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("is longer than {max} characters")]
    TooLong { max: usize },
    /// Names the refused character by its code point, never the value around it.
    #[error("contains the control character U+{:04X}, which cannot be stored", u32::from(*.0))]
    ControlCharacter(char),
}

/// Whether `c` is refused inside a value: every character that controls rather than prints.
///
/// Refused: C0 controls (U+0000 to U+001F, tab, CR and LF included), DEL (U+007F), C1 controls
/// (U+0080 to U+009F), the bidirectional embedding, override and isolate controls (U+202A to
/// U+202E, U+2066 to U+2069), the line and paragraph separators (U+2028, U+2029), the byte-order
/// mark (U+FEFF) and Unicode noncharacters (U+FDD0 to U+FDEF, and the last two code points of
/// every plane). Kept: every letter, mark, digit, punctuation and symbol of every script, spaces
/// inside a value (U+00A0 included), and the zero-width joiner and non-joiner (U+200C, U+200D),
/// which some scripts need to spell a name.
pub fn is_refused(c: char) -> bool {
    let u = u32::from(c);
    matches!(u,
        0x00..=0x1F | 0x7F..=0x9F
        | 0x202A..=0x202E | 0x2066..=0x2069
        | 0x2028 | 0x2029 | 0xFEFF
        | 0xFDD0..=0xFDEF)
        || u & 0xFFFE == 0xFFFE
}

/// Checks a value (already trimmed) against the field's limit and the refused characters.
/// Length is counted in characters (Unicode scalar values), not bytes.
pub fn check(value: &str, max_chars: usize) -> Result<(), TextError> {
    // Bytes bound characters from above: most values are decided without counting.
    if value.len() > max_chars && value.chars().count() > max_chars {
        return Err(TextError::TooLong { max: max_chars });
    }
    match value.chars().find(|&c| is_refused(c)) {
        Some(c) => Err(TextError::ControlCharacter(c)),
        None => Ok(()),
    }
}

/// Whether a date is inside the range a register can hold.
pub fn date_in_range(date: NaiveDate) -> bool {
    (EARLIEST_DATE..=LATEST_DATE).contains(&date)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_and_letters_of_every_script_kept() {
        for refused in [
            '\0',
            '\t',
            '\n',
            '\r',
            '\u{1b}',
            '\u{7f}',
            '\u{85}',
            '\u{9f}',
            '\u{202e}',
            '\u{2066}',
            '\u{2028}',
            '\u{feff}',
            '\u{fdd0}',
            '\u{fffe}',
            '\u{ffff}',
            '\u{1fffe}',
            '\u{10ffff}',
        ] {
            assert!(is_refused(refused), "U+{:04X}", u32::from(refused));
        }
        for kept in [
            'a', 'Z', 'é', 'ß', 'ł', 'Ø', 'ء', 'ש', 'क', '中', '\'', '-', ' ', '\u{a0}',
            '\u{200c}', '\u{200d}', '\u{fffd}', '😀',
        ] {
            assert!(!is_refused(kept), "U+{:04X}", u32::from(kept));
        }
    }

    #[test]
    fn length_is_counted_in_characters() {
        let hundred_wide = "é".repeat(MAX_NAME_CHARS);
        assert_eq!(check(&hundred_wide, MAX_NAME_CHARS), Ok(()));
        assert_eq!(
            check(&format!("{hundred_wide}e"), MAX_NAME_CHARS),
            Err(TextError::TooLong {
                max: MAX_NAME_CHARS
            })
        );
        assert_eq!(
            check("Ada\0", MAX_NAME_CHARS),
            Err(TextError::ControlCharacter('\0'))
        );
        assert_eq!(
            TextError::ControlCharacter('\0').to_string(),
            "contains the control character U+0000, which cannot be stored"
        );
    }

    #[test]
    fn dates_are_bounded_at_both_ends() {
        assert!(date_in_range(EARLIEST_DATE) && date_in_range(LATEST_DATE));
        assert!(!date_in_range(EARLIEST_DATE.pred_opt().unwrap()));
        assert!(!date_in_range(LATEST_DATE.succ_opt().unwrap()));
    }
}
