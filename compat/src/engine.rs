//! The engine: parsing, the comparison budget, and the checks. `avro` and `json` hold each
//! format's rules; `text` the canonical and pretty forms.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::time::{Duration, Instant};

use apache_avro::Schema as AvroSchema;
use apache_avro::schema::{
    Aliases, EnumSchema, FixedSchema, InnerDecimalSchema, Name, RecordSchema, UuidSchema,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Compatibility, SchemaFormat};

/// Why a schema text was rejected, in words that point at the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The explanation, naming the line and column or the field at fault.
    pub message: String,
}

impl ParseError {
    fn new(message: impl Into<String>) -> Self {
        ParseError {
            message: message.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

/// A schema that has been read and checked, ready for comparison.
#[derive(Debug, Clone)]
pub struct ParsedSchema {
    format: SchemaFormat,
    parsed: Parsed,
    canonical: String,
}

#[derive(Debug, Clone)]
enum Parsed {
    Avro(Box<AvroSchema>),
    Json(Value),
}

impl ParsedSchema {
    /// The kind of schema.
    pub fn format(&self) -> SchemaFormat {
        self.format
    }

    /// The schema as compact JSON with object keys sorted: two texts that
    /// differ only in layout or key order have the same canonical text.
    pub fn canonical(&self) -> &str {
        &self.canonical
    }
}

/// Reads and checks a schema text.
///
/// Avro texts must be valid Avro schemas; JSON Schema texts must be valid
/// against their JSON Schema meta-schema (draft detected from `$schema`,
/// 2020-12 when absent).
pub fn parse(format: SchemaFormat, text: &str) -> Result<ParsedSchema, ParseError> {
    let value: Value = serde_json::from_str(text).map_err(|e| json_syntax_error(&e))?;
    let canonical = canonical_json(&value);
    let parsed = match format {
        SchemaFormat::Avro => match AvroSchema::parse_str(text) {
            Ok(schema) => {
                defaults::check(&schema).map_err(ParseError::new)?;
                Parsed::Avro(Box::new(schema))
            }
            Err(err) => {
                let message = avro_diagnose(&value)
                    .unwrap_or_else(|| format!("not a valid Avro schema: {err}"));
                return Err(ParseError::new(message));
            }
        },
        SchemaFormat::Json => {
            json_schema_validate(&value)?;
            Parsed::Json(value)
        }
    };
    Ok(ParsedSchema {
        format,
        parsed,
        canonical,
    })
}

/// The schema text re-indented with two spaces per level, keys kept in the
/// order they were written, so two versions line up in a line diff. Text
/// that is not valid JSON is returned unchanged.
pub fn pretty(format: SchemaFormat, text: &str) -> String {
    match format {
        SchemaFormat::Avro | SchemaFormat::Json => reindent_json(text),
    }
}

/// One reason a new schema does not fit an earlier version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incompatibility {
    /// Where: a field path for Avro (`customer.address.city`), a JSON
    /// pointer for JSON Schema (`/properties/age`), `(root)` for the whole.
    pub path: String,
    /// What changed, from the earlier version to the new one.
    pub change: String,
    /// Which consumers break and why, naming the version compared.
    pub why: String,
}

/// How long one check may take before it gives up.
pub const CHECK_TIME: Duration = Duration::from_millis(500);
/// Nesting (through `$ref`s and named types) a check follows.
pub const MAX_DEPTH: usize = 64;
/// Pairs of (sub)schemas one check compares.
pub const MAX_STEPS: usize = 100_000;
/// Reasons one check reports; nobody reads more.
const MAX_REASONS: usize = 200;

/// A schema the engine will not finish checking: the work it would take is out of bounds.
/// Every compared pair is remembered for the whole comparison, so shared definitions cost
/// once, not once per path; what is left is genuinely deep or huge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TooComplex {
    #[error(
        "the schema nests more than {MAX_DEPTH} levels deep (through its references); flatten it"
    )]
    TooDeep,
    #[error(
        "the schema is too large to check (more than {MAX_STEPS} comparisons); split it or reduce its references"
    )]
    TooLarge,
    #[error("the schema took too long to check; simplify its references")]
    TooSlow,
}

/// The work one comparison may still do.
struct Budget {
    deadline: Instant,
    steps: usize,
    depth: usize,
    exceeded: Option<TooComplex>,
}

impl Budget {
    fn new(deadline: Instant) -> Self {
        Self {
            deadline,
            steps: 0,
            depth: 0,
            exceeded: None,
        }
    }

    /// Goes one level deeper; false (and nothing to undo) when a bound is reached.
    fn enter(&mut self) -> bool {
        if self.exceeded.is_some() {
            return false;
        }
        self.steps += 1;
        if self.depth >= MAX_DEPTH {
            self.exceeded = Some(TooComplex::TooDeep);
        } else if self.steps > MAX_STEPS {
            self.exceeded = Some(TooComplex::TooLarge);
        } else if self.steps.is_multiple_of(64) && Instant::now() >= self.deadline {
            self.exceeded = Some(TooComplex::TooSlow);
        }
        if self.exceeded.is_some() {
            return false;
        }
        self.depth += 1;
        true
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }
}

