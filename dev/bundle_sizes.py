"""Prints what a browser loads first, gzipped: the main module (with its JavaScript and CSS),
then, per page, the main module plus what the split manifest lists for that page (its pack of
chunks, see dev/pack_chunks.py).

    python3 dev/bundle_sizes.py <site pkg dir>
"""
import gzip
import json
import os
import re
import sys

pkg = sys.argv[1]


def gzipped(name):
    with open(os.path.join(pkg, name), "rb") as f:
        return len(gzip.compress(f.read(), 9))


main_files = ["portal_bg.wasm", "portal.js", "portal.css"]
main_files += [f for f in os.listdir(pkg) if f.startswith("__wasm_split") and f.endswith(".js")]
main = sum(gzipped(f) for f in main_files)
print(f"  {'main module':<24} {main:>9,} bytes")
with open(os.path.join(pkg, "__wasm_split_manifest.json")) as f:
    manifest = json.load(f)
pages = []
for split, chunks in manifest.items():
    page = re.sub(r"^__(.*)_view_\d+$", r"\1", split)
    pages.append((main + sum(gzipped(c + ".wasm") for c in chunks), page, len(chunks)))
for total, page, count in sorted(pages):
    print(f"  {page:<24} {total:>9,} bytes  ({count} file{'s' if count > 1 else ''})")
