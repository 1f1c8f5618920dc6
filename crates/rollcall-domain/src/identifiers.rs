//! Validated identifiers: UPN, URN, LA code and LAESTAB, as newtypes that cannot hold an invalid value.
//!
//! Parsing is strict: no trimming and no case folding (callers trim input fields first). Every rule
//! has its own error variant so a sender can be told exactly which rule broke. Error messages name
//! the rule, never the value: a UPN is personal data.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use crate::table::{Table, leak};

/// The 23 letters used as UPN check letters and temporary-UPN final letters (no I, O or S).
pub const UPN_LETTERS: &[u8; 23] = b"ABCDEFGHJKLMNPQRTUVWXYZ";

/// Length of a UPN in characters.
pub const UPN_LEN: usize = 13;

// ---------------------------------------------------------------------------------------------
// LA codes

struct LaInfo {
    code: u16,
    ons_code: Option<&'static str>,
    name: &'static str,
    region_code: Option<&'static str>,
    region_name: Option<&'static str>,
    current: bool,
}

static LAS: LazyLock<Vec<LaInfo>> = LazyLock::new(|| {
    parse_las(include_str!("../data/la-codes.csv"))
        .unwrap_or_else(|e| panic!("embedded la-codes.csv: {e}"))
});

fn la_info(code: u16) -> Option<&'static LaInfo> {
    LAS.binary_search_by_key(&code, |l| l.code)
        .ok()
        .map(|i| &LAS[i])
}

/// Parses and checks the LA table, sorted by code. Every malformed row is an error naming its line.
fn parse_las(text: &str) -> Result<Vec<LaInfo>, String> {
    let table = Table::parse(text).map_err(|e| e.to_string())?;
    let col = |name| table.require(name).map_err(|e| e.to_string());
    let (c_code, c_ons, c_name, c_rcode, c_rname, c_status) = (
        col("la_code")?,
        col("ons_code")?,
        col("la_name")?,
        col("region_code")?,
        col("region_name")?,
        col("status")?,
    );
    let opt = |s: &str| (!s.is_empty()).then(|| leak(s));
    let gss = |s: &str, prefix: &str| {
        s.len() == 9 && s.starts_with(prefix) && s[3..].bytes().all(|b| b.is_ascii_digit())
    };
    let mut las: Vec<LaInfo> = Vec::new();
    for row in table.rows() {
        let f = &row.fields;
        let line = row.line;
        let code = &f[c_code];
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) || code.starts_with('0') {
            return Err(format!("line {line}: la_code must be 3 digits"));
        }
        let code: u16 = code
            .parse()
            .map_err(|_| format!("line {line}: la_code must be 3 digits"))?;
        if las.iter().any(|l| l.code == code) {
            return Err(format!("line {line}: duplicate la_code"));
        }
        if f[c_name].trim().is_empty() {
            return Err(format!("line {line}: empty la_name"));
        }
        let current = match f[c_status].as_str() {
            "current" => true,
            "historic" => false,
            _ => return Err(format!("line {line}: status must be current or historic")),
        };
        if current {
            if !gss(&f[c_ons], "E0") && !gss(&f[c_ons], "E1") {
                return Err(format!("line {line}: current LA needs an ONS code"));
            }
            if !gss(&f[c_rcode], "E12") || f[c_rname].is_empty() {
                return Err(format!(
                    "line {line}: current LA needs a region code and name"
                ));
            }
        } else if !f[c_ons].is_empty() && !gss(&f[c_ons], "E") {
            return Err(format!("line {line}: malformed ONS code"));
        }
        las.push(LaInfo {
            code,
            ons_code: opt(&f[c_ons]),
            name: leak(&f[c_name]),
            region_code: opt(&f[c_rcode]),
            region_name: opt(&f[c_rname]),
            current,
        });
    }
    if las.is_empty() {
        return Err("no LA codes".into());
    }
    las.sort_by_key(|l| l.code);
    Ok(las)
}

/// A local authority code (3 digits, e.g. 937 Warwickshire), current or historic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LaCode(u16);

