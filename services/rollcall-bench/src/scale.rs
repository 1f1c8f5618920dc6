//! The benchmark's scales as synthetic LA settings.

use chrono::NaiveDate;
use rollcall_synth::LaSpec;

/// How much to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scale {
    /// The demo LA: 32 schools, 10,400 pupils, 20 days each re-sending 4 (a few minutes).
    Small,
    /// A Birmingham-sized LA's day: 408 schools, 194,000 pupils, one day of AM and PM marks.
    LaDay,
    /// The same LA over 8 days, each feed re-sending the previous 7 days as vendors do.
    LaWeekResend,
    /// About 16 million marks: a national day (on request).
    NationalDay,
    /// The morning peak: 500 schools' vendors opening their streams at once, one connection
    /// each, a week of marks a school, against one gateway.
    Peak,
    /// The Birmingham-sized LA's whole academic year (190 school days, about 74 million marks),
    /// stored through the validator's checks and the aggregator's write path without the
    /// gateway or broker, for storage and query latency at full volume (on request).
    LaYear,
}

impl Scale {
    pub fn name(self) -> &'static str {
        match self {
            Scale::Small => "small",
            Scale::LaDay => "la-day",
            Scale::LaWeekResend => "la-week-resend",
            Scale::NationalDay => "national-day",
            Scale::Peak => "peak",
            Scale::LaYear => "la-year",
        }
    }

    pub fn spec(self) -> LaSpec {
        let first_day = NaiveDate::from_ymd_opt(2025, 10, 6).expect("valid date");
        let birmingham = LaSpec {
            la_code: 330,
            schools: 408,
            independent_schools: 20,
            pupils: 194_000,
            days: 1,
            first_day,
            resend_days: 0,
            seed: 330,
        };
        match self {
            Scale::LaYear => LaSpec {
                days: 190,
                first_day: NaiveDate::from_ymd_opt(2025, 9, 1).expect("valid date"),
                ..birmingham
            },
            Scale::Small => LaSpec::demo(),
            Scale::Peak => crate::peak::spec(),
            Scale::LaDay => birmingham,
            Scale::LaWeekResend => LaSpec {
                days: 8,
                resend_days: 7,
                ..birmingham
            },
            // One synthetic "LA" the size of England's school population on one day.
            Scale::NationalDay => LaSpec {
                schools: 8_000,
                independent_schools: 400,
                pupils: 8_000_000,
                ..birmingham
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scale_names_itself_as_clap_does() {
        use clap::ValueEnum as _;
        for scale in Scale::value_variants() {
            let clap_name = scale.to_possible_value().unwrap().get_name().to_owned();
            assert_eq!(clap_name, scale.name());
        }
        assert_eq!(Scale::LaDay.spec().pupils, 194_000);
        assert_eq!(Scale::LaWeekResend.spec().resend_days, 7);
    }
}
