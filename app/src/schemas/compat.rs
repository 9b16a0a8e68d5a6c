//! Schema compatibility checks for Avro and JSON Schema, following the
//! compatibility modes of a Confluent-style schema registry.
//!
//! # Modes
//!
//! * `BACKWARD`: consumers using the new schema can read events written with
//!   the previous one (the new schema is the reader, the previous the writer).
//! * `FORWARD`: consumers still on the previous schema can read events
//!   written with the new one (the previous schema is the reader).
//! * `FULL`: both of the above.
//! * The `_TRANSITIVE` variants compare with every earlier version instead of
//!   only the latest one.
//! * `NONE`: nothing is checked.
//!
//! # Avro
//!
//! Avro follows the schema resolution rules of the Avro specification:
//! record fields are matched by name (or by the reader field's aliases); a
//! reader field missing from the writer needs a default; writer fields the
//! reader does not know are skipped; numbers may be promoted
//! (int → long/float/double, long → float/double, float → double) and
//! string and bytes read each other; enum symbols unknown to the reader
//! break unless the reader enum has a default symbol; every branch a writer
//! union may hold must be readable by the reader; named types (records,
//! enums, fixed) are matched by their unqualified name or the reader's
//! aliases, so a namespace change alone does not break. Logical types are
//! compared by their underlying type, except that a decimal's scale must not
//! change (the same bytes would mean a different number).
//!
//! Paths name record fields joined by dots (`customer.address.city`); `[]`
//! stands for the items of an array and `{}` for the values of a map.
//!
//! # JSON Schema
//!
//! A JSON Schema describes which documents are valid. `BACKWARD` asks
//! whether every document valid under the previous schema is still valid
//! under the new one; `FORWARD` asks the same with the roles swapped. The
//! following keywords are understood, recursively through `properties`,
//! `additionalProperties` and `items`:
//!
//! * `type`: removing a type (or `number` → `integer`) narrows; adding one
//!   (or `integer` → `number`) widens.
//! * `enum` / `const`: removing a value narrows, adding one widens.
//! * `maxLength`, `maximum`, `exclusiveMaximum`, `maxItems`,
//!   `maxProperties` lowered, or their `min` counterparts raised, narrows.
//! * `required`: adding a property narrows, removing one widens.
//! * `additionalProperties` turned to `false` narrows. A property the
//!   reading schema no longer declares is checked against its
//!   `additionalProperties`. A property the reading schema declares but the
//!   writing schema did not is fine when the writing schema forbade
//!   additional properties; when it allowed them (the default), earlier
//!   documents may already carry that property with any value, so adding a
//!   constrained property to an open schema is not backward compatible
//!   (as in Confluent's "open content model" rule).
//! * `$ref` pointing inside the same document (`#/...`) is followed.
//!
//! Any other constraint keyword (`oneOf`, `anyOf`, `allOf`, `not`,
//! `if`/`then`/`else`, `pattern`, `format`, `patternProperties`, a `$ref`
//! to another document, tuple `items`, ...) cannot be judged: if the reading
//! schema adds or changes it, the change is reported as breaking with a
//! reason saying it cannot be proven compatible. Removing such a keyword
//! from the reading schema only loosens it and is accepted. Annotations
//! (`title`, `description`, `default`, `examples`, ...) are ignored.
//!
//! Paths are JSON pointers into the schema (`/properties/age`).
//!
//! In both formats a problem concerning the whole schema has the path
//! `(root)`.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::time::{Duration, Instant};

