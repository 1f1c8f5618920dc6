//! Why a message could not be encoded or decoded: the field, never its value.

/// A payload that cannot be read as a pipeline message. Names the field, never a value: no
/// personal data reaches a log through it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not protobuf of the message expected (prost's reason names the wire problem and the
    /// message's field path, never a value).
    #[error("{message} is not a valid protobuf message: {reason}")]
    Protobuf {
        message: &'static str,
        reason: String,
    },
    /// A v2 message without its closing field: cut short.
    #[error("the message is cut short")]
    Truncated,
    #[error("{field} is missing")]
    Missing { field: &'static str },
    #[error("{field} cannot be read")]
    Invalid { field: &'static str },
}

impl DecodeError {
    pub(crate) fn protobuf(message: &'static str, err: &prost::DecodeError) -> DecodeError {
        DecodeError::Protobuf {
            message,
            reason: err.to_string(),
        }
    }

    /// The field that could not be read, when it was one field.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            DecodeError::Protobuf { .. } | DecodeError::Truncated => None,
            DecodeError::Missing { field } | DecodeError::Invalid { field } => Some(field),
        }
    }
}

/// A value the message cannot carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The mark's UPN is none of the feed's pupils' (the v2 layout names a mark's pupil by its
    /// index among them).
    #[error("mark {mark} names no pupil of the feed")]
    MarkWithoutPupil { mark: usize },
}

pub(crate) fn invalid(field: &'static str) -> DecodeError {
    DecodeError::Invalid { field }
}

pub(crate) fn missing(field: &'static str) -> DecodeError {
    DecodeError::Missing { field }
}
