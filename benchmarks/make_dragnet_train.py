"""Build the Dragnet *training* split (966 pages) as JSON Lines, for tuning the HTML block rules.

The shared data holds Dragnet's test split (``../shared/data/dragnet_test.jsonl.gz``,
415 pages), and ``benchmarks/bench_html.py`` splits it into a dev and a test
half. 207 pages a half are few: a rule can look like a gain of two points on
one half by noise alone. The training split is 2.3 times larger than the test
split and no rule of ``simdup/text/html.py`` was written while looking at it
before it was built, so it serves as a larger development set (``bench_html.py
--dragnet-train PATH``), and both halves of the test split become test sets.

Source: a copy of ``j-szulc/html-cleaning-dataset-merged`` (commit
``46e01a04b47051838a228bf23631430b2c9de375``, the mirror the shared test split
was built from; see ``../shared/data/SOURCES.md``), as a git directory or a
work tree. The pages are every ``dragnet_data/input/<id>.html`` whose id is
not in the shared test split, decoded as that split was (UTF-8 if valid, BOM
dropped, else the page's declared charset), with the gold text before the
comments marker.

Dragnet's data is AGPLv3: the output must stay outside the project (this
script refuses a path inside it); keep it beside the shared data or in a
scratch folder.

    python benchmarks/make_dragnet_train.py MIRROR ../devdata/dragnet_train.jsonl.gz
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

from simdup.text.charset import decode_html

import shared_data  # benchmarks/shared_data.py: the shared corpora's folder (SIMDUP_SHARED_DATA)

PROJECT = Path(__file__).resolve().parents[1]
TEST_SPLIT = shared_data.path("dragnet_test.jsonl.gz")
COMMENTS_MARKER = re.compile(r"!@#\$%\^&\*\(\)\s+COMMENTS")


def reader(source: Path):  # type: ignore[no-untyped-def]
    """(list of paths under dragnet_data/input, function path -> bytes) for a git dir or a work tree."""
    if (source / "dragnet_data").is_dir():
        files = sorted(str(p.relative_to(source)) for p in (source / "dragnet_data" / "input").glob("*.html"))
        return files, lambda path: (source / path).read_bytes() if (source / path).exists() else b""
    git = ["git", "--git-dir", str(source)]
    listing = subprocess.run([*git, "ls-tree", "-r", "--name-only", "HEAD", "dragnet_data/input"],
                             capture_output=True, text=True, check=True).stdout.split()
    return listing, lambda path: subprocess.run([*git, "show", f"HEAD:{path}"], capture_output=True).stdout


def decode_gold(raw: bytes) -> str:
    if raw[:2] == b"\xff\xfe":
        return raw[2:].decode("utf-16-le")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("windows-1252", "replace")


def decode_page(raw: bytes) -> str:
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return decode_html(raw).text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mirror", type=Path, help="git directory or work tree of html-cleaning-dataset-merged")
    parser.add_argument("output", type=Path, help="a .jsonl.gz path outside the project")
    args = parser.parse_args(argv)
    if args.output.resolve().is_relative_to(PROJECT):
        print(f"{args.output}: Dragnet's data is AGPLv3, keep it outside the project ({PROJECT})", file=sys.stderr)
        return 2
    with gzip.open(TEST_SPLIT, "rt", encoding="utf-8") as f:
        test_ids = {json.loads(line)["id"] for line in f}
    files, read = reader(args.mirror)
    rows = []
    for path in files:
        page_id = Path(path).stem
        gold = read(f"dragnet_data/GoldStandard/{page_id}.txt")
        if page_id in test_ids or not gold:
            continue
        text = COMMENTS_MARKER.split(decode_gold(gold))[0].strip("\r\n")
        rows.append({"id": page_id, "html": decode_page(read(path)), "text": text})
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(args.output, "wt", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{args.output}: {len(rows)} pages (Dragnet minus the {len(test_ids)} of the shared test split)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
