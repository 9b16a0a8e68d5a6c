//! The one error type the browser sees. Every variant carries only text that is safe to show.

use crate::domain::FieldError;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Please sign in to continue.")]
    Unauthenticated,
    #[error("You do not have permission to do that.")]
    Forbidden,
    #[error("Not found.")]
    NotFound,
    /// Input that breaks a rule, field by field. Nothing was written.
    #[error("{}", describe(.0))]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    Conflict(String),
    #[error("The request could not be read.")]
    BadRequest,
    #[error("Something went wrong on our side. It has been logged; please try again.")]
    Internal,
}

impl AppError {
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::BadRequest => StatusCode::BAD_REQUEST,
            AppError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid(vec![FieldError::new(field, message)])
    }

    /// The message for one field, if this error names it.
    pub fn field_message(&self, field: &str) -> Option<&str> {
        match self {
            AppError::Invalid(errors) => errors
                .iter()
                .find(|e| e.field == field)
                .map(|e| e.message.as_str()),
            _ => None,
        }
    }

    /// Log the real cause once, on the server, and hand the browser the generic variant.
    #[cfg(feature = "ssr")]
    pub fn internal(context: &str, cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "{context}");
        crate::auth::ssr::set_server_fn_status(http::StatusCode::INTERNAL_SERVER_ERROR);
        AppError::Internal
    }
}

fn describe(errors: &[FieldError]) -> String {
    let parts: Vec<String> = errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect();
    format!("Please correct: {}", parts.join("; "))
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let error = match value {
            ServerFnErrorErr::Args(_)
            | ServerFnErrorErr::Deserialization(_)
            | ServerFnErrorErr::MissingArg(_)
            | ServerFnErrorErr::UnsupportedRequestMethod(_) => AppError::BadRequest,
            _ => AppError::Internal,
        };
        // Arguments are decoded inside the server function's scope, so the response is ours to
        // mark: an unreadable request is the caller's mistake, not a server failure.
        #[cfg(feature = "ssr")]
        crate::auth::ssr::set_server_fn_status(error.status());
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_safe_and_statuses_match() {
        assert_eq!(AppError::Unauthenticated.status().as_u16(), 401);
        assert_eq!(AppError::Forbidden.status().as_u16(), 403);
        assert!(
            !AppError::Internal
                .to_string()
                .to_lowercase()
                .contains("sql")
        );
        let invalid = AppError::invalid("Topic name", "use only letters");
        assert_eq!(
            invalid.to_string(),
            "Please correct: Topic name: use only letters"
        );
        assert_eq!(
            invalid.field_message("Topic name"),
            Some("use only letters")
        );
    }

    #[test]
    fn transport_errors_never_carry_their_text() {
        let e = AppError::from_server_fn_error(ServerFnErrorErr::ServerError(
            "relation \"secret_table\" does not exist".into(),
        ));
        assert_eq!(e, AppError::Internal);
    }
}
