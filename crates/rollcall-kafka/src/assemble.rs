//! Putting frames back together: a consumer hands its handler whole payloads, however many
//! records each took ([`crate::frame`]).
//!
//! A payload's frames are on one partition in order, but other payloads' frames may lie between
//! them (two feeds sent at once). Until its last frame arrives a payload is pending, and the
//! consumer must not commit past its first frame: a crash then redelivers every frame of every
//! payload not yet handled. That rule also says what a frame met without its first is: the tail
//! of a payload handled before this consumer started reading here (its first frame lies before
//! the committed offset), so it is done. A payload pending longer than `max_age` is given up
//! and reported: its sender was never told it was received (the gateway answers only once
//! every frame was acknowledged), so nothing acknowledged is lost.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::frame::{self, Frame};

/// A whole payload, from one record or put together from its frames.
#[derive(Clone, Debug)]
pub struct Message {
    pub topic: String,
    pub partition: i32,
    /// The offset of its first record: where a consumer restarts to read it again.
    pub offset: i64,
    /// The offset of its last record.
    pub last_offset: i64,
    pub key: Vec<u8>,
    pub payload: Vec<u8>,
    /// The W3C trace context its (first) record carried: the span it continues.
    pub trace: Vec<(String, String)>,
}

impl Message {
    /// Makes the span that carried this message to the broker (its records' W3C trace context)
    /// `span`'s parent, so the consumer's work continues the producer's trace.
    pub fn continue_trace(&self, span: &tracing::Span) {
        rollcall_telemetry::context::set_parent(
            span,
            self.trace.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        );
    }
}

/// A record as read from the broker.
pub struct Record {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    pub trace: Vec<(String, String)>,
}

/// What a record did.
#[derive(Debug)]
pub enum Pushed {
    /// It completed a payload.
    Complete(Message),
    /// It is a frame of a payload still missing some.
    Pending,
    /// It is a frame of a payload handled before this consumer read here: done.
    Orphan,
}

/// A payload given up after waiting too long for its frames.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Abandoned {
    pub partition: i32,
    /// The payload's id, as text where it is (a feed id).
    pub id: String,
    pub offset: i64,
    pub frames_received: u32,
    pub frames: u32,
}

struct Partial {
    topic: String,
    key: Vec<u8>,
    trace: Vec<(String, String)>,
    offset: i64,
    last_offset: i64,
    frames: Vec<Option<Vec<u8>>>,
    received: u32,
    total: u64,
    since: Instant,
}

/// The payloads being put together, per partition.
pub struct Assembler {
    max_age: Duration,
    partials: HashMap<(i32, Vec<u8>), Partial>,
    bytes: usize,
}

impl Assembler {
    pub fn new(max_age: Duration) -> Assembler {
        Assembler {
            max_age,
            partials: HashMap::new(),
            bytes: 0,
        }
    }

    pub fn push(&mut self, record: Record) -> Pushed {
        let whole = |value: Vec<u8>, record: &Record| {
            Pushed::Complete(Message {
                topic: record.topic.clone(),
                partition: record.partition,
                offset: record.offset,
                last_offset: record.offset,
                key: record.key.clone(),
                payload: value,
                trace: record.trace.clone(),
            })
        };
        let frame = match frame::read(&record.value) {
            // Not a frame, or a broken one: the handler judges it as a payload of its own.
            Ok(None) | Err(_) => return whole(record.value.clone(), &record),
            Ok(Some(frame)) => frame,
        };
        if frame.count == 1 {
            return whole(frame.data.to_vec(), &record);
        }
        self.push_frame(&record, &frame)
    }

    fn push_frame(&mut self, record: &Record, frame: &Frame<'_>) -> Pushed {
        let slot = (record.partition, frame.id.to_vec());
        if !self.partials.contains_key(&slot) {
            if frame.index > 0 {
                return Pushed::Orphan;
            }
            self.partials.insert(
                slot.clone(),
                Partial {
                    topic: record.topic.clone(),
                    key: record.key.clone(),
                    trace: record.trace.clone(),
                    offset: record.offset,
                    last_offset: record.offset,
                    frames: vec![None; frame.count as usize],
                    received: 0,
                    total: frame.total,
                    since: Instant::now(),
                },
            );
        }
        let partial = self.partials.get_mut(&slot).expect("inserted above");
        // A second series under the same id (a sender's retry) carries the same payload: a
        // frame already held is not taken again.
        if let Some(held @ None) = partial.frames.get_mut(frame.index as usize) {
            *held = Some(frame.data.to_vec());
            partial.received += 1;
            self.bytes += frame.data.len();
        }
        partial.last_offset = partial.last_offset.max(record.offset);
        if partial.received < partial.frames.len() as u32 {
            return Pushed::Pending;
        }
        let partial = self.partials.remove(&slot).expect("present");
        let mut payload = Vec::with_capacity(partial.total as usize);
        for data in partial.frames.into_iter().flatten() {
            payload.extend_from_slice(&data);
        }
        self.bytes -= payload.len();
        Pushed::Complete(Message {
            topic: partial.topic,
            partition: record.partition,
            offset: partial.offset,
            last_offset: partial.last_offset,
            key: partial.key,
            payload,
            trace: partial.trace,
        })
    }

    /// The first offset of the earliest payload still pending on `partition`: a consumer must
    /// not commit past it.
    pub fn pending_from(&self, partition: i32) -> Option<i64> {
        self.partials
            .iter()
            .filter(|((p, _), _)| *p == partition)
            .map(|(_, partial)| partial.offset)
            .min()
    }

