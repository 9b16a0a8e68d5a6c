"""Packs each page's chunks into one file, so a page's code arrives in one response that is
compressed as a whole, rather than one request per chunk (up to 224 for the request page, each
gzipped alone).

    python3 dev/pack_chunks.py <site pkg dir>

For every page (split) in `__wasm_split_manifest.json`:
  - writes `pack<split>.wasm`: "EBPK", the number of chunks, then per chunk its name and bytes
    (lengths as 32-bit little-endian). It is named `.wasm` because Leptos preloads each file the
    manifest lists as `<name>.wasm`; it is read as bytes, never compiled whole;
  - makes the manifest list only that pack, so the server's HTML preloads the one file.
The loader (`__wasm_split.*.js`) is rewritten so that loading a page first opens its pack, and each
chunk is instantiated from the pack's bytes; a chunk no open pack holds is fetched on its own (the
single chunk files stay beside the packs). A page opened later fetches its own pack; chunks
already instantiated are not instantiated again.
"""
import json
import os
import re
import struct
import sys

pkg = sys.argv[1]
manifest_path = os.path.join(pkg, "__wasm_split_manifest.json")
with open(manifest_path) as f:
    manifest = json.load(f)
loaders = [n for n in os.listdir(pkg) if n.startswith("__wasm_split") and n.endswith(".js")]
if len(loaders) != 1:
    sys.exit(f"pack_chunks: expected one loader in {pkg}, found {loaders}")
loader_path = os.path.join(pkg, loaders[0])
with open(loader_path) as f:
    loader = f.read()
if "withPack(" in loader:
    sys.exit("pack_chunks: the loader is already rewritten (run after dev/wasm-split only)")

packs = {}
contents = {}
for split, chunks in manifest.items():
    pack = f"pack{split}"
    body = bytearray(b"EBPK")
    body += struct.pack("<I", len(chunks))
    for chunk in chunks:
        with open(os.path.join(pkg, chunk + ".wasm"), "rb") as f:
            data = f.read()
        name = chunk.encode()
        body += struct.pack("<I", len(name)) + name + struct.pack("<I", len(data)) + data
    with open(os.path.join(pkg, pack + ".wasm"), "wb") as f:
        f.write(body)
    packs[split] = pack
    contents[split] = chunks

# Each chunk's fetch goes through the open packs.
fetch = re.compile(r'fetch\(new URL\("\./([^"]+)\.wasm", import\.meta\.url\)\)')
loader, fetches = fetch.subn(lambda m: f'packedChunk("{m.group(1)}")', loader)
# Each page's loader opens the page's pack before its chunks are asked for.
export = re.compile(
    r"export const (__wasm_split_load_(\w+)) = (wrapAsyncCb\(makeLoad\(.*?\]\)\));", re.S
)
loader, exports = export.subn(
    lambda m: f'export const {m.group(1)} = withPack("{m.group(2)}", {m.group(3)});', loader
)
if fetches == 0 or exports != len(manifest):
    sys.exit(f"pack_chunks: the loader's shape is not the expected one "
             f"({fetches} fetches, {exports} page loaders for {len(manifest)} pages)")

runtime = """
const packFiles = %s;
const packContents = %s;
// Chunk name -> its bytes, from a pack that is open (until the chunk is instantiated).
const packParts = new Map();
const packsOpen = new Set();
function withPack(split, load) {
    return (...args) => {
        openPack(split);
        return load(...args);
    };
}
function openPack(split) {
    const file = packFiles[split];
    if (file === undefined || packsOpen.has(split)) return;
    packsOpen.add(split);
    const parts = fetch(new URL(`./${file}.wasm`, import.meta.url))
        .then((response) => {
            if (!response.ok) throw new Error(`${file}: ${response.status}`);
            return response.arrayBuffer();
        })
        .then(unpack);
    const registered = [];
    for (const name of packContents[split]) {
        if (packParts.has(name)) continue;
        const part = parts.then((all) => all.get(name));
        part.catch(() => {});
        packParts.set(name, part);
        registered.push([name, part]);
    }
    // A failed pack is forgotten, so that the next attempt fetches it again.
    parts.catch(() => {
        packsOpen.delete(split);
        for (const [name, part] of registered) {
            if (packParts.get(name) === part) packParts.delete(name);
        }
    });
}
function unpack(buffer) {
    const view = new DataView(buffer);
    if (view.getUint32(0, false) !== 0x4542504b) throw new Error("not a chunk pack");
    const names = new TextDecoder();
    const all = new Map();
    let at = 4;
    const count = view.getUint32(at, true);
    at += 4;
    for (let i = 0; i < count; i++) {
        const nameLength = view.getUint32(at, true);
        at += 4;
        const name = names.decode(new Uint8Array(buffer, at, nameLength));
        at += nameLength;
        const size = view.getUint32(at, true);
        at += 4;
        all.set(name, new Uint8Array(buffer, at, size));
        at += size;
    }
    return all;
}
function packedChunk(name) {
    const part = packParts.get(name);
    if (part === undefined) return fetch(new URL(`./${name}.wasm`, import.meta.url));
    packParts.delete(name);
    return part.then((bytes) => {
        if (bytes === undefined) throw new Error(`${name} is not in its pack`);
        return new Response(bytes, { headers: { "content-type": "application/wasm" } });
    });
}
""" % (json.dumps(packs), json.dumps(contents))

# After the import of the main module (the loader's first line).
first_line_end = loader.index("\n") + 1
loader = loader[:first_line_end] + runtime + loader[first_line_end:]
with open(loader_path, "w") as f:
    f.write(loader)
with open(manifest_path, "w") as f:
    json.dump({split: [pack] for split, pack in packs.items()}, f, indent=2)
