//! Framing and decoding errors.

use kafka_protocol::messages::ApiKey;

/// Why a frame could not be turned into a request (or a response into bytes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The length prefix is negative.
    #[error("negative frame length {declared}")]
    NegativeLength {
        /// The declared length.
        declared: i32,
    },
    /// The length prefix exceeds the configured maximum request size.
    #[error("frame of {size} bytes exceeds max request size {max}")]
    FrameTooLarge {
        /// Declared size.
        size: usize,
        /// Configured maximum.
        max: usize,
    },
    /// Too short to hold api key, version and correlation id.
    #[error("frame of {len} bytes is too short for a request header")]
    TooShort {
        /// Frame length.
        len: usize,
    },
    /// An api key Kafka does not define.
    #[error("unknown api key {api_key} (correlation id {correlation_id})")]
    UnknownApiKey {
        /// The raw key.
        api_key: i16,
        /// Correlation id of the request.
        correlation_id: i32,
    },
    /// An API or version this broker does not implement.
    #[error("unsupported {api_key:?} version {version} (correlation id {correlation_id})")]
    UnsupportedVersion {
        /// The API.
        api_key: ApiKey,
        /// Requested version.
        version: i16,
        /// Correlation id of the request.
        correlation_id: i32,
    },
    /// The request header did not decode.
    #[error("malformed {api_key:?} v{version} request header: {reason}")]
    Header {
        /// The API.
        api_key: ApiKey,
        /// Requested version.
        version: i16,
        /// Decoder message.
        reason: String,
    },
    /// The request body did not decode.
    #[error("malformed {api_key:?} v{version} request body: {reason}")]
    Body {
        /// The API.
        api_key: ApiKey,
        /// Requested version.
        version: i16,
        /// Decoder message.
        reason: String,
    },
    /// A response could not be encoded (a handler produced a value the version cannot carry).
    #[error("cannot encode {api_key:?} v{version} response: {reason}")]
    Encode {
        /// The API.
        api_key: ApiKey,
        /// Response version.
        version: i16,
        /// Encoder message.
        reason: String,
    },
}
