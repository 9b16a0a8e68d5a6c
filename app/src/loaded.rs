//! Resources whose data the server renders into the page for hydration.
//!
//! Every page's data reaches the browser two ways: inside the page, for hydration (a resource's
//! codec), and from a server function on later loads (the server function's JSON). Leptos's
//! default resource codec reads JSON from a `&str` while server functions read it from bytes, so
//! the browser bundle carried each data type's JSON reader twice, once per input kind, about a
//! quarter of a page's code. [`JsonBytes`] reads the hydration data as bytes too, so one reader
//! per type serves both. The format is unchanged: JSON either way.
//!
//! Data may carry [`Markup`] drawn on the server (a chart, a listing's rows): the page shows it
//! with `inner_html`, which hydration leaves as the server wrote it, so the hydration data leaves
//! the markup out; a server function's answer carries it.

use leptos::prelude::*;
use leptos::server::codee::{Decoder, Encoder};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cell::Cell;
use std::future::Future;
use std::sync::Arc;

/// HTML drawn on the server, shown only with `inner_html` (see the module's documentation).
/// Only the server's own rendering makes one (tachys's escaping `to_html`, or a chart drawn with
/// its text escaped); never text a person typed. Cloning it shares the text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Markup(Arc<str>);

impl Markup {
    pub fn new(html: String) -> Self {
        Self(html.into())
    }

    /// The text for `inner_html`.
    pub fn html(&self) -> Arc<str> {
        Arc::clone(&self.0)
    }
}

impl std::ops::Deref for Markup {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

thread_local! {
    /// Set while [`JsonBytes`] writes hydration data: [`Markup`] is written empty then.
    static WRITING_HYDRATION_DATA: Cell<bool> = const { Cell::new(false) };
}

impl Serialize for Markup {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if WRITING_HYDRATION_DATA.get() {
            serializer.serialize_str("")
        } else {
            serializer.serialize_str(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Markup {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

/// Data a page shows only as server-drawn [`Markup`] (a listing's rows): a server function's
/// answer carries it, for scripts and other callers; the hydration data writes it empty
/// (`T::default()`), as the page already shows it, and the browser reads it as empty. Page code
/// never reads it: it reads what the data carries beside it, such as a count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotHydrated<T>(pub T);

impl<T> std::ops::Deref for NotHydrated<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Serialize + Default> Serialize for NotHydrated<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if WRITING_HYDRATION_DATA.get() {
            T::default().serialize(serializer)
        } else {
            self.0.serialize(serializer)
        }
    }
}

/// The server and its callers read the value. The browser passes over it and holds it empty, as
/// in the hydration data: its pages never read it, and the bundle carries no reader for it.
impl<'de, T: Deserialize<'de> + Default> Deserialize<'de> for NotHydrated<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[cfg(feature = "ssr")]
        {
            T::deserialize(deserializer).map(Self)
        }
        #[cfg(not(feature = "ssr"))]
        {
            pass_over(deserializer).map(Self)
        }
    }
}

/// Reads past a value, whatever it holds, and gives `T`'s empty value instead.
#[cfg_attr(feature = "ssr", allow(dead_code))]
fn pass_over<'de, D: Deserializer<'de>, T: Default>(deserializer: D) -> Result<T, D::Error> {
    serde::de::IgnoredAny::deserialize(deserializer)?;
    Ok(T::default())
}

/// JSON, written as a string and read as bytes (see the module's documentation).
pub struct JsonBytes;

impl<T: Serialize> Encoder<T> for JsonBytes {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(value: &T) -> Result<String, serde_json::Error> {
        // Serializing is synchronous: the flag covers exactly this value's writing, and is
        // lowered however the writing ends.
        struct Lowered;
        impl Drop for Lowered {
            fn drop(&mut self) {
                WRITING_HYDRATION_DATA.set(false);
            }
        }
        WRITING_HYDRATION_DATA.set(true);
        let _lowered = Lowered;
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
    struct Chart {
        svg: Markup,
        title: String,
        points: NotHydrated<Vec<u32>>,
    }

    #[test]
    fn hydration_data_leaves_markup_out_and_server_functions_keep_it() {
        let chart: Result<Chart, String> = Ok(Chart {
            svg: Markup::new("<svg><circle/></svg>".into()),
            title: "Messages per second".into(),
            points: NotHydrated(vec![3, 4]),
        });
        let hydration = <JsonBytes as Encoder<_>>::encode(&chart).expect("encodes");
        assert_eq!(
            hydration,
            r#"{"Ok":{"svg":"","title":"Messages per second","points":[]}}"#
        );
        let hydrated: Result<Chart, String> =
            <JsonBytes as Decoder<_>>::decode(&hydration).expect("decodes");
        assert_eq!(hydrated.as_ref().map(|c| c.svg.is_empty()), Ok(true));
        // What a server function sends (plain serde_json) carries it, and reads back whole.
        let sent = serde_json::to_string(&chart).expect("encodes");
        assert!(
            sent.contains("<circle/>") && sent.contains("[3,4]"),
            "{sent}"
        );
        assert_eq!(
            serde_json::from_str::<Result<Chart, String>>(&sent).expect("decodes"),
            chart
        );
    }

    #[test]
    fn the_browser_passes_over_what_it_never_reads_and_reads_what_follows() {
        #[derive(Debug, Deserialize)]
        struct AsTheBrowserReads {
            #[serde(deserialize_with = "pass_over")]
            points: Vec<u32>,
            title: String,
        }
        let read: AsTheBrowserReads =
            serde_json::from_str(r#"{"points":[3,{"nested":[4,"]"]}],"title":"Messages"}"#)
                .expect("decodes");
        assert_eq!(read.points, Vec::<u32>::new());
        assert_eq!(read.title, "Messages");
    }
}
