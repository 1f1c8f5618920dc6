#!/usr/bin/env python3
"""Writes the fuzz targets' seed inputs (fuzz/seeds/<target>/): small valid files and messages,
so that the fuzzers start from the shapes the readers take. Run from anywhere; the files it
writes are committed, the corpora the fuzzers grow from them are not (README, "Fuzzing").

The pupils are made up (the UPNs are the test suite's), the protobuf is encoded by hand: field
numbers as in proto/rollcall/feed/v1/feed.proto and proto/rollcall/pipeline/v1/messages.proto."""

import pathlib

HERE = pathlib.Path(__file__).resolve().parent

ROLL = (
    "upn,forename,surname,date_of_birth,sex,year_group,admission_date,leaving_date,fsm,"
    "sen_provision,ethnicity,looked_after\r\n"
    "H801200001001,Ada,\"O'Neill, Jr\",2012-05-01,F,8,2024-09-04,,Y,K,WBRI,N\r\n"
    "H801200001002,Alan,Turing,2012-06-23,M,8,2024-09-04,2025-07-18,N,,,\r\n"
)
INDEPENDENT_ROLL = (
    "\ufeffupn,forename,surname,date_of_birth,year_group,admission_date,leaving_date\n"
    "H801200001001,Ada,Lovelace,2015-12-10,4,2021-09-01,\n"
)
MARKS = (
    "upn,date,session,code,minutes_late\n"
    "H801200001001,2025-10-06,AM,/,\n"
    "H801200001001,2025-10-06,PM,L,12\n"
    "H801200001002,2025-10-06,AM,N,\n"
)
SCHOOLS = (
    "urn,la_code,name,phase,school_type,independent\n"
    "100001,937,A School,primary,academy,N\n"
    "100002,937,\"B School, Upper\",secondary,independent,Y\n"
)


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(number, value):
    """A length-delimited field (string or message), or a varint field for an int."""
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    if isinstance(value, str):
        value = value.encode()
    return varint(number << 3 | 2) + varint(len(value)) + value


def message(*fields):
    return b"".join(field(n, v) for n, v in fields if v not in ("", b""))


def timestamp(seconds, nanos=0):
    return message((1, seconds), (2, nanos))


def header(urn="100001", key="feed-2025-10-06", code_set="2024", seconds=1759737600):
    return message((1, urn), (2, timestamp(seconds)), (3, key), (4, code_set))


def roll_record(upn, forename, surname, dob, sex, year, admitted, left=""):
    return message((1, upn), (2, forename), (3, surname), (4, dob), (5, sex), (6, year),
                   (7, admitted), (8, left), (9, "N"))


def mark_record(upn, date, session, code, late=""):
    return message((1, upn), (2, date), (3, session), (4, code), (5, late))


PUPILS = [
    roll_record("H801200001001", "Ada", "Lovelace", "2012-05-01", "F", "8", "2024-09-04"),
    roll_record("H801200001002", "Alan", "Turing", "2012-06-23", "M", "8", "2024-09-04"),
]
MARK_RECORDS = [
    mark_record("H801200001001", "2025-10-06", "AM", "/"),
    mark_record("H801200001001", "2025-10-06", "PM", "L", "12"),
    mark_record("H801200001002", "2025-10-06", "AM", "N"),
]


def stream(*messages):
    """A stream as the feed_stream target reads it: two limit bytes, then length-prefixed
    SubmitFeedRequest messages."""
    out = bytearray(b"\xff\x3f")
    for m in messages:
        out += len(m).to_bytes(2, "little") + m
    return bytes(out)


def submit(part, body):
    return field(part, body)


def chunk(records):
    return b"".join(field(1, r) for r in records)


def envelope():
    return message((1, "7d0a3a53-3d43-5b7d-9a0a-8f3e2a1c0b11"), (2, header()),
                   (3, timestamp(1759741200, 500)), *[(4, p) for p in PUPILS],
                   *[(5, m) for m in MARK_RECORDS])


SEEDS = {
    "csv_files": {
        "roll.csv": b"\x00" + ROLL.encode(),
        "roll-independent.csv": b"\x00" + INDEPENDENT_ROLL.encode(),
        "marks.csv": b"\x01" + MARKS.encode(),
        "schools.csv": b"\x02" + SCHOOLS.encode(),
        "marks-short-row.csv": b"\x01" + b"upn,date,session,code\nH801200001001,2025-10-06\n",
    },
    "feed_stream": {
        "feed": stream(submit(1, header()), submit(2, chunk(PUPILS)), submit(3, chunk(MARK_RECORDS))),
        "header-only": stream(submit(1, header())),
        "two-headers": stream(submit(1, header()), submit(1, header())),
        "marks-first": stream(submit(3, chunk(MARK_RECORDS))),
        "bad-header": stream(submit(1, header(urn="10001", key="", code_set="2014", seconds=5))),
    },
    "pipeline_messages": {
        # v1 FeedEnvelope on the feeds topic.
        "received-v1": b"\x00" + envelope(),
        # The same bytes behind the v2 magic: v2's decoder meets a v1 body.
        "received-v2-magic": b"\x80" + envelope(),
        # A fuzzed feed (mode 3): arbitrary's reading of these bytes.
        "fuzzed-feed": b"\x03" + bytes(range(256)),
    },
    "validation": {
        # arbitrary's reading of these bytes is the feed: any bytes are a start.
        "counting": bytes(range(256)),
        "zeros": bytes(64),
        "text": ROLL.encode() + MARKS.encode(),
    },
}

for target, seeds in SEEDS.items():
    folder = HERE / target
    folder.mkdir(exist_ok=True)
    for name, data in seeds.items():
        (folder / name).write_bytes(data)