use apache_avro::Schema as AvroSchema;
use apache_avro::schema::{
    Aliases, EnumSchema, FixedSchema, InnerDecimalSchema, Name, RecordSchema, UuidSchema,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::{Compatibility, SchemaFormat};

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
            Ok(schema) => Parsed::Avro(Box::new(schema)),
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
            let mut checker = AvroChecker::new(w, r, labels, budget);
            checker.check(w, r, "");
            out.append(&mut checker.out);
        }
        (Parsed::Json(w), Parsed::Json(r)) => {
            let mut checker = JsonChecker {
                writer_root: w,
                reader_root: r,
                labels,
                in_progress: HashSet::new(),
                done: HashMap::new(),
                budget,
                out: Vec::new(),
            };
            checker.check(w, r, "");
            out.append(&mut checker.out);
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

// ---------------------------------------------------------------------------
// Avro

/// The shape of an Avro schema once logical types are reduced to the type
/// that carries them.
enum Base<'a> {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    Str,
    Array(&'a AvroSchema),
    Map(&'a AvroSchema),
    Union,
    Record(&'a RecordSchema),
    Enum(&'a EnumSchema),
    Fixed(&'a FixedSchema),
    Unresolved,
}

fn avro_base(schema: &AvroSchema) -> Base<'_> {
    match schema {
        AvroSchema::Null => Base::Null,
        AvroSchema::Boolean => Base::Boolean,
        AvroSchema::Int | AvroSchema::Date | AvroSchema::TimeMillis => Base::Int,
        AvroSchema::Long
        | AvroSchema::TimeMicros
        | AvroSchema::TimestampMillis
        | AvroSchema::TimestampMicros
        | AvroSchema::TimestampNanos
        | AvroSchema::LocalTimestampMillis
        | AvroSchema::LocalTimestampMicros
        | AvroSchema::LocalTimestampNanos => Base::Long,
        AvroSchema::Float => Base::Float,
        AvroSchema::Double => Base::Double,
        AvroSchema::Bytes | AvroSchema::BigDecimal => Base::Bytes,
        AvroSchema::String => Base::Str,
        AvroSchema::Array(a) => Base::Array(&a.items),
        AvroSchema::Map(m) => Base::Map(&m.types),
        AvroSchema::Union(_) => Base::Union,
        AvroSchema::Record(r) => Base::Record(r),
        AvroSchema::Enum(e) => Base::Enum(e),
        AvroSchema::Fixed(f) | AvroSchema::Duration(f) => Base::Fixed(f),
        AvroSchema::Decimal(d) => match &d.inner {
            InnerDecimalSchema::Bytes => Base::Bytes,
            InnerDecimalSchema::Fixed(f) => Base::Fixed(f),
        },
        AvroSchema::Uuid(u) => match u {
            UuidSchema::Bytes => Base::Bytes,
            UuidSchema::String => Base::Str,
            UuidSchema::Fixed(f) => Base::Fixed(f),
        },
        AvroSchema::Ref { .. } => Base::Unresolved,
    }
}

/// A short human description of an Avro type, e.g. `array of string`.
fn avro_describe(schema: &AvroSchema) -> String {
    let logical = |base: &str, name: &str| format!("{base} ({name})");
    match schema {
        AvroSchema::Null => "null".to_owned(),
        AvroSchema::Boolean => "boolean".to_owned(),
        AvroSchema::Int => "int".to_owned(),
        AvroSchema::Long => "long".to_owned(),
        AvroSchema::Float => "float".to_owned(),
        AvroSchema::Double => "double".to_owned(),
        AvroSchema::Bytes => "bytes".to_owned(),
        AvroSchema::String => "string".to_owned(),
        AvroSchema::Array(a) => format!("array of {}", avro_describe(&a.items)),
        AvroSchema::Map(m) => format!("map of {}", avro_describe(&m.types)),
        AvroSchema::Union(u) => format!(
            "union [{}]",
            u.variants()
                .iter()
                .map(avro_describe)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        AvroSchema::Record(r) => format!("record `{}`", r.name.name()),
        AvroSchema::Enum(e) => format!("enum `{}`", e.name.name()),
        AvroSchema::Fixed(f) => format!("fixed `{}` ({} bytes)", f.name.name(), f.size),
        AvroSchema::Decimal(d) => format!("decimal({}, {})", d.precision, d.scale),
        AvroSchema::BigDecimal => logical("bytes", "big-decimal"),
        AvroSchema::Uuid(_) => "uuid".to_owned(),
        AvroSchema::Date => logical("int", "date"),
        AvroSchema::TimeMillis => logical("int", "time-millis"),
        AvroSchema::TimeMicros => logical("long", "time-micros"),
        AvroSchema::TimestampMillis => logical("long", "timestamp-millis"),
        AvroSchema::TimestampMicros => logical("long", "timestamp-micros"),
        AvroSchema::TimestampNanos => logical("long", "timestamp-nanos"),
        AvroSchema::LocalTimestampMillis => logical("long", "local-timestamp-millis"),
        AvroSchema::LocalTimestampMicros => logical("long", "local-timestamp-micros"),
        AvroSchema::LocalTimestampNanos => logical("long", "local-timestamp-nanos"),
        AvroSchema::Duration(_) => logical("fixed", "duration"),
        AvroSchema::Ref { name } => format!("`{}`", name.name()),
    }
}

fn with_article(text: &str) -> String {
    let vowel = text
        .trim_start_matches('`')
        .chars()
        .next()
        .is_some_and(|c| "aeiouAEIOU".contains(c));
    if vowel {
        format!("an {text}")
    } else {
        format!("a {text}")
    }
}

fn collect_avro_names<'a>(schema: &'a AvroSchema, names: &mut HashMap<String, &'a AvroSchema>) {
    match schema {
        AvroSchema::Record(r) => {
            let first_seen = names.insert(r.name.fullname(None), schema).is_none();
            if first_seen {
                for field in &r.fields {
                    collect_avro_names(&field.schema, names);
                }
            }
        }
        AvroSchema::Enum(e) => {
            names.insert(e.name.fullname(None), schema);
        }
        AvroSchema::Fixed(f) | AvroSchema::Duration(f) => {
            names.insert(f.name.fullname(None), schema);
        }
        AvroSchema::Decimal(d) => {
            if let InnerDecimalSchema::Fixed(f) = &d.inner {
                names.insert(f.name.fullname(None), schema);
            }
        }
        AvroSchema::Uuid(UuidSchema::Fixed(f)) => {
            names.insert(f.name.fullname(None), schema);
        }
        AvroSchema::Array(a) => collect_avro_names(&a.items, names),
        AvroSchema::Map(m) => collect_avro_names(&m.types, names),
        AvroSchema::Union(u) => {
            for variant in u.variants() {
                collect_avro_names(variant, names);
            }
        }
        _ => {}
    }
}

fn names_match(writer: &Name, reader: &Name, reader_aliases: &Aliases) -> bool {
    writer.name() == reader.name()
        || reader_aliases
            .iter()
            .flatten()
            .any(|alias| alias.name() == writer.name())
}

fn join_field(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

struct AvroChecker<'a, 'l> {
    writer_names: HashMap<String, &'a AvroSchema>,
    reader_names: HashMap<String, &'a AvroSchema>,
    in_progress: HashSet<(String, String)>,
    /// Record pairs compared so far, with what they found.
    done: HashMap<(String, String), Vec<Incompatibility>>,
    budget: &'l mut Budget,
    labels: &'l Labels,
    out: Vec<Incompatibility>,
}

impl<'a, 'l> AvroChecker<'a, 'l> {
    fn new(
        writer: &'a AvroSchema,
        reader: &'a AvroSchema,
        labels: &'l Labels,
        budget: &'l mut Budget,
    ) -> Self {
        let mut writer_names = HashMap::new();
        collect_avro_names(writer, &mut writer_names);
        let mut reader_names = HashMap::new();
        collect_avro_names(reader, &mut reader_names);
        AvroChecker {
            writer_names,
            reader_names,
            in_progress: HashSet::new(),
            done: HashMap::new(),
            budget,
            labels,
            out: Vec::new(),
        }
    }

    fn resolve(names: &HashMap<String, &'a AvroSchema>, schema: &'a AvroSchema) -> &'a AvroSchema {
        match schema {
            AvroSchema::Ref { name } => names.get(&name.fullname(None)).copied().unwrap_or(schema),
            other => other,
        }
    }

    fn report(&mut self, path: &str, change: String, detail: String) {
        if self.out.len() >= MAX_REASONS {
            return;
        }
        self.out.push(Incompatibility {
            path: display_path(path),
            change,
            why: format!(
                "consumers using {} cannot read events written with {}: {detail}",
                self.labels.reader, self.labels.writer
            ),
        });
    }

    /// Whether `reader` can read everything `writer` writes, without
    /// recording anything.
    fn readable(&mut self, writer: &'a AvroSchema, reader: &'a AvroSchema, path: &str) -> bool {
        let before = self.out.len();
        self.check(writer, reader, path);
        let ok = self.out.len() == before;
        self.out.truncate(before);
        ok
    }

    fn check(&mut self, writer: &'a AvroSchema, reader: &'a AvroSchema, path: &str) {
        if !self.budget.enter() {
            return;
        }
        self.check_resolved(writer, reader, path);
        self.budget.leave();
    }

    fn check_resolved(&mut self, writer: &'a AvroSchema, reader: &'a AvroSchema, path: &str) {
        let writer = Self::resolve(&self.writer_names, writer);
        let reader = Self::resolve(&self.reader_names, reader);
        match (writer, reader) {
            (_, AvroSchema::Union(reader_union)) => {
                let branches: Vec<&'a AvroSchema> = match writer {
                    AvroSchema::Union(u) => u.variants().iter().collect(),
                    single => vec![single],
                };
                let writer_is_union = matches!(writer, AvroSchema::Union(_));
                for branch in branches {
                    let branch = Self::resolve(&self.writer_names, branch);
                    if reader_union
                        .variants()
                        .iter()
                        .any(|candidate| self.readable(branch, candidate, path))
                    {
                        continue;
                    }
                    let similar = reader_union.variants().iter().find(|candidate| {
                        same_shape(branch, Self::resolve(&self.reader_names, candidate))
                    });
                    if let Some(similar) = similar {
                        self.check(branch, similar, path);
                        continue;
                    }
                    let branch_text = avro_describe(branch);
                    let change = if writer_is_union {
                        format!(
                            "union branch {branch_text} {}",
                            self.labels.pick("removed", "added")
                        )
                    } else {
                        let (old, new) = self
                            .labels
                            .old_new(&branch_text, &avro_describe(reader))
                            .to_owned_pair();
                        format!("type changed from {old} to {new}")
                    };
                    let detail = format!(
                        "those events may hold {} here, which {} does not accept",
                        with_article(&branch_text),
                        self.labels.reader
                    );
                    self.report(path, change, detail);
                }
            }
            (AvroSchema::Union(writer_union), _) => {
                for branch in writer_union.variants() {
                    let branch = Self::resolve(&self.writer_names, branch);
                    if self.readable(branch, reader, path) {
                        continue;
                    }
                    if same_shape(branch, reader) {
                        self.check(branch, reader, path);
                        continue;
                    }
                    let (old, new) = self
                        .labels
                        .old_new(&avro_describe(writer), &avro_describe(reader))
                        .to_owned_pair();
                    let detail = format!(
                        "those events may hold {} here, which {} reads only as {}",
                        with_article(&avro_describe(branch)),
                        self.labels.reader,
                        with_article(&avro_describe(reader))
                    );
                    self.report(path, format!("type changed from {old} to {new}"), detail);
                }
            }
            _ => self.check_plain(writer, reader, path),
        }
    }

    fn check_plain(&mut self, writer: &'a AvroSchema, reader: &'a AvroSchema, path: &str) {
        if let (AvroSchema::Decimal(w), AvroSchema::Decimal(r)) = (writer, reader)
            && w.scale != r.scale
        {
            let (old, new) = self
                .labels
                .old_new(&w.scale.to_string(), &r.scale.to_string())
                .to_owned_pair();
            let detail = format!(
                "a decimal written with scale {} would be read with scale {}, changing its value",
                w.scale, r.scale
            );
            self.report(
                path,
                format!("decimal scale changed from {old} to {new}"),
                detail,
            );
        }
        match (avro_base(writer), avro_base(reader)) {
            (Base::Null, Base::Null)
            | (Base::Boolean, Base::Boolean)
            | (Base::Int, Base::Int | Base::Long | Base::Float | Base::Double)
            | (Base::Long, Base::Long | Base::Float | Base::Double)
            | (Base::Float, Base::Float | Base::Double)
            | (Base::Double, Base::Double)
            | (Base::Bytes | Base::Str, Base::Bytes | Base::Str) => {}
            (Base::Array(w), Base::Array(r)) => self.check(w, r, &format!("{path}[]")),
            (Base::Map(w), Base::Map(r)) => self.check(w, r, &format!("{path}{{}}")),
            (Base::Record(w), Base::Record(r)) => self.check_record(w, r, path),
            (Base::Enum(w), Base::Enum(r)) => self.check_enum(w, r, path),
            (Base::Fixed(w), Base::Fixed(r)) => {
                if !names_match(&w.name, &r.name, &r.aliases) {
                    self.report_rename("fixed", &w.name, &r.name, path);
                } else if w.size != r.size {
                    let (old, new) = self
                        .labels
                        .old_new(&w.size.to_string(), &r.size.to_string())
                        .to_owned_pair();
                    let detail = format!(
                        "a fixed value of {} bytes cannot be read as one of {} bytes",
                        w.size, r.size
                    );
                    self.report(
                        path,
                        format!("size changed from {old} to {new} bytes"),
                        detail,
                    );
                }
            }
            (Base::Union, _) | (_, Base::Union) => self.check(writer, reader, path),
            (writer_base, reader_base) => {
                let w_text = avro_describe(writer);
                let r_text = avro_describe(reader);
                let narrowing = matches!(
                    (&writer_base, &reader_base),
                    (Base::Long, Base::Int)
                        | (Base::Float | Base::Double, Base::Int | Base::Long)
                        | (Base::Double, Base::Float)
                );
                let unresolved = matches!(writer_base, Base::Unresolved)
                    || matches!(reader_base, Base::Unresolved);
                let detail = if narrowing {
                    format!("{} cannot hold every {w_text}", with_article(&r_text))
                } else if unresolved {
                    format!("the type {w_text} or {r_text} is not defined")
                } else {
                    format!(
                        "{} value cannot be read as {}",
                        with_article(&w_text),
                        with_article(&r_text)
                    )
                };
                let (old, new) = self.labels.old_new(&w_text, &r_text).to_owned_pair();
                self.report(path, format!("type changed from {old} to {new}"), detail);
            }
        }
    }

    fn report_rename(&mut self, kind: &str, writer: &Name, reader: &Name, path: &str) {
        let (old, new) = self
            .labels
            .old_new(writer.name(), reader.name())
            .to_owned_pair();
        let detail = format!(
            "{} expects the {kind} `{}` and lists no alias `{}`",
            self.labels.reader,
            reader.name(),
            writer.name()
        );
        self.report(
            path,
            format!("{kind} renamed from `{old}` to `{new}`"),
            detail,
        );
    }

    fn check_record(&mut self, writer: &'a RecordSchema, reader: &'a RecordSchema, path: &str) {
        if !names_match(&writer.name, &reader.name, &reader.aliases) {
            self.report_rename("record", &writer.name, &reader.name, path);
            return;
        }
        let key = (writer.name.fullname(None), reader.name.fullname(None));
        if let Some(found) = self.done.get(&key) {
            // Compared before, through another path: the same answer.
            let found = found.clone();
            self.out.extend(found);
            return;
        }
        if !self.in_progress.insert(key.clone()) {
            // Already being compared further up: a recursive type.
            return;
        }
        let before = self.out.len();
        for reader_field in &reader.fields {
            let writer_field = writer
                .fields
                .iter()
                .find(|f| f.name == reader_field.name)
                .or_else(|| {
                    reader_field
                        .aliases
                        .iter()
                        .find_map(|alias| writer.fields.iter().find(|f| &f.name == alias))
                });
            let field_path = join_field(path, &reader_field.name);
            match writer_field {
                Some(writer_field) => {
                    self.check(&writer_field.schema, &reader_field.schema, &field_path);
                }
                None if reader_field.default.is_none() => {
                    let name = &reader_field.name;
                    let change = if self.labels.reader_is_new {
                        format!("field `{name}` added without a default")
                    } else {
                        format!(
                            "field `{name}` removed, and {} has no default for it",
                            self.labels.reader
                        )
                    };
                    let detail = format!(
                        "those events carry no `{name}` and {} gives it no default value",
                        self.labels.reader
                    );
                    self.report(&field_path, change, detail);
                }
                None => {}
            }
        }
        self.in_progress.remove(&key);
        if self.budget.exceeded.is_none() {
            self.done.insert(key, self.out[before..].to_vec());
        }
    }

    fn check_enum(&mut self, writer: &'a EnumSchema, reader: &'a EnumSchema, path: &str) {
        if !names_match(&writer.name, &reader.name, &reader.aliases) {
            self.report_rename("enum", &writer.name, &reader.name, path);
            return;
        }
        if reader.default.is_some() {
            return;
        }
        let missing: Vec<String> = writer
            .symbols
            .iter()
            .filter(|symbol| !reader.symbols.contains(symbol))
            .map(|symbol| format!("`{symbol}`"))
            .collect();
        if missing.is_empty() {
            return;
        }
        let list = missing.join(", ");
        let noun = if missing.len() == 1 {
            "symbol"
        } else {
            "symbols"
        };
        let change = format!(
            "enum {noun} {list} {}",
            self.labels.pick("removed", "added")
        );
        let detail = format!(
            "those events may carry {list}, which {} does not list, and its enum has no default symbol",
            self.labels.reader
        );
        self.report(path, change, detail);
    }
}

trait OwnedPair {
    fn to_owned_pair(self) -> (String, String);
}

impl OwnedPair for (&str, &str) {
    fn to_owned_pair(self) -> (String, String) {
        (self.0.to_owned(), self.1.to_owned())
    }
}

/// Whether two Avro types are the same kind of container or the same named
/// type, so their differences are worth describing in detail.
fn same_shape(a: &AvroSchema, b: &AvroSchema) -> bool {
    match (avro_base(a), avro_base(b)) {
        (Base::Array(_), Base::Array(_)) | (Base::Map(_), Base::Map(_)) => true,
        (Base::Record(x), Base::Record(y)) => names_match(&x.name, &y.name, &y.aliases),
        (Base::Enum(x), Base::Enum(y)) => names_match(&x.name, &y.name, &y.aliases),
        (Base::Fixed(x), Base::Fixed(y)) => names_match(&x.name, &y.name, &y.aliases),
        _ => false,
    }
}

const AVRO_PRIMITIVES: [&str; 8] = [
    "null", "boolean", "int", "long", "float", "double", "bytes", "string",
];

/// Finds the first problem in an Avro schema document that the Avro library
/// rejected, and describes it with the field it concerns.
fn avro_diagnose(value: &Value) -> Option<String> {
    let mut defined = HashSet::new();
    collect_defined_names(value, None, &mut defined);
    avro_diagnose_type(value, "", &defined)
}

fn collect_defined_names(value: &Value, namespace: Option<&str>, defined: &mut HashSet<String>) {
    match value {
        Value::Array(items) => {
            for item in items {
                collect_defined_names(item, namespace, defined);
            }
        }
        Value::Object(map) => {
            let own_namespace = map.get("namespace").and_then(Value::as_str).or(namespace);
            if let Some(name) = map.get("name").and_then(Value::as_str)
                && matches!(
                    map.get("type").and_then(Value::as_str),
                    Some("record" | "error" | "enum" | "fixed")
                )
            {
                defined.insert(name.to_owned());
                if let Some((_, short)) = name.rsplit_once('.') {
                    defined.insert(short.to_owned());
                } else if let Some(ns) = own_namespace {
                    defined.insert(format!("{ns}.{name}"));
                }
            }
            for key in ["type", "items", "values"] {
                if let Some(inner) = map.get(key) {
                    collect_defined_names(inner, own_namespace, defined);
                }
            }
            if let Some(Value::Array(fields)) = map.get("fields") {
                for field in fields {
                    collect_defined_names(field, own_namespace, defined);
                }
            }
        }
        _ => {}
    }
}

fn avro_diagnose_type(value: &Value, path: &str, defined: &HashSet<String>) -> Option<String> {
    let at = |message: String| {
        if path.is_empty() {
            message
        } else {
            format!("field `{path}`: {message}")
        }
    };
    match value {
        Value::String(name) => {
            let known = AVRO_PRIMITIVES.contains(&name.as_str()) || defined.contains(name);
            (!known).then(|| at(format!("unknown type `{name}`")))
        }
        Value::Array(branches) => branches
            .iter()
            .find_map(|branch| avro_diagnose_type(branch, path, defined)),
        Value::Object(map) => {
            let Some(kind) = map.get("type") else {
                return Some(at("the type definition has no `type`".to_owned()));
            };
            match kind.as_str() {
                Some("record" | "error") => {
                    let name = map.get("name").and_then(Value::as_str).unwrap_or("?");
                    let Some(Value::Array(fields)) = map.get("fields") else {
                        return Some(at(format!("record `{name}` needs a `fields` list")));
                    };
                    fields.iter().find_map(|field| {
                        let Some(field_name) = field.get("name").and_then(Value::as_str) else {
                            return Some(at(format!(
                                "record `{name}` has a field without a `name`"
                            )));
                        };
                        let field_path = join_field(path, field_name);
                        match field.get("type") {
                            Some(field_type) => {
                                avro_diagnose_type(field_type, &field_path, defined)
                            }
                            None => Some(format!("field `{field_path}`: missing `type`")),
                        }
                    })
                }
                Some("enum") => {
                    let symbols_ok = map
                        .get("symbols")
                        .and_then(Value::as_array)
                        .is_some_and(|symbols| symbols.iter().all(Value::is_string));
                    (!symbols_ok).then(|| at("an enum needs a `symbols` list of names".to_owned()))
                }
                Some("fixed") => {
                    let size_ok = map.get("size").is_some_and(Value::is_u64);
                    (!size_ok).then(|| at("a fixed type needs a whole-number `size`".to_owned()))
                }
                Some("array") => match map.get("items") {
                    Some(items) => avro_diagnose_type(items, &format!("{path}[]"), defined),
                    None => Some(at("an array needs `items`".to_owned())),
                },
                Some("map") => match map.get("values") {
                    Some(values) => avro_diagnose_type(values, &format!("{path}{{}}"), defined),
                    None => Some(at("a map needs `values`".to_owned())),
                },
                _ => avro_diagnose_type(kind, path, defined),
            }
        }
        other => Some(at(format!("`{other}` is not an Avro type"))),
    }
}

// ---------------------------------------------------------------------------
// JSON Schema

const JSON_TYPES: [&str; 7] = [
    "string", "number", "integer", "boolean", "object", "array", "null",
];

/// Constraint keywords whose effect is not analysed: any addition or change
/// on the reading side is reported as not provably compatible.
const OPAQUE_KEYWORDS: [&str; 26] = [
    "$ref",
    "$dynamicRef",
    "$recursiveRef",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "pattern",
    "format",
    "multipleOf",
    "uniqueItems",
    "contains",
    "minContains",
    "maxContains",
    "prefixItems",
    "additionalItems",
    "patternProperties",
    "propertyNames",
    "dependencies",
    "dependentRequired",
    "dependentSchemas",
    "unevaluatedProperties",
    "unevaluatedItems",
];

/// Annotation keywords that may stand beside a `$ref` without changing it.
const ANNOTATIONS: [&str; 14] = [
    "$ref",
    "$schema",
    "$id",
    "$anchor",
    "$defs",
    "definitions",
    "title",
    "description",
    "$comment",
    "examples",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
];

/// Numeric bounds: keyword, whether it is an upper bound, the instance type
/// it applies to, and how to describe values beyond it.
const BOUNDS: [(&str, bool, &str, &str); 10] = [
    (
        "maxLength",
        true,
        "string",
        "strings longer than {} characters",
    ),
    (
        "minLength",
        false,
        "string",
        "strings shorter than {} characters",
    ),
    ("maximum", true, "number", "numbers above {}"),
    ("minimum", false, "number", "numbers below {}"),
    ("exclusiveMaximum", true, "number", "numbers of {} or more"),
    ("exclusiveMinimum", false, "number", "numbers of {} or less"),
    ("maxItems", true, "array", "arrays with more than {} items"),
    (
        "minItems",
        false,
        "array",
        "arrays with fewer than {} items",
    ),
    (
        "maxProperties",
        true,
        "object",
        "objects with more than {} properties",
    ),
    (
        "minProperties",
        false,
        "object",
        "objects with fewer than {} properties",
    ),
];

/// A schema that accepts every document.
static ANY: Value = Value::Bool(true);

fn keyword<'v>(schema: &'v Value, key: &str) -> Option<&'v Value> {
    schema.as_object().and_then(|map| map.get(key))
}

fn pointer_escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn type_set(schema: &Value) -> Option<BTreeSet<&str>> {
    match keyword(schema, "type")? {
        Value::String(t) => Some(BTreeSet::from([t.as_str()])),
        Value::Array(types) => Some(types.iter().filter_map(Value::as_str).collect()),
        _ => None,
    }
}

fn describe_types(types: Option<&BTreeSet<&str>>) -> String {
    match types {
        None => "any type".to_owned(),
        Some(types) if types.is_empty() => "no type".to_owned(),
        Some(types) => types
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(" or "),
    }
}

fn may_be(types: Option<&BTreeSet<&str>>, kind: &str) -> bool {
    types
        .is_none_or(|types| types.contains(kind) || (kind == "number" && types.contains("integer")))
}

fn allowed_values(schema: &Value) -> Option<Vec<&Value>> {
    if let Some(constant) = keyword(schema, "const") {
        return Some(vec![constant]);
    }
    keyword(schema, "enum")
        .and_then(Value::as_array)
        .map(|values| values.iter().collect())
}

struct JsonChecker<'a, 'l> {
    writer_root: &'a Value,
    reader_root: &'a Value,
    labels: &'l Labels,
    in_progress: HashSet<(usize, usize)>,
    /// Pairs compared so far, with what they found: a definition `$ref`ed from many places
    /// is compared once.
    done: HashMap<(usize, usize), Vec<Incompatibility>>,
    budget: &'l mut Budget,
    out: Vec<Incompatibility>,
}

impl<'a> JsonChecker<'a, '_> {
    fn report(&mut self, path: &str, change: String, detail: String) {
        if self.out.len() >= MAX_REASONS {
            return;
        }
        self.out.push(Incompatibility {
            path: display_path(path),
            change,
            why: format!(
                "consumers validating with {} would reject events written with {}: {detail}",
                self.labels.reader, self.labels.writer
            ),
        });
    }

    /// Follows a `$ref` into the same document when it stands alone (only
    /// annotations beside it).
    fn follow(root: &'a Value, mut schema: &'a Value) -> &'a Value {
        for _ in 0..32 {
            let Some(Value::String(reference)) = keyword(schema, "$ref") else {
                return schema;
            };
            let alone = schema
                .as_object()
                .is_some_and(|map| map.keys().all(|k| ANNOTATIONS.contains(&k.as_str())));
            let Some(pointer) = reference.strip_prefix('#') else {
                return schema;
            };
            match root.pointer(pointer) {
                Some(target) if alone => schema = target,
                _ => return schema,
            }
        }
        schema
    }

    fn check(&mut self, writer: &'a Value, reader: &'a Value, path: &str) {
        let writer = Self::follow(self.writer_root, writer);
        let reader = Self::follow(self.reader_root, reader);
        let key = (
            std::ptr::from_ref(writer) as usize,
            std::ptr::from_ref(reader) as usize,
        );
        if let Some(found) = self.done.get(&key) {
            let found = found.clone();
            self.out.extend(found);
            return;
        }
        if !self.in_progress.insert(key) {
            return;
        }
        if !self.budget.enter() {
            self.in_progress.remove(&key);
            return;
        }
        let before = self.out.len();
        self.check_schema(writer, reader, path);
        self.budget.leave();
        self.in_progress.remove(&key);
        if self.budget.exceeded.is_none() {
            self.done.insert(key, self.out[before..].to_vec());
        }
    }

    fn accepts_anything(&mut self, reader: &'a Value, path: &str) -> bool {
        let before = self.out.len();
        self.check(&ANY, reader, path);
        let ok = self.out.len() == before;
        self.out.truncate(before);
        ok
    }

    fn check_schema(&mut self, writer: &'a Value, reader: &'a Value, path: &str) {
        if writer == &Value::Bool(false) || reader == &Value::Bool(true) {
            return;
        }
        if reader == &Value::Bool(false) {
            let (old, new) = self.labels.old_new("a schema", "`false`").to_owned_pair();
            let detail = format!("{} accepts no value here", self.labels.reader);
            self.report(path, format!("changed from {old} to {new}"), detail);
            return;
        }
        let writer_types = type_set(writer);
        self.check_type(writer_types.as_ref(), type_set(reader).as_ref(), path);
        self.check_values(writer, reader, path);
        self.check_bounds(writer, reader, writer_types.as_ref(), path);
        if may_be(writer_types.as_ref(), "object") {
            self.check_object(writer, reader, path);
        }
        if may_be(writer_types.as_ref(), "array") {
            self.check_items(writer, reader, path);
        }
        self.check_opaque(writer, reader, path);
    }

    fn check_type(
        &mut self,
        writer: Option<&BTreeSet<&str>>,
        reader: Option<&BTreeSet<&str>>,
        path: &str,
    ) {
        let Some(reader_types) = reader else {
            return;
        };
        let lost: Vec<&str> = match writer {
            None => vec!["value of any type"],
            Some(writer_types) => writer_types
                .iter()
                .copied()
                .filter(|t| {
                    !(reader_types.contains(t)
                        || (*t == "integer" && reader_types.contains("number")))
                })
                .collect(),
        };
        if lost.is_empty() {
            return;
        }
        let (old, new) = self
            .labels
            .old_new(&describe_types(writer), &describe_types(reader))
            .to_owned_pair();
        let detail = if lost == ["number"] && reader_types.contains("integer") {
            format!(
                "those events may hold a number with a fraction (such as 1.5) here, which {} does not allow as it expects an integer",
                self.labels.reader
            )
        } else {
            format!(
                "those events may hold {} here, which {} does not allow",
                lost.iter()
                    .map(|t| with_article(t))
                    .collect::<Vec<_>>()
                    .join(" or "),
                self.labels.reader
            )
        };
        self.report(path, format!("type changed from {old} to {new}"), detail);
    }

    fn check_values(&mut self, writer: &'a Value, reader: &'a Value, path: &str) {
        let Some(reader_values) = allowed_values(reader) else {
            return;
        };
        match allowed_values(writer) {
            None => {
                let change = format!("`enum` {}", self.labels.pick("added", "removed"));
                let detail = format!(
                    "those events may hold any value here, and {} accepts only the listed ones",
                    self.labels.reader
                );
                self.report(path, change, detail);
            }
            Some(writer_values) => {
                let missing: Vec<String> = writer_values
                    .iter()
                    .filter(|v| !reader_values.contains(v))
                    .map(|v| format!("`{v}`"))
                    .collect();
                if missing.is_empty() {
                    return;
                }
                let list = missing.join(", ");
                let noun = if missing.len() == 1 {
                    "value"
                } else {
                    "values"
                };
                let change = format!(
                    "enum {noun} {list} {}",
                    self.labels.pick("removed", "added")
                );
                let detail = format!(
                    "those events may hold {list}, which {} does not list",
                    self.labels.reader
                );
                self.report(path, change, detail);
            }
        }
    }

    fn check_bounds(
        &mut self,
        writer: &'a Value,
        reader: &'a Value,
        writer_types: Option<&BTreeSet<&str>>,
        path: &str,
    ) {
        for (key, upper, kind, beyond) in BOUNDS {
            if !may_be(writer_types, kind) {
                continue;
            }
            let Some(reader_value) = keyword(reader, key) else {
                continue;
            };
            let Some(reader_bound) = reader_value.as_f64() else {
                // A draft-4 boolean `exclusiveMaximum`: compared for equality.
                if keyword(writer, key) != Some(reader_value) {
                    self.report_opaque(key, keyword(writer, key).is_none(), path);
                }
                continue;
            };
            let writer_value = keyword(writer, key);
            let broken = match writer_value.and_then(Value::as_f64) {
                None => true,
                Some(writer_bound) if upper => reader_bound < writer_bound,
                Some(writer_bound) => reader_bound > writer_bound,
            };
            if !broken {
                continue;
            }
            let reader_text = reader_value.to_string();
            let change = match writer_value {
                Some(writer_value) => {
                    let writer_text = writer_value.to_string();
                    let (old, new) = self
                        .labels
                        .old_new(&writer_text, &reader_text)
                        .to_owned_pair();
                    let lowered = if self.labels.reader_is_new {
                        upper
                    } else {
                        !upper
                    };
                    let verb = if lowered { "lowered" } else { "raised" };
                    format!("`{key}` {verb} from {old} to {new}")
                }
                None if self.labels.reader_is_new => format!("`{key}` {reader_text} added"),
                None => format!("`{key}` {reader_text} removed"),
            };
            let detail = format!(
                "those events may hold {}, which {} does not allow",
                beyond.replace("{}", &reader_text),
                self.labels.reader
            );
            self.report(path, change, detail);
        }
    }

    fn check_object(&mut self, writer: &'a Value, reader: &'a Value, path: &str) {
        let property_path = |name: &str| format!("{path}/properties/{}", pointer_escape(name));
        let required = |schema: &'a Value| -> BTreeSet<&'a str> {
            keyword(schema, "required")
                .and_then(Value::as_array)
                .map(|names| names.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default()
        };
        let writer_required = required(writer);
        for name in required(reader).difference(&writer_required) {
            let change = format!(
                "property `{name}` {}",
                self.labels
                    .pick("added to `required`", "removed from `required`")
            );
            let detail = format!(
                "those events may omit `{name}`, which {} requires",
                self.labels.reader
            );
            self.report(&property_path(name), change, detail);
        }

        let properties =
            |schema: &'a Value| keyword(schema, "properties").and_then(Value::as_object);
        let writer_props = properties(writer);
        let reader_props = properties(reader);
        let writer_additional = keyword(writer, "additionalProperties");
        let reader_additional = keyword(reader, "additionalProperties");
        let closed = |additional: Option<&Value>| additional == Some(&Value::Bool(false));

        for (name, writer_prop) in writer_props.into_iter().flatten() {
            let prop_path = property_path(name);
            match reader_props.and_then(|props| props.get(name)) {
                Some(reader_prop) => self.check(writer_prop, reader_prop, &prop_path),
                None if closed(reader_additional) => {
                    let change =
                        format!("property `{name}` {}", self.labels.pick("removed", "added"));
                    let detail = format!(
                        "those events may carry `{name}`, but {} does not allow additional properties",
                        self.labels.reader
                    );
                    self.report(&prop_path, change, detail);
                }
                None => {
                    if let Some(additional) = reader_additional.filter(|a| a.is_object()) {
                        self.check(writer_prop, additional, &prop_path);
                    }
                }
            }
        }

        for (name, reader_prop) in reader_props.into_iter().flatten() {
            if writer_props.is_some_and(|props| props.contains_key(name))
                || closed(writer_additional)
            {
                continue;
            }
            let prop_path = property_path(name);
            match writer_additional.filter(|a| a.is_object()) {
                Some(additional) => self.check(additional, reader_prop, &prop_path),
                None => {
                    if self.accepts_anything(reader_prop, &prop_path) {
                        continue;
                    }
                    let change = format!(
                        "property `{name}` {}",
                        self.labels.pick(
                            "added to a schema that allows additional properties",
                            "removed while additional properties stay allowed"
                        )
                    );
                    let detail = format!(
                        "{} allows additional properties, so those events may already carry `{name}` with any value, which {} checks against its own definition of `{name}`",
                        self.labels.writer, self.labels.reader
                    );
                    self.report(&prop_path, change, detail);
                }
            }
        }

        match reader_additional {
            Some(Value::Bool(false)) if !closed(writer_additional) => {
                let change = format!(
                    "`additionalProperties` {}",
                    self.labels.pick("set to false", "no longer false")
                );
                let detail = format!(
                    "those events may carry properties that {} does not declare, and it rejects them",
                    self.labels.reader
                );
                self.report(path, change, detail);
            }
            Some(additional @ Value::Object(_)) if !closed(writer_additional) => {
                let writer_side = writer_additional.filter(|a| a.is_object()).unwrap_or(&ANY);
                self.check(
                    writer_side,
                    additional,
                    &format!("{path}/additionalProperties"),
                );
            }
            _ => {}
        }
    }

    fn check_items(&mut self, writer: &'a Value, reader: &'a Value, path: &str) {
        let Some(reader_items) = keyword(reader, "items").filter(|items| !items.is_array()) else {
            return;
        };
        match keyword(writer, "items") {
            Some(writer_items) if !writer_items.is_array() => {
                self.check(writer_items, reader_items, &format!("{path}/items"));
            }
            Some(_) => self.report_opaque("items", false, path),
            None => self.check(&ANY, reader_items, &format!("{path}/items")),
        }
    }

    fn check_opaque(&mut self, writer: &'a Value, reader: &'a Value, path: &str) {
        for key in OPAQUE_KEYWORDS {
            let Some(reader_value) = keyword(reader, key) else {
                continue;
            };
            let writer_value = keyword(writer, key);
            if writer_value != Some(reader_value) {
                self.report_opaque(key, writer_value.is_none(), path);
            }
        }
        if let Some(reader_items @ Value::Array(_)) = keyword(reader, "items")
            && keyword(writer, "items") != Some(reader_items)
        {
            self.report_opaque("items", keyword(writer, "items").is_none(), path);
        }
    }

    fn report_opaque(&mut self, key: &str, missing_on_writer: bool, path: &str) {
        let verb = if !missing_on_writer {
            "changed"
        } else {
            self.labels.pick("added", "removed")
        };
        let detail = format!(
            "a change to `{key}` cannot be checked automatically, so it cannot be proven that {} still accepts them",
            self.labels.reader
        );
        self.report(path, format!("`{key}` {verb}"), detail);
    }
}