#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum LaCodeError {
    #[error("la code must be 3 characters")]
    Length,
    #[error("la code must be digits")]
    NotDigits,
    #[error("not a current or historic la code")]
    Unknown,
}

impl LaCode {
    pub fn parse(s: &str) -> Result<LaCode, LaCodeError> {
        if s.len() != 3 {
            return Err(LaCodeError::Length);
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(LaCodeError::NotDigits);
        }
        LaCode::new(s.parse().map_err(|_| LaCodeError::NotDigits)?)
    }

    pub fn new(n: u16) -> Result<LaCode, LaCodeError> {
        la_info(n)
            .map(|l| LaCode(l.code))
            .ok_or(LaCodeError::Unknown)
    }

    pub fn get(self) -> u16 {
        self.0
    }

    fn info(self) -> &'static LaInfo {
        la_info(self.0).expect("an LaCode is always in the table")
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// Whether the LA exists today (historic codes survive inside old UPNs).
    pub fn is_current(self) -> bool {
        self.info().current
    }

    pub fn ons_code(self) -> Option<&'static str> {
        self.info().ons_code
    }

    pub fn region_code(self) -> Option<&'static str> {
        self.info().region_code
    }

    pub fn region_name(self) -> Option<&'static str> {
        self.info().region_name
    }
}

impl fmt::Display for LaCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03}", self.0)
    }
}

impl FromStr for LaCode {
    type Err = LaCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LaCode::parse(s)
    }
}

/// The current LA codes, in ascending order.
pub fn current_la_codes() -> impl Iterator<Item = LaCode> {
    LAS.iter().filter(|l| l.current).map(|l| LaCode(l.code))
}

/// Every LA code, current and historic, in ascending order.
pub fn all_la_codes() -> impl Iterator<Item = LaCode> {
    LAS.iter().map(|l| LaCode(l.code))
}

// ---------------------------------------------------------------------------------------------
// UPN

/// A unique pupil number: check letter, issuing LA, establishment, year of issue, serial.
///
/// A temporary UPN ends in one of the 23 check letters instead of the last serial digit.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Upn(String);

/// Which UPN rule broke, checked in this order. Messages never repeat the value.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum UpnError {
    #[error("upn must be 13 characters, found {found}")]
    Length { found: usize },
    #[error("upn must start with one of the 23 check letters")]
    FirstCharacter,
    #[error("upn characters 2 to 12 must be digits")]
    Digits,
    #[error("upn character 13 must be a digit or one of the 23 check letters")]
    LastCharacter,
    #[error("upn characters 2 to 4 are not a current or historic la code")]
    LaCode,
    #[error("upn check letter does not match")]
    CheckLetter,
}

/// Value of a character in positions 2 to 13 for the check-letter sum.
fn upn_value(b: u8) -> Option<u32> {
    if b.is_ascii_digit() {
        Some(u32::from(b - b'0'))
    } else {
        UPN_LETTERS.iter().position(|&l| l == b).map(|p| p as u32)
    }
}

/// The check letter for characters 2 to 13 (12 bytes). `None` if any is not a digit or letter value.
pub fn upn_check_letter(rest: &[u8]) -> Option<u8> {
    if rest.len() != UPN_LEN - 1 {
        return None;
    }
    let mut sum = 0;
    for (i, &b) in rest.iter().enumerate() {
        let v = if i < 11 {
            b.is_ascii_digit().then(|| u32::from(b - b'0'))?
        } else {
            upn_value(b)?
        };
        sum += v * (i as u32 + 2);
    }
    Some(UPN_LETTERS[(sum % 23) as usize])
}

