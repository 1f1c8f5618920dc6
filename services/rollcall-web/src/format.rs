//! Numbers, percentages and dates as GOV.UK content style writes them: "3 March 2026",
//! "10,400", "94.1%", "2:05pm".

use chrono::{DateTime, NaiveDate, Timelike as _, Utc};

/// "3 March 2026".
pub fn date(d: NaiveDate) -> String {
    d.format("%-d %B %Y").to_string()
}

/// "2:05pm on 3 March 2026" (UTC).
pub fn time_and_date(t: DateTime<Utc>) -> String {
    let (pm, hour) = t.hour12();
    format!(
        "{hour}:{:02}{} on {}",
        t.minute(),
        if pm { "pm" } else { "am" },
        date(t.date_naive())
    )
}

/// An RFC 3339 time as [`time_and_date`]; anything else as it is.
pub fn rfc3339(s: &str) -> String {
    DateTime::parse_from_rfc3339(s)
        .map(|t| time_and_date(t.with_timezone(&Utc)))
        .unwrap_or_else(|_| s.to_owned())
}

/// "10,400".
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "94.1%"; a percentage of nothing as "0.0%".
pub fn percent(p: f64) -> String {
    format!("{:.1}%", if p.is_finite() { p } else { 0.0 })
}

/// "2025 to 2026", as the DfE names academic years in prose.
pub fn academic_year(start_year: i32) -> String {
    format!("{start_year} to {}", start_year + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_and_dates_follow_the_content_style() {
        assert_eq!(
            date(NaiveDate::from_ymd_opt(2026, 3, 3).unwrap()),
            "3 March 2026"
        );
        let t = DateTime::parse_from_rfc3339("2026-03-03T14:05:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(time_and_date(t), "2:05pm on 3 March 2026");
        assert_eq!(
            rfc3339("2026-03-03T00:30:00+00:00"),
            "12:30am on 3 March 2026"
        );
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(10_400), "10,400");
        assert_eq!(count(1_833_340), "1,833,340");
        assert_eq!(percent(94.06), "94.1%");
        assert_eq!(percent(f64::NAN), "0.0%");
        assert_eq!(academic_year(2025), "2025 to 2026");
    }
}
