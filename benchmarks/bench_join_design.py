"""The join of new fingerprints against a reference: its own table design against the self-join's.

``simdup.join.find_duplicates_between`` (what ``dedup --against`` runs for a
large batch) picks its tables with a cost model in which a run of equal keys
costs its new rows times its reference rows; before, it used the self-join's
design, in which a run costs all its pairs. Both find the same pairs; this
times the two on the same fingerprints, in one process, one after the other,
and checks the pairs are identical.

    python benchmarks/bench_join_design.py --corpus /work/scale-data/corpus-en-1000000-s0-r0.3.jsonl --split 0.1
    python benchmarks/bench_join_design.py --new week-1m.jsonl --reference ref10m.idx   # an index's fingerprints
    python benchmarks/bench_join_design.py --tiny                                     # smoke run: shared Reuters

Fingerprints: the embedded model's (``SimHasher.default()``), or for an
index reference the ones stored in it. With ``--split F`` the first F of the
corpus's records are the new ones, the rest the reference. Prints one line
per design and writes ``--out`` (JSON) when given.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np

import simdup.join as join
from simdup import SimHasher, SimHashIndex
from simdup.corpus import open_corpus

import shared_data  # benchmarks/shared_data.py: the shared corpora's folder (SIMDUP_SHARED_DATA)

BATCH = 8192


def fingerprints(path: Path, limit: int | None = None, text_field: str = "text") -> np.ndarray:
    """The embedded model's fingerprints of a corpus file's records (the first ``limit``)."""
    hasher, docs, parts = SimHasher.default(), [], []
    for n, (_, doc) in enumerate(open_corpus(path, text_field).records()):
        if limit is not None and n >= limit:
            break
        docs.append(doc)
        if len(docs) == BATCH:
            parts.append(hasher.transform(docs))
            docs = []
    parts.append(hasher.transform(docs) if docs else np.empty(0, np.uint64))
    return np.concatenate(parts)


@contextmanager
def self_join_design() -> Iterator[None]:
    """``find_duplicates_between`` with the design it had: the self-join's, blind to ``n_left``."""
    original = join.join_masks
    join.join_masks = lambda k, n, record_cost=0.0, n_left=None: original(k, n, record_cost)  # type: ignore
    try:
        yield
    finally:
        join.join_masks = original


def run(new: np.ndarray, reference: np.ndarray, k: int, threads: int, repeat: int = 1) -> dict[str, Any]:
    n, n_left = len(new) + len(reference), len(new)
    report: dict[str, Any] = {"new": len(new), "reference": len(reference), "k": k, "threads": threads,
                              "repeat": repeat}
    pairs = {}
    for name in ("between", "self"):
        with self_join_design() if name == "self" else nullcontext():
            tables = len(join.join_masks(k, n, n_left=n_left))
            seconds = float("inf")
            for _ in range(repeat):  # the fastest of `repeat` runs: small joins take milliseconds
                start = time.perf_counter()
                pairs[name] = join.find_duplicates_between(new, reference, k, threads=threads)
                seconds = min(seconds, time.perf_counter() - start)
        report[name] = {"tables": tables, "seconds": round(seconds, 4), "pairs": len(pairs[name].i),
                        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
        print(f"{name:8s} design: {tables:4d} tables, {seconds:9.4f} s, {len(pairs[name].i):,} pairs "
              f"(process peak {report[name]['peak_rss_mb']} MB so far)", flush=True)
    report["identical"] = all(np.array_equal(a, b) for a, b in zip(pairs["between"], pairs["self"]))
    report["speedup"] = round(report["self"]["seconds"] / max(report["between"]["seconds"], 1e-9), 2)
    print(f"same pairs: {report['identical']}; self / between time: {report['speedup']}", flush=True)
    if not report["identical"]:
        raise SystemExit("the two designs found different pairs")
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--new", type=Path, help="the new corpus")
    p.add_argument("--reference", type=Path, help="the reference: a corpus, or a saved index (.idx)")
    p.add_argument("--corpus", type=Path, help="one corpus, cut in two by --split")
    p.add_argument("--split", type=float, default=0.1, help="share of --corpus that is new (default 0.1)")
    p.add_argument("--text-field", default="text", help="the text's field (web pages: html)")
    p.add_argument("--limit", type=int, help="records read from each corpus file (default: all)")
    p.add_argument("-k", type=int, default=8, help="Hamming distance (default 8, dedup's)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=1, help="time the fastest of N runs of each design (default 1)")
    p.add_argument("--tiny", action="store_true", help="smoke run: the shared Reuters stories, split 0.1")
    p.add_argument("--out", type=Path, help="write the report here (JSON)")
    args = p.parse_args(argv)
    if args.tiny:
        args.corpus, args.limit = shared_data.path("reuters21578.jsonl.gz"), 3000
    start = time.perf_counter()
    if args.corpus is not None:
        fps = fingerprints(args.corpus, args.limit, args.text_field)
        cut = round(len(fps) * args.split)
        new, reference = fps[:cut], fps[cut:]
    elif args.new is not None and args.reference is not None:
        new = fingerprints(args.new, args.limit, args.text_field)
        if args.reference.suffix == ".idx":
            reference = np.ascontiguousarray(SimHashIndex.load(args.reference, mmap=True).items()[0])
        else:
            reference = fingerprints(args.reference, args.limit, args.text_field)
    else:
        p.error("give --corpus (with --split), or --new and --reference, or --tiny")
    print(f"{len(new):,} new and {len(reference):,} reference fingerprints in {time.perf_counter() - start:.1f} s",
          flush=True)
    report = run(new, reference, args.k, args.threads, args.repeat)
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
