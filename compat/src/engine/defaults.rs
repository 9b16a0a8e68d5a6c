//! Avro field defaults, checked as Apache Avro Java 1.11 checks them when it parses a schema
//! (`Schema.Parser` validates defaults): a default must be a value of the field's type, and a
//! union's default a value of the union's *first* type. Avro 1.12 relaxed the union rule, but
//! the serializers most clients use are built on 1.11, so a schema the portal approves must
//! satisfy it to parse in every client.

use super::avro::{Base, avro_base};
use super::*;
use apache_avro::schema::{NamesRef, ResolvedSchema};

/// How deep a default is followed through records whose fields take their own defaults.
const MAX_DEFAULT_DEPTH: usize = MAX_DEPTH;

/// The first field (in schema order, depth first) whose default its type does not accept, as a
/// message that says how to fix it.
pub(crate) fn check(schema: &AvroSchema) -> Result<(), String> {
    // Resolution fails only for what parsing has refused already.
    let Ok(resolved) = ResolvedSchema::new(schema) else {
        return Ok(());
    };
    let names = resolved.get_names();
    let mut seen = HashSet::new();
    fields(schema, names, "", &mut seen)
}

fn fields<'a>(
    schema: &'a AvroSchema,
    names: &NamesRef<'a>,
    path: &str,
    seen: &mut HashSet<&'a Name>,
) -> Result<(), String> {
    match schema {
        AvroSchema::Record(record) => {
            if !seen.insert(&record.name) {
                return Ok(());
            }
            for field in &record.fields {
                let at = if path.is_empty() {
                    field.name.clone()
                } else {
                    format!("{path}.{}", field.name)
                };
                if let Some(default) = &field.default
                    && !accepts(&field.schema, default, names, 0)
                {
                    return Err(explain(&at, &field.schema, default, names));
                }
                fields(&field.schema, names, &at, seen)?;
            }
            Ok(())
        }
        AvroSchema::Array(array) => fields(&array.items, names, path, seen),
        AvroSchema::Map(map) => fields(&map.types, names, path, seen),
        AvroSchema::Union(union) => union
            .variants()
            .iter()
            .try_for_each(|variant| fields(variant, names, path, seen)),
        AvroSchema::Ref { name } => match names.get(name) {
            Some(named) => fields(named, names, path, seen),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Whether `value` is a default Avro Java 1.11 accepts for `schema`.
fn accepts(schema: &AvroSchema, value: &Value, names: &NamesRef<'_>, depth: usize) -> bool {
    if depth > MAX_DEFAULT_DEPTH {
        return false;
    }
    match schema {
        AvroSchema::Union(union) => union
            .variants()
            .first()
            .is_some_and(|first| accepts(first, value, names, depth + 1)),
        AvroSchema::Ref { name } => names
            .get(name)
            .is_some_and(|named| accepts(named, value, names, depth + 1)),
        AvroSchema::Record(record) => value.as_object().is_some_and(|given| {
            record.fields.iter().all(|field| {
                match given.get(&field.name).or(field.default.as_ref()) {
                    Some(value) => accepts(&field.schema, value, names, depth + 1),
                    None => false,
                }
            })
        }),
        AvroSchema::Array(array) => value.as_array().is_some_and(|items| {
            items
                .iter()
                .all(|item| accepts(&array.items, item, names, depth + 1))
        }),
        AvroSchema::Map(map) => value.as_object().is_some_and(|entries| {
            entries
                .values()
                .all(|item| accepts(&map.types, item, names, depth + 1))
        }),
        _ => match avro_base(schema) {
            Base::Null => value.is_null(),
            Base::Boolean => value.is_boolean(),
            Base::Int => value.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
            Base::Long => value.is_i64(),
            Base::Float | Base::Double => value.is_number(),
            Base::Bytes | Base::Str | Base::Enum(_) | Base::Fixed(_) => value.is_string(),
            // Handled above; a reference that did not resolve accepts nothing.
            Base::Array(_) | Base::Map(_) | Base::Union | Base::Record(_) | Base::Unresolved => {
                false
            }
        },
    }
}

/// What is wrong with a field's default, and how to fix it.
fn explain(field: &str, schema: &AvroSchema, default: &Value, names: &NamesRef<'_>) -> String {
    let written = default.to_string();
    let AvroSchema::Union(union) = schema else {
        return format!(
            "field `{field}`: the default {written} is not a {} value",
            type_name(schema)
        );
    };
    let variants = union.variants();
    let first = variants.first().map_or("nothing".to_owned(), type_name);
    match variants
        .iter()
        .find(|variant| accepts(variant, default, names, 0))
    {
        Some(fits) => format!(
            "field `{field}`: the default {written} is a {}, but a union's default must be of \
             its first type, here {first} (Avro 1.11 and the serializers built on it refuse \
             this schema): list {} first in the union",
            type_name(fits),
            type_name(fits)
        ),
        None => format!(
            "field `{field}`: the default {written} is not a value of the union's first type, \
             {first} (Avro 1.11 and the serializers built on it refuse this schema)"
        ),
    }
}

/// A type as people write it in a schema: `"null"`, `"long"`, record `shop.Order`.
fn type_name(schema: &AvroSchema) -> String {
    match schema {
        AvroSchema::Record(r) => format!("record `{}`", r.name),
        AvroSchema::Enum(e) => format!("enum `{}`", e.name),
        AvroSchema::Fixed(f) => format!("fixed `{}`", f.name),
        AvroSchema::Ref { name } => format!("`{name}`"),
        AvroSchema::Array(_) => "array".to_owned(),
        AvroSchema::Map(_) => "map".to_owned(),
        AvroSchema::Union(_) => "union".to_owned(),
        other => match avro_base(other) {
            Base::Null => "\"null\"",
            Base::Boolean => "\"boolean\"",
            Base::Int => "\"int\"",
            Base::Long => "\"long\"",
            Base::Float => "\"float\"",
            Base::Double => "\"double\"",
            Base::Bytes => "\"bytes\"",
            Base::Str => "\"string\"",
            _ => "type",
        }
        .to_owned(),
    }
}
