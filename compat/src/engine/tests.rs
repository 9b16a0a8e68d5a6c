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
            order(r#"{"name":"customer","type":{"type":"record","name":"Customer","fields":[]}}"#),
            order(r#"{"name":"customer","type":{"type":"record","name":"Client","fields":[]}}"#),
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
    assert!(
        reason.why.starts_with(
            "consumers using version 7 cannot read events written with the new schema"
        )
    );
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
    let error = parse(SchemaFormat::Avro, "{\"type\": \"record\",,}").expect_err("syntax error");
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

/// Avro schemas with defaults, and whether Avro Java 1.11 (and so the portal) accepts them.
fn avro_default_cases() -> Vec<(&'static str, String, bool)> {
    let record = |fields: &str| order(fields);
    vec![
        (
            "union default of its first type (null)",
            record(r#"{"name":"note","type":["null","string"],"default":null}"#),
            true,
        ),
        (
            "union default of its first type (string)",
            record(r#"{"name":"note","type":["string","null"],"default":""}"#),
            true,
        ),
        (
            "union default null with null second",
            record(r#"{"name":"note","type":["string","null"],"default":null}"#),
            false,
        ),
        (
            "union default 0 with null first",
            record(r#"{"name":"count","type":["null","long"],"default":0}"#),
            false,
        ),
        (
            "union default matching no branch",
            record(r#"{"name":"count","type":["null","long"],"default":"many"}"#),
            false,
        ),
        (
            "long default of a string",
            record(r#"{"name":"count","type":"long","default":"abc"}"#),
            false,
        ),
        (
            "int default out of the int range",
            record(r#"{"name":"count","type":"int","default":4294967296}"#),
            false,
        ),
        (
            "long default of an integer",
            record(r#"{"name":"count","type":"long","default":4294967296}"#),
            true,
        ),
        (
            "double default of an integer",
            record(r#"{"name":"ratio","type":"double","default":1}"#),
            true,
        ),
        (
            "boolean default of a string",
            record(r#"{"name":"paid","type":"boolean","default":"false"}"#),
            false,
        ),
        (
            "enum default of a symbol",
            record(
                r#"{"name":"status","type":{"type":"enum","name":"Status","symbols":["OPEN","PAID"]},"default":"OPEN"}"#,
            ),
            true,
        ),
        (
            "array default of the item type",
            record(r#"{"name":"tags","type":{"type":"array","items":"string"},"default":["a"]}"#),
            true,
        ),
        (
            "array default with a wrong item",
            record(r#"{"name":"tags","type":{"type":"array","items":"string"},"default":[1]}"#),
            false,
        ),
        (
            "map default of the value type",
            record(r#"{"name":"counts","type":{"type":"map","values":"long"},"default":{"a":1}}"#),
            true,
        ),
        (
            "nested record default with every field",
            record(
                r#"{"name":"address","type":{"type":"record","name":"Address","fields":[{"name":"city","type":"string"}]},"default":{"city":"Bern"}}"#,
            ),
            true,
        ),
        (
            "nested record default missing a field without default",
            record(
                r#"{"name":"address","type":{"type":"record","name":"Address","fields":[{"name":"city","type":"string"}]},"default":{}}"#,
            ),
            false,
        ),
        (
            "nested record default missing a field that has one",
            record(
                r#"{"name":"address","type":{"type":"record","name":"Address","fields":[{"name":"city","type":"string","default":"Bern"}]},"default":{}}"#,
            ),
            true,
        ),
        (
            "bad union default inside a nested record",
            record(
                r#"{"name":"address","type":{"type":"record","name":"Address","fields":[{"name":"zip","type":["string","null"],"default":null}]}}"#,
            ),
            false,
        ),
        (
            "logical timestamp default of an integer",
            record(
                r#"{"name":"at","type":{"type":"long","logicalType":"timestamp-millis"},"default":0}"#,
            ),
            true,
        ),
        (
            "named type referenced by a later field, with a default",
            record(
                r#"{"name":"status","type":{"type":"enum","name":"Status","symbols":["OPEN","PAID"]},"default":"OPEN"},{"name":"previous","type":["null","Status"],"default":null}"#,
            ),
            true,
        ),
        (
            "named type referenced in a union second, default of it",
            record(
                r#"{"name":"status","type":{"type":"enum","name":"Status","symbols":["OPEN","PAID"]},"default":"OPEN"},{"name":"previous","type":["null","Status"],"default":"OPEN"}"#,
            ),
            false,
        ),
    ]
}

#[test]
fn avro_defaults_are_checked_as_avro_1_11_does() {
    let mut wrong = Vec::new();
    for (name, text, accepted) in avro_default_cases() {
        let verdict = parse(SchemaFormat::Avro, &text);
        if verdict.is_ok() != accepted {
            wrong.push(format!("{name}: {verdict:?}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn a_union_default_of_another_branch_says_which_to_list_first() {
    let error = parse(
        SchemaFormat::Avro,
        &order(r#"{"name":"note","type":["string","null"],"default":null}"#),
    )
    .expect_err("refused");
    assert_eq!(
        error.message,
        "field `note`: the default null is a \"null\", but a union's default must be of its \
         first type, here \"string\" (Avro 1.11 and the serializers built on it refuse this \
         schema): list \"null\" first in the union"
    );
    let error = parse(
        SchemaFormat::Avro,
        &order(r#"{"name":"count","type":"long","default":"abc"}"#),
    )
    .expect_err("refused");
    // A default of the wrong type outside a union is refused by the Avro library already.
    assert!(
        error.message.contains("field `count`") && error.message.contains("\"long\""),
        "{error}"
    );
}

/// Every Avro schema text these tests use, with the portal's verdict, written as JSON lines to
/// the file `EBP_AVRO_CORPUS` names (`dev/test` then has Apache Avro Java 1.11 parse each one
/// and compare; `dev/avro-java/`). Without the variable it only checks the corpus is not empty.
#[test]
fn avro_corpus_for_the_java_check() {
    let mut texts: Vec<(String, String)> = Vec::new();
    for row in avro_rows() {
        texts.push((format!("{} (old)", row.name), row.old));
        texts.push((format!("{} (new)", row.name), row.new));
    }
    for (name, text, _) in avro_default_cases() {
        texts.push((name.to_owned(), text));
    }
    texts.push((
        "unknown type".to_owned(),
        r#"{"type":"record","name":"Payment","fields":[{"name":"id","type":"long"},{"name":"amount","type":"decmial"}]}"#.to_owned(),
    ));
    texts.push((
        "record without fields".to_owned(),
        r#"{"type":"record","name":"R"}"#.to_owned(),
    ));
    texts.push((
        "duplicate enum symbols".to_owned(),
        r#"{"type":"enum","name":"E","symbols":["A","A"]}"#.to_owned(),
    ));
    let lines: Vec<String> = texts
        .iter()
        .map(|(name, text)| {
            let verdict = parse(SchemaFormat::Avro, text);
            serde_json::json!({
                "name": name,
                "schema": text,
                "accepted": verdict.is_ok(),
                "message": verdict.err().map(|e| e.message),
            })
            .to_string()
        })
        .collect();
    assert!(lines.len() > 60, "{} schemas", lines.len());
    if let Ok(path) = std::env::var("EBP_AVRO_CORPUS") {
        std::fs::write(&path, lines.join("\n") + "\n").expect("corpus written");
    }
}