    /// Gives up the payloads pending for longer than `max_age`, and says which.
    pub fn abandon_stale(&mut self) -> Vec<Abandoned> {
        let now = Instant::now();
        let stale: Vec<(i32, Vec<u8>)> = self
            .partials
            .iter()
            .filter(|(_, p)| now.duration_since(p.since) > self.max_age)
            .map(|(slot, _)| slot.clone())
            .collect();
        stale
            .into_iter()
            .map(|slot| {
                let partial = self.partials.remove(&slot).expect("present");
                self.bytes -= partial.frames.iter().flatten().map(Vec::len).sum::<usize>();
                Abandoned {
                    partition: slot.0,
                    id: String::from_utf8_lossy(&slot.1).into_owned(),
                    offset: partial.offset,
                    frames_received: partial.received,
                    frames: partial.frames.len() as u32,
                }
            })
            .collect()
    }

    /// Forgets what was pending on partitions this consumer no longer reads: their next owner
    /// reads them again from the committed offset.
    pub fn forget_partitions(&mut self, partitions: &[i32]) {
        let bytes = &mut self.bytes;
        self.partials.retain(|(p, _), partial| {
            let keep = !partitions.contains(p);
            if !keep {
                *bytes -= partial.frames.iter().flatten().map(Vec::len).sum::<usize>();
            }
            keep
        });
    }

    /// Bytes of frames held for payloads still pending.
    pub fn held_bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(id: &str, payload: &[u8], first_offset: i64, max: usize) -> Vec<Record> {
        frame::split(id.as_bytes(), payload, max)
            .unwrap()
            .into_iter()
            .enumerate()
            .map(|(i, value)| Record {
                topic: "t".into(),
                partition: 0,
                offset: first_offset + i as i64,
                key: b"k".to_vec(),
                value,
                trace: Vec::new(),
            })
            .collect()
    }

    const MAX: usize = frame::RECORD_OVERHEAD + 200;

    #[test]
    fn interleaved_payloads_are_put_together_apart() {
        let a: Vec<u8> = (0..1000).map(|i| i as u8).collect();
        let b: Vec<u8> = (0..700).map(|i| (i * 7) as u8).collect();
        let mut ra = records("a", &a, 0, MAX).into_iter();
        let mut rb = records("b", &b, 0, MAX).into_iter();
        let mut asm = Assembler::new(Duration::from_secs(60));
        let mut done = Vec::new();
        let mut offset = 0;
        loop {
            let mut any = false;
            for next in [ra.next(), rb.next()].into_iter().flatten() {
                any = true;
                let record = Record { offset, ..next };
                offset += 1;
                if let Pushed::Complete(m) = asm.push(record) {
                    done.push(m);
                }
            }
            if !any {
                break;
            }
            if done.is_empty() {
                assert_eq!(asm.pending_from(0), Some(0));
            }
        }
        let payloads: Vec<&[u8]> = done.iter().map(|m| m.payload.as_slice()).collect();
        assert_eq!(payloads, [&b[..], &a[..]]);
        assert_eq!((done[1].offset, done[0].offset), (0, 1));
        assert_eq!(asm.pending_from(0), None);
        assert_eq!(asm.held_bytes(), 0);
    }

    #[test]
    fn a_duplicated_frame_is_taken_once_and_a_tail_without_its_head_is_done() {
        let payload = vec![9u8; 500];
        let series = records("f", &payload, 10, MAX);
        let mut asm = Assembler::new(Duration::from_secs(60));
        // A tail met without its head: the payload was handled before this consumer started.
        assert!(matches!(
            asm.push(Record {
                offset: 99,
                ..clone(&series[1])
            }),
            Pushed::Orphan
        ));
        assert!(matches!(asm.push(clone(&series[0])), Pushed::Pending));
        assert!(matches!(asm.push(clone(&series[0])), Pushed::Pending));
        let mut complete = None;
        for r in &series[1..] {
            if let Pushed::Complete(m) = asm.push(clone(r)) {
                complete = Some(m);
            }
        }
        assert_eq!(complete.unwrap().payload, payload);
    }

    #[test]
    fn a_payload_never_completed_is_given_up_and_reported() {
        let series = records("lost", &[1u8; 500], 5, MAX);
        let mut asm = Assembler::new(Duration::ZERO);
        asm.push(clone(&series[0]));
        assert_eq!(asm.pending_from(0), Some(5));
        std::thread::sleep(Duration::from_millis(5));
        let abandoned = asm.abandon_stale();
        assert_eq!(
            abandoned,
            [Abandoned {
                partition: 0,
                id: "lost".into(),
                offset: 5,
                frames_received: 1,
                frames: series.len() as u32,
            }]
        );
        assert_eq!((asm.pending_from(0), asm.held_bytes()), (None, 0));
    }

    #[test]
    fn records_from_before_frames_and_single_frames_are_whole() {
        let mut asm = Assembler::new(Duration::from_secs(60));
        let old = Record {
            topic: "t".into(),
            partition: 2,
            offset: 3,
            key: vec![],
            value: b"\x0a\x01x".to_vec(),
            trace: Vec::new(),
        };
        assert!(matches!(asm.push(old), Pushed::Complete(m) if m.payload == b"\x0a\x01x"));
        let one = records("one", b"small", 4, MAX).remove(0);
        assert!(matches!(asm.push(one), Pushed::Complete(m) if m.payload == b"small"));
    }

    fn clone(r: &Record) -> Record {
        Record {
            topic: r.topic.clone(),
            partition: r.partition,
            offset: r.offset,
            key: r.key.clone(),
            value: r.value.clone(),
            trace: r.trace.clone(),
        }
    }
}
