//! Pages that follow the server live: a counter that goes up on every event of a server event
//! stream (SSE), for a page's resources to depend on and fetch again. In the browser it listens
//! with an `EventSource` (which reconnects by itself); on the server and before hydration it
//! stays at zero.

use leptos::prelude::*;

/// Counts `event`s on the stream at `url` (none while `url` gives `None`), and each time the
/// stream (re)connects. The stream is opened again when the URL changes and closed when the page
/// goes.
pub fn use_event_count(
    url: impl Fn() -> Option<String> + Send + Sync + 'static,
    event: &'static str,
) -> ReadSignal<u64> {
    let (count, set_count) = signal(0_u64);
    Effect::new(move |_| {
        let url = url();
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            use wasm_bindgen::closure::Closure;
            let Some(url) = url else { return };
            if let Ok(source) = web_sys::EventSource::new(&url) {
                let on_event = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
                    move |_: web_sys::MessageEvent| set_count.update(|n| *n += 1),
                );
                // Opening (and opening again after a lost connection) counts too: whatever
                // changed while no stream was open is fetched then.
                for name in [event, "open"] {
                    let _ = source
                        .add_event_listener_with_callback(name, on_event.as_ref().unchecked_ref());
                }
                // The listener lives as long as the source; the source is closed on cleanup.
                on_event.forget();
                let source = StoredValue::new_local(source);
                on_cleanup(move || {
                    let _ = source.try_with_value(|s| s.close());
                });
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (url, event, set_count);
    });
    count
}
