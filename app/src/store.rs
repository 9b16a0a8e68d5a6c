//! The data layer's error. A store function either refuses (input, state, permission: text the
//! browser may see, as an [`AppError`]) or fails, and then says what it was doing and keeps the
//! database's error as its cause. Server functions convert it into the client error once
//! (`From<StoreError> for AppError`: the response status is set there and a failure's cause
//! chain is logged there); background workers log it whole.

use crate::error::AppError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Refused for a reason the caller may read; nothing was written.
    #[error(transparent)]
    Refused(#[from] AppError),
    /// PostgreSQL failed while the store was doing `doing`.
    #[error("{doing}")]
    Database {
        doing: &'static str,
        #[source]
        source: sqlx::Error,
    },
    /// The stored data breaks a rule the portal keeps (say, a proposal that no longer parses).
    #[error("{doing}: {detail}")]
    Corrupt { doing: &'static str, detail: String },
}

impl StoreError {
    /// The error with its causes, outermost first: what a log line should say.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(error) = cause {
            text.push_str(": ");
            text.push_str(&error.to_string());
            cause = error.source();
        }
        text
    }

    pub fn corrupt(doing: &'static str, detail: impl std::fmt::Display) -> Self {
        StoreError::Corrupt {
            doing,
            detail: detail.to_string(),
        }
    }
}

/// Maps a database error to a [`StoreError`] that says what was being done.
pub fn failed_while(doing: &'static str) -> impl Fn(sqlx::Error) -> StoreError + Copy {
    move |source| StoreError::Database { doing, source }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Refused(refusal) => crate::auth::ssr::with_status(refusal),
            failure => AppError::internal("the data layer failed", &failure.chain()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_keeps_what_was_done_and_its_cause() {
        let error = failed_while("loading approval slots")(sqlx::Error::RowNotFound);
        let chain = error.chain();
        assert!(chain.starts_with("loading approval slots: "), "{chain}");
        assert!(chain.contains("no rows returned"), "{chain}");
        assert_eq!(AppError::from(error), AppError::Internal);
    }

    #[test]
    fn a_refusal_reaches_the_browser_as_it_is() {
        let refusal = AppError::Conflict("This request changed.".into());
        let error = StoreError::from(refusal.clone());
        assert_eq!(error.chain(), "This request changed.");
        assert_eq!(AppError::from(error), refusal);
    }
}
