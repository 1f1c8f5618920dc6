//! The feed API's records (`rollcall.feed.v1`) and the domain's, both ways, and a finding as the
//! API carries it: one conversion for the gateway that receives feeds, the client library that
//! sends them, and the v1 messages that carried them on the topics.

use rollcall_domain::validation::{Finding as DomainFinding, RawMark, RawPupil};
use rollcall_proto::feed::v1::{Finding, MarkRecord, RollRecord};

/// A roll record as the feed API carries it: the text as sent.
pub fn roll_record(p: &RawPupil) -> RollRecord {
    RollRecord {
        upn: p.upn.clone(),
        forename: p.forename.clone(),
        surname: p.surname.clone(),
        date_of_birth: p.date_of_birth.clone(),
        sex: p.sex.clone(),
        year_group: p.year_group.clone(),
        admission_date: p.admission_date.clone(),
        leaving_date: p.leaving_date.clone(),
        fsm: p.fsm.clone(),
        sen_provision: p.sen_provision.clone(),
        ethnicity: p.ethnicity.clone(),
        looked_after: p.looked_after.clone(),
        household_key: p.household_key.clone(),
    }
}

/// A roll record as the domain holds it, for validation to judge.
pub fn raw_pupil(r: RollRecord) -> RawPupil {
    RawPupil {
        upn: r.upn,
        forename: r.forename,
        surname: r.surname,
        date_of_birth: r.date_of_birth,
        sex: r.sex,
        year_group: r.year_group,
        admission_date: r.admission_date,
        leaving_date: r.leaving_date,
        fsm: r.fsm,
        sen_provision: r.sen_provision,
        ethnicity: r.ethnicity,
        looked_after: r.looked_after,
        household_key: r.household_key,
    }
}

/// A mark as the feed API carries it: the text as sent.
pub fn mark_record(m: &RawMark) -> MarkRecord {
    MarkRecord {
        upn: m.upn.clone(),
        date: m.date.clone(),
        session: m.session.clone(),
        code: m.code.clone(),
        minutes_late: m.minutes_late.clone(),
    }
}

/// A mark as the domain holds it, for validation to judge.
pub fn raw_mark(m: MarkRecord) -> RawMark {
    RawMark {
        upn: m.upn,
        date: m.date,
        session: m.session,
        code: m.code,
        minutes_late: m.minutes_late,
    }
}

/// A finding as the feed API carries it (a receipt, a dry run, a v1 message).
pub fn finding(f: &DomainFinding) -> Finding {
    let (record_kind, record_index) = f.record.kind_and_index();
    Finding {
        code: f.code.as_str().to_owned(),
        severity: f.severity.as_str().to_owned(),
        record_kind: record_kind.to_owned(),
        record_index: record_index as u32,
        field: f.field.to_owned(),
        message: f.message.clone(),
    }
}
