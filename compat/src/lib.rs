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
//!
//! # Crate layout
//!
//! [`Compatibility`] and [`SchemaFormat`] are always here: the browser's pages name them too.
//! The engine (`parse`, `check`, their bounds) comes with the default `check` feature; `sqlx`
//! maps [`SchemaFormat`] to the `schema_format` Postgres enum.

mod format;
pub use format::{Compatibility, SchemaFormat};

#[cfg(feature = "check")]
mod engine;
#[cfg(feature = "check")]
pub use engine::*;