impl Upn {
    pub fn parse(s: &str) -> Result<Upn, UpnError> {
        let n = s.chars().count();
        if n != UPN_LEN {
            return Err(UpnError::Length { found: n });
        }
        let mut chars = s.chars();
        let first = chars.next().expect("13 characters");
        if !first.is_ascii() || !UPN_LETTERS.contains(&(first as u8)) {
            return Err(UpnError::FirstCharacter);
        }
        if !chars.by_ref().take(11).all(|c| c.is_ascii_digit()) {
            return Err(UpnError::Digits);
        }
        let last = chars.next().expect("13 characters");
        if !last.is_ascii() || upn_value(last as u8).is_none() {
            return Err(UpnError::LastCharacter);
        }
        // All 13 characters are ASCII from here on.
        let b = s.as_bytes();
        let la =
            u16::from(b[1] - b'0') * 100 + u16::from(b[2] - b'0') * 10 + u16::from(b[3] - b'0');
        if la_info(la).is_none() {
            return Err(UpnError::LaCode);
        }
        if upn_check_letter(&b[1..]) != Some(b[0]) {
            return Err(UpnError::CheckLetter);
        }
        Ok(Upn(s.to_owned()))
    }

    /// Builds a permanent UPN with its check letter.
    ///
    /// # Panics
    /// If `estab` > 9999, `year` > 99 or `serial` > 999 (they would not fit their digits).
    pub fn from_parts(la: LaCode, estab: u16, year: u8, serial: u16) -> Upn {
        assert!(
            estab <= 9999 && year <= 99 && serial <= 999,
            "upn part out of range"
        );
        Upn::build(format!("{:03}{estab:04}{year:02}{serial:03}", la.get()))
    }

    /// Builds a temporary UPN: the last serial digit is replaced by `letter` (one of [`UPN_LETTERS`]).
    ///
    /// # Panics
    /// If `estab` > 9999, `year` > 99, `serial` > 99 or `letter` is not one of the 23 letters.
    pub fn temporary_from_parts(la: LaCode, estab: u16, year: u8, serial: u8, letter: char) -> Upn {
        assert!(
            estab <= 9999 && year <= 99 && serial <= 99,
            "upn part out of range"
        );
        assert!(
            letter.is_ascii() && UPN_LETTERS.contains(&(letter as u8)),
            "not a upn letter"
        );
        Upn::build(format!(
            "{:03}{estab:04}{year:02}{serial:02}{letter}",
            la.get()
        ))
    }

    fn build(rest: String) -> Upn {
        let check = upn_check_letter(rest.as_bytes()).expect("digits and letters only");
        let mut s = String::with_capacity(UPN_LEN);
        s.push(char::from(check));
        s.push_str(&rest);
        Upn(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a temporary UPN (a letter in position 13).
    pub fn is_temporary(&self) -> bool {
        self.0.as_bytes()[12].is_ascii_uppercase()
    }

    /// The LA that issued the UPN (characters 2 to 4), which may be historic.
    pub fn issuing_la(&self) -> LaCode {
        LaCode(self.0[1..4].parse().expect("checked digits"))
    }
}

/// Debug does not print the UPN: it is personal data and Debug output ends up in logs.
impl fmt::Debug for Upn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Upn(..)")
    }
}

impl fmt::Display for Upn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Upn {
    type Err = UpnError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Upn::parse(s)
    }
}

// ---------------------------------------------------------------------------------------------
// URN

/// A unique reference number for an establishment: 6 digits, 100000 to 999999.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Urn(u32);

#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum UrnError {
    #[error("urn must be 6 characters")]
    Length,
    #[error("urn must be digits")]
    NotDigits,
    #[error("urn must be between 100000 and 999999")]
    OutOfRange,
}

impl Urn {
    pub fn parse(s: &str) -> Result<Urn, UrnError> {
        if s.len() != 6 {
            return Err(UrnError::Length);
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(UrnError::NotDigits);
        }
        Urn::new(s.parse().map_err(|_| UrnError::NotDigits)?)
    }

    pub fn new(n: u32) -> Result<Urn, UrnError> {
        if (100_000..=999_999).contains(&n) {
            Ok(Urn(n))
        } else {
            Err(UrnError::OutOfRange)
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Urn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Urn {
    type Err = UrnError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Urn::parse(s)
    }
}

// ---------------------------------------------------------------------------------------------
// LAESTAB

/// The DfE number of an establishment: LA code and 4-digit establishment number (`9372000`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Laestab {
    la: LaCode,
    estab: u16,
}

#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum LaestabError {
    #[error("laestab must be 7 digits, or 3 and 4 digits separated by /")]
    Format,
    #[error("laestab must be digits")]
    NotDigits,
    #[error("laestab does not start with a current or historic la code")]
    LaCode,
    #[error("establishment number must be 4 digits")]
    Estab,
}

