//! Bounded free text: trimmed, non-empty, within a length, without control characters.

use serde::{Deserialize, Serialize};

/// Checks and trims a free-text field. `field` names it in the error, as people see it.
pub fn bounded_text(raw: &str, field: &str, min: usize, max: usize) -> Result<String, String> {
    let text = raw.trim();
    let chars = text.chars().count();
    if chars == 0 {
        return Err(format!("{field} is required"));
    }
    if chars < min {
        return Err(format!("{field} needs at least {min} characters"));
    }
    if chars > max {
        return Err(format!(
            "{field} is at most {max} characters (this is {chars})"
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(format!("{field} contains control characters"));
    }
    Ok(text.to_owned())
}

/// Items as a list in a sentence: "a", "a and b", "a, b and c".
pub fn in_words_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [only] => (*only).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// A field-level problem found while parsing a form: which field, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_as_a_sentence() {
        assert_eq!(in_words_list(&[]), "");
        assert_eq!(in_words_list(&["sandbox"]), "sandbox");
        assert_eq!(in_words_list(&["sandbox", "prod"]), "sandbox and prod");
        assert_eq!(in_words_list(&["a", "b", "c"]), "a, b and c");
    }

    #[test]
    fn trims_and_bounds() {
        assert_eq!(
            bounded_text("  hi there ", "Title", 2, 20),
            Ok("hi there".into())
        );
        assert!(
            bounded_text("   ", "Title", 2, 20)
                .expect_err("must be refused")
                .contains("required")
        );
        assert!(
            bounded_text("a", "Title", 2, 20)
                .expect_err("must be refused")
                .contains("at least 2")
        );
        assert!(
            bounded_text(&"x".repeat(21), "Title", 2, 20)
                .expect_err("must be refused")
                .contains("at most 20")
        );
        assert!(bounded_text("a\u{7}b", "Title", 1, 20).is_err());
        assert!(bounded_text("line one\nline two", "Purpose", 1, 40).is_ok());
    }
}
