//! Why a call to a broker's HTTP API failed, naming the request.

/// Why a call to a broker's HTTP API failed. Every variant names the request
/// (`method` and `url`, or the path when the broker was never reached), so the
/// message stands on its own in a log line or a condition. Clone, so that
/// tests can hand out canned failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrokerError {
    /// The broker did not answer (connection refused, DNS, timeout).
    #[error("{method} {url}: {message}")]
    Unreachable {
        method: &'static str,
        url: String,
        message: String,
    },
    /// The broker answered with an error status.
    #[error("{method} {url}: HTTP {code}: {message}")]
    Http {
        method: &'static str,
        url: String,
        code: u16,
        message: String,
    },
    /// `409 Conflict`: another membership change is pending; the next pass
    /// looks again.
    #[error("{method} {url}: another membership change is pending (HTTP 409: {message})")]
    Pending {
        method: &'static str,
        url: String,
        message: String,
    },
    /// `421 Misdirected Request` without a leader to follow.
    #[error("{method} {url}: no leader known (HTTP 421 without a leader id)")]
    NoLeader { method: &'static str, url: String },
    /// Leadership kept moving while the request followed it.
    #[error("{method} {path}: still not the leader after {hops} redirects")]
    TooManyRedirects {
        method: &'static str,
        path: String,
        hops: usize,
    },
    /// The answer is not the expected JSON document.
    #[error("{method} {url}: bad answer: {message}")]
    BadAnswer {
        method: &'static str,
        url: String,
        message: String,
    },
    /// The HTTP client could not be built (TLS backend, settings).
    #[error("building the broker HTTP client: {message}")]
    Client { message: String },
}