impl Laestab {
    /// Parses `9372000` or `937/2000`.
    pub fn parse(s: &str) -> Result<Laestab, LaestabError> {
        let (la, estab) = match s.len() {
            7 => (&s[..3], &s[3..]),
            8 if s.as_bytes()[3] == b'/' => (&s[..3], &s[4..]),
            _ => return Err(LaestabError::Format),
        };
        if !la.bytes().chain(estab.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(LaestabError::NotDigits);
        }
        let la = LaCode::parse(la).map_err(|_| LaestabError::LaCode)?;
        Laestab::new(la, estab.parse().map_err(|_| LaestabError::NotDigits)?)
    }

    pub fn new(la: LaCode, estab: u16) -> Result<Laestab, LaestabError> {
        if estab > 9999 {
            return Err(LaestabError::Estab);
        }
        Ok(Laestab { la, estab })
    }

    pub fn la(&self) -> LaCode {
        self.la
    }

    pub fn estab(&self) -> u16 {
        self.estab
    }

    /// The 7-digit number, e.g. 9372000.
    pub fn get(&self) -> u32 {
        u32::from(self.la.get()) * 10_000 + u32::from(self.estab)
    }
}

impl fmt::Display for Laestab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:04}", self.la, self.estab)
    }
}

impl FromStr for Laestab {
    type Err = LaestabError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Laestab::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "la_code,ons_code,la_name,region_code,region_name,status\n";
    const GOOD: &str = "937,E10000031,Warwickshire,E12000005,West Midlands,current\n";

    #[test]
    fn embedded_table_loads() {
        let las = parse_las(include_str!("../data/la-codes.csv")).unwrap();
        assert_eq!(las.iter().filter(|l| l.current).count(), 153);
        assert_eq!(las.iter().filter(|l| !l.current).count(), 7);
        assert_eq!(current_la_codes().count(), 153);
        assert_eq!(all_la_codes().count(), 160);
    }

    #[test]
    fn every_malformed_row_fails() {
        assert!(parse_las(&format!("{HEADER}{GOOD}")).is_ok());
        assert!(
            parse_las(&format!(
                "{HEADER}928,,Northamptonshire (replaced 2021),,,historic\n"
            ))
            .is_ok()
        );
        for bad in [
            "93,E10000031,Warwickshire,E12000005,West Midlands,current\n",
            "9370,E10000031,Warwickshire,E12000005,West Midlands,current\n",
            "93x,E10000031,Warwickshire,E12000005,West Midlands,current\n",
            "037,E10000031,Warwickshire,E12000005,West Midlands,current\n",
            "937,E1000003,Warwickshire,E12000005,West Midlands,current\n",
            "937,,Warwickshire,E12000005,West Midlands,current\n",
            "937,E10000031,,E12000005,West Midlands,current\n",
            "937,E10000031,Warwickshire,,West Midlands,current\n",
            "937,E10000031,Warwickshire,E12000005,,current\n",
            "937,E10000031,Warwickshire,E12000005,West Midlands,closed\n",
            "937,E10000031,Warwickshire,E12000005,West Midlands\n",
            "937,E10000031,Warwick,shire,E12000005,West Midlands,current\n",
            "928,X,Northamptonshire,,,historic\n",
        ] {
            assert!(parse_las(&format!("{HEADER}{bad}")).is_err(), "{bad}");
        }
        assert!(
            parse_las(&format!("{HEADER}{GOOD}{GOOD}")).is_err(),
            "duplicate"
        );
        assert!(parse_las(HEADER).is_err(), "empty");
        assert!(
            parse_las("la_code,ons_code,la_name\n937,E10000031,Warwickshire\n").is_err(),
            "missing columns"
        );
    }
}
