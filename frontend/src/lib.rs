//! The browser bundle: hydrates the HTML the server rendered.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Pages are lazily loaded chunks: hydration waits for the current page's chunk.
    leptos::mount::hydrate_lazy(app::App);
}
