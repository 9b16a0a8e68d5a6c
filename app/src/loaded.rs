//! Resources whose data the server renders into the page for hydration.
//!
//! Every page's data reaches the browser two ways: inside the page, for hydration (a resource's
//! codec), and from a server function on later loads (the server function's JSON). Leptos's
//! default resource codec reads JSON from a `&str` while server functions read it from bytes, so
//! the browser bundle carried each data type's JSON reader twice, once per input kind, about a
//! quarter of a page's code. [`JsonBytes`] reads the hydration data as bytes too, so one reader
//! per type serves both. The format is unchanged: JSON either way.

use leptos::prelude::*;
use leptos::server::codee::{Decoder, Encoder};
use serde::{Deserialize, Serialize};
use std::future::Future;

/// JSON, written as a string and read as bytes (see the module's documentation).
pub struct JsonBytes;

impl<T: Serialize> Encoder<T> for JsonBytes {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(value: &T) -> Result<String, serde_json::Error> {
        serde_json::to_string(value)
    }
}

impl<T> Decoder<T> for JsonBytes
where
    for<'de> T: Deserialize<'de>,
{
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(encoded: &str) -> Result<T, serde_json::Error> {
        serde_json::from_slice(encoded.as_bytes())
    }
}

/// A page's data: loaded by a server function, rendered on the server and hydrated in the browser.
pub type Loaded<T> = Resource<T, JsonBytes>;

/// Data carrying markup drawn on the server (a chart's SVG), which the page already holds when it
/// hydrates: Leptos keeps the server's `inner_html` then and never reads the hydration copy.
/// Data refetched later (a chart's next tick) comes from the server function, markup included.
pub trait ServerDrawn: Clone {
    /// Empties every piece of server-drawn markup.
    fn without_markup(&mut self);
}

impl<T: ServerDrawn, E: Clone> ServerDrawn for Result<T, E> {
    fn without_markup(&mut self) {
        if let Ok(value) = self {
            value.without_markup();
        }
    }
}

/// [`JsonBytes`], leaving server-drawn markup out of the hydration data (see [`ServerDrawn`]).
pub struct DrawnJsonBytes;

impl<T: ServerDrawn + Serialize> Encoder<T> for DrawnJsonBytes {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(value: &T) -> Result<String, serde_json::Error> {
        let mut value = value.clone();
        value.without_markup();
        serde_json::to_string(&value)
    }
}

impl<T> Decoder<T> for DrawnJsonBytes
where
    for<'de> T: Deserialize<'de>,
{
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(encoded: &str) -> Result<T, serde_json::Error> {
        <JsonBytes as Decoder<T>>::decode(encoded)
    }
}

/// [`load`] for data with server-drawn markup (see [`ServerDrawn`]).
#[track_caller]
pub fn load_drawn<T, S, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Resource<T, DrawnJsonBytes>
where
    T: ServerDrawn + Serialize + for<'de> Deserialize<'de> + Send + Sync + 'static,
    S: Send + Sync + Clone + PartialEq + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, false)
}

/// Loads `fetcher(source())`, again whenever `source` changes (`Resource::new` with [`JsonBytes`]).
#[track_caller]
pub fn load<T, S, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Loaded<T>
where
    T: Serialize + for<'de> Deserialize<'de> + Send + Sync + 'static,
    S: Send + Sync + Clone + PartialEq + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, false)
}

/// [`load`], holding back the whole response until the data is there (`Resource::new_blocking`).
#[track_caller]
pub fn load_blocking<T, S, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Loaded<T>
where
    T: Serialize + for<'de> Deserialize<'de> + Send + Sync + 'static,
    S: Send + Sync + Clone + PartialEq + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Row {
        name: String,
        count: u32,
    }

    #[test]
    fn data_round_trips_as_the_json_a_server_function_sends() {
        let row = Row {
            name: "orders.placed \"v2\"".into(),
            count: 3,
        };
        let encoded = <JsonBytes as Encoder<Row>>::encode(&row).expect("encodes");
        assert_eq!(encoded, serde_json::to_string(&row).expect("plain JSON"));
        let decoded: Row = <JsonBytes as Decoder<Row>>::decode(&encoded).expect("decodes");
        assert_eq!(decoded, row);
        assert!(<JsonBytes as Decoder<Row>>::decode("{\"name\":1}").is_err());
    }

    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct Drawn {
        svg: String,
        title: String,
    }

    impl ServerDrawn for Drawn {
        fn without_markup(&mut self) {
            self.svg.clear();
        }
    }

    #[test]
    fn hydration_data_leaves_the_markup_out_and_keeps_the_rest() {
        let drawn: Result<Drawn, String> = Ok(Drawn {
            svg: "<svg><circle/></svg>".into(),
            title: "Messages per second".into(),
        });
        let encoded = <DrawnJsonBytes as Encoder<_>>::encode(&drawn).expect("encodes");
        assert!(!encoded.contains("circle"), "{encoded}");
        let decoded: Result<Drawn, String> =
            <DrawnJsonBytes as Decoder<_>>::decode(&encoded).expect("decodes");
        assert_eq!(
            decoded,
            Ok(Drawn {
                svg: String::new(),
                title: "Messages per second".into()
            })
        );
        let failed: Result<Drawn, String> = Err("not found".into());
        assert_eq!(
            <DrawnJsonBytes as Encoder<_>>::encode(&failed).expect("encodes"),
            r#"{"Err":"not found"}"#
        );
    }
}
