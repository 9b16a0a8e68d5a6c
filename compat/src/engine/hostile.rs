//! Schemas built to make a naive checker do exponential or unbounded work: what the bounds are
//! tested and measured with.

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
