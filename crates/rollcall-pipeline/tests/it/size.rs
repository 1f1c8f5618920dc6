//! Bytes per mark of v1 and v2 on synthetic feeds, before Kafka's compression: printed, and
//! held to the targets on a marks-heavy feed (the roll once, a week of marks re-sent).

use rollcall_domain::feed::ReceivedFeed;
use rollcall_pipeline::{
    encode_received, encode_received_v1, encode_validated, encode_validated_v1,
};
use rollcall_synth::{LaSpec, SyntheticLa};

use crate::common::{synthetic_received, validated_of};

#[derive(Default)]
struct Sizes {
    marks: usize,
    received_v1: usize,
    received_v2: usize,
    validated_v1: usize,
    validated_v2: usize,
    /// v2 with the roll (pupils) left out: what the marks themselves cost.
    received_v2_marks: usize,
    validated_v2_marks: usize,
}

impl Sizes {
    fn add(&mut self, feed: &ReceivedFeed, today: chrono::NaiveDate) {
        let (_, typed) = validated_of(feed, today);
        assert_eq!(
            typed.marks.len(),
            feed.marks.len(),
            "a clean synthetic feed"
        );
        self.marks += feed.marks.len();
        self.received_v1 += encode_received_v1(feed).len();
        self.received_v2 += encode_received(feed).len();
        self.validated_v1 += encode_validated_v1(&typed).len();
        self.validated_v2 += encode_validated(&typed).unwrap().len();
        // The roll's share: every mark's UPN then comes from the message's own table.
        let marks_only = ReceivedFeed {
            roll: Vec::new(),
            ..feed.clone()
        };
        let upns_only = encode_received(&ReceivedFeed {
            marks: Vec::new(),
            ..marks_only.clone()
        })
        .len();
        self.received_v2_marks += encode_received(&marks_only).len() - upns_only;
        let mut typed_marks = typed.clone();
        let no_pupils = encode_validated(&rollcall_domain::feed::ValidatedFeed {
            marks: Vec::new(),
            ..typed_marks.clone()
        })
        .unwrap()
        .len();
        typed_marks.outcome.findings.clear();
        self.validated_v2_marks += encode_validated(&typed_marks).unwrap().len() - no_pupils;
    }

    fn per_mark(&self, bytes: usize) -> f64 {
        bytes as f64 / self.marks as f64
    }

    fn print(&self, name: &str) {
        println!(
            "{name}: {} marks; bytes per mark: feeds v1 {:.2} v2 {:.2} (marks alone {:.2}); \
             validated v1 {:.2} v2 {:.2} (marks alone {:.2}); both topics v1 {:.2} v2 {:.2}",
            self.marks,
            self.per_mark(self.received_v1),
            self.per_mark(self.received_v2),
            self.per_mark(self.received_v2_marks),
            self.per_mark(self.validated_v1),
            self.per_mark(self.validated_v2),
            self.per_mark(self.validated_v2_marks),
            self.per_mark(self.received_v1 + self.validated_v1),
            self.per_mark(self.received_v2 + self.validated_v2),
        );
    }
}

fn measure(spec: LaSpec, last_day_only: bool) -> Sizes {
    let la = SyntheticLa::generate(spec);
    let days = la.spec.school_days();
    let today = *days.last().unwrap();
    let mut sizes = Sizes::default();
    for feed in la.feeds.iter().filter(|f| !last_day_only || f.day == today) {
        sizes.add(&synthetic_received(feed), today);
    }
    sizes
}

#[test]
fn v2_is_far_smaller_than_v1() {
    let sizes = measure(LaSpec::small(), false);
    sizes.print("small (every feed)");
    assert!(sizes.received_v2 * 5 < sizes.received_v1);
    assert!(sizes.validated_v2 * 5 < sizes.validated_v1);
}

/// The `la-week-resend` shape at the small LA's size: each feed re-sends the previous 7 days.
#[test]
fn a_marks_heavy_feed_is_within_the_targets() {
    let spec = LaSpec {
        days: 8,
        resend_days: 7,
        ..LaSpec::small()
    };
    let sizes = measure(spec, true);
    sizes.print("week re-sent (last day's feeds)");
    let feeds = sizes.per_mark(sizes.received_v2);
    let both = sizes.per_mark(sizes.received_v2 + sizes.validated_v2);
    assert!(feeds <= 4.0, "{feeds:.2} bytes per mark on the feeds topic");
    assert!(both <= 6.0, "{both:.2} bytes per mark through both topics");
}

/// The `la-day` shape: one day, no re-sends, so the whole roll travels for two marks a pupil.
#[test]
fn a_one_day_feed_is_mostly_its_roll() {
    let spec = LaSpec {
        days: 1,
        resend_days: 0,
        ..LaSpec::small()
    };
    let sizes = measure(spec, true);
    sizes.print("one day (la-day shape)");
    assert!(sizes.received_v2 * 3 < sizes.received_v1);
    assert!(
        sizes.received_v2_marks * 4 < sizes.received_v2,
        "the roll dominates"
    );
}
