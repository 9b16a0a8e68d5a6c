//! Avro: schema resolution as the Avro specification defines it.

use super::*;

/// The shape of an Avro schema once logical types are reduced to the type
/// that carries them.
pub(crate) enum Base<'a> {
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

pub(crate) fn avro_base(schema: &AvroSchema) -> Base<'_> {
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
pub(crate) fn avro_describe(schema: &AvroSchema) -> String {
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

pub(crate) fn with_article(text: &str) -> String {
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

pub(crate) fn collect_avro_names<'a>(
    schema: &'a AvroSchema,
    names: &mut HashMap<String, &'a AvroSchema>,
) {
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

pub(crate) fn names_match(writer: &Name, reader: &Name, reader_aliases: &Aliases) -> bool {
    writer.name() == reader.name()
        || reader_aliases
            .iter()
            .flatten()
            .any(|alias| alias.name() == writer.name())
}

pub(crate) fn join_field(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

pub(crate) struct AvroChecker<'a, 'l> {
    writer: &'a AvroSchema,
    reader: &'a AvroSchema,
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
    pub(crate) fn new(
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
            writer,
            reader,
            writer_names,
            reader_names,
            in_progress: HashSet::new(),
            done: HashMap::new(),
            budget,
            labels,
            out: Vec::new(),
        }
    }

    /// What breaks when the reader reads what the writer wrote.
    pub(crate) fn findings(mut self) -> Vec<Incompatibility> {
        self.check(self.writer, self.reader, "");
        self.out
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
        let missing = writer
            .symbols
            .iter()
            .filter(|symbol| !reader.symbols.contains(symbol));
        let Some((noun, list)) = listed(missing, "symbol", "symbols") else {
            return;
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

pub(crate) trait OwnedPair {
    fn to_owned_pair(self) -> (String, String);
}

impl OwnedPair for (&str, &str) {
    fn to_owned_pair(self) -> (String, String) {
        (self.0.to_owned(), self.1.to_owned())
    }
}

/// Whether two Avro types are the same kind of container or the same named
/// type, so their differences are worth describing in detail.
pub(crate) fn same_shape(a: &AvroSchema, b: &AvroSchema) -> bool {
    match (avro_base(a), avro_base(b)) {
        (Base::Array(_), Base::Array(_)) | (Base::Map(_), Base::Map(_)) => true,
        (Base::Record(x), Base::Record(y)) => names_match(&x.name, &y.name, &y.aliases),
        (Base::Enum(x), Base::Enum(y)) => names_match(&x.name, &y.name, &y.aliases),
        (Base::Fixed(x), Base::Fixed(y)) => names_match(&x.name, &y.name, &y.aliases),
        _ => false,
    }
}

pub(crate) const AVRO_PRIMITIVES: [&str; 8] = [
    "null", "boolean", "int", "long", "float", "double", "bytes", "string",
];

/// Finds the first problem in an Avro schema document that the Avro library
/// rejected, and describes it with the field it concerns.
pub(crate) fn avro_diagnose(value: &Value) -> Option<String> {
    let mut defined = HashSet::new();
    collect_defined_names(value, None, &mut defined);
    avro_diagnose_type(value, "", &defined)
}

pub(crate) fn collect_defined_names(
    value: &Value,
    namespace: Option<&str>,
    defined: &mut HashSet<String>,
) {
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

pub(crate) fn avro_diagnose_type(
    value: &Value,
    path: &str,
    defined: &HashSet<String>,
) -> Option<String> {
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