/// Reasons in the order found, each once (a shared definition reached by several paths
/// reports under the first).
fn dedup(reasons: &mut Vec<Incompatibility>) {
    let mut seen = HashSet::new();
    reasons.retain(|r| seen.insert((r.path.clone(), r.change.clone(), r.why.clone())));
}

/// Checks a new schema against earlier versions under `mode`.
///
/// `previous` holds `(version number, schema)` pairs, oldest first, latest
/// last; the version numbers only label the reasons. Non-transitive modes
/// compare with the last entry only, transitive modes with every entry.
/// `NONE` and an empty history always pass. An empty result means
/// compatible. A check that would take more than [`CHECK_TIME`] is reported
/// as one reason at the root; [`check_within`] tells it apart.
pub fn check(
    mode: Compatibility,
    new: &ParsedSchema,
    previous: &[(i32, ParsedSchema)],
) -> Vec<Incompatibility> {
    check_within(mode, new, previous, Instant::now() + CHECK_TIME).unwrap_or_else(|too| {
        vec![Incompatibility {
            path: ROOT.to_owned(),
            change: "the check did not finish".to_owned(),
            why: too.to_string(),
        }]
    })
}

/// [`check`], giving up at `deadline` or at the engine's bounds.
pub fn check_within(
    mode: Compatibility,
    new: &ParsedSchema,
    previous: &[(i32, ParsedSchema)],
    deadline: Instant,
) -> Result<Vec<Incompatibility>, TooComplex> {
    let mut budget = Budget::new(deadline);
    let backward = mode.checks_backward();
    let forward = mode.checks_forward();
    let compared: &[(i32, ParsedSchema)] = if mode.is_transitive() {
        previous
    } else {
        previous
            .last()
            .map(std::slice::from_ref)
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for (version, old) in compared {
        let old_label = format!("version {version}");
        if backward {
            let labels = Labels {
                writer: old_label.clone(),
                reader: "the new schema".to_owned(),
                reader_is_new: true,
            };
            compare(old, new, &labels, &mut budget, &mut out);
        }
        if forward {
            let labels = Labels {
                writer: "the new schema".to_owned(),
                reader: old_label,
                reader_is_new: false,
            };
            compare(new, old, &labels, &mut budget, &mut out);
        }
        if let Some(too) = budget.exceeded {
            return Err(too);
        }
    }
    dedup(&mut out);
    Ok(out)
}

const ROOT: &str = "(root)";

/// Who writes and who reads in one comparison.
struct Labels {
    writer: String,
    reader: String,
    reader_is_new: bool,
}

impl Labels {
    fn old_new<'s>(&self, writer_side: &'s str, reader_side: &'s str) -> (&'s str, &'s str) {
        if self.reader_is_new {
            (writer_side, reader_side)
        } else {
            (reader_side, writer_side)
        }
    }

    /// `on_new_reader` when the reader is the new schema, else `on_old_reader`.
    fn pick<'s>(&self, on_new_reader: &'s str, on_old_reader: &'s str) -> &'s str {
        if self.reader_is_new {
            on_new_reader
        } else {
            on_old_reader
        }
    }
}

fn display_path(path: &str) -> String {
    if path.is_empty() {
        ROOT.to_owned()
    } else {
        path.to_owned()
    }
}

fn compare(
    writer: &ParsedSchema,
    reader: &ParsedSchema,
    labels: &Labels,
    budget: &mut Budget,
    out: &mut Vec<Incompatibility>,
) {
    match (&writer.parsed, &reader.parsed) {
        (Parsed::Avro(w), Parsed::Avro(r)) => {
            out.append(&mut AvroChecker::new(w, r, labels, budget).findings());
        }
        (Parsed::Json(w), Parsed::Json(r)) => {
            out.append(&mut JsonChecker::new(w, r, labels, budget).findings());
        }
        _ => {
            let (old, new) = labels.old_new(writer.format.label(), reader.format.label());
            out.push(Incompatibility {
                path: ROOT.to_owned(),
                change: format!("schema type changed from {old} to {new}"),
                why: format!(
                    "consumers using {} cannot read events written with {}: events encoded for {} cannot be decoded with a {} schema",
                    labels.reader,
                    labels.writer,
                    writer.format.label(),
                    reader.format.label()
                ),
            });
        }
    }
}

/// Enum members one side lacks, each in backquotes and joined, with the noun in the right
/// number; `None` when there are none.
fn listed<T: fmt::Display>(
    members: impl Iterator<Item = T>,
    one: &'static str,
    many: &'static str,
) -> Option<(&'static str, String)> {
    let members: Vec<String> = members.map(|m| format!("`{m}`")).collect();
    match members.len() {
        0 => None,
        1 => Some((one, members.join(", "))),
        _ => Some((many, members.join(", "))),
    }
}

mod avro;
mod defaults;
pub mod hostile;
mod json;
#[cfg(test)]
mod tests;
mod text;

use avro::*;
use json::*;
use text::*;
