//! Frames: how a payload of any size travels as Kafka records a cluster accepts.
//!
//! Every record Rollcall writes is one frame: a short header (magic, the payload's id, the
//! frame's index and the number of frames, the whole payload's length) and a slice of the
//! payload. A payload up to the frame limit is one frame; a larger one is cut into as many as it
//! needs, written in order under the same key, so they land on one partition in order, and
//! consumers put them back together ([`crate::assemble`]). A record without the magic is a
//! payload of its own (what Rollcall wrote before frames), so old records still read.

/// Starts every frame. No protobuf message starts with a zero byte (field number 0 does not
/// exist), so a record written before frames cannot be mistaken for one.
const MAGIC: [u8; 4] = [0, b'R', b'C', b'F'];

/// Magic, id length, index, count, total length.
const FIXED_HEADER: usize = MAGIC.len() + 1 + 4 + 4 + 8;

/// The longest payload id a frame carries (a feed id's text is 36 bytes).
pub const MAX_ID_BYTES: usize = 64;

/// Room in every record for the header, the key and the broker's own record framing, so that
/// a record of `max_message_bytes` never exceeds what the topic accepts.
pub const RECORD_OVERHEAD: usize = 1024;

/// One frame, read from a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The payload this frame belongs to (unique per payload within its partition).
    pub id: &'a [u8],
    pub index: u32,
    pub count: u32,
    /// The whole payload's length.
    pub total: u64,
    pub data: &'a [u8],
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("a frame's payload id is longer than {MAX_ID_BYTES} bytes")]
    IdTooLong,
    #[error("a frame header is cut short")]
    Truncated,
    #[error("a frame's index {index} is not below its count {count}")]
    BadIndex { index: u32, count: u32 },
}

/// The frames carrying `payload`, each at most `max_record_bytes` long (header included).
pub fn split(
    id: &[u8],
    payload: &[u8],
    max_record_bytes: usize,
) -> Result<Vec<Vec<u8>>, FrameError> {
    if id.len() > MAX_ID_BYTES {
        return Err(FrameError::IdTooLong);
    }
    let header = FIXED_HEADER + id.len();
    let room = max_record_bytes
        .saturating_sub(header + RECORD_OVERHEAD)
        .max(1);
    let slices: Vec<&[u8]> = if payload.is_empty() {
        vec![&[]]
    } else {
        payload.chunks(room).collect()
    };
    let count = u32::try_from(slices.len()).expect("fewer than 2^32 frames");
    Ok(slices
        .iter()
        .enumerate()
        .map(|(index, data)| {
            let mut record = Vec::with_capacity(header + data.len());
            record.extend_from_slice(&MAGIC);
            record.push(id.len() as u8);
            record.extend_from_slice(id);
            record.extend_from_slice(&(index as u32).to_be_bytes());
            record.extend_from_slice(&count.to_be_bytes());
            record.extend_from_slice(&(payload.len() as u64).to_be_bytes());
            record.extend_from_slice(data);
            record
        })
        .collect())
}

/// Reads a record: `Ok(None)` when it is not a frame (a payload of its own).
pub fn read(record: &[u8]) -> Result<Option<Frame<'_>>, FrameError> {
    let Some(rest) = record.strip_prefix(&MAGIC) else {
        return Ok(None);
    };
    let (&id_len, rest) = rest.split_first().ok_or(FrameError::Truncated)?;
    let id_len = usize::from(id_len);
    if id_len > MAX_ID_BYTES {
        return Err(FrameError::IdTooLong);
    }
    if rest.len() < id_len + 16 {
        return Err(FrameError::Truncated);
    }
    let (id, rest) = rest.split_at(id_len);
    let index = u32::from_be_bytes(rest[..4].try_into().expect("4 bytes"));
    let count = u32::from_be_bytes(rest[4..8].try_into().expect("4 bytes"));
    let total = u64::from_be_bytes(rest[8..16].try_into().expect("8 bytes"));
    if index >= count {
        return Err(FrameError::BadIndex { index, count });
    }
    Ok(Some(Frame {
        id,
        index,
        count,
        total,
        data: &rest[16..],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_comes_back_from_its_frames_at_every_size() {
        let payload: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        for max in [RECORD_OVERHEAD + 64, RECORD_OVERHEAD + 100, 4096, 20_000] {
            for len in [0, 1, 63, 64, 65, 1000, 10_000] {
                let frames = split(b"feed-1", &payload[..len], max).unwrap();
                let mut joined = Vec::new();
                for (i, record) in frames.iter().enumerate() {
                    assert!(record.len() <= max - RECORD_OVERHEAD, "{len} in {max}");
                    let frame = read(record).unwrap().unwrap();
                    assert_eq!(
                        (
                            frame.id,
                            frame.index as usize,
                            frame.count as usize,
                            frame.total
                        ),
                        (&b"feed-1"[..], i, frames.len(), len as u64)
                    );
                    joined.extend_from_slice(frame.data);
                }
                assert_eq!(joined, &payload[..len]);
            }
        }
    }

    #[test]
    fn a_record_without_the_magic_is_its_own_payload() {
        assert_eq!(read(b"\x0a\x03abc"), Ok(None));
        assert_eq!(read(b""), Ok(None));
    }

    #[test]
    fn broken_headers_are_errors_not_panics() {
        let good = split(b"id", b"payload", 4096).unwrap().remove(0);
        for cut in 0..good.len() - b"payload".len() {
            let read = read(&good[..cut]);
            assert!(
                matches!(read, Ok(None) | Err(FrameError::Truncated)),
                "{cut}: {read:?}"
            );
        }
        let mut bad = good.clone();
        bad[4 + 1 + 2 + 3] = 9; // index 9 of count 1
        assert_eq!(read(&bad), Err(FrameError::BadIndex { index: 9, count: 1 }));
        assert_eq!(split(&[0; 65], b"", 4096), Err(FrameError::IdTooLong));
    }
}