/// Checks a JSON Schema document: known `type` names first, then the
/// meta-schema of its draft.
fn json_schema_validate(value: &Value) -> Result<(), ParseError> {
    if !value.is_object() && !value.is_boolean() {
        return Err(ParseError::new(
            "a JSON Schema must be a JSON object (or `true` / `false`)",
        ));
    }
    let mut problems = Vec::new();
    find_bad_types(value, "", &mut problems);
    if problems.is_empty() {
        match jsonschema::meta::validator_for(value) {
            Ok(validator) => {
                for error in validator.iter_errors(value).take(3) {
                    problems.push(format!(
                        "`{}`: {error}",
                        display_path(error.instance_path().as_str())
                    ));
                }
            }
            Err(_) => {
                let declared =
                    keyword(value, "$schema").map_or_else(String::new, |s| format!(" {s}"));
                problems.push(format!(
                    "`$schema`:{declared} is not a JSON Schema draft the portal knows (use draft-04, draft-06, draft-07, 2019-09 or 2020-12, or leave `$schema` out)"
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        problems.truncate(3);
        Err(ParseError::new(problems.join("; ")))
    }
}

/// Collects `type` values that are not JSON Schema types, with their JSON
/// pointer, through the usual places subschemas live.
fn find_bad_types(schema: &Value, path: &str, problems: &mut Vec<String>) {
    let Some(map) = schema.as_object() else {
        return;
    };
    let type_path = format!("{path}/type");
    match map.get("type") {
        Some(Value::String(t)) if !JSON_TYPES.contains(&t.as_str()) => {
            problems.push(bad_type_message(&type_path, t));
        }
        Some(Value::Array(types)) => {
            for (index, t) in types.iter().enumerate() {
                if let Some(t) = t.as_str().filter(|t| !JSON_TYPES.contains(t)) {
                    problems.push(bad_type_message(&format!("{type_path}/{index}"), t));
                }
            }
        }
        _ => {}
    }
    for (key, sub) in map {
        let sub_path = format!("{path}/{}", pointer_escape(key));
        match key.as_str() {
            "properties" | "patternProperties" | "$defs" | "definitions" | "dependentSchemas" => {
                for (name, inner) in sub.as_object().into_iter().flatten() {
                    find_bad_types(
                        inner,
                        &format!("{sub_path}/{}", pointer_escape(name)),
                        problems,
                    );
                }
            }
            "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
                for (index, inner) in sub.as_array().into_iter().flatten().enumerate() {
                    find_bad_types(inner, &format!("{sub_path}/{index}"), problems);
                }
            }
            "items"
            | "additionalProperties"
            | "additionalItems"
            | "not"
            | "if"
            | "then"
            | "else"
            | "contains"
            | "propertyNames" => match sub {
                Value::Array(items) => {
                    for (index, inner) in items.iter().enumerate() {
                        find_bad_types(inner, &format!("{sub_path}/{index}"), problems);
                    }
                }
                inner => find_bad_types(inner, &sub_path, problems),
            },
            _ => {}
        }
    }
}

fn bad_type_message(pointer: &str, name: &str) -> String {
    format!(
        "`{pointer}`: `{name}` is not a JSON Schema type (expected one of {})",
        JSON_TYPES.join(", ")
    )
}

// ---------------------------------------------------------------------------
// Text helpers

/// "line 3, column 14: expected `,` or `}`" from a JSON syntax error.
fn json_syntax_error(error: &serde_json::Error) -> ParseError {
    let full = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full);
    ParseError::new(format!(
        "line {}, column {}: {message}",
        error.line(),
        error.column()
    ))
}

/// Compact JSON with object keys sorted at every level.
fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (index, (key, inner)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(inner, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (index, inner) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_canonical(inner, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Re-indents JSON text token by token, keeping key order and the exact
/// spelling of every value.
fn reindent_json(text: &str) -> String {
    if serde_json::from_str::<serde::de::IgnoredAny>(text).is_err() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let mut chars = text.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                out.push('"');
                let mut escaped = false;
                for s in chars.by_ref() {
                    out.push(s);
                    if escaped {
                        escaped = false;
                    } else if s == '\\' {
                        escaped = true;
                    } else if s == '"' {
                        break;
                    }
                }
            }
            '{' | '[' => {
                let close = if c == '{' { '}' } else { ']' };
                while chars.peek().is_some_and(|n| n.is_whitespace()) {
                    chars.next();
                }
                if chars.peek() == Some(&close) {
                    chars.next();
                    out.push(c);
                    out.push(close);
                } else {
                    out.push(c);
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            w if w.is_whitespace() => {}
            other => out.push(other),
        }
    }
    out
}

/// Schemas built to make a naive checker do exponential or unbounded work: what the bounds
/// above are tested and measured with.
pub mod hostile {
    /// A JSON Schema whose property `p` refers to `d0`, each `d<i>` referring to `d<i+1>`
    /// through `fanout` properties, `d<levels>` a string: `fanout^levels` paths through
    /// `levels + 1` definitions.
    pub fn ref_chain(levels: usize, fanout: usize) -> String {
        let mut defs = Vec::new();
        for i in 0..levels {
            let props: Vec<String> = (0..fanout)
                .map(|k| format!(r##""f{k}":{{"$ref":"#/$defs/d{}"}}"##, i + 1))
                .collect();
            defs.push(format!(
                r#""d{i}":{{"type":"object","properties":{{{}}}}}"#,
                props.join(",")
            ));
        }
        defs.push(format!(r#""d{levels}":{{"type":"string"}}"#));
        format!(
            r##"{{"type":"object","properties":{{"p":{{"$ref":"#/$defs/d0"}}}},"$defs":{{{}}}}}"##,
            defs.join(",")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apache_avro::schema_compatibility::SchemaCompatibility;

    /// One row of a compatibility table: old and new schema, whether the
    /// change is backward and forward compatible, and optionally a path and
    /// words that some reason must contain.
    struct Row {
        name: &'static str,
        old: String,
        new: String,
        backward: bool,
        forward: bool,
        reason: Option<(&'static str, &'static str)>,
    }

    fn row(
        name: &'static str,
        old: impl Into<String>,
        new: impl Into<String>,
        backward: bool,
        forward: bool,
        reason: Option<(&'static str, &'static str)>,
    ) -> Row {
        Row {
            name,
            old: old.into(),
            new: new.into(),
            backward,
            forward,
            reason,
        }
    }

    fn avro(text: &str) -> ParsedSchema {
        parse(SchemaFormat::Avro, text).expect("test Avro schema parses")
    }

    fn json(text: &str) -> ParsedSchema {
        parse(SchemaFormat::Json, text).expect("test JSON Schema parses")
    }

    /// An Avro record `Order` with the given field list.
    fn order(fields: &str) -> String {
        format!(r#"{{"type":"record","name":"Order","namespace":"shop","fields":[{fields}]}}"#)
    }

    fn run_table(format: SchemaFormat, rows: &[Row]) {
        for row in rows {
            let old = parse(format, &row.old)
                .unwrap_or_else(|e| panic!("{}: old schema does not parse: {e}", row.name));
            let new = parse(format, &row.new)
                .unwrap_or_else(|e| panic!("{}: new schema does not parse: {e}", row.name));
            let history = vec![(1, old)];
            let expected = [
                (Compatibility::Backward, row.backward),
                (Compatibility::Forward, row.forward),
                (Compatibility::Full, row.backward && row.forward),
                (Compatibility::None, true),
                (Compatibility::BackwardTransitive, row.backward),
                (Compatibility::ForwardTransitive, row.forward),
                (Compatibility::FullTransitive, row.backward && row.forward),
            ];
            for (mode, compatible) in expected {
                let reasons = check(mode, &new, &history);
                assert_eq!(
                    reasons.is_empty(),
                    compatible,
                    "{}: {mode} expected {}, got {reasons:#?}",
                    row.name,
                    if compatible {
                        "compatible"
                    } else {
                        "incompatible"
                    },
                );
                for reason in &reasons {
                    assert!(
                        reason.why.contains("version 1"),
                        "{}: reason does not name the version: {reason:?}",
                        row.name
                    );
                    assert!(!reason.path.is_empty() && !reason.change.is_empty());
                }
            }
            if let Some((path, words)) = row.reason {
                let reasons = check(Compatibility::Full, &new, &history);
                assert!(
                    reasons
                        .iter()
                        .any(|r| r.path == path && r.change.contains(words)),
                    "{}: no reason at `{path}` containing `{words}` in {reasons:#?}",
                    row.name
                );
            }
        }
    }

    fn avro_rows() -> Vec<Row> {
        let id = r#"{"name":"id","type":"long"}"#;
        vec![
            row(
                "field added with default",
                order(id),
                order(&format!(
                    r#"{id},{{"name":"note","type":"string","default":""}}"#
                )),
                true,
                true,
                None,
            ),
            row(
                "field added without default",
                order(id),
                order(&format!(r#"{id},{{"name":"note","type":"string"}}"#)),
                false,
                true,
                Some(("note", "field `note` added without a default")),
            ),
            row(
                "field removed that had a default",
                order(&format!(
                    r#"{id},{{"name":"note","type":"string","default":""}}"#
                )),
                order(id),
                true,
                true,
                None,
            ),
            row(
                "field removed that had no default",
                order(&format!(r#"{id},{{"name":"note","type":"string"}}"#)),
                order(id),
                true,
                false,
                Some(("note", "field `note` removed")),
            ),
            row(
                "int widened to long",
                order(r#"{"name":"amount","type":"int"}"#),
                order(r#"{"name":"amount","type":"long"}"#),
                true,
                false,
                Some(("amount", "type changed from int to long")),
            ),
            row(
                "long narrowed to int",
                order(r#"{"name":"amount","type":"long"}"#),
                order(r#"{"name":"amount","type":"int"}"#),
                false,
                true,
                Some(("amount", "type changed from long to int")),
            ),
            row(
                "float widened to double",
                order(r#"{"name":"price","type":"float"}"#),
                order(r#"{"name":"price","type":"double"}"#),
                true,
                false,
                None,
            ),
            row(
                "string to bytes",
                order(r#"{"name":"payload","type":"string"}"#),
                order(r#"{"name":"payload","type":"bytes"}"#),
                true,
                true,
                None,
            ),
            row(
                "string to int",
                order(r#"{"name":"code","type":"string"}"#),
                order(r#"{"name":"code","type":"int"}"#),
                false,
                false,
                Some(("code", "type changed from string to int")),
            ),
            row(
                "enum symbol added",
                order(
                    r#"{"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID"]}}"#,
                ),
                order(
                    r#"{"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID","SHIPPED"]}}"#,
                ),
                true,
                false,
                Some(("status", "enum symbol `SHIPPED` added")),
            ),
            row(
                "enum symbol removed",
                order(
                    r#"{"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID","SHIPPED"]}}"#,
                ),
                order(
                    r#"{"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID"]}}"#,
                ),
                false,
                true,
                Some(("status", "enum symbol `SHIPPED` removed")),
            ),
            row(
                "enum symbol removed, reader enum has a default",
                order(
                    r#"{"name":"status","type":{"type":"enum","name":"Status","symbols":["UNKNOWN","NEW","PAID","SHIPPED"],"default":"UNKNOWN"}}"#,
                ),
                order(
                    r#"{"name":"status","type":{"type":"enum","name":"Status","symbols":["UNKNOWN","NEW","PAID"],"default":"UNKNOWN"}}"#,
                ),
                true,
                true,
                None,
            ),
            row(
                "union branch added",
                order(r#"{"name":"ref","type":["null","string"]}"#),
                order(r#"{"name":"ref","type":["null","string","long"]}"#),
                true,
                false,
                Some(("ref", "union branch long added")),
            ),
            row(
                "union branch removed",
                order(r#"{"name":"ref","type":["null","string","long"]}"#),
                order(r#"{"name":"ref","type":["null","string"]}"#),
                false,
                true,
                Some(("ref", "union branch long removed")),
            ),
            row(
                "optional field added as [null, T] with default null",
                order(id),
                order(&format!(
                    r#"{id},{{"name":"coupon","type":["null","string"],"default":null}}"#
                )),
                true,
                true,
                None,
            ),
            row(
                "field made nullable",
                order(r#"{"name":"email","type":"string"}"#),
                order(r#"{"name":"email","type":["null","string"]}"#),
                true,
                false,
                Some(("email", "type changed from string to union [null, string]")),
            ),
            row(
                "nested record field type changed",
                order(
                    r#"{"name":"customer","type":{"type":"record","name":"Customer","fields":[
                        {"name":"address","type":{"type":"record","name":"Address","fields":[
                            {"name":"city","type":"string"}]}}]}}"#,
                ),
                order(
                    r#"{"name":"customer","type":{"type":"record","name":"Customer","fields":[
                        {"name":"address","type":{"type":"record","name":"Address","fields":[
                            {"name":"city","type":"int"}]}}]}}"#,
                ),
                false,
                false,
                Some(("customer.address.city", "type changed from string to int")),
            ),
            row(
                "array item type widened",
                order(r#"{"name":"quantities","type":{"type":"array","items":"int"}}"#),
                order(r#"{"name":"quantities","type":{"type":"array","items":"long"}}"#),
                true,
                false,
                Some(("quantities[]", "type changed from int to long")),
            ),
            row(
                "map value type narrowed",
                order(r#"{"name":"totals","type":{"type":"map","values":"double"}}"#),
                order(r#"{"name":"totals","type":{"type":"map","values":"float"}}"#),
                false,
                true,
                Some(("totals{}", "type changed from double to float")),
            ),
            row(
                "fixed size changed",
                order(r#"{"name":"hash","type":{"type":"fixed","name":"Hash","size":16}}"#),
                order(r#"{"name":"hash","type":{"type":"fixed","name":"Hash","size":32}}"#),
                false,
                false,
                Some(("hash", "size changed from 16 to 32 bytes")),
            ),
            row(
                "nested record renamed without alias",
                order(
                    r#"{"name":"customer","type":{"type":"record","name":"Customer","fields":[]}}"#,
                ),
                order(
                    r#"{"name":"customer","type":{"type":"record","name":"Client","fields":[]}}"#,
                ),
                false,
                false,
                Some(("customer", "record renamed from `Customer` to `Client`")),
            ),
            row(
                "field renamed with an alias",
                order(r#"{"name":"name","type":"string"}"#),
                order(r#"{"name":"full_name","type":"string","aliases":["name"]}"#),
                true,
                false,
                Some(("name", "field `name` removed")),
            ),
            row(
                "recursive type: item widened",
                r#"{"type":"record","name":"Node","fields":[{"name":"value","type":"int"},{"name":"next","type":["null","Node"],"default":null}]}"#,
                r#"{"type":"record","name":"Node","fields":[{"name":"value","type":"long"},{"name":"next","type":["null","Node"],"default":null}]}"#,
                true,
                false,
                Some(("value", "type changed from int to long")),
            ),
            row(
                "documentation only",
                order(r#"{"name":"id","type":"long"}"#),
                order(r#"{"name":"id","type":"long","doc":"The order number"}"#),
                true,
                true,
                None,
            ),
        ]
    }

    #[test]
    fn avro_compatibility_table() {
        run_table(SchemaFormat::Avro, &avro_rows());
    }

    /// The verdicts agree with the Avro library's own resolution checker
    /// (which answers "partial" when only some enum symbols are known to the
    /// reader; that counts as not compatible).
    #[test]
    fn avro_table_agrees_with_library() {
        use apache_avro::schema_compatibility::Compatibility as Library;
        let can_read = |writer: &AvroSchema, reader: &AvroSchema| {
            matches!(
                SchemaCompatibility::can_read(writer, reader),
                Ok(Library::Full)
            )
        };
        let mut disagreements = Vec::new();
        for row in avro_rows() {
            let old = AvroSchema::parse_str(&row.old).expect("old parses");
            let new = AvroSchema::parse_str(&row.new).expect("new parses");
            let library = (can_read(&old, &new), can_read(&new, &old));
            if library != (row.backward, row.forward) {
                disagreements.push(format!("{}: library says {library:?}", row.name));
            }
        }
        assert!(disagreements.is_empty(), "{disagreements:#?}");
    }

    #[test]
    fn avro_reasons_explain_who_breaks() {
        let old = avro(&order(r#"{"name":"amount","type":"long"}"#));
        let new = avro(&order(r#"{"name":"amount","type":"int"}"#));
        let reasons = check(Compatibility::Backward, &new, &[(3, old)]);
        assert_eq!(
            reasons,
            vec![Incompatibility {
                path: "amount".to_owned(),
                change: "type changed from long to int".to_owned(),
                why: "consumers using the new schema cannot read events written with version 3: an int cannot hold every long".to_owned(),
            }]
        );
    }

    #[test]
    fn avro_forward_reason_names_old_consumers() {
        let old = avro(&order(
            r#"{"name":"id","type":"long"},{"name":"note","type":"string"}"#,
        ));
        let new = avro(&order(r#"{"name":"id","type":"long"}"#));
        let reasons = check(Compatibility::Forward, &new, &[(7, old)]);
        assert_eq!(reasons.len(), 1, "{reasons:#?}");
        let reason = &reasons[0];
        assert_eq!(reason.path, "note");
        assert!(reason.why.starts_with(
            "consumers using version 7 cannot read events written with the new schema"
        ));
        assert!(reason.why.contains("`note`"));
    }

    fn json_rows() -> Vec<Row> {
        let obj = |props: &str, extra: &str| {
            format!(r#"{{"type":"object","properties":{{{props}}}{extra}}}"#)
        };
        let closed = r#","additionalProperties":false"#;
        let id = r#""id":{"type":"string"}"#;
        vec![
            row(
                "optional property added to a closed schema",
                obj(id, closed),
                obj(&format!(r#"{id},"nickname":{{"type":"string"}}"#), closed),
                true,
                false,
                Some(("/properties/nickname", "property `nickname` added")),
            ),
            row(
                "optional property added to an open schema",
                obj(id, ""),
                obj(&format!(r#"{id},"nickname":{{"type":"string"}}"#), ""),
                false,
                true,
                Some((
                    "/properties/nickname",
                    "added to a schema that allows additional properties",
                )),
            ),
            row(
                "property added without constraints to an open schema",
                obj(id, ""),
                obj(&format!(r#"{id},"extra":{{"description":"anything"}}"#), ""),
                true,
                true,
                None,
            ),
            row(
                "required property added",
                obj(id, closed),
                obj(
                    &format!(r#"{id},"age":{{"type":"integer"}}"#),
                    &format!(r#"{closed},"required":["age"]"#),
                ),
                false,
                false,
                Some(("/properties/age", "property `age` added to `required`")),
            ),
            row(
                "property removed, new schema closed",
                obj(&format!(r#"{id},"age":{{"type":"integer"}}"#), closed),
                obj(id, closed),
                false,
                true,
                Some(("/properties/age", "property `age` removed")),
            ),
            row(
                "property removed, new schema open",
                obj(&format!(r#"{id},"age":{{"type":"integer"}}"#), ""),
                obj(id, r#","additionalProperties":true"#),
                true,
                false,
                Some((
                    "/properties/age",
                    "removed while additional properties stay allowed",
                )),
            ),
            row(
                "type widened integer to number",
                obj(r#""age":{"type":"integer"}"#, ""),
                obj(r#""age":{"type":"number"}"#, ""),
                true,
                false,
                Some(("/properties/age", "type changed from `integer` to `number`")),
            ),
            row(
                "type narrowed number to integer",
                obj(r#""age":{"type":"number"}"#, ""),
                obj(r#""age":{"type":"integer"}"#, ""),
                false,
                true,
                Some(("/properties/age", "type changed from `number` to `integer`")),
            ),
            row(
                "null added to type",
                obj(r#""email":{"type":"string"}"#, ""),
                obj(r#""email":{"type":["string","null"]}"#, ""),
                true,
                false,
                None,
            ),
            row(
                "required added to an existing property",
                obj(id, ""),
                obj(id, r#","required":["id"]"#),
                false,
                true,
                Some(("/properties/id", "property `id` added to `required`")),
            ),
            row(
                "required removed",
                obj(id, r#","required":["id"]"#),
                obj(id, ""),
                true,
                false,
                Some(("/properties/id", "property `id` removed from `required`")),
            ),
            row(
                "enum value added",
                obj(r#""status":{"enum":["NEW","PAID"]}"#, ""),
                obj(r#""status":{"enum":["NEW","PAID","SHIPPED"]}"#, ""),
                true,
                false,
                Some(("/properties/status", "enum value `\"SHIPPED\"` added")),
            ),
            row(
                "enum value removed",
                obj(r#""status":{"enum":["NEW","PAID","SHIPPED"]}"#, ""),
                obj(r#""status":{"enum":["NEW","PAID"]}"#, ""),
                false,
                true,
                Some(("/properties/status", "enum value `\"SHIPPED\"` removed")),
            ),
            row(
                "maxLength lowered",
                obj(r#""name":{"type":"string","maxLength":50}"#, ""),
                obj(r#""name":{"type":"string","maxLength":20}"#, ""),
                false,
                true,
                Some(("/properties/name", "`maxLength` lowered from 50 to 20")),
            ),
            row(
                "maxLength raised",
                obj(r#""name":{"type":"string","maxLength":20}"#, ""),
                obj(r#""name":{"type":"string","maxLength":50}"#, ""),
                true,
                false,
                Some(("/properties/name", "`maxLength` raised from 20 to 50")),
            ),
            row(
                "minimum raised",
                obj(r#""qty":{"type":"integer","minimum":0}"#, ""),
                obj(r#""qty":{"type":"integer","minimum":1}"#, ""),
                false,
                true,
                Some(("/properties/qty", "`minimum` raised from 0 to 1")),
            ),
            row(
                "additionalProperties turned to false",
                obj(id, ""),
                obj(id, closed),
                false,
                true,
                Some(("(root)", "`additionalProperties` set to false")),
            ),
            row(
                "nested property type changed",
                obj(
                    r#""customer":{"type":"object","properties":{"age":{"type":"integer"}}}"#,
                    "",
                ),
                obj(
                    r#""customer":{"type":"object","properties":{"age":{"type":"string"}}}"#,
                    "",
                ),
                false,
                false,
                Some((
                    "/properties/customer/properties/age",
                    "type changed from `integer` to `string`",
                )),
            ),
            row(
                "array items narrowed",
                obj(r#""scores":{"type":"array","items":{"type":"number"}}"#, ""),
                obj(
                    r#""scores":{"type":"array","items":{"type":"integer"}}"#,
                    "",
                ),
                false,
                true,
                Some((
                    "/properties/scores/items",
                    "type changed from `number` to `integer`",
                )),
            ),
            row(
                "oneOf changed cannot be judged",
                obj(
                    r#""v":{"oneOf":[{"type":"string"},{"type":"integer"}]}"#,
                    "",
                ),
                obj(
                    r#""v":{"oneOf":[{"type":"string"},{"type":"boolean"}]}"#,
                    "",
                ),
                false,
                false,
                Some(("/properties/v", "`oneOf` changed")),
            ),
            row(
                "local $ref followed",
                r##"{"type":"object","$defs":{"Address":{"type":"object","properties":{"zip":{"type":"string"}}}},"properties":{"home":{"$ref":"#/$defs/Address"}}}"##,
                r##"{"type":"object","$defs":{"Address":{"type":"object","properties":{"zip":{"type":"integer"}}}},"properties":{"home":{"$ref":"#/$defs/Address"}}}"##,
                false,
                false,
                Some((
                    "/properties/home/properties/zip",
                    "type changed from `string` to `integer`",
                )),
            ),
            row(
                "description only",
                obj(r#""id":{"type":"string","description":"old"}"#, ""),
                obj(
                    r#""id":{"type":"string","description":"new","title":"Id"}"#,
                    "",
                ),
                true,
                true,
                None,
            ),
        ]
    }

    #[test]
    fn json_compatibility_table() {
        run_table(SchemaFormat::Json, &json_rows());
    }

    #[test]
    fn json_reason_explains_who_breaks() {
        let old = json(r#"{"type":"object","properties":{"age":{"type":"number"}}}"#);
        let new = json(r#"{"type":"object","properties":{"age":{"type":"integer"}}}"#);
        let reasons = check(Compatibility::Backward, &new, &[(2, old)]);
        assert_eq!(reasons.len(), 1, "{reasons:#?}");
        assert_eq!(reasons[0].path, "/properties/age");
        assert!(reasons[0].why.starts_with(
            "consumers validating with the new schema would reject events written with version 2"
        ));
        assert!(reasons[0].why.contains("1.5"));
    }

    const OPEN_MODEL: &str = r#"{"type":"object","properties":{"id":{"type":"string"}}}"#;

    #[test]
    fn shared_definitions_cost_once_not_once_per_path() {
        // 2^40 paths through 41 definitions, against an open model (every new property is
        // compared with "anything").
        let new = json(&hostile::ref_chain(40, 2));
        for mode in [Compatibility::Backward, Compatibility::Full] {
            let started = Instant::now();
            let found = check_within(
                mode,
                &new,
                &[(1, json(OPEN_MODEL))],
                Instant::now() + CHECK_TIME,
            )
            .expect("answered");
            assert!(
                started.elapsed() < Duration::from_millis(200),
                "{:?}",
                started.elapsed()
            );
            assert!(
                found.iter().any(|f| f.path == "/properties/p"),
                "{found:#?}"
            );
        }
        // The same shape in Avro: each record type used twice by the one above it.
        let mut avro =
            r#"{"type":"record","name":"R30","fields":[{"name":"v","type":"string"}]}"#.to_owned();
        for i in (0..30).rev() {
            avro = format!(
                r#"{{"type":"record","name":"R{i}","fields":[{{"name":"a","type":{avro}}},{{"name":"b","type":"R{}"}}]}}"#,
                i + 1
            );
        }
        let started = Instant::now();
        let found = check_within(
            Compatibility::FullTransitive,
            &self::avro(&avro),
            &[(1, self::avro(&avro))],
            Instant::now() + CHECK_TIME,
        )
        .expect("answered");
        assert!(found.is_empty(), "{found:#?}");
        assert!(
            started.elapsed() < Duration::from_millis(200),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_linear_chain_of_ten_thousand_refs_is_refused_not_overflowed() {
        let new = json(&hostile::ref_chain(10_000, 1));
        let old = json(OPEN_MODEL);
        let answer = check_within(
            Compatibility::Backward,
            &new,
            &[(1, old.clone())],
            Instant::now() + CHECK_TIME,
        );
        assert_eq!(answer, Err(TooComplex::TooDeep));
        let reasons = check(Compatibility::Backward, &new, &[(1, old)]);
        assert!(
            reasons[0].why.contains("nests more than 64 levels"),
            "{reasons:#?}"
        );
    }

    #[test]
    fn a_check_gives_up_at_its_deadline() {
        let properties: Vec<String> = (0..500)
            .map(|i| format!(r#""p{i}":{{"type":"string"}}"#))
            .collect();
        let wide = json(&format!(
            r#"{{"type":"object","properties":{{{}}}}}"#,
            properties.join(",")
        ));
        let past = Instant::now() - Duration::from_millis(1);
        let answer = check_within(
            Compatibility::Backward,
            &wide,
            &[(1, json(OPEN_MODEL))],
            past,
        );
        assert_eq!(answer, Err(TooComplex::TooSlow));
        assert!(
            check_within(
                Compatibility::Backward,
                &wide,
                &[(1, json(OPEN_MODEL))],
                Instant::now() + CHECK_TIME
            )
            .is_ok()
        );
    }

    #[test]
    fn recursive_json_ref_terminates() {
        let text = r##"{"$defs":{"Node":{"type":"object","properties":{"value":{"type":"integer"},"next":{"$ref":"#/$defs/Node"}}}},"$ref":"#/$defs/Node"}"##;
        let widened = text.replace(r#"{"type":"integer"}"#, r#"{"type":"number"}"#);
        let old = json(text);
        let new = json(&widened);
        assert!(check(Compatibility::Backward, &new, &[(1, old.clone())]).is_empty());
        let forward = check(Compatibility::Forward, &new, &[(1, old)]);
        assert!(
            forward.iter().any(|r| r.path == "/properties/value"),
            "{forward:#?}"
        );
    }

    #[test]
    fn transitive_modes_check_every_version() {
        let id = r#"{"name":"id","type":"long"}"#;
        // Only version 1 lacks `note`; version 2 supplies it.
        let backward_history = vec![
            (1, avro(&order(id))),
            (
                2,
                avro(&order(&format!(
                    r#"{id},{{"name":"note","type":"string","default":"x"}}"#
                ))),
            ),
        ];
        let new = avro(&order(&format!(
            r#"{id},{{"name":"note","type":"string"}}"#
        )));
        assert!(check(Compatibility::Backward, &new, &backward_history).is_empty());
        assert!(check(Compatibility::Forward, &new, &backward_history).is_empty());
        assert!(check(Compatibility::Full, &new, &backward_history).is_empty());
        assert!(check(Compatibility::ForwardTransitive, &new, &backward_history).is_empty());
        for mode in [
            Compatibility::BackwardTransitive,
            Compatibility::FullTransitive,
        ] {
            let reasons = check(mode, &new, &backward_history);
            assert_eq!(reasons.len(), 1, "{mode}: {reasons:#?}");
            assert_eq!(reasons[0].path, "note");
            assert!(reasons[0].why.contains("version 1"), "{reasons:#?}");
        }

        // Only version 1 has no default for `note`.
        let forward_history = vec![
            (
                1,
                avro(&order(&format!(
                    r#"{id},{{"name":"note","type":"string"}}"#
                ))),
            ),
            (
                2,
                avro(&order(&format!(
                    r#"{id},{{"name":"note","type":"string","default":"x"}}"#
                ))),
            ),
        ];
        let new = avro(&order(id));
        assert!(check(Compatibility::Forward, &new, &forward_history).is_empty());
        assert!(check(Compatibility::BackwardTransitive, &new, &forward_history).is_empty());
        for mode in [
            Compatibility::ForwardTransitive,
            Compatibility::FullTransitive,
        ] {
            let reasons = check(mode, &new, &forward_history);
            assert_eq!(reasons.len(), 1, "{mode}: {reasons:#?}");
            assert!(reasons[0].why.contains("version 1"), "{reasons:#?}");
        }

        // JSON Schema: only version 1 allowed null.
        let json_history = vec![
            (1, json(r#"{"type":["string","null"]}"#)),
            (2, json(r#"{"type":"string"}"#)),
        ];
        let new = json(r#"{"type":"string"}"#);
        assert!(check(Compatibility::Backward, &new, &json_history).is_empty());
        assert!(check(Compatibility::ForwardTransitive, &new, &json_history).is_empty());
        let reasons = check(Compatibility::BackwardTransitive, &new, &json_history);
        assert_eq!(reasons.len(), 1, "{reasons:#?}");
        assert_eq!(reasons[0].path, "(root)");
        assert!(reasons[0].why.contains("version 1"));
        assert!(!check(Compatibility::FullTransitive, &new, &json_history).is_empty());
    }

    #[test]
    fn none_and_empty_history_always_pass() {
        let old = avro(r#""long""#);
        let new = avro(r#""string""#);
        assert!(check(Compatibility::None, &new, &[(1, old.clone())]).is_empty());
        assert!(!check(Compatibility::Backward, &new, &[(1, old)]).is_empty());
        for mode in Compatibility::ALL {
            assert!(check(mode, &new, &[]).is_empty());
        }
    }

    #[test]
    fn different_formats_are_incompatible() {
        let old = avro(r#""string""#);
        let new = json(r#"{"type":"string"}"#);
        let reasons = check(Compatibility::Full, &new, &[(4, old)]);
        assert_eq!(reasons.len(), 2, "{reasons:#?}");
        assert_eq!(
            reasons[0].change,
            "schema type changed from Avro to JSON Schema"
        );
        assert!(reasons[0].why.contains("version 4"));
    }

    #[test]
    fn avro_unknown_type_names_the_field() {
        let error = parse(
            SchemaFormat::Avro,
            r#"{"type":"record","name":"Payment","fields":[
                {"name":"id","type":"long"},
                {"name":"amount","type":"decmial"}]}"#,
        )
        .expect_err("unknown type is rejected");
        assert_eq!(error.message, "field `amount`: unknown type `decmial`");

        let nested = parse(
            SchemaFormat::Avro,
            r#"{"type":"record","name":"Payment","fields":[
                {"name":"lines","type":{"type":"array","items":{"type":"record","name":"Line","fields":[
                    {"name":"sku","type":["null","strng"]}]}}}]}"#,
        )
        .expect_err("unknown nested type is rejected");
        assert_eq!(nested.message, "field `lines[].sku`: unknown type `strng`");
    }

    #[test]
    fn avro_other_errors_are_reported() {
        let error = parse(SchemaFormat::Avro, r#"{"type":"record","name":"R"}"#)
            .expect_err("record without fields is rejected");
        assert!(error.message.contains("fields"), "{error}");
        let error = parse(
            SchemaFormat::Avro,
            r#"{"type":"enum","name":"E","symbols":["A","A"]}"#,
        )
        .expect_err("duplicate symbols are rejected");
        assert!(!error.message.is_empty());
    }

    #[test]
    fn json_syntax_error_names_line_and_column() {
        let text = "{\n  \"type\": \"object\",\n  \"properties\": {\"a\": {} \"b\": {}}\n}";
        let error = parse(SchemaFormat::Json, text).expect_err("syntax error");
        assert_eq!(error.message, "line 3, column 26: expected `,` or `}`");
        let error =
            parse(SchemaFormat::Avro, "{\"type\": \"record\",,}").expect_err("syntax error");
        assert!(error.message.starts_with("line 1, column 19:"), "{error}");
    }

    #[test]
    fn json_schema_problems_are_named_by_pointer() {
        let error = parse(
            SchemaFormat::Json,
            r#"{"type":"object","properties":{"age":{"type":"integr"}}}"#,
        )
        .expect_err("bad type name");
        assert!(
            error
                .message
                .starts_with("`/properties/age/type`: `integr` is not a JSON Schema type"),
            "{error}"
        );

        let error = parse(
            SchemaFormat::Json,
            r#"{"type":"object","properties":{"name":{"type":"string","minLength":"3"}}}"#,
        )
        .expect_err("bad keyword value");
        assert!(
            error.message.starts_with("`/properties/name/minLength`: "),
            "{error}"
        );

        let error = parse(SchemaFormat::Json, r#"{"required":"id"}"#).expect_err("bad required");
        assert!(error.message.starts_with("`/required`: "), "{error}");

        let error = parse(SchemaFormat::Json, "[1, 2]").expect_err("not a schema");
        assert!(error.message.contains("JSON object"), "{error}");
    }

    #[test]
    fn json_schema_with_unknown_meta_schema_is_rejected_without_panicking() {
        let result = parse(
            SchemaFormat::Json,
            r#"{"$schema":"https://example.com/my-meta","type":"string"}"#,
        );
        let error = result.expect_err("custom meta-schema is not available");
        assert!(error.message.starts_with("`$schema`"), "{error}");
    }

    #[test]
    fn older_drafts_are_accepted() {
        let draft7 = json(
            r#"{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","definitions":{}}"#,
        );
        assert_eq!(draft7.format(), SchemaFormat::Json);
        json(
            r#"{"$schema":"http://json-schema.org/draft-04/schema#","maximum":5,"exclusiveMaximum":true}"#,
        );
    }

    #[test]
    fn canonical_text_ignores_layout_and_key_order() {
        let a = json("{\"type\": \"object\",\n \"required\": [\"a\"]}");
        let b = json(r#"{"required":["a"],"type":"object"}"#);
        assert_eq!(a.canonical(), b.canonical());
        assert_eq!(a.canonical(), r#"{"required":["a"],"type":"object"}"#);
        let c = avro(r#"{ "type" : "string" }"#);
        assert_eq!(c.canonical(), r#"{"type":"string"}"#);
    }

    #[test]
    fn pretty_keeps_key_order_and_values() {
        let text = r#"{"type":"record","name":"A","fields":[{"name":"x","type":["null","string"],"default":null}],"doc":"a \"quoted\" {text}","aliases":[]}"#;
        let expected = r#"{
  "type": "record",
  "name": "A",
  "fields": [
    {
      "name": "x",
      "type": [
        "null",
        "string"
      ],
      "default": null
    }
  ],
  "doc": "a \"quoted\" {text}",
  "aliases": []
}"#;
        assert_eq!(pretty(SchemaFormat::Avro, text), expected);
        assert_eq!(pretty(SchemaFormat::Json, expected), expected);
        assert_eq!(pretty(SchemaFormat::Json, "{not json"), "{not json");
        assert_eq!(pretty(SchemaFormat::Avro, r#""long""#), r#""long""#);
    }
}
