//! The answers the simulator gives, with Freshdesk's error bodies.

use axum::http::StatusCode;
use serde_json::{Value, json};

/// A response before the rate-limit headers and faults are applied.
#[derive(Clone, Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
    pub(crate) headers: Vec<(&'static str, String)>,
}

/// One entry of a 400 `Validation failed` body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FieldError {
    pub(crate) field: String,
    pub(crate) message: String,
    pub(crate) code: &'static str,
}

impl FieldError {
    pub(crate) fn new(field: &str, message: &str, code: &'static str) -> FieldError {
        FieldError {
            field: field.to_owned(),
            message: message.to_owned(),
            code,
        }
    }

    pub(crate) fn invalid_value(field: &str, message: &str) -> FieldError {
        FieldError::new(field, message, "invalid_value")
    }

    pub(crate) fn invalid_field(field: &str) -> FieldError {
        FieldError::new(field, "Unexpected/invalid field in request", "invalid_field")
    }
}

impl Reply {
    pub(crate) fn ok(body: Value) -> Reply {
        Reply::status(StatusCode::OK, body)
    }

    pub(crate) fn status(status: StatusCode, body: Value) -> Reply {
        Reply {
            status,
            body,
            headers: Vec::new(),
        }
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: String) -> Reply {
        self.headers.push((name, value));
        self
    }

    pub(crate) fn unauthorized() -> Reply {
        Reply::status(
            StatusCode::UNAUTHORIZED,
            json!({"code": "invalid_credentials",
                "message": "You have to be logged in to perform this action."}),
        )
    }

    pub(crate) fn forbidden() -> Reply {
        Reply::status(
            StatusCode::FORBIDDEN,
            json!({"code": "access_denied",
                "message": "You are not authorized to perform this action."}),
        )
    }

    pub(crate) fn not_found() -> Reply {
        Reply::status(
            StatusCode::NOT_FOUND,
            json!({"code": "not_found", "message": "The requested resource was not found."}),
        )
    }

    /// 204: a write done, nothing to say (rendered without a body).
    pub(crate) fn no_content() -> Reply {
        Reply::status(StatusCode::NO_CONTENT, Value::Null)
    }

    pub(crate) fn method_not_allowed() -> Reply {
        Reply::status(
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"code": "method_not_allowed",
                "message": "This method is not allowed on this resource."}),
        )
    }

    pub(crate) fn invalid_json() -> Reply {
        Reply::status(
            StatusCode::BAD_REQUEST,
            json!({"code": "invalid_json", "message": "Request body has invalid json format"}),
        )
    }

    pub(crate) fn unsupported_content_type() -> Reply {
        Reply::status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            json!({"code": "invalid_content_type",
                "message": "Content-Type header should be application/json"}),
        )
    }

    pub(crate) fn too_large() -> Reply {
        Reply::status(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"code": "request_too_large", "message": "The request body is too large."}),
        )
    }

    pub(crate) fn rate_limited() -> Reply {
        Reply::status(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"code": "rate_limited",
                "message": "You have exceeded the limit of requests per minute for your account."}),
        )
    }

    pub(crate) fn server_error(status: StatusCode) -> Reply {
        Reply::status(
            status,
            json!({"code": "internal_error", "message": "We're sorry, something went wrong."}),
        )
    }

    /// 400 `Validation failed` with one entry per wrong field.
    pub(crate) fn validation(errors: Vec<FieldError>) -> Reply {
        Reply::failed_validation(StatusCode::BAD_REQUEST, errors)
    }

    /// A `Validation failed` body under another status (409 for a duplicate).
    pub(crate) fn failed_validation(status: StatusCode, errors: Vec<FieldError>) -> Reply {
        let errors: Vec<Value> = errors
            .into_iter()
            .map(|e| json!({"field": e.field, "message": e.message, "code": e.code}))
            .collect();
        Reply::status(
            status,
            json!({"description": "Validation failed", "errors": errors}),
        )
    }
}
