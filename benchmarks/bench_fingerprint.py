"""Fingerprinting speed: simdup against the `simhash` package, side by side.

Fingerprints the same real documents with every system in one run, one
thread, text in memory in, fingerprints out, and prints documents/s, MB/s
(UTF-8 bytes of the input) and the ratio of MB/s to `simhash.Simhash` on its
default features. Chinese: the default (character bigrams, no segmenter) and
``tokenizer="chinese"`` with jieba and rjieba; also measures how far rjieba's
fingerprints are from jieba's.

    python benchmarks/bench_fingerprint.py            # full corpora
    python benchmarks/bench_fingerprint.py --tiny     # smoke run, a few documents
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections.abc import Callable, Sequence
from itertools import islice
from pathlib import Path

import numpy as np

import simdup
from simdup import SimHasher

import shared_data  # benchmarks/shared_data.py: the shared corpora's folder (SIMDUP_SHARED_DATA)

DATA = shared_data.data_dir()


def load(name: str, limit: int | None) -> list[str]:
    with gzip.open(DATA / name, "rt", encoding="utf-8") as f:
        texts = (json.loads(line)["text"] for line in f)
        return list(islice((t for t in texts if t.strip()), limit))


def timed(run: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Best wall time of ``repeat`` runs, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def row(name: str, docs: Sequence[str], seconds: float, baseline: float | None) -> dict[str, object]:
    mb = sum(len(d.encode("utf-8")) for d in docs) / 1e6
    # Ratios of MB/s: the slow peer reads a prefix of the corpus, so documents/s
    # would compare different document-length mixes.
    ratio = (mb / seconds) / baseline if baseline else None
    print(
        f"  {name:<44} {len(docs) / seconds:>10,.0f} docs/s {mb / seconds:>8.2f} MB/s"
        + (f" {ratio:>8.1f}x" if ratio else ""),
        flush=True,
    )
    return {"system": name, "docs": len(docs), "seconds": seconds, "docs_per_s": len(docs) / seconds,
            "mb_per_s": mb / seconds, "x_simhash_default_mb_per_s": ratio}


def peer_simhash() -> tuple[Callable[[str], int | None], Callable[[str], int | None]] | None:
    try:
        from simhash import Simhash
    except ImportError:
        print("  (simhash not installed: pip install 'simdup[bench]'; peer skipped)")
        return None

    def safe(features: Callable[[str], object]) -> Callable[[str], int | None]:
        # simhash 2.1.2 under NumPy 2 raises OverflowError when a feature occurs more
        # than 255 times in a document; count those documents instead of stopping.
        def run(doc: str) -> int | None:
            try:
                return Simhash(features(doc)).value
            except OverflowError:
                return None
        return run

    return safe(lambda d: d), safe(str.split)


def bench_corpus(
    title: str, docs: list[str], systems: list[tuple[str, Callable[[], object], int]], peer_docs: list[str]
) -> tuple[list[dict[str, object]], dict[str, object]]:
    """Time the peer on ``peer_docs`` and each ``(name, run, repeat)`` system on ``docs``.

    Returns the table rows and each simdup system's output.
    """
    mb = sum(len(d.encode("utf-8")) for d in docs) / 1e6
    print(f"\n{title}: {len(docs)} documents, {mb:.1f} MB")
    rows = []
    peer = peer_simhash()
    baseline = None
    if peer is not None:
        for label, run in zip(("default features", "word tokens"), peer):
            seconds, values = timed(lambda: [run(d) for d in peer_docs], 1)
            baseline = baseline or sum(len(d.encode("utf-8")) for d in peer_docs) / 1e6 / seconds
            rows.append(row(f"simhash.Simhash ({label})", peer_docs, seconds, baseline))
            failed = sum(v is None for v in values)  # type: ignore[union-attr]
            if failed:
                print(f"    simhash raised OverflowError on {failed} of {len(peer_docs)} documents")
    outputs = {}
    for name, run, repeat in systems:
        seconds, outputs[name] = timed(run, repeat)
        rows.append(row(name, docs, seconds, baseline))
    return rows, outputs


def profile_chinese() -> int:
    """Where the Chinese fast path spends its time."""
    import cProfile
    import pstats

    docs = load("fudan_zh.jsonl.gz", 3000)
    hasher = SimHasher.default()
    hasher.fingerprint("预热")
    profiler = cProfile.Profile()
    profiler.runcall(hasher.transform, docs)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(5)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a few documents: a smoke run")
    parser.add_argument("--peer-limit", type=int, default=3000,
                        help="documents given to the slow pure-Python peer (default 3000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each simdup system; best is kept")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--profile", action="store_true",
                        help="only profile (cProfile) default fingerprinting of 3,000 Fudan documents")
    args = parser.parse_args(argv)
    if not DATA.exists():
        print(shared_data.absent_reason(), file=sys.stderr)
        return 2
    if args.profile:
        return profile_chinese()
    limit = 40 if args.tiny else None
    repeat = 1 if args.tiny else args.repeat
    peer_limit = 20 if args.tiny else args.peer_limit

    english = load("reuters21578.jsonl.gz", limit)
    fitted = SimHasher().fit(english)
    bigrams = SimHasher(ngram_range=(1, 2)).fit(english)
    default = SimHasher.default()
    rows, _ = bench_corpus("English (Reuters-21578)", english, [
        ("simdup SimHasher() fitted, defaults", lambda: fitted.transform(english), repeat),
        ("simdup SimHasher.default()", lambda: default.transform(english), repeat),
        ("simdup fitted TF-IDF, words + 2-grams", lambda: bigrams.transform(english), repeat),
    ], english[:peer_limit])

    chinese = load("fudan_zh.jsonl.gz", 60 if args.tiny else None)
    fitted_zh = SimHasher().fit(chinese)
    systems = [("simdup SimHasher.default() (character bigrams)", lambda: default.transform(chinese), repeat),
               ("simdup SimHasher() fitted, defaults", lambda: fitted_zh.transform(chinese), repeat)]
    words = SimHasher.default().set_params(tokenizer="chinese")
    words.fingerprint("预热")  # loads jieba's dictionary outside the timing
    # plain jieba segments ~1.4 MB/s: one run is enough
    systems.append(("simdup tokenizer='chinese', jieba", lambda: words.transform(chinese), 1))
    try:
        fast = SimHasher.default().set_params(tokenizer="chinese", segmenter="rjieba")
        fast.fingerprint("预热")
        systems.append(("simdup tokenizer='chinese', rjieba", lambda: fast.transform(chinese), repeat))
    except ImportError as exc:
        fast = None
        print(f"  ({exc}; rjieba rows skipped)")
    chinese_rows, outputs = bench_corpus("Chinese (Fudan)", chinese, systems, chinese[: max(peer_limit // 3, 10)])
    rows += chinese_rows
    if fast is not None:
        d = simdup.hamming(outputs["simdup tokenizer='chinese', jieba"], outputs["simdup tokenizer='chinese', rjieba"])
        print(f"  rjieba vs jieba fingerprints: identical {np.mean(d == 0):.1%}, mean distance {d.mean():.2f} bits, "
              f"median {np.median(d):.0f}, 99th percentile {np.percentile(d, 99):.0f}, max {d.max()}")
        rows.append({"system": "rjieba vs jieba", "identical": float(np.mean(d == 0)), "mean_bits": float(d.mean()),
                     "p99_bits": float(np.percentile(d, 99)), "max_bits": int(d.max())})
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
