//! API errors and their rendering as a Kubernetes `Status` object.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// One field-level cause of an `Invalid` error (`spec.replicas: Invalid value: ...`).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldCause {
    /// Dotted path of the offending field, e.g. `spec.replicas`.
    pub field: String,
    /// Human-readable message, already including the value where useful.
    pub message: String,
}

/// Every way a request to the emulator can fail, each mapped to the HTTP status
/// and `reason` a real API server would answer with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The object (or its namespace) does not exist.
    #[error("{resource} \"{name}\" not found")]
    NotFound {
        /// `plural.group` (or `plural` for the core group).
        resource: String,
        /// Name of the missing object.
        name: String,
    },
    /// The URL names no served resource type or path.
    #[error("the server could not find the requested resource")]
    NoResource,
    /// An object with that name already exists.
    #[error("{resource} \"{name}\" already exists")]
    AlreadyExists {
        /// `plural.group`.
        resource: String,
        /// Name of the existing object.
        name: String,
    },
    /// Optimistic-concurrency or server-side-apply ownership conflict.
    #[error("{0}")]
    Conflict(String),
    /// The object failed validation.
    #[error("{kind} \"{name}\" is invalid: {}", causes_text(.causes))]
    Invalid {
        /// `Kind.group` of the object.
        kind: String,
        /// Name of the object.
        name: String,
        /// Field-level causes.
        causes: Vec<FieldCause>,
    },
    /// Malformed request (bad body, bad selector, unknown patch type...).
    #[error("{0}")]
    BadRequest(String),
    /// The request is refused (e.g. creating in a terminating namespace).
    #[error("{0}")]
    Forbidden(String),
    /// The verb is not supported on this resource.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The `Content-Type` is not supported for this verb.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A watch asked for a resourceVersion that is no longer in the history.
    #[error("too old resource version: {requested} ({oldest})")]
    Gone {
        /// The resourceVersion the client asked for.
        requested: u64,
        /// The oldest resourceVersion still in the history.
        oldest: u64,
    },
    /// A bug in the emulator.
    #[error("internal error: {0}")]
    Internal(String),
}

fn causes_text(causes: &[FieldCause]) -> String {
    let parts: Vec<String> = causes
        .iter()
        .map(|c| {
            if c.field.is_empty() {
                c.message.clone()
            } else {
                format!("{}: {}", c.field, c.message)
            }
        })
        .collect();
    if parts.len() == 1 {
        parts.join("")
    } else {
        format!("[{}]", parts.join(", "))
    }
}

impl ApiError {
    /// HTTP status code of this error.
    pub fn code(&self) -> StatusCode {
        match self {
            ApiError::NotFound { .. } | ApiError::NoResource => StatusCode::NOT_FOUND,
            ApiError::AlreadyExists { .. } | ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Gone { .. } => StatusCode::GONE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The Kubernetes `reason` string (`NotFound`, `AlreadyExists`, ...).
    pub fn reason(&self) -> &'static str {
        match self {
            ApiError::NotFound { .. } | ApiError::NoResource => "NotFound",
            ApiError::AlreadyExists { .. } => "AlreadyExists",
            ApiError::Conflict(_) => "Conflict",
            ApiError::Invalid { .. } => "Invalid",
            ApiError::BadRequest(_) => "BadRequest",
            ApiError::Forbidden(_) => "Forbidden",
            ApiError::MethodNotAllowed(_) => "MethodNotAllowed",
            ApiError::UnsupportedMediaType(_) => "UnsupportedMediaType",
            ApiError::Gone { .. } => "Expired",
            ApiError::Internal(_) => "InternalError",
        }
    }

    /// The `Status` object sent as the response body.
    pub fn status(&self) -> Value {
        let mut details = json!({});
        match self {
            ApiError::NotFound { resource, name } | ApiError::AlreadyExists { resource, name } => {
                let (kind, group) = resource.split_once('.').unwrap_or((resource, ""));
                details = json!({"name": name, "group": group, "kind": kind});
            }
            ApiError::Invalid { kind, name, causes } => {
                let (k, group) = kind.split_once('.').unwrap_or((kind, ""));
                let causes: Vec<Value> = causes
                    .iter()
                    .map(|c| json!({"reason": "FieldValueInvalid", "message": c.message, "field": c.field}))
                    .collect();
                details = json!({"name": name, "group": group, "kind": k, "causes": causes});
            }
            _ => {}
        }
        json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.to_string(),
            "reason": self.reason(),
            "details": details,
            "code": self.code().as_u16(),
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.code(), axum::Json(self.status())).into_response()
    }
}

/// Result alias used throughout the emulator.
pub type ApiResult<T> = Result<T, ApiError>;
