//! JSON Schema: which documents each version accepts.

use super::*;

pub(crate) const JSON_TYPES: [&str; 7] = [
    "string", "number", "integer", "boolean", "object", "array", "null",
];

/// Constraint keywords whose effect is not analysed: any addition or change
/// on the reading side is reported as not provably compatible.
pub(crate) const OPAQUE_KEYWORDS: [&str; 26] = [
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
pub(crate) const ANNOTATIONS: [&str; 14] = [
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
pub(crate) const BOUNDS: [(&str, bool, &str, &str); 10] = [
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
pub(crate) static ANY: Value = Value::Bool(true);

pub(crate) fn keyword<'v>(schema: &'v Value, key: &str) -> Option<&'v Value> {
    schema.as_object().and_then(|map| map.get(key))
}

pub(crate) fn pointer_escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

pub(crate) fn type_set(schema: &Value) -> Option<BTreeSet<&str>> {
    match keyword(schema, "type")? {
        Value::String(t) => Some(BTreeSet::from([t.as_str()])),
        Value::Array(types) => Some(types.iter().filter_map(Value::as_str).collect()),
        _ => None,
    }
}

pub(crate) fn describe_types(types: Option<&BTreeSet<&str>>) -> String {
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

pub(crate) fn may_be(types: Option<&BTreeSet<&str>>, kind: &str) -> bool {
    types
        .is_none_or(|types| types.contains(kind) || (kind == "number" && types.contains("integer")))
}

pub(crate) fn allowed_values(schema: &Value) -> Option<Vec<&Value>> {
    if let Some(constant) = keyword(schema, "const") {
        return Some(vec![constant]);
    }
    keyword(schema, "enum")
        .and_then(Value::as_array)
        .map(|values| values.iter().collect())
}

pub(crate) struct JsonChecker<'a, 'l> {
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

impl<'a, 'l> JsonChecker<'a, 'l> {
    pub(crate) fn new(
        writer: &'a Value,
        reader: &'a Value,
        labels: &'l Labels,
        budget: &'l mut Budget,
    ) -> Self {
        JsonChecker {
            writer_root: writer,
            reader_root: reader,
            labels,
            in_progress: HashSet::new(),
            done: HashMap::new(),
            budget,
            out: Vec::new(),
        }
    }

    /// What breaks when documents valid under the writer are read as valid under the reader.
    pub(crate) fn findings(mut self) -> Vec<Incompatibility> {
        self.check(self.writer_root, self.reader_root, "");
        self.out
    }
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
                let missing = writer_values.iter().filter(|v| !reader_values.contains(v));
                let Some((noun, list)) = listed(missing, "value", "values") else {
                    return;
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
pub(crate) fn json_schema_validate(value: &Value) -> Result<(), ParseError> {
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
pub(crate) fn find_bad_types(schema: &Value, path: &str, problems: &mut Vec<String>) {
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

pub(crate) fn bad_type_message(pointer: &str, name: &str) -> String {
    format!(
        "`{pointer}`: `{name}` is not a JSON Schema type (expected one of {})",
        JSON_TYPES.join(", ")
    )
}
