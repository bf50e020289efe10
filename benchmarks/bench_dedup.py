"""End-to-end batch dedup of the shared corpora: documents/s and time per phase.

Runs ``simdup.dedup`` with its defaults (IDF fitted on the input,
fingerprints, self-join at k=8, verification at 0.8, clusters) on the full
Reuters and Fudan corpora, text already in memory, one thread, and prints the
summary with the time of each phase. Fudan also runs with
``tokenizer="chinese"`` (jieba words; rjieba if installed).

    python benchmarks/bench_dedup.py [--limit N] [-k 8] [--verify 0.8 | --no-verify]
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import sys
from itertools import islice
from pathlib import Path

from simdup import SimHasher, dedup
from simdup.batch import DEFAULT_K, DEFAULT_VERIFY

import shared_data  # benchmarks/shared_data.py: the shared corpora's folder (SIMDUP_SHARED_DATA)

DATA = shared_data.data_dir()


def load(name: str, limit: int | None) -> list[str]:
    with gzip.open(DATA / name, "rt", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in islice(f, limit)]


def run(title: str, docs: list[str], k: int, verify: float | None, **params: object) -> dict:
    SimHasher(**params).fit(["预热"])  # loads a segmenter, if any, outside the timing
    result = dedup(docs, k, hasher=SimHasher(**params), verify=verify)
    s = result.summary
    mb = sum(len(d.encode("utf-8")) for d in docs) / 1e6
    phases = ", ".join(f"{p} {t:.2f} s" for p, t in s["timings"].items())
    print(f"{title}: {s['documents']:,} documents ({mb:.1f} MB) in {s['seconds']:.2f} s = "
          f"{s['documents_per_second']:,.0f} documents/s, {mb / s['seconds']:.1f} MB/s\n"
          f"  {s['duplicates_removed']:,} duplicates removed in {s['clusters']:,} clusters "
          f"(largest {s['largest_cluster']}); {s['token_less_documents']:,} token-less\n  phases: {phases}",
          flush=True)
    return {"corpus": title, **s}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="first N records of each corpus")
    parser.add_argument("-k", type=int, default=DEFAULT_K)
    parser.add_argument("--verify", type=float, default=DEFAULT_VERIFY)
    parser.add_argument("--no-verify", dest="verify", action="store_const", const=None)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if not DATA.exists():
        print(shared_data.absent_reason(), file=sys.stderr)
        return 2
    rows = [run("Reuters-21578", load("reuters21578.jsonl.gz", args.limit), args.k, args.verify)]
    fudan = load("fudan_zh.jsonl.gz", args.limit)
    rows.append(run("Fudan", fudan, args.k, args.verify))
    if importlib.util.find_spec("rjieba"):
        rows.append(run("Fudan, tokenizer='chinese', rjieba", fudan, args.k, args.verify,
                        tokenizer="chinese", segmenter="rjieba"))
    elif importlib.util.find_spec("jieba"):
        rows.append(run("Fudan, tokenizer='chinese', jieba", fudan, args.k, args.verify, tokenizer="chinese"))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
