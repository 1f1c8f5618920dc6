//! CSV files through the `rollcall` CLI, as an independent school sends them. A file of the
//! wrong shape (empty, another delimiter, a missing or unknown column, a row of the wrong width,
//! an unterminated quote, not UTF-8) stops the command before anything is sent, with one line
//! naming the file and the line and never a row's content. A file of the right shape is sent,
//! and each odd value in it (a byte-order mark, a line break inside a quoted field, a NUL, a
//! line of megabytes) is a finding on its record while the good neighbour rows land.

use std::collections::BTreeMap;

use rollcall_client::csvfile::{MARK_COLUMNS, ROLL_COLUMNS};
use rollcall_domain::validation::FindingCode;
use rollcall_proto::feed::v1::RollRecord;

use super::records::{SQL, person};
use super::stack::Stack;
use super::{Landing, Report, Row, Want, check_landing, describe, wait_processed};
use crate::harness::school;

use FindingCode as F;

const ESTAB: u16 = 3102;
const ROLL_HEADER: &str = "upn,forename,surname,date_of_birth,admission_date";
const MARKS_HEADER: &str = "upn,date,session,code";

#[derive(Clone, Copy, PartialEq, Eq)]
enum File {
    Roll,
    Marks,
}

enum Expect {
    /// The CLI stops before sending anything: this line (after the file's path) on stderr.
    Stops(File, String),
    /// The gateway refuses the feed: the CLI's one line, after `rollcall: `.
    Refused(&'static str),
    /// Sent: the receipt's findings, and what lands.
    Lands(Landing),
}

struct CsvCase {
    name: &'static str,
    input: &'static str,
    urn: String,
    roll: Vec<u8>,
    marks: Vec<u8>,
    expect: Expect,
    /// The UPNs, names and dates of birth the files hold.
    personal: Vec<String>,
}

/// A roll file's line for `p` in [`ROLL_HEADER`]'s columns.
fn roll_line(p: &RollRecord) -> String {
    format!(
        "{},{},{},{},{}",
        p.upn, p.forename, p.surname, p.date_of_birth, p.admission_date
    )
}

/// What a case writes, beside the neighbour every file starts with.
struct Files {
    neighbour: RollRecord,
    /// The case's pupil.
    pupil: RollRecord,
    roll: Vec<u8>,
    marks: Vec<u8>,
}

impl Files {
    fn new(number: u16) -> Files {
        let neighbour = person(ESTAB, number * 3);
        let pupil = person(ESTAB, number * 3 + 1);
        let roll = format!("{ROLL_HEADER}\n{}\n", roll_line(&neighbour)).into_bytes();
        let marks = format!(
            "{MARKS_HEADER}\n{u},2025-10-06,AM,/\n{u},2025-10-06,PM,\\\n",
            u = neighbour.upn
        )
        .into_bytes();
        Files {
            neighbour,
            pupil,
            roll,
            marks,
        }
    }

    fn roll_row(&mut self, line: &[u8]) {
        self.roll.extend_from_slice(line);
        self.roll.push(b'\n');
    }

    fn marks_row(&mut self, line: &[u8]) {
        self.marks.extend_from_slice(line);
        self.marks.push(b'\n');
    }

    /// The case's pupil on the roll, and absent on Monday morning and present after.
    fn pupil_absent_morning(&mut self) {
        let line = roll_line(&self.pupil.clone());
        self.roll_row(line.as_bytes());
        self.pupil_marks();
    }

    fn pupil_marks(&mut self) {
        let u = self.pupil.upn.clone();
        self.marks_row(format!("{u},2025-10-06,AM,N").as_bytes());
        self.marks_row(format!("{u},2025-10-06,PM,/").as_bytes());
    }

