//! Splits the browser bundle into its main module and the lazily loaded chunks of the
//! `#[lazy_route]` pages, as cargo-leptos does with `--split`:
//!
//!     portal-wasm-split <frontend.wasm> <site pkg dir> <bundle name> <main module out>
//!
//! Writes the chunks, the loader Leptos imports (`__wasm_split.<underscores>.js`) and
//! `__wasm_split_manifest.json` (what each page preloads) into the pkg directory, and the main
//! module (still to go through wasm-bindgen) to `<main module out>`. Prints each chunk's path.

use std::path::Path;

/// The loader's name in the pkg directory; Leptos's `HydrationScripts` refers to it by this name.
const LINK_NAME: &str = "./__wasm_split.______________________.js";

fn main() -> eyre::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, pkg, bundle, main_out] = args.as_slice() else {
        eyre::bail!("usage: portal-wasm-split <frontend.wasm> <pkg dir> <bundle name> <main module out>");
    };
    let wasm = std::fs::read(input)?;
    let pkg = Path::new(pkg);
    let main_module = format!("./{bundle}.js");
    let mut options = wasm_split_cli_support::Options::new(&wasm);
    options.output_dir = pkg;
    options.main_out_path = Path::new(main_out);
    options.main_module = &main_module;
    options.link_name = LINK_NAME;
    let split = wasm_split_cli_support::transform(options)?;
    std::fs::write(
        pkg.join("__wasm_split_manifest.json"),
        serde_json::to_string_pretty(&split.prefetch_map)?,
    )?;
    for chunk in split.split_modules {
        println!("{}", chunk.display());
    }
    Ok(())
}