    fn personal(&self) -> Vec<String> {
        [&self.neighbour, &self.pupil]
            .iter()
            .flat_map(|p| {
                [
                    p.upn.clone(),
                    p.forename.clone(),
                    p.surname.clone(),
                    p.date_of_birth.clone(),
                ]
            })
            .collect()
    }
}

/// The neighbour's two sessions, and `more`.
fn stored(more: &[(&str, u64)]) -> BTreeMap<String, u64> {
    let mut stored = BTreeMap::from([("/".to_owned(), 1), ("\\".to_owned(), 1)]);
    for (code, n) in more {
        *stored.entry((*code).to_owned()).or_insert(0) += n;
    }
    stored
}

fn want(code: FindingCode, kind: &'static str, index: u32, field: &'static str) -> Want {
    Want {
        code,
        kind,
        index,
        field,
    }
}

fn unknown_column(file: File, column: usize) -> String {
    let known = match file {
        File::Roll => ROLL_COLUMNS.join(","),
        File::Marks => MARK_COLUMNS.join(","),
    };
    format!("line 1: column {column} is not a known column; expected some of {known}")
}

fn catalogue() -> Vec<CsvCase> {
    let mut cases = Vec::new();
    let mut add =
        |name: &'static str, input: &'static str, build: &dyn Fn(&mut Files) -> Expect| {
            let number = cases.len() as u16 + 1;
            let mut files = Files::new(number);
            let mut expect = build(&mut files);
            let personal = files.personal();
            if let Expect::Lands(landing) = &mut expect {
                landing.personal = personal.clone();
            }
            cases.push(CsvCase {
                name,
                input,
                urn: format!("{}", 120_000 + u32::from(number)),
                roll: files.roll,
                marks: files.marks,
                expect,
                personal,
            });
        };
    // The file's shape: the CLI stops.
    add("csv-empty-roll-file", "a roll file of 0 bytes", &|f| {
        f.roll.clear();
        Expect::Stops(
            File::Roll,
            "line 1: required column \"upn\" is missing".into(),
        )
    });
    add("csv-empty-marks-file", "a marks file of 0 bytes", &|f| {
        f.marks.clear();
        Expect::Stops(
            File::Marks,
            "line 1: required column \"upn\" is missing".into(),
        )
    });
    add(
        "csv-semicolons",
        "a roll file separated by semicolons",
        &|f| {
            f.roll = String::from_utf8(f.roll.clone())
                .unwrap()
                .replace(',', ";")
                .into_bytes();
            Expect::Stops(File::Roll, unknown_column(File::Roll, 1))
        },
    );
    add("csv-tabs", "a marks file separated by tabs", &|f| {
        f.marks = String::from_utf8(f.marks.clone())
            .unwrap()
            .replace(',', "\t")
            .into_bytes();
        Expect::Stops(File::Marks, unknown_column(File::Marks, 1))
    });
    add(
        "csv-no-header-line",
        "a marks file without its header line (the error quotes no UPN)",
        &|f| {
            let text = String::from_utf8(f.marks.clone()).unwrap();
            f.marks = text.split_once('\n').unwrap().1.as_bytes().to_vec();
            Expect::Stops(File::Marks, unknown_column(File::Marks, 1))
        },
    );
    add(
        "csv-missing-code-column",
        "a marks file without the `code` column",
        &|f| {
            f.marks = format!("upn,date,session\n{},2025-10-06,AM\n", f.neighbour.upn).into_bytes();
            Expect::Stops(
                File::Marks,
                "line 1: required column \"code\" is missing".into(),
            )
        },
    );
    add(
        "csv-unknown-column",
        "a marks file with a `comment` column",
        &|f| {
            f.marks = format!(
                "{MARKS_HEADER},comment\n{},2025-10-06,AM,/,late bus\n",
                f.neighbour.upn
            )
            .into_bytes();
            Expect::Stops(File::Marks, unknown_column(File::Marks, 5))
        },
    );
    add(
        "csv-column-twice",
        "a marks file naming `upn` twice",
        &|f| {
            f.marks = format!(
                "{MARKS_HEADER},UPN\n{u},2025-10-06,AM,/,{u}\n",
                u = f.neighbour.upn
            )
            .into_bytes();
            Expect::Stops(File::Marks, "line 1: column \"upn\" appears twice".into())
        },
    );
    add(
        "csv-trailing-comma",
        "a roll file whose every line ends in a comma",
        &|f| {
            f.roll = String::from_utf8(f.roll.clone())
                .unwrap()
                .replace('\n', ",\n")
                .into_bytes();
            Expect::Stops(File::Roll, unknown_column(File::Roll, 6))
        },
    );
    add(
        "csv-row-missing-a-field",
        "a marks row with three fields",
        &|f| {
            let line = format!("{},2025-10-07,AM", f.neighbour.upn);
            f.marks_row(line.as_bytes());
            Expect::Stops(File::Marks, "line 4: has 3 fields, the header has 4".into())
        },
    );
    add(
        "csv-row-with-an-extra-field",
        "a roll row with six fields",
        &|f| {
            let line = format!("{},Y", roll_line(&f.pupil));
            f.roll_row(line.as_bytes());
            Expect::Stops(File::Roll, "line 3: has 6 fields, the header has 5".into())
        },
    );
    add(
        "csv-unterminated-quote",
        "a quote opened in a marks row and never closed",
        &|f| {
            let line = format!("{},2025-10-07,\"AM,/", f.neighbour.upn);
            f.marks_row(line.as_bytes());
            let line = format!("{},2025-10-07,PM,/", f.neighbour.upn);
            f.marks_row(line.as_bytes());
            Expect::Stops(File::Marks, "line 4: has 3 fields, the header has 4".into())
        },
    );
    add(
        "csv-latin-1-name",
        "a roll row with a name in Latin-1, not UTF-8",
        &|f| {
            let mut line = format!("{},Ren", f.pupil.upn).into_bytes();
            line.push(0xe9); // é in Latin-1
            line.extend_from_slice(
                format!(",{},2014-01-01,2025-09-03", f.pupil.surname).as_bytes(),
            );
            f.roll_row(&line);
            Expect::Stops(File::Roll, "line 3: is not valid utf-8".into())
        },
    );
    add(
        "csv-header-not-utf8",
        "a stray byte 0xFF in the marks header",
        &|f| {
            f.marks.splice(1..1, [0xff]);
            Expect::Stops(File::Marks, "line 1: is not valid utf-8".into())
        },
    );
    add("csv-utf-16", "a roll file saved as UTF-16", &|f| {
        let text = String::from_utf8(f.roll.clone()).unwrap();
        let mut bytes = vec![0xff, 0xfe];
        bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        f.roll = bytes;
        Expect::Stops(File::Roll, "line 1: is not valid utf-8".into())
    });
    add("csv-an-image", "a PNG image given as the roll", &|f| {
        f.roll = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01".to_vec();
        Expect::Stops(File::Roll, "line 1: is not valid utf-8".into())
    });
    add(
        "csv-files-swapped",
        "the marks file given as the roll",
        &|f| {
            f.roll = f.marks.clone();
            Expect::Stops(File::Roll, unknown_column(File::Roll, 2))
        },
    );
    // Sent: findings on records, neighbours land.
    add(
        "csv-bom-and-crlf",
        "a byte-order mark and CRLF line ends",
        &|f| {
            f.pupil_absent_morning();
            let crlf = |b: &[u8]| {
                let mut out = "\u{feff}".as_bytes().to_vec();
                out.extend(
                    String::from_utf8(b.to_vec())
                        .unwrap()
                        .replace('\n', "\r\n")
                        .bytes(),
                );
                out
            };
            (f.roll, f.marks) = (crlf(&f.roll), crlf(&f.marks));
            Expect::Lands(Landing {
                roll: 2,
                marks: 4,
                stored: stored(&[("N", 1), ("/", 1)]),
                ..Landing::default()
            })
        },
    );
    add("csv-cr-line-ends", "old Mac line ends (CR alone)", &|f| {
        f.pupil_absent_morning();
        f.roll = String::from_utf8(f.roll.clone())
            .unwrap()
            .replace('\n', "\r")
            .into_bytes();
        f.marks = String::from_utf8(f.marks.clone())
            .unwrap()
            .replace('\n', "\r")
            .into_bytes();
        Expect::Lands(Landing {
            roll: 2,
            marks: 4,
            stored: stored(&[("N", 1), ("/", 1)]),
            ..Landing::default()
        })
    });
    add(
        "csv-blank-lines",
        "blank lines between and after the rows",
        &|f| {
            f.roll_row(b"");
            f.pupil_absent_morning();
            f.marks_row(b"");
            f.marks_row(b"");
            Expect::Lands(Landing {
                roll: 2,
                marks: 4,
                stored: stored(&[("N", 1), ("/", 1)]),
                ..Landing::default()
            })
        },
    );
    add(
        "csv-header-in-capitals",
        "a header in capitals with spaces around the names",
        &|f| {
            f.pupil_absent_morning();
            let text = String::from_utf8(f.marks.clone()).unwrap();
            f.marks = text
                .replacen(MARKS_HEADER, " UPN , Date,SESSION ,Code", 1)
                .into_bytes();
            Expect::Lands(Landing {
                roll: 2,
                marks: 4,
                stored: stored(&[("N", 1), ("/", 1)]),
                ..Landing::default()
            })
        },
    );
    add(
        "csv-columns-in-another-order",
        "a roll file with its columns reordered",
        &|f| {
            let (n, p) = (&f.neighbour, &f.pupil);
            f.roll = format!(
                "admission_date,surname,forename,date_of_birth,upn\n\
             {},{},{},{},{}\n{},{},{},{},{}\n",
                n.admission_date,
                n.surname,
                n.forename,
                n.date_of_birth,
                n.upn,
                p.admission_date,
                p.surname,
                p.forename,
                p.date_of_birth,
                p.upn
            )
            .into_bytes();
            f.pupil_marks();
            Expect::Lands(Landing {
                roll: 2,
                marks: 4,
                stored: stored(&[("N", 1), ("/", 1)]),
                ..Landing::default()
            })
        },
    );
    for (name, input, forename, surname, kept) in [
        (
            "csv-quoted-comma",
            "a quoted surname holding a comma",
            "Aoife",
            "\"O'Neill, Jr\"",
            ("Aoife", "O'Neill, Jr"),
        ),
        (
            "csv-doubled-quotes",
            "doubled quotes inside a quoted forename",
            "\"Ada \"\"Bo\"\"\"",
            "Quarrender",
            ("Ada \"Bo\"", "Quarrender"),
        ),
        (
            "csv-stray-quote",
            "a quote inside an unquoted forename",
            "Ad\"a",
            "Quarrender",
            ("Ad\"a", "Quarrender"),
        ),
        (
            "csv-spreadsheet-formula",
            "a spreadsheet formula as a surname",
            "Ada",
            "\"=HYPERLINK(\"\"http://x.test\"\",\"\"y\"\")\"",
            ("Ada", "=HYPERLINK(\"http://x.test\",\"y\")"),
        ),
        (
            "csv-sql-in-a-name",
            "SQL text as a surname",
            "Ada",
            SQL,
            ("Ada", SQL),
        ),
    ] {
        add(name, input, &move |f| {
            let line = format!("{},{forename},{surname},2014-01-01,2025-09-03", f.pupil.upn);
            f.roll_row(line.as_bytes());
            f.pupil_marks();
            (f.pupil.forename, f.pupil.surname) = (kept.0.into(), kept.1.into());
            Expect::Lands(Landing {
                roll: 2,
                marks: 4,
                stored: stored(&[("N", 1), ("/", 1)]),
                names: vec![(kept.0.into(), kept.1.into())],
                ..Landing::default()
            })
        });
    }
    for (name, input, forename, code, field) in [
        (
            "csv-line-break-in-a-quoted-name",
            "a line break inside a quoted forename",
            "\"Ada\nMae\"",
            F::TextControlCharacter,
            "forename",
        ),
        (
            "csv-nul-byte",
            "a NUL byte inside a forename",
            "Ad\0a",
            F::TextControlCharacter,
            "forename",
        ),
        (
            "csv-line-of-two-megabytes",
            "a roll line of 2 MB (one forename)",
            &*"A".repeat(2_000_000),
            F::TextTooLong,
            "forename",
        ),
    ] {
        add(name, input, &move |f| {
            let line = format!(
                "{},{forename},{},2014-01-01,2025-09-03",
                f.pupil.upn, f.pupil.surname
            );
            f.roll_row(line.as_bytes());
            f.pupil_marks();
            Expect::Lands(Landing {
                findings: vec![
                    want(code, "roll", 1, field),
                    want(F::PupilRollRejected, "mark", 2, "upn"),
                    want(F::PupilRollRejected, "mark", 3, "upn"),
                ],
                roll: 2,
                marks: 4,
                stored: stored(&[]),
                ..Landing::default()
            })
        });
    }
    add(
        "csv-bom-starting-a-row",
        "a byte-order mark at the start of a roll row",
        &|f| {
            let line = format!("\u{feff}{}", roll_line(&f.pupil));
            f.roll_row(line.as_bytes());
            f.pupil_marks();
            Expect::Lands(Landing {
                findings: vec![
                    want(F::TextControlCharacter, "roll", 1, "upn"),
                    want(F::PupilNotOnRoll, "mark", 2, "upn"),
                    want(F::PupilNotOnRoll, "mark", 3, "upn"),
                ],
                roll: 2,
                marks: 4,
                stored: stored(&[]),
                ..Landing::default()
            })
        },
    );
    add(
        "csv-code-of-a-megabyte",
        "a marks line of 1 MB (one code)",
        &|f| {
            f.pupil_absent_morning();
            let line = format!("{},2025-10-07,AM,{}", f.pupil.upn, "N".repeat(1_000_000));
            f.marks_row(line.as_bytes());
            Expect::Lands(Landing {
                findings: vec![want(F::TextTooLong, "mark", 4, "code")],
                roll: 2,
                marks: 5,
                stored: stored(&[("N", 1), ("/", 1)]),
                ..Landing::default()
            })
        },
    );
    add(
        "csv-header-lines-only",
        "both files with a header and no rows",
        &|f| {
            f.roll = format!("{ROLL_HEADER}\n").into_bytes();
            f.marks = format!("{MARKS_HEADER}\n").into_bytes();
            Expect::Lands(Landing::default())
        },
    );
    add(
        "csv-line-of-five-megabytes",
        "a roll line of 5 MB: more than one stream message may carry",
        &|f| {
            let line = format!(
                "{},{},{},2014-01-01,2025-09-03",
                f.pupil.upn,
                f.pupil.forename,
                "A".repeat(5_000_000)
            );
            f.roll_row(line.as_bytes());
            Expect::Refused(
                "resource exhausted: a stream message exceeds 4194304 bytes; send the records in smaller chunks (about 5,000 a message) [FEED_TOO_LARGE]",
            )
        },
    );
    cases
}

impl Expect {
    fn describe(&self) -> String {
        match self {
            Expect::Stops(file, message) => {
                let message = message
                    .split_once("; expected some of")
                    .map_or(message.clone(), |(m, _)| format!("{m}; …"));
                let file = match file {
                    File::Roll => "roll.csv",
                    File::Marks => "marks.csv",
                };
                format!("the CLI stops, nothing sent: `{file}: {message}`")
            }
            Expect::Refused(line) => {
                let code = line
                    .rsplit_once(" [")
                    .map_or("", |(_, c)| c.trim_end_matches(']'));
                format!("`RESOURCE_EXHAUSTED` / `{code}` (the CLI's line)")
            }
            Expect::Lands(landing) => describe(&landing.findings),
        }
    }
}

pub fn rows() -> Vec<Row> {
    catalogue()
        .iter()
        .map(|c| Row::new(c.name, c.input, c.expect.describe()))
        .collect()
}

pub async fn run(stack: &Stack, report: &mut Report) {
    let cases = catalogue();
    let pipeline = &stack.pipeline;
    pipeline
        .import_schools(cases.iter().map(|c| school(&c.urn, "937", true)).collect())
        .await;
    let urns: Vec<String> = cases.iter().map(|c| c.urn.clone()).collect();
    pipeline.register_for_test_vendor(&urns).await;
    let dir = tempfile::tempdir().unwrap();
    let before = stack.feeds_received().await;
    let mut sent = Vec::new();
    for case in &cases {
        report.cases += 1;
        let folder = dir.path().join(case.name);
        std::fs::create_dir(&folder).unwrap();
        let (roll, marks) = (folder.join("roll.csv"), folder.join("marks.csv"));
        std::fs::write(&roll, &case.roll).unwrap();
        std::fs::write(&marks, &case.marks).unwrap();
        let (roll, marks) = (roll.to_str().unwrap(), marks.to_str().unwrap());
        let args = [
            "--json",
            "submit",
            "--school",
            case.urn.as_str(),
            "--roll",
            roll,
            "--marks",
            marks,
            "--extracted-at",
            "2025-10-06T16:00:00Z",
        ];
        let (ok, stdout, stderr) = stack.cli(&pipeline.vendor_token, &args).await;
        // Compared without case: a header read as data would be lowercased.
        let lower = stderr.to_lowercase();
        if let Some(value) = case
            .personal
            .iter()
            .find(|v| lower.contains(&v.to_lowercase()))
        {
            report.fail(case.name, format!("the CLI's error names {value:?}"));
        }
        report.personal.extend(case.personal.iter().cloned());
        match &case.expect {
            Expect::Stops(file, message) => {
                let path = if *file == File::Roll { roll } else { marks };
                let want = format!("rollcall: {path}: {message}\n");
                if ok || stderr != want {
                    report.fail(case.name, format!("stderr {stderr:?}, expected {want:?}"));
                }
            }
            Expect::Refused(line) => {
                let want = format!("rollcall: {line}\n");
                if ok || stderr != want {
                    report.fail(case.name, format!("stderr {stderr:?}, expected {want:?}"));
                }
            }
            Expect::Lands(_) if !ok => report.fail(case.name, format!("the CLI failed: {stderr}")),
            Expect::Lands(_) => {
                let receipt: serde_json::Value = serde_json::from_str(&stdout).unwrap();
                let id = receipt["feed_id"].as_str().unwrap_or_default().to_owned();
                sent.push((case, id));
            }
        }
    }
    let recorded = stack.feeds_received().await - before;
    if recorded != sent.len() as i64 {
        report.fail(
            "csv group",
            format!(
                "{recorded} feeds recorded, expected {} (refused files send nothing)",
                sent.len()
            ),
        );
    }
    let mut feeds = stack.feeds_as(&pipeline.vendor_token).await;
    let ids: Vec<String> = sent.iter().map(|(_, id)| id.clone()).collect();
    let receipts = wait_processed(&mut feeds, &ids).await;
    for (case, id) in sent {
        if let Expect::Lands(landing) = &case.expect {
            check_landing(stack, report, case.name, &case.urn, &receipts[&id], landing).await;
        }
    }
}
